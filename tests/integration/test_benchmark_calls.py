"""The benchmarks call the package as it is now: mypy over benchmarks/ finds no call that the package's
signatures refuse.

Benchmarks run on demand, not in the suite, so nothing else runs their code: six of them crashed on a
`registry.load_model(version.version)` left behind when the port came to take the whole version (an int has
no `.version`). Only the error codes of a stale call are held here; the scripts' own typing stays loose.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
# A stale signature, a removed or renamed name, or a name no longer exported where it was imported from.
STALE_CALL_CODES = {"call-arg", "arg-type", "name-defined", "attr-defined"}


def test_no_benchmark_calls_the_package_with_a_signature_it_no_longer_has(tmp_path: Path) -> None:
    mypy = Path(sys.executable).with_name("mypy")
    finished = subprocess.run(
        [str(mypy), f"--cache-dir={tmp_path}", "--follow-imports=silent", "--explicit-package-bases",
         "benchmarks"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    errors = [line for line in finished.stdout.splitlines() if ": error: " in line]
    assert errors or finished.returncode == 0, finished.stdout + finished.stderr  # mypy itself ran
    stale = [line for line in errors if set(re.findall(r"\[([a-z-]+)\]$", line)) & STALE_CALL_CODES]
    assert stale == []
