"""The scoring service: FastAPI app over the serving use cases (no business rules here)."""
