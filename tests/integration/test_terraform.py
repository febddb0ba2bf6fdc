"""Static checks of deploy/terraform: no Terraform binary or AWS account here, so these tests parse every .tf
file with python-hcl2 and hold the modules to the wiring rules and the deployment naming contract, then run
checkov once (module-scoped fixture) and require no failed check and no skip missing from the allow-list.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fraud_detection.domain.ports.rollout import SHADOW_CAPTURE_PREFIX
from tests.fixtures.terraform_files import (
    ENVS,
    MODULES,
    REPO,
    TERRAFORM,
    all_modules,
    blocks,
    callers,
    env_folders,
    load_module,
    module_calls,
    module_locals,
    parse,
    resources,
    typed_blocks,
)

pytestmark = pytest.mark.integration

CHECKOV = REPO / ".venv-tools" / "bin" / "checkov"

EXPECTED_MODULES = {
    "storage",
    "storage/bucket",
    "ecr",
    "network",
    "redis",
    "secrets",
    "mlflow_host",
    "mlflow_db",
    "ecs",
    "lambda_drift",
    "events",
    "github_oidc",
    "github_deploy",
    "observability",
    "alarms",
}

# Module outputs no caller reads: they exist for operators (terraform output / console) or other tooling.
OPERATOR_OUTPUTS = {
    ("ecr", "repository_name"): "ECR_REPOSITORY for a repository set up outside the envs",
    ("mlflow_host", "private_ip"): "SSH target when the private DNS does not resolve from the VPN",
}

# Every `#checkov:skip` in the tree, by module file and check, with the reason it is acceptable.
ALLOWED_SKIPS = {
    ("modules/storage/bucket/main.tf", "CKV_AWS_144"): "cross-region replication is the operator's DR choice",
    ("modules/storage/bucket/main.tf", "CKV2_AWS_62"): "nothing consumes S3 event notifications",
    ("modules/observability/main.tf", "CKV_AWS_338"): "dev keeps logs 30 days on purpose; prod 365",
    ("modules/observability/main.tf", "CKV_AWS_111"): "KMS key policy: '*' means the key itself",
    ("modules/observability/main.tf", "CKV_AWS_356"): "KMS key policy: '*' means the key itself",
    ("modules/observability/main.tf", "CKV_AWS_109"): "KMS key policy: root must administer its key",
    ("modules/redis/main.tf", "CKV2_AWS_57"): "the AUTH token is rotated by Terraform, no rotation Lambda",
    ("modules/secrets/main.tf", "CKV2_AWS_57"): "static tokens rotated by operators / Ansible",
    ("modules/ecs/main.tf", "CKV_AWS_378"): "TLS ends at the ALB; ALB to task traffic stays in the VPC",
    ("modules/ecs/main.tf", "CKV_AWS_336"): "the non-root app writes under FRAUD_HOME; Fargate has no tmpfs",
    ("modules/lambda_drift/main.tf", "CKV_AWS_272"): "code signing exists only for .zip functions",
    ("modules/mlflow_db/main.tf", "CKV_AWS_338"): "dev keeps logs 30 days on purpose; prod 365",
    ("modules/ecs/main.tf", "CKV2_AWS_34"): "the deployed image tag names a public commit, not a secret",
}

MODULE_META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
MODULE_OUTPUT_REFERENCE = re.compile(r"module\.(\w+)(?:\[[^\]]*\])?\.(\w+)")
MOVED_BLOCK = re.compile(r"(?ms)^moved \{.*?^\}")  # names resources by their old address, not outputs
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z]+_\d+):(.*)")


# ---------------------------------------------------------------- layout and wiring


def test_every_expected_module_exists_with_its_three_files() -> None:
    found = set(all_modules())

    assert found == EXPECTED_MODULES
    for key in EXPECTED_MODULES:
        for name in ("variables.tf", "main.tf", "outputs.tf"):
            assert (MODULES / key / name).is_file(), f"modules/{key} lacks {name}"


def test_every_variable_has_a_type_and_a_description() -> None:
    for folder in [*(MODULES / key for key in EXPECTED_MODULES), *env_folders()]:
        for name, body in load_module(folder).variables.items():
            assert "type" in body, f"{folder.relative_to(TERRAFORM)}: variable {name} has no type"
            assert body.get("description"), (
                f"{folder.relative_to(TERRAFORM)}: variable {name} has no description"
            )


def test_envs_have_the_files_operators_need() -> None:
    assert [folder.name for folder in env_folders()] == ["dev", "prod"]
    for folder in env_folders():
        for name in ("main.tf", "variables.tf", "versions.tf", "outputs.tf", "terraform.tfvars.example"):
            assert (folder / name).is_file(), f"envs/{folder.name} lacks {name}"
        versions = parse(folder / "versions.tf")["terraform"][0]
        assert versions["required_version"] == ">= 1.6.0"
        providers = versions["required_providers"][0]
        assert providers["aws"]["version"].startswith("~> 5.")
        assert "random" in providers
        assert 'backend "s3"' in (folder / "versions.tf").read_text(), "document the S3 backend"


def test_module_calls_pass_every_required_variable_and_only_declared_ones() -> None:
    calls = [call for folder in callers() for call in module_calls(folder)]

    assert len(calls) >= 2 * 11
    for tf, name, body, module in calls:
        passed = {key for key in body if key not in MODULE_META_ARGUMENTS and not key.startswith("__")}
        where = f"{tf.relative_to(TERRAFORM)}: module {name}"
        assert not module.required - passed, f"{where} misses required {sorted(module.required - passed)}"
        assert not passed - set(module.variables), (
            f"{where} passes undeclared {sorted(passed - set(module.variables))}"
        )


def test_every_module_output_a_caller_reads_exists() -> None:
    checked = 0
    for folder in callers():
        sources = {name: module for _, name, _, module in module_calls(folder)}
        text = MOVED_BLOCK.sub("", "\n".join(tf.read_text() for tf in folder.glob("*.tf")))
        for call, output in MODULE_OUTPUT_REFERENCE.findall(text):
            assert call in sources, (
                f"{folder.relative_to(TERRAFORM)} reads module.{call}, which it never calls"
            )
            assert output in sources[call].outputs, f"{folder.relative_to(TERRAFORM)}: module.{call}.{output}"
            checked += 1

    assert checked > 50


def test_every_module_variable_is_used_by_its_module() -> None:
    for key, module in all_modules().items():
        code = module.text(with_variables=False)
        for name in module.variables:
            assert re.search(rf"\bvar\.{name}\b", code), f"modules/{key}: variable {name} is never used"


def test_every_module_output_is_read_by_a_caller_or_listed_for_operators() -> None:
    read: set[tuple[str, str]] = set()
    for folder in callers():
        sources = {name: module.key for _, name, _, module in module_calls(folder)}
        text = MOVED_BLOCK.sub("", "\n".join(tf.read_text() for tf in folder.glob("*.tf")))
        read |= {(sources[call], output) for call, output in MODULE_OUTPUT_REFERENCE.findall(text)}

    for key, module in all_modules().items():
        for output in module.outputs:
            assert (key, output) in read or (key, output) in OPERATOR_OUTPUTS, (
                f"modules/{key}: output {output} is neither used nor listed in OPERATOR_OUTPUTS"
            )


# ---------------------------------------------------------------- security properties


def grants_everything(statement: dict[str, Any]) -> bool:
    """An Allow statement with both action "*" and resource "*" (admin rights)."""
    allowed = statement.get("effect", "Allow") == "Allow"
    return allowed and "*" in statement.get("actions", []) and "*" in statement.get("resources", [])


def policy_statements() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    for tf in sorted(TERRAFORM.rglob("*.tf")):
        for kind, name, body in typed_blocks(tf, "data"):
            if kind == "aws_iam_policy_document":
                for statement in body.get("statement", []):
                    yield tf, name, statement


def test_the_wildcard_rule_recognises_an_admin_statement() -> None:
    assert grants_everything({"actions": ["*"], "resources": ["*"]})
    assert not grants_everything({"actions": ["s3:GetObject"], "resources": ["*"]})
    assert not grants_everything({"effect": "Deny", "actions": ["*"], "resources": ["*"]})


def test_no_iam_policy_document_allows_every_action_on_every_resource() -> None:
    statements = list(policy_statements())

    assert len(statements) > 20
    for tf, name, statement in statements:
        assert not grants_everything(statement), f"{tf.relative_to(TERRAFORM)}: policy {name} grants */*"
    policies = [
        tf
        for tf in TERRAFORM.rglob("*.tf")
        if re.search(r'"(Action|Resource)"\s*[:=]\s*"\*"', tf.read_text())
    ]
    assert not policies, f"hand-written JSON policies with wildcards: {policies}"


def test_every_role_uses_the_key_only_through_the_services_that_hold_its_data() -> None:
    """A grant of kms:Decrypt without `kms:ViaService` lets the role decrypt anything sealed with the key,
    by a direct call; the drift Lambda's was the one without it."""
    grants = [
        (tf, name, statement)
        for tf, name, statement in policy_statements()
        if any(str(action).startswith("kms:") for action in statement.get("actions", []))
        and statement.get("effect", "Allow") == "Allow"
        and not any(principal for principal in statement.get("principals", []))  # key policies: the account
    ]
    assert len(grants) >= 4
    for tf, name, statement in grants:
        conditions = [condition["variable"] for condition in statement.get("condition", [])]
        assert "kms:ViaService" in conditions, f"{tf.relative_to(TERRAFORM)}: {name} {statement.get('sid')}"


def test_every_s3_bucket_has_versioning_encryption_and_a_public_access_block() -> None:
    buckets = 0
    for tf in sorted(TERRAFORM.rglob("*.tf")):
        found = resources(tf)
        for kind, name in [key for key in found if key[0] == "aws_s3_bucket"]:
            buckets += 1
            reference = f"${{aws_s3_bucket.{name}.id}}"
            controls = {
                control: [
                    body for (k, _), body in found.items() if k == control and body["bucket"] == reference
                ]
                for control in (
                    "aws_s3_bucket_versioning",
                    "aws_s3_bucket_server_side_encryption_configuration",
                    "aws_s3_bucket_public_access_block",
                )
            }
            where = f"{tf.relative_to(TERRAFORM)}: {kind}.{name}"
            assert all(controls.values()), (
                f"{where} lacks {[c for c, found in controls.items() if not found]}"
            )
            (versioning,) = controls["aws_s3_bucket_versioning"]
            assert versioning["versioning_configuration"][0]["status"] == "Enabled", where
            (block,) = controls["aws_s3_bucket_public_access_block"]
            flags = (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
            assert all(block[flag] is True for flag in flags), where

    assert buckets >= 1
    calls = [
        name for _, name, _, module in module_calls(MODULES / "storage") if module.key == "storage/bucket"
    ]
    assert sorted(calls) == ["data", "logs", "mlflow"]


def test_every_bucket_policy_denies_plain_http() -> None:
    bucket = MODULES / "storage" / "bucket" / "main.tf"
    documents = {
        name: body for kind, name, body in typed_blocks(bucket, "data") if kind == "aws_iam_policy_document"
    }
    (deny,) = documents["tls_only"]["statement"]

    assert deny["effect"] == "Deny"
    assert deny["condition"][0]["variable"] == "aws:SecureTransport"
    assert deny["condition"][0]["values"] == ["false"]
    assert "tls_only" in documents["this"]["source_policy_documents"]


def test_mlflow_host_requires_imdsv2_and_an_encrypted_root_volume() -> None:
    host = resources(MODULES / "mlflow_host" / "main.tf")[("aws_instance", "host")]
    group = resources(MODULES / "mlflow_host" / "main.tf")[("aws_security_group", "host")]

    assert host["metadata_options"][0]["http_tokens"] == "required"
    assert host["root_block_device"][0]["encrypted"] is True
    assert host["associate_public_ip_address"] is False
    ssh = [rule for rule in group["ingress"] if rule["from_port"] == 22]
    assert ssh == [rule for rule in ssh if rule.get("cidr_blocks") == ["${var.admin_cidr}"]]
    assert all("0.0.0.0/0" not in rule.get("cidr_blocks", []) for rule in group["ingress"])


def test_the_mlflow_database_is_private_encrypted_tls_only_and_reached_by_the_host_alone() -> None:
    db_tf = MODULES / "mlflow_db" / "main.tf"
    found = resources(db_tf)
    db, group = found[("aws_db_instance", "db")], found[("aws_security_group", "db")]
    parameters = {p["name"]: p["value"] for p in found[("aws_db_parameter_group", "db")]["parameter"]}
    host = resources(MODULES / "mlflow_host" / "main.tf")[("aws_security_group", "host")]
    (egress,) = [block["egress"] for block in host["dynamic"] if "egress" in block]

    assert db["publicly_accessible"] is False
    assert (db["storage_encrypted"], db["kms_key_id"]) == (True, "${var.kms_key_arn}")
    assert db["manage_master_user_password"] is True, "no master password in the Terraform state"
    assert "password" not in db
    assert db["deletion_protection"] == "${var.deletion_protection}"
    assert parameters["rds.force_ssl"] == "1"
    # `ddl`/`all` would write Ansible's ALTER ROLE ... PASSWORD '...' to CloudWatch Logs in clear.
    assert parameters["log_statement"] == "none"
    assert [rule["security_groups"] for rule in group["ingress"]] == ["${var.client_security_group_ids}"]
    assert [rule["from_port"] for rule in group["ingress"]] == [5432]
    assert "egress" not in group
    assert egress["content"][0]["from_port"] == 5432
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["mlflow_db"]["client_security_group_ids"] == ["${module.mlflow_host.security_group_id}"]
        assert calls["mlflow_db"]["count"] == "${var.mlflow_rds ? 1 : 0}"
        assert calls["mlflow_db"]["deletion_protection"] == "${local.sizes.protect}"
    assert load_module(ENVS / "prod").variables["mlflow_rds"]["default"] is True
    assert load_module(ENVS / "dev").variables["mlflow_rds"]["default"] is False


# ---------------------------------------------------------------- naming contract


def test_ecs_names_follow_the_contract() -> None:
    ecs = resources(MODULES / "ecs" / "main.tf")
    containers = next(
        body for name, body in blocks(MODULES / "ecs" / "main.tf", "locals") if name == "containers"
    )

    assert ecs[("aws_ecs_cluster", "main")]["name"] == "${var.name_prefix}"
    assert ecs[("aws_ecs_cluster", "main")]["setting"][0] == {"name": "containerInsights", "value": "enabled"}
    assert ecs[("aws_ecs_service", "api")]["name"] == "${var.name_prefix}-api"
    assert ecs[("aws_ecs_service", "worker")]["name"] == "${var.name_prefix}-worker"
    assert ecs[("aws_ecs_task_definition", "main")]["family"] == "${var.name_prefix}-${each.key}"
    assert set(containers) == {"api", "worker", "retrain"}
    assert containers["worker"]["command"] == [
        "fraud",
        "worker",
        "--concurrency",
        "2",
        "--metrics-port",
        "9100",
        "--metrics-host",  # the default is loopback; Prometheus scrapes the task from the VPC
        "0.0.0.0",
    ]
    assert containers["retrain"]["command"] == ["fraud", "retrain", "--reason", "event"]
    assert containers["api"]["ports"] == [8000]
    for service in ("api", "worker"):
        assert "task_definition" in ecs[("aws_ecs_service", service)]["lifecycle"][0]["ignore_changes"]
    assert ecs[("aws_lb_target_group", "api")]["health_check"][0]["path"] == "/readyz"
    assert ecs[("aws_lb_listener", "https")]["protocol"] == "HTTPS"
    metrics = {
        ecs[("aws_appautoscaling_policy", name)]["target_tracking_scaling_policy_configuration"][0][
            "predefined_metric_specification"
        ][0]["predefined_metric_type"]
        for name in ("api_cpu", "api_requests")
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_event_and_lambda_names_follow_the_contract() -> None:
    events_tf = MODULES / "events" / "main.tf"
    events = resources(events_tf)
    rules = next(body for name, body in blocks(events_tf, "locals") if name == "retrain_rules")
    event_variables = load_module(MODULES / "events").variables
    lambda_tf = MODULES / "lambda_drift" / "main.tf"
    function = resources(lambda_tf)[("aws_lambda_function", "drift")]
    lambda_variables = load_module(MODULES / "lambda_drift").variables

    assert events[("aws_cloudwatch_event_bus", "main")]["name"] == "${var.name_prefix}"
    assert set(rules) == {"drift-retrain", "retrain-nightly"}
    assert events[("aws_cloudwatch_event_rule", "retrain")]["name"] == "${var.name_prefix}-${each.key}"
    assert events[("aws_cloudwatch_event_rule", "drift_check")]["name"] == "${var.name_prefix}-drift-check"
    assert event_variables["retrain_schedule"]["default"] == "cron(0 3 * * ? *)"
    assert event_variables["drift_check_schedule"]["default"] == "rate(1 hour)"
    assert '"DriftDetected", "RetrainRequested"' in events_tf.read_text()
    # A roll-back the read-only API hands off runs in the retrain task (the writer), through the same role.
    abort_rule, abort_target = (
        events[(kind, "rollout_abort")]
        for kind in ("aws_cloudwatch_event_rule", "aws_cloudwatch_event_target")
    )
    assert abort_rule["name"] == "${var.name_prefix}-rollout-abort"
    assert '"detail-type" = ["RolloutAbortRequested"]' in events_tf.read_text()
    assert abort_target["role_arn"] == "${aws_iam_role.run_retrain.arn}"
    assert abort_target["ecs_target"][0]["task_definition_arn"] == "${local.retrain_task_definition}"
    evaluate = events[("aws_cloudwatch_event_target", "rollout_evaluate")]
    assert events[("aws_cloudwatch_event_rule", "rollout_evaluate")]["schedule_expression"] == (
        "${var.rollout_evaluation_schedule}"
    )
    assert event_variables["rollout_evaluation_schedule"]["default"] == "rate(15 minutes)"
    assert evaluate["role_arn"] == "${aws_iam_role.run_retrain.arn}"
    assert "local.rollout_evaluate_command" in evaluate["input"]
    # The realised quality (what Prefect's quality-daily runs elsewhere): before, nothing ran it on AWS.
    quality = events[("aws_cloudwatch_event_target", "quality_measure")]
    assert events[("aws_cloudwatch_event_rule", "quality_measure")]["schedule_expression"] == (
        "${var.quality_measure_schedule}"
    )
    assert event_variables["quality_measure_schedule"]["default"] == "cron(30 4 * * ? *)"
    assert quality["role_arn"] == "${aws_iam_role.run_retrain.arn}"
    assert quality["ecs_target"][0]["task_definition_arn"] == "${local.retrain_task_definition}"
    commands = next(body for name, body in blocks(events_tf, "locals") if name == "quality_measure_command")
    assert commands == ["fraud", "quality", "measure"]
    assert "local.quality_measure_command" in quality["input"]
    assert "${var.name_prefix}-drift-check" in lambda_tf.read_text()
    assert function["package_type"] == "Image"
    assert function["image_uri"].endswith("${var.image_tag}-lambda")
    assert lambda_variables["memory_mb"]["default"] == 2048
    assert lambda_variables["timeout_seconds"]["default"] == 300
    # The drift settings of extra_environment reach the Lambda, which alone runs the check on AWS (before,
    # they reached the ECS containers only); its own locations win over them.
    variables = function["environment"][0]["variables"]
    assert variables.startswith("${merge(var.settings, {")
    assert "FRAUD_STORAGE_URI" in variables
    for folder in env_folders():
        call = {name: body for _, name, body, _ in module_calls(folder)}["lambda_drift"]
        assert "var.extra_environment" in call["settings"]
        assert 'startswith(name, "FRAUD_DRIFT_")' in call["settings"]
        assert 'name == "FRAUD_MODEL_NAME"' in call["settings"]


def test_every_domain_event_is_kept_in_an_audit_log_only_its_rule_may_write() -> None:
    """Rollout transitions (with their evidence), drift and retrain requests land in a log group: the
    pattern matches the source the EventBridge publisher stamps on every event."""
    from fraud_detection.infrastructure.aws.eventbridge import EVENT_SOURCE

    events_tf = MODULES / "events" / "main.tf"
    events = resources(events_tf)
    rule, target = (
        events[("aws_cloudwatch_event_rule", "audit")],
        events[("aws_cloudwatch_event_target", "audit")],
    )
    assert rule["event_bus_name"] == "${aws_cloudwatch_event_bus.main.name}"
    assert 'jsonencode({ source = ["fraud-detection"] })' in events_tf.read_text()
    assert EVENT_SOURCE == "fraud-detection"
    assert target["arn"] == "${var.events_log_group_arn}"
    assert (
        "values   = [aws_cloudwatch_event_rule.audit.arn]" in events_tf.read_text()
    )  # only this rule writes
    (policy,) = [body for kind, name, body in typed_blocks(events_tf, "data") if name == "audit_log"]
    conditioned = {tuple(s["actions"]): bool(s.get("condition")) for s in policy["statement"]}
    # the rule's ARN on the writes only: under it, EventBridge's CreateLogStream was seen refused
    assert conditioned == {("logs:CreateLogStream",): False, ("logs:PutLogEvents",): True}
    assert module_locals(MODULES / "observability" / "main.tf")["log_groups"]["events"].startswith(
        "/aws/events/"
    )
    for env in ("dev", "prod"):
        assert (
            'events_log_group_arn    = module.observability.log_group_arns["events"]'
            in (ENVS / env / "main.tf").read_text()
        )


def test_storage_secret_log_and_registry_names_follow_the_contract() -> None:
    storage = (MODULES / "storage" / "main.tf").read_text()
    log_groups = next(
        body for name, body in blocks(MODULES / "observability" / "main.tf", "locals") if name == "log_groups"
    )
    secrets = resources(MODULES / "secrets" / "main.tf")
    ecr = load_module(MODULES / "ecr").variables
    repository = resources(MODULES / "ecr" / "main.tf")[("aws_ecr_repository", "main")]

    for purpose in ("data", "mlflow", "logs"):
        assert f"${{var.name_prefix}}-{purpose}-${{local.account_id}}" in storage
    assert {log_groups[key] for key in ("api", "worker", "retrain", "lambda")} == {
        "/ecs/${var.name_prefix}/api",
        "/ecs/${var.name_prefix}/worker",
        "/ecs/${var.name_prefix}/retrain",
        "/aws/lambda/${var.name_prefix}-drift-check",
    }
    assert (
        secrets[("aws_secretsmanager_secret", "admin_token")]["name"]
        == "fraud/${var.environment}/admin-token"
    )
    assert (
        secrets[("aws_secretsmanager_secret", "mlflow_basic_auth")]["name"]
        == "fraud/${var.environment}/mlflow-basic-auth"
    )
    assert ecr["repository_name"]["default"] == "fraud-detection"
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"][0]["scan_on_push"] is True
    redis = resources(MODULES / "redis" / "main.tf")[("aws_elasticache_replication_group", "redis")]
    assert redis["replication_group_id"] == "${var.name_prefix}-redis"
    assert redis["transit_encryption_enabled"] is True
    host = resources(MODULES / "mlflow_host" / "main.tf")[("aws_instance", "host")]
    assert host["tags"]["Name"] == "${var.name_prefix}-mlflow"


def test_github_roles_follow_the_contract() -> None:
    oidc_tf, deploy_tf = MODULES / "github_oidc" / "main.tf", MODULES / "github_deploy" / "main.tf"

    assert resources(oidc_tf)[("aws_iam_role", "release")]["name"] == "fraud-github-release"
    assert (
        resources(deploy_tf)[("aws_iam_role", "deploy")]["name"] == "fraud-${var.environment}-github-deploy"
    )
    for tf in (oidc_tf, deploy_tf):
        assert module_locals(tf)["oidc_host"] == "token.actions.githubusercontent.com"
    assert "repo:${var.github_repository}:ref:refs/heads/main" in oidc_tf.read_text()
    assert "repo:${var.github_repository}:ref:refs/tags/v*" in oidc_tf.read_text()
    assert "repo:${var.github_repository}:environment:${var.environment}" in deploy_tf.read_text()


def test_terraform_task_definitions_run_the_image_the_deploy_workflow_recorded() -> None:
    """Its revisions used `image_tag`, the first release: an apply changing a setting put every family back on
    that image (the scheduled retrain, rollout evaluation and abort run the latest revision) until the next
    deploy. The deploy workflow records each rolled-out tag; Terraform creates the parameter, never writes
    it again, and reads it back."""
    ecs_tf, deploy_tf = MODULES / "ecs" / "main.tf", MODULES / "github_deploy" / "main.tf"
    parameter = resources(ecs_tf)[("aws_ssm_parameter", "deployed_image_tag")]
    workflow = (REPO / ".github" / "workflows" / "deploy.yml").read_text()

    assert parameter["name"] == "/${var.name_prefix}/deployed-image-tag"
    assert parameter["value"] == "${var.image_tag}"
    assert parameter["lifecycle"][0]["ignore_changes"] == ["value"]
    assert module_locals(ecs_tf)["image"] == (
        "${var.image_repository_url}:${data.aws_ssm_parameter.deployed_image_tag.insecure_value}"
    )
    assert '"/fraud-${DEPLOY_ENV}/deployed-image-tag" --value "${IMAGE_TAG}"' in workflow
    statements = {
        statement["sid"]: statement
        for kind, _, document in typed_blocks(deploy_tf, "data")
        if kind == "aws_iam_policy_document"
        for statement in document.get("statement", [])
        if "sid" in statement
    }
    assert statements["RecordDeployedImage"]["actions"] == ["ssm:PutParameter"]
    assert statements["RecordDeployedImage"]["resources"] == ["${var.image_tag_parameter_arn}"]
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["github_deploy"]["image_tag_parameter_arn"] == (
            "${module.ecs.deployed_image_tag_parameter_arn}"
        )


def test_the_release_role_can_be_applied_before_any_image_exists() -> None:
    """Deploy step 2 applies `-target=module.ecr -target=module.github_oidc` before the first release. A
    target pulls in everything its inputs reference: an input from ECS or the Lambda (whose image does not
    exist yet) would make that apply create them, and fail."""
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        inputs = {key: value for key, value in calls["github_oidc"].items() if not key.startswith("__")}
        references = " ".join(str(value) for key, value in inputs.items() if key != "source")
        assert "module." not in references, f"envs/{folder.name}: github_oidc reads {references}"
        assert "local.ecr_repository_arn" in references
        deploy = calls["github_deploy"]
        assert deploy["oidc_provider_arn"] == "${module.github_oidc.provider_arn}"
        moved = [body for tf in folder.glob("*.tf") for body in parse(tf).get("moved", [])]
        assert {(m["from"].strip("${}"), m["to"].strip("${}")) for m in moved} >= {
            ("module.github_oidc.aws_iam_role.deploy", "module.github_deploy.aws_iam_role.deploy"),
            (
                "module.github_oidc.aws_iam_role_policy.deploy",
                "module.github_deploy.aws_iam_role_policy.deploy",
            ),
        }


def test_envs_name_themselves_and_prod_is_bigger_and_protected() -> None:
    sizes = {}
    for folder in env_folders():
        local = {name: body for tf in folder.glob("*.tf") for name, body in blocks(tf, "locals")}
        variables = load_module(folder).variables
        assert local["environment"] == folder.name
        assert local["name_prefix"] == "fraud-${local.environment}"
        assert variables["aws_region"]["default"] == "eu-west-1"
        sizes[folder.name] = local["sizes"]

    dev, prod = sizes["dev"], sizes["prod"]
    assert prod["api"]["min_count"] >= 2
    assert prod["api"]["cpu"] > dev["api"]["cpu"]
    assert prod["retrain"]["memory"] > dev["retrain"]["memory"]
    assert prod["protect"] is True
    assert dev["protect"] is False
    assert prod["log_retention_days"] > dev["log_retention_days"]
    assert prod["force_destroy_store"] is False


# ---------------------------------------------------------------- security findings (MLflow identities, TLS,
# ingress, WAF, CI trust, retention, internal paths)


def trust_conditions(path: Path, document: str) -> dict[str, tuple[str, list[str]]]:
    """{claim: (test, values)} of the one statement of an `aws_iam_policy_document` trust policy."""
    documents = {
        name: body for kind, name, body in typed_blocks(path, "data") if kind == "aws_iam_policy_document"
    }
    (statement,) = documents[document]["statement"]
    conditions = {}
    for condition in statement["condition"]:
        claim = condition["variable"].split(":", 1)[1]
        conditions[claim] = (condition["test"], condition["values"])
    return conditions


def test_api_and_workers_read_mlflow_with_the_reader_and_only_retrain_writes() -> None:
    ecs_tf = MODULES / "ecs" / "main.tf"
    local = module_locals(ecs_tf)
    containers = local["containers"]
    execution = {
        body["sid"]: body
        for kind, name, body in typed_blocks(ecs_tf, "data")
        if kind == "aws_iam_policy_document" and name == "execution"
        for body in body["statement"]
    }
    secrets = resources(MODULES / "secrets" / "main.tf")

    assert set(local["mlflow_reader_secrets"].values()) == {
        "${var.mlflow_reader_secret_arn}:username::",
        "${var.mlflow_reader_secret_arn}:password::",
    }
    assert set(local["mlflow_writer_secrets"].values()) == {
        "${var.mlflow_basic_auth_secret_arn}:username::",
        "${var.mlflow_basic_auth_secret_arn}:password::",
    }
    for reader in ("api", "worker"):
        assert "local.mlflow_reader_secrets" in containers[reader]["secrets"], reader
        assert "mlflow_writer" not in containers[reader]["secrets"], (
            f"{reader} must not get the MLflow writer"
        )
    assert "local.mlflow_writer_secrets" in containers["retrain"]["secrets"]
    assert "mlflow_reader" not in containers["retrain"]["secrets"]
    assert "${var.mlflow_reader_secret_arn}" in execution["ReadOwnSecrets"]["resources"]
    assert (
        secrets[("aws_secretsmanager_secret", "mlflow_reader")]["name"]
        == "fraud/${var.environment}/mlflow-reader"
    )
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["ecs"]["mlflow_reader_secret_arn"] == "${module.secrets.mlflow_reader_secret_arn}"
        assert (
            calls["ecs"]["mlflow_basic_auth_secret_arn"] == "${module.secrets.mlflow_basic_auth_secret_arn}"
        )


def test_only_the_api_reads_its_clients_document_from_secrets_manager() -> None:
    ecs_tf = MODULES / "ecs" / "main.tf"
    ecs = resources(ecs_tf)
    local = module_locals(ecs_tf)
    documents = {
        name: body for kind, name, body in typed_blocks(ecs_tf, "data") if kind == "aws_iam_policy_document"
    }
    secrets = resources(MODULES / "secrets" / "main.tf")

    assert (
        local["container_environment"]["api"]["FRAUD_API_CLIENTS_SECRET"] == "${var.api_clients_secret_arn}"
    )
    assert local["container_environment"]["worker"] == {}
    assert local["container_environment"]["retrain"] == {}
    assert ecs[("aws_iam_role_policy", "api_clients")]["role"] == '${aws_iam_role.task["api"].id}'
    (read, _decrypt) = documents["api_clients"]["statement"]
    assert read["actions"] == ["secretsmanager:GetSecretValue"]
    assert read["resources"] == ["${var.api_clients_secret_arn}"]
    assert "secretsmanager" not in json.dumps(documents["task"]), "other tasks read no secret themselves"
    assert (
        secrets[("aws_secretsmanager_secret", "api_clients")]["name"]
        == "fraud/${var.environment}/api-clients"
    )
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["ecs"]["api_clients_secret_arn"] == "${module.secrets.api_clients_secret_arn}"


def test_the_api_bounds_its_rollout_evidence_by_its_task_memory() -> None:
    """FRAUD_ROLLOUT_STATUS_MAX_ROWS follows the API task's memory unless extra_environment sets it; only the
    API gathers evidence next to its traffic, so only it is bounded (the retrain task reads everything)."""
    from fraud_detection.settings import Settings

    ecs_tf = MODULES / "ecs" / "main.tf"
    local = module_locals(ecs_tf)
    api = local["container_environment"]["api"]
    api_variable = load_module(MODULES / "ecs").variables["api"]

    assert "rollout_status_max_rows" in Settings.model_fields  # the variable names a real setting
    assert api["FRAUD_ROLLOUT_STATUS_MAX_ROWS"] == (
        '${lookup(var.extra_environment, "FRAUD_ROLLOUT_STATUS_MAX_ROWS", tostring(local.status_max_rows))}'
    )
    assert local["status_max_rows"] == "${floor((var.api.memory - 600) * 0.75 * 1048576 / 112)}"
    assert any("var.api.memory >= 1024" in rule["condition"] for rule in api_variable["validation"])
    for key in ("worker", "retrain"):
        assert "FRAUD_ROLLOUT_STATUS_MAX_ROWS" not in local["container_environment"][key]
    for env in ("dev", "prod"):  # the evidence fits beside the API's own 600 MiB, with a quarter to spare
        memory = module_locals(ENVS / env / "main.tf")["sizes"]["api"]["memory"]
        rows = (memory - 600) * 0.75 * 2**20 // 112
        assert rows >= 1_000_000, env  # a day of shadow at 500,000 scorings (two captured rows each)
        assert 600 * 2**20 + rows * 112 <= 0.9 * memory * 2**20, env


INSECURE_TLS_SETTING = re.compile(r"MLFLOW_TRACKING_INSECURE_TLS[\"']?\s*[:=]")


def deployment_files() -> list[Path]:
    """Every file that configures a deployment: Terraform, Ansible, the workflows, the compose stack."""
    files = [path for path in (REPO / "deploy").rglob("*") if path.is_file()]
    files += sorted((REPO / ".github" / "workflows").glob("*.yml"))
    files += sorted(REPO.glob("docker-compose*.y*ml")) + sorted(REPO.glob("compose*.y*ml"))
    return [path for path in files if ".cache" not in path.parts]


def test_the_insecure_tls_detector_finds_every_spelling() -> None:
    assert INSECURE_TLS_SETTING.search('MLFLOW_TRACKING_INSECURE_TLS     = var.x ? "true" : "false"')
    assert INSECURE_TLS_SETTING.search("MLFLOW_TRACKING_INSECURE_TLS: 'true'")
    assert INSECURE_TLS_SETTING.search("export MLFLOW_TRACKING_INSECURE_TLS=true")
    assert INSECURE_TLS_SETTING.search('{"MLFLOW_TRACKING_INSECURE_TLS": "true"}')
    assert not INSECURE_TLS_SETTING.search('contains(names, "MLFLOW_TRACKING_INSECURE_TLS")')


def test_nothing_turns_tls_verification_towards_mlflow_off() -> None:
    files = deployment_files()
    settings = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if INSECURE_TLS_SETTING.search(line)
    ]
    variables = [
        f"{folder.relative_to(TERRAFORM)}: {name}"
        for folder in [*(MODULES / key for key in EXPECTED_MODULES), *env_folders()]
        for name in load_module(folder).variables
        if "insecure" in name
    ]
    extra = load_module(MODULES / "ecs").variables["extra_environment"]

    assert len(files) > 40
    assert settings == [], "MLFLOW_TRACKING_INSECURE_TLS is set somewhere:\n" + "\n".join(settings)
    assert variables == [], f"variables that switch TLS verification off: {variables}"
    assert any("MLFLOW_TRACKING_INSECURE_TLS" in rule["condition"] for rule in extra["validation"]), (
        "extra_environment must refuse MLFLOW_TRACKING_INSECURE_TLS"
    )


def test_alb_ingress_is_a_required_input_and_public_ingress_is_opt_in() -> None:
    group = resources(MODULES / "ecs" / "main.tf")[("aws_security_group", "alb")]
    (precondition,) = group["lifecycle"][0]["precondition"]

    for folder in env_folders():
        variables = load_module(folder).variables
        assert "default" not in variables["alb_ingress_cidrs"], (
            f"envs/{folder.name}: alb_ingress_cidrs has a default"
        )
        assert variables["alb_ingress_cidrs"]["validation"], (
            f"envs/{folder.name}: alb_ingress_cidrs unchecked"
        )
        assert variables["allow_public_ingress"]["default"] is False
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["ecs"]["allow_public_ingress"] == "${var.allow_public_ingress}"
        example = (folder / "terraform.tfvars.example").read_text()
        (line,) = [line for line in example.splitlines() if line.startswith("alb_ingress_cidrs")]
        assert "0.0.0.0/0" not in line.split("#")[0], f"envs/{folder.name}: the example opens the API to all"
    assert "default" not in load_module(MODULES / "ecs").variables["alb_ingress_cidrs"]
    assert precondition["condition"].startswith("${var.allow_public_ingress ||")
    assert ">= 8" in precondition["condition"], "0.0.0.0/0 and other ranges wider than /8 need the opt-in"
    assert group["ingress"][0]["cidr_blocks"] == "${var.alb_ingress_cidrs}"


def test_a_waf_web_acl_with_a_rate_limit_guards_the_load_balancer() -> None:
    waf = resources(MODULES / "ecs" / "waf.tf")
    acl = waf[("aws_wafv2_web_acl", "api")]
    rules = {rule["name"]: rule for rule in acl["rule"]}
    logging = waf[("aws_wafv2_web_acl_logging_configuration", "api")]
    log_groups = module_locals(MODULES / "observability" / "main.tf")["log_groups"]

    assert acl["scope"] == "REGIONAL"
    rate = rules["rate-limit-per-ip"]["statement"][0]["rate_based_statement"][0]
    assert rate == {"limit": "${local.waf_rate_limit}", "aggregate_key_type": "IP"}
    # By default one client may use the API's scaled capacity (a fixed 66 requests/s throttled a gateway's
    # single egress IP at 40% of prod's ceiling).
    assert module_locals(MODULES / "ecs" / "waf.tf")["waf_rate_limit"] == (
        "${coalesce(var.waf_rate_limit, var.api.max_count * var.api.requests_per_target * 5)}"
    )
    assert "block" in rules["rate-limit-per-ip"]["action"][0]
    assert waf[("aws_wafv2_web_acl_association", "api")] == {
        "resource_arn": "${aws_lb.api.arn}",
        "web_acl_arn": "${aws_wafv2_web_acl.api.arn}",
    }
    assert logging["redacted_fields"][0]["single_header"][0]["name"] == "authorization"
    assert logging["log_destination_configs"] == ['${var.log_group_arns["waf"]}']
    assert log_groups["waf"].startswith("aws-waf-logs-")
    assert "default" in load_module(MODULES / "ecs").variables["waf_rate_limit"]
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["ecs"]["waf_rate_limit"] == "${var.waf_rate_limit}"
    assert not any(check == "CKV2_AWS_28" for _, check in skip_comments()), "the ALB has its WAF now"


def test_docs_openapi_and_metrics_are_not_served_through_the_load_balancer() -> None:
    ecs_tf = MODULES / "ecs" / "main.tf"
    ecs = resources(ecs_tf)
    local = module_locals(ecs_tf)
    rule = ecs[("aws_lb_listener_rule", "hide_internal_paths")]
    waf_rule = next(
        rule
        for rule in resources(MODULES / "ecs" / "waf.tf")[("aws_wafv2_web_acl", "api")]["rule"]
        if rule["name"] == "internal-paths"
    )
    tasks = ecs[("aws_security_group", "tasks")]

    assert set(local["internal_paths"]) >= {"/docs", "/redoc", "/openapi.json", "/metrics"}
    assert local["internal_path_patterns"] == '${[for path in local.internal_paths : "${path}*"]}'
    assert rule["listener_arn"] == "${aws_lb_listener.https.arn}"
    assert rule["action"][0]["type"] == "fixed-response"
    assert rule["action"][0]["fixed_response"][0]["status_code"] == "404"
    assert rule["condition"][0]["path_pattern"][0]["values"] == "${local.internal_path_patterns}"
    assert waf_rule["action"][0]["block"][0]["custom_response"][0]["response_code"] == 404
    match = waf_rule["statement"][0]["or_statement"][0]["dynamic"][0]["statement"]
    assert match["for_each"] == "${local.internal_paths}"
    transformations = {
        item["type"] for item in match["content"][0]["byte_match_statement"][0]["text_transformation"]
    }
    assert transformations == {"URL_DECODE", "NORMALIZE_PATH"}
    # Prometheus reaches /metrics on the tasks from inside the VPC only, from the scrapers' security groups.
    (scrape,) = tasks["dynamic"]
    assert scrape["ingress"]["content"][0]["security_groups"] == "${var.metrics_scraper_sg_ids}"
    assert all("cidr_blocks" not in rule for rule in tasks["ingress"])


def test_captured_predictions_expire_after_the_retention_variable() -> None:
    storage_tf = MODULES / "storage" / "main.tf"
    local = module_locals(storage_tf)
    data = {name: body for _, name, body, _ in module_calls(MODULES / "storage")}["data"]
    variables = load_module(MODULES / "storage").variables
    bucket = resources(MODULES / "storage" / "bucket" / "main.tf")[
        ("aws_s3_bucket_lifecycle_configuration", "this")
    ]
    prefix_rule = bucket["dynamic"][0]["rule"]
    dynamic_blocks = {name for block in prefix_rule["content"][0]["dynamic"] for name in block}
    # The prediction log writes under FRAUD_STORAGE_URI (s3://<data bucket>/fraud) + its prefix.
    storage_uri = module_locals(MODULES / "ecs" / "main.tf")["environment"]
    app_prefix = re.search(
        r'prefix: str = "(\w+)"',
        (REPO / "src/fraud_detection/infrastructure/arrow/prediction_log/parquet_log.py").read_text(),
    )

    assert app_prefix, "the prediction log's default prefix moved: update the lifecycle rule"
    assert "s3://${var.data_bucket_name}/fraud" in str(storage_uri)
    assert local["predictions_prefix"] == f"fraud/{app_prefix[1]}/"
    # A rollout's dark scores: before, they never expired on S3.
    assert local["shadow_prefix"] == f"fraud/{SHADOW_CAPTURE_PREFIX}/"
    assert data["expiry_days_by_prefix"] == {
        "${(local.predictions_prefix)}": "${var.predictions_retention_days}",
        "${(local.shadow_prefix)}": "${var.predictions_retention_days}",
    }
    assert variables["predictions_retention_days"]["default"] == 90
    assert prefix_rule["for_each"] == "${local.prefix_rules}"
    assert {"expiration", "noncurrent_version_expiration", "transition"} <= dynamic_blocks
    # Compaction deletes capture files hourly: their delete markers go once no version is left.
    markers = bucket["dynamic"][1]["rule"]
    assert "rules.expiry_days != null" in markers["for_each"]
    assert markers["content"][0]["expiration"] == [{"expired_object_delete_marker": True}]
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["storage"]["predictions_retention_days"] == "${var.predictions_retention_days}"
        assert load_module(folder).variables["predictions_retention_days"]["default"] == 90


def test_batch_jobs_are_confined_to_their_roots_in_the_task_settings_and_iam() -> None:
    """The app refuses roots that overlap its store; the task roles may read inputs and create outputs
    under those roots only, and never delete there (outputs are created, not replaced)."""
    environment = str(module_locals(MODULES / "ecs" / "main.tf")["environment"])  # merge(...) as text
    settings = dict(re.findall(r'(FRAUD_\w+) = "([^"]*)"', environment))
    inputs, outputs = settings["FRAUD_BATCH_INPUT_ROOTS"], settings["FRAUD_BATCH_OUTPUT_ROOTS"]
    store = settings["FRAUD_STORAGE_URI"]
    assert inputs.endswith("/batch/in")
    assert outputs.endswith("/batch/out")
    assert not inputs.startswith(store)
    assert not outputs.startswith(store)
    statements = {
        body.get("sid"): body
        for path, _, body in policy_statements()
        if path == MODULES / "ecs" / "main.tf" and body.get("sid")
    }
    assert statements["ReadBatchInputs"]["actions"] == ["s3:GetObject"]
    assert statements["ReadBatchInputs"]["resources"] == ["${var.data_bucket_arn}/batch/in/*"]
    assert "s3:DeleteObject" not in statements["WriteBatchOutputs"]["actions"]
    assert statements["WriteBatchOutputs"]["resources"] == ["${var.data_bucket_arn}/batch/out/*"]


def test_ci_roles_trust_only_their_workflow_file_and_refs() -> None:
    oidc_tf, deploy_tf = MODULES / "github_oidc" / "main.tf", MODULES / "github_deploy" / "main.tf"
    release = trust_conditions(oidc_tf, "release_trust")
    deploy = trust_conditions(deploy_tf, "deploy_trust")
    workflows = REPO / ".github" / "workflows"

    assert (
        module_locals(oidc_tf)["release_workflow"] == "${var.github_repository}/.github/workflows/release.yml"
    )
    assert (
        module_locals(deploy_tf)["deploy_workflow"] == "${var.github_repository}/.github/workflows/deploy.yml"
    )
    assert (workflows / "release.yml").is_file()
    assert (workflows / "deploy.yml").is_file()
    assert release["aud"] == ("StringEquals", ["sts.amazonaws.com"])
    assert release["sub"] == (
        "StringLike",
        [
            "repo:${var.github_repository}:ref:refs/heads/main",
            "repo:${var.github_repository}:ref:refs/tags/v*",
        ],
    )
    assert release["job_workflow_ref"] == (
        "StringLike",
        ["${local.release_workflow}@refs/heads/main", "${local.release_workflow}@refs/tags/v*"],
    )
    assert deploy["aud"] == ("StringEquals", ["sts.amazonaws.com"])
    assert deploy["sub"] == ("StringEquals", ["repo:${var.github_repository}:environment:${var.environment}"])
    assert deploy["job_workflow_ref"] == ("StringEquals", ["${local.deploy_workflow}@refs/heads/main"])
    for test, _ in [*release.values(), *deploy.values()]:
        assert not test.endswith("IfExists"), test
        assert not test.startswith("ForAllValues"), test


# ---------------------------------------------------------------- checkov


def skip_comments() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for tf in sorted(TERRAFORM.rglob("*.tf")):
        for check, reason in SKIP_COMMENT.findall(tf.read_text()):
            found[(tf.relative_to(TERRAFORM).as_posix(), check)] = reason.strip()
    return found


def test_every_checkov_skip_is_allowed_and_has_a_reason() -> None:
    found = skip_comments()

    new, stale = sorted(set(found) - set(ALLOWED_SKIPS)), sorted(set(ALLOWED_SKIPS) - set(found))
    assert not new, f"skips missing from ALLOWED_SKIPS: {new}"
    assert not stale, f"ALLOWED_SKIPS lists skips no longer in the code: {stale}"
    for key, reason in found.items():
        assert len(reason) >= 20, f"{key}: the skip needs a real reason"


@pytest.fixture(scope="module")
def checkov_report() -> list[dict[str, Any]]:
    if not CHECKOV.is_file():
        pytest.skip(f"checkov is not installed at {CHECKOV} (make tools)")
    command = [str(CHECKOV), "-d", str(TERRAFORM), "--quiet", "--compact", "--framework", "terraform"]
    command += ["--download-external-modules", "false", "--skip-download", "--output", "json"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert finished.stdout.strip(), f"checkov printed nothing: {finished.stderr[-2000:]}"
    report = json.loads(finished.stdout)
    return report if isinstance(report, list) else [report]


@pytest.mark.slow
def test_checkov_reports_no_failed_check(checkov_report: list[dict[str, Any]]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in checkov_report
        for check in report.get("results", {}).get("failed_checks", [])
    ]

    assert checkov_report, "checkov returned no report"
    assert not failed, "\n".join(failed)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform here; CI's terraform job runs it")
def test_the_terraform_files_are_formatted_as_ci_checks_them():
    """CI runs `terraform fmt -check -recursive` first: a misaligned `=` failed every push (7866bda)."""
    checked = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"TF_CLI_CONFIG_FILE": os.devnull},
    )
    assert checked.returncode == 0, f"not formatted (run `terraform fmt -recursive`):\n{checked.stdout}"
