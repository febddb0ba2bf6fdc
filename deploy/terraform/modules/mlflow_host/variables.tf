variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "vpc_id" {
  description = "VPC of the host."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet of the host."
  type        = string
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach nginx on 443 (the ECS tasks)."
  type        = list(string)
}

variable "admin_cidr" {
  description = "The only CIDR allowed to reach SSH (22) and 443 besides the tasks, e.g. the VPN range."
  type        = string

  validation {
    condition     = can(cidrhost(var.admin_cidr, 0)) && var.admin_cidr != "0.0.0.0/0"
    error_message = "admin_cidr must be a valid IPv4 CIDR and not 0.0.0.0/0."
  }
}

variable "artifact_bucket_arn" {
  description = "ARN of the MLflow artifact bucket: the only bucket the instance profile may use."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the artifact bucket and the root volume."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type of the MLflow host."
  type        = string
  default     = "t3.medium"
}

variable "root_volume_gb" {
  description = "Size of the encrypted gp3 root volume (holds the local PostgreSQL backend, unless RDS)."
  type        = number
  default     = 30

  validation {
    condition     = var.root_volume_gb >= 20
    error_message = "root_volume_gb must be at least 20."
  }
}

variable "ami_ssm_parameter" {
  description = "Public SSM parameter naming the AMI; Debian 12 matches the Ansible role."
  type        = string
  default     = "/aws/service/debian/release/12/latest/amd64"
}

variable "key_name" {
  description = "EC2 key pair for SSH from admin_cidr (Ansible); null for none."
  type        = string
  default     = null
}

variable "termination_protection" {
  description = "Refuse API termination of the instance (prod)."
  type        = bool
  default     = false
}

variable "database_cidr" {
  description = "Where the RDS backend store lives (the VPC CIDR): opens 5432 out; null when PostgreSQL is local."
  type        = string
  default     = null
}
