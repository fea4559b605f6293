"""Follow-up timers of owned leads: speed to lead, call cadence, SAL idle reminders.

Driven by ``engine.tick(now)`` (and caught up when a late event arrives first), each
timer fires at its own due moment and each reminder is sent once: the keys of the
reminders already sent live in the lead's :class:`FollowUp`.

* **Speed to lead**: the owner must touch a newly assigned lead within
  ``speed_to_lead_minutes`` (5 by default: a web-form lead answered in 5 minutes is
  far likelier to be reached than one answered in 30). Each missed window sends a
  ``speed_to_lead_missed`` notice to the owner, escalated to the team's managers;
  after ``reassign_after_breaches`` missed windows in a row the lead goes to another
  member, whose own windows start then, at most ``max_reassignments`` times. An
  owner who keeps the lead after that gets no more windows than that: reminders
  stop rather than repeat every five minutes.
* **Call cadence**: the k-th call attempt is due ``call_cadence_days[k-1]`` days after
  assignment (six attempts by default: the best number of attempts is 6, the average
  1.5); a ``call_attempt_due`` reminder goes out when an attempt falls due and has not
  been made, until a call connects (one due at the assignment itself is asked for by
  the assignment's notice, and gets none). The sixth failed attempt sends
  ``call_attempts_exhausted``.
* **SAL idle**: an SAL with no activity from the lead for ``sal_idle_days`` sends
  ``sal_idle`` to the owner, once per stay in SAL.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, NamedTuple

from leadlife.clock import microseconds, shifted
from leadlife.events import Event
from leadlife.lead import Lead
from leadlife.notices import Notice
from leadlife.routing.config import SlaSpec
from leadlife.stages import Stage

__all__ = ["SAL_KEY", "FollowUp", "FollowUpTimers", "call_connected"]

SAL_KEY = "sal_idle:"
"""Prefix of the sent-key of an SAL reminder; the rest names the stay in SAL."""

_MINUTE = 60.0
_DAY = 86_400.0


_CONNECTED = {"true": True, "false": False, "1": True, "0": False}


def call_connected(value: object) -> bool | None:
    """A call attempt's ``data.connected`` read as a boolean; None when unknown.

    Telephony and webhook systems send 1/0 and "true"/"false" as often as booleans;
    other values raise ValueError: read as "not connected", they would keep the
    owner getting reminders for a lead they reached.
    """
    if value is None or isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if isinstance(value, str) and (known := _CONNECTED.get(value.strip().lower())) is not None:
        return known
    raise ValueError(value)


class FollowUp(NamedTuple):
    """Where an owned lead stands against its follow-up timers.

    Immutable: the timers replace it (``_replace``) when something changes, so a
    forked lead shares it until then. A named tuple: one is made per assignment, on
    the routing hot path, and a tuple is several times cheaper to build. Times are
    epoch seconds; ``assigned_ts`` is when the current owner got the lead (for a
    lead waiting in a pool, when it was last offered). ``breaches`` counts the
    current owner's missed speed-to-lead windows, ``reassignments`` how often the
    lead was taken from an owner for them.
    """

    assigned_ts: float
    touched_ts: float | None = None
    attempts: int = 0
    connected: bool = False
    breaches: int = 0
    sent: frozenset[str] = frozenset()
    reassignments: int = 0


class FollowUpTimers:
    """The timers of one routing configuration."""

    def __init__(self, spec: SlaSpec):
        self.spec = spec
        self._window = (
            None if spec.speed_to_lead_minutes is None else spec.speed_to_lead_minutes * _MINUTE
        )
        self._sal_idle = None if spec.sal_idle_days is None else spec.sal_idle_days * _DAY
        self._cadence = tuple(days * _DAY for days in spec.call_cadence_days)
        self.touches = frozenset(spec.touch_events)
        self._windows = max(spec.reassign_after_breaches, 1)
        self._spans()

    def _spans(self) -> None:
        # In whole microseconds: due times are moved on the grid of event times (see
        # leadlife.clock.shifted).
        self._window_us = None if self._window is None else microseconds(self._window)
        self._sal_idle_us = None if self._sal_idle is None else microseconds(self._sal_idle)
        self._cadence_us = tuple(microseconds(span) for span in self._cadence)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Timers pickled (inside a Routing) before the microsecond spans existed.
        self.__dict__.update(state)
        self._spans()

    # -- events --------------------------------------------------------------------

    def observe(self, lead: Lead, event: Event, ts: float, notices: list[Notice]) -> None:
        """Count the owner's touches and call attempts made after the assignment."""
        state = lead.follow_up
        if state is None or event.type not in self.touches or ts < state.assigned_ts:
            return
        touched = state.touched_ts
        changes: dict[str, object] = {}
        if touched is None or ts < touched:
            changes["touched_ts"] = ts
        if event.type == "call_attempt":
            attempts = state.attempts + 1
            # Routing.observe refused what call_connected cannot read.
            connected = state.connected or call_connected(event.data.get("connected")) is True
            changes["attempts"] = attempts
            changes["connected"] = connected
            limit = len(self._cadence)
            if (
                not connected
                and limit
                and attempts == limit
                and "calls_exhausted" not in state.sent
            ):
                changes["sent"] = state.sent | {"calls_exhausted"}
                notices.append(
                    _notice(
                        "call_attempts_exhausted",
                        lead,
                        event.at,
                        f"lead {lead.id}: {attempts} call attempts, none connected; "
                        "hand it to nurture or disqualify it",
                        attempts=attempts,
                    )
                )
        if changes:
            lead.follow_up = state._replace(**changes)  # type: ignore[arg-type]

    # -- time ----------------------------------------------------------------------

    def due_ts(self, lead: Lead) -> float | None:
        """When the next timer of ``lead`` fires (None: none pending)."""
        state = lead.follow_up
        if state is None or lead.owner is None or not lead.stage.is_open:
            return None
        due = math.inf
        speed = self._speed_due(state)
        if speed is not None:
            due = speed
        call = self._next_call(state)
        if call is not None:
            due = min(due, call[1])
        sal = self._sal_due(lead, state)
        if sal is not None:
            due = min(due, sal[1])
        return None if due == math.inf else due

    def _speed_due(self, state: FollowUp) -> float | None:
        """When the owner's next speed-to-lead window closes; each owner has a few."""
        window = self._window_us
        if window is None or state.touched_ts is not None or state.breaches >= self._windows:
            return None
        return shifted(state.assigned_ts, (state.breaches + 1) * window)

    def may_reassign(self, state: FollowUp) -> bool:
        """Whether the owner's missed windows hand the lead to someone else now."""
        limit = self.spec.reassign_after_breaches
        return (
            limit > 0
            and state.breaches >= limit
            and state.touched_ts is None
            and state.reassignments < self.spec.max_reassignments
        )

    def _next_call(self, state: FollowUp) -> tuple[int, float] | None:
        """``(attempt number, due)`` of the next call reminder still to send."""
        if state.connected:
            return None
        for index in range(state.attempts, len(self._cadence)):
            due = shifted(state.assigned_ts, self._cadence_us[index])
            # An attempt due at the assignment itself is what the assignment notice asks for.
            if due > state.assigned_ts and f"call:{index + 1}" not in state.sent:
                return index + 1, due
        return None

    def _sal_due(self, lead: Lead, state: FollowUp) -> tuple[str, float] | None:
        sal_idle = self._sal_idle_us
        if sal_idle is None or lead.stage is not Stage.SAL:
            return None
        entered = _sal_entry_ts(lead)
        key = f"{SAL_KEY}{entered:.0f}"
        if key in state.sent:
            return None
        idle = lead.idle_ts
        since = entered if idle is None else max(idle, entered)
        # Never dated before its recipient held the lead (one who claims an SAL that
        # idled in the pool hears it at once, not back-dated).
        return key, max(shifted(since, sal_idle), state.assigned_ts)

    def fire(
        self, lead: Lead, until_ts: float, managers: frozenset[str], notices: list[Notice]
    ) -> bool:
        """Fire the earliest timer due by ``until_ts``; True when the lead should be reassigned.

        Call it while :meth:`due_ts` is at or before ``until_ts``; each call fires one
        timer and records it, so a loop always ends.
        """
        state = lead.follow_up
        due = self.due_ts(lead)
        if state is None or due is None or due > until_ts:
            return False
        at = datetime.fromtimestamp(due, UTC)
        if self._speed_due(state) == due:
            breaches = state.breaches + 1
            lead.follow_up = state = state._replace(breaches=breaches)
            minutes = breaches * (self._window or 0.0) / _MINUTE
            notices.append(
                _notice(
                    "speed_to_lead_missed",
                    lead,
                    at,
                    f"lead {lead.id} has waited {minutes:g} minutes for a first touch "
                    f"from {lead.owner}",
                    escalate_to=sorted(managers),
                    breaches=breaches,
                )
            )
            return self.may_reassign(state)
        call = self._next_call(state)
        if call is not None and call[1] == due:
            number = call[0]
            lead.follow_up = state._replace(sent=state.sent | {f"call:{number}"})
            notices.append(
                _notice(
                    "call_attempt_due",
                    lead,
                    at,
                    f"call attempt {number} of {len(self._cadence)} for lead {lead.id} is due",
                    attempt=number,
                    attempts_made=state.attempts,
                )
            )
            return False
        sal = self._sal_due(lead, state)
        if sal is not None and sal[1] == due:
            lead.follow_up = state._replace(sent=state.sent | {sal[0]})
            days = self.spec.sal_idle_days
            notices.append(
                _notice(
                    "sal_idle",
                    lead,
                    at,
                    f"SAL {lead.id} has shown no activity for {days:g} days; follow up",
                )
            )
        return False


def _sal_entry_ts(lead: Lead) -> float:
    for change in reversed(lead.history):
        if change.to_stage is Stage.SAL:
            return change.at.timestamp()
    return lead.first_seen_ts or 0.0


def _notice(kind: str, lead: Lead, at: datetime, message: str, **data: object) -> Notice:
    return Notice(kind, lead.id, at, message, {"to": lead.owner, "team": lead.team, **data})
