"""`fraud data prune` through the CLI on a copy of the session's trained home (v1 champion, v2 challenger,
both trained on one dataset): an ingested dataset nobody trained on goes; the trained one stays."""

import pytest

from tests.e2e.serving import copy_home

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_prune_removes_only_what_no_version_needs_and_says_so(trained_home, tmp_path):
    cli = copy_home(trained_home, tmp_path / "home")
    source = tmp_path / "extra.csv"
    assert cli("data", "generate", "--rows", "2000", "--seed", "9", "--output", str(source)).returncode == 0
    ingested = cli("data", "ingest", str(source))
    assert ingested.returncode == 0, ingested.stderr
    extra = ingested.stdout.strip()

    young = cli("data", "prune")  # both datasets were stored minutes ago: a run may be using them
    assert young.returncode == 0, young.stderr
    assert "nothing to remove (2 datasets kept)" in young.stderr
    assert young.stdout.count("stored less than 24 h ago") == 1  # the other is the champion's, which says so

    shown = cli("data", "prune", "--min-age-hours", "0", "--dry-run")
    assert shown.returncode == 0, shown.stderr
    rows = {line.split("\t")[0]: line.split("\t")[3:] for line in shown.stdout.splitlines()[1:]}
    assert rows[extra[:12]] == ["remove", "trained none"]
    (trained,) = set(rows) - {extra[:12]}
    assert rows[trained] == ["keep", "v1 holds champion"]
    assert "would remove 1 of 2 datasets (2,000 rows)" in shown.stderr

    piped = cli("data", "prune", "--min-age-hours", "0")  # not a terminal and no --yes: nothing removed
    assert piped.returncode == 2
    assert "pass --yes to remove them" in piped.stderr
    assert extra[:12] in cli("data", "list").stdout

    pruned = cli("data", "prune", "--min-age-hours", "0", "--yes")
    assert pruned.returncode == 0, pruned.stderr
    assert "removed 1 dataset;" in pruned.stderr
    listed = cli("data", "list").stdout
    assert extra[:12] not in listed
    assert trained in listed
    gone = cli("validate", extra)
    assert gone.returncode == 2
    assert f"dataset {extra} was removed (pruned at " in gone.stderr
    assert "trained no registered version)" in gone.stderr
    assert "Traceback" not in gone.stderr
