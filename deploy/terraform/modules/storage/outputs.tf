output "data_bucket_name" {
  description = "Object store bucket (FRAUD_STORAGE_URI=s3://<this>/fraud)."
  value       = module.data.name
}

output "data_bucket_arn" {
  description = "ARN of the data bucket."
  value       = module.data.arn
}

output "mlflow_bucket_name" {
  description = "MLflow artifact root bucket (s3://<this>/mlflow)."
  value       = module.mlflow.name
}

output "mlflow_bucket_arn" {
  description = "ARN of the MLflow artifact bucket."
  value       = module.mlflow.arn
}

output "logs_bucket_name" {
  description = "Bucket receiving ALB (prefix alb/) and S3 server access logs (prefix s3/)."
  value       = module.logs.name
}
