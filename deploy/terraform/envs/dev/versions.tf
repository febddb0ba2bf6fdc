terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State lives in S3 with a DynamoDB lock table, both created once per account beforehand (README:
  # "Backend bootstrap"). Uncomment and pass the names at init time, one key per environment:
  #   terraform init \
  #     -backend-config="bucket=<state bucket>" \
  #     -backend-config="key=fraud/ENV/terraform.tfstate" \
  #     -backend-config="region=eu-west-1" \
  #     -backend-config="dynamodb_table=<lock table>" \
  #     -backend-config="encrypt=true"
  # backend "s3" {}
}
