"""Clocks: where the engine's idea of "now" comes from.

Domain code never reads the wall clock; the engine asks its clock only when a
caller leaves ``now`` out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from pydantic_core import TzInfo

from leadlife.errors import InvalidArgumentError, InvalidTimeError

__all__ = [
    "EARLIEST_TS",
    "EXACT_EPOCH_UNTIL",
    "LATEST_DUE_TS",
    "LATEST_TS",
    "MAX_TIMER_DAYS",
    "Clock",
    "FixedClock",
    "aware_ts",
    "epoch_seconds",
    "require_aware",
    "standard_zone",
    "system_clock",
    "with_standard_zone",
]

EXACT_EPOCH_UNTIL = float(2**32)
"""From 0 (1970) up to this (2106), a float epoch holds every microsecond exactly."""

EARLIEST_TS = -2_208_988_800.0  # 1900-01-01T00:00:00Z
LATEST_TS = 32_503_680_000.0  # 3000-01-01T00:00:00Z
"""Event times the engine accepts, in epoch seconds: ``EARLIEST_TS <= ts < LATEST_TS``.
Far from the ends of :class:`datetime.datetime`, so that the time rules' added days
and the conversions to UTC never leave its range (a "9999-12-31" placeholder would)."""

MAX_TIMER_DAYS = 365_000
"""The longest period a rulebook timer may give, in days (1,000 years)."""

LATEST_DUE_TS = LATEST_TS + 2 * MAX_TIMER_DAYS * 86_400.0  # 4998-09-03T00:00:00Z
"""Moments ``tick`` accepts: ``EARLIEST_TS <= ts < LATEST_DUE_TS``. A time rule falls
due at most two timer periods after a lead's last event (a Hot lead cools one band per
silent period, to Warm, then Cold; SAL idle and sleep take one), so from any event time
in the range, every time rule falls due before this, and a tick can apply it."""

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: for tests, replays and simulations."""

    def __init__(self, now: datetime):
        # As far as a tick may go: a clock is the "now" of ticks (pool operations and
        # events check their own moments against the event range).
        self.now = require_aware(now, "now", latest=LATEST_DUE_TS)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        """Jump to ``now``."""
        self.now = require_aware(now, "now", latest=LATEST_DUE_TS)

    def advance(self, delta: timedelta) -> datetime:
        """Move by ``delta`` of elapsed time (back, when it is negative) and return the
        new time, in the clock's zone.

        Added in UTC: Python adds a timedelta to a time of a named zone by its wall
        clock, which across a daylight-saving change moves an hour too far, not at
        all, or backwards.
        """
        if not isinstance(delta, timedelta):
            # Else Python's TypeError from the addition, naming neither the argument
            # nor what it takes.
            raise InvalidArgumentError(
                "delta", f"{delta!r} is not a timedelta", "pass one, e.g. timedelta(days=1)"
            )
        now = self.now
        try:
            try:
                moved = (now.astimezone(UTC) + delta).astimezone(now.tzinfo)
            except (NotImplementedError, ValueError):
                # A host's minimal tzinfo (no dst(), so no conversion from UTC): a fixed
                # offset, where wall-clock and elapsed time agree.
                moved = now + delta
        except OverflowError:
            # Past the years datetime holds at all: as outside the range as it gets.
            raise InvalidTimeError(
                "now",
                now,
                f"advanced by {delta} leaves the years a datetime can hold",
                "advance the clock to a moment from 1900 to 4998-09-03",
            ) from None
        self.now = require_aware(moved, "now", latest=LATEST_DUE_TS)
        return self.now


_last_epoch: tuple[datetime, float] = (datetime.fromtimestamp(0, UTC), 0.0)


def epoch_seconds(moment: datetime) -> float:
    """``moment.timestamp()``, remembered for the most recent ``moment`` asked about.

    Per event, the engine and then its scorers each need the event time in epoch
    seconds, and an aware datetime's ``timestamp()`` costs about a microsecond. The
    memo keeps a reference to the datetime it answered for, so no other object can
    take its identity while it is remembered.
    """
    global _last_epoch
    last = _last_epoch  # one read of one tuple: safe across threads
    if last[0] is moment:
        return last[1]
    ts = moment.timestamp()
    _last_epoch = (moment, ts)
    return ts


_LONGEST_SPAN = 1e11


def microseconds(seconds: float) -> int:
    """A span of ``seconds`` in whole microseconds, for :func:`shifted`.

    Capped at 10**11 seconds (over 3,000 years, beyond any moment the engine keeps):
    a timer set to a very long period, as a way to turn it off, never falls due.
    """
    return round(min(seconds, _LONGEST_SPAN) * 1_000_000)


def shifted(ts: float, span_us: int) -> float:
    """Epoch seconds ``ts`` moved by ``span_us`` microseconds, on the microsecond
    grid that ``datetime.timestamp()`` gives event times.

    A float sum (``ts + 90 * 86400.0``) can land one step of the float off that grid
    where it crosses a power of two of seconds (2038-01-19 is one): a tick or an
    event at the very deadline would then miss the rule, or find it applied early.
    """
    # An int under 2**53 converts to float exactly, so this is one correctly rounded
    # division, as int / int would be, and cheaper.
    return (round(ts * 1e6) + span_us) / 1e6


# Keyed by offset, not by zone: validation's zones hash fast but compare slowly, and
# each parsed time brings a zone object of its own, so a lookup by zone compares.
_STANDARD_ZONES: dict[timedelta | None, timezone] = {}


def standard_zone(zone: tzinfo | None) -> timezone | None:
    """The shared :class:`datetime.timezone` of a fixed-offset ``zone``: one per
    offset for the zones validation gives parsed times, a standard zone itself;
    None for any other zone (named ones, whose offset changes)."""
    if type(zone) is timezone:
        return zone
    if type(zone) is not TzInfo:
        return None
    offset = zone.utcoffset(None)
    standard = _STANDARD_ZONES.get(offset)
    if standard is None:
        assert offset is not None  # a parsed zone is a fixed offset
        standard = _STANDARD_ZONES[offset] = timezone(offset)
    return standard


def with_standard_zone(moment: datetime, ts: float) -> datetime:
    """``moment``, whose epoch seconds are ``ts``, with a shared
    :class:`datetime.timezone` of its offset in place of the zone validation gave it.

    Validation gives each time it parses a zone object of its own, which Python's
    cyclic garbage collector tracks for as long as the time is kept. Times that
    leads keep (stage changes, milestones) get a shared standard zone instead,
    which it does not track.

    A named zone (``zoneinfo``) is replaced by its offset at that moment: Python
    compares two times of one named zone by their wall clocks, so across a
    daylight-saving fold the later of two times could sort first in a lead's
    history. Times outside 1970-2106 keep their zone, or their offset for named ones.
    """
    zone = moment.tzinfo
    kind = type(zone)
    if kind is TzInfo:
        if not 0.0 <= ts < EXACT_EPOCH_UNTIL:
            return moment
        return datetime.fromtimestamp(ts, standard_zone(zone))
    if kind is timezone or zone is None:
        return moment
    offset = moment.utcoffset()
    assert offset is not None  # events are aware
    return moment.astimezone(timezone(offset))


def require_aware(moment: datetime, name: str, *, latest: float = LATEST_TS) -> datetime:
    """Return ``moment`` if it is a moment the engine can keep time in, else raise
    :class:`InvalidTimeError`: not a datetime, no timezone, a zone whose offset
    cannot be read (24 hours or more, pandas' NaT), or outside 1900-2999 (before
    ``latest``: :data:`LATEST_DUE_TS` for the "now" of a tick or a clock)."""
    aware_ts(moment, name, latest=latest)
    return moment


def aware_ts(moment: datetime, name: str, *, latest: float = LATEST_TS) -> float:
    """The epoch seconds of ``moment``, checked as :func:`require_aware` does."""
    if not isinstance(moment, datetime):
        raise InvalidTimeError(name, moment, "is not a datetime")
    try:
        offset = moment.utcoffset()
        ts = moment.timestamp() if offset is not None else 0.0
    except Exception as exc:  # a tzinfo of the host's own can fail in any way
        raise InvalidTimeError(
            name,
            moment,
            f"cannot be read as a moment ({type(exc).__name__}: {exc})",
            "pass an aware datetime whose offset is under 24 hours, e.g. "
            "datetime(2026, 11, 2, tzinfo=UTC)",
        ) from None
    if offset is None:
        raise InvalidTimeError(name, moment)
    if not EARLIEST_TS <= ts < latest:
        if latest == LATEST_DUE_TS:
            problem = (
                "is outside the moments a tick can take, from 1900 (in UTC) to "
                "4998-09-03, the latest a time rule can fall due after an event of 2999"
            )
        else:
            problem = "is outside the years 1900 to 2999 (in UTC) the engine keeps time in"
        raise InvalidTimeError(
            name, moment, problem, "pass the moment you mean; leave out placeholder dates"
        )
    return ts
