"""Per-lead behaviour counters: how often each event type happened, in day buckets.

Counts are kept per UTC day so a window ("downloads in the last 7 days") is a sum of
at most a window's worth of buckets, and an out-of-order event lands in the bucket of
its own day.

Each event type's counters are one plain tuple ``(total, first_ts, last_ts, days)``
whose ``days`` is a flat tuple of ``day, count`` pairs in day order. Entries are replaced,
never mutated, so a forked :class:`Behaviour` shares unchanged entries with its parent
at no cost; and since they hold no references, the cyclic garbage collector stops
tracking them, which keeps its passes short with millions of leads in memory.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from numbers import Integral, Real
from typing import Any, NamedTuple

from leadlife.clock import LATEST_DUE_TS, aware_ts
from leadlife.errors import InvalidArgumentError

__all__ = ["DAY_SECONDS", "Behaviour", "TypeStats", "window_count"]

DAY_SECONDS = 86_400


def _now_ts(now: datetime) -> float:
    """Epoch seconds of a ``now`` given to the datetime readers, checked: a naive
    datetime's ``timestamp()`` reads it in the machine's local zone, so the UTC day
    buckets it picks would depend on where the code runs."""
    return aware_ts(now, "now", latest=LATEST_DUE_TS)


def _whole_days(days: object, name: str) -> int:
    """A window given to the datetime readers, checked: whole days, 1 or more, as the
    rulebook's ``within_days`` (7.5 would count eight days, NaN every day kept)."""
    if isinstance(days, Integral) and not isinstance(days, bool) and int(days) >= 1:
        return int(days)
    raise InvalidArgumentError(
        name,
        f"{days!r} is not a whole number of days",
        "pass a window of 1 day or more, e.g. 7 for today and the six days before",
    )


_Entry = tuple[int, float, float, tuple[int, ...]]


def window_count(days: tuple[int, ...], within_days: int, now_ts: float) -> int:
    """The count in day pairs ``days`` on the ``within_days`` UTC days ending on
    ``now_ts``'s day."""
    today = int(now_ts // DAY_SECONDS)
    first = today - within_days
    total = 0
    # Day order lets the newest days be read first and the rest skipped; a plain
    # loop, as this runs per event for every windowed rule.
    index = len(days) - 2
    while index >= 0:
        day = days[index]
        if day <= first:
            break
        if day <= today:
            total += days[index + 1]
        index -= 2
    return total


def _pruned(days: tuple[int, ...], retention_days: int) -> tuple[int, ...]:
    """``days`` without the buckets older than ``retention_days`` before the newest,
    once there are more buckets than a retention period holds."""
    if len(days) <= 2 * (retention_days + 1):
        return days
    horizon = days[-2] - retention_days
    start = 0
    while days[start] < horizon:
        start += 2
    return days[start:]


_STATS_FIX = (
    "pass each event type's counters as behaviour.items() or behaviour.stats gives "
    "them, (total, first_ts, last_ts, days) with days as {day: count} or flat day, "
    "count pairs (JSON gives the days of {day: count} back as text: int() them)"
)


def _restored(stats: Mapping[str, Any]) -> dict[str, _Entry]:
    """``stats`` in the form :class:`Behaviour` keeps, checked."""

    def refused(problem: str) -> InvalidArgumentError:
        return InvalidArgumentError("stats", problem, _STATS_FIX)

    if not isinstance(stats, Mapping):
        raise refused(f"{type(stats).__name__} is not a mapping of event types to counters")
    restored: dict[str, _Entry] = {}
    for kind, entry in stats.items():
        if not isinstance(kind, str):
            raise refused(f"the event type {kind!r} is not text")
        try:
            total, first, last, days = entry
        except (TypeError, ValueError):
            raise refused(f"{kind!r} has {entry!r}, not (total, first_ts, last_ts, days)") from None
        pairs: list[tuple[Any, Any]] = []
        if isinstance(days, Mapping):
            pairs = list(days.items())
        elif isinstance(days, Iterable) and not isinstance(days, str | bytes):
            flat = list(days)
            if len(flat) % 2 == 0:
                pairs = list(zip(flat[0::2], flat[1::2], strict=True))
        if not pairs:
            raise refused(f"{kind!r} has days {days!r}, not day, count pairs")
        for day, count in pairs:
            if not isinstance(day, Integral) or isinstance(day, bool):
                raise refused(f"{kind!r} has the day {day!r}, not a whole day number")
            if not isinstance(count, Integral) or isinstance(count, bool) or count < 1:
                raise refused(f"{kind!r} has the count {count!r} on day {day}, not 1 or more")
        if isinstance(days, Mapping):
            pairs.sort()
        elif any(a[0] >= b[0] for a, b in itertools.pairwise(pairs)):
            raise refused(f"{kind!r} has day, count pairs out of day order: {days!r}")
        counted = sum(int(count) for _, count in pairs)
        if not isinstance(total, Integral) or isinstance(total, bool) or total < counted:
            raise refused(
                f"{kind!r} has the total {total!r}, not a whole number of at least its "
                f"days' {counted}"
            )
        for name, moment in (("first_ts", first), ("last_ts", last)):
            if (
                not isinstance(moment, Real)
                or isinstance(moment, bool)
                or not math.isfinite(moment)
            ):
                raise refused(f"{kind!r} has the {name} {moment!r}, not epoch seconds")
        if first > last:
            raise refused(f"{kind!r} has its first_ts {first!r} after its last_ts {last!r}")
        restored[kind] = (
            int(total),
            float(first),
            float(last),
            tuple(int(part) for pair in pairs for part in pair),
        )
    return restored


class TypeStats(NamedTuple):
    """Counters of one event type for one lead (a read-only view)."""

    total: int
    first_ts: float
    last_ts: float
    days: dict[int, int]


class Behaviour:
    """Counters per event type, with day buckets kept for ``retention_days``."""

    __slots__ = ("_stats",)

    def __init__(self, stats: Mapping[str, Any] | None = None):
        """Empty counters, or the ones a storage kept of a lead: ``stats`` as
        :meth:`items` or :attr:`stats` gives them, ``{event type: (total, first_ts,
        last_ts, days)}``, with ``days`` as ``{day: count}`` or flat day, count pairs."""
        # The engine makes its own empty and forks them; counters given here come from
        # a host restoring a lead, checked once: kept as given, a wrong shape would
        # fail on the lead's next event, deep inside a rule.
        self._stats: dict[str, _Entry] = {} if stats is None else _restored(stats)

    def fork(self) -> Behaviour:
        """A copy that can be changed without touching this one."""
        new = _new_behaviour(Behaviour)  # skips __init__: this runs once per event
        new._stats = self._stats.copy()
        return new

    def take_counts(self, other: Behaviour) -> None:
        """Hold ``other``'s counters from now on, in this object's own dict.

        Updating the dict in place, rather than taking ``other``'s, keeps one
        long-lived dict per lead (see :meth:`Lead.take_state`); types are never
        dropped, so after the update both hold the same entries.
        """
        stats, theirs = self._stats, other._stats
        stats.update(theirs)
        if len(stats) != len(theirs):  # ``other`` lost a type: take its dict whole
            self._stats = theirs.copy()

    def record(self, event_type: str, ts: float, retention_days: int) -> None:
        """Count one ``event_type`` at epoch-seconds ``ts``."""
        day = int(ts // DAY_SECONDS)
        old = self._stats.get(event_type)
        if old is None:
            self._stats[event_type] = (1, ts, ts, (day, 1))
            return
        total, first, last, days = old
        latest = days[-2]
        if latest == day:  # events mostly arrive in time order: today's bucket is last
            days = (*days[:-1], days[-1] + 1)
        elif latest < day:
            days = _pruned((*days, day, 1), retention_days)
        else:  # a late event: its day's bucket, or a new one in its place by day
            index = len(days) - 2
            while index >= 0 and days[index] > day:
                index -= 2
            if index >= 0 and days[index] == day:
                days = (*days[: index + 1], days[index + 1] + 1, *days[index + 2 :])
            else:
                days = _pruned((*days[: index + 2], day, 1, *days[index + 2 :]), retention_days)
        self._stats[event_type] = (
            total + 1,
            ts if ts < first else first,
            ts if ts > last else last,
            days,
        )

    @property
    def stats(self) -> Mapping[str, tuple[int, float, float, tuple[int, ...]]]:
        """Every event type's raw counters (see :meth:`entry`); read it, don't change it."""
        return self._stats

    def entry(self, event_type: str) -> tuple[int, float, float, tuple[int, ...]] | None:
        """The raw counters ``(total, first_ts, last_ts, day pairs)``, or None."""
        return self._stats.get(event_type)

    def total(self, event_type: str) -> int:
        """All-time count of ``event_type``."""
        entry = self._stats.get(event_type)
        return 0 if entry is None else entry[0]

    def count(self, event_type: str, within_days: int, now: datetime) -> int:
        """Count of ``event_type`` on the ``within_days`` UTC days ending on ``now``'s day."""
        return self.count_ts(event_type, _whole_days(within_days, "within_days"), _now_ts(now))

    def count_ts(self, event_type: str, within_days: int, now_ts: float) -> int:
        """:meth:`count` with ``now`` given in epoch seconds."""
        entry = self._stats.get(event_type)
        return 0 if entry is None else window_count(entry[3], within_days, now_ts)

    def last_ts(self, event_type: str) -> float | None:
        """Epoch seconds of the latest ``event_type``, or None."""
        entry = self._stats.get(event_type)
        return None if entry is None else entry[2]

    def last_at(self, event_type: str) -> datetime | None:
        """When ``event_type`` last happened, or None."""
        ts = self.last_ts(event_type)
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    def first_ts(self, event_type: str) -> float | None:
        """Epoch seconds of the earliest ``event_type``, or None."""
        entry = self._stats.get(event_type)
        return None if entry is None else entry[1]

    def first_at(self, event_type: str) -> datetime | None:
        """When ``event_type`` first happened, or None."""
        entry = self._stats.get(event_type)
        return None if entry is None else datetime.fromtimestamp(entry[1], UTC)

    def types(self) -> Iterator[str]:
        """The event types seen so far."""
        return iter(self._stats)

    def totals(self) -> Iterator[tuple[str, int]]:
        """``(event_type, all-time count)`` pairs."""
        return ((kind, entry[0]) for kind, entry in self._stats.items())

    def items(self) -> Iterator[tuple[str, TypeStats]]:
        """``(event_type, stats)`` pairs, with each type's day buckets as a dict."""
        for kind, (total, first, last, days) in self._stats.items():
            buckets = {days[i]: days[i + 1] for i in range(0, len(days), 2)}
            yield kind, TypeStats(total, first, last, buckets)

    def windows(
        self, now: datetime, days: tuple[int, ...] = (1, 7, 30)
    ) -> dict[str, dict[int, int]]:
        """``{event_type: {window_days: count}}`` as of ``now``, for display and features."""
        now_ts = _now_ts(now)
        if isinstance(days, str) or not isinstance(days, Iterable):
            example = days if isinstance(days, Integral) and not isinstance(days, bool) else 7
            raise InvalidArgumentError(
                "days",
                f"{days!r} is not a tuple of windows",
                f"pass a tuple of whole days, e.g. days=({example},)",
            )
        windows = [_whole_days(w, "days") for w in days]
        return {t: {w: self.count_ts(t, w, now_ts) for w in windows} for t in self._stats}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Behaviour):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Behaviour({dict(self.totals())})"


_new_behaviour = object.__new__
