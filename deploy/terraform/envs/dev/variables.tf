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
  description = "Create the account-wide pieces (ECR repository fraud-detection, GitHub OIDC provider, fraud-github-release). Exactly one environment per account: dev by default."
  type        = bool
  default     = true
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
  description = "CIDRs allowed to call the API."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "admin_cidr" {
  description = "Operators' CIDR (VPN): SSH and HTTPS to the MLflow host."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the environment's VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "mlflow_key_name" {
  description = "EC2 key pair for Ansible's SSH to the MLflow host (null: none)."
  type        = string
  default     = null
}

variable "mlflow_insecure_tls" {
  description = "Containers skip TLS verification towards MLflow while it serves the self-signed first-boot certificate."
  type        = bool
  default     = true
}

variable "extra_environment" {
  description = "Extra FRAUD_* settings for every ECS container."
  type        = map(string)
  default     = {}
}
