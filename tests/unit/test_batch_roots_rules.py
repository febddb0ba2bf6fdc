"""Batch roots, rule by rule: what counts as a relative path, how roots are normalised, containment by whole
segments, the uniform refusal naming the configured roots, and the state-overlap check's advice."""

import pytest

from fraud_detection.domain.batch_roots import (
    BatchRoots,
    Direction,
    check_roots,
    inside,
    is_relative_path,
    normalize_root,
)
from fraud_detection.domain.errors import LocationNotAllowedError

IN, OUT = Direction.INPUT, Direction.OUTPUT


def batch_roots() -> BatchRoots:
    return BatchRoots(("/srv/batch/in", "s3://lake/in"), ("/srv/batch/out/", "s3://lake/out/scores"))


@pytest.mark.parametrize("uri", ["day.csv", "in/day.csv", "../in/day.csv", "./day.csv"])
def test_a_path_without_a_leading_slash_or_scheme_is_relative(uri: str) -> None:
    assert is_relative_path(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "   ",
        "/srv/batch/in/day.csv",
        "file:/srv/batch/in/day.csv",  # a file URI without an authority is absolute too
        "file:///srv/batch/in/day.csv",
        "s3://lake/in/day.csv",
        "http://169.254.169.254/latest",
    ],
)
def test_absolute_paths_uris_and_blank_text_are_not_relative(uri: str) -> None:
    assert not is_relative_path(uri)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("s3://lake/a/b", "s3://lake/a/b/"),
        ("s3://lake/a//b/", "s3://lake/a/b/"),
        ("/srv/./batch/in", "/srv/batch/in"),
        ("/srv/batch/in/.", "/srv/batch/in"),
    ],
)
def test_roots_drop_empty_and_dot_segments(text: str, normalised: str) -> None:
    assert normalize_root(text) == normalised


@pytest.mark.parametrize("text", ["s3://lake/./in", "s3://lake/in/.", "s3://lake/in/.."])
def test_an_s3_root_with_a_dot_segment_is_refused_naming_it(text: str) -> None:
    """S3 keys are literal, so `.` in a prefix cannot be normalised away: refused."""
    with pytest.raises(ValueError, match="not an S3 prefix") as refused:
        normalize_root(text)
    assert text in str(refused.value)


@pytest.mark.parametrize("text", ["/srv/batch/in\x00", "/srv/\x00/in"])
def test_a_root_with_a_nul_byte_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="neither an absolute folder path"):
        normalize_root(text)


def test_batch_roots_normalise_both_directions() -> None:
    roots = BatchRoots(("/srv//in/", "s3://lake/in"), ("/srv/./out", "s3://lake//out"))
    assert roots.inputs == ("/srv/in", "s3://lake/in/")
    assert roots.outputs == ("/srv/out", "s3://lake/out/")
    assert roots.place("s3://lake/out/x.parquet", OUT).uri == "s3://lake/out/x.parquet"
    assert roots.place("s3://lake/in/x.csv", IN).uri == "s3://lake/in/x.csv"


@pytest.mark.parametrize(
    ("location", "root", "expected"),
    [
        ("s3://lake/fraud/", "s3://lake/fraud/", True),  # the root itself
        ("s3://lake/fraud", "s3://lake/fraud/", True),
        ("s3://lake/fraud/jobs/x", "s3://lake/fraud/", True),
        ("s3://lake/fraudX", "s3://lake/fraud/", False),  # a sibling sharing the name as a prefix
        ("s3://lake/fraud ", "s3://lake/fraud/", False),  # S3 keys are literal: another prefix
        ("/srv/batch/out", "/srv/batch/out", True),
        ("/srv/batch/out/x", "/srv/batch/out", True),
        ("/srv/batch/outX", "/srv/batch/out", False),
        ("/srv/batch/out/x", "/srv/batch/outX", False),
        ("s3://lake/x", "/srv", False),  # a scheme never contains the other
        ("/srv/x", "s3://lake/", False),
    ],
)
def test_inside_compares_whole_segments(location: str, root: str, expected: bool) -> None:
    assert inside(location, root) is expected


def test_the_refusal_lists_the_roots_of_its_own_direction() -> None:
    roots = batch_roots()
    refused_in = str(roots.refusal("/etc/x", IN))
    refused_out = str(roots.refusal("/etc/x", OUT))
    assert "FRAUD_BATCH_INPUT_ROOTS: /srv/batch/in, s3://lake/in/)" in refused_in
    assert "FRAUD_BATCH_OUTPUT_ROOTS: /srv/batch/out, s3://lake/out/scores/)" in refused_out
    assert "/srv/batch/out" not in refused_in


def test_without_roots_the_refusal_says_none_are_configured() -> None:
    with pytest.raises(LocationNotAllowedError, match="FRAUD_BATCH_OUTPUT_ROOTS: none configured"):
        BatchRoots((), ()).place("/srv/batch/out/x.parquet", OUT)


@pytest.mark.parametrize(
    "uri",
    [
        "s3://lake/in/./day.csv",  # S3 keys are literal: `./` names another key
        "file:///srv/batch/in/day.csv?version=2",
        "file:///srv/batch/in/day.csv#part",
        "file:///srv/batch/in/day.csv%00.txt",  # an encoded NUL byte
        "file://evil.example/srv/batch/in/day.csv",
    ],
)
def test_locations_that_only_look_inside_a_root_are_refused(uri: str) -> None:
    with pytest.raises(LocationNotAllowedError, match="not found or not allowed"):
        batch_roots().place(uri, IN)


def test_a_file_uri_on_localhost_is_a_local_path() -> None:
    assert batch_roots().place("file://localhost/srv/batch/in/day.csv", IN).uri == "/srv/batch/in/day.csv"


def test_a_root_equal_to_the_state_prefix_is_refused_naming_setting_root_state_and_remedy() -> None:
    state = {"FRAUD_STORAGE_URI": "s3://lake/fraud/"}
    with pytest.raises(ValueError, match="overlaps the system's own state") as refused:
        check_roots("FRAUD_BATCH_OUTPUT_ROOTS", ["s3://lake/fraud/"], state, None)
    message = str(refused.value)
    assert message.startswith("FRAUD_BATCH_OUTPUT_ROOTS: root 's3://lake/fraud/'")
    assert "FRAUD_STORAGE_URI: s3://lake/fraud/" in message
    assert message.endswith("choose folders or prefixes outside it")


def test_a_prefix_that_merely_shares_the_state_name_is_allowed() -> None:
    check_roots(
        "FRAUD_BATCH_OUTPUT_ROOTS", ["s3://lake/fraudX/"], {"FRAUD_STORAGE_URI": "s3://lake/fraud/"}, None
    )
    check_roots("FRAUD_BATCH_OUTPUT_ROOTS", ["/srv/homeX"], {"store": "/srv/home/store"}, "/srv/home")


def test_a_root_containing_the_home_is_refused_suggesting_the_home_batch_folders() -> None:
    with pytest.raises(ValueError, match="contains FRAUD_HOME") as refused:
        check_roots("FRAUD_BATCH_INPUT_ROOTS", ["/srv"], {}, "/srv/home")
    message = str(refused.value)
    assert message.startswith("FRAUD_BATCH_INPUT_ROOTS: root '/srv' contains FRAUD_HOME (/srv/home)")
    assert message.endswith("such as <home>/batch/in and <home>/batch/out")
