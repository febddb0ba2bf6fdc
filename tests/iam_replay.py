"""S3 requests recorded from real code (under moto, which enforces no IAM) checked against the statements of
a Terraform policy document: what AWS would have refused."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

S3_ACTIONS = {
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "ListObjectsV2": "s3:ListBucket",
    "PutObject": "s3:PutObject", "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject", "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject", "DeleteObjects": "s3:DeleteObject",
}  # fmt: skip
Request = tuple[str, dict[str, Any]]  # (operation, parameters), as botocore's _make_api_call receives them


def allowed(statements: list[dict[str, Any]], action: str, resource: str, prefix: str | None) -> bool:
    for statement in statements:
        prefixes = [c["values"] for c in statement.get("condition", []) if c["variable"] == "s3:prefix"]
        if (
            action in statement["actions"]
            and any(fnmatchcase(resource, pattern) for pattern in statement["resources"])
            and all(prefix is not None and any(fnmatchcase(prefix, v) for v in values) for values in prefixes)
        ):
            return True
    return False


def refused(statements: list[dict[str, Any]], requests: list[Request]) -> list[str]:
    """`<operation> <key or prefix>` of every request no statement allows."""
    found = []
    for operation, params in requests:
        keys = (
            [o["Key"] for o in params["Delete"]["Objects"]]
            if operation == "DeleteObjects"
            else [params.get("Key")]
        )
        for key in keys:
            resource = f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else "")
            prefix = params.get("Prefix") if operation == "ListObjectsV2" else None
            if not allowed(statements, S3_ACTIONS[operation], resource, prefix):
                found.append(f"{operation} {key or prefix}")
    return sorted(set(found))


def record_s3_requests(monkeypatch: Any) -> list[Request]:
    """Every S3 request made from now on (every client), appended as it is sent."""
    from botocore.client import BaseClient

    requests: list[Request] = []
    call = BaseClient._make_api_call

    def recorded(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "s3":
            requests.append((operation, params))
        return call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return requests


def policy_statements(module: str, document: str, arns: dict[str, str]) -> list[dict[str, Any]]:
    """The statements of `data "aws_iam_policy_document" "<document>"` in deploy/terraform/modules/<module>/
    main.tf, with those of the documents it names in `source_policy_documents`, each Terraform reference
    of `arns` replaced by its value (`${var.data_bucket_arn}` -> an ARN)."""
    import json
    import re

    from tests.fixtures.terraform_files import MODULES, typed_blocks

    documents = {
        name: body for kind, name, body in typed_blocks(MODULES / module / "main.tf", "data")
        if kind == "aws_iam_policy_document"
    }  # fmt: skip
    policy = documents[document]
    statements = list(policy.get("statement", []))
    for source in policy.get("source_policy_documents", []):
        (named,) = re.findall(r"aws_iam_policy_document\.(\w+)\.json", source)
        statements += policy_statements(module, named, {})
    text = json.dumps(statements)
    for reference, value in arns.items():
        text = text.replace(reference, value)
    return list(json.loads(text))
