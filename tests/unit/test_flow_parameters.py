"""The flows' parameters as the CLI reads the same ones: a window of 0 days is refused, not the default."""

from __future__ import annotations

import pytest

from fraud_detection.composition import use_container
from fraud_detection.flows import quality
from tests.unit.conftest import World


@pytest.mark.parametrize(("days", "measured"), [(0.0, 0.0), (None, 30.0), (7.0, 7.0)])
def test_the_quality_flow_measures_the_days_given_and_the_setting_only_when_none(
    monkeypatch: pytest.MonkeyPatch, days: float | None, measured: float
) -> None:
    """Before, `days or setting` measured 30 days for 0, which `fraud quality measure --days 0` refuses."""
    seen: list[float] = []
    monkeypatch.setattr(quality, "measure", lambda use_case, window: seen.append(window) or {})
    use_container(World().container)
    try:
        quality.quality_measure.fn(days=days)
    finally:
        use_container(None)
    assert seen == [measured]
