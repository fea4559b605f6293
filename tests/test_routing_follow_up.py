"""Follow-up timers across closing, reopening, transfers and returns to the pool."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import leadlife
from leadlife import Stage
from leadlife.lead import Lead
from leadlife.plugins.default_storage import MemoryStorage
from leadlife.routing import Routing
from tests.conftest import T0
from tests.helpers import UNEQUAL_CAPACITIES, Inbox, days, ev, hours

PHONE = "+8613800138000"
MINUTE = timedelta(minutes=1)
INSIDE: dict[str, Any] = {
    "teams": [
        {"id": "inside", "managers": ["mgr"], "members": [{"id": "ian"}, {"id": "ivy"}]},
    ],
    "routers": {"fallback": {"team": "inside"}},
}


def build(config: dict[str, Any]) -> tuple[leadlife.Engine, Inbox]:
    inbox = Inbox()
    engine = leadlife.Engine(
        plugins=[Routing.from_dict(config), inbox],
        plugin_manager=leadlife.get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )
    return engine, inbox


def qualify(engine: leadlife.Engine, lead: str = "u1", at: timedelta = timedelta(0)) -> Lead:
    return engine.ingest(ev("form_submit", at, lead=lead, phone=PHONE, asset_id="p1"))


def with_sla(**sla: Any) -> dict[str, Any]:
    return {**INSIDE, "sla": sla}


# -- closing and reopening -------------------------------------------------------------


def test_a_reopened_lead_owes_nothing_for_the_time_it_was_closed() -> None:
    """Won before its first window ended and reopened 30 days later, a lead gets no
    back-dated speed-to-lead misses, call reminders or reassignment."""
    engine, inbox = build(INSIDE)
    owner = qualify(engine).owner
    engine.ingest(ev("deal_won", 2 * MINUTE, amount=100))
    engine.ingest(ev("reopened", days(30), reason="upsell"))
    before = len(inbox.notices)
    report = engine.tick(T0 + days(30) + MINUTE)
    assert list(report.notices) == []
    lead = engine.get("u1")
    assert [a.action for a in lead.assignments] == ["routed"]
    assert lead.owner == owner
    assert len(inbox.notices) == before


def test_a_reopened_leads_timers_run_from_the_reopening() -> None:
    """With `reopened` a touch (the host's choice), the reopening is the owner's first
    touch; the call cadence starts again from it."""
    engine, _ = build(
        with_sla(touch_events=["call_attempt", "quote_sent", "chat_replied", "reopened"])
    )
    qualify(engine)
    engine.ingest(ev("deal_won", 2 * MINUTE, amount=100))
    engine.ingest(ev("reopened", days(30), reason="upsell"))
    report = engine.tick(T0 + days(31) + MINUTE)
    assert [(n.kind, n.at) for n in report.notices] == [
        ("call_attempt_due", T0 + days(31)),
    ]


def test_a_reopening_without_a_touch_starts_fresh_windows() -> None:
    """By default `reopened` is no touch: the owner's speed-to-lead windows start at the
    reopening, the first miss five minutes after it, not after the old assignment. (A
    reopening sent to a lead that was never closed must not cancel the windows.)"""
    engine, _ = build(with_sla(call_cadence_days=[]))
    qualify(engine)
    engine.ingest(ev("disqualified", 2 * MINUTE, reason="spam"))
    engine.ingest(ev("reopened", days(3), reason="a real person after all"))
    report = engine.tick(T0 + days(3) + 6 * MINUTE)
    assert [(n.kind, n.at) for n in report.notices] == [
        ("speed_to_lead_missed", T0 + days(3) + 5 * MINUTE),
    ]


def test_a_reopened_pooled_lead_is_offered_again_from_the_reopening() -> None:
    """A lead waiting in a pool when it closed is offered again one retry after its
    reopening, not at once with the retry moment it had before it closed."""
    away = [{"from": T0, "until": T0 + days(2)}]
    config = {
        "teams": [{"id": "inside", "members": [{"id": "ian", "absences": away}]}],
        "routers": {"fallback": {"team": "inside"}},
    }
    engine, _ = build(config)
    assert qualify(engine).assignments[-1].action == "pooled"
    engine.ingest(ev("disqualified", 2 * MINUTE, reason="spam"))
    engine.ingest(ev("reopened", days(5), reason="a real person after all"))
    engine.tick(T0 + days(5) + 30 * MINUTE)
    assert engine.get("u1").owner is None
    engine.tick(T0 + days(5) + hours(1))
    lead = engine.get("u1")
    assert (lead.owner, lead.assignments[-1].at) == ("ian", T0 + days(5) + hours(1))


# -- once per stay in SAL --------------------------------------------------------------


def sal(engine: leadlife.Engine) -> None:
    qualify(engine)
    engine.ingest(ev("company_verified", MINUTE, company="X", industry="retail"))
    lead = engine.ingest(ev("sales_accepted", 2 * MINUTE, owner="ian"))
    assert (lead.stage, lead.owner) == (leadlife.Stage.SAL, "ian")


def test_sal_idle_is_not_sent_again_after_a_transfer() -> None:
    """The SAL reminder is once per stay in SAL, whoever holds the lead."""
    engine, inbox = build(with_sla(sal_idle_days=1, call_cadence_days=[]))
    sal(engine)
    engine.tick(T0 + hours(36))
    assert inbox.kinds("u1").count("sal_idle") == 1
    engine.transfer("u1", "ivy", by="mgr", reason="ian on leave", at=T0 + hours(36) + MINUTE)
    engine.tick(T0 + hours(40))
    assert inbox.kinds("u1").count("sal_idle") == 1


def test_sal_idle_is_never_dated_before_its_recipient_held_the_lead() -> None:
    """An SAL that idled in the pool reminds the member who claims it, at the claim."""
    engine, inbox = build(with_sla(sal_idle_days=1, call_cadence_days=[]))
    sal(engine)
    engine.return_to_pool("u1", by="ian", reason="wrong person", at=T0 + hours(1))
    # Idle since 09:02 (due 09:02 the next day); the rulebook demotes it after two days.
    engine.claim("u1", "ivy", at=T0 + hours(36))
    engine.tick(T0 + hours(36) + MINUTE)
    [notice] = [n for n in inbox.notices if n.kind == "sal_idle"]
    assert (notice.at, notice.data["to"]) == (T0 + hours(36), "ivy")


# -- max_reassignments is per lead -----------------------------------------------------

THREE: dict[str, Any] = {
    "teams": [
        {
            "id": "inside",
            "managers": ["mgr"],
            "members": [{"id": "ian"}, {"id": "ivy"}, {"id": "ida"}],
        }
    ],
    "routers": {"fallback": {"team": "inside"}},
    "sla": {"call_cadence_days": [], "max_reassignments": 1},
}


def reassignments(lead: Lead) -> int:
    return sum(1 for a in lead.assignments if a.action == "reassigned")


def test_a_transfer_does_not_reset_the_reassignment_count() -> None:
    """`sla.max_reassignments` counts reassignments of the lead, not of its owner."""
    engine, _ = build(THREE)
    qualify(engine)
    engine.tick(T0 + 15 * MINUTE)
    lead = engine.get("u1")
    assert reassignments(lead) == 1
    other = next(m for m in ("ian", "ivy", "ida") if m != lead.owner)
    engine.transfer("u1", other, by="mgr", reason="rebalance", at=T0 + 16 * MINUTE)
    engine.tick(T0 + 60 * MINUTE)
    lead = engine.get("u1")
    assert reassignments(lead) == 1
    assert lead.owner == other


def test_a_return_and_claim_do_not_reset_the_reassignment_count() -> None:
    """A lead returned to the pool and claimed again keeps its count of reassignments."""
    engine, _ = build(THREE)
    qualify(engine)
    engine.tick(T0 + 15 * MINUTE)
    owner = engine.get("u1").owner
    assert owner is not None
    engine.return_to_pool("u1", by=owner, reason="not mine", at=T0 + 16 * MINUTE)
    engine.claim("u1", owner, at=T0 + 17 * MINUTE)
    engine.tick(T0 + 60 * MINUTE)
    lead = engine.get("u1")
    assert (reassignments(lead), lead.owner) == (1, owner)


# -- call attempts ---------------------------------------------------------------------


def test_a_call_attempt_with_an_unreadable_connected_is_refused() -> None:
    """Regression: `connected: "true"` was accepted and counted as not connected, so
    six connected calls ended in "none connected; disqualify it". 1/0 and "true" /
    "false" (as telephony systems send them) are read; anything else is refused."""
    import pytest

    from leadlife.errors import InvalidEventError

    engine, inbox = build(INSIDE)
    qualify(engine)
    before = engine.get("u1")
    for value in ("yes", 2, "connected", 1.0):
        with pytest.raises(InvalidEventError, match=r"data\.connected") as caught:
            engine.ingest(ev("call_attempt", MINUTE, connected=value))
        assert caught.value.field == "data.connected"
    after = engine.get("u1")
    assert (after.follow_up, after.event_count) == (before.follow_up, before.event_count)
    lead = engine.ingest(ev("call_attempt", 2 * MINUTE, connected=True))
    assert lead.follow_up is not None
    assert (lead.follow_up.attempts, lead.follow_up.connected) == (1, True)
    lead = engine.ingest(ev("call_attempt", 3 * MINUTE))  # unknown: not connected yet
    assert lead.follow_up is not None
    assert lead.follow_up.attempts == 2
    assert "call_attempts_exhausted" not in inbox.kinds("u1")


def test_connected_as_telephony_systems_send_it() -> None:
    """1 and " True " read as connected, 0 and "false" as not, as booleans do."""
    for sent, connected in ((1, True), (" True ", True), (0, False), ("false", False)):
        engine, _ = build(INSIDE)
        qualify(engine)
        lead = engine.ingest(ev("call_attempt", MINUTE, connected=sent))
        assert lead.follow_up is not None
        assert (lead.follow_up.attempts, lead.follow_up.connected) == (1, connected)


def test_a_late_acceptance_from_before_a_later_assignment_names_no_owner() -> None:
    """Regression: a sales_accepted arriving late, from before the lead was returned
    to the pool, made its owner the holder: its assignment came after the return in
    the list but was dated before it, and the owner's call reminders fired for days
    when others held the lead. In time order the return undid it."""
    engine, _ = build(INSIDE)
    qualify(engine)
    engine.ingest(ev("call_attempt", MINUTE, connected=True))
    engine.return_to_pool("u1", by="mgr", reason="later", at=T0 + days(5))
    engine.ingest(ev("page_view", days(10)))
    lead = engine.ingest(ev("sales_accepted", days(1), owner="ivy"))
    assert [assignment.action for assignment in lead.assignments] == ["routed", "returned"]
    assert lead.owner is None
    assert engine.tick(T0 + days(10) + MINUTE).notices == ()


def test_a_late_acceptance_from_before_its_routing_takes_the_lead() -> None:
    """Regression: an acceptance arriving after the form that pooled the lead, but
    dated before it, was dropped; in time order the named owner had the lead first
    (an owned lead is not routed). It takes the lead, at the lead's newest time so the
    assignments stay in time order."""
    away = [{"from": T0 - days(1), "until": T0 + days(2)}]
    config = {
        "teams": [
            {"id": "inside", "members": [{"id": "ian", "absences": away}]},
            {"id": "ka", "members": [{"id": "kim"}]},
        ],
        "routers": {"fallback": {"team": "inside"}},
    }
    engine, _ = build(config)
    assert qualify(engine, at=MINUTE).assignments[-1].action == "pooled"
    lead = engine.ingest(ev("sales_accepted", owner="kim"))
    assert (lead.owner, lead.team) == ("kim", "ka")
    moments = [assignment.at for assignment in lead.assignments]
    assert moments == sorted(moments)


def _owners_after(
    ticks: list[timedelta], event_at: timedelta | None = None
) -> list[tuple[Any, str, str | None]]:
    engine = leadlife.Engine(
        plugins=[Routing.from_dict(UNEQUAL_CAPACITIES)], clock=leadlife.FixedClock(T0)
    )
    qualify(engine, lead="L")
    if event_at is not None:
        engine.ingest(ev("page_view", event_at, lead="L"))
    for at in ticks:
        engine.tick(T0 + at)
    return [(a.at, a.action, a.to_owner) for a in engine.get("L").assignments]


def test_reassignments_caught_up_late_choose_as_timely_ticks_do() -> None:
    """Regression: the reassignments of one catch-up were counted in the team only
    after it, so the second was chosen without the first (a one-lead tick caught up
    at once; so does the lead's next event): another owner than with timely ticks,
    and a member at quota could be given the lead again."""
    timely = _owners_after([MINUTE * m for m in range(1, 31)])
    assert [owner for _, _, owner in timely] == ["m1", "m0", "m1"]
    assert _owners_after([30 * MINUTE]) == timely
    assert _owners_after([], event_at=30 * MINUTE) == timely


def _shares(team: Any) -> tuple[Any, ...]:
    """A team's turns, credits and receipts."""
    received = {member: list(window) for member, window in team._received.items()}
    return list(team._rotation), dict(team._credit), received


class _FailsOnce(MemoryStorage):
    """Storage whose first write of the event ``pv`` fails."""

    failed = False

    def commit(self, lead: Lead, event: Any, changes: Any) -> None:
        if event is not None and event.id == "pv" and not self.failed:
            self.failed = True
            raise OSError("db went away")
        super().commit(lead, event, changes)


def test_an_event_that_fails_after_its_catch_up_moves_no_team() -> None:
    """Reassignments counted during an event's catch-up are taken back when the
    event then fails to be stored: the next attempt chooses as the first would."""
    storage = _FailsOnce()

    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> object:
            return storage

    engine = leadlife.Engine(
        plugins=[Routing.from_dict(UNEQUAL_CAPACITIES), Provider()], clock=leadlife.FixedClock(T0)
    )
    qualify(engine, lead="L")
    routing = engine.routing
    assert routing is not None
    before = [_shares(team) for team in routing.teams.values()]
    import pytest

    from leadlife.errors import StorageError

    with pytest.raises(StorageError):
        engine.ingest(ev("page_view", 30 * MINUTE, lead="L", event_id="pv"))
    assert [_shares(team) for team in routing.teams.values()] == before
    lead = engine.ingest(ev("page_view", 30 * MINUTE, lead="L", event_id="pv"))
    assert [a.to_owner for a in lead.assignments] == ["m1", "m0", "m1"]


def test_undoing_a_failed_catch_up_keeps_what_another_lead_counted_meanwhile() -> None:
    """An enrichment hook may ingest another lead's event: if the first event then
    fails, only its own counts are taken back; the other lead, stored, keeps its
    receipt and credit in the team."""
    storage = _FailsOnce()

    class Host:
        engine: leadlife.Engine | None = None

        @leadlife.hookimpl
        def leadlife_storage(self) -> object:
            return storage

        @leadlife.hookimpl
        def leadlife_enrich_event(self, event: Any) -> None:
            if event.id == "pv" and self.engine is not None:
                self.engine.ingest(
                    ev(
                        "form_submit",
                        30 * MINUTE,
                        lead="B",
                        event_id="b-form",
                        phone=PHONE,
                        asset_id="p1",
                    )
                )

    host = Host()
    engine = leadlife.Engine(
        plugins=[Routing.from_dict(UNEQUAL_CAPACITIES), host], clock=leadlife.FixedClock(T0)
    )
    qualify(engine, lead="L")
    host.engine = engine
    import pytest

    from leadlife.errors import StorageError

    with pytest.raises(StorageError):
        engine.ingest(ev("page_view", 30 * MINUTE, lead="L", event_id="pv"))
    b = engine.get("B")
    assert b.owner is not None
    team = engine.routing.teams["t0"]  # type: ignore[union-attr]
    assert (T0 + 30 * MINUTE).timestamp() in team._received[b.owner]
    assert [a.action for a in engine.get("L").assignments] == ["routed"]


# -- defaults and odd orders ---------------------------------------------------------


def test_the_first_touch_is_the_earliest_even_when_it_arrives_late() -> None:
    engine, _ = build(INSIDE)
    qualify(engine)
    engine.ingest(ev("call_attempt", 10 * MINUTE, connected=False))
    lead = engine.ingest(ev("call_attempt", 3 * MINUTE, connected=False))  # late
    assert lead.follow_up is not None
    assert lead.follow_up.touched_ts == (T0 + 3 * MINUTE).timestamp()


def test_a_sixth_attempt_that_connects_exhausts_nothing() -> None:
    engine, inbox = build(INSIDE)
    qualify(engine)
    for n in range(5):
        engine.ingest(ev("call_attempt", MINUTE * (n + 1), connected=False))
    engine.ingest(ev("call_attempt", MINUTE * 6, connected=True))
    assert "call_attempts_exhausted" not in inbox.kinds("u1")
    assert engine.get("u1").follow_up.connected is True  # type: ignore[union-attr]


def test_the_sal_reminder_waits_two_days_from_the_entry_into_sal() -> None:
    engine, _inbox = build(INSIDE)
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
    engine, inbox = build(INSIDE)
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
