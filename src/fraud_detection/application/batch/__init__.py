"""Batch scoring jobs: submit, prepare (stage + plan), score chunks, commit, cancel, report status."""
