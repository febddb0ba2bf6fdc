# Keyless CI: GitHub's OIDC tokens are exchanged for short-lived credentials of two narrow roles.
# fraud-github-release (this module): push images, only from release.yml running for main or a v* tag.
# fraud-<env>-github-deploy (modules/github_deploy): roll the services and the Lambda of one environment.
# This module depends on nothing but the ECR repository, so `terraform apply -target=module.ecr
# -target=module.github_oidc` sets up the first release before any image exists; the deploy role names the
# services and the Lambda, which need that image.
#
# Which claims the trust policies check, and why these keys:
# - `sub` (GitHub's default template, no customisation): `repo:<org>/<repo>:ref:<ref>` for a job without an
#   environment (release), `repo:<org>/<repo>:environment:<env>` for a job with one (deploy).
# - `job_workflow_ref` (`<org>/<repo>/.github/workflows/<file>@<ref>`): the workflow file, and the ref it was
#   read from, that runs the job. Without it any other workflow running on main or a tag, or any job that
#   names the environment on any branch, could assume the roles. AWS STS validates it as
#   the condition key `token.actions.githubusercontent.com:job_workflow_ref` since its January 2026 support for
#   provider-specific GitHub claims (actor, job_workflow_ref, ref, environment, repository_id, ...). Before
#   that, IAM saw only aud/sub/amr and the same pinning needed a customised sub template (GitHub API
#   PUT /repos/{owner}/{repo}/actions/oidc/customization/sub with include_claim_keys [repo, context,
#   job_workflow_ref]); it is not needed now, and the default sub keeps the console's and docs' format.
#   A token without the claim fails the condition: StringLike/StringEquals, never an ...IfExists operator.
locals {
  oidc_host    = "token.actions.githubusercontent.com"
  provider_arn = var.create_shared ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn

  release_workflow = "${var.github_repository}/.github/workflows/release.yml"
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_shared ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS validates GitHub through its trusted CAs; the thumbprints are kept because older providers require them.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_shared ? 0 : 1

  url = "https://${local.oidc_host}"
}

# ---------------------------------------------------------------- release role (account-wide)
data "aws_iam_policy_document" "release_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "${local.oidc_host}:sub"
      values = [
        "repo:${var.github_repository}:ref:refs/heads/main",
        "repo:${var.github_repository}:ref:refs/tags/v*",
      ]
    }
    # Only release.yml, read from main or from a v* tag, pushes images.
    condition {
      test     = "StringLike"
      variable = "${local.oidc_host}:job_workflow_ref"
      values = [
        "${local.release_workflow}@refs/heads/main",
        "${local.release_workflow}@refs/tags/v*",
      ]
    }
  }
}

resource "aws_iam_role" "release" {
  count = var.create_shared ? 1 : 0

  name                 = "fraud-github-release"
  assume_role_policy   = data.aws_iam_policy_document.release_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "release" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }

  statement {
    sid = "PushToFraudDetectionOnly"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [var.ecr_repository_arn]
  }
}

resource "aws_iam_role_policy" "release" {
  count = var.create_shared ? 1 : 0

  name   = "push-images"
  role   = aws_iam_role.release[0].id
  policy = data.aws_iam_policy_document.release.json
}
