import pytest

from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.domain.errors import ModelNotFoundError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from tests.fakes import FakePublisher, FakeRegistry


@pytest.fixture
def admin():
    registry = FakeRegistry()
    for _ in range(3):
        registry.register("models:/x", "run", ModelMetadata("fe-1", 0.5, "d"))
    return ModelAdministration(registry, lambda: registry, FakePublisher()), registry


def test_promote_by_hand_then_roll_back_walks_history(admin):
    admin_, registry = admin
    admin_.promote(1)
    admin_.promote(2)
    admin_.promote(3)
    assert registry.aliases[CHAMPION] == 3
    assert admin_.rollback().version == 2
    assert admin_.rollback().version == 1
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        admin_.rollback()
    events = admin_._publisher.events
    assert all(isinstance(e, ModelPromoted) for e in events)
    assert events[-1].reason == "rollback"


def test_rollback_to_a_named_version_and_errors(admin):
    admin_, registry = admin
    admin_.promote(3)
    assert admin_.rollback(to_version=1).version == 1
    assert registry.get(1).tags["rolled_back_from"] == "3"
    with pytest.raises(ModelNotFoundError, match="already the champion"):
        admin_.rollback(to_version=1)
    with pytest.raises(ModelNotFoundError):
        admin_.promote(9)
    assert [v.version for v in admin_.list_versions()] == [3, 2, 1]
