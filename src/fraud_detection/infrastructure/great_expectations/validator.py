"""Great Expectations behind the `DataValidator` port."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from fraud_detection.domain.ports.validation import DataValidator
from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.domain.validation import ExpectationOutcome, ValidationReport, ValidationRules

if TYPE_CHECKING:
    from fraud_detection.infrastructure.great_expectations.runtime import SuiteRuntime

logger = logging.getLogger(__name__)


class GreatExpectationsValidator(DataValidator):
    """Runs the "transactions" suite on a pandas frame in an ephemeral GE context.

    GE is imported and its context built on the first `validate` (importing GE takes 2-3 s, which commands
    that never validate should not pay); later calls reuse the context. Calls are serialised: a GE context
    is not safe to share between threads.
    """

    def __init__(self, rules: ValidationRules | None = None) -> None:
        self.rules = rules or ValidationRules()
        missing = [column for column in V_COLUMNS if column not in self.rules.reference_v_std]
        if missing:
            raise ValueError(f"ValidationRules.reference_v_std has no reference std for {missing}")
        self._runtime: SuiteRuntime | None = None
        self._lock = threading.Lock()

    def validate(self, frame: pd.DataFrame, dataset_id: str) -> ValidationReport:
        with self._lock:
            runtime = self._ensure_runtime()
            validated_at = datetime.now(UTC).isoformat()
            outcomes = self._outcomes(runtime, frame, dataset_id)
        return ValidationReport(
            dataset_id=dataset_id, suite=runtime.suite_name, outcomes=outcomes, validated_at=validated_at
        )

    def _ensure_runtime(self) -> SuiteRuntime:
        if self._runtime is None:
            from fraud_detection.infrastructure.great_expectations.runtime import build_runtime

            self._runtime = build_runtime(self.rules)
        return self._runtime

    @staticmethod
    def _outcomes(
        runtime: SuiteRuntime, frame: pd.DataFrame, dataset_id: str
    ) -> tuple[ExpectationOutcome, ...]:
        """One outcome per suite expectation, in suite order, whatever GE managed to evaluate."""
        from fraud_detection.infrastructure.great_expectations.outcomes import (
            failed_outcome,
            outcome_from_result,
        )

        try:
            results = runtime.run(frame)
        except Exception as error:  # a run GE could not even start fails every expectation, not the caller
            logger.exception("great expectations could not validate dataset %s", dataset_id)
            message = f"validation run failed: {type(error).__name__}: {error}"
            return tuple(failed_outcome(e.configuration, message) for e in runtime.expectations)
        by_id = {result.expectation_config.id: result for result in results if result.expectation_config}
        outcomes = []
        for expectation in runtime.expectations:
            result = by_id.get(expectation.id)
            if result is None:
                outcomes.append(failed_outcome(expectation.configuration, "GE returned no result"))
            else:
                outcomes.append(outcome_from_result(result))
        return tuple(outcomes)
