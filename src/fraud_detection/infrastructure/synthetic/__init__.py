"""Synthetic credit-card transactions in the Kaggle schema, calibrated on real rows, with drift scenarios."""

from fraud_detection.infrastructure.synthetic.generator import fraud_count, generate_transactions
from fraud_detection.infrastructure.synthetic.scenarios import SCENARIOS, DriftScenario, get_scenario
from fraud_detection.infrastructure.synthetic.writer import write_transactions

__all__ = [
    "SCENARIOS",
    "DriftScenario",
    "fraud_count",
    "generate_transactions",
    "get_scenario",
    "write_transactions",
]
