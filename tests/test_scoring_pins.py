"""Scoring and rulebook-condition behaviour that mutation testing showed unpinned.

Each test names what it pins: a boundary, a default, an explanation's content or the
per-lead and batch paths agreeing. Leads come from an engine fed explicit times (or
are built with only a profile), and are scored through the public API: ``RuleScorer``,
``ScoringRules``, ``score_frame`` and ``Engine``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd
import pytest

import leadlife
from leadlife.errors import RulebookError
from leadlife.plugins import get_plugin_manager
from leadlife.scoring import RuleScorer, ScoreResult, ScoringRules
from leadlife.scoring.batch import lead_frame, score_frame
from tests.conftest import T0
from tests.helpers import days, ev, hours


def engine(rulebook: dict[str, Any] | None = None) -> leadlife.Engine:
    """An engine on ``rulebook`` (the default one when None) with a fixed clock and
    only the built-in plugins."""
    return leadlife.Engine(
        rulebook,
        clock=leadlife.FixedClock(T0),
        plugin_manager=get_plugin_manager(load_entrypoints=False),
    )


def lead_after(*events: dict[str, Any], profile: dict[str, Any] | None = None) -> leadlife.Lead:
    """Lead ``u1`` after the default rulebook applied ``events``, with ``profile``
    fields added (a lead with only a profile when no events are given)."""
    if events:
        run = engine()
        run.ingest_many(list(events))
        lead = run.get("u1")
    else:
        lead = leadlife.Lead("u1")
    lead.profile.update(profile or {})
    return lead


def both_paths(
    rules: dict[str, Any], lead: leadlife.Lead, now: datetime
) -> tuple[ScoreResult, pd.Series]:
    """``lead``'s explanation per lead, and its row of ``score_frame``; checks that
    the per-event score equals the explanation's value on the way."""
    compiled = ScoringRules.from_dict(rules)
    scorer = RuleScorer(compiled)
    explained = scorer.explain(lead, now)
    assert scorer.score(lead, now) == explained.value
    row = score_frame(lead_frame([lead], compiled, now), compiled, now, reasons=9).iloc[0]
    return explained, row


def points_of(result: ScoreResult) -> dict[str, float]:
    """The explanation's contributions as ``{rule id: points}``."""
    return {c.rule: c.points for c in result.contributions}


# -- fit: field tests -------------------------------------------------------------------


def test_a_fit_score_exactly_at_a_threshold_earns_that_grade() -> None:
    """A lead gets the grade whose threshold its fit score *reaches*: 60 is A, not B,
    per lead and in a frame (R01: ``>`` for ``>=`` in the per-lead grade)."""
    rules = {
        "fit": [{"id": "media", "when": {"field": "industry", "equals": "media"}, "points": 60}]
    }
    explained, row = both_paths(rules, lead_after(profile={"industry": "media"}), T0)
    assert (explained.fit, explained.grade) == (60.0, "A")
    assert (row["fit"], row["grade"]) == (60.0, "A")


@pytest.mark.parametrize("employees", [50, 500, "500", 500.0])
def test_min_and_max_both_include_their_bound(employees: object) -> None:
    """``min = 50, max = 500`` passes at 50 and at 500 on both paths (R05 / R06: the
    upper bound made exclusive per lead / in a frame)."""
    rules = {
        "fit": [{"id": "mid", "when": {"field": "employees", "min": 50, "max": 500}, "points": 10}]
    }
    explained, row = both_paths(rules, lead_after(profile={"employees": employees}), T0)
    assert points_of(explained) == {"mid": 10.0}
    assert row["points.mid"] == 10.0


def test_free_mail_reads_the_domain_after_the_last_at() -> None:
    """The free-mail test reads the text after the *last* ``@`` (R10: after the first)."""
    rules = {
        "fit": [{"id": "free", "when": {"field": "email", "matches": "free_mail"}, "points": -15}]
    }
    for email, expected in [("li@acme.cn@qq.com", -15.0), ("li@qq.com@acme.cn", 0.0)]:
        explained, row = both_paths(rules, lead_after(profile={"email": email}), T0)
        assert explained.value == row["score"] == expected, email


def test_a_regex_matches_anywhere_in_the_value() -> None:
    """``matches`` is ``re.search``: an unanchored pattern matches inside the value
    (R13: ``re.match``, anchored at the start)."""
    rules = {
        "fit": [
            {"id": "cn", "when": {"field": "email", "matches": r"\.cn$"}, "points": 5},
            {"id": "ceo", "when": {"field": "title", "matches": "CEO"}, "points": 7},
        ]
    }
    lead = lead_after(profile={"email": "li@acme.cn", "title": "Deputy CEO"})
    explained, row = both_paths(rules, lead, T0)
    assert points_of(explained) == {"ceo": 7.0, "cn": 5.0}
    assert row["score"] == 12.0


@pytest.mark.parametrize("value", [1, 1.0, True])
def test_equals_compares_as_python_does(value: object) -> None:
    """``equals = 1`` passes for 1, 1.0 and true, as the docs promise (R14: same type
    required)."""
    rules = {"fit": [{"id": "one", "when": {"field": "plan", "equals": 1}, "points": 4}]}
    explained, row = both_paths(rules, lead_after(profile={"plan": value}), T0)
    assert explained.value == row["score"] == 4.0


def test_nan_counts_as_absent_for_exists() -> None:
    """A NaN field (a missing cell of a frame, a float from a form) is absent: ``exists =
    true`` fails and ``exists = false`` passes, per lead and in a frame (R15: NaN read
    as the text "nan")."""
    rules = {
        "fit": [
            {"id": "has_phone", "when": {"field": "phone", "exists": True}, "points": 10},
            {"id": "no_phone", "when": {"field": "phone", "exists": False}, "points": -5},
        ]
    }
    explained, row = both_paths(rules, lead_after(profile={"phone": math.nan}), T0)
    assert points_of(explained) == {"no_phone": -5.0}
    assert (row["points.has_phone"], row["points.no_phone"]) == (0.0, -5.0)


def test_a_rule_on_an_absent_field_is_explained() -> None:
    """A negative-fit rule that fires on a *missing* field (``exists = false``) is in the
    explanation, which adds up to the score (R22: such rules only looked at when the
    profile has the field, so explain left them out)."""
    rules = {
        "fit": [
            {"id": "no_phone", "when": {"field": "phone", "exists": False}, "points": -5},
            {"id": "media", "when": {"field": "industry", "equals": "media"}, "points": 20},
        ]
    }
    explained, _ = both_paths(rules, lead_after(profile={"industry": "media"}), T0)
    assert [(c.rule, c.points, c.value) for c in explained.contributions] == [
        ("media", 20.0, "media"),
        ("no_phone", -5.0, None),
    ]
    assert (explained.value, explained.fit) == (15.0, 15.0)


# -- inactivity ---------------------------------------------------------------------------

SILENCE = {"engagement": [{"id": "silent_month", "when": {"inactive_days": 30}, "points": -20}]}


def test_inactivity_is_explained_with_the_exact_days_idle() -> None:
    """The contribution's value is the days idle, fractions kept (R25: whole days)."""
    lead = lead_after(ev("download", T0, asset_id="a1"))
    explained, _ = both_paths(SILENCE, lead, T0 + days(30) + hours(12))
    assert [(c.rule, c.points, c.value) for c in explained.contributions] == [
        ("silent_month", -20.0, 30.5)
    ]


def test_inactivity_fires_at_exactly_its_days_on_both_paths() -> None:
    """``inactive_days = 30`` holds after exactly 30 days of silence, per lead and in a
    frame (R26: the frame's test made strict)."""
    lead = lead_after(ev("download", T0, asset_id="a1"))
    explained, row = both_paths(SILENCE, lead, T0 + days(30))
    assert explained.value == row["score"] == -20.0
    before, row_before = both_paths(SILENCE, lead, T0 + days(30) - hours(1))
    assert before.value == row_before["score"] == 0.0


def test_a_lead_that_never_acted_is_idle_since_its_first_event() -> None:
    """Only system and sales events (a registry lookup, an accepted lead): silence counts
    from the first event, in the explanation and the score alike (R27: the per-lead rule
    read only the lead's own activity)."""
    lead = lead_after(
        ev("company_verified", T0, company="Acme", industry="media"),
        ev("sales_accepted", days(5), owner="rep1"),
    )
    assert lead.last_activity_ts is None
    explained, row = both_paths(SILENCE, lead, T0 + days(31))
    assert [(c.rule, c.value) for c in explained.contributions] == [("silent_month", 31.0)]
    assert explained.value == row["score"] == -20.0


def test_an_inactivity_rule_is_capped_by_its_max_points() -> None:
    """An inactivity rule's points are capped at ``±max_points`` like any rule's (R37:
    the cap ignored for inactivity)."""
    rules = {
        "engagement": [
            {"id": "silent", "when": {"inactive_days": 30}, "points": -50, "max_points": 20}
        ]
    }
    lead = lead_after(ev("download", T0, asset_id="a1"))
    explained, row = both_paths(rules, lead, T0 + days(40))
    assert points_of(explained) == {"silent": -20.0}
    assert row["score"] == -20.0


# -- weighted -------------------------------------------------------------------------------


def test_a_weighted_event_count_is_capped_on_both_paths() -> None:
    """``weight * count`` stops at ``max_points``, per lead as in a frame (R39: the
    per-lead path ignored the cap)."""
    rules = {
        "weighted": [
            {
                "id": "views",
                "axis": "engagement",
                "event": "page_view",
                "weight": 2,
                "max_points": 5,
            }
        ]
    }
    lead = lead_after(*[ev("page_view", hours(n), page="blog") for n in range(10)])
    explained, row = both_paths(rules, lead, T0 + days(1))
    assert [(c.rule, c.points, c.value) for c in explained.contributions] == [("views", 5.0, 10)]
    assert (row["score"], row["engagement"]) == (5.0, 5.0)


def test_a_missing_category_scores_the_default() -> None:
    """A lead without the field scores ``weight * default``, as an unlisted category does
    (R41: a missing one scored 0)."""
    rules = {
        "weighted": [
            {"id": "title", "field": "title", "values": {"CEO": 10}, "default": 3, "weight": 2}
        ]
    }
    for profile in ({}, {"title": "intern"}):
        explained, row = both_paths(rules, lead_after(profile=profile), T0)
        assert points_of(explained) == {"title": 6.0}, profile
        assert row["fit"] == 6.0


# -- the total cap ------------------------------------------------------------------------

CAPPED = {
    "total_cap": 30,
    "engagement": [{"id": "download", "when": {"event": "download"}, "points": 10}],
}


def test_a_total_exactly_at_the_cap_gets_no_cap_contribution() -> None:
    """The cap's contribution appears only *above* the cap: at exactly 30 the
    explanation is the rules alone (S02: ``>=``, adding a ``total_cap`` of 0)."""
    lead = lead_after(*[ev("download", hours(n), asset_id="a1") for n in range(3)])
    explained, row = both_paths(CAPPED, lead, T0 + days(1))
    assert points_of(explained) == {"download": 30.0}
    assert explained.value == row["score"] == 30.0
    assert row["points.total_cap"] == 0.0


def test_the_cap_contribution_carries_the_cap_as_its_value() -> None:
    """Above the cap the extra contribution is ``total_cap - (fit + engagement)`` and its
    value is the cap itself (S03: the uncapped total)."""
    lead = lead_after(*[ev("download", hours(n), asset_id="a1") for n in range(5)])
    explained, row = both_paths(CAPPED, lead, T0 + days(1))
    assert [(c.rule, c.points, c.value) for c in explained.contributions] == [
        ("download", 50.0, 5),
        ("total_cap", -20.0, 30.0),
    ]
    assert (explained.value, explained.engagement) == (30.0, 50.0)
    assert row["points.total_cap"] == -20.0


# -- decay ----------------------------------------------------------------------------------


def test_a_rule_that_does_not_decay_keeps_its_points_beside_one_that_does() -> None:
    """Two rules on one event type, one with ``decays = false``: a half-life later the
    score holds 10 fresh points and 10 halved ones, as the explanation says (F06: the
    per-event score decayed every rule of the event type when any one decayed)."""
    rules = {
        "half_life_days": 10,
        "engagement": [
            {"id": "fresh", "when": {"event": "download"}, "points": 10, "decays": False},
            {"id": "stale", "when": {"event": "download"}, "points": 10},
        ],
    }
    lead = lead_after(ev("download", T0, asset_id="a1"))
    explained, row = both_paths(rules, lead, T0 + days(10))
    assert points_of(explained) == {"fresh": 10.0, "stale": 5.0}
    assert explained.value == row["score"] == 15.0


# -- the points scorer ------------------------------------------------------------------------


def test_event_types_worth_no_points_are_no_contributions() -> None:
    """A quote sent and a price objection are worth 0 in the default rulebook: the points
    scorer's explanation leaves them out (P01: zero-point types kept, each listed as a
    contribution of 0)."""
    run = engine()
    run.ingest_many(
        [
            ev("download", T0, asset_id="a1"),
            ev("quote_sent", hours(1), amount=100),
            ev("price_objection", hours(2)),
        ]
    )
    why = run.explain("u1", "points")
    assert [(c.rule, c.points, c.value) for c in why.contributions] == [
        ("event_types.download.points", 10.0, 1)
    ]
    assert why.value == run.get("u1").scores["points"] == 10.0


# -- the batch path ---------------------------------------------------------------------------


def test_reasons_list_equal_contributions_in_rule_order() -> None:
    """Ties in the ``reasons`` column are listed in rule order, as the docs say, with
    ties of several sizes mixed (B05: an unstable sort of the contributions)."""
    fit = [
        {"id": f"r{n}", "when": {"field": "industry", "exists": True}, "points": points}
        for n, points in enumerate([1, 3, -2, 3, 2, -2, 3, -3])
    ]
    _, row = both_paths({"fit": fit}, lead_after(profile={"industry": "media"}), T0)
    assert row["reasons"] == "r1 +3, r3 +3, r6 +3, r7 -3, r2 -2, r4 +2, r5 -2, r0 +1"


def test_a_frame_of_leads_keeps_whole_number_categories() -> None:
    """``lead_frame`` keeps profile values as Python objects: the category ``1`` of one
    lead stays ``1`` beside a lead without the field, and scores ``values["1"]`` (B10:
    pandas inferred a float column, and ``1`` became ``"1.0"``)."""
    rules = ScoringRules.from_dict(
        {"weighted": [{"id": "tier", "field": "tier", "values": {"1": 10, "2": 5}, "weight": 1}]}
    )
    first, second = leadlife.Lead("u1", profile={"tier": 1}), leadlife.Lead("u2")
    frame = score_frame(lead_frame([first, second], rules, T0), rules, T0)
    assert list(frame["score"]) == [10.0, 0.0]
    assert RuleScorer(rules).score(first, T0) == 10.0


def test_lead_frame_derives_the_normalised_email_domain() -> None:
    """``lead_frame``'s derived ``email_domain`` column holds the domain, trimmed and
    lower-cased, as the docs describe it (B11: the raw address; the scores alone cannot
    tell, as the free-mail test normalises again)."""
    rules = ScoringRules.from_dict(
        {"fit": [{"id": "free", "when": {"field": "email", "matches": "free_mail"}, "points": -1}]}
    )
    lead = leadlife.Lead("u1", profile={"email": "Kid@QQ.com "})
    assert lead_frame([lead], rules, T0).loc["u1", "email_domain"] == "qq.com"


# -- rulebook defaults and validation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fit", "grade"),
    [(60, "A"), (59.5, "B"), (35, "B"), (34.5, "C"), (15, "C"), (14.5, "D"), (-10, "D")],
)
def test_default_grades_are_a60_b35_c15_else_d(fit: float, grade: str) -> None:
    """Without ``grades`` the thresholds are A = 60, B = 35, C = 15 and the rest D, per
    lead and in a frame (M01: a default threshold changed)."""
    rules = {"fit": [{"id": "f", "when": {"field": "industry", "exists": True}, "points": fit}]}
    explained, row = both_paths(rules, lead_after(profile={"industry": "media"}), T0)
    assert explained.grade == row["grade"] == grade


@pytest.mark.parametrize(
    ("key", "value"),
    [("decay_floor", 1.5), ("decay_floor", -0.1), ("total_cap", 0), ("half_life_days", 0)],
)
def test_out_of_range_rulebook_numbers_are_refused_naming_the_key(key: str, value: float) -> None:
    """``decay_floor`` is a share in 0..1, ``total_cap`` and ``half_life_days`` are above
    0: anything else fails at load naming the key (M03 / M04: the ranges widened)."""
    with pytest.raises(RulebookError) as info:
        ScoringRules.from_dict({key: value})
    assert info.value.path == key


@pytest.mark.parametrize("key", ["min_count", "within_days"])
def test_an_event_condition_counts_from_one(key: str) -> None:
    """``min_count`` and ``within_days`` are whole numbers from 1: 0 fails at load at the
    key's place (M06 / M07: 0 accepted, a rule firing with no event at all or counting
    an empty window)."""
    rules = {"engagement": [{"when": {"event": "download", key: 0}, "points": 5}]}
    with pytest.raises(RulebookError) as info:
        ScoringRules.from_dict(rules)
    assert info.value.path == f"engagement.0.when.{key}"


def test_a_narrowed_counter_is_named_by_its_data_keys_in_sorted_order() -> None:
    """``data = { source = "ad", page = "pricing" }`` and the same table written the other
    way round read one counter, ``page_view[page=pricing,source=ad]``: a frame's column
    does not depend on how the author ordered the keys (M10: keys in written order)."""
    rules = ScoringRules.from_dict(
        {
            "engagement": [
                {
                    "id": "one",
                    "when": {"event": "page_view", "data": {"source": "ad", "page": "pricing"}},
                    "points": 1,
                },
                {
                    "id": "two",
                    "when": {"event": "page_view", "data": {"page": "pricing", "source": "ad"}},
                    "points": 2,
                },
            ]
        }
    )
    key = "page_view[page=pricing,source=ad]"
    assert rules.columns == [f"n.{key}"]
    assert rules.counters() == {"page_view": {key: {"page": "pricing", "source": "ad"}}}


def test_an_entry_rule_counts_events_from_one() -> None:
    """An entry rule's ``min_count`` is at least 1: 0 would let every lead in without the
    event, so it fails at load at its place (RM01: 0 accepted)."""
    rulebook = {"qualification": {"MQL": {"when": {"event": "demo_requested", "min_count": 0}}}}
    with pytest.raises(RulebookError) as info:
        leadlife.Rulebook.from_dict(rulebook)
    assert info.value.path == "qualification.MQL.when.min_count"


def test_warm_equal_to_hot_is_refused() -> None:
    """``warm`` must be strictly below ``hot``; equal bands leave no Warm band (RM03:
    ``warm <= hot`` accepted)."""
    with pytest.raises(RulebookError) as info:
        leadlife.Rulebook.from_dict({"bands": {"warm": 40, "hot": 40}})
    assert info.value.path == "bands"
    assert info.value.problem == "warm (40) must be below hot (40)"


def test_one_second_is_the_shortest_timer() -> None:
    """A timer of exactly one second (1/86400 days), the bound the error message names,
    is accepted (RM04: the bound itself refused)."""
    rulebook = leadlife.Rulebook.from_dict({"timers": {"sal_idle_days": 1 / 86_400}})
    assert rulebook.model.timers.sal_idle_days == 1 / 86_400


# -- entry-rule conditions ----------------------------------------------------------------------

PHONE = "+8613800138000"


def sal_lead() -> leadlife.Engine:
    """An engine on the default rulebook with ``u1`` accepted as SAL by its reply at 2 h."""
    run = engine()
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    run.ingest(ev("company_verified", hours(1), company="Acme", industry="media"))
    assert run.ingest(ev("chat_replied", hours(2))).stage is leadlife.Stage.SAL
    return run


def test_an_sal_is_demoted_after_two_idle_days_by_default() -> None:
    """``sal_idle_days`` defaults to 2, as DOMAIN.md says, in a rulebook of one's own
    too (not extending the default one, which writes it out): an SAL silent for two
    days drops to SQL, not before (RM07: the schema's default changed)."""
    ladder = {
        stage: {"when": {"event": kind}}
        for stage, kind in [("MQL", "form_submit"), ("SQL", "call_back"), ("SAL", "chat_replied")]
    }
    run = engine({"qualification": ladder})
    run.ingest(ev("form_submit"))
    run.ingest(ev("call_back", hours(1)))
    assert run.ingest(ev("chat_replied", hours(2))).stage is leadlife.Stage.SAL
    run.tick(T0 + hours(2) + days(2) - hours(1))
    assert run.get("u1").stage is leadlife.Stage.SAL
    run.tick(T0 + hours(2) + days(2))
    assert run.get("u1").stage is leadlife.Stage.SQL


def test_evidence_at_the_demotion_moment_is_fresh() -> None:
    """After SAL → SQL the lead needs new evidence to re-enter; a reply at the very moment
    of the demotion is new (C03: only evidence strictly after it counted)."""
    run = sal_lead()
    due = T0 + hours(2) + days(2)
    run.tick(due)
    assert run.get("u1").stage is leadlife.Stage.SQL
    assert run.ingest(ev("chat_replied", due)).stage is leadlife.Stage.SAL


def test_since_counts_only_events_strictly_after_the_anchor() -> None:
    """``since = "quote_sent"`` counts events *after* the latest quote: a reply logged at
    the quote's own moment is not one, a reply a second later is (C04: ``>=``)."""
    rulebook = {
        "qualification": {"MQL": {"when": {"event": "chat_replied", "since": "quote_sent"}}}
    }
    run = engine(rulebook)
    run.ingest(ev("quote_sent", hours(1), amount=100))
    assert run.ingest(ev("chat_replied", hours(1))).stage is leadlife.Stage.COLD
    later = hours(1) + days(1 / 86_400)
    assert run.ingest(ev("chat_replied", later)).stage is leadlife.Stage.MQL


@pytest.mark.parametrize(
    "sal_when",
    [
        {"event": "chat_replied", "within_days": 7},
        {"event": "chat_replied", "since": "quote_sent"},
    ],
    ids=["within_days", "since"],
)
def test_a_demoted_sal_needs_a_new_reply_whatever_the_condition(sal_when: dict[str, Any]) -> None:
    """After SAL → SQL the reply that made the lead SAL is old evidence, under a window or
    ``since`` as under a plain event condition: new data from the lead re-runs the ladder
    and it stays SQL until it replies again (C07 / C08: freshness skipped for windowed
    and ``since`` conditions)."""
    run = engine(
        {"extends": "default", "qualification": {"SAL": {"when": sal_when, "reason": "replied"}}}
    )
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    run.ingest(ev("company_verified", hours(1), company="Acme", industry="media"))
    run.ingest(ev("quote_sent", hours(2), amount=100))
    assert run.ingest(ev("chat_replied", hours(3))).stage is leadlife.Stage.SAL
    run.tick(T0 + hours(3) + days(2))
    assert run.get("u1").stage is leadlife.Stage.SQL
    again = ev("form_submit", hours(4) + days(2), phone=PHONE, asset_id="p2")
    assert run.ingest(again).stage is leadlife.Stage.SQL
    assert run.ingest(ev("chat_replied", hours(5) + days(2))).stage is leadlife.Stage.SAL


def mql_when(condition: dict[str, Any]) -> leadlife.Engine:
    """An engine whose only entry rule is MQL = ``condition`` (form_submit copies
    ``industry``)."""
    return engine(
        {
            "event_types": {"form_submit": {"profile": ["industry"]}},
            "qualification": {"MQL": {"when": condition}},
        }
    )


def test_a_window_under_not_inside_all_lets_time_alone_promote() -> None:
    """``all = [industry, not an objection in the last 7 days]``: once the week is over,
    any later event promotes the lead, even one the rule does not read (C10 / C11: the
    window under ``not`` or inside ``all`` was not seen, so the ladder did not run)."""
    run = mql_when(
        {
            "all": [
                {"field": "industry", "exists": True},
                {"not": {"event": "price_objection", "within_days": 7}},
            ]
        }
    )
    run.ingest(ev("price_objection"))
    assert run.ingest(ev("form_submit", days(1), industry="media")).stage is leadlife.Stage.COLD
    assert run.ingest(ev("page_view", days(10), page="blog")).stage is leadlife.Stage.MQL


def test_a_new_quote_lifts_an_objection_under_not_since() -> None:
    """``not { price_objection since quote_sent }``: a new quote with no objection to it
    promotes the lead at once, the quote being the last event (C12 / C13: the ``since``
    type, or everything under ``not``, left out of what the ladder reads)."""
    run = mql_when(
        {
            "all": [
                {"field": "industry", "exists": True},
                {"not": {"event": "price_objection", "since": "quote_sent"}},
            ]
        }
    )
    run.ingest(ev("quote_sent", amount=100))
    run.ingest(ev("price_objection", hours(1)))
    assert run.ingest(ev("form_submit", hours(2), industry="media")).stage is leadlife.Stage.COLD
    assert run.ingest(ev("quote_sent", hours(3), amount=90)).stage is leadlife.Stage.MQL


@pytest.mark.parametrize(
    "when",
    [
        {"event": "chat_replied", "since": "follow_up"},
        {"all": [{"event": "chat_replied"}, {"not": {"event": "fax_received"}}]},
    ],
    ids=["since", "not"],
)
def test_a_strict_rulebook_refuses_undeclared_types_in_since_and_under_not(
    when: dict[str, Any],
) -> None:
    """Strict mode checks every event type an entry rule names, in ``since`` and under
    ``not`` too (C14 / C15: those went unchecked, and the rule silently never held)."""
    with pytest.raises(RulebookError) as info:
        leadlife.Rulebook.from_dict(
            {"extends": "default", "strict": True, "qualification": {"SQL": {"when": when}}}
        )
    assert info.value.path == "qualification.SQL.when"


def test_explain_lists_ties_in_rule_order_as_the_reasons_column_does() -> None:
    """Regression: explain() listed ties in the order it collected rules (those
    that always run first, then field rules, then event rules), so it disagreed with
    score_frame's reasons, which list ties in rule order."""
    rules = ScoringRules.from_dict(
        {
            "fit": [
                {"id": "media", "when": {"field": "industry", "equals": "media"}, "points": 5},
                {"id": "no_phone", "when": {"field": "phone", "exists": False}, "points": 5},
            ]
        }
    )
    lead = leadlife.Lead("u1", profile={"industry": "media"})
    explained = [c.rule for c in RuleScorer(rules).explain(lead, T0).contributions]
    reasons = score_frame(lead_frame([lead], rules, T0), rules, T0, reasons=2)["reasons"]
    assert explained == ["media", "no_phone"]
    assert reasons.iloc[0] == "media +5, no_phone +5"


def test_the_points_scorer_lists_ties_in_the_order_of_its_table() -> None:
    """Two leads with the same counts get the same explanation, whichever event type
    each did first: ties follow the points table."""
    from leadlife.scoring.points import PointsScorer

    scorer = PointsScorer({"download": 5, "webinar": 5})
    orders = []
    for first, second in (("download", "webinar"), ("webinar", "download")):
        engine = leadlife.Engine()
        engine.ingest(ev(first, lead="u1"))
        lead = engine.ingest(ev(second, hours(1), lead="u1"))
        orders.append([c.rule for c in scorer.explain(lead, T0 + hours(2)).contributions])
    assert orders == [["event_types.download.points", "event_types.webinar.points"]] * 2
