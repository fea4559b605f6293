"""Per-lead behaviour counters: how often each event type happened, in day buckets.

Counts are kept per UTC day so a window ("downloads in the last 7 days") is a sum of
at most a window's worth of buckets, and an out-of-order event lands in the bucket of
its own day. Entries are replaced, never mutated, so a forked :class:`Behaviour`
shares unchanged entries with its parent at no cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

__all__ = ["DAY_SECONDS", "Behaviour", "TypeStats"]

DAY_SECONDS = 86_400


class TypeStats:
    """Counters of one event type for one lead. Treat as immutable."""

    __slots__ = ("days", "first_ts", "last_ts", "total")

    def __init__(self, total: int, first_ts: float, last_ts: float, days: dict[int, int]):
        self.total = total
        self.first_ts = first_ts
        self.last_ts = last_ts
        self.days = days

    def __repr__(self) -> str:
        return f"TypeStats(total={self.total}, days={len(self.days)})"


class Behaviour:
    """Counters per event type, with day buckets kept for ``retention_days``."""

    __slots__ = ("_stats",)

    def __init__(self, stats: dict[str, TypeStats] | None = None):
        self._stats: dict[str, TypeStats] = {} if stats is None else stats

    def fork(self) -> Behaviour:
        """A copy that can be changed without touching this one."""
        return Behaviour(dict(self._stats))

    def record(self, event_type: str, ts: float, retention_days: int) -> None:
        """Count one ``event_type`` at epoch-seconds ``ts``."""
        day = int(ts // DAY_SECONDS)
        old = self._stats.get(event_type)
        if old is None:
            self._stats[event_type] = TypeStats(1, ts, ts, {day: 1})
            return
        days = old.days.copy()
        days[day] = days.get(day, 0) + 1
        if len(days) > retention_days + 1:
            horizon = max(days) - retention_days
            days = {d: c for d, c in days.items() if d >= horizon}
        self._stats[event_type] = TypeStats(
            old.total + 1,
            ts if ts < old.first_ts else old.first_ts,
            ts if ts > old.last_ts else old.last_ts,
            days,
        )

    def total(self, event_type: str) -> int:
        """All-time count of ``event_type``."""
        stats = self._stats.get(event_type)
        return 0 if stats is None else stats.total

    def count(self, event_type: str, within_days: int, now: datetime) -> int:
        """Count of ``event_type`` on the ``within_days`` UTC days ending on ``now``'s day."""
        return self.count_ts(event_type, within_days, now.timestamp())

    def count_ts(self, event_type: str, within_days: int, now_ts: float) -> int:
        """:meth:`count` with ``now`` given in epoch seconds."""
        stats = self._stats.get(event_type)
        if stats is None:
            return 0
        today = int(now_ts // DAY_SECONDS)
        first = today - within_days
        return sum(c for d, c in stats.days.items() if first < d <= today)

    def last_ts(self, event_type: str) -> float | None:
        """Epoch seconds of the latest ``event_type``, or None."""
        stats = self._stats.get(event_type)
        return None if stats is None else stats.last_ts

    def last_at(self, event_type: str) -> datetime | None:
        """When ``event_type`` last happened, or None."""
        ts = self.last_ts(event_type)
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    def first_at(self, event_type: str) -> datetime | None:
        """When ``event_type`` first happened, or None."""
        stats = self._stats.get(event_type)
        return None if stats is None else datetime.fromtimestamp(stats.first_ts, UTC)

    def types(self) -> Iterator[str]:
        """The event types seen so far."""
        return iter(self._stats)

    def items(self) -> Iterator[tuple[str, TypeStats]]:
        """``(event_type, stats)`` pairs."""
        return iter(self._stats.items())

    def windows(
        self, now: datetime, days: tuple[int, ...] = (1, 7, 30)
    ) -> dict[str, dict[int, int]]:
        """``{event_type: {window_days: count}}`` as of ``now``, for display and features."""
        return {t: {w: self.count(t, w, now) for w in days} for t in self._stats}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Behaviour):
            return NotImplemented
        mine = {k: (v.total, v.first_ts, v.last_ts, v.days) for k, v in self._stats.items()}
        theirs = {k: (v.total, v.first_ts, v.last_ts, v.days) for k, v in other._stats.items()}
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Behaviour({ {k: v.total for k, v in self._stats.items()} })"
