"""`fraud validate` takes any unique prefix of a dataset id; an ambiguous one names the candidates."""

import pytest

from fraud_detection.domain.dataset import DatasetId, DatasetRef
from fraud_detection.domain.errors import DatasetNotFoundError
from tests.fakes import FakeDatasetStore


def store(*ids: str) -> FakeDatasetStore:
    datasets = FakeDatasetStore()
    for number, value in enumerate(ids):
        ref = DatasetRef(
            DatasetId(value), f"memory://{value}", 10, 1, "test", f"2026-01-0{number + 1}T00:00:00"
        )
        datasets.refs[value] = ref
    return datasets


def test_a_short_unique_prefix_finds_the_dataset() -> None:
    datasets = store("ab" + "0" * 62, "cd" + "1" * 62)
    assert datasets.resolve("a").id.value == "ab" + "0" * 62
    assert datasets.resolve("cd1").id.value == "cd" + "1" * 62


def test_an_ambiguous_prefix_lists_the_datasets_it_matches() -> None:
    datasets = store("ab" + "0" * 62, "ac" + "1" * 62, "ff" + "2" * 62)
    with pytest.raises(DatasetNotFoundError, match="matches several datasets: ac1111111111, ab0000000000;"):
        datasets.resolve("a")
    assert datasets.resolve("ab").id.value == "ab" + "0" * 62


@pytest.mark.parametrize("prefix", ["", "0", "abc"])
def test_no_match_or_an_empty_prefix_finds_nothing(prefix: str) -> None:
    with pytest.raises(DatasetNotFoundError, match="matches no stored dataset"):
        store("ab" + "0" * 62, "ac" + "1" * 62).resolve(prefix)
