output "instance_id" {
  description = "EC2 instance id of the MLflow host."
  value       = aws_instance.host.id
}

output "private_dns" {
  description = "Private DNS name: MLFLOW_TRACKING_URI=https://<this>; Ansible's inventory host."
  value       = aws_instance.host.private_dns
}

output "private_ip" {
  description = "Private IP of the MLflow host."
  value       = aws_instance.host.private_ip
}

output "security_group_id" {
  description = "Security group of the host: the RDS backend store admits it on 5432."
  value       = aws_security_group.host.id
}
