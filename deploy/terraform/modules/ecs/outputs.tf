output "cluster_name" {
  description = "ECS cluster name, fraud-<env>."
  value       = aws_ecs_cluster.main.name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.main.arn
}

output "service_names" {
  description = "ECS service names: api and worker."
  value       = { api = aws_ecs_service.api.name, worker = aws_ecs_service.worker.name }
}

output "service_arns" {
  description = "ECS service ARNs: api and worker (the deploy role may update only these)."
  value       = { api = aws_ecs_service.api.id, worker = aws_ecs_service.worker.id }
}

output "task_definition_families" {
  description = "Task definition families: api, worker, retrain."
  value       = { for key, definition in aws_ecs_task_definition.main : key => definition.family }
}

output "execution_role_arn" {
  description = "Task execution role (passed by EventBridge and the deploy role)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arns" {
  description = "Task roles: api, worker, retrain."
  value       = { for key, role in aws_iam_role.task : key => role.arn }
}

output "tasks_security_group_id" {
  description = "Security group of every task (Redis and MLflow accept it)."
  value       = aws_security_group.tasks.id
}

output "alb_dns_name" {
  description = "DNS name of the API load balancer: point the certificate's domain at it (CNAME/alias)."
  value       = aws_lb.api.dns_name
}

output "load_balancer_arn_suffix" {
  description = "ARN suffix of the API load balancer: the LoadBalancer dimension of its CloudWatch metrics."
  value       = aws_lb.api.arn_suffix
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the API target group: the TargetGroup dimension of its CloudWatch metrics."
  value       = aws_lb_target_group.api.arn_suffix
}

output "deployed_image_tag_parameter_arn" {
  description = "SSM parameter the deploy workflow writes the rolled-out image tag to (read by the task definitions)."
  value       = aws_ssm_parameter.deployed_image_tag.arn
}
