variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "cluster_arn" {
  description = "ECS cluster the retrain task runs in."
  type        = string
}

variable "retrain_task_family" {
  description = "Task definition family of the retrain task, fraud-<env>-retrain (always its latest revision)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)-retrain$", var.retrain_task_family))
    error_message = "retrain_task_family must be fraud-<env>-retrain."
  }
}

variable "retrain_role_arns" {
  description = "Task role and execution role of the retrain task: the only roles EventBridge may pass."
  type        = list(string)

  validation {
    condition     = length(var.retrain_role_arns) > 0
    error_message = "Give the retrain task's roles."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets of the retrain task."
  type        = list(string)
}

variable "tasks_security_group_id" {
  description = "Security group of the retrain task."
  type        = string
}

variable "drift_function_arn" {
  description = "ARN of the drift Lambda the hourly rule invokes."
  type        = string
}

variable "drift_function_name" {
  description = "Name of the drift Lambda (for its invoke permission)."
  type        = string
}

variable "retrain_schedule" {
  description = "Schedule of the nightly retrain (EventBridge cron, UTC)."
  type        = string
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.retrain_schedule))
    error_message = "retrain_schedule must be cron(...) or rate(...)."
  }
}

variable "drift_check_schedule" {
  description = "Schedule of the drift check."
  type        = string
  default     = "rate(1 hour)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.drift_check_schedule))
    error_message = "drift_check_schedule must be cron(...) or rate(...)."
  }
}

variable "events_log_group_arn" {
  description = "Log group (under /aws/events/) that keeps every domain event on the bus: the audit trail."
  type        = string

  validation {
    condition     = can(regex(":log-group:/aws/events/", var.events_log_group_arn))
    error_message = "events_log_group_arn must be a log group named /aws/events/..."
  }
}

variable "rollout_evaluation_schedule" {
  description = "Schedule of the rollout's evaluation by the policy (a no-op task without an active rollout)."
  type        = string
  default     = "rate(15 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.rollout_evaluation_schedule))
    error_message = "rollout_evaluation_schedule must be cron(...) or rate(...)."
  }
}

variable "quality_measure_schedule" {
  description = "Schedule of `fraud quality measure` (realised precision and recall, for /metrics and drift)."
  type        = string
  default     = "cron(30 4 * * ? *)" # as Prefect's quality-daily: 04:30 UTC, after the nightly retrain

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.quality_measure_schedule))
    error_message = "quality_measure_schedule must be cron(...) or rate(...)."
  }
}

variable "kms_key_arn" {
  description = "The environment's KMS key: encrypts the dead-letter queue of undeliverable events."
  type        = string
}
