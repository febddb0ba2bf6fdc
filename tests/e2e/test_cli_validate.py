"""`fraud validate`: the real rows pass; a dataset outside the bands fails with the expectation named."""

import pytest

from tests.e2e.conftest import make_cli

pytestmark = pytest.mark.e2e


def test_real_rows_pass(tmp_path, real_sample_path):
    result = make_cli(tmp_path)("validate", str(real_sample_path))
    assert result.returncode == 0, result.stderr
    assert "PASSED 126/126 expectations passed" in result.stdout
    assert (tmp_path / "store" / "reports" / "validation").is_dir()


def test_a_stored_dataset_outside_the_bands_fails_with_names(tmp_path):
    cli = make_cli(tmp_path)
    raw = tmp_path / "skewed.csv"
    assert (
        cli("data", "generate", "--rows", "5000", "--fraud-rate", "0.2", "--output", str(raw)).returncode == 0
    )
    dataset_id = cli("data", "ingest", str(raw)).stdout.strip()
    result = cli("validate", dataset_id[:12])
    assert result.returncode == 1
    assert "FAILED expect_column_mean_to_be_between[Class]" in result.stdout
    *_, verdict = result.stdout.strip().splitlines()
    assert verdict.startswith("FAILED "), verdict
    assert verdict.endswith("/126 expectations passed"), verdict
    assert f"{dataset_id}.html" in result.stderr
    shortest = cli("validate", dataset_id[:1])  # the only dataset: one character is a unique prefix
    assert shortest.returncode == 1, shortest.stderr
    assert f"{dataset_id}.html" in shortest.stderr
    unknown = cli("validate", "abcdef123456")
    assert unknown.returncode == 2
    assert "matches no stored dataset" in unknown.stderr
