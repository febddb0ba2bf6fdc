"""Great Expectations implementation of the data validation port (GE itself is imported on first use)."""

from fraud_detection.infrastructure.great_expectations.validator import GreatExpectationsValidator

__all__ = ["GreatExpectationsValidator"]
