"""The GE objects one validator reuses: an ephemeral context, a dataframe datasource, the suite and its
validation definition. Built once per validator, so a run only pays for checking the frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core import ExpectationValidationResult
from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation import Expectation

from fraud_detection.domain.schema import LABEL
from fraud_detection.domain.validation import ValidationRules
from fraud_detection.infrastructure.great_expectations.float_aggregates import register_float_aggregates
from fraud_detection.infrastructure.great_expectations.suite import (
    SUITE_NAME,
    build_expectations,
    build_legitimate_row_expectations,
)

_DATASOURCE = "transactions_frames"
_ASSET = "transactions_frame"
_BATCH = "whole_frame"
_DEFINITION = "validate_transactions"
_LEGITIMATE_DEFINITION = "validate_legitimate_rows"
# BASIC gives observed values and unexpected counts with a few examples, without per-row index lists.
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 5}


@dataclass(frozen=True)
class SuiteRuntime:
    context: AbstractDataContext
    definition: gx.ValidationDefinition
    legitimate: gx.ValidationDefinition  # the PCA columns' bands, on the rows labelled legitimate
    expectations: tuple[Expectation, ...]

    @property
    def suite_name(self) -> str:
        return self.definition.suite.name

    def run(self, frame: pd.DataFrame) -> list[ExpectationValidationResult]:
        """The results of both suites. A frame without a usable label column (the schema's failures say
        so) has its V columns checked on every row."""
        try:
            whole = self.definition.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT)
            rows = frame
            if LABEL in frame.columns and pd.api.types.is_numeric_dtype(frame[LABEL]):
                rows = frame.loc[frame[LABEL].to_numpy() == 0]
            legitimate = self.legitimate.run(
                batch_parameters={"dataframe": rows}, result_format=RESULT_FORMAT
            )
            return [*whole.results, *legitimate.results]
        finally:
            self._forget_run()

    def _forget_run(self) -> None:
        """The ephemeral context keeps every result in memory, and the datasource's engine the last frame
        it validated (its batch caches), for as long as the validator lives: the whole dataset, after the
        caller let go of it. The report is ours to keep, not GE's."""
        store = self.context.validation_results_store
        for key in store.list_keys():
            store.remove_key(key)  # type: ignore[no-untyped-call]
        batches = self.context.data_sources.get(_DATASOURCE).get_execution_engine().batch_manager
        batches.reset_batch_cache()
        batches.batch_data_cache.clear()


def build_runtime(rules: ValidationRules) -> SuiteRuntime:
    register_float_aggregates()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(_DATASOURCE)
        .add_dataframe_asset(_ASSET)
        .add_batch_definition_whole_dataframe(_BATCH)
    )
    # One store write for the whole suite; `add_expectation` re-saves it per expectation (~2.7 s in all).
    suite = context.suites.add(gx.ExpectationSuite(name=SUITE_NAME, expectations=build_expectations(rules)))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=_DEFINITION, data=batch, suite=suite)
    )
    rows = context.suites.add(
        gx.ExpectationSuite(
            name=f"{SUITE_NAME}_legitimate_rows", expectations=build_legitimate_row_expectations(rules)
        )
    )
    legitimate = context.validation_definitions.add(
        gx.ValidationDefinition(name=_LEGITIMATE_DEFINITION, data=batch, suite=rows)
    )
    return SuiteRuntime(
        context=context,
        definition=definition,
        legitimate=legitimate,
        expectations=(*suite.expectations, *rows.expectations),
    )
