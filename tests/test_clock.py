"""Clock helpers: the epoch-seconds memo must always agree with ``timestamp()``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from leadlife.clock import epoch_seconds

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
