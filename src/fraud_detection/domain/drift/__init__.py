"""Drift monitoring: reference profiles, per-column statistics, the decision rule and the report."""
