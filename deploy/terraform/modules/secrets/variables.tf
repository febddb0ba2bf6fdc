variable "environment" {
  description = "Environment name: dev or prod (secret names are fraud/<env>/...)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the secrets."
  type        = string
}

variable "mlflow_username" {
  description = "Basic-auth user nginx accepts in front of MLflow."
  type        = string
  default     = "fraud"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{2,31}$", var.mlflow_username))
    error_message = "mlflow_username must be 3-32 lowercase letters, digits, _ or -."
  }
}
