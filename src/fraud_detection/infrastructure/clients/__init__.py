"""Sources of the API's clients: a JSON file on disk, or a secret in AWS Secrets Manager."""
