"""Apache Arrow (pyarrow) adapters: Parquet and CSV files, on local disk or in an object store.

dataset_store.py (datasets by content hash), prediction_log/ (captured predictions, their reader and the
drift window over them), batch/ (batch-scoring inputs, staged chunks and outputs), sources/ (raw
transactions from CSV/Parquet files, s3:// and kaggle://).
"""
