"""SQLite adapters: the default feedback store, one file under FRAUD_HOME."""
