output "repository_name" {
  description = "ECR repository name (GitHub variable ECR_REPOSITORY)."
  value       = aws_ecr_repository.main.name
}

output "repository_url" {
  description = "Registry URL of the repository, without tag."
  value       = aws_ecr_repository.main.repository_url
}

output "repository_arn" {
  description = "ARN of the repository (the release role may push only here)."
  value       = aws_ecr_repository.main.arn
}
