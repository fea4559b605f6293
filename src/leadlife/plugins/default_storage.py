"""Built-in plugin: in-memory storage, for tests, demos and hosts that persist elsewhere."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime

from leadlife.events import Event
from leadlife.lead import Lead, StageChange
from leadlife.plugins.hookspecs import hookimpl

__all__ = ["MemoryStorage"]


class MemoryStorage:
    """Leads and events in dicts; due leads found through a heap of ``next_check_at``."""

    def __init__(self) -> None:
        self._leads: dict[str, Lead] = {}
        self._events: dict[str, list[Event]] = {}
        self._event_ids: set[str] = set()
        self._due: list[tuple[float, str]] = []

    def get(self, lead_id: str) -> Lead | None:
        return self._leads.get(lead_id)

    def has_event(self, event_id: str) -> bool:
        return event_id in self._event_ids

    def commit(self, lead: Lead, event: Event | None, changes: Sequence[StageChange]) -> None:
        previous = self._leads.get(lead.id)
        self._leads[lead.id] = lead
        if event is not None:
            self._event_ids.add(event.id)
            log = self._events.get(lead.id)
            if log is None:
                self._events[lead.id] = [event]
            else:
                log.append(event)
        check = lead.next_check_at
        if check is None:
            return
        before = None if previous is None else previous.next_check_at
        # A later check needs no new entry: the earlier one re-queues it when it pops.
        if event is None or before is None or check < before:
            heapq.heappush(self._due, (check.timestamp(), lead.id))

    def due(self, now: datetime) -> list[str]:
        limit = now.timestamp()
        found: dict[str, None] = {}
        heap = self._due
        while heap and heap[0][0] <= limit:
            _, lead_id = heapq.heappop(heap)
            lead = self._leads.get(lead_id)
            if lead is None or lead.next_check_at is None:
                continue
            current = lead.next_check_at.timestamp()
            if current <= limit:
                found[lead_id] = None
            else:
                heapq.heappush(heap, (current, lead_id))  # rescheduled later: queue that
        return list(found)

    def leads(self) -> Iterator[Lead]:
        return iter(list(self._leads.values()))

    def events(self, lead_id: str | None = None) -> Iterator[Event]:
        if lead_id is not None:
            return iter(list(self._events.get(lead_id, ())))
        return (event for log in list(self._events.values()) for event in log)

    def __len__(self) -> int:
        return len(self._leads)


@hookimpl(trylast=True)
def leadlife_storage() -> MemoryStorage:
    """A new, empty :class:`MemoryStorage` for each engine."""
    return MemoryStorage()
