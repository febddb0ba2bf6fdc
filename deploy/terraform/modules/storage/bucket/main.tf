# One bucket with every control the contract asks for: versioning, default encryption, no public access,
# ACLs disabled, lifecycle, TLS-only policy, access logging.
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice left to the operator; versioning covers mistakes.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: the drift check runs on a schedule.
  bucket        = var.name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

locals {
  prefix_rules = {
    for prefix in distinct(concat(keys(var.transitions_to_ia), keys(var.expiry_days_by_prefix))) : prefix => {
      ia_after_days = lookup(var.transitions_to_ia, prefix, null)
      expiry_days   = lookup(var.expiry_days_by_prefix, prefix, null)
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_expiry_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    dynamic "expiration" {
      for_each = var.expiry_days == null ? [] : [var.expiry_days]
      content {
        days = expiration.value
      }
    }
  }

  # One rule per key prefix: an optional move to STANDARD_IA and an optional expiry. An expiring prefix also
  # drops its noncurrent versions a day later, so expired data (captured predictions) is really gone then,
  # not kept for noncurrent_expiry_days more by versioning.
  dynamic "rule" {
    for_each = local.prefix_rules
    content {
      id     = "prefix-${trimsuffix(replace(rule.key, "/", "-"), "-")}"
      status = "Enabled"

      filter {
        prefix = rule.key
      }

      dynamic "transition" {
        for_each = rule.value.ia_after_days == null ? [] : [rule.value.ia_after_days]
        content {
          days          = transition.value
          storage_class = "STANDARD_IA"
        }
      }

      dynamic "expiration" {
        for_each = rule.value.expiry_days == null ? [] : [rule.value.expiry_days]
        content {
          days = expiration.value
        }
      }

      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.expiry_days == null ? [] : [1]
        content {
          noncurrent_days = noncurrent_version_expiration.value
        }
      }
    }
  }

  # And the delete markers left there once their object's versions are gone: compaction deletes an hour's
  # capture files every hour (~2,900 a day at 2 replicas), and a rule with Days would keep their markers for
  # the whole retention, slowing every listing of those folders. S3 takes this only in a rule of its own.
  dynamic "rule" {
    for_each = { for prefix, rules in local.prefix_rules : prefix => rules if rules.expiry_days != null }
    content {
      id     = "delete-markers-${trimsuffix(replace(rule.key, "/", "-"), "-")}"
      status = "Enabled"

      filter {
        prefix = rule.key
      }

      expiration {
        expired_object_delete_marker = true
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.name}/"
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = concat([data.aws_iam_policy_document.tls_only.json], var.extra_policy_statements)
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
