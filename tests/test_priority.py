"""Work-queue priority: source conversion rates, the priority formula and the queue."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadlife import Lead, Stage, StageChange
from leadlife.errors import RoutingConfigError
from leadlife.routing import Routing
from leadlife.routing.config import PrioritySpec
from leadlife.routing.priority import (
    QueueEntry,
    SourceRate,
    SourceRates,
    converted,
    lead_source,
    priority,
    work_queue,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SPEC = PrioritySpec(source_rates={"website": 0.2, "ads": 0.05}, min_leads=4)


def make(
    lead_id: str,
    *,
    source: str | None = "website",
    stage: Stage = Stage.HOT,
    score: float = 0.0,
    team: str | None = None,
    owner: str | None = None,
    first_seen: float | None = 0.0,
    path: Iterable[Stage] = (),
) -> Lead:
    """A lead whose history walks ``path`` from COLD, one hour a step."""
    lead = Lead(lead_id, stage=stage, score=score, team=team, owner=owner)
    if source is not None:
        lead.profile["source"] = source
    lead.first_seen_ts = first_seen
    previous = Stage.COLD
    for step, target in enumerate(path):
        at = T0 + timedelta(hours=step)
        lead.history.append(StageChange(at, previous, target, "test", "test"))
        previous = target
    return lead


def cohort(source: str, leads: int, opportunities: int) -> list[Lead]:
    """``leads`` leads of ``source``, the first ``opportunities`` of which reached SQL."""
    return [
        make(
            f"{source}-{i}",
            source=source,
            stage=Stage.SQL if i < opportunities else Stage.MQL,
            path=[Stage.MQL, Stage.SQL] if i < opportunities else [Stage.MQL],
        )
        for i in range(leads)
    ]


def ids(queue: list[QueueEntry]) -> list[str]:
    return [entry.lead_id for entry in queue]


# -- learning the rates ------------------------------------------------------------


def test_config_rate_below_min_leads() -> None:
    """A source with fewer than min_leads leads uses its configured rate but keeps its counts."""
    rates = SourceRates.learn(cohort("ads", 3, 3), SPEC)
    assert rates.rate("ads") == SourceRate("ads", 0.05, 3, 3, learned=False)


def test_learned_rate_at_min_leads() -> None:
    """A source with exactly min_leads leads uses opportunities / leads from the history."""
    rates = SourceRates.learn(cohort("website", 4, 1), SPEC)
    assert rates.rate("website") == SourceRate("website", 0.25, 4, 1, learned=True)


def test_learned_rate_above_min_leads() -> None:
    """A source with more than min_leads leads uses its own rate, even with no configured one."""
    rates = SourceRates.learn(cohort("events", 10, 3) + cohort("ads", 5, 0), SPEC)
    assert rates.rate("events") == SourceRate("events", 0.3, 10, 3, learned=True)
    assert rates.rate("ads") == SourceRate("ads", 0.0, 5, 0, learned=True)


def test_unknown_source_uses_default_rate() -> None:
    """A lead with no source, or one neither history nor config knows, gets default_rate."""
    rates = SourceRates.learn([make("u1", source=None, stage=Stage.SQL, path=[Stage.SQL])], SPEC)
    assert rates.rate(None) == SourceRate(None, 0.13)
    assert rates.rate("trade_show") == SourceRate("trade_show", 0.13)
    assert rates.learned == {}
    assert priority(make("u2", source=None), rates) == pytest.approx(0.13)


def test_empty_source_is_no_source() -> None:
    """An empty source string counts as no source; a non-string one is read as text."""
    blank = make("u1", source="")
    numeric = Lead("u2", profile={"source": 7})
    assert lead_source(blank) is None
    assert lead_source(numeric) == "7"


def test_rate_follows_config_below_min_leads_after_learning() -> None:
    """Below min_leads the spec in force decides the rate, not the one learning saw."""
    learned = SourceRates.learn(cohort("ads", 2, 1), SPEC)
    other = SourceRates(PrioritySpec(source_rates={"ads": 0.4}, min_leads=4), learned.learned)
    assert other.rate("ads") == SourceRate("ads", 0.4, 2, 1, learned=False)


@pytest.mark.parametrize("rate", [1.5, -0.1, float("nan")])
def test_bad_configured_rate_is_refused(rate: float) -> None:
    """A configured rate outside [0, 1] fails at load with the source's key path."""
    config = {"teams": [{"id": "t", "members": [{"id": "m"}]}]}
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict({**config, "priority": {"source_rates": {"ads": rate}}})
    assert caught.value.path == "priority.source_rates.ads"


def test_misfiled_rate_is_refused() -> None:
    """A SourceRate filed under another source's key is refused."""
    with pytest.raises(ValueError, match="own source"):
        SourceRates(SPEC, {"ads": SourceRate("website", 0.3, 9, 3, learned=True)})


def test_learned_mapping_is_copied() -> None:
    """Changing the mapping given to SourceRates afterwards does not change its rates."""
    given_rates = {"ads": SourceRate("ads", 0.5, 9, 4, learned=True)}
    rates = SourceRates(SPEC, given_rates)
    given_rates["ads"] = SourceRate("ads", 0.9, 9, 8, learned=True)
    assert rates.rate("ads").rate == 0.5


def test_table_sorted_by_rate() -> None:
    """The table lists every learned and configured source, highest rate first, ties by name."""
    leads = cohort("events", 4, 4) + cohort("partners", 1, 0)
    spec = PrioritySpec(source_rates={"website": 0.2, "ads": 0.05, "referral": 0.2}, min_leads=4)
    table = SourceRates.learn(leads, spec).table()
    assert [(r.source, r.rate, r.learned) for r in table] == [
        ("events", 1.0, True),
        ("referral", 0.2, False),
        ("website", 0.2, False),
        ("partners", 0.13, False),
        ("ads", 0.05, False),
    ]


# -- what counts as an opportunity -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([Stage.MQL, Stage.SQL], True),
        ([Stage.SAL], True),
        ([Stage.MQL, Stage.WON], True),
        ([Stage.WARM, Stage.HOT, Stage.MQL], False),
        ([Stage.MQL, Stage.DISQUALIFIED], False),
        ([Stage.SQL, Stage.DISQUALIFIED], True),
        ([Stage.WON, Stage.COLD], True),
        ([], False),
    ],
)
def test_conversion_definition(path: list[Stage], expected: bool) -> None:
    """A lead converted when its history ever reached SQL, SAL or WON, wherever it is now."""
    stage = path[-1] if path else Stage.COLD
    assert converted(make("u1", stage=stage, path=path)) is expected


def test_current_stage_counts_without_history() -> None:
    """A lead built at SQL with no history has converted."""
    assert converted(make("u1", stage=Stage.SQL))


def test_demoted_lead_counts_once() -> None:
    """A lead that went SAL → SQL → SAL is one opportunity, not two."""
    bouncing = make("u1", stage=Stage.SAL, path=[Stage.SQL, Stage.SAL, Stage.SQL, Stage.SAL])
    leads = [bouncing, *cohort("website", 3, 0)]
    assert SourceRates.learn(leads, SPEC).rate("website") == SourceRate(
        "website", 0.25, 4, 1, learned=True
    )


# -- the priority formula ------------------------------------------------------------


def test_priority_formula() -> None:
    """Priority is source_rate * (1 + max(score, 0) / score_scale)."""
    rates = SourceRates(SPEC)
    assert priority(make("u1", score=50), rates) == pytest.approx(0.2 * 1.5)
    assert priority(make("u2", score=100, source="ads"), rates) == pytest.approx(0.05 * 2)
    assert priority(make("u3", score=0), rates) == pytest.approx(0.2)
    assert priority(make("u4", score=-30), rates) == pytest.approx(0.2)


def test_score_scale() -> None:
    """score_scale is the score that doubles a lead's priority."""
    rates = SourceRates(PrioritySpec(source_rates={"website": 0.2}, score_scale=10))
    assert priority(make("u1", score=10), rates) == pytest.approx(0.4)


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf])
def test_non_finite_score_counts_as_zero(score: float) -> None:
    """A score that is not a finite number leaves the lead at its source's base priority."""
    assert priority(make("u1", score=score), SourceRates(SPEC)) == pytest.approx(0.2)


# -- the queue -----------------------------------------------------------------------


def test_score_orders_within_a_source() -> None:
    """Within one source, the higher score comes first."""
    leads = [make("a", score=10), make("b", score=80), make("c", score=40)]
    assert ids(work_queue(leads, SourceRates(SPEC))) == ["b", "c", "a"]


def test_source_orders_at_equal_score() -> None:
    """At equal score, the source with the higher rate comes first."""
    leads = [make("a", source="ads"), make("b", source=None), make("c", source="website")]
    assert ids(work_queue(leads, SourceRates(SPEC))) == ["c", "b", "a"]


def test_score_can_outrank_source() -> None:
    """A high score lifts a lead of a weaker source above an unscored lead of a stronger one."""
    spec = PrioritySpec(source_rates={"website": 0.2, "webinar": 0.15})
    leads = [make("a", source="website", score=0), make("b", source="webinar", score=50)]
    assert ids(work_queue(leads, SourceRates(spec))) == ["b", "a"]


def test_ties_go_to_longest_waiting_then_id() -> None:
    """Equal priorities are ordered by earliest first seen (never seen last), then lead id."""
    leads = [
        make("d", first_seen=None),
        make("c", first_seen=200.0),
        make("b", first_seen=100.0),
        make("a", first_seen=200.0),
    ]
    assert ids(work_queue(leads, SourceRates(SPEC))) == ["b", "a", "c", "d"]
    assert ids(work_queue(reversed(leads), SourceRates(SPEC))) == ["b", "a", "c", "d"]


def test_entry_fields_and_reason() -> None:
    """An entry carries the lead's ranking facts and says why in a sentence."""
    rates = SourceRates.learn(cohort("website", 100, 21), PrioritySpec(min_leads=50))
    lead = make("u1", score=55, team="ka", owner="r1", first_seen=T0.timestamp())
    [entry] = work_queue([lead], rates)
    assert entry.priority == pytest.approx(0.21 * 1.55)
    assert attrs.evolve(entry, priority=0.0) == QueueEntry(
        lead_id="u1",
        priority=0.0,
        score=55,
        source="website",
        source_rate=0.21,
        stage=Stage.HOT,
        owner="r1",
        team="ka",
        waiting_since=T0,
        reason="source website converts 21% (learned from 100 leads); score 55",
    )


@pytest.mark.parametrize(
    ("lead", "reason"),
    [
        (
            make("u1", source="ads", score=12.4),
            "source ads converts 5% (configured rate; 2 of the 4 leads needed to learn it); "
            "score 12",
        ),
        (make("u2", source="website"), "source website converts 20% (configured rate); score 0"),
        (make("u3", source=None), "source unknown converts 13% (default rate); score 0"),
        (
            make("u4", source="events", score=-3),
            "source events converts 13% (default rate); score -3",
        ),
    ],
)
def test_reason_names_where_the_rate_came_from(lead: Lead, reason: str) -> None:
    """The reason says whether a rate is learned, configured or the default."""
    rates = SourceRates.learn(cohort("ads", 2, 0), SPEC)
    assert work_queue([lead], rates)[0].reason == reason


def test_tiny_rates_keep_a_decimal() -> None:
    """A rate under 1% is shown with one decimal rather than as 0%."""
    rates = SourceRates(PrioritySpec(source_rates={"lists": 0.004}))
    assert rates.describe("lists") == "source lists converts 0.4% (configured rate)"


TEAM_LEADS = [
    make("ka-r1", team="ka", owner="r1", score=10),
    make("ka-pool", team="ka", score=20),
    make("ka-r2", team="ka", owner="r2", score=30),
    make("lt-r1", team="long_tail", owner="r1", score=40),
    make("lt-pool", team="long_tail", score=50),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["lt-pool", "lt-r1", "ka-r2", "ka-pool", "ka-r1"]),
        ({"team": "ka"}, ["ka-r2", "ka-pool", "ka-r1"]),
        ({"owner": "r1"}, ["lt-r1", "ka-r1"]),
        ({"team": "ka", "owner": "r1"}, ["ka-r1"]),
        ({"unowned": True}, ["lt-pool", "ka-pool"]),
        ({"team": "ka", "unowned": True}, ["ka-pool"]),
        ({"team": "nobody"}, []),
    ],
)
def test_team_owner_and_pool_filters(filters: dict[str, Any], expected: list[str]) -> None:
    """team and owner keep that team's or person's leads; unowned=True keeps the pool."""
    assert ids(work_queue(TEAM_LEADS, SourceRates(SPEC), **filters)) == expected


def test_owner_and_unowned_together_are_refused() -> None:
    """Asking for an owner's leads and for unowned leads at once is an error."""
    with pytest.raises(ValueError, match="opposite"):
        work_queue(TEAM_LEADS, SourceRates(SPEC), owner="r1", unowned=True)


def test_closed_leads_excluded_unless_asked() -> None:
    """WON and DISQUALIFIED leads stay out of the queue unless include_closed is set."""
    leads = [
        make("won", stage=Stage.WON, score=90),
        make("dq", stage=Stage.DISQUALIFIED, score=80),
        make("open", stage=Stage.SAL, score=10),
    ]
    rates = SourceRates(SPEC)
    assert ids(work_queue(leads, rates)) == ["open"]
    assert ids(work_queue(leads, rates, include_closed=True)) == ["won", "dq", "open"]


def test_limit() -> None:
    """limit keeps the first entries of the full order; 0 gives none and a negative is refused."""
    leads = [make(f"u{i}", score=i * 10) for i in range(6)]
    rates = SourceRates(SPEC)
    assert ids(work_queue(leads, rates, limit=2)) == ["u5", "u4"]
    assert ids(work_queue(leads, rates, limit=10)) == ids(work_queue(leads, rates))
    assert work_queue(leads, rates, limit=0) == []
    for wrong in (-1, 2.5, True):  # regression: 2.5 failed inside heapq with a TypeError
        with pytest.raises(ValueError, match="pass a whole number, 0 or more"):
            work_queue(leads, rates, limit=wrong)
    import numpy as np

    assert ids(work_queue(leads, rates, limit=np.int64(2))) == ["u5", "u4"]  # a whole number


def test_queue_accepts_a_one_shot_iterable() -> None:
    """The leads may come from a generator, read once."""
    leads = [make("a", score=1), make("b", score=2)]
    assert ids(work_queue((lead for lead in leads), SourceRates(SPEC), limit=1)) == ["b"]


# -- properties ----------------------------------------------------------------------

SOURCES = st.sampled_from(["website", "ads", "events", None])


@st.composite
def lead_lists(draw: st.DrawFn) -> list[Lead]:
    """Leads with few distinct scores, sources and times, so ties are common."""
    count = draw(st.integers(0, 25))
    return [
        make(
            f"u{i:02d}",
            source=draw(SOURCES),
            stage=draw(st.sampled_from(list(Stage))),
            score=draw(st.sampled_from([-10.0, 0.0, 25.0, 50.0, 100.0])),
            team=draw(st.sampled_from(["ka", "long_tail", None])),
            owner=draw(st.sampled_from(["r1", "r2", None])),
            first_seen=draw(st.none() | st.sampled_from([0.0, 60.0, 120.0])),
        )
        for i in range(count)
    ]


@given(leads=lead_lists(), k=st.integers(0, 30), closed=st.booleans())
def test_queue_sorted_and_limit_is_a_prefix(leads: list[Lead], k: int, closed: bool) -> None:
    """The queue is sorted by priority, holds each kept lead once, and limit=k is its first k."""
    rates = SourceRates.learn(leads, PrioritySpec(source_rates={"ads": 0.3}, min_leads=3))
    full = work_queue(leads, rates, include_closed=closed)
    priorities = [entry.priority for entry in full]
    assert priorities == sorted(priorities, reverse=True)
    assert sorted(ids(full)) == sorted(lead.id for lead in leads if closed or lead.stage.is_open)
    assert all(entry.priority == priority(lead, rates) for entry, lead in _matched(full, leads))
    assert work_queue(leads, rates, include_closed=closed, limit=k) == full[:k]


def _matched(queue: list[QueueEntry], leads: list[Lead]) -> list[tuple[QueueEntry, Lead]]:
    by_id = {lead.id: lead for lead in leads}
    return [(entry, by_id[entry.lead_id]) for entry in queue]
