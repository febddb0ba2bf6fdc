"""AWS services other than S3 (boto3): EventBridge for domain events, Secrets Manager for the API
clients document. S3 has its own package (s3/): it also serves S3-compatible servers.
"""
