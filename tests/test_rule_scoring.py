"""The rule scorer: the seed's points, decay, caps, grades, errors, and batch = incremental."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadlife
from leadlife.errors import RulebookError
from leadlife.scoring import RuleScorer, ScoringRules
from leadlife.scoring.batch import lead_frame, score_frame
from leadlife.scoring.rules import domain_of
from tests.conftest import T0
from tests.helpers import days, ev

SEED_RULES: dict[str, Any] = {
    "engagement": [
        {"id": "offline_event", "when": {"event": "offline_event_attended"}, "points": 50},
        {"id": "livestream", "when": {"event": "livestream_watched"}, "points": 30},
        {"id": "download", "when": {"event": "download"}, "points": 10},
        {"id": "silent_month", "when": {"inactive_days": 30}, "points": -30},
    ]
}


def lead_with(*events: tuple[str, float], profile: dict[str, Any] | None = None) -> leadlife.Lead:
    """A lead that did each ``(type, day offset)``; its profile as given."""
    lead = leadlife.Lead("u1", profile=dict(profile or {}))
    for kind, offset in events:
        ts = (T0 + days(offset)).timestamp()
        lead.behaviour.record(kind, ts, 30)
        lead.first_seen_ts = min(ts, lead.first_seen_ts or ts)
        lead.last_activity_ts = max(ts, lead.last_activity_ts or ts)
    return lead


def test_seed_points_are_reproduced_exactly() -> None:
    """Offline event +50, live stream +30, download +10 each, a silent month -30."""
    scorer = RuleScorer(SEED_RULES)
    lead = lead_with(
        ("offline_event_attended", 0), ("livestream_watched", 1), ("download", 2), ("download", 3)
    )
    result = scorer.explain(lead, T0 + days(3))
    assert result.value == 50 + 30 + 10 + 10
    assert [(c.rule, c.points) for c in result.contributions] == [
        ("offline_event", 50),
        ("livestream", 30),
        ("download", 20),
    ]
    later = scorer.explain(lead, T0 + days(33))
    assert later.value == 100 - 30
    assert ("silent_month", -30) in [(c.rule, c.points) for c in later.contributions]
    assert scorer.score(lead, T0 + days(32)) == 100  # 29 days after the last download


def test_half_life_and_floor() -> None:
    """Engagement halves per half-life of staleness and never falls below its floor."""
    rules = {
        "half_life_days": 10,
        "decay_floor": 0.2,
        "engagement": [{"id": "dl", "when": {"event": "download"}, "points": 10}],
    }
    scorer = RuleScorer(rules)
    lead = lead_with(("download", 0))
    assert scorer.score(lead, T0) == 10
    assert scorer.score(lead, T0 + days(10)) == pytest.approx(10 * (0.2 + 0.8 * 0.5))
    assert scorer.score(lead, T0 + days(1000)) == pytest.approx(2.0)


def test_caps_and_fires_once() -> None:
    """max_points caps a rule, fires = once counts once, total_cap caps the sum."""
    rules = {
        "total_cap": 60,
        "engagement": [
            {"id": "dl", "when": {"event": "download"}, "points": 10, "max_points": 40},
            {
                "id": "burst",
                "when": {"event": "download", "min_count": 4, "within_days": 7},
                "points": 25,
                "fires": "once",
            },
        ],
    }
    scorer = RuleScorer(rules)
    lead = lead_with(*[("download", d) for d in (0, 1, 2, 3, 4)])
    result = scorer.explain(lead, T0 + days(4))
    points = {c.rule: c.points for c in result.contributions}
    assert points == {"dl": 40, "burst": 25, "total_cap": -5}
    assert result.value == 60 == sum(points.values())
    assert scorer.score(lead, T0 + days(10)) == 40  # the burst left the 7-day window


def test_fit_grades_and_negative_fit() -> None:
    """Fit rules, including free-mail negative fit and weighted dimensions, give a grade."""
    rules = {
        "grades": {"A": 50, "B": 20},
        "fit": [
            {
                "id": "industry",
                "when": {"field": "industry", "in": ["advertising", "media"]},
                "points": 25,
            },
            {"id": "free_mail", "when": {"field": "email", "matches": "free_mail"}, "points": -20},
            {"id": "big", "when": {"field": "employees", "min": 500}, "points": 15},
        ],
        "weighted": [
            {"id": "city", "field": "city_tier", "values": {"1": 100, "2": 50}, "weight": 0.2},
        ],
    }
    scorer = RuleScorer(rules)
    ad_agency = lead_with(
        profile={
            "industry": "advertising",
            "email": "cfo@acme.cn",
            "employees": 800,
            "city_tier": 1,
        }
    )
    result = scorer.explain(ad_agency, T0)
    assert (result.fit, result.grade, result.engagement) == (60, "A", 0)
    student = lead_with(profile={"industry": "education", "email": "Kid@QQ.com"})
    assert (scorer.explain(student, T0).fit, scorer.explain(student, T0).grade) == (-20, "D")


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (
            {"engagement": [{"when": {"evnt": "x"}, "points": 1}]},
            "engagement.0.when",
            "field, event or inactive_days",
        ),
        (
            {"engagement": [{"when": {"event": "x", "min_cont": 2}, "points": 1}]},
            "engagement.0.when.min_cont",
            "unknown key",
        ),
        (
            {"fit": [{"when": {"field": "a", "exists": True}, "points": "lots"}]},
            "fit.0.points",
            "valid number",
        ),
        ({"half_life_days": -3}, "half_life_days", "greater than 0"),
        ({"strict": "false"}, "strict", "write true or false, without quotes"),
        (
            {"engagement": [{"when": {"event": "x"}, "points": 1, "decays": 0}]},
            "engagement.0.decays",
            "(got 0)",
        ),
        (
            {"fit": [{"when": {"field": "a", "exists": "yes"}, "points": 1}]},
            "fit.0.when.exists",
            "true or false",
        ),
        (
            {
                "strict": True,
                "event_types": ["download"],
                "engagement": [{"when": {"event": "dowload"}, "points": 1}],
            },
            "engagement.0.when.event",
            "unknown event type 'dowload'",
        ),
        (
            {"fit": [{"when": {"field": "a", "matches": "("}, "points": 1}]},
            "fit.0.when",
            "not a valid regular expression",
        ),
        ({"weighted": [{"event": 5, "weight": 1}]}, "weighted.0.event", "valid string"),
        (
            {"engagement": [{"when": {"event": "x", "min_cont": 2}, "points": 1}]},
            "engagement.0.when.min_cont",
            "did you mean 'min_count'",
        ),
        (
            {"engagement": [{"when": {"inactive_days": 30}, "points": -1, "fires": "every"}]},
            "engagement.0",
            "counts events",
        ),
    ],
)
def test_bad_scoring_rules_name_the_rule(data: dict[str, Any], path: str, words: str) -> None:
    """Each mistake fails at load with the rule's index and field."""
    with pytest.raises(RulebookError) as info:
        ScoringRules.from_dict(data)
    assert info.value.path == path
    assert words in str(info.value)


# -- one meaning, two paths -----------------------------------------------------------

EVENTS = ["download", "page_view", "livestream_watched", "page_view[page=pricing]"]
FIELDS = {
    "industry": st.sampled_from(["advertising", "media", "retail", None, 7]),
    "email": st.sampled_from(["a@gmail.com", "b@acme.cn", "c@QQ.COM", "", None, 3.5]),
    "employees": st.one_of(
        st.none(),
        st.integers(0, 5000),
        st.floats(0, 5000),
        st.booleans(),
        st.sampled_from(["many", "450", " 12 ", "1e3", "nan", ""]),
    ),
    # 1, 1.0 and True are equal to pandas, not as text: a frame mixing them once scored
    # them all alike (regression).
    "tier": st.sampled_from(["1", "2", 1, 2, 1.0, True, None, "x"]),
}

field_when = st.one_of(
    st.builds(lambda f: {"field": f, "exists": True}, st.sampled_from(list(FIELDS))),
    st.builds(
        lambda v: {"field": "industry", "in": v},
        st.lists(st.sampled_from(["advertising", "media", "retail"]), min_size=1),
    ),
    st.builds(lambda v: {"field": "tier", "equals": v}, st.sampled_from(["1", 2, "x"])),
    st.builds(
        lambda lo, hi: {"field": "employees", "min": lo, "max": lo + hi},
        st.integers(0, 3000),
        st.integers(0, 3000),
    ),
    st.just({"field": "email", "matches": "free_mail"}),
    st.just({"field": "email", "matches": r"\.cn$"}),
)
event_when = st.builds(
    lambda e, n, w: {**e, "min_count": n, **({"within_days": w} if w else {})},
    st.sampled_from(
        [
            {"event": "download"},
            {"event": "page_view"},
            {"event": "livestream_watched"},
            {"event": "page_view", "data": {"page": "pricing"}},
        ]
    ),
    st.integers(1, 3),
    st.sampled_from([None, 1, 7, 30]),
)
points = st.integers(-50, 50).filter(bool)
caps = st.one_of(st.none(), st.integers(1, 60))


@st.composite
def rulebooks(draw: st.DrawFn) -> dict[str, Any]:
    fit = draw(
        st.lists(
            st.builds(
                lambda w, p, c: {"when": w, "points": p, "max_points": c}, field_when, points, caps
            ),
            max_size=4,
        )
    )
    engagement = draw(
        st.lists(
            st.one_of(
                st.builds(
                    lambda w, p, c, f, d: {
                        "when": w,
                        "points": p,
                        "max_points": c,
                        "fires": f,
                        "decays": d,
                    },
                    event_when,
                    points,
                    caps,
                    st.sampled_from(["every", "once"]),
                    st.booleans(),
                ),
                st.builds(
                    lambda d, p: {"when": {"inactive_days": d}, "points": p},
                    st.integers(1, 60),
                    points,
                ),
            ),
            max_size=5,
        )
    )
    weighted = draw(
        st.lists(
            st.one_of(
                st.builds(
                    lambda w, default, cap: {
                        "field": "tier",
                        "values": {"1": 100, "2": 40},
                        "weight": w,
                        "default": default,
                        **({"max_points": cap} if cap else {}),
                    },
                    st.floats(-2, 2),
                    st.sampled_from([5, 0]),  # 0: only leads with a tier can score
                    st.sampled_from([None, 60]),
                ),
                st.builds(
                    lambda w: {"field": "employees", "weight": w, "max_points": 30},
                    st.floats(-0.1, 0.1),
                ),
                st.builds(
                    lambda e, w, d: {
                        "event": e,
                        "weight": w,
                        "axis": "engagement",
                        **({"within_days": d} if d else {}),
                    },
                    st.sampled_from(EVENTS),
                    st.floats(-5, 5),
                    st.sampled_from([None, 7]),
                ),
            ),
            max_size=3,
        )
    )
    book: dict[str, Any] = {"fit": fit, "engagement": engagement, "weighted": weighted}
    if draw(st.booleans()):
        book["half_life_days"] = draw(st.integers(1, 60))
        book["decay_floor"] = draw(st.sampled_from([0.0, 0.25, 1.0]))
    if draw(st.booleans()):
        book["total_cap"] = draw(st.integers(1, 200))
    return book


@st.composite
def leads(draw: st.DrawFn, index: int) -> leadlife.Lead:
    profile = {name: draw(values) for name, values in FIELDS.items() if draw(st.booleans())}
    history = draw(st.lists(st.tuples(st.sampled_from(EVENTS), st.floats(0, 90)), max_size=12))
    lead = lead_with(*history, profile=profile)
    lead.id = f"u{index}"
    return lead


@settings(max_examples=150)
@given(book=rulebooks(), data=st.data(), now_day=st.floats(0, 120))
def test_batch_equals_incremental(
    book: dict[str, Any], data: st.DataObject, now_day: float
) -> None:
    """score_frame over lead snapshots gives each lead's scalar score and contributions."""
    rules = ScoringRules.from_dict(book)
    scorer = RuleScorer(rules)
    group = [data.draw(leads(i)) for i in range(data.draw(st.integers(1, 6)))]
    now = T0 + timedelta(days=now_day)
    frame = score_frame(lead_frame(group, rules, now), rules, now)
    for lead in group:
        result = scorer.explain(lead, now)
        row = frame.loc[lead.id]
        assert math.isclose(row["score"], result.value, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(row["fit"], result.fit or 0.0, rel_tol=1e-9, abs_tol=1e-9)
        assert row["grade"] == result.grade
        batch = {
            c.removeprefix("points."): row[c]
            for c in frame.columns
            if c.startswith("points.") and row[c] != 0
        }
        scalar = {c.rule: c.points for c in result.contributions}
        assert batch.keys() == scalar.keys()
        for rule_id, value in scalar.items():
            assert math.isclose(batch[rule_id], value, rel_tol=1e-9, abs_tol=1e-9)
        # the explanation always adds up to the score, in both paths
        assert result.value == math.fsum(c.points for c in result.contributions)
        assert scorer.score(lead, now) == result.value
        assert math.isclose(sum(batch.values()), row["score"], rel_tol=1e-9, abs_tol=1e-9)


def test_engine_runs_the_rule_scorer(pm: leadlife.plugins.LeadlifePluginManager) -> None:
    """A registered rule scorer can drive the bands, and the engine explains with it."""

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Any) -> None:
            register(RuleScorer({**SEED_RULES, "name": "seed"}))

    engine = leadlife.Engine(
        {"extends": "default", "bands": {"scorer": "seed"}}, plugins=[Plugin()], plugin_manager=pm
    )
    lead = engine.ingest(ev("livestream_watched", event_id="l1"))
    assert (lead.scores["seed"], lead.stage) == (30, leadlife.Stage.WARM)
    lead = engine.ingest(ev("download", days(1), asset_id="a"))
    assert lead.stage is leadlife.Stage.HOT
    assert [c.rule for c in engine.explain("u1").contributions] == ["livestream", "download"]
    default = engine.explain("u1", "rules")  # the default rulebook's rule scorer runs too
    assert [c.rule for c in default.contributions] == ["livestream", "download"]
    decayed = 30 * (0.25 + 0.75 * 2 ** (-1 / 45))  # the live stream is a day stale
    assert default.value == lead.scores["rules"] == pytest.approx(decayed + 10)


def test_default_rulebook_scoring_section_is_strict_checked() -> None:
    """Under a strict lifecycle rulebook, scoring rules may only name declared events."""
    with pytest.raises(RulebookError) as info:
        leadlife.load_rulebook(
            {
                "extends": "default",
                "strict": True,
                "scoring": {"engagement": [{"when": {"event": "tiktok_like"}, "points": 5}]},
            }
        )
    assert info.value.path == "scoring.engagement.0.when.event"
    assert "tiktok_like" in str(info.value)


def test_narrowed_counters_score_pricing_over_careers(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Pricing page views earn more than other pages; a careers page view costs points."""
    engine = leadlife.Engine(plugin_manager=pm)
    engine.ingest(ev("page_view", page="pricing", lead="buyer"))
    engine.ingest(ev("page_view", page="case_study", lead="reader"))
    engine.ingest(ev("page_view", page="careers", lead="job_seeker"))
    score = {lead: engine.get(lead).scores["rules"] for lead in ("buyer", "reader", "job_seeker")}
    assert score == {"buyer": 6.0, "reader": 1.0, "job_seeker": -9.0}
    assert engine.get("buyer").behaviour.total("page_view[page=pricing]") == 1
    assert [c.rule for c in engine.explain("buyer", "rules").contributions] == [
        "pricing_page",
        "page_view",
    ]


def test_numbers_written_as_text_score_alike() -> None:
    """Regression: "450" employees counts as 450 per lead, as the batch path reads it."""
    rules = ScoringRules.from_dict(
        {
            "fit": [{"id": "big", "when": {"field": "employees", "min": 400}, "points": 10}],
            "weighted": [{"id": "revenue", "field": "revenue", "weight": 0.5}],
        }
    )
    lead = lead_with(profile={"employees": "450", "revenue": "12"})
    assert RuleScorer(rules).score(lead, T0) == 16.0
    assert score_frame(lead_frame([lead], rules, T0), rules, T0)["score"].iloc[0] == 16.0


@pytest.mark.parametrize(
    "employees",
    ["1_000", "\u0661\u0662\u0660\u0660", "\uff15\uff10\uff10", Decimal("1200"), Decimal("120")],
)
def test_per_lead_and_batch_read_the_same_numbers(employees: object) -> None:
    """Regression: Python's float() reads '1_000' and non-ASCII digits that pandas
    does not, and Decimal (databases' NUMERIC) was no number per lead; the two
    paths then scored the same lead differently."""
    rules = ScoringRules.from_dict(
        {"fit": [{"id": "big", "when": {"field": "employees", "min": 400}, "points": 10}]}
    )
    lead = lead_with(profile={"employees": employees})
    batch = score_frame(lead_frame([lead], rules, T0), rules, T0)["score"].iloc[0]
    assert RuleScorer(rules).score(lead, T0) == batch
    assert batch == (10.0 if employees == Decimal("1200") else 0.0)


def test_equal_values_of_other_kinds_score_apart_in_a_frame() -> None:
    """Regression: pd.factorize takes 1, 1.0 and True for one value, so a frame holding
    all three scored each as the first one seen; their texts, and per-lead scores, differ."""
    rules = ScoringRules.from_dict(
        {
            "weighted": [
                {
                    "id": "plan",
                    "field": "plan",
                    "values": {"1.0": 7, "True": 2, "1": 5},
                    "weight": 1,
                }
            ]
        }
    )
    group = []
    for number, plan in enumerate([1.0, True, 1, None, 1]):
        lead = lead_with(profile={} if plan is None else {"plan": plan})
        lead.id = f"u{number}"
        group.append(lead)
    frame = score_frame(lead_frame(group, rules, T0), rules, T0)
    scorer = RuleScorer(rules)
    assert list(frame["score"]) == [scorer.score(lead, T0) for lead in group]
    assert list(frame["score"]) == [7.0, 2.0, 5.0, 0.0, 5.0]


def test_a_registered_rule_scorer_keeps_its_windows_day_buckets(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: a RuleScorer registered by a plugin did not declare its 60-day window,
    so the engine kept the rulebook's 30 days of buckets and it counted 31 of 45 views."""
    rules = ScoringRules.from_dict(
        {
            "name": "views60",
            "weighted": [
                {
                    "id": "v",
                    "axis": "engagement",
                    "event": "page_view",
                    "within_days": 60,
                    "weight": 1,
                }
            ],
        }
    )
    scorer = RuleScorer(rules)
    assert scorer.window_days == 60

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Any) -> None:
            register(scorer)

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    for day in range(45):
        lead = engine.ingest(ev("page_view", days(day)))
    assert lead.scores["views60"] == 45


def test_capped_batch_total_is_exactly_the_cap() -> None:
    """Regression: a capped total is the cap itself in both paths, not a rounding of it."""
    rules = ScoringRules.from_dict(
        {
            "total_cap": 150,
            "engagement": [{"when": {"event": "download"}, "points": 0.1 + 0.2}],
        }
    )
    lead = lead_with(*[("download", d / 10) for d in range(600)])
    now = T0 + days(60)
    assert score_frame(lead_frame([lead], rules, now), rules, now)["score"].iloc[0] == 150
    assert RuleScorer(rules).score(lead, now) == 150


def test_field_condition_in_engagement_is_refused() -> None:
    """Regression: a field test under [[engagement]] fails at load and says where it goes."""
    with pytest.raises(RulebookError, match="move it under") as info:
        ScoringRules.from_dict(
            {"engagement": [{"when": {"field": "industry", "exists": True}, "points": 5}]}
        )
    assert info.value.path == "engagement.0"


def test_non_utf8_rulebook_is_a_rulebook_error(tmp_path: Any) -> None:
    """Regression: a rulebook saved in another encoding gives a RulebookError."""
    path = tmp_path / "rules.toml"
    path.write_bytes('name = "r\u00e9gles"\n'.encode("latin-1"))
    with pytest.raises(RulebookError, match="not UTF-8"):
        ScoringRules.load(path)
    with pytest.raises(RulebookError, match="not UTF-8"):
        leadlife.Rulebook.load(path)


def test_day_buckets_reach_back_as_far_as_scoring_windows(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """Regression: a 60-day scoring window counts 60 days of downloads, not 31."""
    engine = leadlife.Engine(
        {
            "extends": "default",
            "scoring": {
                "name": "window",
                "engagement": [{"when": {"event": "download", "within_days": 60}, "points": 1}],
            },
        },
        plugin_manager=pm,
    )
    for day in range(60):
        engine.ingest(ev("download", days(day), asset_id="a"))
    assert engine.get("u1").scores["window"] == 60


def test_lead_explain_with_a_scorer(engine: leadlife.Engine) -> None:
    """lead.explain(scorer) explains at the lead's newest event; unknown names are errors."""
    lead = engine.ingest(ev("livestream_watched", event_id="l9"))
    result = lead.explain(engine.scorers["rules"])
    assert result == engine.explain("u1", "rules")
    assert [c.rule for c in result.contributions] == ["livestream"]
    with pytest.raises(
        leadlife.errors.InvalidArgumentError, match="registered scorers: points, rules"
    ):
        engine.explain("u1", "ml")


def test_lead_explain_without_a_moment_asks_for_now() -> None:
    """A lead that has seen no event is explained only at a given now; without one the
    error names the argument and how to pass it."""
    scorer = RuleScorer(ScoringRules.from_dict(SEED_RULES))
    fresh = leadlife.Lead("u0")
    with pytest.raises(leadlife.errors.InvalidArgumentError, match="pass now=") as caught:
        fresh.explain(scorer)
    assert caught.value.argument == "now"
    assert fresh.explain(scorer, T0).value == 0.0


@pytest.mark.parametrize("now", ["2026-11-02T09:00:00Z", None, T0.replace(tzinfo=None)])
def test_score_refuses_the_moments_explain_refuses(now: Any) -> None:
    """RuleScorer.score, like explain, refuses a now that is no aware datetime with
    InvalidTimeError naming it, not with an AttributeError of the text or None."""
    scorer = RuleScorer(ScoringRules.from_dict(SEED_RULES))
    lead = lead_with(("download", 0))
    for method in (scorer.score, scorer.explain):
        with pytest.raises(leadlife.errors.InvalidTimeError) as caught:
            method(lead, now)
        assert caught.value.name == "now"


def test_free_mail_reads_a_domain_column_when_the_frame_has_one() -> None:
    """An ``email_domain`` column (object or category) scores free mail as ``email`` does."""
    rules = ScoringRules.from_dict(
        {"fit": [{"id": "free", "when": {"field": "email", "matches": "free_mail"}, "points": -20}]}
    )
    emails = ["a@QQ.com ", "b@acme.cn", None, "not-an-address", "c@gmail.com", "@163.com"]
    plain = pd.DataFrame({"email": pd.Series(emails, dtype=object)})
    expected = [-20.0, 0.0, 0.0, 0.0, -20.0, -20.0]
    assert score_frame(plain, rules, T0)["score"].tolist() == expected
    domains = pd.Series([domain_of(e) for e in emails], dtype=object)
    assert domains.tolist()[:2] == ["qq.com", "acme.cn"]
    for column in (domains, domains.astype("category")):
        with_domain = plain.assign(email_domain=column)
        assert score_frame(with_domain, rules, T0)["score"].tolist() == expected
    assert rules.derived_columns == {"email_domain": "email"}
    leads = [lead_with(profile={"email": e}) for e in emails]
    assert "email_domain" in lead_frame(leads, rules, T0).columns
    assert [RuleScorer(rules).score(lead, T0) for lead in leads] == expected


def test_free_mail_is_one_list_for_scoring_and_routing() -> None:
    """Regression: a provider the account router refuses (tom.com) also scores as free mail."""
    from leadlife.errors import RoutingConfigError
    from leadlife.routing.accounts import ExistingAccountRouter
    from leadlife.routing.config import ExistingAccountSpec

    rules = ScoringRules.from_dict(
        {"fit": [{"id": "free", "when": {"field": "email", "matches": "free_mail"}, "points": -20}]}
    )
    lead = lead_with(profile={"email": "li@tom.com"})
    assert RuleScorer(rules).score(lead, T0) == -20.0
    spec = ExistingAccountSpec.model_validate(
        {"accounts": [{"id": "a", "owner": "kim", "domains": ["tom.com"]}]}
    )
    with pytest.raises(RoutingConfigError, match="free"):
        ExistingAccountRouter(spec)


def test_rule_scorer_pickles_and_scores_alike() -> None:
    """Hosts ship scorers to worker processes: a pickled scorer scores and explains alike."""
    import pickle

    default = leadlife.Engine().scorers["rules"]  # fit, decay, caps and a total cap
    lead = lead_with(("offline_event_attended", 0), ("download", 1), profile={"email": "a@qq.com"})
    now = T0 + timedelta(days=3)
    for scorer in (RuleScorer(SEED_RULES), default):
        copy = pickle.loads(pickle.dumps(scorer))
        assert isinstance(copy, RuleScorer)
        assert copy.name == scorer.name
        assert copy.score(lead, now) == scorer.score(lead, now) != 0
        assert copy.explain(lead, now) == scorer.explain(lead, now)
    assert {c.rule for c in default.explain(lead, now).contributions} >= {"free_mail"}


# -- load errors name the key the author wrote ------------------------------------------


def rules_error(data: dict[str, Any]) -> RulebookError:
    with pytest.raises(RulebookError) as info:
        ScoringRules.from_dict(data)
    return info.value


@pytest.mark.parametrize(
    ("when", "key", "fix"),
    [
        ({"event": "download"}, "event", "event and inactivity conditions go in [[engagement]]"),
        ({"event": "download", "min_count": 2}, "event", "go in [[engagement]]"),
        ({"inactive_days": 30}, "inactive_days", "go in [[engagement]]"),
        (
            {"field": "industry", "equals": "media", "any": []},
            "any",
            "give each test its own [[fit]] rule",
        ),
        ({"field": "industry", "exists": True, "not": {}}, "not", "its own [[fit]] rule"),
    ],
)
def test_wrong_condition_kind_in_a_fit_rule_names_the_key(
    when: dict[str, Any], key: str, fix: str
) -> None:
    """Regression: the path dropped the key after ``when`` when it was a condition
    kind's name, giving "unknown key 'when'. Fix: did you mean 'when'?"."""
    error = rules_error({"fit": [{"when": when, "points": 5}]})
    assert error.path == f"fit.0.when.{key}"
    assert error.problem == f"unknown key {key!r}"
    assert "a fit rule's when is one field test" in error.fix
    assert fix in error.fix
    assert "did you mean" not in error.fix


def test_toml_fit_rule_with_an_event_condition() -> None:
    """The report's case, as a marketer writes it in TOML."""
    with pytest.raises(RulebookError) as info:
        ScoringRules.from_toml('[[fit]]\nwhen = { event = "download" }\npoints = 5\n')
    assert str(info.value).startswith(
        "rulebook <toml>: fit.0.when.event: unknown key 'event'. Fix: a fit rule's when"
    )


def test_fit_rule_field_key_keeps_its_path() -> None:
    """A bad ``field`` in a fit rule is at ``fit.0.when.field`` (the key was dropped
    as if it were pydantic's echo of a condition kind)."""
    error = rules_error({"fit": [{"when": {"field": "", "exists": True}, "points": 5}]})
    assert error.path == "fit.0.when.field"


def test_engagement_when_of_two_kinds_says_so() -> None:
    """A ``when`` table mixing an event and an inactivity condition names the stray key."""
    error = rules_error({"engagement": [{"when": {"event": "x", "inactive_days": 3}, "points": 1}]})
    assert error.path == "engagement.0.when.inactive_days"
    assert "a when table holds one kind of condition" in error.fix
    assert "did you mean" not in error.fix


def test_strict_weighted_event_is_named_at_its_place() -> None:
    """The strict check names the weighted rule's ``event`` and the type it resembles."""
    weighted = [{"event": "dowload", "weight": 1}]
    error = rules_error({"strict": True, "event_types": ["download"], "weighted": weighted})
    assert error.path == "weighted.0.event"
    assert error.problem == "unknown event type 'dowload' (strict)"
    assert error.fix == (
        "correct it to 'download', or add 'dowload' to event_types, or set strict = false"
    )


def test_duplicate_rule_id_is_named_at_its_second_use() -> None:
    """A repeated id points at the rule to rename and the rule it repeats."""
    error = rules_error(
        {
            "fit": [{"id": "size", "when": {"field": "a", "exists": True}, "points": 1}],
            "weighted": [{"id": "size", "field": "employees", "weight": 1}],
        }
    )
    assert error.path == "weighted.0.id"
    assert error.problem == "rule ids must be unique: 'size' is also the id of fit.0"
    assert error.fix == "give each rule its own id"


@pytest.mark.parametrize(
    ("data", "taken"),
    [
        (
            {
                "fit": [
                    {"id": "engagement.0", "when": {"field": "a", "exists": True}, "points": 7}
                ],
                "engagement": [{"when": {"event": "download"}, "points": 3}],
            },
            "the rule at engagement.0, which has none",
        ),
        (
            {
                "total_cap": 5,
                "fit": [{"id": "total_cap", "when": {"field": "a", "exists": True}, "points": 7}],
            },
            "the cap's own contribution (total_cap)",
        ),
    ],
)
def test_an_id_cannot_take_another_contributions_name(data: dict[str, Any], taken: str) -> None:
    """Regression: an id equal to an unnamed rule's place name, or to total_cap, was
    accepted; explain() then listed two contributions under one name and score_frame
    wrote one points.* column for both, losing the other's points."""
    error = rules_error(data)
    assert error.path == "fit.0.id"
    assert f"is also the id of {taken}" in error.problem
    own = {"fit": [{"id": "fit.0", "when": {"field": "a", "exists": True}, "points": 7}]}
    assert ScoringRules.from_dict(own).rules[0].id == "fit.0"  # its own place is its name


@pytest.mark.parametrize(
    ("data", "path", "problem", "fix"),
    [
        (
            {"fit": [{"when": {"field": "a", "in": ["x"], "matches": "x"}, "points": 1}]},
            "fit.0.when",
            "give one operator, not in and matches",
            "keep one of in / matches",
        ),
        (
            {"fit": [{"when": {"field": "a"}, "points": 1}]},
            "fit.0.when",
            "give one operator: exists, equals, in, min, max or matches",
            "add one to the test on 'a', e.g. exists = true",
        ),
        (
            {"fit": [{"when": {"field": "a", "min": 5, "max": 1}, "points": 1}]},
            "fit.0.when",
            "min 5 is above max 1; no value could match",
            "swap min and max",
        ),
        (
            {"fit": [{"when": {"field": "a", "matches": "(\\d{2"}, "points": 1}]},
            "fit.0.when",
            "'matches' is not a valid regular expression: missing )",
            "correct the pattern",
        ),
        (
            {"engagement": [{"when": {"field": "a", "exists": True}, "points": 1}]},
            "engagement.0",
            "a field condition is a fit rule",
            "move it under [[fit]]",
        ),
        (
            {"engagement": [{"when": {"inactive_days": 30}, "points": -1, "fires": "every"}]},
            "engagement.0",
            "fires = 'every' counts events, and an inactivity condition has none",
            'remove fires, or set fires = "once"',
        ),
        (
            {"weighted": [{"field": "a", "event": "b", "weight": 1}]},
            "weighted.0",
            "give a field or an event, not both",
            "keep one of field / event",
        ),
        (
            {"weighted": [{"weight": 1}]},
            "weighted.0",
            "give a field or an event",
            "add field (a profile field to weigh) or event (an event type to count)",
        ),
        (
            {"weighted": [{"event": "b", "values": {"x": 1}, "weight": 1}]},
            "weighted.0",
            "'values' maps a field's categories, and the rule counts an event",
            "remove values",
        ),
        (
            {"weighted": [{"field": "a", "within_days": 7, "weight": 1}]},
            "weighted.0",
            "'within_days' counts events, and the rule weighs a field",
            "remove within_days",
        ),
        (
            {"strict": True},
            "event_types",
            "a strict scoring rulebook lists its event_types",
            "list them",
        ),
    ],
)
def test_scoring_validator_errors_say_what_to_change(
    data: dict[str, Any], path: str, problem: str, fix: str
) -> None:
    """Regression: these read "Value error, …" with the fix "change the value as the
    message says"; each now has its own fix and no pydantic prefix."""
    error = rules_error(data)
    assert error.path == path
    assert error.problem.startswith(problem)
    assert error.fix.startswith(fix)
    assert "Value error" not in str(error)
    assert "as the message says" not in error.fix


def test_an_unknown_scorer_name_is_an_argument_error(engine: leadlife.Engine) -> None:
    """Regression: format_top_leads with a misspelt scorer printed "Top 0" as if
    there were no leads; explain() raised a bare LeadlifeError with no fix."""
    from leadlife.demo import format_top_leads
    from leadlife.errors import InvalidArgumentError

    engine.ingest(ev("download", asset_id="a1"))
    with pytest.raises(InvalidArgumentError, match="no scorer named 'rule'") as refused:
        format_top_leads(engine, "rule")
    assert refused.value.argument == "scorer"
    assert "points, rules" in refused.value.fix
    with pytest.raises(InvalidArgumentError, match="no scorer named 'rule'"):
        engine.explain("u1", "rule")
    assert "u1" in format_top_leads(engine, "rules")
