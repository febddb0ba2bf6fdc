variable "github_repository" {
  description = "GitHub repository allowed to assume the release role, as `<org>/<repo>`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like org/repo."
  }
}

variable "create_shared" {
  description = "Create the account-wide pieces (the OIDC provider and fraud-github-release): true in exactly one environment per account."
  type        = bool
}

variable "ecr_repository_arn" {
  description = "ECR repository the release role pushes to."
  type        = string
}
