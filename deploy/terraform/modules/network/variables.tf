variable "name_prefix" {
  description = "Prefix of every name, `fraud-<env>` (the deployment naming contract)."
  type        = string

  validation {
    condition     = can(regex("^fraud-(dev|prod)$", var.name_prefix))
    error_message = "name_prefix must be fraud-dev or fraud-prod."
  }
}

variable "cidr_block" {
  description = "CIDR of the VPC; split into 2 public and 2 private /20 subnets."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 18
    error_message = "cidr_block must be a valid IPv4 CIDR of size /18 or larger."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per availability zone (prod: survives an AZ outage) instead of a single one (dev: cheaper)."
  type        = bool
  default     = false
}

variable "flow_log_group_arn" {
  description = "CloudWatch log group receiving the VPC flow logs."
  type        = string
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints (private DNS) instead of the NAT gateway."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"]
}

variable "availability_zones" {
  description = "The two availability zones of the subnets; empty means <region>a and <region>b."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) == 2
    error_message = "availability_zones must be empty or list exactly two zones."
  }
}
