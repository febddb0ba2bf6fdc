# The three buckets of the contract. Names carry the account id so they are globally unique.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  logs_bucket = "${var.name_prefix}-logs-${local.account_id}"

  # Captured predictions: the API's prediction log writes under FRAUD_STORAGE_URI (s3://<data bucket>/fraud)
  # + "predictions/". They expire after predictions_retention_days, and move to STANDARD_IA first only when
  # they live longer than predictions_ia_after_days.
  predictions_prefix = "fraud/predictions/"
  # A rollout's dark scores (the model that did not answer), in the same layout: copies of live
  # transactions, which expire with the served ones (the app's own sweep runs on a local store only).
  shadow_prefix = "fraud/shadow/"
  predictions_to_ia = {
    for prefix, days in { (local.predictions_prefix) = var.predictions_ia_after_days } :
    prefix => days if days < var.predictions_retention_days
  }
}

# Who may write into the logs bucket: the region's ELB log account (ALB access logs, prefix alb/) and the
# S3 logging service for this account's buckets (prefix s3/).
data "aws_iam_policy_document" "log_delivery" {
  statement {
    sid       = "AlbAccessLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.logs_bucket}/alb/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }

  statement {
    sid       = "S3ServerAccessLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.logs_bucket}/s3/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

module "logs" {
  source = "./bucket"

  name                    = local.logs_bucket
  kms_key_arn             = null # ALB access logs are delivered only to SSE-S3 buckets
  force_destroy           = var.force_destroy
  noncurrent_expiry_days  = var.noncurrent_expiry_days
  expiry_days             = var.log_expiry_days
  access_log_bucket       = null # a bucket cannot log into itself
  extra_policy_statements = [data.aws_iam_policy_document.log_delivery.json]
}

module "data" {
  source = "./bucket"

  name                   = "${var.name_prefix}-data-${local.account_id}"
  kms_key_arn            = var.kms_key_arn
  force_destroy          = var.force_destroy
  noncurrent_expiry_days = var.noncurrent_expiry_days
  transitions_to_ia      = local.predictions_to_ia
  expiry_days_by_prefix = {
    (local.predictions_prefix) = var.predictions_retention_days
    (local.shadow_prefix)      = var.predictions_retention_days
  }
  access_log_bucket = local.logs_bucket

  depends_on = [module.logs] # access logging needs the logs bucket and its delivery policy first
}

module "mlflow" {
  source = "./bucket"

  name                   = "${var.name_prefix}-mlflow-${local.account_id}"
  kms_key_arn            = var.kms_key_arn
  force_destroy          = var.force_destroy
  noncurrent_expiry_days = var.noncurrent_expiry_days
  access_log_bucket      = local.logs_bucket

  depends_on = [module.logs] # access logging needs the logs bucket and its delivery policy first
}
