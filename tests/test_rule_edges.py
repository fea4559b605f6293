"""Rulebook edges: events at the same moment, fractional periods, reopenings, blank
required fields, day windows nested in combiners, and explain's order."""

from __future__ import annotations

import pytest

import leadlife
from leadlife import Stage
from leadlife.errors import InvalidEventError
from leadlife.lead import Lead
from leadlife.scoring.points import PointsScorer
from tests.conftest import T0
from tests.helpers import FallingScorer, days, ev, hours

PHONE = "+8613800138000"


def make_sal(engine: leadlife.Engine) -> None:
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    engine.ingest(ev("company_verified", hours(1), company="Acme", industry="media"))
    engine.ingest(ev("sales_accepted", hours(2), owner="rep7"))


def test_an_event_at_the_same_moment_as_the_newest_is_in_order(
    engine: leadlife.Engine,
) -> None:
    """A registry lookup stamped the same second as the form it verifies is not a late
    event: its verified company name replaces the one the lead typed."""
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1", company="acme"))
    lead = engine.ingest(ev("company_verified", company="Acme Co., Ltd.", industry="media"))
    assert lead.profile["company"] == "Acme Co., Ltd."
    assert lead.stage is Stage.SQL


def test_first_touch_source_is_the_first_of_events_at_the_same_moment(
    engine: leadlife.Engine,
) -> None:
    """Two events at the lead's first moment: the first one to arrive names the source."""
    engine.ingest({**ev("page_view"), "source": "google"})
    lead = engine.ingest({**ev("form_submit", asset_id="p1"), "source": "newsletter"})
    assert (lead.profile["source"], lead.profile["latest_source"]) == ("google", "newsletter")


def test_a_reopening_forgets_the_fresh_evidence_an_earlier_demotion_asked_for(
    engine: leadlife.Engine,
) -> None:
    """SAL -> SQL (idle) -> lost -> reopened: the reopened lead is read afresh, so the
    acceptance it already has makes it SAL again at once."""
    make_sal(engine)
    engine.tick(T0 + days(3))  # SAL -> SQL at T0 + 2d 2h; SAL needs fresh evidence now
    assert engine.get("u1").stage is Stage.SQL
    engine.ingest(ev("deal_lost", days(4), reason="no budget"))
    lead = engine.ingest(ev("reopened", days(5), reason="budget found"))
    assert lead.reentry == {}
    assert [(c.from_stage, c.to_stage, c.rule) for c in lead.history[-2:]] == [
        (Stage.DISQUALIFIED, Stage.COLD, "reopening.reopened"),
        (Stage.COLD, Stage.SAL, "qualification.SAL"),
    ]


def test_a_ladder_true_of_an_empty_lead_promotes_on_its_first_event(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """An entry rule a brand-new lead meets (a negation) promotes it on its very first
    event, even one that touches nothing the ladder reads."""
    engine = leadlife.Engine(
        {
            "extends": "default",
            "qualification": {"MQL": {"when": {"not": {"event": "unsubscribed"}}}},
        },
        plugin_manager=pm,
    )
    lead = engine.ingest(ev("page_view"))
    assert [(c.from_stage, c.to_stage, c.rule) for c in lead.history] == [
        (Stage.COLD, Stage.MQL, "qualification.MQL")
    ]


def test_a_fractional_cooling_period_cools_at_its_due_moment(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """cooling_days = 1.1 is 95040.00000000001 s in floats: idle + period rounds to
    idle + 95040 s. The tick at that due moment must cool, else the lead never cools."""
    engine = leadlife.Engine(
        {"extends": "default", "timers": {"cooling_days": 1.1}}, plugin_manager=pm
    )
    assert engine.ingest(ev("offline_event_attended")).stage is Stage.HOT
    report = engine.tick(T0 + days(1.5))
    assert [(c.from_stage, c.to_stage) for c in report] == [(Stage.HOT, Stage.WARM)]
    assert engine.get("u1").stage is Stage.WARM


def test_sleep_after_a_late_reopening_counts_from_the_reopenings_own_moment(
    engine: leadlife.Engine,
) -> None:
    """A reopening that arrives after a later sales event is stamped in the history at
    that later moment; the silence still counts from the reopening's own time."""
    engine.ingest(ev("page_view"))
    engine.ingest(ev("deal_lost", days(10), reason="budget"))
    engine.ingest(ev("call_attempt", days(20), connected=False))
    lead = engine.ingest(ev("reopened", days(15), reason="new budget"))
    assert lead.history[-1].at == T0 + days(20)  # the late move is stamped at the newest time
    assert lead.next_check_at == T0 + days(105)
    (notice,) = engine.tick(T0 + days(107)).notices
    assert (notice.kind, notice.at) == ("reactivation_due", T0 + days(105))
    assert notice.data["idle_since"] == T0 + days(15)


def test_a_required_field_given_as_blank_text_is_missing(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    engine = leadlife.Engine(
        {"extends": "default", "event_types": {"quote_sent": {"requires": ["amount"]}}},
        plugin_manager=pm,
    )
    engine.ingest(ev("page_view"))
    with pytest.raises(InvalidEventError, match=r"data\.amount"):
        engine.ingest(ev("quote_sent", hours(1), amount="   "))
    assert engine.get("u1").event_count == 1


def test_a_score_that_falls_at_a_cooling_step_is_applied_then_not_back_dated(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Hot -> Warm at 30 days (still a hot score); at 60 days the rescored lead is only
    warm-scored, so it cools to Cold then, not back at 30 days."""
    engine = leadlife.Engine(
        {"extends": "default", "bands": {"scorer": "step"}},
        plugins=[FallingScorer(T0 + days(45))],
        plugin_manager=pm,
    )
    assert engine.ingest(ev("page_view")).stage is Stage.HOT
    report = engine.tick(T0 + days(70))
    assert [(c.from_stage, c.to_stage, c.at) for c in report] == [
        (Stage.HOT, Stage.WARM, T0 + days(30)),
        (Stage.WARM, Stage.COLD, T0 + days(60)),
    ]


def test_a_window_inside_any_keeps_day_buckets_that_long(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """A 60-day window nested in an `any` must keep 60 days of buckets (the default
    keeps 30): 35 downloads over 40 days qualify."""
    engine = leadlife.Engine(
        {
            "extends": "default",
            "qualification": {
                "MQL": {
                    "when": {
                        "any": [
                            {"event": "download", "min_count": 35, "within_days": 60},
                            {"field": "never_set", "exists": True},
                        ]
                    }
                }
            },
        },
        plugin_manager=pm,
    )
    assert engine.rulebook.retention_days == 60
    for n in range(34):
        assert engine.ingest(ev("download", days(n), asset_id="a")).stage is not Stage.MQL
    assert engine.ingest(ev("download", days(39), asset_id="a")).stage is Stage.MQL


def test_points_explain_orders_by_absolute_points() -> None:
    scorer = PointsScorer({"page_view": 1, "careers_view": -20, "download": 10})
    lead = Lead("u1")
    for kind in ("page_view", "careers_view", "download"):
        lead.behaviour.record(kind, T0.timestamp(), 30)
    result = scorer.explain(lead, T0)
    assert [c.rule for c in result.contributions] == [
        "event_types.careers_view.points",
        "event_types.download.points",
        "event_types.page_view.points",
    ]
    assert result.value == -9.0
