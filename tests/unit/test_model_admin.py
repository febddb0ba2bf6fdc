from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.domain.errors import IncompatibleModelError, ModelNotFoundError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from tests.fakes import FakePublisher, FakeRegistry

FIXED = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)


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


def test_a_version_serving_would_refuse_to_load_is_neither_promoted_nor_rolled_back_to(admin):
    """Its tags edited in MLflow's UI (a threshold of 1.0): the API would keep serving the old champion and
    a replica without a local copy would never be ready, so the move is refused before it is made."""
    admin_, registry = admin
    admin_.promote(1)
    admin_.promote(2)
    registry.untrusted.add(3)
    with pytest.raises(IncompatibleModelError, match="promoting v3 refused: v3: its registry tags differ"):
        admin_.promote(3)
    registry.untrusted.add(1)
    with pytest.raises(IncompatibleModelError, match="rolling back to v1 refused"):
        admin_.rollback()
    assert registry.aliases[CHAMPION] == 2
    assert admin_._publisher.events[-1].version == 2


def test_promoting_a_version_whose_threshold_tag_is_not_a_number_names_the_tag(admin):
    admin_, registry = admin
    problem = "its tag 'threshold' is 'high', not a number (edited after registration?)"
    registry.versions[2] = replace(registry.versions[2], metadata=None, metadata_problem=problem)
    with pytest.raises(IncompatibleModelError) as error:
        admin_.promote(2)
    assert str(error.value) == (
        f"promoting v2 refused: fake-model v2: {problem}, so the API could not serve it"
    )


def test_repeated_rollbacks_after_a_version_was_champion_twice_end_at_the_first(admin):
    # promote 2 then 1 again: per-version tags pointed 1 and 2 at each other and rollbacks flipped for ever.
    admin_, registry = admin
    for version in (1, 2, 1):
        admin_.promote(version)
    assert [admin_.rollback().version for _ in range(2)] == [2, 1]
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        admin_.rollback()
    assert registry.aliases[CHAMPION] == 1


def test_rollback_to_a_named_version_then_on_from_there(admin):
    admin_, _ = admin
    for version in (1, 2, 3):
        admin_.promote(version)
    assert admin_.rollback(to_version=1).version == 1
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        admin_.rollback()  # back at the first champion: 2 and 3 were undone with it


def test_registry_from_before_the_history_rolls_back_by_the_champions_tag(admin):
    admin_, registry = admin
    registry.aliases[CHAMPION] = 3
    registry.set_tag(3, "previous_champion", "1")

    assert admin_.rollback().version == 1
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        admin_.rollback()


def test_champion_moved_outside_this_program_is_rolled_back_to_the_last_recorded(admin):
    admin_, registry = admin
    admin_.promote(1)
    admin_.promote(2)
    registry.aliases[CHAMPION] = 3  # moved by hand in MLflow's UI

    assert admin_.rollback().version == 2
    assert admin_.rollback().version == 1


def test_refused_rollback_leaves_alias_and_history_as_they_were(admin):
    admin_, registry = admin
    admin_.promote(1)
    admin_.promote(2)
    before = dict(registry.model_tags)
    stored = registry.versions[1]
    registry.versions[1] = replace(stored, metadata=replace(stored.metadata, feature_version="fe-0"))
    with pytest.raises(IncompatibleModelError, match="rolling back to v1 refused"):
        admin_.rollback()
    assert registry.aliases[CHAMPION] == 2
    assert registry.model_tags == before


def test_every_champion_move_is_recorded_and_a_rollback_erases_none(admin, monkeypatch):
    """Found by a lineage audit: a rollback turned the champion history `1,2` into `1` (v2's time as
    champion erased) and a promotion's reason was kept nowhere. Each move is now a tag of its own."""
    from fraud_detection.application import champion

    ticks = iter(range(10))
    monkeypatch.setattr(champion, "_now", lambda: FIXED + timedelta(seconds=next(ticks)))
    admin_, registry = admin
    admin_.promote(1, reason="first model")
    admin_.promote(2, reason="ticket CHG-1: manual override")
    admin_.rollback()
    admin_.promote(2, reason="again")
    moves = admin_.history()
    assert [(m.version, m.replaced, m.reason) for m in moves] == [
        (1, None, "first model"),
        (2, 1, "ticket CHG-1: manual override"),
        (1, 2, "rollback"),
        (2, 1, "again"),
    ]
    assert [m.at for m in moves] == [(FIXED + timedelta(seconds=n)).isoformat() for n in range(4)]
    assert all("@" in m.by for m in moves)  # user@host of the process that moved it
    registry.versions[1].tags["champion.x"] = "{"
    edited = [m for m in admin_.history() if m.at == "x"]
    assert [m.version for m in edited] == [1]  # a record edited by hand is shown, not dropped


def test_finishing_a_move_whose_history_write_failed_records_it_once(monkeypatch):
    """set_champion wrote the move record, then the registry failed on the history; finishing the move
    wrote a second record of the same move (a review found it)."""
    from fraud_detection.application.champion import champion_moves, finish_champion_move, set_champion
    from fraud_detection.domain.errors import ServiceUnavailableError

    registry = FakeRegistry()
    for _ in range(2):
        registry.register("m", "run", ModelMetadata("fe-1", 0.5, "d" * 64))
    set_champion(registry, FakePublisher(), 1, "first")
    set_model_tag = registry.set_model_tag

    def down_once(key: str, value: str) -> None:
        monkeypatch.setattr(registry, "set_model_tag", set_model_tag)
        raise ServiceUnavailableError("registry down")

    monkeypatch.setattr(registry, "set_model_tag", down_once)
    with pytest.raises(ServiceUnavailableError):
        set_champion(registry, FakePublisher(), 2, "gate")
    finish_champion_move(registry, FakePublisher(), 2, 1, "gate")
    moves = champion_moves(registry.list_versions())
    assert [(m.version, m.replaced) for m in moves] == [(1, None), (2, 1)]


class Killed(BaseException):
    """The process stopping (SIGKILL) right there: nothing after it runs, no handler."""


def stop_at_move_record(registry, monkeypatch):
    """Writing the next move record (just after the alias moved) stops the process."""
    set_tag = registry.set_tag

    def killed(version: int, key: str, value: str) -> None:
        if key.startswith("champion."):
            raise Killed
        set_tag(version, key, value)

    monkeypatch.setattr(registry, "set_tag", killed)
    return lambda: monkeypatch.setattr(registry, "set_tag", set_tag)


def test_a_rollback_stopped_after_its_alias_moved_is_completed_not_undone(admin, monkeypatch):
    """A crash probe: history 1,3,2, a rollback killed once the alias read v3; the next rollback read the
    history (still 1,3,2) as if v3 had been promoted outside it (1,3,2,3) and put v2, the model rolled back
    from, in service again."""
    admin_, registry = admin
    for version in (1, 3, 2):
        admin_.promote(version)
    resume = stop_at_move_record(registry, monkeypatch)
    with pytest.raises(Killed):
        admin_.rollback()
    resume()
    assert registry.aliases[CHAMPION] == 3
    assert [m.version for m in admin_.history()][-1] == 3  # the landed move shows before anything mends it
    assert admin_.rollback().version == 1  # on from v3, never back to v2
    moves = admin_.history()
    assert [(m.version, m.replaced, m.reason) for m in moves][-2:] == [(3, 2, "rollback"), (1, 3, "rollback")]
    assert registry.model_tags["champion_history"] == "1"
    assert registry.model_tags["champion_move_pending"] == ""


def test_a_promotion_stopped_after_its_alias_moved_gets_its_record_once(admin, monkeypatch):
    """A crash probe: `fraud model promote 3` killed after the alias moved left no record of the move;
    `fraud model history` then showed the later rollback as '1 replaced 3' with no entry for 3."""
    admin_, registry = admin
    admin_.promote(1)
    resume = stop_at_move_record(registry, monkeypatch)
    with pytest.raises(Killed):
        admin_.promote(3, reason="CHG-7")
    resume()
    assert [(m.version, m.replaced, m.reason) for m in admin_.history()][1:] == [(3, 1, "CHG-7")]
    admin_.rollback()
    moves = [(m.version, m.replaced, m.reason) for m in admin_.history()]
    assert moves[1:] == [(3, 1, "CHG-7"), (1, 3, "rollback")]
    assert len(moves) == 3
