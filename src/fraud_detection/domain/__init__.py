"""Entities, value objects, policies and ports. Imports only the standard library, numpy and pandas."""
