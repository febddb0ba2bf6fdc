"""The drift-check Lambda handler against moto's S3, EventBridge and SQS: captured predictions and the
reference profile in the bucket, DriftDetected routed by an EventBridge rule to a queue we read back."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator

import boto3
import numpy as np
import pytest
from moto import mock_aws

from fraud_detection.application.drift.reference import StoreReferenceProfile
from fraud_detection.composition import get_container, use_container
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.entrypoints import lambda_drift
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog
from fraud_detection.infrastructure.aws.eventbridge import EVENT_SOURCE
from fraud_detection.infrastructure.documents.reference_profiles import ObjectStoreReferenceProfiles
from fraud_detection.infrastructure.s3 import S3ObjectStore
from fraud_detection.simulation.generator import generate_transactions
from tests.iam_replay import policy_statements, record_s3_requests, refused

pytestmark = pytest.mark.integration

REGION, BUCKET, BUS = "eu-west-1", "fraud-data", "fraud"
ROOT = "fraud"  # the store's root in the bucket, as Terraform sets FRAUD_STORAGE_URI
THRESHOLD = 0.5


def scores(inputs: np.ndarray) -> np.ndarray:
    """A stand-in model: fraud rows have very negative V14 and V17."""
    logit = -1.2 * inputs[:, 13] - 0.8 * inputs[:, 16] - 9.0
    return 1 / (1 + np.exp(-logit))


@functools.cache  # the reference rows are the same for every test: generate them once
def inputs_of(rows: int, seed: int, scenario: str = "none") -> np.ndarray:
    frame = generate_transactions(rows, seed=seed, scenario=scenario)
    return frame[list(SCORING_INPUTS)].to_numpy(dtype=np.float64)


class Aws:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.store = S3ObjectStore(BUCKET, ROOT, region=REGION)
        events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=BUS)
        self.queue = sqs.create_queue(QueueName="retrain")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        pattern = {"source": [EVENT_SOURCE], "detail-type": ["DriftDetected"]}
        events.put_rule(Name="drift-retrain", EventBusName=BUS, EventPattern=json.dumps(pattern))
        target = {"Id": "retrain", "Arn": attributes["Attributes"]["QueueArn"]}
        events.put_targets(Rule="drift-retrain", EventBusName=BUS, Targets=[target])
        self.sqs = sqs
        reference = inputs_of(60_000, seed=1)
        StoreReferenceProfile(ObjectStoreReferenceProfiles(self.store))(
            "fraud-lgbm", 4, reference, scores(inputs_of(20_000, seed=2)), THRESHOLD
        )

    def capture(
        self,
        inputs: np.ndarray,
        version: int = 4,
        scored_at: float | None = None,
        max_rows: int = 1_000_000,
        prefix: str = "predictions",
    ) -> None:
        log = ParquetPredictionLog(self.store, prefix=prefix, max_rows=max_rows, max_seconds=60)
        probabilities = scores(inputs)
        log.append(
            PredictionBatch(
                inputs=inputs,
                times=np.zeros(len(inputs)),
                transaction_ids=tuple(f"tx-{i}" for i in range(len(inputs))),
                probabilities=probabilities,
                decisions=probabilities >= THRESHOLD,
                model_name="fraud-lgbm",
                model_version=version,
                request_id="batch",
                scored_at=time.time() if scored_at is None else scored_at,
            )
        )
        log.close()

    def messages(self) -> list[dict[str, object]]:
        received = self.sqs.receive_message(QueueUrl=self.queue, WaitTimeSeconds=1, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        "FRAUD_STORAGE_URI": f"s3://{BUCKET}/{ROOT}", "FRAUD_EVENT_BUS": BUS, "FRAUD_AWS_REGION": REGION,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FRAUD_S3_ENDPOINT_URL", raising=False)
    with mock_aws():
        use_container(None)
        yield Aws()
        use_container(None)


def test_normal_traffic_reports_no_drift_and_publishes_nothing(aws: Aws) -> None:
    aws.capture(inputs_of(5_000, seed=3))
    result = lambda_drift.handler({"hours": 1}, None)
    assert result["status"] == "no_drift", result["reason"]
    assert result["window_rows"] == 5_000
    assert result["model"] == {"name": "fraud-lgbm", "version": 4}
    assert result["event"] is None
    assert aws.messages() == []
    stored = json.loads(aws.store.read_bytes("drift/latest.json"))
    assert stored["status"] == "no_drift"
    assert result["report"] == aws.store.uri_for(f"drift/reports/{stored['id']}.json")
    assert aws.store.exists(f"drift/reports/{stored['id']}.png")


def test_shifted_inputs_are_reported_as_input_drift_and_publish_nothing(aws: Aws) -> None:
    """Input drift is a diagnostic: the Lambda reports it and leaves retraining alone."""
    aws.capture(inputs_of(5_000, seed=4, scenario="covariate_shift"))
    result = lambda_drift.handler({"last_rows": 5_000}, None)
    assert result["status"] == "input_drift", result["reason"]
    assert result["model_at_risk"] is False
    assert result["drifted_inputs"] == ["V15", "V22", "V24"]
    assert result["event"] is None
    assert aws.messages() == []


def test_a_model_at_risk_publishes_drift_detected_through_the_rule(aws: Aws) -> None:
    aws.capture(inputs_of(5_000, seed=7, scenario="fraud_rate_change"))  # 1% frauds: the alert rate moves
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {"last_rows": 5_000}}
    result = lambda_drift.handler(scheduled, None)
    assert result["status"] == "model_at_risk", result["reason"]
    assert "alert_rate" in result["evidence"]
    assert result["event"] == "DriftDetected"
    [delivered] = aws.messages()
    assert delivered["detail-type"] == "DriftDetected"
    assert delivered["detail"]["version"] == 4
    assert delivered["detail"]["evidence"] == result["evidence"]
    assert delivered["detail"]["report"] == result["report"]


def test_a_small_window_is_insufficient_data_without_an_event(aws: Aws) -> None:
    aws.capture(inputs_of(400, seed=5, scenario="covariate_shift"))
    result = lambda_drift.handler({}, None)
    assert result["status"] == "insufficient_data"
    assert "400 rows of v4, at least 1,000 needed" in result["reason"]
    assert aws.messages() == []


def test_a_corrupt_captured_file_is_skipped_and_named(aws: Aws) -> None:
    aws.capture(inputs_of(3_000, seed=6))
    hour = time.strftime("date=%Y-%m-%d/hour=%H", time.gmtime())
    aws.store.write_bytes(f"predictions/{hour}/garbage.parquet", b"not parquet at all")
    result = lambda_drift.handler({"hours": 2}, None)
    assert result["status"] == "no_drift"
    assert result["window_rows"] == 3_000
    stored = json.loads(aws.store.read_bytes("drift/latest.json"))
    assert stored["window"]["skipped_files"] == [f"predictions/{hour}/garbage.parquet"]


def test_a_bad_event_is_refused_naming_the_field(aws: Aws) -> None:
    result = lambda_drift.handler({"hours": -3, "colour": "blue"}, None)
    assert result["status"] == "error"
    assert "hours: Input should be greater than 0" in result["error"]
    assert "colour: Extra inputs are not permitted" in result["error"]
    assert not aws.store.exists("drift/latest.json")
    for field in ("hours", "compact_hours"):  # beyond a year, once an OverflowError the runtime retried
        huge = lambda_drift.handler({field: 1e12}, None)
        assert huge["status"] == "error"
        assert f"{field}: Input should be less than or equal to 8784" in huge["error"]


def test_a_bad_setting_is_an_error_result_naming_the_variable(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry would fail the same way: an answer naming the variable, not a traceback Lambda retries."""
    monkeypatch.setenv("FRAUD_DRIFT_WINDOW_HOURS", "nan")
    use_container(None)  # the function's next cold start reads the environment again
    result = lambda_drift.handler({"hours": 3}, None)
    assert result["status"] == "error"
    assert result["error"].startswith("invalid configuration: FRAUD_DRIFT_WINDOW_HOURS: ")
    assert not aws.store.exists("drift/latest.json")


def test_a_misspelt_setting_is_refused_as_the_cli_refuses_it(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FRAUD_DRIFT_WINDOW_HOUR=3: the CLI refused it, the function ran with the default 24 h."""
    monkeypatch.setenv("FRAUD_DRIFT_WINDOW_HOUR", "3")
    use_container(None)
    result = lambda_drift.handler({}, None)
    assert result == {
        "status": "error",
        "error": "invalid configuration: FRAUD_DRIFT_WINDOW_HOUR: not a setting (did you mean "
        "FRAUD_DRIFT_WINDOW_HOURS?)",
    }
    assert not aws.store.exists("drift/latest.json")


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (5, "a JSON object is needed, got int"),  # a TypeError before
        (["hours"], "a JSON object is needed, got list"),
        ({"hours": True}, "hours: Input should be a valid number"),  # was one hour
        ({"hours": "2"}, "hours: Input should be a valid number"),
    ],
)
def test_an_event_that_is_not_an_object_of_numbers_is_refused(aws: Aws, event: object, problem: str) -> None:
    result = lambda_drift.handler(event, None)  # type: ignore[arg-type]
    assert result["status"] == "error"
    assert problem in result["error"]
    assert not aws.store.exists("drift/latest.json")


def test_the_closed_hours_files_are_merged_before_the_check(aws: Aws) -> None:
    three_hours_ago = time.time() - 3 * 3600
    aws.capture(inputs_of(5_000, seed=3), scored_at=three_hours_ago, max_rows=1_000)  # 5 files
    hour = time.strftime("predictions/date=%Y-%m-%d/hour=%H/", time.gmtime(three_hours_ago))
    result = lambda_drift.handler({"hours": 6}, None)
    assert result["compaction"] == {
        "hours": 1, "files_merged": 5, "rows": 5_000, "files_deleted": 0, "hours_left": 0
    }  # fmt: skip
    assert len(list(aws.store.list_keys(hour))) == 6  # the merged files stay for the grace period
    stored = json.loads(aws.store.read_bytes("drift/compaction-latest.json"))
    assert (stored["summary"], stored["error"]) == (result["compaction"], None)
    assert result["window_rows"] == 5_000  # read once, not twice
    assert lambda_drift.handler({"hours": 6, "compact": False}, None)["compaction"] is None


def test_a_failed_compaction_still_checks_drift(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.capture(inputs_of(5_000, seed=3))

    def broken(*_: object) -> None:
        raise OSError("the bucket said no")

    compaction = get_container().adapters.capture_compaction()
    monkeypatch.setattr(compaction, "compact", broken)
    result = lambda_drift.handler({"hours": 1}, None)
    assert result["compaction"] == {"error": "OSError: the bucket said no"}
    assert result["status"] == "no_drift"
    assert result["window_rows"] == 5_000
    stored = json.loads(aws.store.read_bytes("drift/compaction-latest.json"))  # what /metrics exports
    assert stored["summary"] is None
    assert stored["error"] == "OSError: the bucket said no"


def test_a_store_outage_during_compaction_ends_the_invocation_at_once(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction, its failure report, then the check each waited out the S3 client's retries on a hung S3:
    307 s, past the function's 300 s limit. The outage is raised after the first (Lambda retries)."""
    aws.capture(inputs_of(500, seed=3))

    def down(*_: object) -> None:
        raise ServiceUnavailableError("cannot list s3://fraud/predictions/: Read timeout")

    monkeypatch.setattr(get_container().adapters.capture_compaction(), "compact", down)
    checked = []
    monkeypatch.setattr(get_container().drift, "check", lambda: checked.append(1))
    with pytest.raises(ServiceUnavailableError, match="Read timeout"):
        lambda_drift.handler({"hours": 1}, None)
    assert checked == []
    assert not aws.store.exists("drift/compaction-latest.json")


# --- the function's IAM role (deploy/terraform/modules/lambda_drift), which moto does not enforce -----------


def role_statements() -> list[dict[str, object]]:
    """The function policy's statements, its ARNs filled in for this bucket."""
    arns = {
        "${local.store}": f"arn:aws:s3:::{BUCKET}/{ROOT}",
        "${var.data_bucket_arn}": f"arn:aws:s3:::{BUCKET}",
    }
    return policy_statements("lambda_drift", "function", arns)


def test_every_s3_request_of_a_check_is_one_the_functions_role_allows(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto lets every request through; AWS would have refused the read of `quality/latest.json` (the
    realised evidence), failing every check once a window held enough rows."""
    aws.capture(inputs_of(5_000, seed=3), scored_at=time.time() - 3 * 3600, max_rows=1_000)  # to compact
    aws.capture(inputs_of(2_000, seed=4), 5, time.time() - 3 * 3600, 1_000, "shadow")  # a rollout's dark rows
    aws.capture(inputs_of(2_000, seed=5))
    requests = record_s3_requests(monkeypatch)
    result = lambda_drift.handler({"hours": 6}, None)
    assert result["status"] == "no_drift", result
    assert result["compaction"]["files_merged"] == 5 + 2
    assert {operation for operation, _ in requests} >= {"GetObject", "ListObjectsV2", "PutObject"}
    assert refused(role_statements(), requests) == []
