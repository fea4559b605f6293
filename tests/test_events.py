"""The Event model at its edges: what it reads and what it writes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadlife import Event
from leadlife.errors import InvalidEventError
from leadlife.events import parse_event

offsets = st.integers(min_value=-86_399, max_value=86_399).map(
    lambda seconds: timezone(timedelta(seconds=seconds))
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30), timezones=offsets
)


def event_at(at: object) -> dict[str, object]:
    return {"id": "e1", "lead_id": "u1", "type": "page_view", "at": at}


@given(moments)
def test_json_round_trip_keeps_the_instant(at: datetime) -> None:
    """Regression: offsets with seconds were written to the minute, moving the instant."""
    event = parse_event(event_at(at))
    again = Event.model_validate_json(event.model_dump_json())
    assert again.at == at
    offset = at.utcoffset()
    assert offset is not None
    # Offsets pydantic can write are kept as sent; the others are written in UTC.
    whole_minutes = offset % timedelta(minutes=1) == timedelta(0)
    assert again.at.utcoffset() == (offset if whole_minutes else timedelta(0))


@given(moments)
def test_isoformat_text_is_read(at: datetime) -> None:
    """``datetime.isoformat`` writes offsets with seconds; such text is an event time."""
    assert parse_event(event_at(at.isoformat())).at == at


def test_local_mean_time_offset_round_trips() -> None:
    """Shanghai's local mean time in 1900 is +08:05:43, as zoneinfo gives it."""
    at = datetime(1900, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=8, seconds=343)))
    event = parse_event(event_at(at))
    assert '"at":"1900-06-01T00:54:17Z"' in event.model_dump_json()
    assert event.model_dump()["at"] is at  # Python-mode dumps keep the object


@pytest.mark.parametrize(
    "text",
    ["2026-01-01T00:00:00+05:45:30junk", "2026-13-01T00:00:00+05:45:30", "2026-01-01T00:00:00"],
)
def test_unreadable_times_still_name_the_field(text: str) -> None:
    with pytest.raises(InvalidEventError, match=r"^event 'e1': at: "):
        parse_event(event_at(text))


def test_a_utc_instant_needs_no_change() -> None:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert '"at":"2026-11-02T09:00:00Z"' in parse_event(event_at(at)).model_dump_json()
