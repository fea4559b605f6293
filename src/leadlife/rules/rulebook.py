"""The compiled :class:`Rulebook`: promotion, demotion and closing criteria applied to leads.

A rulebook decides *why* a lead moves; the :class:`~leadlife.stages.StageGraph` decides
*whether* a move is allowed. Criteria are compiled once at load time into predicates,
so evaluating a lead per event is a handful of dict lookups.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from pydantic import ValidationError

from leadlife.clock import microseconds, shifted, with_standard_zone
from leadlife.errors import InvalidEventError, RulebookError, StageGraphError
from leadlife.events import Event
from leadlife.lead import Lead, StageChange
from leadlife.notices import Notice
from leadlife.profile import CONTACT_FIELDS, set_profile_field
from leadlife.rules.conditions import (
    Predicate,
    compile_condition,
    dependencies,
    event_types_in,
    longest_window,
)
from leadlife.rules.model import EventTypeSpec, RulebookModel
from leadlife.scoring.model import ScoringRulesModel
from leadlife.stages import BANDS, DEFAULT_GRAPH, LADDER, Stage, StageGraph
from leadlife.toml_files import parse_toml, read_toml, rulebook_error

__all__ = ["Rulebook", "load_rulebook"]

_DAY = 86_400.0
_INF = math.inf
_LENIENT = EventTypeSpec()
_CLOSE_TARGET = {"won": Stage.WON, "disqualified": Stage.DISQUALIFIED}
_OPEN = frozenset(stage for stage in Stage if stage.is_open)
_SAL, _WARM, _HOT = Stage.SAL, Stage.WARM, Stage.HOT  # one global read each, per event
_BAND_SET = frozenset(BANDS)
_QUALIFIED_SET = frozenset(LADDER)
_SOURCE_FIELDS = frozenset({"source", "latest_source"})


def _digest(model: RulebookModel, graph: StageGraph) -> str:
    """A fingerprint of what the rules decide, the same in every process.

    A lead keeps the digest of the rulebook that last read it, so one evaluated
    under other rules (a host that changed its rulebook, its leads in its own
    storage) has its whole ladder read again and its scores recomputed in full.
    """
    moves = sorted(
        (stage.value, target.value, move.value)
        for stage, targets in graph.table().items()
        for target, move in targets.items()
    )
    text = json.dumps([model.model_dump(mode="json"), moves], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _moment(event: Event, ts: float, now: float) -> datetime:
    """The event's own ``at`` when it is the newest, else the lead's newest time."""
    return with_standard_zone(event.at, ts) if now == ts else datetime.fromtimestamp(now, UTC)


class Rulebook:
    """Validated, compiled lifecycle rules. Build one with :func:`load_rulebook`."""

    def __init__(
        self,
        model: RulebookModel,
        *,
        source: str = "<dict>",
        graph: StageGraph = DEFAULT_GRAPH,
    ):
        self.model = model
        self.source = source
        self.graph = graph
        self.digest = _digest(model, graph)
        self.strict = model.strict
        self.phone_region = model.phone_region
        self.scorer_name = model.bands.scorer
        self._warm = model.bands.warm
        self._hot = model.bands.hot
        self._sal_idle = model.timers.sal_idle_days * _DAY
        self._cooling = model.timers.cooling_days * _DAY
        self._sleep = model.timers.sleep_days * _DAY
        # The same spans in whole microseconds: due times are added on the grid that
        # datetime.timestamp() gives event times (see leadlife.clock.shifted).
        self._sal_idle_us = microseconds(self._sal_idle)
        self._cooling_us = microseconds(self._cooling)
        self._sleep_us = microseconds(self._sleep)
        self._opt_out = model.timers.opt_out_field
        self.event_types: dict[str, EventTypeSpec] = dict(model.event_types)
        self._passive_types = frozenset(
            name for name, spec in self.event_types.items() if spec.actor != "lead"
        )
        self._ladder: list[tuple[Stage, Predicate, str, str]] = []
        self._check_ladder(model)
        windows = [30]
        # What the ladder reads: an event that touches none of it cannot promote a lead.
        self._ladder_fields: set[str] = set()
        self._ladder_events: set[str] = set()
        for stage in LADDER:
            spec = model.qualification.get(stage.name)  # type: ignore[call-overload]
            if spec is None:
                break  # a stage without an entry rule ends the ladder
            self._ladder.append(
                (
                    stage,
                    compile_condition(spec.when),
                    spec.reason or f"meets the {stage.name} entry rule",
                    f"qualification.{stage.name}",
                )
            )
            windows.append(longest_window(spec.when))
            fields, events = dependencies(spec.when)
            self._ladder_fields |= fields
            self._ladder_events |= events
            if self.strict:
                self._check_declared(stage, event_types_in(spec.when))
        # A window can open up with time alone (under a "not"), so timed ladders always run.
        self._ladder_timed = any(windows[1:])
        # record() writes these from any event that carries a source.
        self._ladder_reads_source = bool(self._ladder_fields & _SOURCE_FIELDS)
        self._close_types = tuple(n for n, spec in self.event_types.items() if spec.closes)
        self._reopen_types = tuple(n for n, spec in self.event_types.items() if spec.reopens)
        if model.scoring is not None:
            if self.strict:
                self._check_scoring_events(model.scoring)
            # Day buckets must reach back as far as the scoring rules' windows, too.
            windows.append(model.scoring.window_days())
        self.retention_days = max(windows)
        self._touches: dict[str, bool] = {}
        self._check_graph()

    def _check_scoring_events(self, scoring: ScoringRulesModel) -> None:
        for index, rule in enumerate(scoring.engagement):
            event = getattr(rule.when, "event", None)
            if event is not None and event not in self.event_types:
                raise RulebookError(
                    f"scoring.engagement.{index}.when.event",
                    f"event type {event!r} is not declared and the rulebook is strict",
                    f"declare [event_types.{event}] or set strict = false",
                    source=self.source,
                )
        for index, weighted in enumerate(scoring.weighted):
            if weighted.event is not None and weighted.event not in self.event_types:
                raise RulebookError(
                    f"scoring.weighted.{index}.event",
                    f"event type {weighted.event!r} is not declared and the rulebook is strict",
                    f"declare [event_types.{weighted.event}] or set strict = false",
                    source=self.source,
                )

    def _check_ladder(self, model: RulebookModel) -> None:
        defined = [stage for stage in LADDER if stage.name in model.qualification]
        expected = list(LADDER[: len(defined)])
        if defined != expected:
            missing = next(s for s in LADDER if s.name not in model.qualification)
            raise RulebookError(
                f"qualification.{missing.name}",
                f"missing, but {', '.join(s.name for s in defined if s.rank > missing.rank)} "
                "is defined; the ladder is cumulative (MQL, then SQL, then SAL)",
                f"define qualification.{missing.name} or drop the stages above it",
                source=self.source,
            )

    def _check_graph(self) -> None:
        """Refuse, at load, a graph this rulebook's moves could not run on."""
        if self.graph.initial is not Stage.COLD:
            raise StageGraphError(
                f"the graph starts at {self.graph.initial.name}, but the rulebook's leads "
                "start at COLD and climb from there; give the graph initial=Stage.COLD",
                [self.graph.initial],
            )
        needed: dict[tuple[Stage, Stage], str] = {}
        tops = [Stage.COLD, Stage.WARM, Stage.HOT] + [step[0] for step in self._ladder]
        for low in tops:
            for high in tops:
                if high.rank > low.rank:
                    needed[(low, high)] = "promotion by bands or qualification"
        for high, low in (
            (Stage.HOT, Stage.WARM),
            (Stage.WARM, Stage.COLD),
            (Stage.HOT, Stage.COLD),
        ):
            needed[(high, low)] = "cooling (timers.cooling_days) or a lower score band"
        if any(step[0] is Stage.SAL for step in self._ladder):
            needed[(Stage.SAL, Stage.SQL)] = "timers.sal_idle_days"
        for name, spec in self.event_types.items():
            if spec.closes is not None:
                for stage in tops:
                    needed[(stage, _CLOSE_TARGET[spec.closes])] = f"event_types.{name}.closes"
            if spec.reopens:
                for end in _CLOSE_TARGET.values():
                    needed[(end, Stage.COLD)] = f"event_types.{name}.reopens"
        missing = [
            f"{a.name}→{b.name} ({why})"
            for (a, b), why in needed.items()
            if self.graph.move(a, b) is None
        ]
        if missing:
            raise StageGraphError(
                "the rulebook needs moves this stage graph does not allow: "
                + "; ".join(missing)
                + ". Add them to the graph or change the rulebook."
            )

    def _check_declared(self, stage: Stage, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.event_types:
                raise RulebookError(
                    f"qualification.{stage.name}.when",
                    f"event type {name!r} is not declared and the rulebook is strict",
                    f"declare [event_types.{name}] or set strict = false",
                    source=self.source,
                )

    # -- loading -------------------------------------------------------------------

    @classmethod
    def default(cls) -> Rulebook:
        """The rulebook shipped with leadlife (``rules/default.toml``)."""
        return cls.from_dict(_default_dict(), source="leadlife:rules/default.toml")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Rulebook:
        """Validate a rulebook given as a mapping (``extends = "default"`` merges)."""
        if not isinstance(data, Mapping):
            raise RulebookError(
                "", f"expected a table, got {type(data).__name__}", "pass a dict", source=source
            )
        if data.get("extends") == "default":
            data = _merge(_default_dict(), {k: v for k, v in data.items() if k != "extends"})
        try:
            model = RulebookModel.model_validate(data)
        except ValidationError as exc:
            raise rulebook_error(exc, source, docs="docs/rulebook.md") from None
        return cls(model, source=source)

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<toml>") -> Rulebook:
        """Validate a rulebook written in TOML."""
        data = parse_toml(text, source)
        if not data:
            # Read as written, it is a rulebook with no event types: every event would
            # be accepted and change nothing. A file left empty, not a rulebook meant.
            raise RulebookError(
                "",
                "holds no settings (the file is empty, or comments only)",
                'write extends = "default" to start from the default rulebook, then '
                "what you change (docs/rulebook.md)",
                source=source,
            )
        return cls.from_dict(data, source=source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Rulebook:
        """Read and validate a TOML rulebook file."""
        text, source = read_toml(path)
        return cls.from_toml(text, source=source)

    # -- per event -----------------------------------------------------------------

    def check(self, event: Event) -> None:
        """Refuse an event this rulebook cannot apply, before anything changes."""
        spec = self.event_types.get(event.type)
        if spec is None:
            if self.strict:
                raise InvalidEventError(
                    "type",
                    f"unknown event type {event.type!r} under a strict rulebook",
                    f"declare [event_types.{event.type}] in the rulebook or set strict = false",
                    event_id=event.id,
                )
            return
        data = event.data
        for name in spec.requires:
            value = data.get(name)
            if value is None or (type(value) is str and not value.strip()):
                raise InvalidEventError(
                    f"data.{name}",
                    f"missing; {event.type} events must carry it",
                    f"add data.{name} to the event",
                    event_id=event.id,
                )
        if spec.closes is not None:
            reason = data.get("reason")
            # The close's reason goes into the lead's history as text: str() of a
            # record or a list would keep its repr there.
            if reason is not None and type(reason) is not str:
                raise InvalidEventError(
                    "data.reason",
                    f"{reason!r} ({type(reason).__name__}) is not a reason",
                    "send a short text saying why the lead closes, or leave it out "
                    "(the event type is the reason then)",
                    event_id=event.id,
                )
        field = spec.owner_from
        if field is not None:
            owner = data.get(field)
            # An owner is a person id: text, or a CRM's numeric user id (read as its
            # digits). str() of anything else (a user record, a list, a boolean) would
            # make an owner nobody is.
            if owner is not None and (isinstance(owner, bool) or not isinstance(owner, str | int)):
                raise InvalidEventError(
                    f"data.{field}",
                    f"{owner!r} ({type(owner).__name__}) is not a person id",
                    f'send the owner\'s id as text or a whole number, e.g. "{field}": "rep07"',
                    event_id=event.id,
                )

    def record(
        self,
        lead: Lead,
        event: Event,
        enrichment: Mapping[str, Any],
        ts: float | None = None,
        counters: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
        retention_days: int | None = None,
    ) -> None:
        """Apply an event's facts to ``lead``: times, counters, profile, owner, milestones.

        ``ts`` is ``event.at`` in epoch seconds, when the caller has it already.
        ``counters`` are narrowed counters scorers asked for, ``{event type: {key: data
        to match}}``: the event is also counted under each key whose data it matches.
        ``retention_days`` keeps day buckets longer than the rulebook's own windows need
        (for scorers that read longer windows); it never shortens them.
        A late event (older than the newest seen) only fills profile fields still
        missing, so it cannot overwrite newer data.
        """
        spec = self.event_types.get(event.type, _LENIENT)
        if ts is None:
            ts = event.at.timestamp()
        last = lead.last_event_ts
        in_order = last is None or ts >= last
        first = lead.first_seen_ts
        earliest = first is None or ts < first
        if earliest:
            lead.first_seen_ts = ts
        source = event.source
        if source:  # a blank one ("", as validation strips "  ") names no source
            # First-touch attribution: the earliest event's source, however late it arrives.
            if earliest or "source" not in lead.profile:
                lead.profile["source"] = source
            if in_order:
                lead.profile["latest_source"] = source
        if in_order:
            lead.last_event_ts = ts
        if spec.actor == "lead":
            active = lead.last_activity_ts
            if active is None or ts > active:
                lead.last_activity_ts = ts
                asleep = lead.asleep_ts
                # Any activity within the silence that put the lead to sleep wakes
                # it, also one arriving after a tick flagged it, or at that moment.
                if asleep is not None and ts > shifted(asleep, -self._sleep_us):
                    lead.asleep_ts = None
        retention = self.retention_days
        if retention_days is not None and retention_days > retention:
            retention = retention_days
        lead.behaviour.record(event.type, ts, retention)
        narrowed = None if counters is None else counters.get(event.type)
        if narrowed:
            data = event.data
            for key, wanted in narrowed.items():
                # a loop, not all(generator): this runs per event for every such key
                for name, value in wanted.items():
                    if data.get(name) != value:
                        break
                else:
                    lead.behaviour.record(key, ts, retention)
        lead.event_count += 1
        profile = lead.profile
        data = event.data
        region = self.phone_region
        # Enrichment wins over the event's own fields. On a late event, which only
        # fills gaps, it fills those it found, after the event's own: a contact
        # field's check would otherwise set again the flag an enricher gave it.
        gaps = (
            [name for name in enrichment if name not in profile]
            if enrichment and not in_order
            else None
        )
        for name in spec.profile:
            if name in data and (in_order or name not in profile):
                value = data[name]
                # A blank (null, or text empty or all spaces) says nothing, as a web
                # form's empty fields do: it must not erase a phone or an asset id the
                # lead gave before, which the entry rules (`exists`) read as missing.
                if value is None or (value.__class__ is str and (not value or value.isspace())):
                    continue
                set_profile_field(profile, name, value, region)
        if spec.sets:
            for name, value in spec.sets.items():
                if in_order or name not in profile:
                    profile[name] = value
        if enrichment and in_order:
            for name, value in enrichment.items():
                set_profile_field(profile, name, value, region)
        elif gaps:
            for name in gaps:
                set_profile_field(profile, name, enrichment[name], region)
        if spec.owner_from is not None and (in_order or lead.owner is None):
            # A late event names the owner only of a lead that has none, as it fills
            # only missing profile fields.
            owner = data.get(spec.owner_from)
            if owner:
                # An id as pool operations and route_frame read one: padding is not
                # part of it, and a blank one names nobody.
                owner = str(owner).strip()
                if owner:
                    lead.owner = owner
        milestone = spec.milestone
        if milestone is not None:
            reached = lead.milestones.get(milestone)
            if reached is None or event.at < reached:
                lead.milestones = {**lead.milestones, milestone: with_standard_zone(event.at, ts)}

    def touches_ladder(self, event_type: str, enriched: Iterable[str] = ()) -> bool:
        """Whether an event of this type (with these enriched fields) can change the ladder."""
        touches = self._touches.get(event_type)
        if touches is None:
            spec = self.event_types.get(event_type, _LENIENT)
            written = set(spec.profile) | set(spec.sets)
            written |= {f"{name}_valid" for name in written & CONTACT_FIELDS}
            touches = event_type in self._ladder_events or bool(written & self._ladder_fields)
            self._touches[event_type] = touches
        if touches or self._ladder_timed:
            return True
        for name in enriched:
            if name in self._ladder_fields or f"{name}_valid" in self._ladder_fields:
                return True
        return False

    def evaluate(
        self,
        lead: Lead,
        event: Event,
        *,
        enriched: Iterable[str] = (),
        force: bool = False,
        ts: float | None = None,
    ) -> list[StageChange]:
        """Move ``lead`` as the event and the entry rules say; return the moves made.

        The qualification ladder is only re-read when the event can change it
        (its type or the profile fields it writes appear in a rule), when ``force``
        is set (a time rule just moved the lead), or on the lead's first event.
        ``ts`` is ``event.at`` in epoch seconds, when the caller has it already.
        """
        changes: list[StageChange] = []
        spec = self.event_types.get(event.type, _LENIENT)
        if ts is None:
            ts = event.at.timestamp()
        # Changes happen on the lead's own clock: a late event acts at the newest time seen.
        last = lead.last_event_ts
        now = ts if last is None or last <= ts else last
        stage = lead.stage
        if spec.closes is not None and stage in _OPEN:
            if now > ts and self._happened_after(lead, self._reopen_types, ts):
                # A late close from before the lead's latest reopening: in time order
                # the reopening undid it, so it moves nothing now.
                return changes
            # Text or None, as check() made sure; a blank one says nothing: the type does.
            reason = event.data.get("reason") or ""
            if not reason or reason.isspace():
                reason = event.type
            self._move(
                lead,
                _CLOSE_TARGET[spec.closes],
                _moment(event, ts, now),
                reason,
                f"closing.{event.type}",
                event.id,
                changes,
            )
            return changes
        if spec.reopens and stage not in _OPEN:
            if now > ts and self._happened_after(lead, self._close_types, ts):
                # A late reopening from before a close the lead has seen since: in time
                # order that close ends it again, so the lead stays closed.
                return changes
            self._move(
                lead,
                Stage.COLD,
                _moment(event, ts, now),
                _reopen_reason(event),
                f"reopening.{event.type}",
                event.id,
                changes,
            )
            lead.reentry = {}
            force = True
        stage = lead.stage
        if stage not in _OPEN:
            return changes
        ladder = (
            force
            or lead.event_count == 1
            or self.touches_ladder(event.type, enriched)
            or (self._ladder_reads_source and bool(event.source))
        )
        if ladder or stage in _BAND_SET:
            self._promote_or_band(lead, event, ts, now, changes, ladder=ladder)
        return changes

    @staticmethod
    def _happened_after(lead: Lead, event_types: tuple[str, ...], ts: float) -> bool:
        """Whether the lead has seen an event of one of ``event_types`` after ``ts``."""
        behaviour = lead.behaviour
        for name in event_types:
            last = behaviour.last_ts(name)
            if last is not None and last > ts:
                return True
        return False

    def _promote_or_band(
        self,
        lead: Lead,
        event: Event,
        ts: float,
        now: float,
        changes: list[StageChange],
        *,
        ladder: bool = True,
    ) -> None:
        # Skipping the ladder is safe: its last reading was applied, and nothing it
        # reads has changed since, so it would promote nothing now.
        # Read as of the newest event, also for a late one: the profile and the
        # freshness of evidence after a demotion are known only as of now, and a
        # mixed reading could promote a lead that met the rule at no moment.
        reached: tuple[Stage, Predicate, str, str] | None = None
        for step in self._ladder if ladder else ():
            epoch = lead.reentry.get(step[0])
            if not step[1](lead, now, None if epoch is None else epoch.timestamp()):
                break
            reached = step
        stage = lead.stage
        if reached is not None:
            if reached[0].rank > stage.rank:
                self._move(
                    lead,
                    reached[0],
                    _moment(event, ts, now),
                    reached[2],
                    reached[3],
                    event.id,
                    changes,
                )
            elif reached[0].rank < stage.rank:
                self._take_back(lead, event, now, reached[0], changes)
            return
        if stage in _BAND_SET:
            band = self.band_for(lead, now)
            if band is not stage:
                reason = f"score {lead.score:g} (warm at {self._warm:g}, hot at {self._hot:g})"
                self._move(lead, band, _moment(event, ts, now), reason, "bands", event.id, changes)
        elif ladder and stage in _QUALIFIED_SET:
            self._take_back(lead, event, now, None, changes)  # no rung holds now

    def _take_back(
        self, lead: Lead, event: Event, now: float, held: Stage | None, changes: list[StageChange]
    ) -> None:
        """Undo the lead's latest promotion when it was made at the lead's newest moment
        (``now``) and the ladder, read with this event too, reaches only ``held`` (None:
        no rung).

        Entry rules only promote, but a promotion at the newest moment was read without
        this event, which happened then or before (arrived late): nothing happened after
        that promotion, so this reading is the one of its moment, and says the rule did
        not hold then. An objection logged the second of the reply that made the lead
        SAL, or arriving after it, is read with that reply, whichever came first. A
        promotion older than the lead's newest event stays: what held at its moment
        can no longer be read. It is taken back only as far as the stage it came from.
        """
        history = lead.history
        if not history:
            return
        last = history[-1]
        if (
            last.to_stage is not lead.stage
            or not last.rule.startswith("qualification.")
            or round(last.at.timestamp() * 1e6) != round(now * 1e6)
        ):
            return
        target = last.from_stage if held is None or held.rank < last.from_stage.rank else held
        if target.rank >= lead.stage.rank or self.graph.move(lead.stage, target) is None:
            return
        self._move(
            lead,
            target,
            last.at,
            f"{event.type} at or before the {lead.stage.name} promotion: "
            f"the {lead.stage.name} entry rule did not hold then",
            last.rule,
            event.id,
            changes,
        )

    def band_for(self, lead: Lead, now_ts: float) -> Stage:
        """The Cold/Warm/Hot band of ``lead`` at ``now_ts``, silence-cooled."""
        score = lead.score
        base = 2 if score >= self._hot else 1 if score >= self._warm else 0  # _base_band
        idle = lead.last_activity_ts
        if idle is None:
            idle = lead.first_seen_ts  # lead.idle_ts, without a property call per event
        if base and idle is not None:
            silent = now_ts - idle
            if silent > 0:
                period = self._cooling
                steps = math.floor(silent / period)
                rest = silent - steps * period
                if rest < 0.001 or rest > period - 0.001:
                    # At a period's end, exactly the moments due_ts gives: a tick at
                    # one cools, a microsecond before does not.
                    cooling = self._cooling_us
                    if shifted(idle, (steps + 1) * cooling) <= now_ts:
                        steps += 1
                    elif steps and shifted(idle, steps * cooling) > now_ts:
                        steps -= 1
                base = max(0, base - steps)
        return BANDS[base]

    def _base_band(self, score: float) -> int:
        return 2 if score >= self._hot else 1 if score >= self._warm else 0

    def _move(
        self,
        lead: Lead,
        target: Stage,
        at: datetime,
        reason: str,
        rule: str,
        event_id: str | None,
        changes: list[StageChange],
    ) -> None:
        self.graph.step(lead.stage, target, lead_id=lead.id, reason=reason)
        history = lead.history
        if history and at < history[-1].at:
            # An event between the lead's newest event and a time rule a tick already
            # applied: history is append-only and in time order, so it moves then.
            at = history[-1].at
        change = StageChange(at, lead.stage, target, reason, rule, event_id)
        lead.stage = target
        lead.history = [*lead.history, change]
        changes.append(change)

    # -- time ----------------------------------------------------------------------

    def due_ts(self, lead: Lead) -> float | None:
        """Epoch seconds at which a time rule next applies to ``lead`` (None: never)."""
        stage = lead.stage
        idle = lead.last_activity_ts
        if idle is None:
            idle = lead.first_seen_ts  # lead.idle_ts, without a property call per event
        if idle is None or stage not in _OPEN:
            return None
        due = _INF
        idle_us = round(idle * 1e6)  # shifted()'s grid, shared by the inline shifts below
        if stage is _SAL:
            due = shifted(self._sal_since(lead, idle), self._sal_idle_us)
        elif stage is _WARM or stage is _HOT:
            # one cooling period per band the score stands above the stage, at least one
            score = lead.score
            steps = (2 if score >= self._hot else 1 if score >= self._warm else 0) - (
                2 if stage is _HOT else 1
            )
            # shifted(idle, ...), inline: this runs per event
            due = (idle_us + (steps + 1 if steps > 0 else 1) * self._cooling_us) / 1e6
        if lead.asleep_ts is None:
            since = idle  # self._sleep_from(lead, idle), inline: this runs per event
            reopen_types = self._reopen_types
            if reopen_types:
                stats = lead.behaviour._stats  # the stats property, without its call
                for name in reopen_types:
                    entry = stats.get(name)
                    if entry is not None and entry[2] > since:
                        since = _reopened_after(lead, since, entry[2], self._close_types)
                        break
            # shifted, inline
            sleep = ((idle_us if since == idle else round(since * 1e6)) + self._sleep_us) / 1e6
            if sleep < due:
                due = sleep
        return None if due == _INF else due

    def _sleep_from(self, lead: Lead, idle: float) -> float:
        """Sleep counts the lead's silence from its last activity, or from its latest
        reopening when that is later: the time it spent closed does not count."""
        stats = lead.behaviour.stats
        for name in self._reopen_types:
            entry = stats.get(name)
            if entry is not None and entry[2] > idle:
                return _reopened_after(lead, idle, entry[2], self._close_types)
        return idle

    @staticmethod
    def _sal_since(lead: Lead, idle: float) -> float:
        """Idle time of an SAL counts from its last activity or its entry into SAL."""
        entered = lead.history[-1].at.timestamp() if lead.history else idle
        return max(idle, entered)

    def is_activity(self, event_type: str) -> bool:
        """Whether events of ``event_type`` are the lead's own activity (``actor =
        "lead"``; undeclared types under a lenient rulebook are)."""
        return event_type not in self._passive_types

    def schedule(self, lead: Lead) -> None:
        """Set ``lead.next_check_ts`` from :meth:`due_ts`."""
        lead.next_check_ts = self.due_ts(lead)

    def catch_up(
        self,
        lead: Lead,
        until_ts: float,
        changes: list[StageChange],
        notices: list[Notice],
        *,
        rescore: Callable[[float], None] | None = None,
    ) -> None:
        """Apply every time rule due up to ``until_ts``, each stamped with its own due time.

        ``rescore(ts)`` brings the lead's scores to ``ts`` (or its newest event, if
        later): called before a Warm or Hot lead cools, as a tick at that moment
        would have scored it. Scores that fall with time (decay, "nothing in the last
        30 days") then put a lead in the same band whenever the tick comes.
        """
        while True:
            due = self.due_ts(lead)
            if due is None or due > until_ts:
                return
            if rescore is not None and (lead.stage is Stage.WARM or lead.stage is Stage.HOT):
                rescore(due)
                # A lower score cools sooner, but what it says is known as of this
                # moment only: an earlier step is applied here, not back then.
                rescored, due = due, self.due_ts(lead)
                if due is None or due > until_ts:
                    return
                due = max(due, rescored)
            before = (lead.stage, lead.asleep_ts)
            at = datetime.fromtimestamp(due, UTC)
            idle: float = lead.idle_ts  # type: ignore[assignment]  # due_ts checked it
            days = (due - idle) / _DAY
            if lead.stage is Stage.SAL and due >= shifted(
                self._sal_since(lead, idle), self._sal_idle_us
            ):
                self._move(
                    lead,
                    Stage.SQL,
                    at,
                    f"no activity from the lead for {self._sal_idle / _DAY:g} days as SAL",
                    "timers.sal_idle_days",
                    None,
                    changes,
                )
                lead.reentry = {**lead.reentry, Stage.SAL: at}
            elif lead.stage is Stage.WARM or lead.stage is Stage.HOT:
                band = self.band_for(lead, due)
                if band.rank < lead.stage.rank:
                    self._move(
                        lead,
                        band,
                        at,
                        f"no activity from the lead for {days:g} days",
                        "timers.cooling_days",
                        None,
                        changes,
                    )
            since = self._sleep_from(lead, idle) if lead.asleep_ts is None else _INF
            if since != _INF and due >= shifted(since, self._sleep_us):
                lead.asleep_ts = due
                # A lead that opted out of marketing is asleep all the same, but no
                # reactivation campaign may reach it.
                if self._opt_out is None or lead.profile.get(self._opt_out) is not True:
                    silent = (due - since) / _DAY  # from a reopening, when that came later
                    notices.append(
                        Notice(
                            "reactivation_due",
                            lead.id,
                            at,
                            f"lead {lead.id} has been silent for {silent:g} "
                            f"day{'' if silent == 1 else 's'}; reactivate it",
                            {
                                "stage": lead.stage.value,
                                "idle_since": datetime.fromtimestamp(since, UTC),
                            },
                        )
                    )
            if (lead.stage, lead.asleep_ts) == before:
                return  # nothing was due after all; never spin


def _reopened_after(
    lead: Lead, idle: float, latest_reopening: float, close_types: tuple[str, ...]
) -> float:
    """The moment ``lead`` was last reopened, if later than ``idle``, else ``idle``.

    Only a real reopening counts, not an event sent to a lead that was open: one the
    history shows, or, in time order, one after a close of the lead (a close that
    arrived after the reopening moves nothing, and leaves no trace in the history).
    Its moment is the reopening event's own (``latest_reopening``) when that is
    earlier than the history's stamp, the lead's newest time for a late reopening.
    """
    for change in reversed(lead.history):
        if change.from_stage not in _OPEN and change.to_stage in _OPEN:
            reopened = min(change.at.timestamp(), latest_reopening)
            return reopened if reopened > idle else idle
    behaviour = lead.behaviour
    for name in close_types:
        first = behaviour.first_ts(name)
        if first is not None and first < latest_reopening:
            return latest_reopening if latest_reopening > idle else idle
    return idle


def _reopen_reason(event: Event) -> str:
    """The reason that reopens a closed lead: required, a non-blank text.

    Asked only when the event does reopen one (the lead is closed): the same type
    may come for open leads too, with nothing to reopen. Raising here, before the
    engine commits, leaves the stored lead as it was.
    """
    reason = event.data.get("reason")
    if type(reason) is not str or not reason.strip():
        raise InvalidEventError(
            "data.reason",
            f"{'missing' if reason is None else repr(reason) + ' is not a reason'}; "
            "reopening a closed lead needs one",
            "add data.reason, a short text saying why the lead reopens",
            event_id=event.id,
        )
    return reason.strip()


def load_rulebook(
    source: Rulebook | Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> Rulebook:
    """A :class:`Rulebook` from a Rulebook, a mapping, or a TOML file path; None → default."""
    if source is None:
        return Rulebook.default()
    if isinstance(source, Rulebook):
        return source
    if isinstance(source, Mapping):
        return Rulebook.from_dict(source)
    if isinstance(source, str | os.PathLike):
        return Rulebook.load(source)
    raise RulebookError(
        "",
        f"cannot load a rulebook from {type(source).__name__}",
        "pass a Rulebook, a dict, or the path of a TOML file",
    )


def _default_dict() -> dict[str, Any]:
    text = resources.files("leadlife.rules").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], override: Mapping[str, Any], parent: str = "") -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        # A stage's entry rule is replaced whole: merging two rules would mix a new
        # condition with the old reason, or two condition tables into one.
        if parent != "qualification" and isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = _merge(current, value, key)
        else:
            merged[key] = value
    return merged
