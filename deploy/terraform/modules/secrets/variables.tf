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
  description = "Basic-auth user of the writer MLflow identity (retrain task); Ansible's mlflow_basic_auth_user."
  type        = string
  default     = "fraud"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{2,31}$", var.mlflow_username))
    error_message = "mlflow_username must be 3-32 lowercase letters, digits, _ or -."
  }
}

variable "mlflow_reader_username" {
  description = "Basic-auth user of the read-only MLflow identity (API, workers); Ansible's mlflow_reader_user."
  type        = string
  default     = "fraud-reader"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{2,31}$", var.mlflow_reader_username))
    error_message = "mlflow_reader_username must be 3-32 lowercase letters, digits, _ or -."
  }
}
