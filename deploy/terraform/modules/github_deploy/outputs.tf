output "deploy_role_arn" {
  description = "GitHub environment variable AWS_DEPLOY_ROLE_ARN of this environment."
  value       = aws_iam_role.deploy.arn
}
