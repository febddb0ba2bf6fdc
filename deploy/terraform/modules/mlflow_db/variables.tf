variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the database (two AZs: RDS requires them, Multi-AZ uses them)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two private subnets in different AZs."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach PostgreSQL on 5432 (the MLflow host)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key: storage, the master password secret, Performance Insights, logs."
  type        = string
}

variable "engine_major_version" {
  description = "PostgreSQL major version; minor versions are upgraded in the maintenance window."
  type        = string
  default     = "16"
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.small"
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage; storage autoscaling grows it up to max_allocated_storage_gb."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20
    error_message = "allocated_storage_gb must be at least 20 (the gp3 minimum for PostgreSQL)."
  }
}

variable "max_allocated_storage_gb" {
  description = "Ceiling of storage autoscaling."
  type        = number
  default     = 100
}

variable "multi_az" {
  description = "A synchronous standby in a second AZ with automatic failover."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be within 1..35: 0 would turn backups off."
  }
}

variable "deletion_protection" {
  description = "Refuse deletion through the API, and keep a final snapshot when it is lifted (prod)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the exported PostgreSQL logs in CloudWatch."
  type        = number
}
