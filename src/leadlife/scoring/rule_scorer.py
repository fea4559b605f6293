"""The rule scorer: a declarative scoring rulebook, scored per lead as events arrive."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadlife.clock import LATEST_DUE_TS, aware_ts, epoch_seconds
from leadlife.lead import Lead
from leadlife.scoring.fused import fuse
from leadlife.scoring.protocol import Contribution, ScoreResult
from leadlife.scoring.rules import CompiledRule, ScoringRules, load_scoring_rules

__all__ = ["RuleScorer"]


class RuleScorer:
    """Fit + engagement scoring from a :class:`~leadlife.scoring.rules.ScoringRules`.

    Answers the scoring protocol; :func:`leadlife.scoring.batch.score_frame` gives the
    same scores for a frame of many leads at once.
    """

    def __init__(self, rules: ScoringRules | Mapping[str, Any] | str | os.PathLike[str]):
        self.rules = load_scoring_rules(rules)
        self.name = self.rules.name
        # Index the rules by what can make them fire, so a lead only runs the rules
        # its own profile fields and event types can trigger.
        self._by_field: dict[str, list[CompiledRule]] = {}
        self._by_event: dict[str, list[CompiledRule]] = {}
        self._always: list[CompiledRule] = []
        for rule in self.rules.rules:
            kind, *key = rule.trigger
            if kind == "field":
                self._by_field.setdefault(key[0], []).append(rule)
            elif kind == "event":
                self._by_event.setdefault(key[0], []).append(rule)
            else:
                self._always.append(rule)
        self._total = fuse(self.rules)
        # Ties in explain() are listed in rule order, the cap last, as score_frame's
        # reasons list them.
        self._order = {rule.id: index for index, rule in enumerate(self.rules.rules)}

    def __reduce__(self) -> tuple[Any, ...]:
        # The written-out score function does not pickle; the rules do (see ScoringRules).
        return RuleScorer, (self.rules,)

    def counters(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Narrowed counters the engine should keep for these rules (pricing page views…)."""
        return self.rules.counters()

    @property
    def window_days(self) -> int:
        """The longest window the rules count over, so the engine keeps day buckets
        that long (a rulebook's own buckets may be shorter)."""
        return self.rules.model.window_days()

    def score(self, lead: Lead, now: datetime) -> float:
        """The lead's total score at ``now`` (the same number :meth:`explain` gives)."""
        if type(now) is datetime and now.tzinfo is not None:
            return self._total(lead, epoch_seconds(now))
        # explain's check: a naive moment would be read in the host's local zone, and
        # text or None would fail on its first attribute with Python's own error.
        return self._total(lead, aware_ts(now, "now", latest=LATEST_DUE_TS))

    def score_ts(self, lead: Lead, now_ts: float) -> float:
        """:meth:`score` with ``now`` given in epoch seconds."""
        return self._total(lead, now_ts)

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        """The score with fit, engagement, grade and its contributions, largest first."""
        # As late as a tick may run: a time rule due after 2999 rescored the lead then.
        moment = aware_ts(now, "now", latest=LATEST_DUE_TS)
        total, fit, engagement, parts = self._tally(lead, moment)
        order, last = self._order, len(self._order)
        parts.sort(key=lambda c: (-abs(c.points), order.get(c.rule, last)))
        return ScoreResult(self.name, total, tuple(parts), fit, engagement, self.rules.grade(fit))

    def _candidates(self, lead: Lead) -> list[CompiledRule]:
        found = list(self._always)
        profile = lead.profile
        for name, rules in self._by_field.items():
            if name in profile:
                found.extend(rules)
        by_event = self._by_event
        for kind in lead.behaviour.types():
            triggered = by_event.get(kind)
            if triggered is not None:
                found.extend(triggered)
        return found

    def _tally(self, lead: Lead, now: float) -> tuple[float, float, float, list[Contribution]]:
        parts: list[Contribution] = []
        fit = engagement = 0.0
        for rule in self._candidates(lead):
            points, value = rule.scalar(lead, now)
            if points:
                parts.append(Contribution(rule.id, points, value))
                if rule.axis == "fit":
                    fit += points
                else:
                    engagement += points
        total = math.fsum(c.points for c in parts)
        cap = self.rules.total_cap
        if cap is not None and total > cap:
            parts.append(Contribution("total_cap", cap - total, cap))
        # The total is the sum of the contributions by construction; fsum makes it exact
        # whatever order the contributions are listed in.
        return math.fsum(c.points for c in parts), fit, engagement, parts

    def __repr__(self) -> str:
        return f"RuleScorer(name={self.name!r}, rules={len(self.rules.rules)})"
