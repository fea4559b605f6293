"""Routing behaviour that mutation testing of ``leadlife.routing`` found unpinned.

Each test names the behaviour it holds and why a user would notice it changing: who
gets a lead, when a reminder fires, what an assignment records.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

import leadlife
from leadlife.errors import NotPermittedError
from leadlife.lead import Lead
from tests.conftest import T0
from tests.helpers import days, ev, hours
from tests.test_routing_engine import CONFIG, PHONE, build, one_lead_a_day, pooled, qualify
from tests.test_routing_follow_up import INSIDE, sal, with_sla

MINUTE = timedelta(minutes=1)


def kinds_at(notices: Any, lead_id: str) -> list[tuple[str, Any]]:
    """``(kind, at)`` of the notices about one lead, in order."""
    return [(n.kind, n.at) for n in notices if n.lead_id == lead_id]


# -- assignment -------------------------------------------------------------------------


def test_a_sticky_owner_keeps_the_timers_of_their_acceptance() -> None:
    """Routing a lead its (outside) owner already accepted keeps their timers running:
    no new ``lead_assigned``, no speed-to-lead windows restarted from the routing, and
    so no reassignment away from the owner who already touched it."""
    engine, inbox = build()
    engine.ingest(ev("sales_accepted", lead="u1", owner="partner-rep"))
    assert qualify(engine, "u1", MINUTE).assignments[-1].strategy == "sticky"
    engine.tick(T0 + 30 * MINUTE)
    assert inbox.kinds("u1") == []
    lead = engine.get("u1")
    assert lead.owner == "partner-rep"
    assert [a.action for a in lead.assignments] == ["accepted", "routed"]


def _business_lead(engine: leadlife.Engine, lead_id: str, at: timedelta) -> Lead:
    """A verified big company (900 employees): business_line sends it to team ka."""
    engine.ingest(
        ev("company_verified", at, lead=lead_id, company="Big", industry="retail", employees=900)
    )
    return qualify(engine, lead_id, at + timedelta(seconds=1))


def test_an_account_owners_direct_leads_do_not_use_up_their_round_robin_turns() -> None:
    """kim owns account acme and is in team ka: the leads acme sends her directly do not
    move her in ka's rotation, so ka's own queue leads still alternate kim, kai, kim,
    kai (counts within one of each other) however many account leads come between."""
    engine, _ = build()
    queue_owners = []
    for i in range(4):
        account = qualify(engine, f"acme{i}", MINUTE * 2 * i, email=f"p{i}@acme.com")
        assert (account.owner, account.assignments[-1].router) == ("kim", "existing_account")
        lead = _business_lead(engine, f"big{i}", MINUTE * (2 * i + 1))
        assert (lead.team, lead.assignments[-1].strategy) == ("ka", "round_robin")
        queue_owners.append(lead.owner)
    assert sorted(queue_owners) == ["kai", "kai", "kim", "kim"]
    assert queue_owners[0] != queue_owners[1]


def test_a_pooled_lead_notice_escalates_to_the_teams_managers() -> None:
    """``lead_pooled`` goes to the team's managers (``escalate_to``): nobody could take
    the lead, and only a manager can free capacity or assign it."""
    engine, inbox = build(one_lead_a_day())
    qualify(engine, "u1")
    assert qualify(engine, "u2", MINUTE).assignments[-1].action == "pooled"
    [notice] = [n for n in inbox.notices if n.lead_id == "u2"]
    assert (notice.kind, notice.data["to"], notice.data["team"]) == ("lead_pooled", None, "smb")
    assert notice.data["escalate_to"] == ["smgr"]


def test_a_pool_retry_records_the_router_that_pooled_the_lead() -> None:
    """When a pooled lead is offered again and taken, the assignment still says which
    router decided its team (the decision is explainable after the fact)."""
    engine, _ = build(one_lead_a_day())
    qualify(engine, "u1")
    assert qualify(engine, "u2", MINUTE).assignments[-1].router == "fallback"
    engine.tick(T0 + days(1) + timedelta(hours=1))
    last = engine.get("u2").assignments[-1]
    assert (last.action, last.to_owner, last.router) == ("routed", "sam", "fallback")
    assert last.strategy == "capacity"


def test_pool_retries_follow_the_configured_interval() -> None:
    """``sla.pool_retry_minutes`` sets how often a pooled lead is offered again: with 10,
    a member back at 09:30 gets it at 09:30, not at the default hour."""
    away = [{"from": T0 - days(1), "until": T0 + 30 * MINUTE}]
    config = {
        "teams": [{"id": "inside", "members": [{"id": "ian", "absences": away}]}],
        "routers": {"fallback": {"team": "inside"}},
        "sla": {"pool_retry_minutes": 10},
    }
    engine, _ = build(config)
    assert qualify(engine, "u1").assignments[-1].action == "pooled"
    engine.tick(T0 + 45 * MINUTE)
    lead = engine.get("u1")
    assert (lead.owner, lead.assignments[-1].at) == ("ian", T0 + 30 * MINUTE)


# -- follow-up timers -------------------------------------------------------------------


def test_a_reassignment_goes_to_another_member_even_when_the_owner_is_next() -> None:
    """After two missed windows the lead goes to *another* member: in a team of two with
    two leads, the owner of each is next in the rotation at the reassignment, and must
    still be passed over."""
    engine, _ = build(with_sla(call_cadence_days=[]))
    qualify(engine, "u1")
    qualify(engine, "u2", timedelta(seconds=1))
    engine.tick(T0 + 11 * MINUTE)
    for lead_id in ("u1", "u2"):
        routed, reassigned = engine.get(lead_id).assignments
        assert reassigned.action == "reassigned"
        assert reassigned.from_owner == routed.to_owner
        assert reassigned.to_owner not in (None, routed.to_owner)


def test_a_promotion_does_not_restart_the_owners_speed_to_lead_window() -> None:
    """MQL → SQL (the company verified) is no reopening: the owner's first touch is
    still due five minutes after the assignment, not five after the promotion."""
    engine, _ = build(with_sla(call_cadence_days=[]))
    qualify(engine, "u1")
    lead = engine.ingest(ev("company_verified", 3 * MINUTE, company="X", industry="retail"))
    assert lead.stage is leadlife.Stage.SQL
    report = engine.tick(T0 + 5 * MINUTE)
    assert kinds_at(report.notices, "u1") == [("speed_to_lead_missed", T0 + 5 * MINUTE)]


def test_without_reassignment_each_owner_gets_one_window() -> None:
    """``reassign_after_breaches = 0``: nobody is reassigned, and the owner hears about
    the missed first touch once, five minutes after assignment, never again."""
    engine, _ = build(with_sla(reassign_after_breaches=0, call_cadence_days=[]))
    owner = qualify(engine, "u1").owner
    report = engine.tick(T0 + days(1))
    assert kinds_at(report.notices, "u1") == [("speed_to_lead_missed", T0 + 5 * MINUTE)]
    lead = engine.get("u1")
    assert (lead.owner, [a.action for a in lead.assignments]) == (owner, ["routed"])


def test_call_reminders_say_how_many_attempts_were_made() -> None:
    """``call_attempt_due`` carries ``attempts_made``, the calls logged so far, so the
    owner sees how far behind the cadence they are."""
    engine, inbox = build({**INSIDE, "sla": {"speed_to_lead_minutes": False}})
    qualify(engine, "u1")
    engine.tick(T0 + days(1))
    engine.ingest(ev("call_attempt", days(1) + MINUTE, connected=False))
    engine.tick(T0 + days(4))
    due = [
        (n.data["attempt"], n.data["attempts_made"], n.at)
        for n in inbox.notices
        if n.kind == "call_attempt_due"
    ]
    assert due == [(2, 0, T0 + days(1)), (3, 1, T0 + days(2)), (4, 1, T0 + days(4))]


def test_activity_from_an_sal_postpones_its_idle_reminder() -> None:
    """The SAL reminder counts from the lead's latest activity: a visit a day into SAL
    moves it to two days after the visit, not two days after entering SAL."""
    engine, inbox = build(with_sla(call_cadence_days=[]))
    sal(engine)
    engine.ingest(ev("page_view", days(1), page="pricing"))
    engine.tick(T0 + days(2) + hours(1))
    assert "sal_idle" not in inbox.kinds("u1")
    engine.tick(T0 + days(3) + hours(1))
    assert [(n.kind, n.at) for n in inbox.notices if n.kind == "sal_idle"] == [
        ("sal_idle", T0 + days(3))
    ]


def test_a_second_stay_in_sal_gets_its_own_idle_reminder() -> None:
    """Once per *stay* in SAL: an SAL demoted to SQL after its reminder and accepted
    again is a new stay, and its owner is reminded again when it idles again."""
    engine, inbox = build(with_sla(call_cadence_days=[]))
    sal(engine)
    engine.tick(T0 + days(2) + hours(1))
    assert engine.get("u1").stage is leadlife.Stage.SQL  # reminded, then demoted
    lead = engine.ingest(ev("chat_replied", days(3)))
    assert lead.stage is leadlife.Stage.SAL
    engine.tick(T0 + days(5) + hours(1))
    assert [(n.kind, n.at) for n in inbox.notices if n.kind == "sal_idle"] == [
        ("sal_idle", T0 + days(2) + 2 * MINUTE),
        ("sal_idle", T0 + days(5)),
    ]


def test_a_capacity_team_reassigns_to_another_member_though_the_owner_has_most_credit() -> None:
    """A capacity team passes the owner over too: ian (20 leads a day) still has the most
    credit after taking the lead, but missed both windows, so ivy (1 a day) gets it."""
    config = {
        "teams": [
            {
                "id": "inside",
                "strategy": "capacity",
                "members": [{"id": "ian", "capacity": 600}, {"id": "ivy", "capacity": 30}],
            }
        ],
        "routers": {"fallback": {"team": "inside"}},
        "sla": {"call_cadence_days": []},
    }
    engine, _ = build(config)
    assert qualify(engine, "u1").owner == "ian"
    engine.tick(T0 + 11 * MINUTE)
    last = engine.get("u1").assignments[-1]
    assert (last.action, last.from_owner, last.to_owner) == ("reassigned", "ian", "ivy")


# -- pool operations --------------------------------------------------------------------


def test_a_manager_of_the_members_team_may_assign_another_teams_lead() -> None:
    """``assign`` is open to a manager of the lead's team *or* of the member's: kmgr
    (team ka) pulls an smb lead from smb's pool to kai, and it moves to team ka."""
    engine, _ = build()
    pooled(engine)
    lead = engine.assign("u1", "kai", by="kmgr", reason="a key account", at=T0 + 2 * MINUTE)
    assert (lead.owner, lead.team, lead.assignments[-1].by) == ("kai", "ka", "kmgr")


def test_an_admin_who_is_a_member_may_claim_from_another_teams_pool() -> None:
    """Admins may do every pool operation: one who is also a member of team ka claims
    a lead waiting in team smb's pool, which a plain ka member may not."""
    config = copy.deepcopy(CONFIG)
    config["admins"] = ["kim"]
    engine, _ = build(config)
    pooled(engine)
    with pytest.raises(NotPermittedError, match="only members of team 'smb'"):
        engine.claim("u1", "kai", at=T0 + 2 * MINUTE)
    lead = engine.claim("u1", "kim", at=T0 + 3 * MINUTE)
    assert (lead.owner, lead.team, lead.assignments[-1].action) == ("kim", "ka", "claimed")


def test_transferring_or_assigning_a_lead_to_its_owner_adds_nothing() -> None:
    """Asking for what already holds adds nothing: a transfer or an assignment to the
    current owner records no assignment and sends no notice."""
    engine, inbox = build()
    owner = qualify(engine, "u1").owner
    assert owner is not None
    before = (engine.get("u1").assignments, len(inbox.notices))
    engine.transfer("u1", owner, by="smgr", reason="keep it", at=T0 + MINUTE)
    engine.assign("u1", owner, by="smgr", at=T0 + 2 * MINUTE)
    after = engine.get("u1")
    assert (after.assignments, len(inbox.notices)) == before
    assert after.owner == owner


def test_an_acceptance_is_a_first_touch_only_when_its_event_counts_as_one() -> None:
    """Regression: a `sales_accepted` naming the owner was their first touch even
    where the host had left it out of `sla.touch_events`, so the owner never got
    the speed-to-lead reminder the host asked for."""
    missed = {}
    for touches in (["call_attempt"], ["call_attempt", "sales_accepted"]):
        engine, inbox = build(with_sla(call_cadence_days=[], touch_events=touches))
        engine.ingest(ev("sales_accepted", lead="u1", owner="ian"))
        engine.ingest(ev("form_submit", MINUTE, lead="u1", phone=PHONE, asset_id="p1"))
        engine.tick(T0 + 30 * MINUTE)
        missed[len(touches)] = [
            n.data["to"] for n in inbox.notices if n.kind == "speed_to_lead_missed"
        ]
    # Two missed windows each, with the reassignment to the other member between.
    assert missed[1] == ["ian", "ian", "ivy", "ivy"]
    assert missed[2] == []


def test_an_acceptance_from_before_a_reassignment_names_no_one() -> None:
    """A `sales_accepted` dated before the timers reassigned the lead arrives after
    the reassignment: the lead stays with its new owner (docs/routing.md)."""
    engine, _ = build(with_sla(call_cadence_days=[]))
    first = qualify(engine, "u1").owner
    engine.tick(T0 + 10 * MINUTE)
    second = engine.get("u1").owner
    assert second not in (None, first)
    lead = engine.ingest(ev("sales_accepted", 7 * MINUTE, lead="u1", owner=first))
    assert lead.owner == second
    assert [a.action for a in lead.assignments] == ["routed", "reassigned"]
