"""Entrypoints: the `fraud` CLI (and later the HTTP API and Lambda handler). No business rules here."""
