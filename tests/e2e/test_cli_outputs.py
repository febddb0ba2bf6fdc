"""Outputs accept what inputs accept: `fraud data generate --output s3://bucket/key` writes the object (it
used to write a local folder `./s3:/bucket/key` and report success); other schemes are refused in one line."""

import io

import pandas as pd
import pytest

from fraud_detection.domain.schema import TRANSACTION_COLUMNS
from tests.e2e.conftest import make_cli

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def s3_cli(tmp_path, seaweedfs):
    return make_cli(
        tmp_path,
        FRAUD_S3_ENDPOINT_URL=seaweedfs.endpoint_url,
        AWS_ACCESS_KEY_ID=seaweedfs.access_key,
        AWS_SECRET_ACCESS_KEY=seaweedfs.secret_key,
        AWS_REGION=seaweedfs.region,
    )


def read_object(seaweedfs, bucket: str, key: str) -> bytes:
    return seaweedfs.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def assert_no_local_s3_folder(cli) -> None:
    assert not (cli.home / "s3:").exists()  # the old bug: the URL read as a relative path


def test_generate_writes_an_s3_object(s3_cli, seaweedfs):
    bucket = seaweedfs.create_bucket("generate")
    target = f"s3://{bucket}/raw/x.csv"
    result = s3_cli("data", "generate", "--rows", "2000", "--output", target)
    assert result.returncode == 0, result.stderr
    assert target in result.stderr
    frame = pd.read_csv(io.BytesIO(read_object(seaweedfs, bucket, "raw/x.csv")))
    assert list(frame.columns) == list(TRANSACTION_COLUMNS)
    assert len(frame) == 2000
    assert_no_local_s3_folder(s3_cli)


def test_if_absent_and_force_apply_to_s3(s3_cli, seaweedfs):
    bucket = seaweedfs.create_bucket("generate")
    target = f"s3://{bucket}/raw/x.parquet"
    assert s3_cli("data", "generate", "--rows", "2000", "--seed", "1", "--output", target).returncode == 0
    first = read_object(seaweedfs, bucket, "raw/x.parquet")

    kept = s3_cli("data", "generate", "--rows", "2000", "--seed", "2", "--output", target, "--if-absent")
    assert kept.returncode == 0
    assert "exists; nothing to do" in kept.stderr
    refused = s3_cli("data", "generate", "--rows", "2000", "--seed", "2", "--output", target)
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert read_object(seaweedfs, bucket, "raw/x.parquet") == first  # untouched

    forced = s3_cli("data", "generate", "--rows", "2000", "--seed", "2", "--output", target, "--force")
    assert forced.returncode == 0, forced.stderr
    assert read_object(seaweedfs, bucket, "raw/x.parquet") != first
    assert_no_local_s3_folder(s3_cli)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["data", "generate", "--rows", "2000", "--output", "gs://bucket/raw/x.csv"], "--output"),
        (["data", "generate", "--rows", "2000", "--output", "s3://bucket-only"], "--output"),
        (["data", "generate", "--rows", "2000", "--output", "s3://bucket/folder/"], "--output"),
        (["data", "generate", "--rows", "2000", "--output", "s3:/bucket/raw/x.csv"], "--output"),
        (["data", "generate", "--rows", "2000", "--output", "out/x.txt"], "unsupported suffix"),
        (["data", "generate", "--rows", "2000", "--if-absent", "--force"], "--if-absent and --force"),
        (["data", "generate", "--rows", "1000000000"], "--rows: 1,000,000,000 is more than 10,000,000"),
        (["batch", "submit", "in.parquet", "out.parquet", "--job-id", "bad id/x"], "--job-id: 'bad id/x'"),
        (["pipeline", "run", "--summary-json", "gs://bucket/summary.json"], "--summary-json"),
        (["pipeline", "run", "--source", "nope/creditcard.csv"], "--source: no file at nope/creditcard.csv"),
        (["pipeline", "run", "--summary-json", "/tmp"], "--summary-json: '/tmp' is a folder"),
        (["pipeline", "run", "--source", ""], "--source: the source is empty"),
        (["data", "ingest", ""], "the source is empty"),
        (["validate", " "], "DATASET: the source is empty"),
        (["data", "generate", "--rows", "2000", "--output", "/proc/no/x.csv"], "cannot use /proc/no"),
        (["serve", "--workers", "99999999999999999999"], "--workers: 99999999999999999999 is more than"),
        (["worker", "--concurrency", "100000"], "--concurrency: 100000 is more than"),
        (["feedback", "import", "s3://bucket/labels.csv"], "local file"),
    ],
    ids=[
        "other scheme",
        "bucket only",
        "folder key",
        "slash lost",
        "suffix",
        "keep and overwrite",
        "rows beyond memory",
        "job id",
        "summary scheme",
        "missing source",
        "summary into a folder",
        "empty source, not the default one",
        "empty ingest source",
        "empty validate source",
        "output the system refuses",
        "workers beyond the cpus",
        "worker processes beyond the cpus",
        "labels from s3",
    ],
)
def test_an_unsupported_output_is_refused_in_one_line(tmp_path, args, named):
    cli = make_cli(tmp_path)
    result = cli(*args, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert named in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())  # nothing written: no `gs:` folder, no dataset, no store
