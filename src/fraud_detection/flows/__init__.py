"""Prefect 3 flows: thin orchestration over the use cases (tasks hold no business rules)."""
