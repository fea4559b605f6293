"""Built-in plugin: in-memory storage, for tests, demos and hosts that persist elsewhere."""

from __future__ import annotations

import copy
import heapq
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from leadlife.clock import EXACT_EPOCH_UNTIL, epoch_seconds, standard_zone
from leadlife.events import Event
from leadlife.lead import Lead, StageChange
from leadlife.plugins.hookspecs import hookimpl
from leadlife.values import FrozenDict

__all__ = ["MemoryStorage"]

# (id, type, epoch seconds or the datetime, its standard zone or None, channel, source,
#  the data's keys..., then its values...)
_EventRow = tuple[Any, ...]
_ROW_HEAD = 6  # the fields before the data
_SCALARS = frozenset({str, int, float, bool, type(None)})  # data values stored as they are


class MemoryStorage:
    """Leads and events in dicts; due leads found through a heap of ``next_check_ts``.

    Built for millions of leads in one process, where the cyclic garbage collector's
    passes over the stored objects cost more than the engine's own work unless
    the store gives it little to do. CPython starts a full pass each time the
    objects that outlived two younger passes reach a quarter of the long-lived
    ones, so what counts is how many long-lived objects each event replaces:

    - A lead is one object for as long as it is stored. A commit makes it take the
      new state in place (:meth:`Lead.take_state`) when nothing but this store
      holds it. A lead someone else holds (returned by ``get`` or ``ingest``,
      given to a hook, kept from ``leads()``) is replaced instead, and so never
      changes under its holder.
    - An event is kept as one flat tuple of strings and numbers, which the
      collector stops tracking: its time as epoch seconds and the shared standard
      zone of its fixed UTC offset (validation gives every parsed time a zone
      object of its own, which the collector would track), its data as keys, then
      values. It is
      rebuilt when read, its time with a :class:`datetime.timezone` of the same
      offset. Times in named zones (``zoneinfo``), before 1970 or past 2106 are
      kept as given.

    Other threads may read leads while one thread ingests: a reader never gets a
    lead half-way through taking its new state. Writes come one at a time: the
    engine calls ``commit`` under its lock.
    """

    def __init__(self) -> None:
        self._leads: dict[str, Lead] = {}
        # Odd while a commit may be changing a stored lead in place; readers in other
        # threads read again when it is odd or moved (a sequence lock, lock-free).
        self._writing = 0
        self._events: dict[str, list[_EventRow]] = {}
        # Event id -> its lead's id. Holding only strings, a dict drops out of the
        # cyclic garbage collector's view (it would visit every member of a set of
        # millions of ids on each full collection).
        self._event_ids: dict[str, str] = {}
        # The lead of each event, in the order they were stored: events() gives the
        # whole log in that order, which a replay into a fresh engine must follow
        # (teams' turns depend on it). A reference per event, to a shared id.
        self._arrivals: list[str] = []
        self._due: list[tuple[float, str]] = []
        self._queued: dict[str, float] = {}

    def get(self, lead_id: str) -> Lead | None:
        while True:
            writing = self._writing
            lead = self._leads.get(lead_id)
            if writing == self._writing and not writing & 1:
                return lead

    def has_event(self, event_id: str) -> bool:
        return event_id in self._event_ids

    def event_lead(self, event_id: str) -> str | None:
        """The id of the lead whose event has this id, or None (see the Storage protocol)."""
        return self._event_ids.get(event_id)

    def commit(self, lead: Lead, event: Event | None, changes: Sequence[StageChange]) -> None:
        lead_id = lead.id
        row = None if event is None else self._row(event)  # may raise: before any write
        leads = self._leads
        # Odd from before the holders are counted: a reader that got the lead
        # before is counted among them, one that gets it after reads again.
        self._writing += 1
        try:
            stored = leads.get(lead_id)
            alone = _HELD_ONLY_BY_STORE
            in_place = False
            if stored is not None and stored is not lead and alone is not None:
                lead_refs, behaviour_refs, counters_refs, history_refs = _holders(stored)
                if (
                    lead_refs == alone[0]
                    and behaviour_refs == alone[1]
                    and counters_refs == alone[2]
                ):
                    # Nothing else holds it: nobody sees it change. Its history list
                    # is extended in place too when it is the lead's alone.
                    stored.take_state(lead, extend_history=history_refs == alone[3])
                    in_place = True
            if not in_place:
                leads[lead_id] = lead
        finally:
            self._writing += 1
        if row is not None:
            self._event_ids[row[0]] = lead_id  # the stored lead's own id object
            log = self._events.get(lead_id)
            if log is None:
                self._events[lead_id] = [row]
            else:
                log.append(row)
            # After the row: a reader in another thread finds every arrival's row.
            self._arrivals.append(lead_id)
        ts = lead.next_check_ts
        if ts is None:
            self._queued.pop(lead_id, None)
            return
        queued = self._queued.get(lead_id)
        # A later check needs no new entry: the queued one re-queues it when it pops.
        if queued is None or ts < queued:
            self._queued[lead_id] = ts
            heapq.heappush(self._due, (ts, lead_id))

    def _row(self, event: Event) -> _EventRow:
        at = event.at
        zone = standard_zone(at.tzinfo)
        at_ts = epoch_seconds(at)
        # Before 1970 some platforms cannot turn an epoch back into a time.
        if zone is None or not 0.0 <= at_ts < EXACT_EPOCH_UNTIL:
            moment: float | datetime = at
            zone = None
        else:
            moment = at_ts
        data = event.data
        head = (event.id, event.type, moment, zone, event.channel, event.source)
        if not data:
            return head
        values: Iterable[Any] = data.values()
        for value in values:  # a loop: cheaper than a set test for a value or two
            if type(value) not in _SCALARS:
                # Validation copies only the top level: nested lists and dicts are
                # still the sender's, who may change them after ingest.
                values = [v if type(v) in _SCALARS else copy.deepcopy(v) for v in values]
                break
        return (*head, *data, *values)

    def due(self, now: datetime) -> list[str]:
        """Due lead ids; they stay queued until a commit moves their check past ``now``."""
        limit = now.timestamp()
        found: list[str] = []
        requeue: list[tuple[float, str]] = []
        handled: set[str] = set()
        heap = self._due
        while heap and heap[0][0] <= limit:
            ts, lead_id = heapq.heappop(heap)
            if self._queued.get(lead_id) != ts or lead_id in handled:
                # Superseded by an earlier entry, or a second entry at the time the
                # lead was just re-queued at: once per call.
                continue
            handled.add(lead_id)
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
        while True:
            writing = self._writing
            leads = list(self._leads.values())
            if writing == self._writing and not writing & 1:
                return iter(leads)

    def events(self, lead_id: str | None = None) -> Iterator[Event]:
        if lead_id is not None:
            rows = list(self._events.get(lead_id, ()))
            return (_event(lead_id, row) for row in rows)
        return self._in_arrival_order(list(self._arrivals))

    def _in_arrival_order(self, arrivals: list[str]) -> Iterator[Event]:
        logs = self._events
        seen: dict[str, int] = {}
        for owner in arrivals:
            index = seen.get(owner, 0)
            seen[owner] = index + 1
            yield _event(owner, logs[owner][index])

    def __len__(self) -> int:
        return len(self._leads)


def _event(lead_id: str, row: _EventRow) -> Event:
    event_id, kind, moment, zone, channel, source = row[:_ROW_HEAD]
    at = moment if zone is None else datetime.fromtimestamp(moment, zone)
    half = (len(row) - _ROW_HEAD) // 2
    values = row[_ROW_HEAD + half :]
    data = FrozenDict(zip(row[_ROW_HEAD : _ROW_HEAD + half], values, strict=True))
    if not _SCALARS.issuperset(map(type, values)):
        # Validated values are read-only; an event built without validation
        # (model_construct) may hold others, which a reader must not change in the log.
        data = copy.deepcopy(data)
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


_getrefcount = getattr(sys, "getrefcount", None)  # not every interpreter counts


def _holders(lead: Lead) -> tuple[int, int, int, int]:
    """Reference counts of ``lead``, its behaviour, its counters and its history, as
    seen here."""
    if _getrefcount is None:
        return (-1, -1, -1, -1)
    behaviour = lead.behaviour
    counters = behaviour.stats
    history = lead.history
    return (
        _getrefcount(lead),
        _getrefcount(behaviour),
        _getrefcount(counters),
        _getrefcount(history),
    )


def _calibrate() -> tuple[int, int, int, int] | None:
    """What :func:`_holders` answers for a lead that only its store and the caller's
    variable hold: measured, since interpreters count their own references apart.
    None where counts cannot be trusted across threads (no GIL)."""
    gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if _getrefcount is None or (gil_enabled is not None and not gil_enabled()):
        return None
    store = {"probe": Lead("probe")}
    probe = store.get("probe")
    assert probe is not None
    return _holders(probe)


_HELD_ONLY_BY_STORE = _calibrate()


@hookimpl(trylast=True)
def leadlife_storage() -> MemoryStorage:
    """A new, empty :class:`MemoryStorage` for each engine."""
    return MemoryStorage()
