"""Lead pool operations: claim, assign, transfer, return to the pool.

Each operation is an event (``lead_claimed``, ``lead_assigned``, ``lead_transferred``,
``lead_returned``), so it is validated, stored in the event log, replayed, and
idempotent on its id like any other event. Who may do what:

================  =========================================================
claim             a member of the lead's team (any team's member for a lead
                  no team holds yet), for an open lead nobody owns
assign            a manager of the lead's team or of the member's team
transfer          the owner, a manager of the lead's team, or an admin;
                  needs a reason
return            the owner, a manager of the lead's team, or an admin;
                  needs a reason; the lead waits in its team's pool and
                  re-enters nurture
================  =========================================================

Admins may do all four. Asking for what is already so (claiming a lead you own,
returning a lead already in the pool) changes nothing. A refused operation raises
:class:`~leadlife.errors.NotPermittedError` and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from leadlife.clock import epoch_seconds, with_standard_zone
from leadlife.errors import InvalidEventError, NotPermittedError
from leadlife.events import Event
from leadlife.lead import Assignment, Lead
from leadlife.routing.teams import Member, Team

__all__ = ["POOL_EVENTS", "Roster", "apply_pool_event", "pool_event"]

POOL_EVENTS: dict[str, str] = {
    "lead_claimed": "claim",
    "lead_assigned": "assign",
    "lead_transferred": "transfer",
    "lead_returned": "return",
}
"""Event type → the pool operation it carries."""

_TYPE_OF = {action: kind for kind, action in POOL_EVENTS.items()}


def pool_event(
    action: str,
    lead_id: str,
    at: datetime,
    *,
    event_id: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """The event dict of one pool operation (``claim``, ``assign``, ``transfer``, ``return``).

    Without ``event_id`` the id is built from the operation, lead, people and moment,
    so sending the same operation twice is recognised as a duplicate.
    """
    kind = _TYPE_OF[action]
    people = ":".join(
        _id_part(str(data[k])) for k in ("member", "to", "by") if data.get(k) is not None
    )
    return {
        "id": event_id or f"{kind}:{_id_part(lead_id)}:{people}:{at.isoformat()}",
        "lead_id": lead_id,
        "type": kind,
        "at": at,
        "data": {k: v for k, v in data.items() if v is not None},
    }


def _id_part(text: str) -> str:
    # Escaped, so that lead 'a' claimed by 'b:c' and lead 'a:b' claimed by 'c' are
    # two operations; ids without ':' or '%' read as before.
    return text.replace("%", "%25").replace(":", "%3A")


class Roster(Protocol):
    """Who is who: what pool operations need to know of the routing configuration."""

    admins: frozenset[str]

    def team(self, team_id: str) -> Team | None: ...

    def member(self, member_id: str) -> Member | None: ...


def apply_pool_event(roster: Roster, lead: Lead, event: Event) -> Assignment | None:
    """Apply a pool event to ``lead``; the assignment it made, or None when nothing changed.

    Raises :class:`NotPermittedError` (nothing applied) when the actor may not do it.
    """
    action = POOL_EVENTS[event.type]
    data = event.data
    owner, team = lead.owner, lead.team
    if not lead.stage.is_open:
        raise _refuse(
            action, _actor(data), lead, event, f"it is {lead.stage.name}", "reopen it first"
        )
    if action == "claim":
        member_id = _text(data, "member", action, lead, event)
        member = _known(roster, member_id, "data.member", action, lead, event)
        if owner == member_id:
            return None
        if owner is not None:
            raise _refuse(
                action,
                member_id,
                lead,
                event,
                f"it is owned by {owner!r}",
                "ask the owner or a manager to transfer it",
            )
        if team is not None and member.team != team and member_id not in roster.admins:
            raise _refuse(
                action,
                member_id,
                lead,
                event,
                f"it waits in the pool of team {team!r}",
                f"only members of team {team!r} may claim it; ask a manager to assign it",
            )
        return _assignment(
            event, "claimed", lead, member_id, member.team, member_id, "claimed from the pool"
        )
    by = _text(data, "by", action, lead, event)
    if action == "assign":
        member_id = _text(data, "member", action, lead, event)
        member = _known(roster, member_id, "data.member", action, lead, event)
        if not _manages(roster, by, team) and not _manages(roster, by, member.team):
            raise _refuse(
                action,
                by,
                lead,
                event,
                "only a manager of the lead's or the member's team may",
                "ask a manager, or claim the lead yourself",
            )
        # Read first: a bad reason is refused even when the member owns the lead already.
        reason = _optional_reason(data, event) or f"assigned by {by}"
        if owner == member_id:
            return None
        return _assignment(event, "assigned", lead, member_id, member.team, by, reason)
    reason = _text(data, "reason", action, lead, event)
    if owner is None:
        if action == "return":
            # Checked first: even when nothing changes, the event is stored in the log
            # as this person returning the lead; but whoever just returned it may ask
            # again (a retried request at another moment is a new event id).
            last = lead.assignments[-1] if lead.assignments else None
            if (
                lead.follow_up is None
                and last is not None
                and last.action == "returned"
                and last.by == by
            ):
                return None
            if not _manages(roster, by, team):
                raise _refuse(
                    action,
                    by,
                    lead,
                    event,
                    f"it waits in the pool of team {team!r}",
                    "only a manager of its team or an admin may return it",
                )
            if lead.follow_up is None:
                return None  # already waiting in the pool to be claimed
            # Pooled (nobody could take it): returning it stops the team offering it
            # again, so that it waits to be claimed, as any returned lead.
            return _assignment(event, "returned", lead, None, team, by, reason)
        raise _refuse(
            action,
            by,
            lead,
            event,
            "nobody owns it",
            "claim or assign it instead",
        )
    if by != owner and not _manages(roster, by, team):
        raise _refuse(
            action,
            by,
            lead,
            event,
            f"it is owned by {owner!r}",
            "only the owner, a manager of its team or an admin may",
        )
    if action == "return":
        return _assignment(event, "returned", lead, None, team, by, reason)
    to = _text(data, "to", action, lead, event)
    target = _known(roster, to, "data.to", action, lead, event)
    if to == owner:
        return None
    return _assignment(event, "transferred", lead, to, target.team, by, reason)


def _manages(roster: Roster, person: str, team_id: str | None) -> bool:
    if person in roster.admins:
        return True
    team = None if team_id is None else roster.team(team_id)
    return team is not None and person in team.managers


def _assignment(
    event: Event, action: str, lead: Lead, to: str | None, team: str | None, by: str, reason: str
) -> Assignment:
    # On the lead's own clock, as the stage rules act: a late (backdated) operation
    # happens at the newest time the lead has seen, so the new owner's follow-up
    # timers start then, not in the past.
    ts = epoch_seconds(event.at)
    # A shared fixed-offset zone: times of one named zone compare by wall clock,
    # so across a daylight-saving fold a later assignment could sort first.
    at = with_standard_zone(event.at, ts)
    newest = lead.last_event_ts
    if newest is not None and ts < newest:
        at = datetime.fromtimestamp(newest, UTC)
    return Assignment(at, action, lead.owner, to, team, reason, by=by, event_id=event.id)


def _actor(data: Mapping[str, Any]) -> str:
    return str(data.get("by") or data.get("member") or "?")


def _text(data: Mapping[str, Any], name: str, action: str, lead: Lead, event: Event) -> str:
    value = data.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    kind = "reason" if name == "reason" else "person id"
    if kind == "person id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a CRM's numeric user id, read as its digits as owner_from is
    problem = (
        f"missing or empty; a {action} needs it"
        if value is None or isinstance(value, str)
        else f"{value!r} ({type(value).__name__}) is not a {kind}"
    )
    raise InvalidEventError(
        f"data.{name}",
        problem,
        f"add data.{name} (a {kind}, as text) to the event",
        event_id=event.id,
    )


def _optional_reason(data: Mapping[str, Any], event: Event) -> str | None:
    """An assignment's ``data.reason``: text without its padding, or None when left out
    or blank; anything else is refused, as str() would keep a user record's repr."""
    value = data.get("reason")
    if value is None or isinstance(value, str):
        return (value or "").strip() or None
    raise InvalidEventError(
        "data.reason",
        f"{value!r} ({type(value).__name__}) is not a reason",
        "send a short text saying why, or leave it out",
        event_id=event.id,
    )


def _known(
    roster: Roster, member_id: str, field: str, action: str, lead: Lead, event: Event
) -> Member:
    member = roster.member(member_id)
    if member is None:
        raise InvalidEventError(
            field,
            f"{member_id!r} is a member of no team",
            "name a member listed under [[teams.members]] in the routing configuration",
            event_id=event.id,
        )
    return member


def _refuse(
    action: str, actor: str, lead: Lead, event: Event, problem: str, fix: str
) -> NotPermittedError:
    # The field that names the actor: a claim's is data.member, the others' data.by.
    field = "data.member" if action == "claim" else "data.by"
    return NotPermittedError(action, actor, lead.id, problem, fix, field=field, event_id=event.id)
