# The MLflow host: nginx (TLS + basic auth) on 443 in front of `mlflow server` on 127.0.0.1:5000, configured
# by deploy/ansible. Terraform only provides the machine, its network boundary and its bucket access.
data "aws_ssm_parameter" "ami" {
  name = var.ami_ssm_parameter
}

data "aws_region" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "host" {
  name               = "${var.name_prefix}-mlflow"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "artifacts" {
  statement {
    sid       = "ListArtifactBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.artifact_bucket_arn]
  }

  statement {
    sid       = "ReadWriteArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.artifact_bucket_arn}/*"]
  }

  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals" # this region's S3 only, as every other role's grant on the key
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "artifacts" {
  name   = "mlflow-artifact-bucket"
  role   = aws_iam_role.host.id
  policy = data.aws_iam_policy_document.artifacts.json
}

resource "aws_iam_instance_profile" "host" {
  name = "${var.name_prefix}-mlflow"
  role = aws_iam_role.host.name
}

resource "aws_security_group" "host" {
  name        = "${var.name_prefix}-mlflow"
  description = "MLflow host: 443 from the ECS tasks and the admin CIDR, SSH from the admin CIDR only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "MLflow over HTTPS from the ECS tasks"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }

  ingress {
    description = "MLflow UI over HTTPS from the admin CIDR"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.admin_cidr]
  }

  ingress {
    description = "SSH (Ansible) from the admin CIDR only"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.admin_cidr]
  }

  egress {
    description = "HTTPS out: S3 (gateway endpoint), package mirrors, PyPI"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "HTTP out: Debian package mirrors"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  # Inline, not a rule resource of the database module: inline rules own the group's egress, and Terraform
  # would delete a rule added from outside on the next apply.
  dynamic "egress" {
    for_each = var.database_cidr == null ? [] : [var.database_cidr]
    content {
      description = "PostgreSQL out: the RDS backend store (its own group admits this host only)"
      from_port   = 5432
      to_port     = 5432
      protocol    = "tcp"
      cidr_blocks = [egress.value]
    }
  }
}

resource "aws_instance" "host" {
  ami                         = data.aws_ssm_parameter.ami.value
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.host.id]
  iam_instance_profile        = aws_iam_instance_profile.host.name
  key_name                    = var.key_name
  associate_public_ip_address = false
  ebs_optimized               = true
  monitoring                  = true
  disable_api_termination     = var.termination_protection

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_gb
    encrypted   = true
    kms_key_id  = var.kms_key_arn
    # With the local PostgreSQL (no RDS: dev's default) the volume holds the model registry: it outlives a
    # terminated or replaced instance (it was deleted with it), to be attached and restored from by hand.
    delete_on_termination = var.database_cidr != null
  }

  tags = { Name = "${var.name_prefix}-mlflow" }

  lifecycle {
    ignore_changes = [ami] # a new AMI is an explicit replacement, not a side effect of a plan
  }
}
