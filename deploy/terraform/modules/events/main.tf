# The event bus of the domain events and the rules of the contract. Schedule expressions work only on the
# account's default bus, so the scheduled rules live there; the event-pattern rules on fraud-<env>.
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  rollout_evaluate_command = ["fraud", "rollout", "evaluate", "--if-active"]
  quality_measure_command  = ["fraud", "quality", "measure"]
  # Without a revision, EventBridge runs the family's latest ACTIVE revision: deploys need no rule change.
  retrain_task_definition = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:task-definition/${var.retrain_task_family}"
  retrain_rules = {
    drift-retrain = {
      bus      = aws_cloudwatch_event_bus.main.name
      pattern  = jsonencode({ source = ["fraud-detection"], "detail-type" = ["DriftDetected", "RetrainRequested"] })
      schedule = null
    }
    retrain-nightly = {
      bus      = "default"
      pattern  = null
      schedule = var.retrain_schedule
    }
  }
}

resource "aws_cloudwatch_event_bus" "main" {
  name = var.name_prefix
}

# Where an event goes when its target still refuses it after the retries (RunTask failing for want of
# capacity or a broken task definition, a Lambda that cannot be invoked): without it a retraining or a
# roll-back request would vanish without a trace. Every target of this module sends there; the alarms
# module pages on its depth. EventBridge writes it only for this environment's rules.
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name_prefix}-events-dlq"
  kms_master_key_id         = var.kms_key_arn
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time to read what was lost
}

data "aws_iam_policy_document" "dead_letter" {
  statement {
    sid       = "RulesOfThisEnvironmentOnly"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      # Rules on the default bus are rule/<name>, rules on a custom bus rule/<bus>/<name>.
      values = [
        "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/${var.name_prefix}-*",
        "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/${var.name_prefix}/*",
      ]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter.json
}

resource "aws_cloudwatch_event_rule" "retrain" {
  for_each = local.retrain_rules

  name                = "${var.name_prefix}-${each.key}"
  description         = "Start ${var.retrain_task_family} (${each.key})"
  event_bus_name      = each.value.bus
  event_pattern       = each.value.pattern
  schedule_expression = each.value.schedule
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "run_retrain" {
  name               = "${var.name_prefix}-events-run-retrain"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "run_retrain" {
  statement {
    sid       = "RunRetrainTaskOnly"
    actions   = ["ecs:RunTask"]
    resources = [local.retrain_task_definition, "${local.retrain_task_definition}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    sid       = "PassRetrainRolesOnly"
    actions   = ["iam:PassRole"]
    resources = var.retrain_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "run_retrain" {
  name   = "run-retrain-task"
  role   = aws_iam_role.run_retrain.id
  policy = data.aws_iam_policy_document.run_retrain.json
}

resource "aws_cloudwatch_event_target" "retrain" {
  for_each = aws_cloudwatch_event_rule.retrain

  rule           = each.value.name
  event_bus_name = each.value.event_bus_name
  target_id      = "retrain"
  arn            = var.cluster_arn
  role_arn       = aws_iam_role.run_retrain.arn

  ecs_target {
    task_definition_arn = local.retrain_task_definition
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"

    network_configuration {
      subnets          = var.private_subnet_ids
      security_groups  = [var.tasks_security_group_id]
      assign_public_ip = false
    }
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

# A roll-back the API cannot write (it reads the registry only) comes as RolloutAbortRequested; the retrain
# task definition, which holds the writer identity, applies it: `fraud rollout abort --version V`, so a
# request applied late never ends a newer rollout. The reason is inserted unquoted, as a JSON string that
# EventBridge escapes; the version quoted, because container commands are strings.
resource "aws_cloudwatch_event_rule" "rollout_abort" {
  name           = "${var.name_prefix}-rollout-abort"
  description    = "Roll back a rollout in ${var.retrain_task_family} (RolloutAbortRequested)"
  event_bus_name = aws_cloudwatch_event_bus.main.name
  event_pattern  = jsonencode({ source = ["fraud-detection"], "detail-type" = ["RolloutAbortRequested"] })
}

resource "aws_cloudwatch_event_target" "rollout_abort" {
  rule           = aws_cloudwatch_event_rule.rollout_abort.name
  event_bus_name = aws_cloudwatch_event_bus.main.name
  target_id      = "rollout-abort"
  arn            = var.cluster_arn
  role_arn       = aws_iam_role.run_retrain.arn

  ecs_target {
    task_definition_arn = local.retrain_task_definition
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"

    network_configuration {
      subnets          = var.private_subnet_ids
      security_groups  = [var.tasks_security_group_id]
      assign_public_ip = false
    }
  }

  input_transformer {
    input_paths = {
      reason  = "$.detail.reason"
      version = "$.detail.version"
    }
    input_template = <<-EOT
      {"containerOverrides": [{"name": "retrain", "command": ["fraud", "rollout", "abort", "--version", "<version>", "--reason", <reason>]}]}
    EOT
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

# The rollout's evaluation by the policy (advance, roll back on harm, hold) on a schedule, also in the retrain
# task definition: it writes the rollout state, which only the writer identity may. `--if-active`: without a
# rollout the task says so and exits 0. The task's own size (a minute's start each time; see the README).
resource "aws_cloudwatch_event_rule" "rollout_evaluate" {
  name                = "${var.name_prefix}-rollout-evaluate"
  description         = "Evaluate the active rollout in ${var.retrain_task_family}"
  schedule_expression = var.rollout_evaluation_schedule
}

resource "aws_cloudwatch_event_target" "rollout_evaluate" {
  rule      = aws_cloudwatch_event_rule.rollout_evaluate.name
  target_id = "rollout-evaluate"
  arn       = var.cluster_arn
  role_arn  = aws_iam_role.run_retrain.arn
  input     = jsonencode({ containerOverrides = [{ name = "retrain", command = local.rollout_evaluate_command }] })

  ecs_target {
    task_definition_arn = local.retrain_task_definition
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"

    network_configuration {
      subnets          = var.private_subnet_ids
      security_groups  = [var.tasks_security_group_id]
      assign_public_ip = false
    }
  }

  # An evaluation not started within one period is superseded by the next one: no backlog of stale starts.
  retry_policy {
    maximum_event_age_in_seconds = 900
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

# The realised precision and recall of the served decisions (`fraud quality measure`, what Prefect's
# `quality-daily` runs off AWS), daily in the retrain task definition (it reads the labels in Redis and the
# captured rows, and writes quality/). Without it nothing wrote quality/latest.json on AWS: the realised
# metrics, their alert and the drift check's realised evidence stayed empty.
resource "aws_cloudwatch_event_rule" "quality_measure" {
  name                = "${var.name_prefix}-quality-measure"
  description         = "Measure the realised quality in ${var.retrain_task_family}"
  schedule_expression = var.quality_measure_schedule
}

resource "aws_cloudwatch_event_target" "quality_measure" {
  rule      = aws_cloudwatch_event_rule.quality_measure.name
  target_id = "quality-measure"
  arn       = var.cluster_arn
  role_arn  = aws_iam_role.run_retrain.arn
  input     = jsonencode({ containerOverrides = [{ name = "retrain", command = local.quality_measure_command }] })

  ecs_target {
    task_definition_arn = local.retrain_task_definition
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"

    network_configuration {
      subnets          = var.private_subnet_ids
      security_groups  = [var.tasks_security_group_id]
      assign_public_ip = false
    }
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_cloudwatch_event_rule" "drift_check" {
  name                = "${var.name_prefix}-drift-check"
  description         = "Run the drift check Lambda"
  schedule_expression = var.drift_check_schedule
}

resource "aws_cloudwatch_event_target" "drift_check" {
  rule      = aws_cloudwatch_event_rule.drift_check.name
  target_id = "drift-check"
  arn       = var.drift_function_arn

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "drift_check" {
  statement_id  = "AllowEventBridgeDriftCheck"
  action        = "lambda:InvokeFunction"
  function_name = var.drift_function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.drift_check.arn
}

# Audit trail: every domain event on the bus (DriftDetected, RetrainRequested, RolloutTransitioned with its
# evidence, ...) is written to the environment's encrypted log group, so a rollout's transitions and the
# reasons for a retrain can be read back without the registry. The log group's resource policy lets only
# this rule write to it.
resource "aws_cloudwatch_event_rule" "audit" {
  name           = "${var.name_prefix}-domain-events-audit"
  description    = "Log every domain event of ${var.name_prefix} (rollout transitions, drift, retrain requests)"
  event_bus_name = aws_cloudwatch_event_bus.main.name
  event_pattern  = jsonencode({ source = ["fraud-detection"] })
}

resource "aws_cloudwatch_event_target" "audit" {
  rule           = aws_cloudwatch_event_rule.audit.name
  event_bus_name = aws_cloudwatch_event_bus.main.name
  target_id      = "audit-log"
  arn            = var.events_log_group_arn

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

# The rule's ARN conditions the writes only, as aws-samples' serverless-patterns came to after EventBridge's
# CreateLogStream was refused under that condition (then no event is written: each lands in the dead-letter
# queue). Not verifiable without an AWS account; a stream's creation alone writes no event.
data "aws_iam_policy_document" "audit_log" {
  statement {
    sid       = "EventBridgeCreatesTheAuditLogStreams"
    actions   = ["logs:CreateLogStream"]
    resources = ["${var.events_log_group_arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
  }

  statement {
    sid       = "OnlyTheAuditRuleWritesEvents"
    actions   = ["logs:PutLogEvents"]
    resources = ["${var.events_log_group_arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.audit.arn]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "audit" {
  policy_name     = "${var.name_prefix}-domain-events-audit"
  policy_document = data.aws_iam_policy_document.audit_log.json
}
