output "address" {
  description = "Host name of the database: Ansible's mlflow_db_host."
  value       = aws_db_instance.db.address
}

output "port" {
  description = "Port of the database: Ansible's mlflow_db_port."
  value       = aws_db_instance.db.port
}

output "master_user_secret_arn" {
  description = "RDS-managed secret with the master username and password (Ansible's mlflow_db_admin_*)."
  value       = aws_db_instance.db.master_user_secret[0].secret_arn
}
