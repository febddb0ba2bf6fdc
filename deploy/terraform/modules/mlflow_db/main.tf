# The MLflow backend store on RDS PostgreSQL, for environments that should not keep the registry on one
# instance's disk (prod by default): Multi-AZ, automated backups, KMS at rest, TLS required. Only the MLflow
# host reaches it. The master password lives in an RDS-managed secret (RDS rotates it); Ansible uses it once
# to create the `mlflow` role and database, which the server then logs in with (deploy/ansible, README).
locals {
  identifier = "${var.name_prefix}-mlflow-db"
  # RDS creates these on first export unless they exist: made here first, with retention and KMS.
  log_exports = ["postgresql", "upgrade"]
}

resource "aws_security_group" "db" {
  name        = local.identifier
  description = "MLflow backend store: PostgreSQL 5432 from the MLflow host only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "PostgreSQL (TLS) from the MLflow host"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

resource "aws_db_subnet_group" "db" {
  name       = local.identifier
  subnet_ids = var.subnet_ids
}

resource "aws_db_parameter_group" "db" {
  name_prefix = "${local.identifier}-"
  family      = "postgres${var.engine_major_version}"
  description = "${local.identifier}: TLS only, slow statements logged"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # Statements slower than 1 s are logged (MLflow's searches are the ones to watch). Not `ddl` or `all`:
  # Ansible's `ALTER ROLE ... PASSWORD '...'` would be written to CloudWatch Logs in clear.
  parameter {
    name  = "log_statement"
    value = "none"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${local.identifier}-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_trust.json
}

data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_cloudwatch_log_group" "db" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable: dev keeps 30 days on purpose (cost), prod 365.
  for_each = toset(local.log_exports)

  name              = "/aws/rds/instance/${local.identifier}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_db_instance" "db" {
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_major_version
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  # No database here: Ansible creates `mlflow`, owned by the role MLflow logs in with.
  username                      = "mlflow_admin"
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.db.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.db.name
  publicly_accessible    = false
  multi_az               = var.multi_az
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  apply_immediately                   = false
  maintenance_window                  = "Sun:04:00-Sun:05:00" # after the nightly retrain (03:00 UTC)
  backup_window                       = "01:00-02:00"
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  delete_automated_backups            = false
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = !var.deletion_protection
  final_snapshot_identifier           = "${local.identifier}-final"

  enabled_cloudwatch_logs_exports       = local.log_exports
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7

  depends_on = [aws_cloudwatch_log_group.db, aws_iam_role_policy_attachment.monitoring]
}
