"""Event times, behaviour windows and the time rules at their edges."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadlife
from leadlife.errors import InvalidTimeError
from tests.conftest import T0
from tests.strategies import event_payloads


class _DayLongOffset(tzinfo):
    """A host's zone whose offset Python cannot use (24 hours or more)."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=25)

    def dst(self, dt: datetime | None) -> None:
        return None


def test_stage_at_refuses_a_moment_whose_offset_cannot_be_read(engine: leadlife.Engine) -> None:
    """stage_at names the moment it cannot read, as tick and the windows do, instead
    of Python's ValueError from the zone."""
    lead = engine.ingest({"id": "e1", "lead_id": "u1", "type": "page_view", "at": T0})
    moment = datetime(2026, 11, 2, tzinfo=_DayLongOffset())
    with pytest.raises(InvalidTimeError) as caught:
        lead.stage_at(moment)
    assert caught.value.name == "moment"
    assert caught.value.value is moment
    assert "under 24 hours" in str(caught.value)


def test_stage_at_refuses_pandas_nat(engine: leadlife.Engine) -> None:
    """pandas' NaT, a datetime that is no moment, is refused with InvalidTimeError."""
    pd = pytest.importorskip("pandas")
    lead = engine.ingest({"id": "e1", "lead_id": "u1", "type": "page_view", "at": T0})
    with pytest.raises(InvalidTimeError) as caught:
        lead.stage_at(pd.NaT)
    assert caught.value.name == "moment"


_ZONES = [
    UTC,
    ZoneInfo("America/New_York"),
    ZoneInfo("Asia/Shanghai"),
    timezone(-timedelta(hours=3.5)),
]
_GAPS = [0, 1, 3600, 86400, 2 * 86400, 29 * 86400, 30 * 86400, 89 * 86400, 90 * 86400, 100 * 86400]
_RULEBOOKS: list[dict[str, Any] | None] = [
    None,
    {"extends": "default", "bands": {"scorer": "rules"}},
    {"extends": "default", "timers": {"sal_idle_days": 1, "cooling_days": 2, "sleep_days": 3}},
]


@st.composite
def _schedules(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[float]], float]:
    """Events of two leads, in any arrival order and time zone, and tick moments after
    every arrival that come before every event still to arrive."""
    events: list[dict[str, Any]] = []
    offset = 0.0
    for number in range(draw(st.integers(1, 16))):
        offset += draw(st.sampled_from(_GAPS))
        kind, data = draw(event_payloads())
        at: datetime | str = (T0 + timedelta(seconds=offset)).astimezone(
            draw(st.sampled_from(_ZONES))
        )
        if draw(st.booleans()):
            at = at.isoformat()
        lead = draw(st.sampled_from(["a", "b"]))
        events.append(
            {
                "id": f"e{number}",
                "lead_id": lead,
                "type": kind,
                "at": at,
                "data": data,
                "_s": offset,
            }
        )
    if draw(st.booleans()):
        events = draw(st.permutations(events))
    ticks: list[list[float]] = []
    for index in range(len(events)):
        pending = [e["_s"] for e in events[index + 1 :]]
        low = max(e["_s"] for e in events[: index + 1])
        high = min(pending) if pending else low + 400 * 86400
        if high <= low:
            ticks.append([])
            continue
        ticks.append(sorted(draw(st.lists(st.floats(low, high, exclude_max=True), max_size=2))))
    end = max(e["_s"] for e in events) + draw(
        st.sampled_from([0, 3 * 86400, 61 * 86400, 200 * 86400])
    )
    return events, ticks, end


def _state(engine: leadlife.Engine, lead_id: str) -> tuple[Any, ...]:
    lead = engine.get(lead_id)
    history = [(c.at, c.from_stage, c.to_stage, c.rule, c.event_id) for c in lead.history]
    return (lead.stage, history, lead.asleep_ts, lead.next_check_ts, lead.profile, lead.reentry)


@given(_schedules(), st.sampled_from(_RULEBOOKS))
def test_ticking_often_rarely_or_never_ends_in_the_same_state(
    world: tuple[list[dict[str, Any]], list[list[float]], float], rulebook: dict[str, Any] | None
) -> None:
    """Engines fed the same events, one ticking between them and one never, agree
    after a last tick at the same moment, whatever order and zones the events come in."""
    events, ticks, end = world
    ticking = leadlife.Engine(rulebook=rulebook, clock=leadlife.FixedClock(T0))
    still = leadlife.Engine(rulebook=rulebook, clock=leadlife.FixedClock(T0))
    latest = -math.inf
    for raw, moments in zip(events, ticks, strict=True):
        sent = {key: value for key, value in raw.items() if key != "_s"}
        ticking.ingest(sent)
        still.ingest(sent)
        for moment in moments:
            if latest <= moment <= end:
                ticking.tick(T0 + timedelta(seconds=moment))
                latest = moment
    ticking.tick(T0 + timedelta(seconds=end))
    still.tick(T0 + timedelta(seconds=end))
    for lead_id in {raw["lead_id"] for raw in events}:
        assert _state(ticking, lead_id) == _state(still, lead_id)
