output "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key."
  value       = aws_kms_key.main.arn
}

output "log_group_names" {
  description = "CloudWatch log group names by purpose: api, worker, retrain, lambda, vpc, waf, events (the domain-event audit log)."
  value       = { for key, group in aws_cloudwatch_log_group.main : key => group.name }
}

output "log_group_arns" {
  description = "CloudWatch log group ARNs by purpose: api, worker, retrain, lambda, vpc, waf, events (the domain-event audit log)."
  value       = { for key, group in aws_cloudwatch_log_group.main : key => group.arn }
}
