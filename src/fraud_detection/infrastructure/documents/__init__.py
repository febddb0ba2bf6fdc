"""Small JSON documents in the shared ObjectStore (local folder or S3, whichever is configured): the
reports (validation, quality, drift), reference profiles and batch job records.
"""
