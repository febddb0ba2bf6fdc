output "release_role_arn" {
  description = "GitHub repository variable AWS_RELEASE_ROLE_ARN (null where create_shared is false)."
  value       = var.create_shared ? aws_iam_role.release[0].arn : null
}

output "deploy_role_arn" {
  description = "GitHub environment variable AWS_DEPLOY_ROLE_ARN of this environment."
  value       = aws_iam_role.deploy.arn
}
