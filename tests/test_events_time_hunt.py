"""Event times, behaviour windows and the time rules at their edges."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

import pytest

import leadlife
from leadlife.errors import InvalidTimeError
from tests.conftest import T0


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
