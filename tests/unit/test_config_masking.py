"""`fraud config` prints every setting: passwords inside URLs must not be among them."""

import pytest

from fraud_detection.entrypoints.cli.config import shown


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:**@127.0.0.1:6379/0"),
        ("https://alice:s3cr3t@mlflow.example/path", "https://alice:**@mlflow.example/path"),
        ("postgresql://u:p%40ss@db:5432/x", "postgresql://u:**@db:5432/x"),
        ("redis://h:notaport@host:abc/0", "redis://h:**@host:abc/0"),
        # Unencoded `/`, `#` or `?` in a password ended urlsplit's netloc: the rest read as a port or path.
        ("redis://:12/ab@h:6379/0", "redis://:**@h:6379/0"),
        ("postgresql://u:99#x@h/db", "postgresql://u:**@h/db"),
        ("https://u:1?x@h", "https://u:**@h"),
        ("redis://:p@ss@h", "redis://:**@h"),
        ("s3://bucket/a@b", "s3://bucket/a@b"),
        ("https://mlflow.example", "https://mlflow.example"),
        ("s3://bucket/prefix", "s3://bucket/prefix"),
        (None, ""),
        (3.5, "3.5"),
    ],
)
def test_passwords_inside_urls_are_masked(value, printed):
    assert shown(value) == printed
