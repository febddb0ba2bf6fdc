"""The batch roots rule: a job reads and writes strictly below a configured root, whatever text it sends."""

from pathlib import Path

import pytest

from fraud_detection.domain.batch_roots import BatchRoots, Direction, check_roots, normalize_root
from fraud_detection.domain.errors import DataSourceError, LocationNotAllowedError
from fraud_detection.settings import Settings

IN, OUT = Direction.INPUT, Direction.OUTPUT
ROOTS = BatchRoots(("/srv/batch/in", "s3://lake/in"), ("/srv/batch/out/", "s3://lake/out/scores"))


@pytest.mark.parametrize(
    ("uri", "direction", "expected"),
    [
        ("/srv/batch/in/day.csv", IN, "/srv/batch/in/day.csv"),
        ("/srv/batch/in/2026/12/day.parquet", IN, "/srv/batch/in/2026/12/day.parquet"),
        ("/srv//batch/./in/day.csv", IN, "/srv/batch/in/day.csv"),
        ("file:///srv/batch/in/day%20one.csv", IN, "/srv/batch/in/day one.csv"),
        ("s3://lake/in/day.csv.gz", IN, "s3://lake/in/day.csv.gz"),
        ("/srv/batch/out/day.parquet", OUT, "/srv/batch/out/day.parquet"),
        ("s3://lake/out/scores/2026/day.parquet", OUT, "s3://lake/out/scores/2026/day.parquet"),
    ],
)
def test_a_location_below_a_root_is_placed_and_normalised(uri, direction, expected):
    assert ROOTS.place(uri, direction).uri == expected


@pytest.mark.parametrize(
    ("uri", "direction"),
    [
        ("/tmp/x", OUT),  # attack: output anywhere the process can write
        ("/home/app/.fraud/mlflow.db", OUT),  # attack: the registry's database
        ("/home/app/.fraud/store/jobs/j1/outcome.json", OUT),  # attack: a job's recorded outcome
        ("/srv/batch/out/../../../home/app/.fraud/mlflow.db", OUT),  # attack: `..` escape
        ("/srv/batch/out/sub/../x.parquet", OUT),  # `..` is refused even when it stays inside
        ("file:///srv/batch/out/%2e%2e/%2e%2e/etc/x", OUT),  # encoded `..`
        ("/srv/batch/in/day.csv", OUT),  # an input root is not an output root
        ("/srv/batch/out/day.parquet", IN),
        ("/srv/batch/out", OUT),  # the root itself is a folder, not a file
        ("/srv/batch/outside/x.parquet", OUT),  # a sibling sharing the root's name as a prefix
        ("day.parquet", OUT),  # relative (the CLI makes paths absolute first)
        ("../out/day.parquet", OUT),
        ("", OUT),
        ("s3://lake/elsewhere/x.parquet", OUT),  # attack: S3 prefix outside the roots
        ("s3://other-bucket/out/scores/x.parquet", OUT),
        ("s3://lake/out/scoresX/x.parquet", OUT),
        ("s3://lake/out/scores/../../store/x.parquet", OUT),
        ("s3://lake/out/scores//x.parquet", OUT),
        ("s3://lake/out/scores/", OUT),
        ("file://evil.example/srv/batch/out/x.parquet", OUT),
        ("http://169.254.169.254/latest/meta-data", IN),
        ("/srv/batch/in/day.csv\x00.txt", IN),
        ("~/day.csv", IN),
    ],
)
def test_anything_else_gets_the_uniform_refusal(uri, direction):
    with pytest.raises(LocationNotAllowedError) as refused:
        ROOTS.place(uri, direction)
    setting = f"FRAUD_BATCH_{direction.name}_ROOTS"
    assert str(refused.value).startswith(f"{direction.value} '{uri}': not found or not allowed (")
    assert setting in str(refused.value)
    assert isinstance(refused.value, DataSourceError)  # 422 from the API, exit 2 from the CLI


def test_the_refusal_reads_the_same_for_any_outside_path():
    """The rule never looks at the disk: refusing /etc/passwd and /etc/no-such-file cannot differ."""
    answers = {str(ROOTS.refusal(uri, IN)).replace(uri, "<uri>") for uri in ("/etc/passwd", "/etc/nope")}
    assert len(answers) == 1


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("/srv/in/", "/srv/in"),
        ("s3://lake", "s3://lake/"),
        ("s3://lake/in", "s3://lake/in/"),
        ("s3://lake//in/", "s3://lake/in/"),
    ],
)
def test_roots_are_normalised(text, normalised):
    assert normalize_root(text) == normalised


@pytest.mark.parametrize("text", ["relative/in", "/srv/../etc", "s3://", "s3:///in", "s3://lake/../x"])
def test_malformed_roots_are_refused(text):
    with pytest.raises(ValueError, match=r"not an S3 prefix|neither an absolute folder|contains '\.\.'"):
        normalize_root(text)


def test_a_root_overlapping_the_systems_state_is_refused_naming_the_setting():
    state = {"store": "/h/store", "mlflow.db": "/h/mlflow.db", "FRAUD_STORAGE_URI": "s3://lake/fraud/"}
    check_roots("FRAUD_BATCH_OUTPUT_ROOTS", ["/h/batch/out", "s3://lake/out/"], state, "/h")
    for bad in ["/h/store/x", "/h/mlflow.db", "/h", "/", "s3://lake/", "s3://lake/fraud/jobs/"]:
        with pytest.raises(ValueError, match="FRAUD_BATCH_OUTPUT_ROOTS"):
            check_roots("FRAUD_BATCH_OUTPUT_ROOTS", [normalize_root(bad)], state, "/h")


def test_settings_default_to_batch_folders_of_the_home_and_refuse_state(tmp_path: Path):
    home = tmp_path / "home"
    roots = Settings(home=home).batch_roots
    assert roots == BatchRoots((str(home / "batch" / "in"),), (str(home / "batch" / "out"),))
    with pytest.raises(ValueError, match=r"FRAUD_BATCH_OUTPUT_ROOTS.*mlflow\.db"):
        Settings(home=home, batch_output_roots=str(home / "mlflow.db"))
    with pytest.raises(ValueError, match=r"FRAUD_BATCH_INPUT_ROOTS.*serving"):
        Settings(home=home, batch_input_roots=f"{tmp_path / 'in'},{home / 'serving'}")
    with pytest.raises(ValueError, match=r"FRAUD_BATCH_OUTPUT_ROOTS.*FRAUD_STORAGE_URI"):
        Settings(home=home, storage_uri="s3://lake/fraud", batch_output_roots="s3://lake")
    with pytest.raises(ValueError, match=r"FRAUD_BATCH_OUTPUT_ROOTS.*FRAUD_HOME"):
        Settings(home=home, batch_output_roots=str(tmp_path))
    custom = Settings(home=home, batch_input_roots=f"{tmp_path / 'in'}, s3://lake/in").batch_roots
    assert custom.inputs == (str(tmp_path / "in"), "s3://lake/in/")


def test_settings_resolve_symlinked_roots(tmp_path: Path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    roots = Settings(home=tmp_path / "home", batch_output_roots=str(tmp_path / "link")).batch_roots
    assert roots.outputs == (str((tmp_path / "real").resolve()),)


def test_a_namespaces_roots_are_its_folder_of_each_root():
    acme = ROOTS.within("acme")
    assert acme.inputs == ("/srv/batch/in/acme", "s3://lake/in/acme/")
    assert acme.outputs == ("/srv/batch/out/acme", "s3://lake/out/scores/acme/")
    assert acme.place("s3://lake/in/acme/day.parquet", Direction.INPUT).uri == "s3://lake/in/acme/day.parquet"
    assert acme.place("/srv/batch/out/acme/x/s.parquet", Direction.OUTPUT).parts == ("x", "s.parquet")


@pytest.mark.parametrize(
    "uri",
    [
        "/srv/batch/in/evil/day.parquet",  # another namespace's file
        "/srv/batch/in/day.parquet",  # the shared root itself
        "/srv/batch/in/acme",  # the folder, not a file in it
        "/srv/batch/in/acme/../evil/day.parquet",
        "s3://lake/in/acmex/day.parquet",  # a namespace whose name starts with this one's
        "s3://lake/in/evil/acme/day.parquet",
    ],
)
def test_a_namespace_cannot_name_files_outside_its_folders(uri):
    with pytest.raises(LocationNotAllowedError) as refused:
        ROOTS.within("acme").place(uri, Direction.INPUT)
    assert str(refused.value) == (
        f"input '{uri}': not found or not allowed (namespace 'acme''s inputs (FRAUD_BATCH_NAMESPACE_FOLDERS) "
        "must sit under FRAUD_BATCH_INPUT_ROOTS: /srv/batch/in/acme, s3://lake/in/acme/)"
    )


@pytest.mark.parametrize("folder", ["", ".", "..", "a/b", "a\x00"])
def test_a_namespace_folder_is_one_plain_segment(folder):
    with pytest.raises(ValueError, match="is not one folder name"):
        ROOTS.within(folder)
