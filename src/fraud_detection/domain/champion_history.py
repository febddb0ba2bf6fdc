"""The order in which versions became champion, newest last: what `fraud model rollback` walks back through.

Why a list and not a tag per version: a version can be champion more than once (promote v2, then v1 again),
and a single "previous champion" per version then points two versions at each other, so repeated rollbacks
flip between them for ever. A stack undoes promotions in the order they were made and ends at the first.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kept in a registry tag (MLflow's SQL stores cap a tag value at 5,000 characters): the newest entries.
MAX_ENTRIES = 200


@dataclass(frozen=True)
class ChampionHistory:
    versions: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> ChampionHistory:
        """The stored form ("1,2,1"); an empty, missing or unreadable value is no history (the registry's
        tags can be edited by hand in MLflow's UI, and a rollback must still say what it can do)."""
        try:
            versions = tuple(int(part) for part in (text or "").split(",") if part.strip())
        except ValueError:
            return cls()
        return cls(versions[-MAX_ENTRIES:])

    def encode(self) -> str:
        return ",".join(str(version) for version in self.versions)

    def promoted(self, version: int, replaced: int | None = None) -> ChampionHistory:
        """`version` became champion, replacing `replaced` (which the history may not hold yet: a registry
        from before the history, or an alias moved outside this program)."""
        versions = self._with_top(replaced)
        if not versions or versions[-1] != version:
            versions += (version,)
        return ChampionHistory(versions[-MAX_ENTRIES:])

    def rollback(self, current: int, to_version: int | None = None) -> tuple[int | None, ChampionHistory]:
        """The version to put back in place of `current` and the history once it is back.

        Without `to_version`: the one before `current`; None when there is none (the first champion).
        With it: back to its newest entry, undoing every promotion since; a version the history does not
        hold is put on top, as a promotion would be."""
        versions = self._with_top(current)
        if to_version is None:
            earlier = versions[:-1]
            return (earlier[-1] if earlier else None), ChampionHistory(earlier)
        for index in range(len(versions) - 2, -1, -1):
            if versions[index] == to_version:
                return to_version, ChampionHistory(versions[: index + 1])
        return to_version, ChampionHistory((*versions, to_version)[-MAX_ENTRIES:])

    def _with_top(self, version: int | None) -> tuple[int, ...]:
        """The entries with `version` as the newest: the champion alias may have moved without this record
        (by hand in MLflow's UI, or a write of the history that failed after the alias moved)."""
        if version is None or (self.versions and self.versions[-1] == version):
            return self.versions
        return (*self.versions, version)
