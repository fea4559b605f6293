"""Routing inside the engine: decisions, assignment, pool operations, follow-up timers."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

import leadlife
from leadlife import Stage
from leadlife.errors import InvalidEventError, NotPermittedError, RoutingConfigError, StorageError
from leadlife.lead import Lead
from leadlife.plugins import hookimpl
from leadlife.plugins.default_storage import MemoryStorage
from leadlife.routing import RouteDecision, Routing
from tests.conftest import T0
from tests.helpers import Inbox, days, ev

PHONE = "+8613800138000"
MINUTE = timedelta(minutes=1)

CONFIG: dict[str, Any] = {
    "seed": 1,
    "admins": ["boss"],
    "teams": [
        {"id": "ka", "members": [{"id": "kim"}, {"id": "kai"}], "managers": ["kmgr"]},
        {
            "id": "smb",
            "members": [{"id": "sam"}, {"id": "sue"}, {"id": "sid"}],
            "managers": ["smgr"],
        },
    ],
    "routers": {
        "existing_account": {"accounts": [{"id": "acme", "owner": "kim", "domains": ["acme.com"]}]},
        "business_line": {"key_account_team": "ka", "min_employees": 500},
        "fallback": {"team": "smb"},
    },
}


def build(config: dict[str, Any] | None = None, *plugins: object) -> tuple[leadlife.Engine, Inbox]:
    inbox = Inbox()
    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    routing = Routing.from_dict(config or CONFIG)
    engine = leadlife.Engine(
        # Plugins registered later are asked first (pluggy's order): the host's own
        # routers go before the configured ones.
        plugins=[routing, *plugins, inbox],
        plugin_manager=pm,
        clock=leadlife.FixedClock(T0),
    )
    return engine, inbox


def qualify(engine: leadlife.Engine, lead: str, at: timedelta = timedelta(0), **data: Any) -> Lead:
    """A form with a valid phone and an asset: the lead becomes an MQL and is routed."""
    return engine.ingest(ev("form_submit", at, lead=lead, phone=PHONE, asset_id="p1", **data))


# -- routing decisions -----------------------------------------------------------------


def test_qualified_lead_is_routed_and_assigned_with_its_reasons() -> None:
    """An MQL no router knows lands in the fallback team and its rotation picks the owner."""
    engine, inbox = build()
    lead = qualify(engine, "u1")
    assert lead.stage is Stage.MQL
    assert lead.team == "smb"
    assert lead.owner in {"sam", "sue", "sid"}
    record = lead.assignments[-1]
    assert (record.action, record.router, record.strategy) == ("routed", "fallback", "round_robin")
    assert record.to_owner == lead.owner
    assert "round robin in team smb" in record.reason
    assert inbox.kinds("u1") == ["lead_assigned"]
    assert inbox.notices[0].data["to"] == lead.owner


def test_unqualified_lead_is_not_routed() -> None:
    """A page view leaves the lead unrouted: routing starts at MQL."""
    engine, _ = build()
    lead = engine.ingest(ev("page_view", lead="u1"))
    assert (lead.owner, lead.team, lead.assignments) == (None, None, ())


def test_existing_account_goes_to_the_account_owner() -> None:
    """A lead from a customer's domain goes to that account's owner, in the owner's team."""
    engine, _ = build()
    lead = qualify(engine, "u1", email="li@sh.acme.com")
    assert (lead.owner, lead.team) == ("kim", "ka")
    assert lead.assignments[-1].router == "existing_account"
    assert lead.assignments[-1].strategy is None


def test_round_robin_through_the_engine_is_even() -> None:
    """Thirty fallback leads give each of three members ten."""
    engine, _ = build()
    owners = [qualify(engine, f"u{i}", MINUTE * i).owner for i in range(30)]
    assert sorted(owners.count(m) for m in ("sam", "sue", "sid")) == [10, 10, 10]


def test_a_member_named_by_an_event_owns_the_lead_in_their_team() -> None:
    """sales_accepted naming a member places the lead with them; no router runs after."""
    engine, _ = build()
    engine.ingest(ev("sales_accepted", lead="u1", owner="sid"))
    lead = qualify(engine, "u1", MINUTE)
    assert (lead.owner, lead.team) == ("sid", "smb")
    assert [(a.action, a.by) for a in lead.assignments] == [("accepted", "sid")]


def test_sticky_owner_keeps_a_lead_they_already_own() -> None:
    """An owner from outside the teams keeps the lead when it is routed; the team is recorded."""
    engine, _ = build()
    engine.ingest(ev("sales_accepted", lead="u1", owner="partner-rep"))
    lead = qualify(engine, "u1", MINUTE)
    assert (lead.owner, lead.team) == ("partner-rep", "smb")
    assert [a.action for a in lead.assignments] == ["accepted", "routed"]
    assert lead.assignments[-1].strategy == "sticky"
    again = engine.ingest(ev("page_view", MINUTE * 2, lead="u1"))
    assert len(again.assignments) == 2  # routed once


def test_non_sticky_team_reassigns_by_its_strategy() -> None:
    """With sticky = false the team's rotation decides even for an owned lead."""
    config = copy.deepcopy(CONFIG)
    config["teams"][1]["sticky"] = False
    engine, _ = build(config)
    first = engine.routing.teams["smb"].rotation()[0]  # type: ignore[union-attr]
    engine.ingest(ev("sales_accepted", lead="u1", owner="partner-rep"))
    lead = qualify(engine, "u1", MINUTE)
    assert lead.owner == first
    assert lead.assignments[-1].strategy == "round_robin"


def test_failing_router_is_recorded_and_the_next_one_decides() -> None:
    """A router that raises is a recorded failure; the lead still gets routed."""

    class Broken:
        name = "broken"

        def route(self, lead: Lead) -> str:
            raise RuntimeError("directory down")

    class Plugin:
        @hookimpl
        def leadlife_register_routers(self, register: Any) -> None:
            register(Broken())

    engine, _ = build(None, Plugin())
    report = engine.ingest_many([ev("form_submit", lead="u1", phone=PHONE, asset_id="p")])
    assert report.accepted == 1
    assert [f.hook for f in report.failures] == ["router broken"]
    assert engine.get("u1").team == "smb"


def test_router_naming_an_unknown_team_is_a_recorded_failure() -> None:
    """A host router that names a team the configuration lacks is skipped and recorded."""

    class Typo:
        name = "typo"

        def route(self, lead: Lead) -> RouteDecision:
            return RouteDecision("typo", "always", team="smbb")

    class Plugin:
        @hookimpl
        def leadlife_register_routers(self, register: Any) -> None:
            register(Typo())

    engine, _ = build(None, Plugin())
    report = engine.ingest_many([ev("form_submit", lead="u1", phone=PHONE, asset_id="p")])
    assert "smbb" in report.failures[0].error
    assert engine.get("u1").team == "smb"


def test_storage_failure_moves_no_rotation() -> None:
    """When the commit fails, the lead is not stored and the rotation has not turned."""

    class Flaky(MemoryStorage):
        fail = False

        def commit(self, lead: Lead, event: Any, changes: Any) -> None:
            if self.fail:
                raise OSError("disk full")
            super().commit(lead, event, changes)

    storage = Flaky()

    class Provider:
        @hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return storage

    engine, _ = build(None, Provider())
    rotation = engine.routing.teams["smb"].rotation()  # type: ignore[union-attr]
    storage.fail = True
    with pytest.raises(StorageError):
        qualify(engine, "u1")
    assert engine.routing.teams["smb"].rotation() == rotation  # type: ignore[union-attr]
    storage.fail = False
    assert qualify(engine, "u1").owner == rotation[0]


def test_without_routing_a_team_decision_leaves_the_lead_in_that_pool() -> None:
    """With routers but no routing configuration, a team-only decision sets the team only."""

    class TeamRouter:
        name = "teams"

        def route(self, lead: Lead) -> RouteDecision:
            return RouteDecision("teams", "everyone to inside sales", team="inside")

    class Plugin:
        @hookimpl
        def leadlife_register_routers(self, register: Any) -> None:
            register(TeamRouter())

    engine = leadlife.Engine(plugins=[Plugin()], clock=leadlife.FixedClock(T0))
    lead = qualify(engine, "u1")
    assert (lead.team, lead.owner) == ("inside", None)
    assert lead.assignments[-1].router == "teams"


def test_pool_operations_without_routing_are_refused() -> None:
    """Without a routing configuration a claim is an error, not a silent no-op."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    qualify(engine, "u1")
    with pytest.raises(InvalidEventError, match="no routing configuration") as caught:
        engine.claim("u1", "amy", at=T0 + MINUTE)
    assert caught.value.field == "type"
    assert engine.get("u1").event_count == 1


def test_replaying_the_event_log_gives_the_same_owners() -> None:
    """Assignment is deterministic: the same events into a fresh engine give the same owners."""
    engine, _ = build()
    for i in range(12):
        qualify(engine, f"u{i}", MINUTE * i)
    engine.return_to_pool("u3", by="smgr", reason="duplicate", at=T0 + days(1))
    engine.claim("u3", "sue", at=T0 + days(1) + MINUTE)
    events = sorted(engine.storage.events(), key=lambda e: e.at)
    again, _ = build()
    for event in events:
        again.ingest(event)
    assert {lead.id: lead.owner for lead in engine.storage.leads()} == {
        lead.id: lead.owner for lead in again.storage.leads()
    }


# -- pool operations -------------------------------------------------------------------


def pooled(engine: leadlife.Engine, lead_id: str = "u1") -> Lead:
    """A routed lead put back in its team's pool by its owner."""
    lead = qualify(engine, lead_id)
    return engine.return_to_pool(
        lead_id, by=lead.owner or "", reason="wrong number", at=T0 + MINUTE
    )


def test_return_to_pool_clears_the_owner_and_restarts_nurture() -> None:
    """A returned lead keeps its team, loses its owner, and a nurture notice goes out."""
    engine, inbox = build()
    lead = pooled(engine)
    assert (lead.owner, lead.team) == (None, "smb")
    assert lead.follow_up is None
    assert lead.assignments[-1].action == "returned"
    assert inbox.kinds("u1")[-1] == "returned_to_pool"
    later = engine.ingest(ev("page_view", MINUTE * 2, lead="u1"))
    assert later.owner is None  # a returned lead waits to be claimed, it is not re-routed


def test_claim_takes_a_pooled_lead() -> None:
    """A member of the lead's team claims it from the pool; the record says who and how."""
    engine, _ = build()
    pooled(engine)
    lead = engine.claim("u1", "sid", at=T0 + MINUTE * 2)
    assert lead.owner == "sid"
    assert (lead.assignments[-1].action, lead.assignments[-1].by) == ("claimed", "sid")


def test_claim_is_refused_to_other_teams_and_for_owned_leads() -> None:
    """Only the lead's team may claim it, only while nobody owns it; refusals change nothing."""
    engine, _ = build()
    pooled(engine)
    before = engine.storage.get("u1")
    with pytest.raises(NotPermittedError, match="only members of team 'smb'") as other_team:
        engine.claim("u1", "kim", at=T0 + MINUTE * 2)
    assert (other_team.value.action, other_team.value.actor) == ("claim", "kim")
    assert engine.storage.get("u1") is before
    engine.claim("u1", "sam", at=T0 + MINUTE * 3)
    with pytest.raises(NotPermittedError, match="owned by 'sam'"):
        engine.claim("u1", "sue", at=T0 + MINUTE * 4)
    assert engine.get("u1").owner == "sam"


def test_claim_by_an_unknown_member_names_the_field() -> None:
    """Claiming for somebody in no team fails on data.member."""
    engine, _ = build()
    pooled(engine)
    with pytest.raises(InvalidEventError) as caught:
        engine.claim("u1", "nobody", at=T0 + MINUTE * 2)
    assert caught.value.field == "data.member"


def test_pool_operations_are_idempotent() -> None:
    """Sending the same operation twice, or asking for what already holds, changes nothing."""
    engine, _ = build()
    pooled(engine)
    engine.claim("u1", "sid", at=T0 + MINUTE * 2)
    records = engine.get("u1").assignments
    again = engine.ingest_many(
        [
            {
                "id": "claim-once",
                "lead_id": "u1",
                "type": "lead_claimed",
                "at": T0 + MINUTE * 3,
                "data": {"member": "sid"},
            }
        ]
        * 2
    )
    assert (again.accepted, again.duplicates) == (1, 1)
    assert engine.get("u1").assignments == records  # claiming your own lead adds nothing
    engine.claim("u1", "sid", at=T0 + MINUTE * 2)  # the same call: a duplicate event id
    assert engine.get("u1").assignments == records


def test_derived_pool_ids_of_different_calls_differ() -> None:
    """Regression: parts joined with ':' made lead 'a' claimed by 'b:c' and lead 'a:b'
    claimed by 'c' one id, and the second call was refused as another lead's id."""
    from leadlife.routing.pool import pool_event

    first = pool_event("claim", "a", T0, member="b:c")["id"]
    second = pool_event("claim", "a:b", T0, member="c")["id"]
    assert first != second
    assert pool_event("claim", "u1", T0, member="sid")["id"] == (
        f"lead_claimed:u1:sid:{T0.isoformat()}"  # plain ids read as before
    )


def test_assign_needs_a_manager() -> None:
    """A manager of the team or an admin assigns; a plain member may not."""
    engine, _ = build()
    pooled(engine)
    with pytest.raises(NotPermittedError, match="only a manager"):
        engine.assign("u1", "sue", by="sam", at=T0 + MINUTE * 2)
    lead = engine.assign("u1", "sue", by="smgr", at=T0 + MINUTE * 3)
    assert (lead.owner, lead.assignments[-1].by) == ("sue", "smgr")
    lead = engine.assign("u1", "kai", by="boss", reason="needs a KA", at=T0 + MINUTE * 4)
    assert (lead.owner, lead.team) == ("kai", "ka")


def test_transfer_needs_the_owner_or_a_manager_and_a_reason() -> None:
    """The owner transfers with a reason; others may not; a missing reason names the field."""
    engine, _ = build()
    owner = qualify(engine, "u1").owner
    stranger = next(m for m in ("sam", "sue", "sid") if m != owner)
    with pytest.raises(NotPermittedError, match=f"owned by '{owner}'"):
        engine.transfer("u1", "kim", by=stranger, reason="mine now", at=T0 + MINUTE)
    with pytest.raises(InvalidEventError) as no_reason:
        engine.ingest(
            {
                "id": "t0",
                "lead_id": "u1",
                "type": "lead_transferred",
                "at": T0 + MINUTE,
                "data": {"to": "kim", "by": owner},
            }
        )
    assert no_reason.value.field == "data.reason"
    lead = engine.transfer("u1", "kim", by=owner or "", reason="big account", at=T0 + MINUTE * 2)
    assert (lead.owner, lead.team) == ("kim", "ka")
    record = lead.assignments[-1]
    assert (record.action, record.from_owner, record.reason) == (
        "transferred",
        owner,
        "big account",
    )


def test_pool_operations_on_closed_or_unknown_leads_are_refused() -> None:
    """A won lead cannot be claimed; an unknown lead raises LeadNotFoundError."""
    engine, _ = build()
    pooled(engine)
    engine.ingest(ev("deal_won", MINUTE * 2, lead="u1"))
    with pytest.raises(NotPermittedError, match="WON"):
        engine.claim("u1", "sam", at=T0 + MINUTE * 3)
    with pytest.raises(leadlife.errors.LeadNotFoundError):
        engine.claim("nobody", "sam", at=T0)


# -- follow-up timers ------------------------------------------------------------------


def test_speed_to_lead_breach_escalates_once_then_reassigns() -> None:
    """No touch in 5 minutes: one escalation; after the second missed window, reassignment."""
    engine, _ = build()
    first = qualify(engine, "u1").owner
    assert engine.tick(T0 + MINUTE * 4).notices == ()
    report = engine.tick(T0 + MINUTE * 5)
    assert [n.kind for n in report.notices] == ["speed_to_lead_missed"]
    missed = report.notices[0]
    assert (missed.at, missed.data["to"], missed.data["escalate_to"]) == (
        T0 + MINUTE * 5,
        first,
        ["smgr"],
    )
    assert engine.tick(T0 + MINUTE * 6).notices == ()
    report = engine.tick(T0 + MINUTE * 10)
    assert [n.kind for n in report.notices] == ["speed_to_lead_missed", "lead_assigned"]
    lead = engine.get("u1")
    assert lead.owner not in (None, first)
    assert lead.assignments[-1].action == "reassigned"
    assert report.notices[1].data["to"] == lead.owner
    # The new owner gets a fresh window.
    assert [n.kind for n in engine.tick(T0 + MINUTE * 14).notices] == []
    assert [n.kind for n in engine.tick(T0 + MINUTE * 15).notices] == ["speed_to_lead_missed"]


def test_speed_reminders_are_bounded_after_the_last_reassignment() -> None:
    """Past max_reassignments the owner keeps the lead and the five-minute reminders stop."""
    engine, _ = build()
    qualify(engine, "u1")
    report = engine.tick(T0 + days(1))
    kinds = [n.kind for n in report.notices]
    assert kinds.count("speed_to_lead_missed") == 4  # two windows for each of two owners
    assert [a.action for a in engine.get("u1").assignments] == ["routed", "reassigned"]
    later = engine.tick(T0 + days(3)).notices
    assert "speed_to_lead_missed" not in [n.kind for n in later]


def test_a_toml_file_turns_timers_off_with_false() -> None:
    """Regression: TOML has no null, so a file could not turn a timer off at all."""
    toml = """
    [[teams]]
    id = "smb"
    members = [{ id = "sam" }, { id = "sue" }]
    [routers.fallback]
    team = "smb"
    [sla]
    speed_to_lead_minutes = false
    sal_idle_days = false
    call_cadence_days = []
    """
    routing = Routing.from_toml(toml)
    engine = leadlife.Engine(
        plugins=[routing],
        plugin_manager=leadlife.get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )
    qualify(engine, "u1")
    engine.ingest(ev("company_verified", MINUTE, lead="u1", company="Acme", industry="media"))
    assert engine.ingest(ev("chat_replied", MINUTE * 2, lead="u1")).stage is Stage.SAL
    report = engine.tick(T0 + days(20))
    assert [(c.from_stage, c.to_stage) for c in report] == [(Stage.SAL, Stage.SQL)]
    assert report.notices == ()
    with pytest.raises(RoutingConfigError, match=r"sla\.speed_to_lead_minutes.*false to turn"):
        Routing.from_toml(
            toml.replace("speed_to_lead_minutes = false", "speed_to_lead_minutes = true")
        )


def test_a_lead_touched_in_time_gets_no_speed_reminder() -> None:
    """A call within 5 minutes of assignment: no speed-to-lead notice ever."""
    engine, inbox = build()
    qualify(engine, "u1")
    engine.ingest(ev("call_attempt", MINUTE * 3, lead="u1", connected=True))
    for minutes in (5, 10, 60, 60 * 24 * 20):
        engine.tick(T0 + MINUTE * minutes)
    assert "speed_to_lead_missed" not in inbox.kinds("u1")
    assert "call_attempt_due" not in inbox.kinds("u1")  # the call connected


def test_late_tick_catches_up_each_timer_at_its_own_time() -> None:
    """One tick long after assignment fires every due reminder once, stamped when due."""
    config = copy.deepcopy(CONFIG)
    config["sla"] = {"reassign_after_breaches": 0}
    engine, _ = build(config)
    qualify(engine, "u1")
    engine.ingest(ev("call_attempt", MINUTE * 3, lead="u1", connected=False))
    report = engine.tick(T0 + days(5))
    kinds = [(n.kind, n.at - T0) for n in report.notices]
    assert kinds == [
        ("call_attempt_due", days(1)),
        ("call_attempt_due", days(2)),
        ("call_attempt_due", days(4)),
    ]
    assert [n.data["attempt"] for n in report.notices] == [2, 3, 4]
    assert engine.tick(T0 + days(5)).notices == ()


def test_call_cadence_stops_when_attempts_are_made_and_exhausts_at_six() -> None:
    """Attempts made before they fall due send no reminder; the sixth failure says so."""
    engine, inbox = build()
    qualify(engine, "u1")
    for n in range(6):
        engine.ingest(ev("call_attempt", MINUTE * (n + 1), lead="u1", connected=False))
    assert inbox.kinds("u1")[-1] == "call_attempts_exhausted"
    engine.tick(T0 + days(30))
    assert "call_attempt_due" not in inbox.kinds("u1")
    assert inbox.kinds("u1").count("call_attempts_exhausted") == 1


def test_sal_idle_reminds_the_owner_once() -> None:
    """An SAL silent for 2 days: the owner is reminded once, and it drops back to SQL."""
    engine, inbox = build()
    qualify(engine, "u1")
    engine.ingest(ev("company_verified", MINUTE, lead="u1", company="Acme", industry="media"))
    lead = engine.ingest(ev("chat_replied", MINUTE * 2, lead="u1"))
    assert lead.stage is Stage.SAL
    report = engine.tick(T0 + days(2) + MINUTE * 2)
    assert "sal_idle" in [n.kind for n in report.notices]
    assert [(c.from_stage, c.to_stage) for c in report] == [(Stage.SAL, Stage.SQL)]
    engine.tick(T0 + days(10))
    assert inbox.kinds("u1").count("sal_idle") == 1


def one_lead_a_day() -> dict[str, Any]:
    """CONFIG with team smb down to sam alone, at a capacity of one lead a day."""
    config = copy.deepcopy(CONFIG)
    config["teams"][1] = {
        "id": "smb",
        "strategy": "capacity",
        "members": [{"id": "sam", "capacity": 30}],
        "managers": ["smgr"],
    }
    return config


def test_pooled_lead_is_offered_again_when_quota_frees() -> None:
    """When every member is at quota the lead waits in the pool and a later tick assigns it."""
    engine, inbox = build(one_lead_a_day())
    assert qualify(engine, "u1").owner == "sam"
    waiting = qualify(engine, "u2", MINUTE)
    assert (waiting.owner, waiting.team, waiting.assignments[-1].action) == (None, "smb", "pooled")
    assert "lead_pooled" in inbox.kinds("u2")
    engine.tick(T0 + timedelta(hours=5))
    assert engine.get("u2").owner is None  # still within sam's 24 hours
    engine.tick(T0 + days(1) + timedelta(hours=1))
    lead = engine.get("u2")
    assert lead.owner == "sam"
    assert lead.assignments[-1].action == "routed"


def test_returning_a_pooled_lead_needs_a_manager_and_stops_its_offers() -> None:
    """Regression: returning a lead pooled for want of capacity did nothing, asked no
    permission (anyone could), and the team went on offering it; a returned lead
    waits to be claimed."""
    engine, inbox = build(one_lead_a_day())
    qualify(engine, "u1")
    assert qualify(engine, "u2", MINUTE).assignments[-1].action == "pooled"
    with pytest.raises(NotPermittedError, match="only a manager of its team"):
        engine.return_to_pool("u2", by="stranger", reason="tidy", at=T0 + MINUTE * 2)
    lead = engine.return_to_pool("u2", by="smgr", reason="nurture first", at=T0 + MINUTE * 2)
    assert (lead.assignments[-1].action, lead.follow_up) == ("returned", None)
    assert inbox.kinds("u2")[-1] == "returned_to_pool"
    engine.tick(T0 + days(3))
    assert engine.get("u2").owner is None  # not offered again
    again = engine.return_to_pool("u2", by="smgr", reason="still", at=T0 + MINUTE * 3)
    assert again.assignments == lead.assignments  # already waiting: nothing to do


def test_a_backdated_pool_operation_acts_on_the_leads_own_clock() -> None:
    """Regression: a claim dated before the lead's newest event started the owner's
    follow-up timers in the past, so one tick fired every missed window and
    reassigned the lead at once, and the assignments went out of time order."""
    engine, _ = build()
    pooled(engine)
    engine.ingest(ev("page_view", days(4), lead="u1"))
    lead = engine.claim("u1", "sid", at=T0 + days(1))
    claimed = lead.assignments[-1]
    assert (claimed.action, claimed.at) == ("claimed", T0 + days(4))
    assert lead.follow_up is not None
    assert lead.follow_up.assigned_ts == (T0 + days(4)).timestamp()
    report = engine.tick(T0 + days(4) + MINUTE)
    assert "speed_to_lead_missed" not in [n.kind for n in report.notices]
    assert engine.get("u1").owner == "sid"
    times = [a.at for a in engine.get("u1").assignments]
    assert times == sorted(times)


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda c: c["routers"]["fallback"].update(team="nope"), "routers.fallback.team", "nope"),
        (
            lambda c: c["routers"]["business_line"].update(key_account_team="kaa"),
            "routers.business_line.key_account_team",
            "kaa",
        ),
        (lambda c: c["teams"][0].update(strategy="random"), "teams.0.strategy", "round_robin"),
        (lambda c: c["teams"][0].update(managrs=["x"]), "teams.0.managrs", "managers"),
        # Regression: a misspelt *required* key was reported as missing, with no hint.
        (
            lambda c: c["teams"][0].update(membres=c["teams"][0].pop("members")),
            "teams.0.membres",
            "did you mean 'members'",
        ),
        (
            lambda c: c["teams"][1]["members"].append({"id": "kim"}),
            "teams.1.members.3.id",
            "already a member",
        ),
        (
            lambda c: c["routers"]["existing_account"]["accounts"][0].update(owner="ghost"),
            "routers.existing_account.accounts.0.owner",
            "ghost",
        ),
        (lambda c: c["routers"].update(order=["fallback"]), "routers.order", "existing_account"),
        (lambda c: c["sla"].update(call_cadence_days=[2, 1]), "sla.call_cadence_days", "ascending"),
        # Regressions: lax validation read each of these as a number or a switch.
        (lambda c: c["teams"][0].update(sticky="no"), "teams.0.sticky", "true or false"),
        (
            lambda c: c["teams"][0]["members"][0].update(capacity=True),
            "teams.0.members.0.capacity",
            "true and false are not numbers",
        ),
        (
            lambda c: c["sla"].update(speed_to_lead_minutes="5"),
            "sla.speed_to_lead_minutes",
            "without quotes",
        ),
        (lambda c: c["sla"].update(call_cadence_days=[0, "1"]), "sla.call_cadence_days.1", "'1'"),
        (lambda c: c.update(seed=True), "seed", "got the boolean True"),
    ],
)
def test_bad_config_fails_at_load_naming_the_key(change: Any, path: str, words: str) -> None:
    """Unknown teams, typos, people in two teams, unknown owners fail at load with their path."""
    config = copy.deepcopy(CONFIG)
    config.setdefault("sla", {})
    change(config)
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict(config)
    assert caught.value.path == path
    assert words in str(caught.value)


def test_config_numbers_stay_lax_where_nothing_is_misread() -> None:
    """Whole numbers for a float field, tuples for lists and ISO text for absences
    still load: only a quoted number or switch, or a boolean number, is refused."""
    config = copy.deepcopy(CONFIG)
    config["teams"] = tuple(config["teams"])
    config["teams"][0]["members"][0]["absences"] = [{"from": "2026-11-09", "until": "2026-11-10"}]
    config["sla"] = {"speed_to_lead_minutes": 5, "call_cadence_days": (0, 1, 2.5)}
    sla = Routing.from_dict(config).model.sla
    assert sla.speed_to_lead_minutes == 5.0
    assert sla.call_cadence_days == [0.0, 1.0, 2.5]


def test_routing_config_loads_from_toml(tmp_path: Any) -> None:
    """A TOML file loads; broken TOML names the file."""
    path = tmp_path / "routing.toml"
    path.write_text(
        '[[teams]]\nid = "inside"\n[[teams.members]]\nid = "amy"\n'
        '[routers.fallback]\nteam = "inside"\n',
        encoding="utf-8",
    )
    routing = Routing.load(path)
    assert [r.name for r in routing.routers] == ["fallback"]
    path.write_text("[[teams]\n", encoding="utf-8")
    with pytest.raises(RoutingConfigError, match="not valid TOML") as caught:
        Routing.load(path)
    assert caught.value.source == str(path)


def test_work_queue_ranks_the_engine_leads() -> None:
    """engine.work_queue orders open leads by source rate and score."""
    config = copy.deepcopy(CONFIG)
    config["priority"] = {"source_rates": {"website": 0.3, "list": 0.02}}
    engine, _ = build(config)
    engine.ingest({**ev("page_view", lead="cheap"), "source": "list"})
    engine.ingest({**ev("page_view", lead="good"), "source": "website"})
    queue = engine.work_queue()
    assert [entry.lead_id for entry in queue] == ["good", "cheap"]
    assert queue[0].source == "website"
    # Regression: a misspelt team gave an empty queue, as if the team had no leads.
    with pytest.raises(ValueError, match="'insdie' is not a team"):
        engine.work_queue(team="insdie")


def test_work_queue_argument_mistakes_are_the_librarys_errors() -> None:
    """Regression: a misspelt filter raised a bare TypeError, a bad team, limit or
    owner with unowned a bare ValueError, outside leadlife's errors."""
    from leadlife.errors import InvalidArgumentError

    engine, _ = build()
    engine.ingest(ev("page_view", lead="u1"))
    for filters, argument in (
        ({"tema": "smb"}, "tema"),
        ({"team": "insdie"}, "team"),
        ({"limit": -1}, "limit"),
        ({"owner": "sam", "unowned": True}, "owner"),
    ):
        with pytest.raises(InvalidArgumentError) as caught:
            engine.work_queue(**filters)
        assert caught.value.argument == argument


def test_reading_all_leads_wraps_storage_failures() -> None:
    """Regression: a failing ``Storage.leads`` escaped funnel and work_queue raw."""

    class Cursor(MemoryStorage):
        fail_after: int | None = None

        def leads(self) -> Any:
            for count, lead in enumerate(super().leads()):
                if count == self.fail_after:
                    raise OSError("connection reset")
                yield lead

    storage = Cursor()

    class Provider:
        @hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return storage

    engine, _ = build(None, Provider())
    for lead_id in ("u1", "u2"):
        engine.ingest(ev("page_view", lead=lead_id))
    assert sum(engine.funnel().values()) == 2
    for fail_after in (0, 1):
        storage.fail_after = fail_after
        with pytest.raises(StorageError, match=r"Storage\.leads.*connection reset"):
            engine.funnel()
        with pytest.raises(StorageError, match=r"Storage\.leads.*connection reset"):
            engine.work_queue()


def test_timers_due_at_one_moment_all_fire() -> None:
    """Regression: a call attempt and the SAL reminder due at the same moment stopped
    the catch-up after the first ("nothing moved"), and the lead dropped to SQL before
    its owner was reminded."""
    engine, inbox = build()
    engine.ingest(ev("form_submit", lead="u1", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("company_verified", lead="u1", company="Acme", industry="media"))
    lead = engine.ingest(ev("sales_accepted", lead="u1", owner="sam"))
    assert lead.stage is Stage.SAL
    report = engine.tick(T0 + days(3))
    at_two_days = [n.kind for n in report.notices if n.at == T0 + days(2)]
    assert sorted(at_two_days) == ["call_attempt_due", "sal_idle"]
    assert "sal_idle" in inbox.kinds("u1")
