"""Engine(max_clock_skew=...): events dated ahead of the engine's clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadlife
from leadlife import Stage
from leadlife.errors import InvalidArgumentError, InvalidEventError, InvalidTimeError
from tests.conftest import T0
from tests.helpers import days, ev, hours

SKEW = timedelta(minutes=5)
CONTACT = {"phone": "+8613800138000", "asset_id": "p123"}


def _engine(clock: leadlife.FixedClock, skew: timedelta | None = SKEW) -> leadlife.Engine:
    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    return leadlife.Engine(plugin_manager=pm, clock=clock, max_clock_skew=skew)


def _state(engine: leadlife.Engine, lead_id: str) -> dict[str, Any] | None:
    if engine.storage.get(lead_id) is None:
        return None
    lead = engine.get(lead_id)
    return {
        "stage": lead.stage,
        "history": list(lead.history),
        "events": lead.event_count,
        "last": lead.last_event_at,
        "profile": dict(lead.profile),
        "score": lead.score,
        "ids": [e.id for e in engine.storage.events(lead_id)],
    }


def test_without_a_tolerance_any_time_is_taken() -> None:
    """The default keeps what the engine always did: events carry their own time."""
    engine = _engine(leadlife.FixedClock(T0), skew=None)
    assert engine.max_clock_skew is None
    lead = engine.ingest(ev("form_submit", days(400), **CONTACT))
    assert lead.last_event_at == T0 + days(400)


def test_an_event_too_far_ahead_is_refused_and_changes_nothing() -> None:
    clock = leadlife.FixedClock(T0)
    engine = _engine(clock)
    engine.ingest(ev("page_view", -hours(1), lead="u1", event_id="first"))
    before = _state(engine, "u1")
    with pytest.raises(InvalidEventError) as caught:
        engine.ingest(ev("form_submit", days(30), lead="u1", event_id="fast", **CONTACT))
    error = caught.value
    assert error.field == "at"
    assert error.event_id == "fast"
    assert "30 days" in str(error)
    assert "max_clock_skew" in str(error)
    assert "0:05:00" in str(error)
    assert _state(engine, "u1") == before
    # The refused id was not kept: sent again once its time has come, it applies.
    clock.set(T0 + days(30))
    lead = engine.ingest(ev("form_submit", days(30), lead="u1", event_id="fast", **CONTACT))
    assert lead.stage is Stage.MQL
    assert [e.id for e in engine.storage.events("u1")] == ["first", "fast"]


def test_a_refused_first_event_creates_no_lead() -> None:
    engine = _engine(leadlife.FixedClock(T0))
    with pytest.raises(InvalidEventError):
        engine.ingest(ev("form_submit", hours(2), lead="new", **CONTACT))
    assert engine.storage.get("new") is None
    assert len(engine.storage) == 0


def test_the_tolerance_is_inclusive_and_reads_the_clock_per_event() -> None:
    clock = leadlife.FixedClock(T0)
    engine = _engine(clock)
    engine.ingest(ev("page_view", SKEW, lead="u1"))  # exactly at the edge
    with pytest.raises(InvalidEventError):
        engine.ingest(ev("page_view", SKEW + timedelta(microseconds=1), lead="u1"))
    clock.advance(timedelta(seconds=1))
    engine.ingest(ev("page_view", SKEW + timedelta(microseconds=1), lead="u1"))
    assert engine.get("u1").event_count == 2


def test_zones_compare_as_instants() -> None:
    """An event in +08:00 at 17:04 is 09:04 UTC: within five minutes of 09:00 UTC."""
    engine = _engine(leadlife.FixedClock(T0.astimezone(timezone(timedelta(hours=-5)))))
    at = T0.astimezone(timezone(timedelta(hours=8))) + timedelta(minutes=4)
    lead = engine.ingest(ev("page_view", at))
    assert lead.last_event_at == at


def test_a_batch_rejects_only_the_events_too_far_ahead() -> None:
    engine = _engine(leadlife.FixedClock(T0))
    report = engine.ingest_many(
        [
            ev("form_submit", -days(1), lead="u1", event_id="a", **CONTACT),
            ev("page_view", days(365), lead="u1", event_id="b"),
            ev("page_view", -hours(1), lead="u1", event_id="c"),
        ]
    )
    assert report.accepted == 2
    [rejected] = report.rejected
    assert (rejected.index, rejected.event_id) == (1, "b")
    assert isinstance(rejected.error, InvalidEventError)
    assert rejected.error.field == "at"
    # Without b, c is in time order: the lead's newest moment is c's, not b's.
    assert engine.get("u1").last_event_at == T0 - hours(1)


def test_a_resent_event_is_a_duplicate_before_its_time_is_checked() -> None:
    clock = leadlife.FixedClock(T0)
    engine = _engine(clock)
    event = ev("page_view", hours(1), lead="u1", event_id="once")
    clock.set(T0 + hours(1))
    engine.ingest(event)
    clock.set(T0)  # the host's clock was reset: the stored event is still the same one
    report = engine.ingest_many([event])
    assert (report.accepted, report.duplicates, report.rejected) == (0, 1, [])


def test_a_clock_reading_without_a_zone_rejects_the_event_by_name() -> None:
    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    engine = leadlife.Engine(
        plugin_manager=pm, clock=lambda: datetime(2026, 11, 2), max_clock_skew=SKEW
    )
    with pytest.raises(InvalidTimeError) as caught:
        engine.ingest(ev("page_view"))
    assert caught.value.name == "now"
    assert engine.storage.get("u1") is None


@pytest.mark.parametrize("value", [timedelta(seconds=-1), 300, 300.0, "PT5M", True], ids=repr)
def test_a_tolerance_that_is_no_timedelta_of_zero_or_more_is_refused(value: Any) -> None:
    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    plugins = set(pm.get_plugins())
    with pytest.raises(InvalidArgumentError) as caught:
        leadlife.Engine(plugin_manager=pm, plugins=[_Counter()], max_clock_skew=value)
    assert caught.value.argument == "max_clock_skew"
    assert "timedelta" in str(caught.value)
    assert set(pm.get_plugins()) == plugins  # a refused engine registers nothing


class _Counter:
    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: leadlife.Lead, change: leadlife.StageChange) -> None:
        pass


def test_zero_tolerance_takes_up_to_the_clock() -> None:
    engine = _engine(leadlife.FixedClock(T0), skew=timedelta(0))
    engine.ingest(ev("page_view", timedelta(0)))
    with pytest.raises(InvalidEventError):
        engine.ingest(ev("page_view", timedelta(microseconds=1)))


@given(
    ahead=st.integers(min_value=-10 * 86_400, max_value=10 * 86_400),
    skew=st.integers(min_value=0, max_value=3 * 86_400),
)
def test_an_event_applies_exactly_when_within_the_tolerance(ahead: int, skew: int) -> None:
    engine = _engine(leadlife.FixedClock(T0), skew=timedelta(seconds=skew))
    report = engine.ingest_many([ev("page_view", timedelta(seconds=ahead), lead="p")])
    assert report.accepted == (1 if ahead <= skew else 0)
    assert len(report.rejected) == (0 if ahead <= skew else 1)
    assert (engine.storage.get("p") is not None) == (ahead <= skew)


def test_without_a_tolerance_ingest_never_reads_the_clock() -> None:
    """Without max_clock_skew the clock is read only where the docs say (ticks, pool
    operations without ``at``, explain): ingest never asks it."""
    reads: list[datetime] = []

    def clock() -> datetime:
        reads.append(T0)
        return T0

    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    engine = leadlife.Engine(plugin_manager=pm, clock=clock)
    engine.ingest_many([ev("page_view", days(n), lead="u1") for n in range(3)])
    assert reads == []
    engine.tick()
    assert reads == [T0]
