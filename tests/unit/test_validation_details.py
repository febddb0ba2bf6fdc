"""The validation report's texts and its JSON document, exactly as users and the HTML renderer read them."""

from fraud_detection.domain.validation import ExpectationOutcome, ValidationReport

ROWS_OK = ExpectationOutcome("expect_table_row_count_to_be_between", None, True, {"min_value": 1000}, 4000)
MEAN_BAD = ExpectationOutcome("expect_column_mean_to_be_between", "Class", False, {"max_value": 0.05}, 0.5)
NULLS_BAD = ExpectationOutcome("expect_table_columns_to_match", None, False, {"exact": True}, "V1 missing")


def test_an_outcome_names_its_column_only_when_it_has_one():
    assert (
        ROWS_OK.describe()
        == "expect_table_row_count_to_be_between expected {'min_value': 1000}, observed 4000"
    )
    assert (
        MEAN_BAD.describe()
        == "expect_column_mean_to_be_between[Class] expected {'max_value': 0.05}, observed 0.5"
    )


def test_summary_counts_passed_expectations_and_lists_the_failures():
    passing = ValidationReport("abc", "transactions", (ROWS_OK,), "t0")
    assert passing.summary() == "1/1 expectations passed"
    failing = ValidationReport("abc", "transactions", (ROWS_OK, MEAN_BAD, NULLS_BAD), "t0")
    assert failing.summary() == (
        "1/3 expectations passed; failed: " + MEAN_BAD.describe() + "; " + NULLS_BAD.describe()
    )
    assert failing.failures == (MEAN_BAD, NULLS_BAD)


def test_report_document_has_its_exact_keys():
    report = ValidationReport("abc", "transactions", (ROWS_OK, MEAN_BAD), "2026-05-01T12:00:00+00:00")
    assert report.to_dict() == {
        "dataset_id": "abc",
        "suite": "transactions",
        "success": False,
        "validated_at": "2026-05-01T12:00:00+00:00",
        "statistics": {"evaluated": 2, "failed": 1},
        "outcomes": [
            {
                "expectation": "expect_table_row_count_to_be_between",
                "column": None,
                "success": True,
                "expected": {"min_value": 1000},
                "observed": 4000,
            },
            {
                "expectation": "expect_column_mean_to_be_between",
                "column": "Class",
                "success": False,
                "expected": {"max_value": 0.05},
                "observed": 0.5,
            },
        ],
    }
