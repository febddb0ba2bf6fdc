# Notifications for what the Prometheus rules in observability/ cannot see from the API's /metrics: an event
# no target took (a retraining, a roll-back, a drift check lost), a task of the retrain family that failed, a
# deploy the circuit breaker rolled back, a service that cannot start tasks, no healthy API task behind the
# load balancer or errors it answers itself, the MLflow host failing its status checks, Redis or a task
# filling up. Everything goes to one encrypted SNS topic: mail addresses subscribe here, a pager or chat
# integration to its ARN.
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  arn_head = "arn:${data.aws_partition.current.partition}"
  region   = data.aws_region.current.name
  account  = data.aws_caller_identity.current.account_id

  # Each rule matches the ECS event in patterns/<rule>.json.tftpl and sends messages/<rule>.json.tftpl: a
  # JSON document whose unquoted <placeholders> EventBridge fills with the values at `paths`, each inserted
  # as JSON. Inside quotes it would insert them unescaped (a quote in a reason would break the message), and
  # a path the event lacks leaves a placeholder behind: every path must exist in every event its rule
  # matches, hence a rule for tasks that failed and another for tasks that never started (no exit code).
  # ECS sends its events to the default bus.
  notifications = {
    retrain-task-failed = {
      description = "A task of ${var.retrain_task_family} (retrain, rollout evaluate or abort, quality measure) exited non-zero"
      paths = {
        task      = "$.detail.taskArn"
        exit_code = "$.detail.containers[0].exitCode"
        stop_code = "$.detail.stopCode"
        reason    = "$.detail.stoppedReason"
      }
    }
    retrain-task-not-started = {
      description = "A task of ${var.retrain_task_family} never started"
      paths = {
        task      = "$.detail.taskArn"
        stop_code = "$.detail.stopCode"
        reason    = "$.detail.stoppedReason"
      }
    }
    service-deployment-failed = {
      description = "A deployment of the API or worker service failed and was rolled back"
      paths = {
        service    = "$.resources[0]"
        deployment = "$.detail.deploymentId"
        reason     = "$.detail.reason"
      }
    }
    service-tasks-not-starting = {
      description = "The API or worker service cannot start its tasks"
      paths = {
        service = "$.resources[0]"
      }
    }
  }
  template_values = {
    name_prefix            = var.name_prefix
    retrain_task_family    = var.retrain_task_family
    cluster_arn            = var.cluster_arn
    task_definition_prefix = "${local.arn_head}:ecs:${local.region}:${local.account}:task-definition/${var.retrain_task_family}:"
    service_arns           = values(var.service_arns)
  }
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "AlarmsOfThisEnvironment"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.arn_head}:cloudwatch:${local.region}:${local.account}:alarm:${var.name_prefix}-*"]
    }
  }

  statement {
    sid       = "NotificationRulesOfThisModule"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.notify : rule.arn]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.notification_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email" # each address confirms by mail before it receives anything
  endpoint  = each.value
}

# ---------------------------------------------------------------- ECS events -> the topic

resource "aws_cloudwatch_event_rule" "notify" {
  for_each = local.notifications

  name          = "${var.name_prefix}-${each.key}"
  description   = each.value.description
  event_pattern = templatefile("${path.module}/patterns/${each.key}.json.tftpl", local.template_values)
}

resource "aws_cloudwatch_event_target" "notify" {
  for_each = local.notifications

  rule      = aws_cloudwatch_event_rule.notify[each.key].name
  target_id = "alarms-topic"
  arn       = aws_sns_topic.alarms.arn

  input_transformer {
    input_paths    = each.value.paths
    input_template = templatefile("${path.module}/messages/${each.key}.json.tftpl", local.template_values)
  }

  dead_letter_config {
    arn = var.dead_letter_queue_arn
  }
}

# ---------------------------------------------------------------- CloudWatch alarms -> the topic

# A message in a dead-letter queue is a request that never ran: a retraining, a roll-back, a rollout
# evaluation, a drift check or a notification. SQS stops reporting an idle queue's metrics, hence
# notBreaching on missing data.
resource "aws_cloudwatch_metric_alarm" "dead_letter" {
  for_each = var.dead_letter_queues

  alarm_name          = "${var.name_prefix}-${each.key}-dead-letter"
  alarm_description   = "${each.value}: a request no target took after its retries. Read it (aws sqs receive-message) and redo it by hand; see deploy/terraform/README.md."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# No healthy task behind the load balancer: every call fails, and Prometheus, scraping the tasks, may see
# nothing at all. Missing data means no target reported: breaching.
resource "aws_cloudwatch_metric_alarm" "api_no_healthy_task" {
  alarm_name          = "${var.name_prefix}-api-no-healthy-task"
  alarm_description   = "No API task passes the /readyz health check: the load balancer answers 503 to every call."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# The share of calls answered 5xx, by the load balancer itself (502/503/504: tasks crashing, none healthy,
# timeouts, which the API never counts) or by the API. Below 20 calls in 5 minutes a few errors are not a
# rate: the expression gives 0.
resource "aws_cloudwatch_metric_alarm" "api_errors" {
  alarm_name          = "${var.name_prefix}-api-5xx"
  alarm_description   = "More than ${var.error_rate_percent}% of the API's calls answered 5xx over 5 minutes, in 2 of the last 3 windows (load balancer or API)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_rate_percent
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "error_percent"
    expression  = "IF(requests >= 20, 100 * (FILL(balancer_5xx, 0) + FILL(api_5xx, 0)) / requests, 0)"
    label       = "5xx answers (% of calls)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = {
      requests     = "RequestCount"
      balancer_5xx = "HTTPCode_ELB_5XX_Count"
      api_5xx      = "HTTPCode_Target_5XX_Count"
    }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = metric_query.value
        dimensions  = { LoadBalancer = var.load_balancer_arn_suffix }
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

# MLflow down stops retraining, promotion and new API tasks (they load the champion from it). The host has
# detailed monitoring (1-minute data); a stopped host reports nothing, which is an outage too.
resource "aws_cloudwatch_metric_alarm" "mlflow_host_status" {
  alarm_name          = "${var.name_prefix}-mlflow-host-status"
  alarm_description   = "The MLflow host fails its EC2 status checks (system or instance) or reports nothing: retraining, promotion and new API tasks cannot reach the registry."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  dimensions          = { InstanceId = var.mlflow_instance_id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Redis holds the Celery broker's queue (db 0) and the feedback records (db 1, kept for their retention by a
# TTL). A full node evicts keys that have a TTL (ElastiCache's default policy, volatile-lru), so labels go
# before their retention ends, then refuses writes: batch jobs stop being queued. One alarm per node (the
# primary can move); their count is known before apply, their ids only after.
resource "aws_cloudwatch_metric_alarm" "redis_memory" {
  count = var.redis_node_count

  alarm_name          = "${var.name_prefix}-redis-memory-${count.index + 1}"
  alarm_description   = "Redis node ${count.index + 1} uses more than ${var.redis_memory_percent}% of its memory for 15 minutes: a full node evicts feedback labels before their retention ends, then refuses new batch jobs. Raise redis_node_type, or look for a backlog of batch jobs."
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  dimensions          = { CacheClusterId = var.redis_node_ids[count.index] }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.redis_memory_percent
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# A task that reaches its memory is killed (exit 137) with the requests or the batch chunk it held: the API
# gathers rollout evidence and scores in one process, a worker holds a chunk of a batch file. Maximum over
# the service is its fullest task.
resource "aws_cloudwatch_metric_alarm" "task_memory" {
  for_each = var.service_names

  alarm_name          = "${var.name_prefix}-${each.key}-task-memory"
  alarm_description   = "A ${each.value} task has used more than ${var.task_memory_percent}% of its memory for 10 minutes: at 100% ECS kills it (exit 137). Raise ${each.key}.memory in locals.sizes, or lower what it holds (FRAUD_ROLLOUT_STATUS_MAX_ROWS, FRAUD_BATCH_CHUNK_ROWS)."
  namespace           = "AWS/ECS"
  metric_name         = "MemoryUtilization"
  dimensions          = { ClusterName = var.cluster_name, ServiceName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.task_memory_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
