"""Time at its edges: events at the very moment a rule falls due, late events older
than a tick, daylight-saving folds, and reopenings that reopen nothing.

Each test here failed before its fix.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import leadlife
from leadlife import Stage
from leadlife.routing import Routing
from tests.conftest import T0
from tests.helpers import Inbox, days, ev, hours

PHONE = "+8613800138000"
MICRO = timedelta(microseconds=1)


def engine(*plugins: object) -> leadlife.Engine:
    return leadlife.Engine(
        plugins=list(plugins),
        plugin_manager=leadlife.get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )


def sal(e: leadlife.Engine) -> leadlife.Lead:
    e.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    e.ingest(ev("company_verified", company="Acme", industry="media"))
    lead = e.ingest(ev("chat_replied", hours(1)))
    assert lead.stage is Stage.SAL
    return lead


@pytest.mark.parametrize("offset", [-MICRO, timedelta(0), MICRO])
def test_acting_at_the_moment_sleep_falls_due_keeps_the_lead_awake(offset: timedelta) -> None:
    """The lead acted at day 90 exactly: it had not been silent for 90 days before."""
    e = engine()
    e.ingest(ev("email_opened"))
    lead = e.ingest(ev("email_clicked", days(90) + offset))
    assert lead.asleep_since is None
    assert lead.next_check_at is not None  # a later silence is still watched
    report = e.tick(T0 + days(200))
    assert [n.kind for n in report.notices] == ["reactivation_due"]
    assert report.notices[0].at == T0 + days(180) + offset


def test_a_tick_at_that_moment_first_then_the_event_wakes_the_lead() -> None:
    e = engine()
    e.ingest(ev("email_opened"))
    assert [n.kind for n in e.tick(T0 + days(90)).notices] == ["reactivation_due"]
    lead = e.ingest(ev("email_clicked", days(90)))
    assert lead.asleep_since is None
    assert lead.next_check_at == T0 + days(180)


@pytest.mark.parametrize("offset", [-MICRO, timedelta(0), MICRO])
def test_an_sal_replying_as_it_would_turn_idle_stays_sal(offset: timedelta) -> None:
    e = engine()
    due = sal(e).next_check_at
    assert due is not None
    lead = e.ingest(ev("chat_replied", due - T0 + offset))
    assert lead.stage is Stage.SAL
    if offset <= timedelta(0):  # it replied in time: it was never idle
        assert (Stage.SAL, Stage.SQL) not in [(c.from_stage, c.to_stage) for c in lead.history]


def test_activity_at_the_end_of_the_cooling_period_writes_no_flip() -> None:
    e = engine()
    e.ingest(ev("offline_event_attended"))
    lead = e.ingest(ev("page_view", days(30)))
    assert [c.rule for c in lead.history[1:]] == []


def routed() -> tuple[leadlife.Engine, Inbox]:
    inbox = Inbox()
    routing = Routing.from_dict(
        {
            "teams": [{"id": "inside", "members": [{"id": "ian"}, {"id": "ivy"}]}],
            "routers": {"fallback": {"team": "inside"}},
        }
    )
    return engine(routing, inbox), inbox


def test_a_call_at_the_end_of_the_speed_window_is_in_time() -> None:
    """Speed to lead is 'within 5 minutes': a call at 5:00 is within."""
    e, inbox = routed()
    e.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    e.ingest(ev("call_attempt", timedelta(minutes=5), connected=True))
    e.tick(T0 + days(1))
    assert "speed_to_lead_missed" not in inbox.kinds("u1")


def test_a_late_acceptance_keeps_its_own_moment_so_the_owners_calls_count() -> None:
    """The owner's follow-up runs from the acceptance as it happened: a call made
    after it counts, whatever order the two arrive in."""
    e, inbox = routed()
    e.ingest(ev("page_view"))
    e.ingest(ev("page_view", timedelta(minutes=30)))
    lead = e.ingest(ev("sales_accepted", timedelta(minutes=5), owner="ian"))
    assert lead.assignments[-1].at == T0 + timedelta(minutes=5)
    e.ingest(ev("call_attempt", timedelta(minutes=20), connected=True))
    assert e.get("u1").follow_up is not None
    assert (e.get("u1").follow_up.attempts, e.get("u1").follow_up.connected) == (1, True)
    e.tick(T0 + days(12))
    assert not {"call_attempt_due", "speed_to_lead_missed"} & set(inbox.kinds("u1"))


def test_a_tick_behind_the_leads_events_does_not_rescore_it_backwards() -> None:
    e, _ = routed()
    e.ingest(ev("page_view"))
    e.ingest(ev("download", days(20), asset_id="a"))
    lead = e.ingest(ev("sales_accepted", timedelta(0), owner="ian"))
    scores, scored_at = dict(lead.scores), lead.scored_at
    e.tick(T0 + days(5))
    lead = e.get("u1")
    assert lead.scored_at == scored_at == T0 + days(20)
    assert lead.scores == scores


def test_activity_arriving_after_a_tick_put_the_lead_to_sleep_wakes_it() -> None:
    """The lead was silent 40 days, not 90: its own older event arrived after the tick."""
    e = engine()
    e.ingest(ev("email_opened"))
    e.tick(T0 + days(100))
    lead = e.ingest(ev("email_clicked", days(50)))
    assert lead.asleep_since is None
    report = e.tick(T0 + days(200))
    assert [(n.kind, n.at) for n in report.notices] == [("reactivation_due", T0 + days(140))]


@pytest.mark.parametrize(
    ("closed_first", "asleep_on"),
    [(False, 90), (True, 150)],
    ids=["open lead: nothing reopened", "closed lead: counts from the reopening"],
)
def test_only_a_reopening_that_reopened_restarts_the_silence(
    closed_first: bool, asleep_on: int
) -> None:
    """Regression: a reopened event sent to an open lead restarted its sleep clock."""
    e = engine()
    e.ingest(ev("email_opened"))
    if closed_first:
        e.ingest(ev("disqualified", days(1), reason="test"))
    e.ingest(ev("reopened", days(60), reason="crm sync"))
    report = e.tick(T0 + days(200))
    assert [(n.kind, n.at) for n in report.notices] == [("reactivation_due", T0 + days(asleep_on))]


NEW_YORK = ZoneInfo("America/New_York")


def fold_events(zoned: bool) -> list[dict[str, Any]]:
    """Two moments across the 2026-11-01 fold: 01:45 EDT, then 01:15 EST, 30 min later."""
    first = datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK)
    second = datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK)
    assert second.timestamp() - first.timestamp() == 1800
    if not zoned:
        first, second = first.astimezone(UTC), second.astimezone(UTC)
    return [
        # The later form arrives first; the earlier download arrives late.
        {"id": "f", "lead_id": "u", "type": "form_submit", "at": second,
         "data": {"phone": PHONE, "asset_id": "p1"}},
        {"id": "d", "lead_id": "u", "type": "form_submit", "at": first,
         "data": {"asset_id": "p0"}},
    ]  # fmt: skip


def test_times_of_one_named_zone_order_by_instant_across_a_fold() -> None:
    """Regression: Python compares times of one zoneinfo zone by wall clock, so the
    milestone kept the later time and stage_at answered for the wrong moment."""
    leads = []
    for zoned in (False, True):
        e = engine()
        e.ingest_many(fold_events(zoned))
        leads.append(e.get("u"))
    utc, zoned = leads
    assert [(c.at, c.to_stage) for c in zoned.history] == [(c.at, c.to_stage) for c in utc.history]
    assert zoned.milestones == utc.milestones
    probe = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # between the two moments
    assert zoned.stage_at(probe) == utc.stage_at(probe)
    assert zoned.stage_at(probe.astimezone(NEW_YORK)) == utc.stage_at(probe)


def test_a_late_event_is_judged_as_of_the_newest_event_not_a_mixed_moment() -> None:
    """Entry rules read windows, profile and fresh evidence as of one moment, the
    newest: reading the window as of the late event's moment and the profile as of
    now would promote a lead that met the rule at no moment."""
    rules = {
        "qualification": {
            "MQL": {
                "when": {
                    "all": [
                        {"event": "download", "min_count": 3, "within_days": 7},
                        {"field": "company_verified", "equals": True},
                    ]
                }
            }
        }
    }
    e = leadlife.Engine(rulebook=rules, clock=leadlife.FixedClock(T0))
    e.ingest(ev("download", asset_id="a"))
    e.ingest(ev("download", days(1), asset_id="a"))
    e.ingest(ev("company_verified", days(40), company="Acme", industry="media"))
    lead = e.ingest(ev("download", days(2), asset_id="a"))  # the third, arriving late
    assert lead.stage is Stage.COLD
    assert lead.behaviour.count("download", 7, T0 + days(2)) == 3


@pytest.mark.parametrize("before", [timedelta(milliseconds=2), MICRO])
def test_a_hot_lead_cools_no_earlier_than_its_period(before: timedelta) -> None:
    """Regression: band_for added 1e-9 of a period (2.6 ms of 30 days) before flooring."""
    e = engine()
    e.ingest(ev("offline_event_attended", event_id="expo"))
    lead = e.ingest(ev("quote_sent", days(30) - before, amount=1))  # a sales-side event
    assert lead.stage is Stage.HOT
    assert [c.rule for c in e.tick(T0 + days(30))] == ["timers.cooling_days"]


def test_a_sales_side_event_at_a_due_moment_finds_the_rule_applied_first() -> None:
    """Only the lead's own activity (or an owner's touch) at the due moment comes in
    time; a quote sent as the lead cools finds it cooled by the timer, not by 'bands'."""
    e = engine()
    e.ingest(ev("offline_event_attended", event_id="expo"))
    lead = e.ingest(ev("quote_sent", days(30), amount=1))
    assert [(c.to_stage, c.rule, c.at) for c in lead.history[1:]] == [
        (Stage.WARM, "timers.cooling_days", T0 + days(30))
    ]
    e = engine()
    due = sal(e).next_check_at
    assert due is not None
    lead = e.ingest(ev("quote_sent", due - T0, amount=1))
    assert (lead.stage, lead.history[-1].rule) == (Stage.SQL, "timers.sal_idle_days")


def test_a_reply_at_the_sal_idle_moment_counts_whether_the_tick_came_first() -> None:
    stages = []
    for tick_first in (False, True):
        e = engine()
        due = sal(e).next_check_at
        assert due is not None
        if tick_first:
            e.tick(due)
        e.ingest(ev("chat_replied", due - T0))
        e.tick(due + hours(1))
        stages.append(e.get("u1").stage)
    assert stages == [Stage.SAL, Stage.SAL]


def test_a_close_arriving_after_its_reopening_still_counts_the_silence_from_it() -> None:
    """Regression: the reopening found an open lead, the older close then moved
    nothing, and the lead's silence counted from before the close: it was flagged
    asleep on a day it was closed in time order."""
    finals = []
    for reverse in (False, True):
        e = engine()
        close = ev("deal_lost", reason="budget")
        reopen = ev("reopened", days(170), reason="new budget")
        for event in [reopen, close] if reverse else [close, reopen]:
            e.ingest(event)
        report = e.tick(T0 + days(200))
        lead = e.get("u1")
        finals.append((lead.stage, lead.asleep_since, report.notices, lead.next_check_at))
    assert finals[0] == finals[1]
    assert finals[0][3] == T0 + days(260)


@pytest.mark.parametrize(
    "start",
    [
        datetime(2038, 1, 13, 15, 21, 40, 504049, tzinfo=UTC),  # cooling crosses 2**31 s
        datetime(2038, 1, 11, 5, 26, 3, 394770, tzinfo=UTC),
        datetime(2037, 11, 13, 5, 28, 49, 90606, tzinfo=UTC),  # sleep crosses it
        datetime(1974, 1, 5, 5, 39, 31, 87786, tzinfo=UTC),  # sleep crosses 2**27 s
    ],
)
def test_a_deadline_across_a_power_of_two_of_seconds_is_the_exact_microsecond(
    start: datetime,
) -> None:
    """Regression: due times were float sums (idle + 30 * 86400.0), one step of the
    float off the microsecond grid event times are on where the sum crossed a power
    of two of seconds: a tick at the lead's own next_check_at did nothing, a lead
    acting on its 30th silent day was cooled first, and a sales call on the 90th day
    found no sleep applied."""
    ticked = engine()
    lead = ticked.ingest(ev("offline_event_attended", start, event_id="x"))
    assert lead.stage is Stage.HOT
    due = lead.next_check_at
    assert due is not None
    assert due in (start + timedelta(days=30), start + timedelta(days=90))
    report = ticked.tick(due)
    assert report.stage_changes or report.notices
    assert ticked.get("u1").next_check_at != due, "the rule due then was applied"

    acting = engine()
    acting.ingest(ev("offline_event_attended", start, event_id="x"))
    lead = acting.ingest(ev("page_view", due))
    assert [change.rule for change in lead.history] == ["bands"], "acted in time"
    assert lead.asleep_since is None

    passive = engine()
    passive.ingest(ev("page_view", start))
    lead = passive.ingest(ev("call_attempt", start + timedelta(days=90), connected=False))
    assert lead.asleep_since == start + timedelta(days=90)


def test_a_second_owner_across_a_daylight_saving_fold_is_kept() -> None:
    """Regression: routing compared a sales_accepted's time with the last
    assignment's as datetimes of one named zone, by wall clock: 01:10 EST, twenty
    minutes after 01:50 EDT, looked older and the new owner was dropped."""
    new_york = ZoneInfo("America/New_York")
    inside = {"id": "inside", "managers": ["ines"], "members": [{"id": "ian"}, {"id": "ivy"}]}
    routing = Routing.from_dict({"teams": [inside], "routers": {"fallback": {"team": "inside"}}})
    e = engine(routing)
    first = datetime(2026, 11, 1, 1, 50, tzinfo=new_york)  # 05:50Z
    second = datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=new_york)  # 06:10Z
    for at, owner in ((first, "ian"), (second, "ivy")):
        # the datetimes themselves, in their named zone (ISO text has fixed offsets)
        lead = e.ingest({**ev("sales_accepted", owner=owner), "at": at})
    assert lead.owner == "ivy"
    assert [a.to_owner for a in lead.assignments] == ["ian", "ivy"]
    moments = [a.at for a in lead.assignments]
    assert moments == sorted(moments)
    assert [m.timestamp() for m in moments] == [first.timestamp(), second.timestamp()]


def test_a_pool_retry_at_its_own_due_moment_offers_the_lead_again() -> None:
    """Regression: the pool's retry was a float sum, off the microsecond grid across
    2**31 seconds: a tick at the lead's own next_check_at did nothing."""
    at = datetime(2038, 1, 19, 2, 44, 0, 13, tzinfo=UTC)
    away = {"from": "2038-01-19T00:00:00+00:00", "until": "2038-01-19T03:00:00+00:00"}
    routing = Routing.from_dict(
        {
            "teams": [{"id": "t", "members": [{"id": "ann", "absences": [away]}]}],
            "routers": {"fallback": {"team": "t"}},
        }
    )
    e = engine(routing)
    lead = e.ingest(ev("form_submit", at, email="a@acme.com", asset_id="a1"))
    assert (lead.owner, [a.action for a in lead.assignments]) == (None, ["pooled"])
    assert lead.next_check_at == at + timedelta(hours=1)
    e.tick(lead.next_check_at)
    assert e.get("u1").owner == "ann"


def test_a_follow_up_period_too_long_to_count_never_falls_due() -> None:
    """Regression: a very long period (a way to turn a timer off) overflowed when it
    was turned into microseconds, and the configuration did not load."""
    routing = Routing.from_dict(
        {
            "teams": [{"id": "t", "members": [{"id": "ann"}]}],
            "routers": {"fallback": {"team": "t"}},
            "sla": {"sal_idle_days": 1e300, "call_cadence_days": [0, 1e300]},
        }
    )
    e = engine(routing)
    lead = e.ingest(ev("form_submit", email="a@acme.com", asset_id="a1"))
    assert lead.owner == "ann"
    report = e.tick(T0 + timedelta(days=80))
    assert not [n for n in report.notices if n.kind in ("call_attempt_due", "sal_idle")]
