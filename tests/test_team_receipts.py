"""Team bookkeeping: receipts kept for leads routed late, and undone round-robin turns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadlife.routing.config import TeamSpec
from leadlife.routing.teams import Team

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY = 86_400.0


def team(members: list[dict[str, object]], strategy: str = "round_robin") -> Team:
    spec = TeamSpec.model_validate({"id": "t", "members": members, "strategy": strategy})
    return Team(spec, seed=0, path="teams.0")


def take(t: Team, ts: float) -> str | None:
    member, _ = t.choose(ts)
    if member is not None:
        t.record(member, ts, by_strategy=True)
    return member


def test_a_lead_30_days_late_still_sees_the_month_before_it() -> None:
    """Capacity 3 (one lead per 10 days, at most 3 in any 30): receipts on days 0, 11,
    22 and 45; a lead routed late for day 33 has days 11, 22 and 45 within 30 days of
    it, so the member is at capacity for it. Day 11 is 34 days behind the newest."""
    t = team([{"id": "m", "capacity": 3}], "capacity")
    start = T0.timestamp()
    picks = [take(t, start + d * DAY) for d in (0, 11, 22, 45, 33)]
    assert picks == ["m", "m", "m", "m", None]


def test_undoing_a_round_robin_pick_gives_the_member_its_turn_back() -> None:
    t = team([{"id": "a"}, {"id": "b"}, {"id": "c"}])
    before = t.rotation()
    undo: list[Any] = []
    t.record(before[0], T0.timestamp(), by_strategy=True, undo=undo)
    assert t.rotation() == [*before[1:], before[0]]
    ((owner, *entry),) = undo
    assert owner is t
    t.unrecord(*entry)
    assert t.rotation() == before
    assert t.received(before[0], T0.timestamp()) == 0
