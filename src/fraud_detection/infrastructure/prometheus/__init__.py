"""Prometheus metrics (names follow Prometheus conventions: _total, _seconds): the scoring
service's metrics and its report collectors, and the batch workers' metrics and /metrics server.
"""
