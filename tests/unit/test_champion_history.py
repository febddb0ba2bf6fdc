"""The champion history: what repeated rollbacks walk back through."""

from __future__ import annotations

from fraud_detection.domain.champion_history import MAX_ENTRIES, ChampionHistory


def test_promotions_stack_and_rollbacks_undo_them_in_order_down_to_the_first() -> None:
    history = ChampionHistory().promoted(1).promoted(2, 1).promoted(1, 2)
    assert history.encode() == "1,2,1"

    target, history = history.rollback(current=1)
    assert (target, history.encode()) == (2, "1,2")
    target, history = history.rollback(current=2)
    assert (target, history.encode()) == (1, "1")
    target, history = history.rollback(current=1)
    assert target is None


def test_promoting_the_champion_again_adds_nothing() -> None:
    assert ChampionHistory((1, 2)).promoted(2, None).versions == (1, 2)


def test_an_alias_moved_outside_the_history_counts_as_its_newest_entry() -> None:
    # v3 became champion by hand in MLflow's UI: the history still ends at 2.
    assert ChampionHistory((1, 2)).promoted(4, replaced=3).versions == (1, 2, 3, 4)
    target, after = ChampionHistory((1, 2)).rollback(current=3)
    assert (target, after.versions) == (2, (1, 2))


def test_rollback_to_a_named_version_undoes_every_promotion_since_its_newest_entry() -> None:
    target, after = ChampionHistory((1, 2, 3, 2, 4)).rollback(current=4, to_version=2)
    assert (target, after.versions) == (2, (1, 2, 3, 2))


def test_rollback_to_a_version_never_champion_goes_on_top() -> None:
    target, after = ChampionHistory((1, 2)).rollback(current=2, to_version=7)
    assert (target, after.versions) == (7, (1, 2, 7))


def test_stored_form_round_trips_and_unreadable_or_empty_values_are_no_history() -> None:
    assert ChampionHistory.parse("3,1,3").versions == (3, 1, 3)
    assert ChampionHistory.parse(ChampionHistory((5, 6)).encode()) == ChampionHistory((5, 6))
    for text in (None, "", " , ", "1,two,3"):
        assert ChampionHistory.parse(text).versions == ()


def test_only_the_newest_entries_are_kept() -> None:
    history = ChampionHistory()
    for version in range(1, MAX_ENTRIES + 11):
        history = history.promoted(version, version - 1 if version > 1 else None)
    assert len(history.versions) == MAX_ENTRIES
    assert history.versions[-1] == MAX_ENTRIES + 10
    assert len(history.encode()) < 5_000  # MLflow's SQL stores' limit on a tag value
