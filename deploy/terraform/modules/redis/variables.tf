variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "vpc_id" {
  description = "VPC of the cache."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache (two AZs)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two private subnets so a replica can live in another AZ."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach Redis on 6379 (the ECS tasks)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the cache at rest, its snapshots and the URL secret."
  type        = string
}

variable "node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "replicas" {
  description = "Read replicas besides the primary; 1 or more enables Multi-AZ automatic failover."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "replicas must be between 1 and 5 (failover needs at least one)."
  }
}

variable "snapshot_retention_days" {
  description = "Days of automatic snapshots (the broker queue and feedback labels live here)."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 1
    error_message = "snapshot_retention_days must be at least 1."
  }
}
