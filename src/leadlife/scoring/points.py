"""The provisional points scorer: fixed points per event type, summed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from leadlife.events import Event
from leadlife.lead import Lead
from leadlife.scoring.protocol import Contribution, ScoreResult

__all__ = ["PointsScorer"]


class PointsScorer:
    """Score = sum of points(event type) * how often the lead did it.

    Order-independent, so out-of-order events give the same score as in-order ones.
    """

    def __init__(self, points: Mapping[str, float], *, name: str = "points"):
        self.name = name
        self.points = {k: float(v) for k, v in points.items() if v}

    def score(self, lead: Lead, now: datetime) -> float:
        points = self.points
        return sum(points.get(kind, 0.0) * n for kind, n in lead.behaviour.totals())

    def score_event(self, lead: Lead, event: Event, previous: float, now: datetime) -> float:
        """The score after ``event``: the previous score plus the event type's points."""
        return previous + self.points.get(event.type, 0.0)

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        parts = [
            Contribution(f"event_types.{kind}.points", self.points[kind] * n, n)
            for kind, n in lead.behaviour.totals()
            if kind in self.points
        ]
        parts.sort(key=lambda c: abs(c.points), reverse=True)
        return ScoreResult(self.name, sum(c.points for c in parts), tuple(parts))

    def __repr__(self) -> str:
        return f"PointsScorer(name={self.name!r}, types={len(self.points)})"
