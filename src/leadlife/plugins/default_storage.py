"""Built-in plugin: in-memory storage, for tests, demos and hosts that persist elsewhere."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from leadlife.events import Event
from leadlife.lead import Lead, StageChange
from leadlife.plugins.hookspecs import hookimpl

__all__ = ["MemoryStorage"]


_EventRow = tuple[str, str, datetime, str | None, str | None, dict[str, Any]]


class MemoryStorage:
    """Leads and events in dicts; due leads found through a heap of ``next_check_ts``.

    Events are kept as plain tuples, not models: a few times smaller, and mostly
    invisible to the cyclic garbage collector, which matters at millions of events.
    """

    def __init__(self) -> None:
        self._leads: dict[str, Lead] = {}
        self._events: dict[str, list[_EventRow]] = {}
        # A dict, not a set: holding only strings, a dict drops out of the cyclic
        # garbage collector's view, while it visits every member of a set on each
        # full collection (millions of event ids).
        self._event_ids: dict[str, None] = {}
        self._due: list[tuple[float, str]] = []
        self._queued: dict[str, float] = {}

    def get(self, lead_id: str) -> Lead | None:
        return self._leads.get(lead_id)

    def has_event(self, event_id: str) -> bool:
        return event_id in self._event_ids

    def commit(self, lead: Lead, event: Event | None, changes: Sequence[StageChange]) -> None:
        lead_id = lead.id
        self._leads[lead_id] = lead
        if event is not None:
            self._event_ids[event.id] = None
            row = (event.id, event.type, event.at, event.channel, event.source, event.data)
            log = self._events.get(lead_id)
            if log is None:
                self._events[lead_id] = [row]
            else:
                log.append(row)
        ts = lead.next_check_ts
        if ts is None:
            self._queued.pop(lead_id, None)
            return
        queued = self._queued.get(lead_id)
        # A later check needs no new entry: the queued one re-queues it when it pops.
        if queued is None or ts < queued:
            self._queued[lead_id] = ts
            heapq.heappush(self._due, (ts, lead_id))

    def due(self, now: datetime) -> list[str]:
        """Due lead ids; they stay queued until a commit moves their check past ``now``."""
        limit = now.timestamp()
        found: list[str] = []
        requeue: list[tuple[float, str]] = []
        heap = self._due
        while heap and heap[0][0] <= limit:
            ts, lead_id = heapq.heappop(heap)
            if self._queued.get(lead_id) != ts:
                continue  # superseded by an earlier entry
            lead = self._leads.get(lead_id)
            current = None if lead is None else lead.next_check_ts
            if current is None:
                del self._queued[lead_id]
                continue
            self._queued[lead_id] = current
            requeue.append((current, lead_id))
            if current <= limit:
                found.append(lead_id)
        for entry in requeue:
            heapq.heappush(heap, entry)
        return found

    def leads(self) -> Iterator[Lead]:
        return iter(list(self._leads.values()))

    def events(self, lead_id: str | None = None) -> Iterator[Event]:
        if lead_id is not None:
            return (_event(lead_id, row) for row in list(self._events.get(lead_id, ())))
        return (_event(owner, row) for owner, log in list(self._events.items()) for row in log)

    def __len__(self) -> int:
        return len(self._leads)


def _event(lead_id: str, row: _EventRow) -> Event:
    event_id, kind, at, channel, source, data = row
    # Validated when it came in; rebuilding it needs no second validation.
    return Event.model_construct(
        id=event_id,
        lead_id=lead_id,
        type=kind,
        at=at,
        channel=channel,
        source=source,
        data=data,
    )


@hookimpl(trylast=True)
def leadlife_storage() -> MemoryStorage:
    """A new, empty :class:`MemoryStorage` for each engine."""
    return MemoryStorage()
