variable "environment" {
  description = "Environment whose deploy role this module creates: dev or prod."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "github_repository" {
  description = "GitHub repository allowed to assume the deploy role, as `<org>/<repo>`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like org/repo."
  }
}

variable "oidc_provider_arn" {
  description = "GitHub's OIDC provider in this account (modules/github_oidc output `provider_arn`)."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ECR repository the deploy role reads released images from."
  type        = string
}

variable "ecs_service_arns" {
  description = "The api and worker services the deploy role may update."
  type        = list(string)
}

variable "pass_role_arns" {
  description = "Task and execution roles the deploy role may pass to ECS in new revisions."
  type        = list(string)
}

variable "lambda_function_arn" {
  description = "Drift Lambda whose image the deploy role updates."
  type        = string
}

variable "image_tag_parameter_arn" {
  description = "SSM parameter the deploy role records the rolled-out image tag in (Terraform's task definitions read it)."
  type        = string
}
