"""A late tick must do what timely ticks would have done, with routing's shared teams.

Teams' quotas, turns and pools are shared by every lead, so the order in which the
time rules of different leads run matters; so does the order of one lead's follow-up
timers and its rulebook's demotions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import leadlife
from leadlife.routing import Routing
from tests.conftest import T0

PHONE = "+8613800138000"
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
CONFIG: dict[str, Any] = {
    "teams": [
        {
            "id": "north",
            "strategy": "capacity",
            # Monthly capacities of 30 and 60: daily quotas of one and two leads.
            "members": [{"id": "nick", "capacity": 30}, {"id": "ann", "capacity": 60}],
        },
        {"id": "south", "members": [{"id": "amy"}, {"id": "ben"}]},
    ],
    "routers": {"fallback": {"team": "north"}},
}


def form(lead: str, at: datetime, **data: Any) -> dict[str, Any]:
    return event(f"f-{lead}", lead, "form_submit", at, phone=PHONE, asset_id="a1", **data)


def event(event_id: str, lead: str, kind: str, at: datetime, **data: Any) -> dict[str, Any]:
    return {"id": event_id, "lead_id": lead, "type": kind, "at": at.isoformat(), "data": data}


@st.composite
def worlds(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Qualified leads arriving over a working day; some verified, accepted or called."""
    events: list[dict[str, Any]] = []
    for number in range(draw(st.integers(2, 12))):
        lead = f"L{number}"
        at = T0 + MINUTE * draw(st.integers(0, 600))
        events.append(form(lead, at))
        later = st.integers(1, 180).map(lambda minutes, at=at: at + MINUTE * minutes)
        if draw(st.booleans()):
            events.append(
                event(
                    f"c-{lead}",
                    lead,
                    "company_verified",
                    draw(later),
                    company="Acme",
                    industry="media",
                )
            )
        if draw(st.booleans()):
            events.append(event(f"s-{lead}", lead, "sales_accepted", draw(later), owner="amy"))
        if draw(st.booleans()):
            connected = draw(st.booleans())
            events.append(
                event(f"a-{lead}", lead, "call_attempt", draw(later), connected=connected)
            )
    return events


def outcome(events: list[dict[str, Any]], ticks: list[datetime]) -> tuple[Any, ...]:
    engine = leadlife.Engine(plugins=[Routing.from_dict(CONFIG)], clock=leadlife.FixedClock(T0))
    for raw in events:
        engine.ingest(raw)
    notices = []
    for moment in ticks:
        notices += [(n.kind, n.lead_id, n.at) for n in engine.tick(moment).notices]
    leads = {
        lead.id: (
            lead.stage,
            lead.owner,
            [(a.action, a.to_owner, a.team, a.at) for a in lead.assignments],
            [(c.from_stage, c.to_stage, c.at) for c in lead.history],
        )
        for lead in engine.storage.leads()
    }
    return leads, sorted(notices)


@settings(deadline=None)
@given(worlds())
def test_one_late_tick_routes_and_moves_as_hourly_ticks(events: list[dict[str, Any]]) -> None:
    """Owners, assignments, stage changes and notices after six days: hourly ticks and a
    single tick at the end agree, each rule stamped with its own due time."""
    end = T0 + timedelta(days=6)
    hourly = outcome(events, [T0 + HOUR * n for n in range(1, 6 * 24 + 1)])
    assert outcome(events, [end]) == hourly


def test_a_late_tick_keeps_a_members_daily_quota() -> None:
    """Regression: catching each lead up to the tick at once recorded quota receipts out
    of time order, so a member with a quota of one got two leads within a day."""
    config: dict[str, Any] = {
        "teams": [
            {"id": "north", "strategy": "capacity", "members": [{"id": "nick", "capacity": 30}]}
        ],
        "routers": {"fallback": {"team": "north"}},
        "sla": {"speed_to_lead_minutes": None, "call_cadence_days": []},
    }
    engine = leadlife.Engine(plugins=[Routing.from_dict(config)], clock=leadlife.FixedClock(T0))
    for number in range(3):
        engine.ingest(form(f"L{number}", T0 + MINUTE * number))
    engine.tick(T0 + HOUR * 26)
    received = sorted(
        (a.at, lead.id)
        for lead in engine.storage.leads()
        for a in lead.assignments
        if a.to_owner == "nick"
    )
    assert [lead for _, lead in received] == ["L0", "L1"]
    assert received[1][0] - received[0][0] >= timedelta(days=1)


def test_a_late_tick_sends_no_sal_reminder_after_the_lead_left_sal() -> None:
    """Regression: routing's timers ran up to the tick before the rulebook's, so an SAL
    reminder due after the SAL→SQL demotion still went out."""
    config = {**CONFIG, "sla": {"sal_idle_days": 3}}
    engine = leadlife.Engine(plugins=[Routing.from_dict(config)], clock=leadlife.FixedClock(T0))
    engine.ingest(form("u1", T0))
    engine.ingest(event("c1", "u1", "company_verified", T0 + MINUTE, company="A", industry="media"))
    engine.ingest(event("s1", "u1", "sales_accepted", T0 + HOUR, owner="amy"))
    report = engine.tick(T0 + timedelta(days=5))
    assert [(c.to_stage.name, c.at - T0) for c in report] == [("SQL", timedelta(days=2, hours=1))]
    assert "sal_idle" not in [n.kind for n in report.notices]
