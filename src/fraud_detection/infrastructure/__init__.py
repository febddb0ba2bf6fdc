"""Adapters, grouped by the vendor library or service they speak to (one subpackage each).

arrow/ (pyarrow: Parquet and CSV files: datasets, prediction log, batch files, transaction sources),
s3/ (the S3 API), aws/ (EventBridge, Secrets Manager), mlflow/, lightgbm/, great_expectations/, celery/,
redis/ and sqlite/ (feedback stores), prometheus/ (every metric and collector), matplotlib/ (charts),
numpy/ (closed-form distribution tests), documents/ (JSON documents in whichever ObjectStore is
configured) and local/ (this host: its disk, processes and threads; the embedded mode). A feature served
by several vendors has one module in each (the feedback store: sqlite/ and redis/).
"""
