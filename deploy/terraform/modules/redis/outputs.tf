output "primary_endpoint" {
  description = "Primary endpoint address of the replication group."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "urls_secret_arn" {
  description = "Secret holding the JSON keys broker_url and feedback_url."
  value       = aws_secretsmanager_secret.urls.arn
}
