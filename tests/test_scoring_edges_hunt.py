"""Scoring edge cases: the per-event path, explain() and score_frame must agree."""

from __future__ import annotations

from typing import Any

import pytest

import leadlife
from leadlife.errors import RulebookError
from leadlife.plugins import get_plugin_manager
from leadlife.scoring import RuleScorer, ScoringRules
from leadlife.scoring.batch import lead_frame, score_frame
from tests.conftest import T0
from tests.helpers import ev


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"page": "pricing,plan=pro"}, {"page": "pricing", "plan": "pro"}),
        ({"step": 1}, {"step": "1"}),
    ],
)
def test_event_conditions_with_different_data_do_not_share_a_counter(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Regression: two event conditions narrowed by different data were counted under
    one counter whose key spelled both the same (``page_view[page=pricing,plan=pro]``),
    so the rulebook loaded, the engine kept only the second rule's data for it, and a
    view of page "pricing" scored the rule asking for page "pricing,plan=pro"."""
    scoring = {
        "engagement": [
            {"id": "first", "when": {"event": "page_view", "data": first}, "points": 10},
            {"id": "second", "when": {"event": "page_view", "data": second}, "points": 1},
        ]
    }
    with pytest.raises(RulebookError, match="counter") as info:
        ScoringRules.from_dict(scoring)
    assert info.value.path == "engagement.1.when.data"
    with pytest.raises(RulebookError) as info:
        leadlife.Engine({"extends": "default", "scoring": scoring})
    assert info.value.path == "scoring.engagement.1.when.data"


def _engine(scoring: dict[str, Any], profile: list[str]) -> leadlife.Engine:
    return leadlife.Engine(
        {
            "extends": "default",
            "bands": {"scorer": "rules"},
            "event_types": {"form_submit": {"profile": profile}},
            "scoring": scoring,
        },
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )


def test_grade_at_its_threshold_does_not_depend_on_the_order_fit_points_are_added() -> None:
    """Regression: fit rules of 0.7, 0.2 and 0.1 points make a fit of 1, the A
    threshold; explain() graded the lead A, but score_frame added the points in rule
    order (0.9999999999999999) and graded the same lead B."""
    scoring = {
        "grades": {"A": 1.0, "B": 0.5},
        "fit": [
            {"id": "title", "when": {"field": "title", "exists": True}, "points": 0.7},
            {"id": "company", "when": {"field": "company", "exists": True}, "points": 0.2},
            {"id": "no_phone", "when": {"field": "phone", "exists": False}, "points": 0.1},
        ],
        "engagement": [],
    }
    engine = _engine(scoring, ["title", "company", "phone"])
    lead = engine.ingest(ev("form_submit", title="CMO", company="Acme"))
    rules = engine.scorers["rules"].rules
    explained = engine.explain("u1", "rules")
    frame = score_frame(lead_frame([lead], rules, T0), rules, T0)
    assert explained.grade == "A"
    assert frame["grade"].iloc[0] == "A"
    assert RuleScorer(ScoringRules.from_dict(scoring)).explain(lead, T0).grade == "A"


def test_batch_counts_an_event_type_whose_name_ends_like_a_window() -> None:
    """Regression: lead_frame read the column ``n.video.30d`` of an event type named
    ``video.30d`` as a 30-day count of ``video``, so the lead scored 5 in the engine
    and 0 in score_frame."""
    engine = leadlife.Engine(
        {
            "extends": "default",
            "bands": {"scorer": "rules"},
            "event_types": {"video.30d": {"points": 1}},
            "scoring": {
                "engagement": [{"id": "video", "when": {"event": "video.30d"}, "points": 5}]
            },
        },
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )
    lead = engine.ingest(ev("video.30d"))
    rules = engine.scorers["rules"].rules
    frame = lead_frame([lead], rules, T0)
    assert frame.loc["u1", "n.video.30d"] == 1
    assert lead.scores["rules"] == 5.0
    assert score_frame(frame, rules, T0)["score"].iloc[0] == 5.0


def test_two_counts_cannot_share_one_column() -> None:
    """Regression: a 30-day count of ``video`` and the all-time count of an event type
    named ``video.30d`` are both the snapshot column ``n.video.30d``; the rulebook
    loaded and the engine scored each rule on its own events, but a frame holds one
    such column, so score_frame gave one of the rules the other's count."""
    scoring = {
        "engagement": [
            {"id": "recent", "when": {"event": "video", "within_days": 30}, "points": 1},
            {"id": "clip", "when": {"event": "video.30d"}, "points": 5},
        ]
    }
    with pytest.raises(RulebookError, match=r"n\.video\.30d") as info:
        ScoringRules.from_dict(scoring)
    assert info.value.path == "engagement.1.when.event"
    weighted = {
        "engagement": [scoring["engagement"][1]],
        "weighted": [{"event": "video", "within_days": 30, "weight": 1}],
    }
    with pytest.raises(RulebookError) as info:
        ScoringRules.from_dict(weighted)
    assert info.value.path == "weighted.0.event"


@pytest.mark.parametrize("field", ["last_activity", "last.visit", "n.orders"])
def test_a_field_named_like_a_snapshot_column_is_refused(field: str) -> None:
    """Regression: a fit rule on a profile field named ``last_activity`` loaded; the
    engine read the profile (no such field: no points) and lead_frame filled the
    column with the lead's last activity, so score_frame gave the rule's points."""
    with pytest.raises(RulebookError, match="snapshot column") as info:
        ScoringRules.from_dict({"fit": [{"when": {"field": field, "exists": True}, "points": 5}]})
    assert info.value.path == "fit.0.when.field"
    with pytest.raises(RulebookError) as info:
        ScoringRules.from_dict({"weighted": [{"field": field, "weight": 1}]})
    assert info.value.path == "weighted.0.field"


def test_bytes_in_a_profile_are_no_number_on_either_path() -> None:
    """Regression: a profile value sent as bytes (b"120") was no number to the engine's
    per-event scorer but 120 to score_frame, which let pandas parse it: the same lead
    scored 0 in the engine and 10 in batch."""
    scoring = {
        "fit": [{"id": "mid", "when": {"field": "employees", "min": 50}, "points": 10}],
        "weighted": [{"id": "size", "field": "employees", "weight": 0.1}],
        "engagement": [],
    }
    engine = _engine(scoring, ["employees", "company"])
    lead = engine.ingest(ev("form_submit", employees=b"120", company="Acme"))
    rules = engine.scorers["rules"].rules
    frame = score_frame(lead_frame([lead], rules, T0), rules, T0)
    assert lead.scores["rules"] == 0.0
    assert frame["score"].iloc[0] == lead.scores["rules"]
    as_number = engine.ingest(ev("form_submit", lead="u2", employees=120, company="Acme"))
    numbers = score_frame(lead_frame([as_number], rules, T0), rules, T0)
    assert as_number.scores["rules"] == numbers["score"].iloc[0] == 22.0
