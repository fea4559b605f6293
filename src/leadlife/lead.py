"""The domain state of one lead: :class:`Lead` and its :class:`StageChange` history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs

from leadlife.behaviour import Behaviour
from leadlife.stages import Stage

__all__ = ["Lead", "StageChange"]


@attrs.frozen(slots=True)
class StageChange:
    """One move of a lead between stages, with the rule that caused it and why."""

    at: datetime
    from_stage: Stage
    to_stage: Stage
    reason: str
    rule: str
    event_id: str | None = None


@attrs.define(slots=True, eq=False)
class Lead:
    """A person the sales funnel tracks.

    The engine owns leads: change them by ingesting events, not by assignment.
    ``history`` is append-only; replaying it from ``COLD`` gives ``stage``.
    ``milestones`` holds the first time each follow-up milestone (contact left,
    enquired, intent shown) happened. ``reentry`` holds, per stage the lead was
    demoted from, the moment after which fresh evidence is needed to re-enter it.
    ``next_check_ts`` (epoch seconds; ``next_check_at`` as a datetime) is when a time
    rule next applies.
    """

    id: str
    stage: Stage = Stage.COLD
    profile: dict[str, Any] = attrs.field(factory=dict)
    behaviour: Behaviour = attrs.field(factory=Behaviour)
    scores: dict[str, float] = attrs.field(factory=dict)
    score: float = 0.0
    owner: str | None = None
    history: list[StageChange] = attrs.field(factory=list)
    milestones: dict[str, datetime] = attrs.field(factory=dict)
    first_seen_at: datetime | None = None
    last_event_at: datetime | None = None
    last_activity_at: datetime | None = None
    asleep_since: datetime | None = None
    next_check_ts: float | None = None
    reentry: dict[Stage, datetime] = attrs.field(factory=dict)
    event_count: int = 0

    @property
    def is_open(self) -> bool:
        """False once the lead is WON or DISQUALIFIED."""
        return self.stage.is_open

    @property
    def next_check_at(self) -> datetime | None:
        """When a time rule next applies to this lead (None: never)."""
        ts = self.next_check_ts
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    @property
    def idle_since(self) -> datetime | None:
        """The last moment the lead itself did something (or was first seen)."""
        return self.last_activity_at or self.first_seen_at

    def fork(self) -> Lead:
        """A copy whose changes never reach this lead: the engine's unit of work."""
        # Built slot by slot: this runs once per event, and skipping __init__'s
        # defaults and factories halves its cost.
        new = _new_lead(Lead)
        new.id = self.id
        new.stage = self.stage
        new.profile = self.profile.copy()
        new.behaviour = self.behaviour.fork()
        new.scores = self.scores.copy()
        new.score = self.score
        new.owner = self.owner
        new.history = self.history.copy()
        new.milestones = self.milestones.copy()
        new.first_seen_at = self.first_seen_at
        new.last_event_at = self.last_event_at
        new.last_activity_at = self.last_activity_at
        new.asleep_since = self.asleep_since
        new.next_check_ts = self.next_check_ts
        new.reentry = self.reentry.copy()
        new.event_count = self.event_count
        return new

    def same_state(self, other: Lead) -> bool:
        """True when every field of ``other`` equals this lead's."""
        return all(getattr(self, f.name) == getattr(other, f.name) for f in attrs.fields(Lead))

    def stage_at(self, moment: datetime) -> Stage:
        """The stage the history says the lead had at ``moment``."""
        stage = Stage.COLD
        for change in self.history:
            if change.at > moment:
                break
            stage = change.to_stage
        return stage


_new_lead = object.__new__
