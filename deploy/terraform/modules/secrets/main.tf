# The application secrets of the contract. Terraform generates first values so the first deploy starts;
# operators rotate them with `aws secretsmanager put-secret-value` (Terraform then ignores the value).
resource "random_password" "admin_token" {
  length  = 48
  special = false
}

resource "random_password" "mlflow" {
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "admin_token" {
  #checkov:skip=CKV2_AWS_57:Rotated by operators (put-secret-value) with an API restart; no rotation Lambda for a static bearer token.
  name        = "fraud/${var.environment}/admin-token"
  description = "FRAUD_ADMIN_TOKEN: bearer token of the API's /admin endpoints"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "admin_token" {
  secret_id     = aws_secretsmanager_secret.admin_token.id
  secret_string = random_password.admin_token.result

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "mlflow_basic_auth" {
  #checkov:skip=CKV2_AWS_57:The nginx htpasswd on the MLflow host is rendered by Ansible from this value; rotation is an Ansible run, not a Lambda.
  name        = "fraud/${var.environment}/mlflow-basic-auth"
  description = "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (JSON keys username, password)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "mlflow_basic_auth" {
  secret_id = aws_secretsmanager_secret.mlflow_basic_auth.id
  secret_string = jsonencode({
    username = var.mlflow_username
    password = random_password.mlflow.result
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}
