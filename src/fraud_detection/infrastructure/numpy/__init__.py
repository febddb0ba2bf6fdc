"""Adapters that need nothing beyond NumPy and the standard library."""
