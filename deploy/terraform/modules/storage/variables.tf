variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the data and MLflow buckets."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete non-empty buckets (dev only; never in prod)."
  type        = bool
  default     = false
}

variable "predictions_ia_after_days" {
  description = "Days after which captured predictions move to STANDARD_IA."
  type        = number
  default     = 30

  validation {
    condition     = var.predictions_ia_after_days >= 30
    error_message = "S3 accepts STANDARD_IA transitions only after 30 days or more."
  }
}

variable "predictions_retention_days" {
  description = "Days after which captured predictions (fraud/predictions/ in the data bucket) are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.predictions_retention_days >= 1
    error_message = "predictions_retention_days must be at least 1."
  }
}

variable "noncurrent_expiry_days" {
  description = "Days after which noncurrent object versions are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_expiry_days >= 1
    error_message = "noncurrent_expiry_days must be at least 1."
  }
}

variable "log_expiry_days" {
  description = "Days after which ALB and S3 access logs are deleted from the logs bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.log_expiry_days >= 1
    error_message = "log_expiry_days must be at least 1."
  }
}
