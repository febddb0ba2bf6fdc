"""Summarise a `mutmut run` (make mutation): the share of mutants the unit tests kill, and the survivors.

Exit status 1 when fewer than 90% are killed, so the target can gate a change. Mutants with no covering test
count as survivors: a line no test runs is a line no test checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

AIM = 0.90
STATS = Path("mutants") / "mutmut-cicd-stats.json"


def main() -> int:
    mutmut = str(Path(sys.executable).parent / "mutmut")
    subprocess.run([mutmut, "export-cicd-stats"], check=True, capture_output=True)
    stats = json.loads(STATS.read_text())
    judged = stats["total"] - stats["skipped"]
    killed = stats["killed"] + stats["timeout"]  # a mutant that hangs the tests was caught too
    share = killed / judged if judged else 0.0
    results = subprocess.run([mutmut, "results"], check=True, capture_output=True, text=True).stdout
    survivors = [line.strip().split(":")[0] for line in results.splitlines() if line.strip()]
    by_function = Counter(name.split("__mutmut_")[0] for name in survivors)
    for function, count in sorted(by_function.items()):
        print(f"{count:4d}  {function}")
    print(f"\nsurvivors ({len(survivors)}): `mutmut show NAME` prints one, `mutmut browse` walks them")
    print(
        f"killed {killed:,} of {judged:,} mutants: {share:.1%} (aim {AIM:.0%}); "
        f"survived {stats['survived']:,}, no covering test {stats['no_tests']:,}"
    )
    return 0 if share >= AIM else 1


if __name__ == "__main__":
    sys.exit(main())
