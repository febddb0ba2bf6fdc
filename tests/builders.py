"""Small, deterministic transaction frames for unit tests (independent of the real generator)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud_detection.domain.schema import TRANSACTION_COLUMNS, V_COLUMNS


def transactions(
    rows: int = 2_000, fraud_rate: float = 0.05, seed: int = 0, days: float = 2.0
) -> pd.DataFrame:
    """Frauds have low V14 (as in the real data), so a V14 rule separates them well but not perfectly."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(V_COLUMNS))), columns=list(V_COLUMNS))
    labels = np.zeros(rows)
    labels[rng.choice(rows, size=max(int(rows * fraud_rate), 2), replace=False)] = 1
    frame["V14"] -= 3 * labels
    frame.insert(0, "Time", np.sort(rng.integers(0, int(days * 86_400), size=rows)).astype(float))
    frame["Amount"] = np.round(rng.lognormal(3.0, 1.2, size=rows), 2)
    frame["Class"] = labels
    return frame.loc[:, list(TRANSACTION_COLUMNS)].astype(np.float64)
