# One customer-managed key per environment encrypts the logs, the buckets, the secrets, the queue and the
# Lambda environment: one key policy to review, one rotation schedule, and revoking it cuts off everything.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  log_groups = {
    api     = "/ecs/${var.name_prefix}/api"
    worker  = "/ecs/${var.name_prefix}/worker"
    retrain = "/ecs/${var.name_prefix}/retrain"
    lambda  = "/aws/lambda/${var.name_prefix}-drift-check"
    vpc     = "/vpc/${var.name_prefix}/flow-logs"
    waf     = "aws-waf-logs-${var.name_prefix}"              # WAF accepts only groups named aws-waf-logs-*
    events  = "/aws/events/${var.name_prefix}/domain-events" # EventBridge log targets live under /aws/events/
  }
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:Key policy: "*" resource means this key; the root statement delegates to IAM policies.
  #checkov:skip=CKV_AWS_356:Key policy: "*" resource means this key, not every resource.
  #checkov:skip=CKV_AWS_109:Key policy: account root must administer the key or it becomes unmanageable.
  # The account root delegates to IAM: roles get key use only through their own policies.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsThisEnvironmentsGroups"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${local.account_id}:log-group:*"]
    }
  }

  # EventBridge writes undeliverable events to the encrypted dead-letter queues, and it and CloudWatch
  # alarms publish to the encrypted alarms topic: each needs a data key. AWS documents this grant for
  # service publishers without a condition (a condition the service does not send would drop every
  # message, silently); who may write is decided by the queue and topic policies, which admit only this
  # environment's rules and alarms.
  statement {
    sid       = "EventsAndAlarmsWriteTheEncryptedQueuesAndTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "main" {
  description             = "${var.name_prefix}: logs, buckets, secrets, queues"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.main.key_id
}

resource "aws_cloudwatch_log_group" "main" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable: dev keeps 30 days on purpose (cost), prod 365.
  for_each = local.log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}
