"""Follow-up timers: touches in any order, connected calls, the SAL reminder, and the
default cadence and touches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import leadlife
from leadlife import Stage
from leadlife.routing import Routing
from tests.conftest import T0
from tests.helpers import Inbox, days, ev, hours

PHONE = "+8613800138000"
MINUTE = timedelta(minutes=1)
INSIDE: dict[str, Any] = {
    "teams": [
        {"id": "inside", "managers": ["mgr"], "members": [{"id": "ian"}, {"id": "ivy"}]},
    ],
    "routers": {"fallback": {"team": "inside"}},
}


def build(config: dict[str, Any] | None = None) -> tuple[leadlife.Engine, Inbox]:
    inbox = Inbox()
    engine = leadlife.Engine(
        plugins=[Routing.from_dict(config or INSIDE), inbox],
        plugin_manager=leadlife.get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )
    return engine, inbox


def qualify(engine: leadlife.Engine, lead: str = "u1") -> leadlife.Lead:
    return engine.ingest(ev("form_submit", lead=lead, phone=PHONE, asset_id="p1"))


def test_the_first_touch_is_the_earliest_even_when_it_arrives_late() -> None:
    engine, _ = build()
    qualify(engine)
    engine.ingest(ev("call_attempt", 10 * MINUTE, connected=False))
    lead = engine.ingest(ev("call_attempt", 3 * MINUTE, connected=False))  # late
    assert lead.follow_up is not None
    assert lead.follow_up.touched_ts == (T0 + 3 * MINUTE).timestamp()


def test_a_sixth_attempt_that_connects_exhausts_nothing() -> None:
    engine, inbox = build()
    qualify(engine)
    for n in range(5):
        engine.ingest(ev("call_attempt", MINUTE * (n + 1), connected=False))
    engine.ingest(ev("call_attempt", MINUTE * 6, connected=True))
    assert "call_attempts_exhausted" not in inbox.kinds("u1")
    assert engine.get("u1").follow_up.connected is True  # type: ignore[union-attr]


def test_the_sal_reminder_waits_two_days_from_the_entry_into_sal() -> None:
    engine, _inbox = build()
    lead = qualify(engine)
    owner = lead.owner
    engine.ingest(ev("company_verified", hours(1), company="Acme", industry="media"))
    lead = engine.ingest(ev("sales_accepted", hours(36), owner=owner))
    assert (lead.stage, lead.owner) == (Stage.SAL, owner)
    assert "sal_idle" not in [n.kind for n in engine.tick(T0 + hours(60)).notices]
    report = engine.tick(T0 + hours(85))
    assert [(n.kind, n.at) for n in report.notices if n.kind == "sal_idle"] == [
        ("sal_idle", T0 + hours(84))
    ]


def test_the_default_call_cadence_reminds_on_days_1_2_4_7_10() -> None:
    # Speed to lead off, so the first owner keeps the lead (and its cadence).
    engine, inbox = build({**INSIDE, "sla": {"speed_to_lead_minutes": False}})
    qualify(engine)
    for day in range(1, 13):
        engine.tick(T0 + days(day))
    due = [(n.data["attempt"], n.at) for n in inbox.notices if n.kind == "call_attempt_due"]
    assert due == [
        (2, T0 + days(1)),
        (3, T0 + days(2)),
        (4, T0 + days(4)),
        (5, T0 + days(7)),
        (6, T0 + days(10)),
    ]


def test_a_reply_in_the_owners_chat_is_a_first_touch() -> None:
    engine, inbox = build()
    lead = qualify(engine)
    owner = lead.owner
    engine.ingest(ev("chat_replied", 3 * MINUTE))
    engine.tick(T0 + hours(1))
    assert "speed_to_lead_missed" not in inbox.kinds("u1")
    assert engine.get("u1").owner == owner


def test_connected_zero_as_text_is_not_connected() -> None:
    from leadlife.routing.follow_up import call_connected

    assert [call_connected(v) for v in ("0", " 0 ", 0, "false", False)] == [False] * 5
    assert [call_connected(v) for v in ("1", 1, "TRUE", True)] == [True] * 4


def test_a_failed_call_after_a_connected_one_restarts_no_reminders() -> None:
    engine, inbox = build({**INSIDE, "sla": {"speed_to_lead_minutes": False}})
    qualify(engine)
    engine.ingest(ev("call_attempt", MINUTE, connected=True))
    engine.ingest(ev("call_attempt", hours(30), connected=False))
    for day in range(1, 13):
        engine.tick(T0 + days(day))
    assert engine.get("u1").follow_up.connected is True  # type: ignore[union-attr]
    assert [k for k in inbox.kinds("u1") if k.startswith("call_")] == []
