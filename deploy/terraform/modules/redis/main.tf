# Redis for the Celery broker (db 0) and the label feedback store (db 1). TLS in transit and an AUTH token:
# the full rediss:// URLs, token included, are kept in Secrets Manager and injected into the tasks.
resource "random_password" "auth" {
  length  = 48
  special = false
}

resource "aws_security_group" "redis" {
  name        = "${var.name_prefix}-redis"
  description = "Redis: 6379 from the ECS tasks only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "Redis TLS from the ECS tasks"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${var.name_prefix}-redis"
  subnet_ids = var.subnet_ids
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "${var.name_prefix}-redis"
  description                = "${var.name_prefix} Celery broker and feedback store"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.node_type
  port                       = 6379
  num_cache_clusters         = var.replicas + 1
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = random_password.auth.result
  snapshot_retention_limit   = var.snapshot_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = false
}

resource "aws_secretsmanager_secret" "urls" {
  #checkov:skip=CKV2_AWS_57:The AUTH token is rotated by Terraform (taint random_password.auth); no rotation Lambda.
  name        = "fraud/${trimprefix(var.name_prefix, "fraud-")}/redis"
  description = "FRAUD_BROKER_URL and FRAUD_FEEDBACK_URL (rediss:// with the AUTH token)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "urls" {
  secret_id = aws_secretsmanager_secret.urls.id
  secret_string = jsonencode({
    broker_url   = "rediss://:${random_password.auth.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379/0"
    feedback_url = "rediss://:${random_password.auth.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379/1"
  })
}
