"""The domain state of one lead: :class:`Lead` and its :class:`StageChange` history."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from leadlife.behaviour import Behaviour
from leadlife.clock import LATEST_DUE_TS, require_aware
from leadlife.errors import InvalidArgumentError

if TYPE_CHECKING:
    from leadlife.routing.follow_up import FollowUp
    from leadlife.scoring.protocol import Scorer, ScoreResult
from leadlife.stages import Stage

__all__ = ["NO_EVIDENCE", "Assignment", "Lead", "StageChange"]


class _NoEvidence(Mapping[str, Any]):
    """The empty, read-only evidence of decisions and assignments that matched nothing.

    One shared instance; it pickles by name, so stored leads load back to it.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "NO_EVIDENCE"


NO_EVIDENCE: Mapping[str, Any] = _NoEvidence()


@attrs.frozen(slots=True)
class StageChange:
    """One move of a lead between stages, with the rule that caused it and why."""

    at: datetime
    from_stage: Stage
    to_stage: Stage
    reason: str
    rule: str
    event_id: str | None = None


@attrs.frozen(slots=True)
class Assignment:
    """One change of a lead's owner or team, who made it and why.

    ``action`` is ``routed`` (a router, then the team's strategy, chose), ``pooled``
    (routed to a team none of whose members could take it yet), ``claimed``,
    ``assigned``, ``transferred``, ``returned`` (back to the team's pool),
    ``reassigned`` (the follow-up timers moved it) or ``accepted`` (an event named
    the owner). ``by`` is the person who acted (None for the engine itself),
    ``router`` the router whose decision it follows, with the values it matched in
    ``evidence``, and ``strategy`` the team strategy that picked the member
    (``round_robin``, ``capacity``, ``sticky``), if any.
    """

    at: datetime
    action: str
    from_owner: str | None
    to_owner: str | None
    team: str | None
    reason: str
    by: str | None = None
    router: str | None = None
    strategy: str | None = None
    event_id: str | None = None
    # Left out of the hash, not of ==: evidence is a read-only mapping, and mappings
    # do not hash, which made every assignment unhashable (set(lead.assignments)).
    evidence: Mapping[str, Any] = attrs.field(default=NO_EVIDENCE, hash=False)


@attrs.define(slots=True, eq=False)
class Lead:
    """A person the sales funnel tracks.

    The engine owns leads: change them by ingesting events, not by assignment.
    ``history`` is append-only; replaying it from ``COLD`` gives ``stage``.
    ``milestones`` holds the first time each follow-up milestone (contact left,
    enquired, intent shown) happened. ``reentry`` holds, per stage the lead was
    demoted from, the moment after which fresh evidence is needed to re-enter it.

    Moments are kept as epoch seconds (the ``*_ts`` fields), which the per-event
    rules compare cheaply; the ``*_at`` properties give them as UTC datetimes.
    ``rulebook_digest`` names the rules that last read the lead
    (:attr:`Rulebook.digest <leadlife.rules.Rulebook.digest>`): under other rules, its
    next event reads every entry rule again and rescores it in full.
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
    first_seen_ts: float | None = None
    last_event_ts: float | None = None
    last_activity_ts: float | None = None
    asleep_ts: float | None = None
    next_check_ts: float | None = None
    reentry: dict[Stage, datetime] = attrs.field(factory=dict)
    event_count: int = 0
    team: str | None = None
    assignments: tuple[Assignment, ...] = ()
    follow_up: FollowUp | None = None
    scored_ts: float | None = None
    rulebook_digest: str | None = None

    @property
    def is_open(self) -> bool:
        """False once the lead is WON or DISQUALIFIED."""
        return self.stage.is_open

    @property
    def first_seen_at(self) -> datetime | None:
        """When the earliest event of this lead happened."""
        return _utc(self.first_seen_ts)

    @property
    def last_event_at(self) -> datetime | None:
        """When the latest event of this lead happened (the lead's own clock)."""
        return _utc(self.last_event_ts)

    @property
    def last_activity_at(self) -> datetime | None:
        """When the lead itself last did something (sales' and systems' events don't count)."""
        return _utc(self.last_activity_ts)

    @property
    def asleep_since(self) -> datetime | None:
        """When the lead was flagged for reactivation after its silence (None: awake)."""
        return _utc(self.asleep_ts)

    @property
    def scored_at(self) -> datetime | None:
        """The moment ``scores`` were computed as of: the newest event, or a later tick."""
        return _utc(self.scored_ts)

    @property
    def next_check_at(self) -> datetime | None:
        """When a time rule next applies to this lead (None: never)."""
        return _utc(self.next_check_ts)

    @property
    def idle_ts(self) -> float | None:
        """Epoch seconds of the lead's last own activity, or of its first event."""
        ts = self.last_activity_ts
        return self.first_seen_ts if ts is None else ts

    @property
    def idle_since(self) -> datetime | None:
        """The last moment the lead itself did something (or was first seen)."""
        return _utc(self.idle_ts)

    def fork(self) -> Lead:
        """A copy whose changes never reach this lead, and that shares no mutable container."""
        new = self.working_copy()
        new.history = self.history.copy()
        new.milestones = self.milestones.copy()
        new.reentry = self.reentry.copy()
        profile = new.profile
        for name, value in profile.items():
            # The engine keeps profile values read-only all the way down; a lead that
            # a host's storage rebuilt (from JSON, say) may hold plain lists and
            # dicts, which a one-level copy would share with the stored lead.
            if type(value) in _CHANGEABLE:
                profile[name] = copy.deepcopy(value)
        return new

    def working_copy(self) -> Lead:
        """The engine's unit of work: a copy that may share ``history``, ``milestones``
        and ``reentry`` with this lead.

        Those three change on few events, so they are shared, and the engine replaces
        them instead of changing them in place. Everything else is copied.
        """
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
        new.history = self.history
        new.milestones = self.milestones
        new.first_seen_ts = self.first_seen_ts
        new.last_event_ts = self.last_event_ts
        new.last_activity_ts = self.last_activity_ts
        new.asleep_ts = self.asleep_ts
        new.next_check_ts = self.next_check_ts
        new.reentry = self.reentry
        new.event_count = self.event_count
        new.team = self.team
        new.assignments = self.assignments  # tuples: shared until replaced
        new.follow_up = self.follow_up
        new.scored_ts = self.scored_ts
        new.rulebook_digest = self.rulebook_digest
        return new

    def take_state(self, other: Lead, *, extend_history: bool = False) -> None:
        """Hold ``other``'s state from now on, keeping this object (for stores).

        A store that keeps leads as objects can have its stored lead take each new
        state in place, instead of storing the engine's new copy: one long-lived
        object per lead, not a new one per event, which keeps the cyclic garbage
        collector's passes rare with millions of leads. Whoever holds this lead sees
        it change, so a store does it only for a lead nobody else holds, as
        :class:`~leadlife.plugins.default_storage.MemoryStorage` does. The two leads
        share their containers afterwards, as a lead and its working copy do.

        With ``extend_history``, for a history list nobody else holds either, the
        list is kept and the new changes appended to it (``other``'s history starts
        with this one's: history is append-only).
        """
        self.stage = other.stage
        self.profile = other.profile
        self.behaviour.take_counts(other.behaviour)
        self.scores = other.scores
        self.score = other.score
        self.owner = other.owner
        mine, theirs = self.history, other.history
        if theirs is not mine:
            known = len(mine)
            if (
                extend_history
                and len(theirs) > known
                and (not known or theirs[known - 1] is mine[-1])
            ):
                mine.extend(theirs[known:])
            else:
                self.history = theirs
        self.milestones = other.milestones
        self.first_seen_ts = other.first_seen_ts
        self.last_event_ts = other.last_event_ts
        self.last_activity_ts = other.last_activity_ts
        self.asleep_ts = other.asleep_ts
        self.next_check_ts = other.next_check_ts
        self.reentry = other.reentry
        self.event_count = other.event_count
        self.team = other.team
        self.assignments = other.assignments
        self.follow_up = other.follow_up
        self.scored_ts = other.scored_ts
        self.rulebook_digest = other.rulebook_digest

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    def __setstate__(self, state: Mapping[str, Any] | tuple[Any, ...]) -> None:
        # A lead pickled by an earlier version lacks the fields added since: they
        # take their defaults, so a store written before an upgrade still loads.
        if isinstance(state, tuple):
            state = dict(zip(_FIELD_NAMES, state, strict=False))
        for field in attrs.fields(Lead):
            if field.name in state:
                value = state[field.name]
            else:
                factory = getattr(field.default, "factory", None)  # an attrs.Factory
                value = factory() if callable(factory) else field.default
            object.__setattr__(self, field.name, value)

    def same_state(self, other: Lead) -> bool:
        """True when every field of ``other`` equals this lead's."""
        if not isinstance(other, Lead):
            # Else a missing lead (a storage's None) fails on its first field.
            raise InvalidArgumentError(
                "other",
                f"{other!r} is not a Lead",
                "pass the lead to compare with, e.g. engine.get(lead_id)",
            )
        return all(getattr(self, f.name) == getattr(other, f.name) for f in attrs.fields(Lead))

    def explain(self, scorer: Scorer, now: datetime | None = None) -> ScoreResult:
        """``scorer``'s score of this lead with its contributions, largest first.

        ``now`` defaults to the moment the lead's stored scores were computed
        (``scored_at``: its newest event, or the tick that rescored it), so the two
        agree; ``engine.explain(lead_id)`` picks the engine's band scorer for you.
        """
        if isinstance(scorer, str) or not callable(getattr(scorer, "explain", None)):
            # A scorer's name, as engine.explain takes it, would fail on its first call.
            raise InvalidArgumentError(
                "scorer",
                f"{scorer!r} is not a scorer",
                "pass the scorer itself, e.g. lead.explain(engine.scorers['rules']), "
                "or name it to engine.explain(lead.id, 'rules')",
            )
        moment = now or self.scored_at or self.last_event_at or self.first_seen_at
        if moment is None:
            raise InvalidArgumentError(
                "now",
                f"lead {self.id!r} has seen no event, so it has no moment to be explained at",
                "pass now=, an aware datetime, e.g. lead.explain(scorer, now=datetime.now(UTC))",
            )
        return scorer.explain(self, moment)

    def stage_at(self, moment: datetime) -> Stage:
        """The stage the history says the lead had at ``moment`` (an aware datetime)."""
        # The history's times are aware: a naive moment, a string or a zone that
        # cannot be read would reach the comparison below and fail there with
        # Python's own error. Any moment a tick can take is a moment to ask about.
        require_aware(moment, "moment", latest=LATEST_DUE_TS)
        stage = Stage.COLD
        for change in self.history:
            if change.at > moment:
                break
            stage = change.to_stage
        return stage


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


_new_lead = object.__new__
# Profile values a fork copies deeply: the changeable containers of a rebuilt lead.
_CHANGEABLE = frozenset({list, dict, set, bytearray})
_FIELD_NAMES = tuple(field.name for field in attrs.fields(Lead))
