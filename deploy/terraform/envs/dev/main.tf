provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = "fraud-detection"
      Environment = local.environment
      ManagedBy   = "terraform"
    }
  }
}

locals {
  environment = "dev"
  name_prefix = "fraud-${local.environment}"

  # Sizes of this environment (prod: larger tasks, 2+ API tasks, protection, longer retention).
  sizes = {
    log_retention_days = 30
    api = {
      cpu                  = 512
      memory               = 1024
      min_count            = 1
      max_count            = 3
      cpu_target_percent   = 60
      requests_per_target  = 1000
      scale_in_cooldown_s  = 300
      scale_out_cooldown_s = 60
    }
    worker              = { cpu = 1024, memory = 2048, count = 1 }
    retrain             = { cpu = 2048, memory = 8192 }
    protect             = false
    nat_gateway_per_az  = false
    redis_node_type     = "cache.t4g.small"
    mlflow_instance     = "t3.medium"
    mlflow_disk_gb      = 30
    force_destroy_store = true
    mlflow_db           = { instance_class = "db.t4g.small", storage_gb = 20, backup_days = 7, multi_az = false }
  }

  ecr_repository_url = var.create_shared ? module.ecr[0].repository_url : data.aws_ecr_repository.shared[0].repository_url
  ecr_repository_arn = var.create_shared ? module.ecr[0].repository_arn : data.aws_ecr_repository.shared[0].arn
}

module "observability" {
  source = "../../modules/observability"

  name_prefix        = local.name_prefix
  log_retention_days = local.sizes.log_retention_days
}

module "storage" {
  source = "../../modules/storage"

  name_prefix   = local.name_prefix
  kms_key_arn   = module.observability.kms_key_arn
  force_destroy = local.sizes.force_destroy_store

  predictions_retention_days = var.predictions_retention_days
}

module "ecr" {
  source = "../../modules/ecr"
  count  = var.create_shared ? 1 : 0

  kms_key_arn = module.observability.kms_key_arn
}

data "aws_ecr_repository" "shared" {
  count = var.create_shared ? 0 : 1

  name = "fraud-detection"
}

module "network" {
  source = "../../modules/network"

  name_prefix        = local.name_prefix
  cidr_block         = var.vpc_cidr
  nat_gateway_per_az = local.sizes.nat_gateway_per_az
  flow_log_group_arn = module.observability.log_group_arns["vpc"]
}

module "secrets" {
  source = "../../modules/secrets"

  environment = local.environment
  kms_key_arn = module.observability.kms_key_arn
}

module "redis" {
  source = "../../modules/redis"

  name_prefix               = local.name_prefix
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.ecs.tasks_security_group_id]
  kms_key_arn               = module.observability.kms_key_arn
  node_type                 = local.sizes.redis_node_type
}

module "mlflow_host" {
  source = "../../modules/mlflow_host"

  name_prefix               = local.name_prefix
  vpc_id                    = module.network.vpc_id
  subnet_id                 = module.network.private_subnet_ids[0]
  client_security_group_ids = [module.ecs.tasks_security_group_id]
  admin_cidr                = var.admin_cidr
  artifact_bucket_arn       = module.storage.mlflow_bucket_arn
  kms_key_arn               = module.observability.kms_key_arn
  instance_type             = local.sizes.mlflow_instance
  root_volume_gb            = local.sizes.mlflow_disk_gb
  key_name                  = var.mlflow_key_name
  termination_protection    = local.sizes.protect
  database_cidr             = var.mlflow_rds ? module.network.vpc_cidr_block : null
}

module "mlflow_db" {
  source = "../../modules/mlflow_db"
  count  = var.mlflow_rds ? 1 : 0

  name_prefix               = local.name_prefix
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.mlflow_host.security_group_id]
  kms_key_arn               = module.observability.kms_key_arn
  instance_class            = local.sizes.mlflow_db.instance_class
  allocated_storage_gb      = local.sizes.mlflow_db.storage_gb
  max_allocated_storage_gb  = local.sizes.mlflow_db.storage_gb * 5
  multi_az                  = local.sizes.mlflow_db.multi_az
  backup_retention_days     = local.sizes.mlflow_db.backup_days
  deletion_protection       = local.sizes.protect
  log_retention_days        = local.sizes.log_retention_days
}

module "ecs" {
  source = "../../modules/ecs"

  name_prefix                  = local.name_prefix
  vpc_id                       = module.network.vpc_id
  vpc_cidr_block               = module.network.vpc_cidr_block
  public_subnet_ids            = module.network.public_subnet_ids
  private_subnet_ids           = module.network.private_subnet_ids
  certificate_arn              = var.certificate_arn
  alb_ingress_cidrs            = var.alb_ingress_cidrs
  allow_public_ingress         = var.allow_public_ingress
  waf_rate_limit               = var.waf_rate_limit
  metrics_scraper_sg_ids       = var.metrics_scraper_security_group_ids
  logs_bucket_name             = module.storage.logs_bucket_name
  image_repository_url         = local.ecr_repository_url
  image_repository_arn         = local.ecr_repository_arn
  image_tag                    = var.image_tag
  data_bucket_name             = module.storage.data_bucket_name
  data_bucket_arn              = module.storage.data_bucket_arn
  kms_key_arn                  = module.observability.kms_key_arn
  event_bus_name               = module.events.bus_name
  event_bus_arn                = module.events.bus_arn
  log_group_names              = module.observability.log_group_names
  log_group_arns               = module.observability.log_group_arns
  admin_token_secret_arn       = module.secrets.admin_token_secret_arn
  mlflow_basic_auth_secret_arn = module.secrets.mlflow_basic_auth_secret_arn
  mlflow_reader_secret_arn     = module.secrets.mlflow_reader_secret_arn
  mlflow_ca_secret_arn         = module.secrets.mlflow_ca_secret_arn
  api_clients_secret_arn       = module.secrets.api_clients_secret_arn
  redis_urls_secret_arn        = module.redis.urls_secret_arn
  mlflow_tracking_uri          = "https://${module.mlflow_host.private_dns}"
  extra_environment            = var.extra_environment
  api                          = local.sizes.api
  worker                       = local.sizes.worker
  retrain                      = local.sizes.retrain
  deletion_protection          = local.sizes.protect
}

module "lambda_drift" {
  source = "../../modules/lambda_drift"

  name_prefix          = local.name_prefix
  vpc_id               = module.network.vpc_id
  private_subnet_ids   = module.network.private_subnet_ids
  image_repository_url = local.ecr_repository_url
  image_tag            = var.image_tag
  data_bucket_name     = module.storage.data_bucket_name
  data_bucket_arn      = module.storage.data_bucket_arn
  kms_key_arn          = module.observability.kms_key_arn
  event_bus_name       = module.events.bus_name
  event_bus_arn        = module.events.bus_arn
  log_group_arn        = module.observability.log_group_arns["lambda"]
  # The drift check runs here, not in ECS: its settings in extra_environment would otherwise change nothing.
  settings = {
    for name, value in var.extra_environment : name => value
    if startswith(name, "FRAUD_DRIFT_") || name == "FRAUD_MODEL_NAME"
  }
}

module "events" {
  source = "../../modules/events"

  name_prefix             = local.name_prefix
  cluster_arn             = module.ecs.cluster_arn
  retrain_task_family     = module.ecs.task_definition_families["retrain"]
  retrain_role_arns       = [module.ecs.task_role_arns["retrain"], module.ecs.execution_role_arn]
  private_subnet_ids      = module.network.private_subnet_ids
  tasks_security_group_id = module.ecs.tasks_security_group_id
  drift_function_arn      = module.lambda_drift.function_arn
  drift_function_name     = module.lambda_drift.function_name
  events_log_group_arn    = module.observability.log_group_arns["events"]
  kms_key_arn             = module.observability.kms_key_arn
}

module "alarms" {
  source = "../../modules/alarms"

  name_prefix              = local.name_prefix
  kms_key_arn              = module.observability.kms_key_arn
  notification_emails      = var.alarm_emails
  cluster_arn              = module.ecs.cluster_arn
  cluster_name             = module.ecs.cluster_name
  retrain_task_family      = module.ecs.task_definition_families["retrain"]
  service_arns             = module.ecs.service_arns
  service_names            = module.ecs.service_names
  load_balancer_arn_suffix = module.ecs.load_balancer_arn_suffix
  target_group_arn_suffix  = module.ecs.target_group_arn_suffix
  mlflow_instance_id       = module.mlflow_host.instance_id
  redis_node_count         = module.redis.node_count
  redis_node_ids           = module.redis.node_ids
  dead_letter_queue_arn    = module.events.dead_letter_queue_arn
  dead_letter_queues = {
    events      = module.events.dead_letter_queue_name
    drift-check = module.lambda_drift.dead_letter_queue_name
  }
}

# The provider and the release role depend on the repository alone: step 2 of the deploy order applies them
# with `-target=module.ecr -target=module.github_oidc` before the first image exists.
module "github_oidc" {
  source = "../../modules/github_oidc"

  github_repository  = var.github_repository
  create_shared      = var.create_shared
  ecr_repository_arn = local.ecr_repository_arn
}

module "github_deploy" {
  source = "../../modules/github_deploy"

  environment         = local.environment
  github_repository   = var.github_repository
  oidc_provider_arn   = module.github_oidc.provider_arn
  ecr_repository_arn  = local.ecr_repository_arn
  ecs_service_arns    = values(module.ecs.service_arns)
  pass_role_arns      = concat(values(module.ecs.task_role_arns), [module.ecs.execution_role_arn])
  lambda_function_arn = module.lambda_drift.function_arn

  image_tag_parameter_arn = module.ecs.deployed_image_tag_parameter_arn
}

# The deploy role lived in module.github_oidc until it moved to its own module: keep it, do not recreate it.
moved {
  from = module.github_oidc.aws_iam_role.deploy
  to   = module.github_deploy.aws_iam_role.deploy
}

moved {
  from = module.github_oidc.aws_iam_role_policy.deploy
  to   = module.github_deploy.aws_iam_role_policy.deploy
}
