output "admin_token_secret_arn" {
  description = "ARN of fraud/<env>/admin-token."
  value       = aws_secretsmanager_secret.admin_token.arn
}

output "mlflow_basic_auth_secret_arn" {
  description = "ARN of fraud/<env>/mlflow-basic-auth (JSON: username, password)."
  value       = aws_secretsmanager_secret.mlflow_basic_auth.arn
}

output "mlflow_reader_secret_arn" {
  description = "ARN of fraud/<env>/mlflow-reader (JSON: username, password): the read-only MLflow identity."
  value       = aws_secretsmanager_secret.mlflow_reader.arn
}

output "api_clients_secret_arn" {
  description = "ARN of fraud/<env>/api-clients (FRAUD_API_CLIENTS_SECRET of the API)."
  value       = aws_secretsmanager_secret.api_clients.arn
}

output "mlflow_ca_secret_arn" {
  description = "ARN of fraud/<env>/mlflow-ca (FRAUD_MLFLOW_CA_BUNDLE of every task): the PEM of the CA that signs the MLflow host's certificate."
  value       = aws_secretsmanager_secret.mlflow_ca.arn
}
