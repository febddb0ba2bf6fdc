"""Prometheus metrics of the scoring service (names follow Prometheus conventions: _total, _seconds)."""
