"""Every promotion, demotion and closing rule of the default rulebook, with explicit times."""

from __future__ import annotations

import pytest

import leadlife
from leadlife import Stage
from leadlife.errors import InvalidEventError
from tests.conftest import T0
from tests.helpers import days, ev, hours

PHONE = "+8613800138000"


def moves(lead: leadlife.Lead) -> list[tuple[Stage, Stage, str]]:
    return [(c.from_stage, c.to_stage, c.rule) for c in lead.history]


def make_sal(engine: leadlife.Engine, lead: str = "u1") -> leadlife.Lead:
    engine.ingest(ev("form_submit", lead=lead, phone=PHONE, asset_id="p1"))
    engine.ingest(ev("company_verified", hours(1), lead=lead, company="Acme", industry="media"))
    return engine.ingest(ev("sales_accepted", hours(2), lead=lead, owner="rep7"))


# -- bands -----------------------------------------------------------------------


def test_new_lead_starts_cold(engine: leadlife.Engine) -> None:
    """A first page view leaves a lead Cold with no history."""
    lead = engine.ingest(ev("page_view", page="blog"))
    assert lead.stage is Stage.COLD
    assert lead.history == []
    assert lead.score == 1


def test_score_band_promotes_to_warm_then_hot(engine: leadlife.Engine) -> None:
    """A download (+10) makes a lead Warm; a live stream (+30) on top makes it Hot."""
    lead = engine.ingest(ev("download", asset_id="a1"))
    assert (lead.stage, lead.score) == (Stage.WARM, 10)
    lead = engine.ingest(ev("livestream_watched", hours(1), event_id="x"))
    assert (lead.stage, lead.score) == (Stage.HOT, 40)
    assert moves(lead) == [(Stage.COLD, Stage.WARM, "bands"), (Stage.WARM, Stage.HOT, "bands")]
    assert lead.history[-1].at == T0 + hours(1)


def test_offline_event_jumps_from_cold_to_hot(engine: leadlife.Engine) -> None:
    """Promotions may skip a band: +50 for an offline event goes straight to Hot."""
    lead = engine.ingest(ev("offline_event_attended", event_id="expo"))
    assert moves(lead) == [(Stage.COLD, Stage.HOT, "bands")]


def test_silence_cools_hot_to_warm_to_cold_at_exact_times(engine: leadlife.Engine) -> None:
    """30 silent days drop a Hot lead to Warm, 60 to Cold, each stamped at its due time."""
    engine.ingest(ev("offline_event_attended", event_id="expo"))
    assert list(engine.tick(T0 + days(30) - hours(1))) == []
    first = engine.tick(T0 + days(30))
    assert [(c.from_stage, c.to_stage, c.at) for c in first] == [
        (Stage.HOT, Stage.WARM, T0 + days(30))
    ]
    assert first.stage_changes[0].rule == "timers.cooling_days"
    second = engine.tick(T0 + days(75))
    assert [(c.from_stage, c.to_stage, c.at) for c in second] == [
        (Stage.WARM, Stage.COLD, T0 + days(60))
    ]
    assert engine.get("u1").stage is Stage.COLD


def test_one_late_tick_applies_every_cooling_step(engine: leadlife.Engine) -> None:
    """A tick long after the silence started records each step at its own time."""
    engine.ingest(ev("offline_event_attended", event_id="expo"))
    report = engine.tick(T0 + days(65))
    assert [(c.to_stage, c.at) for c in report] == [
        (Stage.WARM, T0 + days(30)),
        (Stage.COLD, T0 + days(60)),
    ]


def test_activity_resets_the_cooling_clock(engine: leadlife.Engine) -> None:
    """A page view on day 20 pushes the first cooling step to day 50."""
    engine.ingest(ev("offline_event_attended", event_id="expo"))
    engine.ingest(ev("page_view", days(20), page="pricing"))
    assert list(engine.tick(T0 + days(49))) == []
    assert [c.at for c in engine.tick(T0 + days(50))] == [T0 + days(50)]


def test_sales_events_are_not_lead_activity(engine: leadlife.Engine) -> None:
    """A call attempt by sales does not count as the lead being active."""
    engine.ingest(ev("offline_event_attended", event_id="expo"))
    engine.ingest(ev("call_attempt", days(20), connected=False))
    assert engine.get("u1").last_activity_at == T0
    assert [c.at for c in engine.tick(T0 + days(30))] == [T0 + days(30)]


# -- sleep -----------------------------------------------------------------------


def test_sleep_after_90_days_notifies_once(engine: leadlife.Engine) -> None:
    """After 90 silent days the lead is flagged asleep and one reactivation notice goes out."""
    engine.ingest(ev("page_view", page="blog"))
    assert engine.tick(T0 + days(89)).notices == ()
    report = engine.tick(T0 + days(91))
    assert [(n.kind, n.lead_id, n.at) for n in report.notices] == [
        ("reactivation_due", "u1", T0 + days(90))
    ]
    assert engine.get("u1").asleep_since == T0 + days(90)
    assert engine.tick(T0 + days(200)).notices == ()


def test_activity_wakes_a_sleeper(engine: leadlife.Engine) -> None:
    """A new event from a sleeping lead clears the flag and restarts the clock."""
    engine.ingest(ev("page_view", page="blog"))
    engine.tick(T0 + days(91))
    lead = engine.ingest(ev("page_view", days(100), page="pricing"))
    assert lead.asleep_since is None
    report = engine.tick(T0 + days(191))
    assert [n.at for n in report.notices] == [T0 + days(190)]


# -- qualification ---------------------------------------------------------------


def test_mql_needs_valid_contact_and_asset(engine: leadlife.Engine) -> None:
    """A valid phone and an asset id make an MQL; either alone does not."""
    lead = engine.ingest(ev("form_submit", phone=PHONE))
    assert lead.stage is Stage.COLD
    lead = engine.ingest(ev("form_submit", hours(1), asset_id="p1"))
    assert moves(lead)[-1] == (Stage.COLD, Stage.MQL, "qualification.MQL")
    assert lead.history[-1].reason.startswith("left a valid phone")


def test_invalid_phone_is_not_contact(engine: leadlife.Engine) -> None:
    """A phone number outside the number plan does not qualify; a valid e-mail does."""
    lead = engine.ingest(ev("form_submit", phone="12345", asset_id="p1"))
    assert (lead.stage, lead.profile["phone_valid"]) == (Stage.COLD, False)
    lead = engine.ingest(ev("form_submit", hours(1), email=" Ann@Example.COM "))
    assert lead.profile["email"] == "ann@example.com"
    assert lead.stage is Stage.MQL


def test_sql_needs_verified_company_on_top_of_mql(engine: leadlife.Engine) -> None:
    """A verified company alone is not SQL; with MQL data it goes straight to SQL."""
    lead = engine.ingest(ev("company_verified", company="Acme", industry="media"))
    assert lead.stage is Stage.COLD
    lead = engine.ingest(ev("form_submit", hours(1), phone=PHONE, asset_id="p1"))
    assert moves(lead) == [(Stage.COLD, Stage.SQL, "qualification.SQL")]


def test_sal_when_sales_accepts(engine: leadlife.Engine) -> None:
    """An SQL accepted by sales becomes SAL and gets the accepting owner."""
    lead = make_sal(engine)
    assert [m[1] for m in moves(lead)] == [Stage.MQL, Stage.SQL, Stage.SAL]
    assert lead.owner == "rep7"


def test_sal_when_lead_replies(engine: leadlife.Engine) -> None:
    """A lead that replies in chat is willing to talk: SAL."""
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("company_verified", hours(1), company="Acme", industry="media"))
    assert engine.ingest(ev("chat_replied", hours(2))).stage is Stage.SAL


def test_price_objection_after_quote_blocks_sal(engine: leadlife.Engine) -> None:
    """An objection to the latest quote keeps the lead at SQL until a new quote."""
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("company_verified", hours(1), company="Acme", industry="media"))
    engine.ingest(ev("quote_sent", hours(2), amount=9800))
    engine.ingest(ev("price_objection", hours(3)))
    assert engine.ingest(ev("chat_replied", hours(4))).stage is Stage.SQL
    engine.ingest(ev("quote_sent", hours(5), amount=7800))
    assert engine.ingest(ev("chat_replied", hours(6))).stage is Stage.SAL


def test_objection_before_any_quote_does_not_block(engine: leadlife.Engine) -> None:
    """An objection with no quote sent yet is not an objection to a quote."""
    engine.ingest(ev("price_objection"))
    engine.ingest(ev("form_submit", hours(1), phone=PHONE, asset_id="p1"))
    engine.ingest(ev("company_verified", hours(2), company="Acme", industry="media"))
    assert engine.ingest(ev("chat_replied", hours(3))).stage is Stage.SAL


def test_idle_sal_drops_to_sql_after_two_days(engine: leadlife.Engine) -> None:
    """An SAL silent for 2 days since it became SAL drops to SQL at exactly that moment."""
    make_sal(engine)  # SAL since T0 + 2h; the lead itself last acted at T0
    assert list(engine.tick(T0 + days(2) + hours(1))) == []
    report = engine.tick(T0 + days(3))
    assert [(c.from_stage, c.to_stage, c.rule, c.at) for c in report] == [
        (Stage.SAL, Stage.SQL, "timers.sal_idle_days", T0 + days(2) + hours(2))
    ]


def test_sal_idle_counts_from_the_latest_lead_activity(engine: leadlife.Engine) -> None:
    """A reply on day 1 moves the SAL demotion to day 3."""
    make_sal(engine)
    engine.ingest(ev("chat_replied", days(1)))
    assert list(engine.tick(T0 + days(3) - hours(1))) == []
    assert [c.at for c in engine.tick(T0 + days(3))] == [T0 + days(3)]


def test_demoted_sal_needs_fresh_evidence(engine: leadlife.Engine) -> None:
    """After SAL→SQL, old acceptance does not count: a page view keeps SQL, a reply re-enters."""
    make_sal(engine)
    engine.tick(T0 + days(3))
    assert engine.ingest(ev("page_view", days(4), page="pricing")).stage is Stage.SQL
    lead = engine.ingest(ev("chat_replied", days(4) + hours(1)))
    assert moves(lead)[-1] == (Stage.SQL, Stage.SAL, "qualification.SAL")


def test_events_catch_up_missed_timers(engine: leadlife.Engine) -> None:
    """Without a tick, the next event first applies the demotion due before it."""
    make_sal(engine)
    lead = engine.ingest(ev("page_view", days(5), page="pricing"))
    assert moves(lead)[-1] == (Stage.SAL, Stage.SQL, "timers.sal_idle_days")
    assert lead.history[-1].at == T0 + days(2) + hours(2)
    assert lead.stage is Stage.SQL


def test_sal_idle_days_is_configurable(pm: leadlife.plugins.LeadlifePluginManager) -> None:
    """A rulebook with sal_idle_days = 3 waits three days."""
    engine = leadlife.Engine(
        {"extends": "default", "timers": {"sal_idle_days": 3}}, plugin_manager=pm
    )
    make_sal(engine)
    assert list(engine.tick(T0 + days(3) + hours(1))) == []
    assert [c.at for c in engine.tick(T0 + days(4))] == [T0 + days(3) + hours(2)]


# -- closing and reopening ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "stage", "reason"),
    [
        ("deal_won", {"amount": 19800}, Stage.WON, "deal_won"),
        ("deal_lost", {"reason": "competitor"}, Stage.DISQUALIFIED, "competitor"),
        ("disqualified", {"reason": "spam"}, Stage.DISQUALIFIED, "spam"),
    ],
)
def test_closing_events(
    engine: leadlife.Engine, kind: str, data: dict[str, object], stage: Stage, reason: str
) -> None:
    """Won, lost and disqualify events close an open lead with their reason."""
    make_sal(engine)
    lead = engine.ingest(ev(kind, hours(3), **data))
    last = lead.history[-1]
    assert (last.from_stage, last.to_stage, last.reason, last.rule) == (
        Stage.SAL,
        stage,
        reason,
        f"closing.{kind}",
    )
    assert lead.next_check_at is None


def test_closed_lead_ignores_other_events_but_counts_them(engine: leadlife.Engine) -> None:
    """Events on a won lead change no stage but are still counted."""
    engine.ingest(ev("deal_won", amount=1))
    lead = engine.ingest(ev("offline_event_attended", hours(1), event_id="expo"))
    assert lead.stage is Stage.WON
    assert lead.behaviour.total("offline_event_attended") == 1
    assert engine.tick(T0 + days(400)).stage_changes == ()


def test_reopen_without_reason_is_rejected(engine: leadlife.Engine) -> None:
    """A reopen event must carry data.reason; the lead is untouched otherwise."""
    engine.ingest(ev("disqualified", reason="spam"))
    before = engine.get("u1").fork()
    with pytest.raises(InvalidEventError) as info:
        engine.ingest(ev("reopened", hours(1)))
    assert info.value.field == "data.reason"
    assert "add data.reason" in str(info.value)
    assert engine.get("u1").same_state(before)


def test_reopen_with_reason_returns_to_cold_and_requalifies(engine: leadlife.Engine) -> None:
    """A reopened lead restarts at COLD and climbs again as its data allows, all recorded."""
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("deal_lost", hours(1), reason="no budget"))
    lead = engine.ingest(ev("reopened", days(40), reason="new budget year"))
    assert moves(lead) == [
        (Stage.COLD, Stage.MQL, "qualification.MQL"),
        (Stage.MQL, Stage.DISQUALIFIED, "closing.deal_lost"),
        (Stage.DISQUALIFIED, Stage.COLD, "reopening.reopened"),
        (Stage.COLD, Stage.MQL, "qualification.MQL"),
    ]
    assert lead.history[2].reason == "new budget year"


def test_reopen_of_open_lead_changes_nothing(engine: leadlife.Engine) -> None:
    """Reopening a lead that is not closed is a no-op for its stage."""
    lead = engine.ingest(ev("reopened", reason="just in case"))
    assert (lead.stage, lead.history) == (Stage.COLD, [])


@pytest.mark.parametrize("reason", [False, 0, [], "   "])
def test_reopen_with_a_blank_or_non_text_reason_is_rejected(
    engine: leadlife.Engine, reason: object
) -> None:
    """Regression: these passed the check, then failed inside the stage graph with a
    TransitionNotAllowed that named no field; now they are refused up front."""
    engine.ingest(ev("deal_lost", reason="budget"))
    before = engine.get("u1").fork()
    with pytest.raises(InvalidEventError) as info:
        engine.ingest(ev("reopened", hours(1), reason=reason))
    assert info.value.field == "data.reason"
    assert engine.get("u1").same_state(before)


def test_a_custom_reopening_type_needs_a_reason_too(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """A rulebook's own ``reopens = true`` type without ``requires`` still needs a reason."""
    rules = {"extends": "default", "event_types": {"revived": {"reopens": True}}}
    engine = leadlife.Engine(rules, plugin_manager=pm)
    engine.ingest(ev("deal_won", reason="signed"))
    with pytest.raises(InvalidEventError, match="reopening a closed lead needs one"):
        engine.ingest(ev("revived", hours(1)))
    assert engine.ingest(ev("revived", hours(2), reason=" upsell ")).history[-1].reason == "upsell"


def test_a_late_close_from_before_a_reopening_moves_nothing(engine: leadlife.Engine) -> None:
    """Regression: a deal_won older than the lead's reopening, arriving after it, closed
    the reopened lead again; in time order the reopening undid it."""
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("deal_lost", days(1), reason="budget"))
    engine.ingest(ev("reopened", days(10), reason="new budget"))
    lead = engine.ingest(ev("deal_won", days(5), reason="late news"))
    assert lead.stage is Stage.MQL
    assert lead.behaviour.total("deal_won") == 1  # counted all the same
    # A late close with nothing reopened since still closes.
    engine.ingest(ev("page_view", days(20), lead="u2"))
    assert engine.ingest(ev("deal_won", days(15), lead="u2")).stage is Stage.WON


def test_a_late_reopening_from_before_a_later_close_keeps_the_lead_closed(
    engine: leadlife.Engine,
) -> None:
    """Regression: a reopening older than a close the lead had seen since reopened it;
    in time order that later close ends it again."""
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("deal_won", days(2), reason="signed"))
    engine.ingest(ev("deal_lost", days(12), reason="churned"))  # closed already: counted
    lead = engine.ingest(ev("reopened", days(10), reason="upsell"))
    assert lead.stage is Stage.WON
    assert engine.ingest(ev("reopened", days(13), reason="win-back")).stage is Stage.MQL


def test_sleep_after_a_reopening_counts_from_the_reopening(engine: leadlife.Engine) -> None:
    """Regression: a lead closed for months and then reopened got a reactivation notice
    dated while it was closed, since its silence counted the closed time."""
    engine.ingest(ev("page_view"))
    engine.ingest(ev("deal_lost", days(1), reason="budget"))
    lead = engine.ingest(ev("reopened", days(120), reason="new budget"))
    assert lead.next_check_at == T0 + days(210)
    assert engine.tick(T0 + days(200)).notices == ()
    (notice,) = engine.tick(T0 + days(211)).notices
    assert (notice.kind, notice.at) == ("reactivation_due", T0 + days(210))
    # Regression: the notice said the silence began at the activity before the close.
    assert notice.data["idle_since"] == T0 + days(120)
    assert "silent for 90 days" in notice.message


def test_a_one_day_sleep_notice_speaks_of_one_day(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: a rulebook sleeping leads after one silent day said "1 days"."""
    engine = leadlife.Engine(
        rulebook={"extends": "default", "timers": {"sleep_days": 1}},
        plugin_manager=pm,
        clock=leadlife.FixedClock(T0),
    )
    engine.ingest(ev("page_view"))
    (notice,) = engine.tick(T0 + days(2)).notices
    assert notice.kind == "reactivation_due"
    assert notice.message == "lead u1 has been silent for 1 day; reactivate it"


def test_a_ladder_on_the_source_climbs_on_any_event_with_that_source(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: an entry rule reading ``source`` was skipped on events whose type
    writes no ladder field, though every event with a source writes it."""
    rules = {
        "extends": "default",
        "qualification": {"MQL": {"when": {"field": "source", "equals": "expo-2026"}}},
    }
    engine = leadlife.Engine(rules, plugin_manager=pm)
    engine.ingest(ev("page_view"))
    lead = engine.ingest(dict(ev("page_view", hours(1)), source="expo-2026"))
    assert lead.stage is Stage.MQL


# -- profile, milestones and windows ----------------------------------------------


def test_milestones_keep_the_first_time(engine: leadlife.Engine) -> None:
    """Contact left, enquired and intent shown record when they first happened."""
    engine.ingest(ev("form_submit", phone=PHONE))
    engine.ingest(ev("chat_started", hours(2), channel="wecom"))
    engine.ingest(ev("webinar_registered", hours(3), event_id="w"))
    lead = engine.ingest(ev("form_submit", hours(5), asset_id="p1"))
    assert lead.milestones == {
        "contact_left": T0,
        "enquired": T0 + hours(2),
        "intent_shown": T0 + hours(3),
    }


def test_out_of_order_event_lands_in_its_own_window(engine: leadlife.Engine) -> None:
    """A late download counts on its own day: in the 7-day window, not in today's."""
    engine.ingest(ev("download", days(10), asset_id="a"))
    lead = engine.ingest(ev("download", days(5), asset_id="b"))
    now = T0 + days(10)
    assert lead.behaviour.count("download", 1, now) == 1
    assert lead.behaviour.count("download", 7, now) == 2
    assert lead.behaviour.count("download", 30, now) == 2
    assert lead.last_event_at == now
    assert lead.first_seen_at == T0 + days(5)


def test_late_event_does_not_overwrite_newer_profile(engine: leadlife.Engine) -> None:
    """An older form fills missing fields but never overwrites newer values."""
    engine.ingest(ev("form_submit", days(2), company="New Co"))
    lead = engine.ingest(ev("form_submit", days(1), company="Old Co", title="CTO"))
    assert lead.profile["company"] == "New Co"
    assert lead.profile["title"] == "CTO"


def test_windows_roll(engine: leadlife.Engine) -> None:
    """Counts leave the 1-day window the next day and the 7-day window after a week."""
    lead = engine.ingest(ev("search", keyword="media"))
    assert lead.behaviour.windows(T0) == {"search": {1: 1, 7: 1, 30: 1}}
    assert lead.behaviour.windows(T0 + days(1)) == {"search": {1: 0, 7: 1, 30: 1}}
    assert lead.behaviour.windows(T0 + days(8)) == {"search": {1: 0, 7: 0, 30: 1}}
    assert lead.behaviour.windows(T0 + days(31)) == {"search": {1: 0, 7: 0, 30: 0}}


# -- idempotency and batches --------------------------------------------------------


def test_duplicate_event_changes_nothing(engine: leadlife.Engine) -> None:
    """Sending the same event id twice leaves the lead exactly as after the first time."""
    event = ev("download", asset_id="a1")
    first = engine.ingest(event).fork()
    again = engine.ingest(event)
    assert again.same_state(first)
    assert again.event_count == 1
    assert len(list(engine.storage.events("u1"))) == 1


def test_ingest_many_reports_each_outcome(engine: leadlife.Engine) -> None:
    """The batch report counts accepted and duplicate events and lists each rejection."""
    good = ev("download", asset_id="a1")
    report = engine.ingest_many(
        [good, good, {"id": "bad", "lead_id": "u1", "type": "page_view"}, ev("page_view", hours(1))]
    )
    assert (report.accepted, report.duplicates, report.total) == (2, 1, 4)
    assert [(r.index, r.event_id) for r in report.rejected] == [(2, "bad")]
    assert "at" in report.rejected[0].reason
    assert report.stage_changes == 1


def test_fork_copies_every_field(engine: leadlife.Engine) -> None:
    """A fork equals its lead field by field and shares no mutable container."""
    make_sal(engine)
    lead = engine.get("u1")
    copy = lead.fork()
    assert copy.same_state(lead)
    for name in ("profile", "scores", "history", "milestones", "reentry"):
        assert getattr(copy, name) is not getattr(lead, name)
    copy.behaviour.record("download", T0.timestamp(), 30)
    assert lead.behaviour.total("download") == 0


def test_later_events_never_change_a_stored_lead(engine: leadlife.Engine) -> None:
    """The engine's working copy shares history, milestones and reentry with the stored
    lead; moves, milestones and SAL re-entry replace them, so a lead the host holds
    keeps the state it was returned with."""
    held = engine.ingest(ev("form_submit", lead="u1", phone=PHONE, asset_id="p1"))
    history, milestones, reentry = list(held.history), dict(held.milestones), dict(held.reentry)
    engine.ingest(ev("company_verified", hours(1), lead="u1", company="Acme", industry="media"))
    engine.ingest(ev("sales_accepted", hours(2), lead="u1", owner="rep7"))
    engine.tick(T0 + days(5))  # SAL idle: back to SQL, with a re-entry epoch for SAL
    engine.ingest(ev("chat_started", days(6), lead="u1"))
    lead = engine.get("u1")
    assert Stage.SAL in lead.reentry
    assert len(lead.history) > len(history)
    assert lead.milestones.keys() > milestones.keys()
    assert (held.history, held.milestones, held.reentry) == (history, milestones, reentry)


def test_a_routed_lead_pickles_with_its_assignments() -> None:
    """A lead with teams, assignments and follow-up timers survives pickle (hosts store it so)."""
    import pickle

    from leadlife.lead import NO_EVIDENCE
    from leadlife.routing import Routing

    routing = Routing.from_dict(
        {
            "teams": [{"id": "inside", "members": [{"id": "amy"}]}],
            "routers": {"fallback": {"team": "inside"}},
        }
    )
    engine = leadlife.Engine(plugins=[routing])
    lead = make_sal(engine)
    assert lead.assignments
    assert lead.follow_up is not None
    assert lead.assignments[0].evidence is NO_EVIDENCE  # the fallback matched nothing
    loaded = pickle.loads(pickle.dumps(lead))
    assert loaded.same_state(lead)
    assert (loaded.team, loaded.owner) == (lead.team, lead.owner)
    assert loaded.assignments[0].evidence is NO_EVIDENCE
    again = pickle.loads(pickle.dumps(routing))  # the configuration's state pickles too
    assert again.teams["inside"].rotation() == routing.teams["inside"].rotation()


def test_old_objection_still_blocks_after_demotion(engine: leadlife.Engine) -> None:
    """Regression: after SAL→SQL, an objection to the latest quote still keeps the lead out.

    Freshness after a demotion applies to evidence for a stage, not to evidence
    against it under a ``not``.
    """
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("company_verified", hours(1), company="Acme", industry="media"))
    engine.ingest(ev("chat_replied", hours(2)))
    engine.ingest(ev("quote_sent", hours(3), amount=9800))
    engine.ingest(ev("price_objection", hours(4)))
    assert engine.get("u1").stage is Stage.SAL  # the objection does not demote by itself
    engine.tick(T0 + days(3))
    assert engine.get("u1").stage is Stage.SQL
    assert engine.ingest(ev("chat_replied", days(4))).stage is Stage.SQL
    engine.ingest(ev("quote_sent", days(4) + hours(1), amount=7800))
    assert engine.ingest(ev("chat_replied", days(4) + hours(2))).stage is Stage.SAL


def test_event_id_reused_by_another_lead_is_rejected(engine: leadlife.Engine) -> None:
    """Regression: an event id already used for another lead is a clear error, batch goes on."""
    engine.ingest(ev("page_view", event_id="e-shared", lead="u1"))
    with pytest.raises(InvalidEventError) as info:
        engine.ingest(ev("page_view", event_id="e-shared", lead="u2"))
    assert info.value.field == "id"
    report = engine.ingest_many(
        [ev("page_view", event_id="e-shared", lead="u2"), ev("page_view", lead="u3")]
    )
    assert (report.accepted, len(report.rejected)) == (1, 1)
    assert engine.get("u3").event_count == 1


def test_a_tick_settles_a_band_its_own_rescoring_lowers(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: the tick rescored a cooled lead at its end, the lower score made a
    cooler band due already, and only a second tick at the same moment applied it.
    The lead is rescored as of its cooling moment now, so it drops in one move."""
    engine = leadlife.Engine(
        {"extends": "default", "bands": {"scorer": "rules"}}, plugin_manager=pm
    )
    for minute in range(4):
        engine.ingest(ev("download", hours(minute / 60), asset_id="x"))
    assert engine.get("u1").stage is Stage.HOT
    now = T0 + days(31)
    first = engine.tick(now)
    assert [(c.from_stage, c.to_stage) for c in first] == [(Stage.HOT, Stage.COLD)]
    assert engine.tick(now).stage_changes == ()
    lead = engine.get("u1")
    assert lead.next_check_at is not None
    assert lead.next_check_at > now


def test_explain_after_a_tick_adds_up_to_the_stored_score(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: explain() ran as of the newest event while the tick had rescored the
    lead later, so the explanation (50) did not add up to the score shown (-1.39)."""
    engine = leadlife.Engine(
        {"extends": "default", "bands": {"scorer": "rules"}}, plugin_manager=pm
    )
    for minute in range(4):
        engine.ingest(ev("download", hours(minute / 60), asset_id="x"))
    assert engine.explain("u1").value == engine.get("u1").score
    now = T0 + days(31)
    engine.tick(now)
    lead = engine.get("u1")
    assert lead.scored_at == now
    assert engine.explain("u1").value == lead.score == lead.scores["rules"]


def test_a_lead_that_unsubscribed_gets_no_reactivation_notice(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: a lead who opted out of marketing was still sent to a reactivation
    campaign after 90 silent days; it is flagged asleep, without the notice."""
    engine = leadlife.Engine(plugin_manager=pm)
    engine.ingest(ev("page_view"))
    lead = engine.ingest(ev("unsubscribed", hours(1)))
    assert lead.profile["unsubscribed"] is True
    report = engine.tick(T0 + days(100))
    assert report.notices == ()
    assert engine.get("u1").asleep_since == T0 + hours(1) + days(90)
    # The field is the rulebook's to choose; None sends every notice.
    loud = leadlife.Engine(
        {"extends": "default", "timers": {"opt_out_field": None}}, plugin_manager=pm
    )
    loud.ingest(ev("page_view", lead="u2"))
    loud.ingest(ev("unsubscribed", hours(1), lead="u2"))
    assert [n.kind for n in loud.tick(T0 + days(100)).notices] == ["reactivation_due"]


def test_history_stays_in_time_order_after_a_tick_ran_past_a_later_event(
    engine: leadlife.Engine,
) -> None:
    """Regression: an event newer than the lead's last event but older than a demotion
    a tick had applied was stamped before that demotion: history out of time order."""
    engine.ingest(ev("offline_event_attended"))
    engine.tick(T0 + days(31))  # HOT -> WARM at day 30
    lead = engine.ingest(ev("page_view", days(10)))
    times = [change.at for change in lead.history]
    assert times == sorted(times)
    assert lead.stage_at(lead.history[-1].at) is lead.stage


def test_a_late_event_names_the_owner_of_a_lead_without_one(engine: leadlife.Engine) -> None:
    """Regression: a late sales_accepted never set the owner, so arrival order decided
    whether the lead had one; like a profile field, a late event fills it if missing."""
    engine.ingest(ev("page_view", hours(1)))
    lead = engine.ingest(ev("sales_accepted", owner="rep1"))  # late
    assert lead.owner == "rep1"
    engine.ingest(ev("sales_accepted", hours(2), owner="rep2"))
    assert engine.ingest(ev("sales_accepted", hours(1.5), owner="rep3")).owner == "rep2"


def test_a_reopening_type_needs_no_reason_on_an_open_lead(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: once reasons were checked up front, every event of a type that
    reopens was refused without one, even on open leads it has nothing to reopen."""
    rules = {"extends": "default", "event_types": {"enquiry": {"reopens": True, "points": 20}}}
    engine = leadlife.Engine(rules, plugin_manager=pm)
    assert engine.ingest(ev("enquiry")).stage is Stage.WARM
    engine.ingest(ev("deal_lost", hours(1), reason="budget"))
    before = engine.get("u1").fork()
    with pytest.raises(InvalidEventError, match="reopening a closed lead needs one"):
        engine.ingest(ev("enquiry", hours(2)))
    assert engine.get("u1").same_state(before)


def test_a_lead_pickled_before_a_field_existed_still_loads(
    engine: leadlife.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a lead pickled without ``scored_ts`` (stored by an earlier version,
    as the SQLite example stores leads) failed every use with an AttributeError."""
    import pickle

    lead = engine.ingest(ev("page_view"))
    full = leadlife.Lead.__getstate__

    def without_scored_ts(self: leadlife.Lead) -> dict[str, object]:
        state = full(self)
        del state["scored_ts"]
        return state

    monkeypatch.setattr(leadlife.Lead, "__getstate__", without_scored_ts)
    old = pickle.dumps(lead)
    monkeypatch.undo()
    loaded = pickle.loads(old)
    assert loaded.scored_ts is None
    assert loaded.working_copy().stage is lead.stage
    loaded.scored_ts = lead.scored_ts
    assert loaded.same_state(lead)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_close_with_a_blank_reason_is_given_its_type(
    engine: leadlife.Engine, reason: str | None
) -> None:
    """Regression: a blank reason was written into the history as the reason."""
    engine.ingest(ev("page_view"))
    lead = engine.ingest(ev("disqualified", hours(1), reason=reason))
    assert lead.stage is Stage.DISQUALIFIED
    assert lead.history[-1].reason == "disqualified"
    kept = engine.ingest(ev("deal_lost", hours(1), lead="u2", reason=" lost to a rival "))
    assert kept.history[-1].reason == " lost to a rival "
