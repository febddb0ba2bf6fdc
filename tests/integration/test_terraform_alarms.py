"""Static checks of the alarms that reach operators on AWS (modules/alarms) and of the dead-letter queues
behind every EventBridge target: no request may vanish unseen, every alarm must reach the topic, and the ECS
failure patterns must match a failed task of the retrain family and nothing else.

No EventBridge here: the patterns are matched against ECS events shaped as AWS documents them, with a
matcher of the few pattern operators these rules use (literal values, prefix, anything-but, $or, arrays).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.terraform_files import (
    ENVS,
    MODULES,
    TERRAFORM,
    blocks,
    module_calls,
    module_locals,
    resources,
    typed_blocks,
)

pytestmark = pytest.mark.integration

ALARMS_TF = MODULES / "alarms" / "main.tf"
TOPIC = "${aws_sns_topic.alarms.arn}"
CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/fraud-dev"
RETRAIN_PREFIX = "arn:aws:ecs:eu-west-1:123456789012:task-definition/fraud-dev-retrain:"
SERVICES = {
    "api": "arn:aws:ecs:eu-west-1:123456789012:service/fraud-dev/fraud-dev-api",
    "worker": "arn:aws:ecs:eu-west-1:123456789012:service/fraud-dev/fraud-dev-worker",
}


# ---------------------------------------------------------------- ECS events as AWS documents them


def stopped_task(
    *, exit_code: int | None, stop_code: str, family: str = "fraud-dev-retrain"
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "retrain", "lastStatus": "STOPPED"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    return {
        "version": "0",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "resources": ["arn:aws:ecs:eu-west-1:123456789012:task/fraud-dev/0123abcd"],
        "detail": {
            "clusterArn": CLUSTER,
            "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/fraud-dev/0123abcd",
            "taskDefinitionArn": f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:42",
            "group": f"family:{family}",
            "startedBy": "events-rule/fraud-dev-retrain-nightly",
            "lastStatus": "STOPPED",
            "desiredStatus": "STOPPED",
            "stopCode": stop_code,
            "stoppedReason": "Essential container in task exited",
            "containers": [container],
        },
    }


def service_event(detail_type: str, event_name: str, service: str = SERVICES["api"]) -> dict[str, Any]:
    return {
        "version": "0",
        "detail-type": detail_type,
        "source": "aws.ecs",
        "resources": [service],
        "detail": {
            "eventType": "ERROR",
            "eventName": event_name,
            "deploymentId": "ecs-svc/1234567890123456789",
            "reason": "ECS deployment circuit breaker: tasks failed to start.",
        },
    }


# ---------------------------------------------------------------- the subset of EventBridge matching used


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """EventBridge semantics for the operators these patterns use: every key must match; a list of values
    matches if any value matches; an array in the event matches if any element does."""
    for key, wanted in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in wanted):
                return False
            continue
        values = event if isinstance(event, list) else [event]
        present = [value[key] for value in values if isinstance(value, dict) and key in value]
        if not present:
            return False
        if isinstance(wanted, dict):
            if not any(matches(wanted, value) for value in present):
                return False
        elif not any(value_matches(wanted, value) for value in present):
            return False
    return True


def value_matches(filters: list[Any], value: Any) -> bool:
    candidates = value if isinstance(value, list) else [value]
    for candidate in candidates:
        for rule in filters:
            if isinstance(rule, dict):
                ((operator, operand),) = rule.items()
                if operator == "prefix" and isinstance(candidate, str) and candidate.startswith(operand):
                    return True
                if operator == "anything-but" and candidate != operand:
                    return True
                if operator not in {"prefix", "anything-but"}:
                    raise AssertionError(f"the test's matcher does not know {operator}: extend it")
            elif candidate == rule:
                return True
    return False


def test_the_matcher_follows_eventbridge_on_arrays_prefixes_and_anything_but() -> None:
    assert matches({"a": {"b": [{"anything-but": 0}]}}, {"a": [{"b": 0}, {"b": 2}]})
    assert not matches({"a": {"b": [{"anything-but": 0}]}}, {"a": [{"b": 0}]})
    assert not matches({"a": {"b": [{"anything-but": 0}]}}, {"a": [{"c": 1}]})  # absent is no match
    assert matches({"x": [{"prefix": "ab"}]}, {"x": "abc"})
    assert not matches({"x": [{"prefix": "ab"}]}, {"x": "ba"})
    assert matches({"$or": [{"x": [1]}, {"y": [2]}]}, {"y": 2})
    assert not matches({"$or": [{"x": [1]}, {"y": [2]}]}, {"y": 3})


# ---------------------------------------------------------------- the rules

# local.template_values of the module, for one environment.
VALUES: dict[str, Any] = {
    "name_prefix": "fraud-dev",
    "retrain_task_family": "fraud-dev-retrain",
    "cluster_arn": CLUSTER,
    "task_definition_prefix": RETRAIN_PREFIX,
    "service_arns": list(SERVICES.values()),
}
RULES = (
    "retrain-task-failed",
    "retrain-task-not-started",
    "service-deployment-failed",
    "service-tasks-not-starting",
)


def render(kind: str, rule: str) -> str:
    """templatefile() for these templates, which interpolate ${name} and ${jsonencode(name)} only."""
    text = (MODULES / "alarms" / kind / f"{rule}.json.tftpl").read_text()
    text = re.sub(r"\$\{jsonencode\((\w+)\)\}", lambda found: json.dumps(VALUES[found.group(1)]), text)
    text = re.sub(r"\$\{(\w+)\}", lambda found: str(VALUES[found.group(1)]), text)
    assert "${" not in text, f"{kind}/{rule}: an interpolation the test cannot render"
    assert "%{" not in text, f"{kind}/{rule}: a directive the test cannot render"
    return text


def pattern(rule: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(render("patterns", rule))
    return loaded


def paths(rule: str) -> dict[str, str]:
    found: dict[str, str] = module_locals(ALARMS_TF)["notifications"][rule]["paths"]
    return found


def resolve(path: str, event: dict[str, Any]) -> Any:
    """An EventBridge input path ($.a.b[0].c) in one event; KeyError or IndexError if it is absent."""
    value: Any = event
    for name, index in re.findall(r"\.([\w-]+)(?:\[(\d+)\])?", path.removeprefix("$")):
        value = value[name]
        if index:
            value = value[int(index)]
    return value


def message(rule: str, event: dict[str, Any]) -> dict[str, Any]:
    """What EventBridge sends for `event`: each unquoted <placeholder> replaced by its value as JSON."""
    filled = re.sub(
        r"<(\w+)>",
        lambda found: json.dumps(resolve(paths(rule)[found.group(1)], event)),
        render("messages", rule),
    )
    sent: dict[str, Any] = json.loads(filled)
    return sent


FAILED_TASKS = {
    "exit 1 (a service down)": stopped_task(exit_code=1, stop_code="EssentialContainerExited"),
    "exit 2 (bad input)": stopped_task(exit_code=2, stop_code="EssentialContainerExited"),
    "killed, out of memory": stopped_task(exit_code=137, stop_code="EssentialContainerExited"),
    "never started (image pull)": stopped_task(exit_code=None, stop_code="TaskFailedToStart"),
}


def fine_tasks() -> dict[str, dict[str, Any]]:
    running = stopped_task(exit_code=None, stop_code="EssentialContainerExited")
    running["detail"]["lastStatus"] = "RUNNING"
    other_cluster = copy.deepcopy(FAILED_TASKS["exit 1 (a service down)"])
    other_cluster["detail"]["clusterArn"] = CLUSTER.replace("fraud-dev", "fraud-prod")
    not_started_elsewhere = stopped_task(
        exit_code=None, stop_code="TaskFailedToStart", family="fraud-dev-api"
    )
    return {
        "exit 0": stopped_task(exit_code=0, stop_code="EssentialContainerExited"),
        "an API task that failed": stopped_task(
            exit_code=1, stop_code="EssentialContainerExited", family="fraud-dev-api"
        ),
        "a family that only starts with the name": stopped_task(
            exit_code=1, stop_code="EssentialContainerExited", family="fraud-dev-retrain-old"
        ),
        "an API task that never started": not_started_elsewhere,
        "still running": running,
        "another cluster": other_cluster,
    }


def test_each_failed_retrain_family_task_is_notified_once_and_nothing_else() -> None:
    rules = {rule: pattern(rule) for rule in ("retrain-task-failed", "retrain-task-not-started")}
    # The prefix ends at the family: fraud-dev-retrain-old's tasks are not the retrain's.
    assert 'task-definition/${var.retrain_task_family}:"' in ALARMS_TF.read_text()

    for case, event in FAILED_TASKS.items():
        matched = [rule for rule, wanted in rules.items() if matches(wanted, event)]
        assert len(matched) == 1, f"{case}: notified by {matched}"
        for key, path in paths(matched[0]).items():  # a path the event lacks would break the message
            assert resolve(path, event) is not None, f"{case}: {key} = {path}"
    for case, event in fine_tasks().items():
        assert not any(matches(wanted, event) for wanted in rules.values()), f"notified although fine: {case}"


@pytest.mark.parametrize(
    ("rule", "detail_type", "event_name"),
    [
        ("service-deployment-failed", "ECS Deployment State Change", "SERVICE_DEPLOYMENT_FAILED"),
        ("service-tasks-not-starting", "ECS Service Action", "SERVICE_TASK_START_IMPAIRED"),
    ],
)
def test_service_failures_of_this_environment_are_notified(
    rule: str, detail_type: str, event_name: str
) -> None:
    wanted = pattern(rule)

    for service in SERVICES.values():
        assert matches(wanted, service_event(detail_type, event_name, service))
    assert not matches(wanted, service_event(detail_type, "SERVICE_DEPLOYMENT_COMPLETED"))
    assert not matches(wanted, service_event(detail_type, "SERVICE_STEADY_STATE"))
    elsewhere = SERVICES["api"].replace("fraud-dev", "other")
    assert not matches(wanted, service_event(detail_type, event_name, elsewhere))


SAMPLES = {
    "retrain-task-failed": FAILED_TASKS["exit 1 (a service down)"],
    "retrain-task-not-started": FAILED_TASKS["never started (image pull)"],
    "service-deployment-failed": service_event("ECS Deployment State Change", "SERVICE_DEPLOYMENT_FAILED"),
    "service-tasks-not-starting": service_event("ECS Service Action", "SERVICE_TASK_START_IMPAIRED"),
}


@pytest.mark.parametrize("rule", RULES)
def test_every_message_is_json_filled_from_fields_its_events_have(rule: str) -> None:
    event = SAMPLES[rule]
    placeholders = set(re.findall(r"<(\w+)>", render("messages", rule)))
    assert matches(pattern(rule), event)

    assert placeholders == set(paths(rule)), f"{rule}: placeholders and input paths differ"
    sent = message(rule, event)
    assert sent["alarm"] == f"fraud-dev-{rule}"
    assert sent["summary"]
    # Any string stays valid JSON: an unquoted placeholder's value is inserted as JSON, never unescaped
    # inside quotes (a reason holding a quote or a backslash would otherwise break the message).
    awkward = json.dumps('pull "image" failed \\ twice')
    assert json.loads(re.sub(r"<(\w+)>", lambda _: awkward, render("messages", rule)))


def test_every_rule_has_its_pattern_and_message_and_nothing_else_is_there() -> None:
    for kind in ("patterns", "messages"):
        files = {path.name.removesuffix(".json.tftpl") for path in (MODULES / "alarms" / kind).iterdir()}
        assert files == set(RULES), kind
    assert set(module_locals(ALARMS_TF)["notifications"]) == set(RULES)


def test_notifications_reach_the_topic_and_undeliverable_ones_the_dead_letter_queue() -> None:
    alarms = resources(ALARMS_TF)
    target = alarms[("aws_cloudwatch_event_target", "notify")]

    assert target["arn"] == TOPIC
    assert "messages/${each.key}.json.tftpl" in target["input_transformer"][0]["input_template"]
    assert (
        "patterns/${each.key}.json.tftpl" in alarms[("aws_cloudwatch_event_rule", "notify")]["event_pattern"]
    )
    assert target["dead_letter_config"][0]["arn"] == "${var.dead_letter_queue_arn}"
    assert alarms[("aws_cloudwatch_event_rule", "notify")]["name"] == "${var.name_prefix}-${each.key}"


# ---------------------------------------------------------------- alarms and the topic


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears() -> None:
    alarms = {
        name: body
        for (kind, name), body in resources(ALARMS_TF).items()
        if kind == "aws_cloudwatch_metric_alarm"
    }

    assert set(alarms) == {
        "dead_letter",
        "api_no_healthy_task",
        "api_errors",
        "mlflow_host_status",
        "redis_memory",
        "task_memory",
    }
    for name, alarm in alarms.items():
        assert alarm["alarm_actions"] == [TOPIC], name
        assert alarm["ok_actions"] == [TOPIC], name
        assert alarm.get("actions_enabled", True) is True, name
        assert alarm["treat_missing_data"] in {"breaching", "notBreaching"}, f"{name}: say what silence means"
        # The topic admits alarms named ${var.name_prefix}-*; any other name would never be delivered.
        assert alarm["alarm_name"].startswith("${var.name_prefix}-"), name
        assert alarm.get("alarm_description"), name


def test_every_redis_node_has_a_memory_alarm() -> None:
    """The count must be known before apply (the replicas variable), the ids come from the group itself."""
    alarm = resources(ALARMS_TF)[("aws_cloudwatch_metric_alarm", "redis_memory")]
    outputs = dict(blocks(MODULES / "redis" / "outputs.tf", "output"))

    assert alarm["count"] == "${var.redis_node_count}"
    assert alarm["dimensions"] == {"CacheClusterId": "${var.redis_node_ids[count.index]}"}
    assert outputs["node_count"]["value"] == "${var.replicas + 1}"
    assert "aws_elasticache_replication_group.redis.member_clusters" in outputs["node_ids"]["value"]
    assert "num_cache_clusters         = var.replicas + 1" in (MODULES / "redis" / "main.tf").read_text()
    for env in ("dev", "prod"):
        calls = {name: body for _, name, body, _ in module_calls(ENVS / env)}
        assert calls["alarms"]["redis_node_count"] == "${module.redis.node_count}"
        assert calls["alarms"]["redis_node_ids"] == "${module.redis.node_ids}"


def test_the_api_and_worker_services_have_a_task_memory_alarm() -> None:
    alarm = resources(ALARMS_TF)[("aws_cloudwatch_metric_alarm", "task_memory")]
    ecs_outputs = dict(blocks(MODULES / "ecs" / "outputs.tf", "output"))

    assert alarm["for_each"] == "${var.service_names}"
    assert alarm["dimensions"] == {"ClusterName": "${var.cluster_name}", "ServiceName": "${each.value}"}
    assert alarm["statistic"] == "Maximum"  # the fullest task, not the service's average
    assert ecs_outputs["service_names"]["value"] == {
        "api": "${aws_ecs_service.api.name}",
        "worker": "${aws_ecs_service.worker.name}",
    }
    for env in ("dev", "prod"):
        calls = {name: body for _, name, body, _ in module_calls(ENVS / env)}
        assert calls["alarms"]["service_names"] == "${module.ecs.service_names}"
        assert calls["alarms"]["cluster_name"] == "${module.ecs.cluster_name}"


def test_the_topic_is_encrypted_and_admits_only_this_environments_alarms_and_rules() -> None:
    alarms = resources(ALARMS_TF)
    documents = {
        name: body
        for kind, name, body in typed_blocks(ALARMS_TF, "data")
        if kind == "aws_iam_policy_document"
    }
    statements = {statement["sid"]: statement for statement in documents["topic"]["statement"]}

    assert alarms[("aws_sns_topic", "alarms")]["kms_master_key_id"] == "${var.kms_key_arn}"
    assert (
        alarms[("aws_sns_topic_policy", "alarms")]["policy"] == "${data.aws_iam_policy_document.topic.json}"
    )
    cloudwatch, events = statements["AlarmsOfThisEnvironment"], statements["NotificationRulesOfThisModule"]
    assert cloudwatch["principals"][0]["identifiers"] == ["cloudwatch.amazonaws.com"]
    assert cloudwatch["condition"][0]["values"][0].endswith(":alarm:${var.name_prefix}-*")
    assert events["principals"][0]["identifiers"] == ["events.amazonaws.com"]
    assert events["condition"][0]["test"] == "ArnEquals"
    assert "aws_cloudwatch_event_rule.notify" in events["condition"][0]["values"]


def test_the_key_lets_eventbridge_and_alarms_write_the_encrypted_queues_and_topic() -> None:
    """Without these grants an encrypted dead-letter queue or topic silently drops what is sent to it."""
    key_tf = MODULES / "observability" / "main.tf"
    (key,) = (body for kind, name, body in typed_blocks(key_tf, "data") if name == "key")
    granted = {
        identifier: set(statement["actions"])
        for statement in key["statement"]
        for principal in statement["principals"]
        if principal["type"] == "Service"
        for identifier in principal["identifiers"]
    }

    for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= granted.get(service, set()), service


# ---------------------------------------------------------------- dead letters


def test_every_eventbridge_target_has_a_dead_letter_queue() -> None:
    targets = [
        (tf.relative_to(TERRAFORM).as_posix(), name, body)
        for tf in sorted(TERRAFORM.rglob("*.tf"))
        for kind, name, body in typed_blocks(tf, "resource")
        if kind == "aws_cloudwatch_event_target"
    ]

    assert len(targets) >= 6
    for where, name, body in targets:
        assert body.get("dead_letter_config"), f"{where}: target {name} drops what it cannot deliver"


def test_the_events_dead_letter_queue_admits_every_rule_of_the_environment_and_no_other() -> None:
    events_tf = MODULES / "events" / "main.tf"
    (policy,) = (body for kind, name, body in typed_blocks(events_tf, "data") if name == "dead_letter")
    (statement,) = policy["statement"]
    (condition,) = statement["condition"]
    rule_names = [
        body["name"]
        for tf in sorted(TERRAFORM.rglob("*.tf"))
        for kind, _, body in typed_blocks(tf, "resource")
        if kind == "aws_cloudwatch_event_rule"
    ]

    assert statement["principals"][0]["identifiers"] == ["events.amazonaws.com"]
    assert condition["variable"] == "aws:SourceArn"
    assert sorted(value.rsplit(":", 1)[1] for value in condition["values"]) == [
        "rule/${var.name_prefix}-*",
        "rule/${var.name_prefix}/*",
    ]
    # The condition covers a rule only through its name: every rule must carry the environment's prefix.
    assert len(rule_names) >= 6
    assert all(name.startswith("${var.name_prefix}-") for name in rule_names), rule_names


def test_every_dead_letter_queue_is_watched_by_an_alarm_in_both_environments() -> None:
    queues = {
        tf.parent.name
        for tf in sorted(MODULES.rglob("*.tf"))
        for kind, _, _ in typed_blocks(tf, "resource")
        if kind == "aws_sqs_queue"
    }

    assert queues == {"events", "lambda_drift"}
    for env in ("dev", "prod"):
        calls = {name: (body, module) for _, name, body, module in module_calls(ENVS / env)}
        watched, _ = calls["alarms"]
        passed = " ".join(str(value) for value in watched["dead_letter_queues"].values())
        for call, (_, module) in calls.items():
            if module.key in queues:
                assert f"module.{call}.dead_letter_queue_name" in passed, f"envs/{env}: {call}'s queue"


def test_the_alarm_emails_reach_the_module_and_the_topic_is_an_output() -> None:
    for env in ("dev", "prod"):
        variables = dict(blocks(ENVS / env / "variables.tf", "variable"))
        outputs = dict(blocks(ENVS / env / "outputs.tf", "output"))
        example = (ENVS / env / "terraform.tfvars.example").read_text()

        assert variables["alarm_emails"]["default"] == []
        assert outputs["alarms_topic"]["value"] == "${module.alarms.topic_arn}"
        assert outputs["events_dead_letter_queue"]["value"] == "${module.events.dead_letter_queue_url}"
        assert "alarm_emails" in example
        assert (
            Path(ENVS / env / "main.tf").read_text().count("notification_emails      = var.alarm_emails") == 1
        )
