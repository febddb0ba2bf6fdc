# ECS Fargate: the API behind an HTTPS ALB (autoscaled on CPU and on requests per task), the Celery batch
# worker, and the retrain task definition that EventBridge runs. Terraform creates the first task definition
# revisions; the deploy workflow registers later ones, hence `ignore_changes = [task_definition]`, and records
# the image it rolled out in an SSM parameter that Terraform's own revisions read.
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# The image tag the deploy workflow last rolled out: it writes this parameter after each deploy, Terraform
# creates it with `image_tag` and never writes it again. The task definitions read it back, so an apply that
# registers new revisions (an environment variable, a size, a secret changed) keeps the deployed code: with
# `image_tag` alone it put the api, worker and retrain families (the scheduled retrain, rollout evaluation
# and abort run the latest revision) back on the first release's image until the next deploy.
resource "aws_ssm_parameter" "deployed_image_tag" {
  #checkov:skip=CKV2_AWS_34:An image tag is public information (it names a commit), not a secret to encrypt.
  name        = "/${var.name_prefix}/deployed-image-tag"
  description = "Image tag the deploy workflow last rolled out; Terraform's task definitions use it."
  type        = "String"
  value       = var.image_tag

  lifecycle {
    ignore_changes = [value] # the deploy workflow's to write
  }
}

data "aws_ssm_parameter" "deployed_image_tag" {
  name = aws_ssm_parameter.deployed_image_tag.name
}

locals {
  image = "${var.image_repository_url}:${data.aws_ssm_parameter.deployed_image_tag.insecure_value}"

  # Paths the API serves that the internet must not reach (OpenAPI documents, Prometheus metrics).
  internal_paths         = ["/docs", "/redoc", "/openapi.json", "/metrics"]
  internal_path_patterns = [for path in local.internal_paths : "${path}*"]

  environment = merge(
    {
      FRAUD_STORAGE_URI                = "s3://${var.data_bucket_name}/fraud"
      FRAUD_BATCH_INPUT_ROOTS          = "s3://${var.data_bucket_name}/batch/in"
      FRAUD_BATCH_OUTPUT_ROOTS         = "s3://${var.data_bucket_name}/batch/out"
      FRAUD_AWS_REGION                 = data.aws_region.current.name
      FRAUD_EVENT_BUS                  = var.event_bus_name
      MLFLOW_TRACKING_URI              = var.mlflow_tracking_uri
      MLFLOW_DISABLE_TELEMETRY         = "true"
      DO_NOT_TRACK                     = "true"
      PREFECT_SERVER_ANALYTICS_ENABLED = "false"
    },
    var.extra_environment,
  )

  redis_secrets = {
    FRAUD_BROKER_URL   = "${var.redis_urls_secret_arn}:broker_url::"
    FRAUD_FEEDBACK_URL = "${var.redis_urls_secret_arn}:feedback_url::"
  }

  # Two MLflow identities: the API and the batch workers only read the registry (champion alias, versions,
  # artifacts), so they get the read-only user; only the retrain task, which logs runs and registers
  # versions, gets the writer. nginx on the MLflow host enforces the difference (deploy/ansible).
  mlflow_reader_secrets = {
    MLFLOW_TRACKING_USERNAME = "${var.mlflow_reader_secret_arn}:username::"
    MLFLOW_TRACKING_PASSWORD = "${var.mlflow_reader_secret_arn}:password::"
  }
  mlflow_writer_secrets = {
    MLFLOW_TRACKING_USERNAME = "${var.mlflow_basic_auth_secret_arn}:username::"
    MLFLOW_TRACKING_PASSWORD = "${var.mlflow_basic_auth_secret_arn}:password::"
  }
  # Every container verifies the MLflow host's certificate with this CA (the process writes it to a private
  # file and points MLFLOW_TRACKING_SERVER_CERT_PATH at it, unless extra_environment sets that path).
  mlflow_ca_secrets = {
    FRAUD_MLFLOW_CA_BUNDLE = var.mlflow_ca_secret_arn
  }

  # What `GET /admin/rollout` may read in an API task, from the task's memory: three quarters of what is
  # left after 600 MiB for the API itself, at the ~112 bytes a captured row benchmarks/captured_reads.py
  # measured (dev's 1 GiB: 3.0M rows; prod's 2 GiB: 10.2M). 600 MiB: single scores keep it at 337-362 MiB
  # (benchmarks/serve_soak.py), but batch traffic leaves it at 530-545 MiB, 582 at its peak (a load probe;
  # serve_batch_load.py: 593); with 400 a dev task's full status reached ~1,020 of its 1,024 MiB.
  # `extra_environment` may still set it.
  status_max_rows = floor((var.api.memory - 600) * 0.75 * 1048576 / 112)

  # Settings only one container has: the API authenticates its clients from Secrets Manager (task role) and
  # bounds the rollout evidence it gathers next to its traffic.
  container_environment = {
    api = {
      FRAUD_API_CLIENTS_SECRET      = var.api_clients_secret_arn
      FRAUD_ROLLOUT_STATUS_MAX_ROWS = lookup(var.extra_environment, "FRAUD_ROLLOUT_STATUS_MAX_ROWS", tostring(local.status_max_rows))
    }
    worker  = {}
    retrain = {}
  }

  containers = {
    api = {
      command = null
      ports   = [8000]
      secrets = merge(local.redis_secrets, local.mlflow_reader_secrets, local.mlflow_ca_secrets, { FRAUD_ADMIN_TOKEN = var.admin_token_secret_arn })
      cpu     = var.api.cpu
      memory  = var.api.memory
    }
    worker = {
      # /metrics on all interfaces (the default is loopback): Prometheus scrapes the task from the VPC.
      command = ["fraud", "worker", "--concurrency", "2", "--metrics-port", "9100", "--metrics-host", "0.0.0.0"]
      ports   = [9100]
      secrets = merge(local.redis_secrets, local.mlflow_reader_secrets, local.mlflow_ca_secrets)
      cpu     = var.worker.cpu
      memory  = var.worker.memory
    }
    retrain = {
      command = ["fraud", "retrain", "--reason", "event"]
      ports   = []
      secrets = merge(local.redis_secrets, local.mlflow_writer_secrets, local.mlflow_ca_secrets)
      cpu     = var.retrain.cpu
      memory  = var.retrain.memory
    }
  }
}

resource "aws_ecs_cluster" "main" {
  name = var.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# ---------------------------------------------------------------- IAM
data "aws_iam_policy_document" "tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Execution role: what ECS itself needs to start a task (pull the image, write logs, inject the secrets).
resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.tasks_trust.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }

  statement {
    sid       = "PullServiceImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [var.image_repository_arn]
  }

  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for key in keys(local.containers) : "${var.log_group_arns[key]}:*"]
  }

  statement {
    sid     = "ReadOwnSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      var.admin_token_secret_arn,
      var.mlflow_basic_auth_secret_arn,
      var.mlflow_ca_secret_arn,
      var.mlflow_reader_secret_arn,
      var.redis_urls_secret_arn,
    ]
  }

  statement {
    sid       = "DecryptOwnSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-tasks"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Task roles: what the application code does (the object store under fraud/, the event bus), each role
# what its task needs (tests/integration/test_task_roles.py replays the API's and a worker's S3 requests
# against these documents). The internet-facing API used to share the retrain task's policy: a compromise
# of it could rewrite the training datasets (fraud/raw/) and reports that the retrain task trusts.
resource "aws_iam_role" "task" {
  for_each = local.containers

  name               = "${var.name_prefix}-${each.key}-task"
  assume_role_policy = data.aws_iam_policy_document.tasks_trust.json
}

# What every task does besides its share of the bucket: the data key through S3, and domain events.
data "aws_iam_policy_document" "task_common" {
  statement {
    sid       = "UseDataBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }

  statement {
    sid       = "PublishDomainEvents"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]
  }
}

# Batch jobs (FRAUD_BATCH_*_ROOTS), for the workers and the retrain family: read inputs, create outputs;
# never delete or overwrite either (the app writes outputs with If-None-Match: *; no DeleteObject here).
data "aws_iam_policy_document" "batch_files" {
  statement {
    sid       = "ReadBatchInputs"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/batch/in/*"]
  }

  statement {
    sid       = "WriteBatchOutputs"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.data_bucket_arn}/batch/out/*"]
  }
}

# The retrain task: every command of the retrain family (retrain, quality measure, rollout evaluate, batch
# sweep) reads and writes the store (datasets, reports, profiles, captured predictions, job records).
data "aws_iam_policy_document" "task" {
  source_policy_documents = [
    data.aws_iam_policy_document.task_common.json, data.aws_iam_policy_document.batch_files.json,
  ]

  statement {
    sid       = "ListObjectStore"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["fraud/*", "fraud", "batch/in/*", "batch/out/*"]
    }
  }

  statement {
    sid       = "ReadWriteObjectStore"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${var.data_bucket_arn}/fraud/*"]
  }
}

# The API: captures what it scores (served and dark rows), records and cancels batch jobs (their files are
# the workers'), reads the drift and quality reports for its metrics and the captured rows for a rollout's
# evidence. Nothing of the datasets, reference profiles or rollout reports.
data "aws_iam_policy_document" "api_task" {
  source_policy_documents = [data.aws_iam_policy_document.task_common.json]

  # Every prefix it reads: a read of a missing key may answer 403 to a role that may not list it (S3 tells
  # 404 only to a lister), and the store then lists the key to tell (infrastructure/s3/object_store.py).
  statement {
    sid       = "ListWhatItReads"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "fraud/predictions/*", "fraud/shadow/*", "fraud/jobs/*", "fraud/job-index/*", "fraud/drift/*",
        "fraud/quality/*",
      ]
    }
  }

  statement {
    sid       = "CaptureScoredRows" # written once, read for rollout evidence; expired by the bucket's rule
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.data_bucket_arn}/fraud/predictions/*", "${var.data_bucket_arn}/fraud/shadow/*"]
  }

  statement {
    sid       = "RecordJobs" # submit, status, cancel (which removes the job's staged chunks)
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.data_bucket_arn}/fraud/jobs/*", "${var.data_bucket_arn}/fraud/job-index/*"]
  }

  statement {
    sid       = "ReadReports"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/fraud/drift/*", "${var.data_bucket_arn}/fraud/quality/*"]
  }
}

# A batch worker: job records, inputs read, outputs created; the sweep of stalled jobs.
data "aws_iam_policy_document" "worker_task" {
  source_policy_documents = [
    data.aws_iam_policy_document.task_common.json, data.aws_iam_policy_document.batch_files.json,
  ]

  statement {
    sid       = "ListJobsAndInputs"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["fraud/jobs/*", "fraud/job-index/*", "batch/in/*", "batch/out/*"]
    }
  }

  statement {
    sid       = "RecordJobs" # plans, staged chunks, parts, marks, outcomes; removed when a job ends
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${var.data_bucket_arn}/fraud/jobs/*", "${var.data_bucket_arn}/fraud/job-index/*"]
  }
}

locals {
  task_policies = {
    api     = data.aws_iam_policy_document.api_task.json
    worker  = data.aws_iam_policy_document.worker_task.json
    retrain = data.aws_iam_policy_document.task.json
  }
}

resource "aws_iam_role_policy" "task" {
  for_each = aws_iam_role.task

  name   = "application"
  role   = each.value.id
  policy = local.task_policies[each.key]
}

# The API alone reads its clients document at run time (the key digests it authenticates callers with).
data "aws_iam_policy_document" "api_clients" {
  statement {
    sid       = "ReadApiClients"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.api_clients_secret_arn]
  }

  statement {
    sid       = "DecryptApiClients"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "api_clients" {
  name   = "api-clients"
  role   = aws_iam_role.task["api"].id
  policy = data.aws_iam_policy_document.api_clients.json
}

# ---------------------------------------------------------------- network
resource "aws_security_group" "alb" {
  name        = "${var.name_prefix}-alb"
  description = "API load balancer: HTTPS in, the API port out"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTPS from the allowed callers"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.alb_ingress_cidrs
  }

  egress {
    description = "To the API tasks"
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }

  lifecycle {
    # Nobody opens the API to the internet by accident: 0.0.0.0/0, or any range wider than a /8 (such as
    # 0.0.0.0/1 + 128.0.0.0/1), needs allow_public_ingress = true. A precondition, not a variable validation:
    # validations may not read another variable before Terraform 1.9.
    precondition {
      condition     = var.allow_public_ingress || alltrue([for cidr in var.alb_ingress_cidrs : tonumber(split("/", cidr)[1]) >= 8])
      error_message = "alb_ingress_cidrs opens the API to the internet (0.0.0.0/0 or wider than /8): list your callers' ranges, or set allow_public_ingress = true on purpose."
    }
  }
}

resource "aws_security_group" "tasks" {
  name        = "${var.name_prefix}-tasks"
  description = "ECS tasks: the API port from the ALB; HTTPS and Redis out"
  vpc_id      = var.vpc_id

  ingress {
    description     = "API from the load balancer"
    from_port       = 8000
    to_port         = 8000
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }

  # /metrics is not reachable through the load balancer (listener rule and WAF below): Prometheus scrapes
  # the tasks directly from inside the VPC, from the security groups named here (none by default).
  dynamic "ingress" {
    for_each = { for name, port in { api = 8000, worker = 9100 } : name => port if length(var.metrics_scraper_sg_ids) > 0 }
    content {
      description     = "Prometheus scrape of the ${ingress.key} /metrics"
      from_port       = ingress.value
      to_port         = ingress.value
      protocol        = "tcp"
      security_groups = var.metrics_scraper_sg_ids
    }
  }

  egress {
    description = "HTTPS: S3, ECR, EventBridge, Secrets Manager, MLflow"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "Redis (TLS) inside the VPC"
    from_port   = 6379
    to_port     = 6379
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
}

# ---------------------------------------------------------------- load balancer
resource "aws_lb" "api" {
  name                       = "${var.name_prefix}-api"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = var.logs_bucket_name
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "api" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; ALB to task traffic stays inside the VPC's private subnets.
  name                 = "${var.name_prefix}-api"
  target_type          = "ip"
  port                 = 8000
  protocol             = "HTTP"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

# The API's documentation and metrics are not for the internet: the load balancer answers 404 itself for
# /docs, /redoc, /openapi.json and /metrics (and anything below them). Prometheus scrapes the tasks directly
# inside the VPC (metrics_scraper_sg_ids); the WAF rule below also catches encoded variants.
resource "aws_lb_listener_rule" "hide_internal_paths" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      message_body = jsonencode({ detail = "Not Found" })
      status_code  = "404"
    }
  }

  condition {
    path_pattern {
      values = local.internal_path_patterns
    }
  }
}

# ---------------------------------------------------------------- task definitions
resource "aws_ecs_task_definition" "main" {
  #checkov:skip=CKV_AWS_336:The app writes model caches and temporary Parquet under FRAUD_HOME; Fargate has no tmpfs, so the root stays writable for the non-root user.
  for_each = local.containers

  family                   = "${var.name_prefix}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task[each.key].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    merge(
      {
        name         = each.key
        image        = local.image
        essential    = true
        environment  = [for name, value in merge(local.environment, local.container_environment[each.key]) : { name = name, value = value }]
        secrets      = [for name in sort(keys(each.value.secrets)) : { name = name, valueFrom = each.value.secrets[name] }]
        portMappings = [for port in each.value.ports : { containerPort = port, protocol = "tcp" }]
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = var.log_group_names[each.key]
            awslogs-region        = data.aws_region.current.name
            awslogs-stream-prefix = each.key
          }
        }
      },
      { for key, value in { command = each.value.command } : key => value if value != null },
    )
  ])
}

# ---------------------------------------------------------------- services
resource "aws_ecs_service" "api" {
  name                              = "${var.name_prefix}-api"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.main["api"].arn
  desired_count                     = var.api.min_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 120
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8000
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_service" "worker" {
  name             = "${var.name_prefix}-worker"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.main["worker"].arn
  desired_count    = var.worker.count
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  propagate_tags   = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }
}

# ---------------------------------------------------------------- autoscaling of the API
resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.api.min_count
  max_capacity       = var.api.max_count
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${var.name_prefix}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.api.cpu_target_percent
    scale_in_cooldown  = var.api.scale_in_cooldown_s
    scale_out_cooldown = var.api.scale_out_cooldown_s

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "api_requests" {
  name               = "${var.name_prefix}-api-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.api.requests_per_target
    scale_in_cooldown  = var.api.scale_in_cooldown_s
    scale_out_cooldown = var.api.scale_out_cooldown_s

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.api.arn_suffix}/${aws_lb_target_group.api.arn_suffix}"
    }
  }
}
