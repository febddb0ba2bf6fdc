"""Adapters: each subpackage implements domain ports with one vendor library or service."""
