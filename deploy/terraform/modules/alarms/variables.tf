variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "kms_key_arn" {
  description = "The environment's KMS key: encrypts the alarms topic."
  type        = string
}

variable "notification_emails" {
  description = "Addresses subscribed to the alarms topic by mail (each confirms once). Pagers and chat subscribe to the topic's ARN."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "notification_emails must be mail addresses."
  }
}

variable "cluster_arn" {
  description = "ECS cluster whose retrain-family tasks are watched."
  type        = string
}

variable "retrain_task_family" {
  description = "Task definition family of the retrain task, fraud-<env>-retrain (retrain, rollout evaluate and abort, quality measure run in it)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)-retrain$", var.retrain_task_family))
    error_message = "retrain_task_family must be fraud-<env>-retrain."
  }
}

variable "service_arns" {
  description = "ECS services (api, worker) whose failed deployments and task starts are notified."
  type        = map(string)

  validation {
    condition     = length(var.service_arns) > 0
    error_message = "Give at least one service."
  }
}

variable "load_balancer_arn_suffix" {
  description = "ARN suffix of the API's load balancer (the LoadBalancer dimension of its metrics)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the API's target group (the TargetGroup dimension)."
  type        = string
}

variable "error_rate_percent" {
  description = "Share of the API's calls answered 5xx (load balancer or API) over 5 minutes above which the alarm fires."
  type        = number
  default     = 5

  validation {
    condition     = var.error_rate_percent > 0 && var.error_rate_percent < 100
    error_message = "error_rate_percent must be between 0 and 100."
  }
}

variable "mlflow_instance_id" {
  description = "EC2 instance of the MLflow host (its status checks are watched)."
  type        = string
}

variable "dead_letter_queues" {
  description = "Dead-letter queues to watch, by short name (events, drift-check) => SQS queue name."
  type        = map(string)
}

variable "dead_letter_queue_arn" {
  description = "Dead-letter queue of the notification rules' own undeliverable events (the events module's)."
  type        = string
}

variable "redis_node_count" {
  description = "Nodes of the Redis replication group (known before apply: one memory alarm each)."
  type        = number

  validation {
    condition     = var.redis_node_count >= 1
    error_message = "redis_node_count must be at least 1."
  }
}

variable "redis_node_ids" {
  description = "Cache cluster ids of the Redis nodes (the CacheClusterId dimension), in a stable order."
  type        = list(string)
}

variable "redis_memory_percent" {
  description = "Share of a Redis node's memory in use above which the alarm fires (the broker and the feedback labels share it)."
  type        = number
  default     = 80

  validation {
    condition     = var.redis_memory_percent > 0 && var.redis_memory_percent < 100
    error_message = "redis_memory_percent must be between 0 and 100."
  }
}

variable "cluster_name" {
  description = "ECS cluster name (the ClusterName dimension of the services' metrics)."
  type        = string
}

variable "service_names" {
  description = "ECS service names by role (api, worker): the ServiceName dimension of their memory alarms."
  type        = map(string)
}

variable "task_memory_percent" {
  description = "Memory use of a service's fullest task (percent of its task size) above which the alarm fires."
  type        = number
  default     = 90

  validation {
    condition     = var.task_memory_percent > 0 && var.task_memory_percent < 100
    error_message = "task_memory_percent must be between 0 and 100."
  }
}
