# What the GitHub repository and the operators need after `terraform apply` (README: "Outputs").
output "aws_region" {
  description = "GitHub variable AWS_REGION."
  value       = var.aws_region
}

output "ecr_repository" {
  description = "GitHub variable ECR_REPOSITORY."
  value       = "fraud-detection"
}

output "ecr_repository_url" {
  description = "Registry URL of fraud-detection."
  value       = local.ecr_repository_url
}

output "aws_release_role_arn" {
  description = "GitHub repository variable AWS_RELEASE_ROLE_ARN (null unless create_shared)."
  value       = module.github_oidc.release_role_arn
}

output "aws_deploy_role_arn" {
  description = "GitHub environment variable AWS_DEPLOY_ROLE_ARN of this environment."
  value       = module.github_deploy.deploy_role_arn
}

output "ecs_cluster" {
  description = "ECS cluster name."
  value       = module.ecs.cluster_name
}

output "ecs_services" {
  description = "ECS service names (api, worker)."
  value       = module.ecs.service_names
}

output "api_load_balancer_dns" {
  description = "Point the certificate's DNS name at this ALB."
  value       = module.ecs.alb_dns_name
}

output "data_bucket" {
  description = "FRAUD_STORAGE_URI is s3://<this>/fraud."
  value       = module.storage.data_bucket_name
}

output "mlflow_bucket" {
  description = "Ansible's MLflow artifact root is s3://<this>/mlflow."
  value       = module.storage.mlflow_bucket_name
}

output "logs_bucket" {
  description = "ALB and S3 access logs."
  value       = module.storage.logs_bucket_name
}

output "mlflow_host_private_dns" {
  description = "Ansible inventory host of the MLflow server; MLFLOW_TRACKING_URI=https://<this>."
  value       = module.mlflow_host.private_dns
}

output "mlflow_db" {
  description = "The RDS backend store for Ansible (mlflow_db_host, mlflow_db_port, the master secret); null without mlflow_rds."
  value = var.mlflow_rds ? {
    host                   = module.mlflow_db[0].address
    port                   = module.mlflow_db[0].port
    master_user_secret_arn = module.mlflow_db[0].master_user_secret_arn
  } : null
}

output "mlflow_host_instance_id" {
  description = "EC2 instance id of the MLflow host."
  value       = module.mlflow_host.instance_id
}

output "redis_endpoint" {
  description = "Primary endpoint of Redis (URLs with the token are in the redis secret)."
  value       = module.redis.primary_endpoint
}

output "secret_arns" {
  description = "Secrets an operator reads or rotates (Ansible's vault holds mlflow_basic_auth and mlflow_reader)."
  value = {
    admin_token       = module.secrets.admin_token_secret_arn
    mlflow_basic_auth = module.secrets.mlflow_basic_auth_secret_arn
    mlflow_reader     = module.secrets.mlflow_reader_secret_arn
    mlflow_ca         = module.secrets.mlflow_ca_secret_arn
    api_clients       = module.secrets.api_clients_secret_arn
    redis_urls        = module.redis.urls_secret_arn
  }
}

output "event_bus" {
  description = "EventBridge bus (FRAUD_EVENT_BUS)."
  value       = module.events.bus_name
}

output "event_rules" {
  description = "The EventBridge rules: drift-retrain, retrain-nightly, drift-check, rollout-abort, rollout-evaluate, quality-measure."
  value       = module.events.rule_names
}

output "drift_function" {
  description = "Drift Lambda name."
  value       = module.lambda_drift.function_name
}

output "drift_dead_letter_queue" {
  description = "Failed drift-check invocations land here."
  value       = module.lambda_drift.dead_letter_queue_url
}

output "events_dead_letter_queue" {
  description = "Events no target took after its retries (a retraining, roll-back or evaluation that never started) land here."
  value       = module.events.dead_letter_queue_url
}

output "alarms_topic" {
  description = "SNS topic of every CloudWatch alarm and ECS failure notification: subscribe pagers or chat here."
  value       = module.alarms.topic_arn
}

output "alarms" {
  description = "The CloudWatch alarms of the environment."
  value       = module.alarms.alarm_names
}
