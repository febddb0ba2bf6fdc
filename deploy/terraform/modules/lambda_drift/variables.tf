variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "vpc_id" {
  description = "VPC of the function."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the function runs in."
  type        = list(string)
}

variable "image_repository_url" {
  description = "ECR repository URL; the function runs `<url>:<image_tag>-lambda`."
  type        = string
}

variable "image_tag" {
  description = "Git SHA of the first image; later deploys update the function code themselves."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.image_tag))
    error_message = "image_tag must be a full 40-character git commit SHA."
  }
}

variable "data_bucket_name" {
  description = "Data bucket (FRAUD_STORAGE_URI=s3://<this>/fraud)."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the data bucket."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the data bucket, the environment variables and the dead-letter queue."
  type        = string
}

variable "event_bus_name" {
  description = "EventBridge bus DriftDetected goes to (FRAUD_EVENT_BUS)."
  type        = string
}

variable "event_bus_arn" {
  description = "ARN of the event bus."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of /aws/lambda/fraud-<env>-drift-check (created with retention and KMS by observability)."
  type        = string
}

variable "memory_mb" {
  description = "Memory of the function (pandas, pyarrow and scipy on a day of predictions)."
  type        = number
  default     = 2048

  validation {
    condition     = var.memory_mb >= 1024 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 1024 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of one drift check."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout_seconds >= 30 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 30 and 900 (the Lambda maximum)."
  }
}

variable "settings" {
  description = "FRAUD_* settings of the drift check (FRAUD_DRIFT_*, FRAUD_MODEL_NAME): the environment passes them from its extra_environment, as the ECS containers get it."
  type        = map(string)
  default     = {}
}
