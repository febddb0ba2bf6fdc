variable "name" {
  description = "Globally unique bucket name."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)-(data|mlflow|logs)-[0-9]{12}$", var.name))
    error_message = "Bucket names follow the contract: fraud-<env>-<data|mlflow|logs>-<account id>."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the default encryption; null selects SSE-S3 (needed by ALB access logs)."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a non-empty bucket."
  type        = bool
  default     = false
}

variable "noncurrent_expiry_days" {
  description = "Days after which noncurrent object versions are deleted."
  type        = number
}

variable "transitions_to_ia" {
  description = "Key prefixes moved to STANDARD_IA, with the age in days."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for days in values(var.transitions_to_ia) : days >= 30])
    error_message = "S3 accepts STANDARD_IA transitions only after 30 days or more."
  }
}

variable "expiry_days_by_prefix" {
  description = "Key prefixes whose objects expire, with the age in days (captured predictions)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for days in values(var.expiry_days_by_prefix) : days >= 1])
    error_message = "Expiry ages must be at least 1 day."
  }
}

variable "expiry_days" {
  description = "Days after which current objects expire (logs); null keeps them."
  type        = number
  default     = null
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's server access logs; null for none (the logs bucket itself)."
  type        = string
  default     = null
}

variable "extra_policy_statements" {
  description = "More bucket policy statements (JSON documents from aws_iam_policy_document), e.g. log delivery."
  type        = list(string)
  default     = []
}
