output "provider_arn" {
  description = "GitHub's OIDC provider in this account, created here or looked up (create_shared = false)."
  value       = local.provider_arn
}

output "release_role_arn" {
  description = "GitHub repository variable AWS_RELEASE_ROLE_ARN (null where create_shared is false)."
  value       = var.create_shared ? aws_iam_role.release[0].arn : null
}
