"""The metrics the promotion gate can compare, in a module of their own: the settings type
FRAUD_PROMOTION_METRIC with them, and every command reads the settings, so this must not import numpy."""

from __future__ import annotations

from typing import Literal, get_args

# Fields of `ClassificationMetrics` where higher is better (`cost` is lower-is-better; `k`, `rows`, `alerts`
# and `frauds` are counts).
GateMetric = Literal["auprc", "roc_auc", "recall_at_precision_90", "precision_at_k", "precision", "recall"]
GATE_METRICS: tuple[GateMetric, ...] = get_args(GateMetric)
