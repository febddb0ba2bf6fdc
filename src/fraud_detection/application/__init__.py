"""Use cases: ingest, validate, train, evaluate, register, promote, manage models. Import only `domain`."""
