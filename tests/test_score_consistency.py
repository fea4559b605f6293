"""One lead, one score, one stage history: whichever path computes the score (per
event, in full, in a frame) and whenever the ticks come."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

import leadlife
from leadlife import Stage
from leadlife.plugins import get_plugin_manager
from leadlife.scoring.batch import lead_frame, score_frame
from tests.conftest import T0
from tests.helpers import days, ev, hours


def _engine(rulebook: object) -> leadlife.Engine:
    return leadlife.Engine(
        rulebook,
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )


def test_fractional_points_add_up_to_the_full_sum() -> None:
    """Regression: ten page views at 0.1 points summed to 0.9999999999999999 event by
    event, below a warm band of 1, while explain() and a full rescore said 1.0."""
    engine = _engine(
        {
            "extends": "default",
            "event_types": {"page_view": {"points": 0.1}},
            "bands": {"warm": 1, "hot": 40},
        }
    )
    for minute in range(10):
        lead = engine.ingest(ev("page_view", hours(minute / 60)))
    assert lead.score == 1.0 == engine.explain("u1").value
    assert lead.score == engine.scorers["points"].score(lead, T0)
    assert lead.stage is Stage.WARM


@given(
    points=st.dictionaries(
        st.sampled_from(["page_view", "download", "search", "favorite"]),
        st.integers(-500, 500).map(lambda n: n / 100) | st.floats(-50, 50),
        min_size=1,
    ),
    kinds=st.lists(st.sampled_from(["page_view", "download", "search", "favorite"]), max_size=40),
)
def test_points_event_by_event_equal_the_full_sum(
    points: dict[str, float], kinds: list[str]
) -> None:
    engine = _engine(
        {
            "extends": "default",
            "event_types": {kind: {"points": value} for kind, value in points.items()},
            "bands": {"warm": 1000, "hot": 2000},
        }
    )
    for minute, kind in enumerate(kinds):
        engine.ingest(ev(kind, hours(minute / 60), asset_id="a1"))
    if kinds:
        lead = engine.get("u1")
        assert lead.score == engine.scorers["points"].score(lead, T0)
        assert lead.score == engine.explain("u1").value


def test_an_infinite_number_in_a_form_field_is_no_number() -> None:
    """Regression: "1e999" in a numeric field made the per-event score fail for good
    (inf - inf in the sum), explain() raise a bare ValueError, and the frame path
    give the capped maximum: it is missing on every path now."""
    rulebook = {
        "extends": "default",
        "bands": {"scorer": "rules"},
        "event_types": {"form_submit": {"profile": ["phone", "email", "asset_id", "employees"]}},
        "scoring": {
            "weighted": [{"id": "size", "field": "employees", "weight": 0.01}],
            "fit": [{"id": "big", "when": {"field": "employees", "min": 100}, "points": 5}],
        },
    }
    engine = _engine(rulebook)
    engine.ingest(ev("download", asset_id="a1"))
    scores = []
    for number in ("1e999", "-inf", "inf"):
        lead = engine.ingest(ev("form_submit", hours(1), employees=number))
        rules = engine.scorers["rules"].rules
        frame = score_frame(lead_frame([lead], rules, lead.scored_at), rules, lead.scored_at)
        assert lead.scores["rules"] == frame["score"].iloc[0]
        assert lead.scores["rules"] == engine.explain("u1", "rules").value
        scores.append(lead.scores["rules"])
    assert not engine.failures
    assert len(set(scores)) == 1  # none of them counts
    clean = _engine(rulebook)
    clean.ingest(ev("download", asset_id="a1"))
    unsized = clean.ingest(ev("form_submit", hours(1)))
    assert scores[0] == unsized.scores["rules"]
    sized = engine.ingest(ev("form_submit", hours(2), employees="500"))
    assert sized.scores["rules"] == clean.ingest(ev("form_submit", hours(2))).scores["rules"] + 10


_RULES_BANDS = {"extends": "default", "bands": {"scorer": "rules"}}


def _history(engine: leadlife.Engine) -> dict[str, list[tuple[Stage, Stage, object, str]]]:
    return {
        lead.id: [(c.from_stage, c.to_stage, c.at, c.rule) for c in lead.history]
        for lead in engine.storage.leads()
    }


def test_a_late_tick_cools_a_rules_scored_lead_as_timely_ticks_do() -> None:
    """Regression: with the rule scorer driving bands (its "nothing in the last month"
    penalty lowers the score with time), daily ticks dropped a Hot lead to Cold after
    a silent month, one late tick after two: cooling read the score as of the last
    event, not as of the moment the lead cooled."""
    runs = []
    for ticks in (range(1, 76), [75], []):
        engine = _engine(_RULES_BANDS)
        engine.ingest(ev("offline_event_attended"))
        engine.ingest(ev("livestream_watched", hours(1 / 60)))
        for day in ticks:
            engine.tick(T0 + days(day))
        if not ticks:  # the lead's own next event catches the rules up instead
            engine.ingest(ev("page_view", days(75)))
        runs.append([(c.from_stage, c.to_stage, c.at, c.rule) for c in engine.get("u1").history])
    assert runs[0] == runs[1] == runs[2][:2]
    assert runs[0][1] == (
        Stage.HOT,
        Stage.COLD,
        T0 + hours(1 / 60) + days(30),
        "timers.cooling_days",
    )


_KINDS = ["page_view", "download", "livestream_watched", "offline_event_attended", "search"]


@given(
    stories=st.lists(
        st.lists(
            st.tuples(st.sampled_from(_KINDS), st.sampled_from([1, 5, 30, 480, 840, 1200])),
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_tick_timing_does_not_change_the_history(
    stories: list[list[tuple[str, int]]],
) -> None:
    """Ticks every 6 hours and one tick at the end give the same stage history."""
    timed = []
    for number, story in enumerate(stories):
        at = T0 + hours(number)
        for kind, gap_hours in story:
            at += timedelta(hours=gap_hours)
            timed.append((at, ev(kind, at, lead=f"u{number}", asset_id="a1")))
    timed.sort(key=lambda pair: pair[0])
    ticking, late = _engine(_RULES_BANDS), _engine(_RULES_BANDS)
    moment, index, last = T0, 0, timed[-1][0] + days(100)
    while moment <= last:
        while index < len(timed) and timed[index][0] <= moment:
            ticking.ingest(timed[index][1])
            index += 1
        ticking.tick(moment)
        moment += hours(6)
    late.ingest_many(event for _, event in timed)
    late.tick(moment - hours(6))
    assert _history(ticking) == _history(late)


def test_points_with_many_decimals_agree_event_by_event() -> None:
    """Regression: points of 1/3 summed to 0.999999999 event by event (each sum
    rounded), while explain() and a full rescore gave 1.0."""
    engine = _engine(
        {
            "extends": "default",
            "event_types": {"page_view": {"points": 1 / 3}},
            "bands": {"warm": 1, "hot": 40},
        }
    )
    for minute in range(3):
        lead = engine.ingest(ev("page_view", hours(minute / 60)))
    assert lead.score == engine.explain("u1").value == engine.scorers["points"].score(lead, T0)


def test_cooling_never_applies_a_later_score_at_an_earlier_moment() -> None:
    """Regression: rescored as of its cooling moment (day 20), a decayed score made
    the lead's cooling due earlier (day 10), and the step was applied back then with
    the day-20 score: WARM -> COLD stamped day 10, "10 days"."""
    rulebook = {
        "extends": "default",
        "bands": {"scorer": "rules", "warm": 10, "hot": 40},
        "timers": {"cooling_days": 10, "sleep_days": 1000},
        "scoring": {
            "half_life_days": 30,
            "engagement": [
                {"id": "expo", "when": {"event": "offline_event_attended"}, "points": 60}
            ],
        },
    }
    histories = []
    for ticks in (range(1, 26), [25]):
        engine = _engine(rulebook)
        engine.ingest(ev("offline_event_attended"))
        for day in ticks:
            engine.tick(T0 + days(day))
        histories.append([(c.to_stage, c.at, c.rule) for c in engine.get("u1").history])
    assert (
        histories[0]
        == histories[1]
        == [
            (Stage.HOT, T0, "bands"),
            (Stage.WARM, T0 + days(10), "timers.cooling_days"),
            (Stage.COLD, T0 + days(20), "timers.cooling_days"),
        ]
    )
    assert engine.get("u1").scored_at == T0 + days(25)  # the tick leaves scores as of now
