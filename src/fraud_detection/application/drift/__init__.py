"""Drift use cases: store a reference profile at training time, check a window of captured predictions."""
