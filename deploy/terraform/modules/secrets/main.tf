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

resource "random_password" "mlflow_reader" {
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
  description = "Writer MLflow identity of the retrain task: MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (JSON keys username, password)"
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

# The read-only MLflow identity of the API and the batch workers: nginx on the MLflow host lets this user
# read (GET/HEAD, and POST only to the search endpoints) and refuses every write with 403, so a compromised
# API task cannot log runs, register versions or move the champion alias. Ansible writes the same
# username/password into the host's htpasswd (deploy/ansible: mlflow_reader_user / mlflow_reader_password).
resource "aws_secretsmanager_secret" "mlflow_reader" {
  #checkov:skip=CKV2_AWS_57:The nginx htpasswd on the MLflow host is rendered by Ansible from this value; rotation is an Ansible run, not a Lambda.
  name        = "fraud/${var.environment}/mlflow-reader"
  description = "Read-only MLflow identity of the API and the batch workers (JSON keys username, password)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "mlflow_reader" {
  secret_id = aws_secretsmanager_secret.mlflow_reader.id
  secret_string = jsonencode({
    username = var.mlflow_reader_username
    password = random_password.mlflow_reader.result
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# The API's clients (FRAUD_API_CLIENTS_SECRET): names, scopes and SHA-256 digests of their keys, never the keys.
# The API reads it with its task role and re-reads it every minute; operators change it with `fraud clients
# ... --print` and `aws secretsmanager put-secret-value`. It starts with no client: only /admin (admin token)
# and the health checks answer until the first client is added.
resource "aws_secretsmanager_secret" "api_clients" {
  #checkov:skip=CKV2_AWS_57:Client keys are added, rotated and revoked with `fraud clients` and put-secret-value; there is nothing for a rotation Lambda to generate.
  name        = "fraud/${var.environment}/api-clients"
  description = "FRAUD_API_CLIENTS_SECRET: the API clients document (scopes and key digests)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "api_clients" {
  secret_id     = aws_secretsmanager_secret.api_clients.id
  secret_string = jsonencode({ clients = {} })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# The CA that signs the MLflow host's certificate (FRAUD_MLFLOW_CA_BUNDLE of every task): the tasks always
# verify TLS, and the host's certificate comes from the operator's CA (deploy/ansible: mlflow_tls_certificate),
# so the operator puts that CA's PEM here: `aws secretsmanager put-secret-value --secret-id
# fraud/<env>/mlflow-ca --secret-string file://ca.pem`. Secrets Manager refuses an empty value, and ECS cannot
# start a task whose secret has none, so it starts as one space, which the tasks read as unset (the image's
# public CAs).
resource "aws_secretsmanager_secret" "mlflow_ca" {
  #checkov:skip=CKV2_AWS_57:A CA certificate, public by nature, put by operators when their CA changes; there is nothing for a rotation Lambda to generate.
  name        = "fraud/${var.environment}/mlflow-ca"
  description = "FRAUD_MLFLOW_CA_BUNDLE: PEM of the CA certificate(s) that sign the MLflow host's TLS certificate (one space = unset)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "mlflow_ca" {
  secret_id     = aws_secretsmanager_secret.mlflow_ca.id
  secret_string = " "

  lifecycle {
    ignore_changes = [secret_string]
  }
}
