"""The matplotlib plotter, and events published in-process and to EventBridge (moto, routed to SQS)."""

import json

import boto3
import numpy as np
import pytest
from moto import mock_aws

from fraud_detection.domain.events import ModelPromoted, RetrainRequested
from fraud_detection.infrastructure.aws.eventbridge import (
    EVENT_SOURCE,
    EventBridgePublisher,
    EventPublishError,
)
from fraud_detection.infrastructure.local.in_process_events import InProcessPublisher
from fraud_detection.infrastructure.matplotlib.plotter import MatplotlibPlotter

pytestmark = pytest.mark.integration
PNG = b"\x89PNG\r\n\x1a\n"
REGION = "eu-west-1"


def test_plotter_renders_the_five_evaluation_pngs():
    rng = np.random.default_rng(0)
    labels = (rng.random(500) < 0.1).astype(float)
    scores = np.clip(rng.normal(0.2 + 0.5 * labels, 0.2), 0, 1)
    pngs = MatplotlibPlotter().render(labels, scores, 0.5, {"V14": 3.0, "V4": 1.0, "log_amount": 0.5})
    assert set(pngs) == {
        "pr_curve.png", "roc_curve.png", "confusion_matrix.png", "feature_importance.png", "reliability.png",
    }  # fmt: skip
    assert all(png.startswith(PNG) and len(png) > 5_000 for png in pngs.values())
    calibrated = MatplotlibPlotter().render(labels, scores, 0.5, {"V14": 1.0}, chance=scores / 2)
    assert calibrated["reliability.png"] != pngs["reliability.png"]  # drawn from the chance when given


def test_in_process_subscribers_receive_their_kind_only():
    publisher, seen = InProcessPublisher(), []
    publisher.subscribe("RetrainRequested", seen.append)
    publisher.publish(ModelPromoted("m", 2, 1, "better"))
    publisher.publish(RetrainRequested("drift"))
    assert [e.kind for e in seen] == ["RetrainRequested"]
    assert len(publisher.published) == 2


@mock_aws
def test_eventbridge_rule_routes_the_event_to_a_queue():
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name="fraud")
    queue = sqs.create_queue(QueueName="retrain")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": [EVENT_SOURCE], "detail-type": ["ModelPromoted"]}
    events.put_rule(Name="promoted", EventBusName="fraud", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="promoted", EventBusName="fraud", Targets=[{"Id": "q", "Arn": arn}])

    EventBridgePublisher("fraud", REGION).publish(ModelPromoted("fraud-lgbm", 3, 2, "challenger better"))

    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    delivered = json.loads(messages[0]["Body"])
    assert delivered["detail-type"] == "ModelPromoted"
    assert delivered["detail"]["version"] == 3
    assert delivered["detail"]["previous_version"] == 2


def test_eventbridge_rejection_is_a_clear_error():
    class Refusing:
        def put_events(self, Entries):
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "AccessDenied", "ErrorMessage": "no"}]}

    with pytest.raises(EventPublishError, match="bus 'fraud' rejected RetrainRequested: AccessDenied"):
        EventBridgePublisher("fraud", REGION, client=Refusing()).publish(RetrainRequested("manual"))
