"""Credit-card fraud detection pipeline (hexagonal: domain, application, infrastructure, entrypoints)."""

__version__ = "0.1.0"
