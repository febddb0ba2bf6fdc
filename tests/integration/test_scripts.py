"""The scripts a README line runs as `scripts/<name>` start from a fresh clone: a shebang goes with the run
bit as git stores it (a local `chmod +x` never committed leaves every other clone "permission denied")."""

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXECUTABLE = "100755"


def tracked_scripts() -> dict[str, str]:
    """path -> mode, as the index holds them."""
    listing = subprocess.run(
        ["git", "ls-files", "-s", "--", "scripts"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    modes = {}
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        modes[path] = meta.split()[0]
    return modes


def test_every_script_with_a_shebang_is_executable_in_git_and_no_other() -> None:
    modes = tracked_scripts()
    assert "scripts/stack.py" in modes
    with_shebang = {path for path in modes if (ROOT / path).read_bytes().startswith(b"#!")}
    assert "scripts/stack.py" in with_shebang, "the README runs `scripts/stack.py status`"
    wrong = {path: mode for path, mode in modes.items() if (mode == EXECUTABLE) != (path in with_shebang)}
    assert not wrong, (
        f"a shebang needs mode {EXECUTABLE} in git (git update-index --chmod=+x), and only it: {wrong}"
    )
