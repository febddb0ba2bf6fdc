"""Fit the synthetic generator's figures from real rows and write `calibration.json`.

    python scripts/calibrate_generator.py [--input PATH] [--output PATH]

The input is a CSV (plain or gzip) in the Kaggle `creditcard.csv` schema; by default the project's shared real
sample. The output is deterministic: re-running on the same rows reproduces the committed file byte for byte.
Only aggregate figures are written (see `fitting.py` for each choice); the rows stay where they are.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd

from fraud_detection.domain.schema import LABEL, check_transactions
from fraud_detection.simulation.calibration import CALIBRATION_FILE
from fraud_detection.simulation.fitting import fit_calibration

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO.parent / "shared" / "data" / "creditcard_real_sample.csv.gz"
DEFAULT_OUTPUT = REPO / "src" / "fraud_detection" / "simulation" / CALIBRATION_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="real rows (Kaggle schema CSV)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="calibration JSON to write")
    args = parser.parse_args(argv)
    if not args.input.exists():
        parser.error(f"input {args.input} does not exist")
    raw = args.input.read_bytes()
    frame = check_transactions(pd.read_csv(args.input), str(args.input))
    provenance = {
        "source_file": args.input.name,
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "rows": len(frame),
        "frauds": int(frame[LABEL].sum()),
        "fitted_by": "scripts/calibrate_generator.py",
    }
    text = fit_calibration(frame, provenance).to_json()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.output.with_name(f".{args.output.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(args.output)
    print(f"wrote {args.output} ({len(text):,} characters) from {len(frame):,} rows of {args.input.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
