"""Teams and the strategies that share their leads among members.

Two strategies, both deterministic under the routing ``seed``:

* **round robin** takes turns in a rotation whose starting order is a seeded shuffle
  (not "whoever is listed first"); each pick moves the member to the back. Members
  available throughout any stretch of leads therefore receive counts that differ by
  at most one, and an absent member simply keeps its place: on return it gets its
  next turn, never a backlog.
* **capacity** shares leads in proportion to each member's daily quota (monthly
  capacity / 30) with smooth weighted round robin: every eligible member earns its
  quota in credit per lead, the richest takes the lead and pays the total. Only
  eligible members earn credit, so an absent member accrues nothing to be paid back
  in a flood. A member is eligible while present and below its quota of leads
  received in the last 24 hours; a fractional quota allows its next whole number of
  leads over a span as much longer (2 in 32 hours for a capacity of 45, one in 3 days
  for 10), so members get their capacity a month, spread out. A lead routed out of
  time order (up to 30 days behind the newest) counts the receipts after it too.

Choosing (:meth:`Team.choose`) never changes state; :meth:`Team.record` applies a
choice once the lead carrying it has been stored, so a failed write moves nothing.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Collection, Iterable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadlife.errors import RoutingConfigError
from leadlife.routing.config import Absence, TeamSpec

__all__ = ["Member", "Team"]

_DAY = 86_400.0
_NO_ONE: frozenset[str] = frozenset()
_KEPT = 60 * _DAY  # receipts a capacity team keeps behind its newest


class Member:
    """One salesperson: their daily quota and when they are away."""

    __slots__ = ("_ends", "_known", "_starts", "capacity", "daily_quota", "id", "team")

    def __init__(
        self,
        member_id: str,
        team: str,
        capacity: int | None,
        absences: Iterable[tuple[float, float]],
    ):
        self.id = member_id
        self.team = team
        self.capacity = capacity
        self.daily_quota = None if capacity is None else capacity / 30.0
        # Overlapping absences merge, so one binary search answers "away at ts?".
        merged: list[list[float]] = []
        for start, end in sorted(absences):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self._starts = [start for start, _ in merged]
        self._ends = [end for _, end in merged]
        # The last answer and the span it holds for: leads mostly arrive in time order,
        # so the next question usually falls in the same span. (An empty span to start.)
        self._known: tuple[float, float, bool] = (
            (-math.inf, math.inf, True) if not merged else (0.0, 0.0, True)
        )

    def available(self, ts: float) -> bool:
        """False while an absence covers epoch-seconds ``ts`` (``[from, until)``)."""
        low, high, answer = self._known
        if low <= ts < high:
            return answer
        starts, ends = self._starts, self._ends
        index = bisect.bisect_right(starts, ts) - 1
        if index >= 0 and ts < ends[index]:
            self._known = (starts[index], ends[index], False)
            return False
        low = ends[index] if index >= 0 else -math.inf
        high = starts[index + 1] if index + 1 < len(starts) else math.inf
        self._known = (low, high, True)
        return True

    def __repr__(self) -> str:
        return f"Member({self.id!r}, team={self.team!r})"


class Team:
    """A team's members, managers and the state of its sharing strategy."""

    def __init__(self, spec: TeamSpec, *, seed: int, path: str, source: str = "<dict>"):
        self.id = spec.id
        self.strategy = spec.strategy
        self.sticky = spec.sticky
        self.managers = frozenset(spec.managers)
        zone = _zone(spec.timezone, f"{path}.timezone", source)
        members: dict[str, Member] = {}
        for index, member in enumerate(spec.members):
            where = f"{path}.members.{index}"
            if member.id in members:
                raise RoutingConfigError(
                    f"{where}.id",
                    f"member {member.id!r} is listed twice in team {spec.id!r}",
                    "list each member once",
                    source=source,
                )
            if spec.strategy == "capacity" and member.capacity is None:
                raise RoutingConfigError(
                    f"{where}.capacity",
                    f"team {spec.id!r} shares leads by capacity, but member {member.id!r} has none",
                    "give every member a monthly capacity, or use strategy = 'round_robin'",
                    source=source,
                )
            spans = [_span(a, zone) for a in member.absences]
            members[member.id] = Member(member.id, spec.id, member.capacity, spans)
        self.members = members
        order = list(members)
        # The seed decides the first rotation: nobody is favoured by where they are listed.
        random.Random(f"{seed}:{spec.id}").shuffle(order)
        self._rotation: list[str] = order
        self._credit: dict[str, float] = dict.fromkeys(order, 0.0)
        self._received: dict[str, list[float]] = {m: [] for m in order}
        self._version = 0
        self._round_robin_reason = f"round robin in team {spec.id}"
        self._eligible_cache: tuple[int, float, dict[str, float], str | None] = (
            -1,
            0.0,
            {},
            None,
        )
        self._spans = _spans(members)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Derived from the members: rebuilt, so a team pickled before it existed loads.
        self.__dict__.update(state)
        self._spans = _spans(self.members)

    # -- choosing ----------------------------------------------------------------------

    def choose(self, ts: float, exclude: Collection[str] = _NO_ONE) -> tuple[str | None, str]:
        """``(member, reason)`` for a lead arriving at ``ts``; member None: nobody can take it."""
        if self.strategy == "round_robin":
            members = self.members
            for member_id in self._rotation:
                if member_id not in exclude and members[member_id].available(ts):
                    return member_id, self._round_robin_reason
            return None, f"every member of team {self.id} is away"
        eligible, best = self._eligible(ts, exclude)
        if best is None:
            return None, f"every member of team {self.id} is away or at their quota"
        return best, (
            f"capacity share in team {self.id} "
            f"({self.received(best, ts)} of {eligible[best]:g} leads today)"
        )

    def _eligible(self, ts: float, exclude: Collection[str]) -> tuple[dict[str, float], str | None]:
        """``({eligible member: quota}, the one smooth weighted round robin picks)``."""
        # record() asks again what choose() just asked; nothing changed in between.
        cached = self._eligible_cache
        if cached[0] == self._version and cached[1] == ts and not exclude:
            return cached[2], cached[3]
        eligible: dict[str, float] = {}
        members, received, since = self.members, self._received, ts - _DAY
        credit, spans = self._credit, self._spans
        bisect_left, bisect_right = bisect.bisect_left, bisect.bisect_right
        best: str | None = None
        best_credit = -math.inf
        # One pass over the team, in rotation order, which is also the tie-break.
        for member_id in self._rotation:
            member = members[member_id]
            quota = member.daily_quota
            if quota is None or member_id in exclude or not member.available(ts):
                continue
            window = received[member_id]
            if window:
                limit, span = spans[member_id]
                start = since if span == _DAY else ts - span
                if window[-1] <= ts:  # the usual case: nothing recorded after ts
                    count = len(window) - bisect_right(window, start)
                else:
                    # Routed out of time order (a backlog, a late form): receipts
                    # after ts count too, so no span around ts holds more than the limit.
                    count = bisect_left(window, ts + span) - bisect_right(window, start)
                if count >= limit:
                    continue
                if limit != quota:
                    # The spans' whole leads can round a month up by one: the
                    # capacity caps any 30 days around ts too.
                    month = 30 * _DAY
                    later = len(window) if window[-1] <= ts else bisect_left(window, ts + month)
                    if later - bisect_right(window, ts - month) >= member.capacity:  # type: ignore[operator]
                        continue
            eligible[member_id] = quota
            value = credit[member_id] + quota
            if value > best_credit:
                best, best_credit = member_id, value
        if not exclude:
            self._eligible_cache = (self._version, ts, eligible, best)
        return eligible, best

    def received(self, member_id: str, ts: float) -> int:
        """Leads ``member_id`` received in the 24 hours up to ``ts``.

        A round-robin team, which has no quotas, keeps only the day before its newest
        receipt.
        """
        window = self._received[member_id]
        if not window:
            return 0
        if window[-1] <= ts:  # the usual case: nothing recorded after ts
            return len(window) - bisect.bisect_right(window, ts - _DAY)
        return bisect.bisect_right(window, ts) - bisect.bisect_right(window, ts - _DAY)

    # -- recording ---------------------------------------------------------------------

    def record(
        self, member_id: str, ts: float, *, by_strategy: bool, undo: list[Any] | None = None
    ) -> None:
        """Count a lead ``member_id`` received at ``ts``; a strategy pick also takes its turn.

        With ``undo``, what it takes to take the count back (:meth:`unrecord`) is
        appended to it.
        """
        window = self._received.get(member_id)
        if window is None:
            return  # an owner from outside the team (an account owner, a transfer)
        moved_from: int | None = None
        credit: tuple[dict[str, float], dict[str, float]] | None = None
        if by_strategy:
            if self.strategy == "round_robin":
                moved_from = self._rotation.index(member_id)
                self._rotation.remove(member_id)
                self._rotation.append(member_id)
            else:
                eligible = self._eligible(ts, _NO_ONE)[0]
                if undo is not None:
                    # (before, the amounts added): exact when undone at once, and
                    # leaving what later records added when others came in between.
                    added = dict(eligible)
                    added[member_id] = added.get(member_id, 0.0) - sum(eligible.values())
                    credit = (dict(self._credit), added)
                for other, quota in eligible.items():
                    self._credit[other] += quota
                self._credit[member_id] -= sum(eligible.values())
        # Receipts stay sorted (bisect counts a window); they mostly arrive in order.
        if not window or window[-1] <= ts:
            window.append(ts)
        else:
            bisect.insort(window, ts)
        # A round-robin team keeps the last day, for received(). A capacity team
        # keeps what a quota can read (up to 30 days, at a capacity of 1) for leads
        # routed up to 30 days behind the newest: a bounded list, about twice the
        # member's capacity.
        keep = _DAY if self.strategy == "round_robin" else _KEPT
        old = bisect.bisect_right(window, window[-1] - keep)
        if old:
            del window[:old]
        self._version += 1
        if undo is not None:
            undo.append((self, member_id, ts, moved_from, credit, self._version))

    def unrecord(
        self,
        member_id: str,
        ts: float,
        moved_from: int | None,
        credit: tuple[dict[str, float], dict[str, float]] | None,
        version: int,
    ) -> None:
        """Take back one :meth:`record` (its ``undo`` entry): the receipt, the turn and
        the credit it moved, leaving what other records did since."""
        window = self._received[member_id]
        index = bisect.bisect_left(window, ts)
        if index < len(window) and window[index] == ts:
            del window[index]
        if moved_from is not None:
            self._rotation.remove(member_id)
            self._rotation.insert(moved_from, member_id)
        if credit is not None:
            before, added = credit
            if self._version == version:  # nothing recorded since: exactly as before
                self._credit = before
            else:
                for other, amount in added.items():
                    self._credit[other] -= amount
        self._version += 1  # what choose() cached no longer holds

    def rotation(self) -> list[str]:
        """The round-robin order: who is next first."""
        return list(self._rotation)


def _spans(members: dict[str, Member]) -> dict[str, tuple[float, float]]:
    """``{member: (leads, seconds)}``: at most that many leads in any such span.

    Whole leads at the quota's rate: a fractional quota allows its next whole number
    of leads over as much longer than a day (2 in 32 hours for 1.5 a day, 1 in 3 days
    for 0.33), not that many a day (capacity 45 would get 60 a month, 10 would get 30).
    """
    found: dict[str, tuple[float, float]] = {}
    for member_id, member in members.items():
        quota = member.daily_quota
        if quota is None:
            continue
        limit = float(math.ceil(quota))
        found[member_id] = (limit, _DAY if limit == quota else _DAY * limit / quota)
    return found


# Zone files some systems keep beside the IANA zones that stand for the machine's own
# zone: the same configuration would read absence days differently on each host.
_HOST_ZONES = frozenset({"localtime", "posixrules"})


def _zone(name: str, path: str, source: str) -> ZoneInfo:
    if name in _HOST_ZONES:
        raise RoutingConfigError(
            path,
            f"{name!r} is the zone of whichever machine reads the configuration, not a team's",
            "name the IANA zone the team works in, such as 'Asia/Shanghai' or 'UTC'",
            source=source,
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RoutingConfigError(
            path,
            f"unknown time zone {name!r}",
            "use an IANA zone name such as 'Asia/Shanghai' or 'UTC'",
            source=source,
        ) from None


def _span(absence: Absence, zone: ZoneInfo) -> tuple[float, float]:
    """``[start, end)`` in epoch seconds; whole days run to the end of ``until``."""
    start, until = absence.from_, absence.until
    if isinstance(start, datetime) and isinstance(until, datetime):
        return start.timestamp(), until.timestamp()
    begin = datetime.combine(start, time(), zone)
    end = datetime.combine(until + timedelta(days=1), time(), zone)
    return begin.timestamp(), end.timestamp()
