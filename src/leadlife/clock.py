"""Clocks: where the engine's idea of "now" comes from.

Domain code never reads the wall clock; the engine asks its clock only when a
caller leaves ``now`` out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from leadlife.errors import InvalidTimeError

__all__ = ["Clock", "FixedClock", "require_aware", "system_clock"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: for tests, replays and simulations."""

    def __init__(self, now: datetime):
        self.now = require_aware(now, "now")

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        """Jump to ``now``."""
        self.now = require_aware(now, "now")

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        self.now += delta
        return self.now


def require_aware(moment: datetime, name: str) -> datetime:
    """Return ``moment`` if it carries a timezone, else raise :class:`InvalidTimeError`."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidTimeError(name, moment)
    return moment
