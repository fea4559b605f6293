"""The provisional points scorer: fixed points per event type, summed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from leadlife.events import Event
from leadlife.lead import Lead
from leadlife.scoring.protocol import Contribution, ScoreResult

__all__ = ["PointsScorer"]


# Sums of floats depend on their order (ten times 0.1 is 0.9999999999999999): scores
# are rounded to this many decimals, so a band threshold of 1 is reached by ten events
# of 0.1 points.
_DECIMALS = 9


class PointsScorer:
    """Score = sum of points(event type) * how often the lead did it.

    Order-independent, so out-of-order events give the same score as in-order ones.
    Scores are rounded to 9 decimals, so ten events of 0.1 points make exactly 1.
    """

    def __init__(self, points: Mapping[str, float], *, name: str = "points"):
        self.name = name
        self.points = {k: float(v) for k, v in points.items() if v}
        # Sums of whole numbers are exact, so adding one event's points gives the full
        # sum; with fractions only the full sum (rounded once) is the same on both paths.
        self._whole = all(value.is_integer() for value in self.points.values())

    def score(self, lead: Lead, now: datetime) -> float:
        points = self.points
        total = math.fsum(points.get(kind, 0.0) * n for kind, n in lead.behaviour.totals())
        return round(total, _DECIMALS)

    def score_event(self, lead: Lead, event: Event, previous: float, now: datetime) -> float:
        """The score after ``event``: the previous score plus the event type's points."""
        points = self.points.get(event.type)
        if points is None:
            return previous
        return previous + points if self._whole else self.score(lead, now)

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        points = self.points
        found = [
            (kind, points[kind] * n, n) for kind, n in lead.behaviour.totals() if kind in points
        ]
        # Ties in the order of the points table, not in the order the lead first did
        # each event type: two leads with the same counts read the same.
        order = {kind: index for index, kind in enumerate(points)}
        found.sort(key=lambda part: (-abs(part[1]), order[part[0]]))
        parts = [Contribution(f"event_types.{kind}.points", value, n) for kind, value, n in found]
        total = round(math.fsum(c.points for c in parts), _DECIMALS)
        return ScoreResult(self.name, total, tuple(parts))

    def __repr__(self) -> str:
        return f"PointsScorer(name={self.name!r}, types={len(self.points)})"
