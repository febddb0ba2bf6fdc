"""A simulator, not an adapter: synthetic credit-card transactions in the Kaggle schema,
calibrated on real rows, with drift scenarios.

It implements no port and the running system never calls it: `fraud data generate`, the tests and the
benchmarks use it to produce data the pipeline then reads like any other file. So it sits beside the layers
rather than in infrastructure/, and may import only the domain (its schema and reference figures); the
import-linter contract "The simulator depends on the domain only" holds it to that.
"""

from fraud_detection.simulation.generator import fraud_count, generate_transactions
from fraud_detection.simulation.scenarios import SCENARIOS, DriftScenario, get_scenario
from fraud_detection.simulation.writer import write_transactions

__all__ = [
    "SCENARIOS",
    "DriftScenario",
    "fraud_count",
    "generate_transactions",
    "get_scenario",
    "write_transactions",
]
