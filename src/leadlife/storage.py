"""The storage protocol: where leads and their event log live.

The engine writes through :meth:`Storage.commit` only, once per event or tick, with
the lead, the event and the stage changes as one unit.

A storage may also answer ``event_lead(event_id) -> str | None``, the id of the lead
whose event has this id. The engine asks it when an event id comes again, to tell a
resent event from an id another lead already uses; without it, it reads the lead's
event log instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from leadlife.events import Event
from leadlife.lead import Lead, StageChange

__all__ = ["Storage"]


@runtime_checkable
class Storage(Protocol):
    """Persistence for leads and their events, supplied by a plugin."""

    def get(self, lead_id: str) -> Lead | None:
        """The stored lead whose id is exactly ``lead_id`` (case and spaces count), or None."""
        ...

    def has_event(self, event_id: str) -> bool:
        """True when an event with this id was already committed."""
        ...

    def commit(self, lead: Lead, event: Event | None, changes: Sequence[StageChange]) -> None:
        """Store the lead, its new event (None for a tick) and its changes atomically."""
        ...

    def due(self, now: datetime) -> list[str]:
        """Ids of leads whose ``next_check_at`` is at or before ``now``."""
        ...

    def leads(self) -> Iterator[Lead]:
        """Every stored lead."""
        ...

    def events(self, lead_id: str | None = None) -> Iterator[Event]:
        """The event log: one lead's, or with no id every lead's, in the order the
        events were stored (replaying the whole log into a fresh engine then routes
        leads as the first engine did, since teams' turns follow that order)."""
        ...

    def __len__(self) -> int:
        """How many leads are stored."""
        ...
