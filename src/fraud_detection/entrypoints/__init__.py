"""Entrypoints: the `fraud` CLI (cli/), the HTTP scoring API (api/) and the drift-check Lambda handler
(lambda_drift.py). No business rules here."""
