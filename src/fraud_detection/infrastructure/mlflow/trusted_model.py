"""Model artifacts accepted for loading: a native LightGBM Booster in text form, matching its recorded digest.

`mlflow.lightgbm.load_model` unpickles the data file whenever the MLmodel file names a scikit-learn class
(`serialization_format: cloudpickle`), so whoever can write a model version's artifacts could run code in
every process that loads it. Here the MLmodel file is read with `yaml.safe_load`, only the `lightgbm` flavour
of a `lightgbm.basic.Booster` is accepted, its data file must sit in the model folder, and its SHA-256 must
equal the digest recorded as a model-version tag when the training process registered it. Only then does
LightGBM's text parser read it, from the very bytes that were hashed (no window to swap the file between
check and parse); nothing is ever unpickled.

The version's tags (threshold, feature version, dataset, metrics: what serving acts on) are kept in the
registry's database, which anyone with write access to MLflow can edit from its UI; the training process
also wrote them into the MLmodel file's `metadata`, in the artifact store. A load compares the two and
refuses a version whose tags differ from its artifact (`sealed_metadata_differences`): a threshold edited in
one place alone (set to 1.0, it would clear every transaction) is refused instead of served. Whoever can
write both the registry and the artifacts can still change both; that identity is the retrain task's.

LightGBM's parser can take the whole process down on malformed text (a segfault or `std::terminate` from its
parallel tree parsing, measured), which no `except` catches. So the text is parsed first in a throwaway
child process that loads only LightGBM's C library (~0.1 s for 200 trees); a version that kills the child is
refused instead of killing the API or a worker.
"""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeGuard

import yaml  # type: ignore[import-untyped]

from fraud_detection.domain.errors import UntrustedModelError
from fraud_detection.domain.model import ModelMetadata
from fraud_detection.infrastructure.mlflow.version_tags import METRIC_TAG_PREFIX, metadata_tags

if TYPE_CHECKING:
    import lightgbm as lgb

MLMODEL_FILE = "MLmodel"
FLAVOR = "lightgbm"
BOOSTER_CLASS = "lightgbm.basic.Booster"
MAX_MLMODEL_BYTES = 1024 * 1024  # a real MLmodel file is ~1-3 kB; refuse to parse anything huge
PROBE_TIMEOUT_SECONDS = 120
# Parse the text on stdin with LightGBM's C API only (no numpy, no site packages): exit status 0 = parsed.
_PARSE_PROBE = """
import ctypes, sys
lib = ctypes.cdll.LoadLibrary(sys.argv[1])
handle, iterations = ctypes.c_void_p(), ctypes.c_int(0)
text = ctypes.c_char_p(sys.stdin.buffer.read())
sys.exit(lib.LGBM_BoosterLoadModelFromString(text, ctypes.byref(iterations), ctypes.byref(handle)))
"""


def text_digest(text: str) -> str:
    """SHA-256 (hex) of a LightGBM text model as written to its file (`model_to_string` == `save_model`)."""
    return hashlib.sha256(text.encode()).hexdigest()


def read_mlmodel(mlmodel: Path, label: str) -> dict[str, Any]:
    """The MLmodel file's document, read with `yaml.safe_load` (no tag can construct an object)."""
    try:
        if mlmodel.stat().st_size > MAX_MLMODEL_BYTES:
            raise UntrustedModelError(f"{label}: the MLmodel file is larger than {MAX_MLMODEL_BYTES} bytes")
        document: Any = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UntrustedModelError(f"{label}: unreadable MLmodel file ({error})") from error
    if not isinstance(document, dict):
        raise UntrustedModelError(f"{label}: the MLmodel file is not a mapping")
    return document


def booster_data_file(document: dict[str, Any], label: str) -> str:
    """The Booster's data file named by an MLmodel document; refuses every other flavour or class."""
    flavors = document.get("flavors")
    flavor = flavors.get(FLAVOR) if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict):
        raise UntrustedModelError(f"{label}: not a LightGBM model (no '{FLAVOR}' flavour in MLmodel)")
    model_class = flavor.get("model_class", BOOSTER_CLASS)
    if model_class != BOOSTER_CLASS:
        raise UntrustedModelError(
            f"{label}: model_class {model_class!r} is refused; only a native {BOOSTER_CLASS} in LightGBM's "
            "text format is loaded (other classes are pickled)"
        )
    data = flavor.get("data")
    name = PurePosixPath(data) if isinstance(data, str) else None
    if name is None or len(name.parts) != 1 or name.name in ("", ".", "..") or "\\" in str(data):
        raise UntrustedModelError(
            f"{label}: the model's data file {data!r} is not a file in the model folder"
        )
    return name.name


def sealed_metadata(document: dict[str, Any], label: str) -> ModelMetadata:
    """The training metadata the training process wrote into the MLmodel file beside the model."""
    found = document.get("metadata")
    fields = found if isinstance(found, dict) else {}
    feature_version, dataset_id = fields.get("feature_version"), fields.get("dataset_id")
    threshold, metrics = fields.get("threshold"), fields.get("metrics", {})
    if (
        not isinstance(feature_version, str)
        or not isinstance(dataset_id, str)
        or not _is_number(threshold)
        or not isinstance(metrics, dict)
        or not all(isinstance(name, str) and _is_number(value) for name, value in metrics.items())
    ):
        raise UntrustedModelError(
            f"{label}: the MLmodel file carries no valid training metadata (feature version, threshold, "
            "dataset, metrics) to check the version's tags against, so the version is not loaded"
        )
    return ModelMetadata(
        feature_version, float(threshold), dataset_id, {k: float(v) for k, v in metrics.items()}
    )


def sealed_metadata_differences(tags: dict[str, str], sealed: ModelMetadata) -> list[str]:
    """Each metadata tag whose text differs from what `metadata_tags` makes of the sealed metadata (the
    text, not the parsed value: a tag edited to something unparsable is a difference too), and any metric
    tag the training process did not write."""
    expected = metadata_tags(sealed)
    differences = [
        f"{key} is {tags.get(key, '(missing)')!r} in the registry, {value!r} in the artifact"
        for key, value in expected.items()
        if tags.get(key) != value
    ]
    extra = sorted(key for key in tags if key.startswith(METRIC_TAG_PREFIX) and key not in expected)
    return differences + [f"{key} is in the registry only" for key in extra]


def check_sealed_metadata(tags: dict[str, str], document: dict[str, Any], label: str) -> None:
    """`UntrustedModelError`, naming each difference, unless the version's tags agree with the metadata
    sealed in its MLmodel document."""
    if differences := sealed_metadata_differences(tags, sealed_metadata(document, label)):
        raise UntrustedModelError(
            f"{label}: its registry tags differ from the training metadata stored with its artifact "
            f"({'; '.join(differences)}); a tag or the MLmodel file was changed after training, so the "
            "version is not loaded (set the tag back to the artifact's value, or train a new version)"
        )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def verified_text(model_file: Path, expected_digest: str, label: str) -> str:
    """The model file's text once its SHA-256 equals `expected_digest` (compared in constant time)."""
    try:
        data = model_file.read_bytes()
    except OSError as error:
        raise UntrustedModelError(f"{label}: cannot read the model file ({error})") from error
    actual = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(actual, expected_digest.lower()):
        raise UntrustedModelError(
            f"{label}: the model file's SHA-256 {actual} differs from the digest recorded at registration "
            f"{expected_digest}; the artifact was changed after it was registered"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UntrustedModelError(f"{label}: the model file is not LightGBM's text format") from error


def booster_from_text(text: str, label: str) -> lgb.Booster:
    """Parse a verified text model (LightGBM's own parser: no code runs), once a child process survived it."""
    import lightgbm as lgb  # imported where a model is parsed: 2 s of start-up a registry listing skips

    _parses_in_a_child(text, label)
    try:
        return lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as error:
        raise UntrustedModelError(f"{label}: not a valid LightGBM text model ({error})") from error


def _parses_in_a_child(text: str, label: str) -> None:
    import lightgbm as lgb

    library = str(lgb.basic._LIB._name)  # type: ignore[attr-defined]
    try:
        probe = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _PARSE_PROBE, library],
            input=text.encode(),
            capture_output=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise UntrustedModelError(
            f"{label}: LightGBM did not parse the model within {error.timeout} s"
        ) from error
    if probe.returncode != 0:
        said = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise UntrustedModelError(
            f"{label}: LightGBM cannot parse the model file (exit status {probe.returncode}: {said[0]})"
        )
