variable "aws_region" {
  description = "AWS region of the environment (GitHub variable AWS_REGION)."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as eu-west-1."
  }
}

variable "github_repository" {
  description = "GitHub repository deploying here, `<org>/<repo>`."
  type        = string
}

variable "create_shared" {
  description = "Create the account-wide pieces (ECR repository fraud-detection, GitHub OIDC provider, fraud-github-release). Exactly one environment per account: dev by default, so prod reads them (set true if prod has its own account)."
  type        = bool
  default     = false
}

variable "image_tag" {
  description = "Full git SHA of a released image (`<sha>` and `<sha>-lambda` must exist in ECR)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate (same region) of the API's HTTPS listener."
  type        = string
}

variable "alb_ingress_cidrs" {
  description = "CIDRs allowed to call the API (required: your callers' ranges; 0.0.0.0/0 only with allow_public_ingress = true)."
  type        = list(string)

  validation {
    condition     = length(var.alb_ingress_cidrs) > 0 && alltrue([for cidr in var.alb_ingress_cidrs : can(cidrnetmask(cidr))])
    error_message = "alb_ingress_cidrs must be a non-empty list of IPv4 CIDRs."
  }
}

variable "allow_public_ingress" {
  description = "Set true, on purpose, to let alb_ingress_cidrs hold 0.0.0.0/0 (the API open to the internet, behind the WAF)."
  type        = bool
  default     = false
}

variable "waf_rate_limit" {
  description = "Requests per client IP per 5 minutes the API's WAF lets through before answering 429; null: what the API serves at its autoscaling ceiling."
  type        = number
  default     = null
}

variable "predictions_retention_days" {
  description = "Days after which captured predictions (fraud/predictions/ in the data bucket) are deleted."
  type        = number
  default     = 90
}

variable "metrics_scraper_security_group_ids" {
  description = "Security groups of Prometheus scrapers inside the VPC allowed to reach the tasks' /metrics (8000, 9100)."
  type        = list(string)
  default     = []
}

variable "admin_cidr" {
  description = "Operators' CIDR (VPN): SSH and HTTPS to the MLflow host."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the environment's VPC."
  type        = string
  default     = "10.50.0.0/16"
}

variable "mlflow_key_name" {
  description = "EC2 key pair for Ansible's SSH to the MLflow host (null: none)."
  type        = string
  default     = null
}

variable "extra_environment" {
  description = "Extra FRAUD_* settings for every ECS container (MLFLOW_TRACKING_INSECURE_TLS is refused); FRAUD_DRIFT_* and FRAUD_MODEL_NAME also reach the drift Lambda."
  type        = map(string)
  default     = {}
}

variable "mlflow_rds" {
  description = "Keep MLflow's backend store on RDS PostgreSQL (Multi-AZ, backups) instead of PostgreSQL on the MLflow host; prod: on by default."
  type        = bool
  default     = true
}

variable "alarm_emails" {
  description = "Mail addresses notified of every alarm (each confirms a subscription mail first). Pagers and chat subscribe to the alarms_topic output."
  type        = list(string)
  default     = []
}
