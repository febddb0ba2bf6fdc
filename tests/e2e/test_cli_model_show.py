"""`fraud model show` through the CLI on a copy of the session's trained home (v1 champion, v2 challenger
the gate kept, both trained on one dataset)."""

import json

import pytest

from tests.e2e.serving import copy_home

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_show_gathers_a_versions_record_from_registry_run_and_store(trained_home, tmp_path):
    cli = copy_home(trained_home, tmp_path / "home")
    shown = cli("model", "show", "2", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["aliases"] == ["challenger"]
    assert document["dataset"]["state"] == "stored"
    assert document["gate"]["decision"] == "keep"
    assert "nothing to compare on" in document["gate"]["reason"]
    assert document["training_config"]["folds"] == 3
    assert document["settings"]["review_cost"] == "5.0"
    assert {"code_version", "user", "host"} <= set(document["provenance"])
    assert document["run"]["status"] == "FINISHED"
    assert document["champion_moves"] == []

    text = cli("model", "show", "1")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "fraud-lgbm v1 (champion)"
    assert any(line.split()[:2] == ["champion", "since"] for line in lines)
    assert any(line.split()[0] == "dataset" and line.endswith("stored)") for line in lines)

    missing = cli("model", "show", "9")
    assert missing.returncode == 2
    assert "has no version 9" in missing.stderr
    assert "Traceback" not in missing.stderr
