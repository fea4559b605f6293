"""The scoring protocol every scorer answers, rule-based or learned."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from leadlife.events import Event
from leadlife.lead import Lead

__all__ = ["Contribution", "IncrementalScorer", "ScoreResult", "Scorer"]


@attrs.frozen(slots=True)
class Contribution:
    """What one rule or feature added to a score, and the value that made it fire."""

    rule: str
    points: float
    # Left out of the hash, not of ==: a profile value may be a read-only list or
    # mapping, which does not hash, and with it the whole ScoreResult would not.
    value: Any = attrs.field(default=None, hash=False)


@attrs.frozen(slots=True)
class ScoreResult:
    """A score with its explanation; ``value`` equals the sum of the contributions.

    Scorers with two axes also fill ``fit``, ``engagement`` and the fit ``grade``.
    """

    scorer: str
    value: float
    contributions: tuple[Contribution, ...] = ()
    fit: float | None = None
    engagement: float | None = None
    grade: str | None = None


@runtime_checkable
class Scorer(Protocol):
    """Something that scores one lead.

    ``score`` runs on every event, so it should be cheap; ``explain`` runs when a
    person asks why. A scorer whose score moves by the event alone may also define
    ``score_event(lead, event, previous, now) -> float``: the engine then calls it
    per event instead of ``score`` (see :class:`IncrementalScorer`).

    Two optional attributes tell the engine what state to keep for the scorer:
    ``counters()`` returns narrowed counters (``{event type: {key: data to match}}``),
    and ``window_days`` (an int) is the longest window, in days, of the behaviour
    counts it reads, so day buckets are kept at least that long.
    """

    name: str

    def score(self, lead: Lead, now: datetime) -> float:
        """The lead's score at ``now``."""
        ...

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        """The score with its contributions, largest first."""
        ...


@runtime_checkable
class IncrementalScorer(Scorer, Protocol):
    """A scorer that can update a lead's previous score from one event."""

    def score_event(self, lead: Lead, event: Event, previous: float, now: datetime) -> float:
        """The score after ``event``, given the score ``previous`` before it."""
        ...
