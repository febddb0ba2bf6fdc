"""Moving the champion alias: what the promotion gate and an operator's promote and rollback share."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from fraud_detection.domain.champion_history import ChampionHistory
from fraud_detection.domain.errors import RolloutRefusedError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.model import CHAMPION, ModelVersion
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.domain.rollout import Rollout
from fraud_detection.domain.run_provenance import process_user

# Tag on the new champion naming the version it replaced, for people reading the registry; rollbacks
# follow CHAMPION_HISTORY_TAG, which a registry from before it lacks (then this tag starts the history).
PREVIOUS_CHAMPION_TAG = "previous_champion"
# Registered-model tag: every version that became champion, in order (domain/champion_history.py).
CHAMPION_HISTORY_TAG = "champion_history"
# A tag per move onto a version, never rewritten: `champion.<UTC time>` = {"replaced", "reason", "by"}. The
# history above is a rollback stack (a rollback pops it) and the event is gone once handled; an audit of
# who made which version champion, when and why, reads these (`fraud model history`).
MOVE_TAG_PREFIX = "champion."
# Registered-model tag written before the alias moves and emptied once the move's record and the history are
# written: what the move is to leave (`PendingMove`). A process stopped in between (killed, the registry
# failing) leaves it, and the next move completes it. Before, a rollback killed after its alias moved left
# the history with the version rolled back from on top: a second rollback put that version back; and a
# promotion killed there had no record in `fraud model history`.
PENDING_MOVE_TAG = "champion_move_pending"


def move_tag(at: datetime) -> str:
    """Sortable as text; MLflow tag keys allow no ':'."""
    return f"{MOVE_TAG_PREFIX}{at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}"


def record_move(registry: ModelRegistry, version: int, replaced: int | None, reason: str) -> None:
    record = {"replaced": replaced, "reason": reason, "by": actor()}
    registry.set_tag(version, move_tag(_now()), json.dumps(record))


@dataclass(frozen=True)
class PendingMove:
    """A move of the champion alias onto `version` and the bookkeeping it leaves: its record (`tag`, written
    as is, so completing it twice writes one record; none when the alias stays where it was) and the history
    once it is done."""

    version: int
    replaced: int | None
    history: ChampionHistory
    reason: str
    by: str
    tag: str
    recorded: bool = True

    def encode(self) -> str:
        return json.dumps(
            {"version": self.version, "replaced": self.replaced, "history": self.history.encode(),
             "reason": self.reason, "by": self.by, "tag": self.tag, "recorded": self.recorded}
        )  # fmt: skip

    @classmethod
    def parse(cls, text: str | None) -> PendingMove | None:
        """None for an empty tag (the last move completed) or one that does not parse (edited by hand: the
        history as stored is then what rollbacks follow, as before this record)."""
        try:
            data = json.loads(text or "null")
            if not isinstance(data, dict):
                return None
            replaced = data["replaced"]
            return cls(
                int(data["version"]),
                int(replaced) if replaced is not None else None,
                ChampionHistory.parse(str(data["history"])),
                str(data["reason"]),
                str(data["by"]),
                str(data["tag"]),
                bool(data.get("recorded", True)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def record(self) -> str:
        return json.dumps({"replaced": self.replaced, "reason": self.reason, "by": self.by})


def pending_move(registry: ModelRegistry) -> PendingMove | None:
    return PendingMove.parse(registry.get_model_tag(PENDING_MOVE_TAG))


def landed_move(registry: ModelRegistry) -> PendingMove | None:
    """The pending move if its alias landed (the champion is its version): done, though not yet recorded."""
    pending = pending_move(registry)
    if pending is None:
        return None
    champion = registry.get_by_alias(CHAMPION)
    return pending if champion is not None and champion.version == pending.version else None


def settle_pending_move(
    registry: ModelRegistry, publisher: EventPublisher | None, champion: ModelVersion | None
) -> None:
    """Complete a move whose alias landed but whose record or history may not have (its process stopped
    there), or forget one whose alias never moved; `champion` is the alias as read now."""
    pending = pending_move(registry)
    if pending is None:
        return
    if champion is not None and champion.version == pending.version:
        _complete(registry, pending)
        if publisher is not None:  # the stopped process never announced it (consumers reload: idempotent)
            publisher.publish(
                ModelPromoted(registry.model_name, pending.version, pending.replaced, pending.reason)
            )
    else:
        registry.set_model_tag(PENDING_MOVE_TAG, "")


def _move(
    registry: ModelRegistry,
    publisher: EventPublisher,
    version: int,
    replaced: int | None,
    history: ChampionHistory,
    reason: str,
    recorded: bool = True,
) -> None:
    """The alias onto `version` between the pending record and the bookkeeping it names, then the event."""
    pending = PendingMove(version, replaced, history, reason, actor(), move_tag(_now()), recorded)
    registry.set_model_tag(PENDING_MOVE_TAG, pending.encode())
    registry.set_alias(CHAMPION, version)
    _complete(registry, pending)
    publisher.publish(ModelPromoted(registry.model_name, version, replaced, reason))


def _complete(registry: ModelRegistry, pending: PendingMove) -> None:
    if pending.recorded:
        registry.set_tag(pending.version, pending.tag, pending.record())
    registry.set_model_tag(CHAMPION_HISTORY_TAG, pending.history.encode())
    registry.set_model_tag(PENDING_MOVE_TAG, "")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChampionMove:
    at: str  # UTC, ISO 8601
    version: int
    replaced: int | None
    reason: str
    by: str


def champion_moves(versions: Iterable[ModelVersion], landed: PendingMove | None = None) -> list[ChampionMove]:
    """Every recorded move of the champion alias, oldest first, with `landed`: a move whose alias moved but
    whose process stopped before writing its record. A record that does not parse (tags can be edited in
    MLflow's UI) is shown with what it holds rather than dropped."""
    records = [(v.version, key, value) for v in versions for key, value in v.tags.items()]
    if (
        landed is not None
        and landed.recorded
        and (landed.version, landed.tag) not in {r[:2] for r in records}
    ):
        records.append((landed.version, landed.tag, landed.record()))
    moves = []
    for number, key, value in records:
        if not key.startswith(MOVE_TAG_PREFIX):
            continue
        try:
            at = datetime.strptime(key.removeprefix(MOVE_TAG_PREFIX), "%Y%m%dT%H%M%S.%fZ")
            record = json.loads(value)
            replaced = record.get("replaced")
            move = ChampionMove(
                at.replace(tzinfo=UTC).isoformat(),
                number,
                replaced if isinstance(replaced, int) else None,
                str(record.get("reason", "")),
                str(record.get("by", "")),
            )
        except (ValueError, AttributeError):
            move = ChampionMove(key.removeprefix(MOVE_TAG_PREFIX), number, None, value, "?")
        moves.append(move)
    return sorted(moves, key=lambda m: m.at)


def actor() -> str:
    """The process's user and host: an operator's CLI, or the service that applied a gate or rollout."""
    return f"{process_user()}@{socket.gethostname()}"


def set_champion(registry: ModelRegistry, publisher: EventPublisher, version: int, reason: str) -> int | None:
    """Move the champion alias, remembering the one it replaces so an operator can roll back."""
    with registry.champion_turn():
        return _set_champion(registry, publisher, version, reason)


def _set_champion(
    registry: ModelRegistry, publisher: EventPublisher, version: int, reason: str
) -> int | None:
    previous = registry.get_by_alias(CHAMPION)
    settle_pending_move(registry, publisher, previous)
    previous_version = previous.version if previous and previous.version != version else None
    if previous_version is not None:
        registry.set_tag(version, PREVIOUS_CHAMPION_TAG, str(previous_version))
    history = stored_history(registry, previous).promoted(version, previous_version)
    moves = previous is None or previous.version != version  # re-setting the champion is no move to record
    _move(registry, publisher, version, previous_version, history, reason, recorded=moves)
    return previous_version


def finish_champion_move(
    registry: ModelRegistry, publisher: EventPublisher, version: int, replaced: int | None, reason: str
) -> None:
    """Complete a `set_champion` whose alias moved but whose bookkeeping may not have (the registry failed
    in between): the previous-champion tag, the history (written once) and the event (again: consumers
    reload, which is idempotent)."""
    pending = pending_move(registry)
    if pending is not None and pending.version == version:  # its own record says what was left to write
        settle_pending_move(registry, publisher, registry.get_by_alias(CHAMPION))
        return
    if replaced is not None:
        registry.set_tag(version, PREVIOUS_CHAMPION_TAG, str(replaced))
    history = ChampionHistory.parse(registry.get_model_tag(CHAMPION_HISTORY_TAG))
    if not history.versions or history.versions[-1] != version:  # so its move record may be missing too
        moves = champion_moves(registry.list_versions())
        if not moves or (moves[-1].version, moves[-1].replaced) != (version, replaced):
            record_move(registry, version, replaced, reason)  # not twice: set_champion may have written it
        registry.set_model_tag(CHAMPION_HISTORY_TAG, history.promoted(version, replaced).encode())
    publisher.publish(ModelPromoted(registry.model_name, version, replaced, reason))


def put_champion_back(
    registry: ModelRegistry,
    publisher: EventPublisher,
    target: int,
    history: ChampionHistory,
    replaced: int | None,
    reason: str,
) -> None:
    """The alias back on `target` with the history a rollback leaves, then the event: what `fraud model
    rollback` does, and a rollout undoing the promotion an abort overtook. `history` is what the caller
    read with `stored_history`, which counts a move a stopped process left pending; that move's own record
    is written first. The caller holds `registry.champion_turn()` from that read."""
    with registry.champion_turn():
        settle_pending_move(registry, publisher, registry.get_by_alias(CHAMPION))
        _move(registry, publisher, target, replaced, history, reason)


def stored_history(registry: ModelRegistry, champion: ModelVersion | None) -> ChampionHistory:
    """The champion history as stored; for a registry from before it, what the champion's own
    `previous_champion` tag tells. A move that landed but whose history was not written (its process
    stopped: `PENDING_MOVE_TAG`) counts as done."""
    pending = pending_move(registry)
    if pending is not None and champion is not None and champion.version == pending.version:
        return pending.history
    history = ChampionHistory.parse(registry.get_model_tag(CHAMPION_HISTORY_TAG))
    if history.versions or champion is None:
        return history
    previous = champion.tags.get(PREVIOUS_CHAMPION_TAG, "")
    earlier = (int(previous),) if previous.isdecimal() else ()
    return ChampionHistory((*earlier, champion.version))


# The registry's rollout state as stored now (RolloutStore.load), read where the champion alias may move.
RolloutState = Callable[[], Rollout | None]


def active_rollout_or_none(state: RolloutState | None) -> Rollout | None:
    rollout = state() if state is not None else None
    return rollout if rollout is not None and rollout.active else None


def rollout_holding_champion(state: RolloutState | None) -> str | None:
    """Why the champion alias may not move now, or None. While a rollout is active the alias moves only
    through it (its last step): moved under it, the rollout would go on judging its challenger against a
    champion that no longer serves (no paired rows: it holds until the stuck alert), and its promotion would
    replace the newer champion."""
    rollout = active_rollout_or_none(state)
    if rollout is None:
        return None
    against = f" against champion v{rollout.champion}" if rollout.champion is not None else ""
    return (
        f"a rollout of v{rollout.challenger}{against} is active ({rollout.where}), and the champion moves "
        "only through it; end it first with `fraud rollout abort`"
    )


def ensure_no_active_rollout(state: RolloutState | None, action: str) -> None:
    """Raise `RolloutRefusedError` naming `action` while a rollout holds the champion alias."""
    why = rollout_holding_champion(state)
    if why is not None:
        raise RolloutRefusedError(f"{action} refused: {why}")
