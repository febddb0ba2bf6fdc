"""Celery app and batch-scoring tasks (thin calls into use cases); see the batch-scoring issue."""
