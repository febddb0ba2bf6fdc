output "primary_endpoint" {
  description = "Primary endpoint address of the replication group."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "urls_secret_arn" {
  description = "Secret holding the JSON keys broker_url and feedback_url."
  value       = aws_secretsmanager_secret.urls.arn
}

output "node_count" {
  description = "Nodes of the replication group (primary and replicas), known before apply: the alarms' count."
  value       = var.replicas + 1
}

output "node_ids" {
  description = "Cache cluster ids of the nodes (the CacheClusterId dimension of their metrics), sorted."
  value       = sort(tolist(aws_elasticache_replication_group.redis.member_clusters))
}
