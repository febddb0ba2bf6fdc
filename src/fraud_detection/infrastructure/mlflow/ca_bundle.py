"""The CA that signs the MLflow server's certificate, given as text (FRAUD_MLFLOW_CA_BUNDLE: ECS injects it
from Secrets Manager), made a file MLflow's client verifies the server with.

MLflow reads its CA bundle only from a file named by `MLFLOW_TRACKING_SERVER_CERT_PATH`, at every request, so
the process writes the text once and sets that variable before any client exists. Standard library only: the
composition root calls this on every start, and `fraud model list` must not import MLflow for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

CERT_PATH_VARIABLE = "MLFLOW_TRACKING_SERVER_CERT_PATH"
FILE_PREFIX = "fraud-mlflow-ca-"


def trust_ca_bundle(pem: str | None, folder: Path) -> Path | None:
    """Point MLFLOW_TRACKING_SERVER_CERT_PATH at `pem` as a file in `folder` (FRAUD_HOME), readable by this
    user alone; the file, or None when there is no bundle or the deployer already set the variable (their
    path wins, as it did before the setting existed).

    The file is named by the bundle's digest: every command of a host reuses it (one file a process, in the
    temporary folder, piled up with every `fraud` command), and another bundle gets another name. It is
    written whole under a temporary name, then renamed (mode 0600): no client reads half a bundle. Children
    (Celery pool workers, a launched retrain) inherit the variable and read the same file.
    """
    if not pem or os.environ.get(CERT_PATH_VARIABLE, "").strip():
        return None
    text = pem if pem.endswith("\n") else f"{pem}\n"
    path = folder / f"{FILE_PREFIX}{hashlib.sha256(text.encode()).hexdigest()[:16]}.pem"
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix=f".{FILE_PREFIX}", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
    os.environ[CERT_PATH_VARIABLE] = str(path)
    return path
