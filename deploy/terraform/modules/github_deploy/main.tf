# fraud-<env>-github-deploy: roll the services and the Lambda of one environment, only from deploy.yml as it is
# on main, in a job of the GitHub environment `<env>` (prod's required reviewers approve that job). The
# claims checked, and why, are explained in modules/github_oidc, which holds the OIDC provider.
locals {
  oidc_host       = "token.actions.githubusercontent.com"
  deploy_workflow = "${var.github_repository}/.github/workflows/deploy.yml"
}

data "aws_iam_policy_document" "deploy_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.environment}"]
    }
    # Only deploy.yml as it is on main deploys, to dev (after a release of main) as to prod: a branch with an
    # edited deploy.yml, or any other workflow naming the environment, gets no credentials. For prod this is
    # the mandatory main-only branch policy, whatever the repository's environment settings say.
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:job_workflow_ref"
      values   = ["${local.deploy_workflow}@refs/heads/main"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "fraud-${var.environment}-github-deploy"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "TaskDefinitions"
    actions   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
    resources = ["*"] # neither action supports resource-level permissions
  }

  statement {
    sid       = "RollOwnServices"
    actions   = ["ecs:UpdateService", "ecs:DescribeServices"]
    resources = var.ecs_service_arns
  }

  statement {
    sid       = "PassOwnTaskRoles"
    actions   = ["iam:PassRole"]
    resources = var.pass_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "UpdateDriftLambdaImage"
    actions   = ["lambda:UpdateFunctionCode", "lambda:GetFunction", "lambda:GetFunctionConfiguration"]
    resources = [var.lambda_function_arn]
  }

  statement {
    sid       = "RecordDeployedImage"
    actions   = ["ssm:PutParameter"]
    resources = [var.image_tag_parameter_arn]
  }

  statement {
    sid       = "ReadReleasedImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"]
    resources = [var.ecr_repository_arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-${var.environment}"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
