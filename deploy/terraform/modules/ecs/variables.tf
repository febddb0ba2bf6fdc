variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "vpc_id" {
  description = "VPC of the ALB and the tasks."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR of the VPC (the ALB reaches the tasks, the tasks reach Redis inside it)."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of the ALB."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An ALB needs subnets in at least two AZs."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the API's HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "alb_ingress_cidrs" {
  description = "CIDRs allowed to call the API on 443 (required; 0.0.0.0/0 only with allow_public_ingress)."
  type        = list(string)

  validation {
    condition     = length(var.alb_ingress_cidrs) > 0 && alltrue([for cidr in var.alb_ingress_cidrs : can(cidrnetmask(cidr))])
    error_message = "alb_ingress_cidrs must be a non-empty list of IPv4 CIDRs."
  }
}

variable "allow_public_ingress" {
  description = "Allow 0.0.0.0/0 in alb_ingress_cidrs (an API open to the internet, behind the WAF)."
  type        = bool
  default     = false
}

variable "waf_rate_limit" {
  description = "Requests per client IP per 5 minutes the WAF lets through before it answers 429; null: what the API serves at its autoscaling ceiling (api.max_count x api.requests_per_target per minute, x 5)."
  type        = number
  default     = null

  validation {
    # coalesce: `||` does not short-circuit before Terraform 1.12, so `null >= 10` would fail the check
    condition     = coalesce(var.waf_rate_limit, 10) >= 10 && coalesce(var.waf_rate_limit, 10) <= 2000000000
    error_message = "waf_rate_limit must be between 10 and 2,000,000,000 (AWS WAF's limits)."
  }
}

variable "metrics_scraper_sg_ids" {
  description = "Security groups of the Prometheus scrapers that may reach the tasks' /metrics (8000, 9100) inside the VPC."
  type        = list(string)
  default     = []
}

variable "logs_bucket_name" {
  description = "Bucket receiving the ALB access logs (prefix alb/)."
  type        = string
}

variable "image_repository_url" {
  description = "ECR repository URL of the service image."
  type        = string
}

variable "image_repository_arn" {
  description = "ECR repository ARN (the execution role may pull only from it)."
  type        = string
}

variable "image_tag" {
  description = "Tag of the first task definitions' image (full git SHA); once the SSM parameter `/<name_prefix>/deployed-image-tag` exists, the tag the deploy workflow recorded there wins."
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
  description = "KMS key of the data bucket, the secrets and the logs."
  type        = string
}

variable "event_bus_name" {
  description = "EventBridge bus of the domain events (FRAUD_EVENT_BUS)."
  type        = string
}

variable "event_bus_arn" {
  description = "ARN of the event bus (events:PutEvents is allowed only there)."
  type        = string
}

variable "log_group_names" {
  description = "CloudWatch log group names with keys api, worker, retrain."
  type        = map(string)

  validation {
    condition     = alltrue([for key in ["api", "worker", "retrain"] : contains(keys(var.log_group_names), key)])
    error_message = "log_group_names must have the keys api, worker and retrain."
  }
}

variable "log_group_arns" {
  description = "CloudWatch log group ARNs with keys api, worker, retrain and waf (aws-waf-logs-<prefix>)."
  type        = map(string)

  validation {
    condition     = alltrue([for key in ["api", "worker", "retrain", "waf"] : contains(keys(var.log_group_arns), key)])
    error_message = "log_group_arns must have the keys api, worker, retrain and waf."
  }
}

variable "admin_token_secret_arn" {
  description = "Secret fraud/<env>/admin-token (FRAUD_ADMIN_TOKEN of the API)."
  type        = string
}

variable "mlflow_basic_auth_secret_arn" {
  description = "Secret fraud/<env>/mlflow-basic-auth (JSON keys username, password): the writer MLflow identity of the retrain task."
  type        = string
}

variable "api_clients_secret_arn" {
  description = "Secret fraud/<env>/api-clients: the API reads its clients document there (FRAUD_API_CLIENTS_SECRET)."
  type        = string
}

variable "mlflow_reader_secret_arn" {
  description = "Secret fraud/<env>/mlflow-reader (JSON keys username, password): the read-only MLflow identity of the API and workers."
  type        = string
}

variable "mlflow_ca_secret_arn" {
  description = "Secret fraud/<env>/mlflow-ca: PEM of the CA that signs the MLflow host's certificate (FRAUD_MLFLOW_CA_BUNDLE of every container)."
  type        = string
}

variable "redis_urls_secret_arn" {
  description = "Secret with the JSON keys broker_url and feedback_url."
  type        = string
}

variable "mlflow_tracking_uri" {
  description = "MLFLOW_TRACKING_URI of every container: https://<MLflow host private DNS>."
  type        = string

  validation {
    condition     = startswith(var.mlflow_tracking_uri, "https://")
    error_message = "mlflow_tracking_uri must use https:// (nginx terminates TLS on the MLflow host)."
  }
}

variable "extra_environment" {
  description = "More FRAUD_* settings for every container (see `fraud config`)."
  type        = map(string)
  default     = {}

  validation {
    condition     = !contains([for name in keys(var.extra_environment) : upper(name)], "MLFLOW_TRACKING_INSECURE_TLS")
    error_message = "TLS verification towards MLflow stays on: give the host a certificate the containers trust (for a private CA, its PEM in the secret fraud/<env>/mlflow-ca) instead of MLFLOW_TRACKING_INSECURE_TLS."
  }
}

variable "api" {
  description = "API service size and autoscaling bounds and targets."
  type = object({
    cpu                  = number
    memory               = number
    min_count            = number
    max_count            = number
    cpu_target_percent   = number
    requests_per_target  = number
    scale_in_cooldown_s  = number
    scale_out_cooldown_s = number
  })

  validation {
    condition     = var.api.min_count >= 1 && var.api.max_count >= var.api.min_count
    error_message = "api.min_count must be >= 1 and api.max_count >= api.min_count."
  }

  validation {
    condition     = var.api.cpu_target_percent > 0 && var.api.cpu_target_percent <= 90
    error_message = "api.cpu_target_percent must be in (0, 90]."
  }

  validation {
    condition     = var.api.memory >= 1024
    error_message = "api.memory must be at least 1024 MiB: the API itself takes ~350 MiB (400 MiB reserved) before any rollout evidence."
  }
}

variable "worker" {
  description = "Batch worker service size and task count."
  type = object({
    cpu    = number
    memory = number
    count  = number
  })

  validation {
    condition     = var.worker.count >= 0
    error_message = "worker.count must not be negative."
  }
}

variable "retrain" {
  description = "Retrain task size (started by EventBridge)."
  type = object({
    cpu    = number
    memory = number
  })
}

variable "deletion_protection" {
  description = "Protect the ALB against deletion (prod)."
  type        = bool
  default     = false
}
