"""Clock helpers: the epoch-seconds memo agrees with ``timestamp()``; kept times keep
their moment and offset."""

from __future__ import annotations

import gc
import itertools
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

import leadlife
from leadlife.clock import (
    EXACT_EPOCH_UNTIL,
    epoch_seconds,
    microseconds,
    shifted,
    standard_zone,
    with_standard_zone,
)
from leadlife.events import Event

zones = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60)
)
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones
)


@given(st.lists(moments, min_size=1, max_size=20), st.data())
def test_epoch_seconds_agrees_with_timestamp(sequence: list[datetime], data: st.DataObject) -> None:
    # Ask in a random order with repeats, so hits and misses of the memo interleave.
    for _ in range(3 * len(sequence)):
        moment = data.draw(st.sampled_from(sequence))
        assert epoch_seconds(moment) == moment.timestamp()


def test_epoch_seconds_never_answers_a_new_object_from_the_memo() -> None:
    first = datetime(2026, 11, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    assert epoch_seconds(first) == first.timestamp()
    # A new object for another moment must not be answered from the memo, even when
    # the remembered one is gone from every other reference.
    del first
    later = datetime(2026, 11, 2, 9, 0, 1, tzinfo=UTC)
    assert epoch_seconds(later) == later.timestamp()
    assert epoch_seconds(later) == later.timestamp()


@given(moments)
def test_with_standard_zone_keeps_the_moment_and_its_offset(moment: datetime) -> None:
    """A parsed time comes back equal, with the same offset and text, in a shared
    standard zone; outside 1970-2106 it comes back as it was."""
    parsed = Event.model_validate(
        {"id": "e", "lead_id": "u", "type": "page_view", "at": moment.isoformat()}
    ).at
    kept = with_standard_zone(parsed, parsed.timestamp())
    assert kept == moment
    assert kept.isoformat() == parsed.isoformat()
    if parsed.timestamp() < EXACT_EPOCH_UNTIL:
        assert type(kept.tzinfo) is timezone
        again = Event.model_validate(
            {"id": "e", "lead_id": "u", "type": "page_view", "at": moment.isoformat()}
        ).at
        assert with_standard_zone(again, again.timestamp()).tzinfo is kept.tzinfo
    else:
        assert kept is parsed


def test_with_standard_zone_leaves_other_zones_alone() -> None:
    """Standard zones, and times before 1970, are returned as they are; only fixed
    offsets have a standard zone. Named zones give their offset at that moment."""
    for moment in (
        datetime(2026, 11, 2, 9, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(1969, 12, 31, 23, 0, tzinfo=UTC),
    ):
        assert with_standard_zone(moment, moment.timestamp()) is moment
    for named in (
        datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=ZoneInfo("America/New_York")),
        datetime(1960, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris")),
    ):
        fixed = with_standard_zone(named, named.timestamp())
        assert type(fixed.tzinfo) is timezone
        assert (fixed.timestamp(), fixed.utcoffset()) == (named.timestamp(), named.utcoffset())
    eight = timezone(timedelta(hours=8))
    assert standard_zone(eight) is eight
    assert standard_zone(ZoneInfo("Asia/Shanghai")) is None
    assert standard_zone(None) is None


def test_times_kept_in_leads_hold_no_zone_the_collector_tracks() -> None:
    """Stage changes and milestones from parsed events keep standard zones."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(datetime(2026, 11, 2, tzinfo=UTC)))
    lead = engine.ingest(
        {
            "id": "e1",
            "lead_id": "u1",
            "type": "form_submit",
            "at": "2026-11-02T09:00:00+08:00",
            "data": {"phone": "+8613800138000", "asset_id": "p1"},
        }
    )
    kept = [change.at for change in lead.history] + list(lead.milestones.values())
    assert lead.history
    assert lead.milestones
    assert all(type(at.tzinfo) is timezone for at in kept)
    assert not any(gc.is_tracked(at.tzinfo) for at in kept)
    assert lead.history[-1].at.isoformat() == "2026-11-02T09:00:00+08:00"


@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2105, 12, 31), timezones=st.just(UTC)
    ),
    span_us=st.integers(min_value=-200 * 86_400 * 10**6, max_value=200 * 86_400 * 10**6),
)
def test_shifted_lands_on_the_grid_of_timestamp(moment: datetime, span_us: int) -> None:
    """The rules' and follow-up timers' due times: exactly what datetime arithmetic
    gives, where a float sum is one step off across a power of two of seconds."""
    expected = (moment + timedelta(microseconds=span_us)).timestamp()
    assert shifted(moment.timestamp(), span_us) == expected
    assert microseconds(30 * 86_400.0) == 30 * 86_400 * 10**6


def test_a_fixed_clock_advances_by_elapsed_time_across_daylight_saving() -> None:
    """Regression: advance() added by wall clock: ten minutes after the fall-back
    hour went 50 minutes back, and an hour across the spring gap moved nothing."""
    new_york = ZoneInfo("America/New_York")
    for start, step in (
        (datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=new_york), timedelta(minutes=10)),
        (datetime(2026, 3, 8, 1, 30, tzinfo=new_york), timedelta(hours=1)),
        (datetime(2026, 10, 31, 12, tzinfo=new_york), timedelta(days=1)),
    ):
        clock = leadlife.FixedClock(start)
        seen = [clock().timestamp()] + [clock.advance(step).timestamp() for _ in range(3)]
        assert [b - a for a, b in itertools.pairwise(seen)] == [step.total_seconds()] * 3
        assert clock().tzinfo is new_york


def test_a_fixed_clock_advances_back_by_a_negative_delta() -> None:
    """As documented: a negative delta moves the clock back, by elapsed time."""
    clock = leadlife.FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    assert clock.advance(timedelta(hours=-3)) == datetime(2026, 11, 2, 6, tzinfo=UTC)
    assert clock() == datetime(2026, 11, 2, 6, tzinfo=UTC)


def test_a_fixed_clock_in_a_minimal_host_zone_still_advances() -> None:
    """Regression (of the elapsed-time advance): a host tzinfo with no dst() cannot be
    converted from UTC; it is a fixed offset, where wall clock and elapsed agree."""

    class Plus8(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta:
            return timedelta(hours=8)

        def tzname(self, dt: datetime | None) -> str:
            return "CST"

    zone = Plus8()
    clock = leadlife.FixedClock(datetime(2026, 11, 2, 9, tzinfo=zone))
    assert clock.advance(timedelta(minutes=10)) == datetime(2026, 11, 2, 9, 10, tzinfo=zone)
