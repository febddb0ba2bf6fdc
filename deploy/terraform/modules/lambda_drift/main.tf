# The hourly drift check as an image Lambda: reads captured predictions and reference profiles from the
# data bucket, writes its report under drift/, publishes DriftDetected on the bus. Before the check it merges
# each closed hour's capture files into one (so it writes and deletes under predictions/).
data "aws_region" "current" {}

locals {
  function_name = "${var.name_prefix}-drift-check"
  store         = "${var.data_bucket_arn}/fraud"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ListPredictionsDriftAndQuality"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["fraud/predictions/*", "fraud/shadow/*", "fraud/drift/*", "fraud/quality/*"]
    }
  }

  # quality/latest.json: the realised precision and recall (`fraud quality measure`), one piece of the
  # check's evidence, read on every check with enough rows (tests/integration/test_drift_lambda.py).
  statement {
    sid       = "ReadPredictionsDriftAndQuality"
    actions   = ["s3:GetObject"]
    resources = ["${local.store}/predictions/*", "${local.store}/drift/*", "${local.store}/quality/*"]
  }

  # Merge an hour's files into one, then delete the merged ones: the served rows and a rollout's dark scores.
  statement {
    sid       = "CompactCaptures"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.store}/predictions/*", "${local.store}/shadow/*"]
  }

  statement {
    sid       = "WriteDriftReports"
    actions   = ["s3:PutObject"]
    resources = ["${local.store}/drift/*"]
  }

  statement {
    # Through the services that hold its data only, as every other role's grant on the key: S3 (the store),
    # SQS (its encrypted dead-letter queue) and Lambda (its encrypted environment).
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "s3.${data.aws_region.current.name}.amazonaws.com",
        "sqs.${data.aws_region.current.name}.amazonaws.com",
        "lambda.${data.aws_region.current.name}.amazonaws.com",
      ]
    }
  }

  statement {
    sid       = "PublishDriftDetected"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arn}:*"]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "drift-check"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

# ENI management inside the VPC (AWS-managed, scoped by Lambda itself).
resource "aws_iam_role_policy_attachment" "vpc" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_security_group" "function" {
  name        = local.function_name
  description = "Drift Lambda: HTTPS out only (S3, EventBridge)"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to S3 and EventBridge"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${local.function_name}-dlq"
  kms_master_key_id         = var.kms_key_arn
  message_retention_seconds = 1209600
}

resource "aws_lambda_function" "drift" {
  #checkov:skip=CKV_AWS_272:Code signing applies to .zip packages only; this is an image function from an immutable ECR tag.
  function_name                  = local.function_name
  role                           = aws_iam_role.function.arn
  package_type                   = "Image"
  image_uri                      = "${var.image_repository_url}:${var.image_tag}-lambda"
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = 1 # one check at a time: overlapping checks would write the same report
  kms_key_arn                    = var.kms_key_arn

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.function.id]
  }

  environment {
    # The operator's drift settings first: where the data is and where events go are not theirs to move.
    variables = merge(var.settings, {
      FRAUD_STORAGE_URI        = "s3://${var.data_bucket_name}/fraud"
      FRAUD_EVENT_BUS          = var.event_bus_name
      FRAUD_AWS_REGION         = data.aws_region.current.name
      MLFLOW_DISABLE_TELEMETRY = "true"
      DO_NOT_TRACK             = "true"
    })
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    ignore_changes = [image_uri] # the deploy workflow moves the function to each release's image
  }

  depends_on = [aws_iam_role_policy.function, aws_iam_role_policy_attachment.vpc]
}
