"""Misspelt and retired `FRAUD_*` variables are named; other tools' variables with the prefix are not."""

from fraud_detection.settings.unknown import setting_variables, unknown_setting_problems

SETTINGS = setting_variables()


def test_every_alias_choice_counts_as_a_setting():
    assert {"FRAUD_TOP_K", "MLFLOW_TRACKING_URI", "FRAUD_MLFLOW_TRACKING_URI", "AWS_REGION"} <= SETTINGS


def test_a_near_miss_names_the_setting_meant():
    problems = unknown_setting_problems({"FRAUD_ADMINTOKEN": "x", "FRAUD_MODEL_POLL_SECOND": "5"}, SETTINGS)
    assert problems == [
        "FRAUD_ADMINTOKEN: not a setting (did you mean FRAUD_ADMIN_TOKEN?)",
        "FRAUD_MODEL_POLL_SECOND: not a setting (did you mean FRAUD_MODEL_POLL_SECONDS?)",
    ]


def test_a_retired_setting_names_its_replacement():
    [problem] = unknown_setting_problems({"FRAUD_VALID_FRACTION": "0.3"}, SETTINGS)
    assert problem.startswith("FRAUD_VALID_FRACTION: no longer a setting; use FRAUD_FIRST_FIT_FRACTION")


def test_lower_case_is_read_as_pydantic_reads_it():
    assert unknown_setting_problems({"fraud_top_k": "5"}, SETTINGS) == []
    assert unknown_setting_problems({"fraud_top_kk": "5"}, SETTINGS) != []


def test_settings_and_other_tools_variables_pass():
    environment = {
        "FRAUD_TOP_K": "5",
        "FRAUD_IMAGE_TAG": "sha",
        "FRAUD_REAL_SAMPLE": "x",
        "FRAUD_STACK_API_URL": "http://127.0.0.1:8000",
        "FRAUD_FEATURES": "a,b",
        "FRAUD_PROJECT_DIR": "/x",
        "PATH": "/usr/bin",
    }
    assert unknown_setting_problems(environment, SETTINGS) == []
