"""Behaviour counters against a naive reference, and their footprint."""

from __future__ import annotations

import gc
import platform

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadlife.behaviour import DAY_SECONDS, Behaviour
from tests.conftest import T0

BASE = T0.timestamp()


@given(
    offsets=st.lists(st.integers(0, 90 * DAY_SECONDS), min_size=1, max_size=60),
    retention=st.integers(1, 40),
    window=st.integers(1, 40),
    back=st.integers(0, 40),
)
def test_windows_match_a_naive_count(
    offsets: list[int], retention: int, window: int, back: int
) -> None:
    """Window counts equal counting the raw timestamps, for any arrival order, also
    for windows ending before the newest day; buckets stay in day order.

    Buckets older than the retention (measured from the newest day) may be pruned, so
    the check covers windows inside the retention.
    """
    behaviour = Behaviour()
    for offset in offsets:
        behaviour.record("download", BASE + offset, retention)
    window = min(window, retention)
    back = min(back, retention - window)
    newest_day = int(max(BASE + o for o in offsets) // DAY_SECONDS)
    today = newest_day - back
    now_ts = today * DAY_SECONDS + 1
    days = [int((BASE + o) // DAY_SECONDS) for o in offsets]
    expected = sum(1 for d in days if today - window < d <= today)
    assert behaviour.count_ts("download", window, now_ts) == expected
    buckets = behaviour.stats["download"][3][0::2]
    assert list(buckets) == sorted(set(buckets))
    assert behaviour.total("download") == len(offsets)
    assert behaviour.last_ts("download") == BASE + max(offsets)
    stats = dict(behaviour.items())["download"]
    assert stats.first_ts == BASE + min(offsets)


def test_fork_is_independent() -> None:
    """Recording on a fork leaves the parent's counts as they were."""
    parent = Behaviour()
    parent.record("search", BASE, 30)
    child = parent.fork()
    child.record("search", BASE, 30)
    child.record("download", BASE, 30)
    assert (parent.total("search"), parent.total("download")) == (1, 0)
    assert (child.total("search"), child.total("download")) == (2, 1)


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="CPython's gc")
def test_counters_leave_the_garbage_collector() -> None:
    """After collections the counters hold nothing the cyclic gc must keep visiting.

    Untracking works inside out (the day tuple first, then the entry, then the dict),
    one level per pass.
    """
    behaviour = Behaviour()
    for n in range(20):
        behaviour.record("page_view" if n % 2 else "search", BASE + n * 3600, 30)
    for _ in range(3):
        gc.collect()
    assert not gc.is_tracked(behaviour._stats)
