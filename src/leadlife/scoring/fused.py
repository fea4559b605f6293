"""A scoring rulebook's total as one generated Python function, for the per-event path.

:meth:`RuleScorer.score <leadlife.scoring.RuleScorer.score>` runs on every event.
Walking the compiled rules one closure at a time costs a call, a tuple and a counter
lookup per rule; here the rules are written out as the body of a single function
instead (as :mod:`dataclasses` and attrs write ``__init__``): each event type's
counters are looked up once, its decay factor computed once, and every constant is
bound once as a name of the function. The arithmetic is the scalar path's, step for
step, so the function returns exactly the total :meth:`RuleScorer.explain` adds up
(a property test holds both to equality). Rules without a written-out form call
their scalar closure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from leadlife.behaviour import DAY_SECONDS, window_count
from leadlife.lead import Lead
from leadlife.scoring.model import (
    EngagementRule,
    EventWhen,
    FitRule,
    InactiveWhen,
    WeightedRule,
)
from leadlife.scoring.rules import (
    MISSING,
    CompiledRule,
    ScoringRules,
    clamp,
    field_test,
)

__all__ = ["fuse"]

ScoreFunction = Callable[[Lead, float], float]


class _Writer:
    """Source lines and the names they read, bound as the function's globals."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "MISSING": MISSING,
            "fsum": math.fsum,
            "window_count": window_count,
            "clamp": clamp,
        }

    def bind(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


def fuse(rules: ScoringRules) -> ScoreFunction:
    """``score(lead, now_ts) -> float``: the total of ``rules`` for ``lead`` at ``now_ts``."""
    model = rules.model
    compiled = iter(rules.rules)
    out = _Writer()
    out.line(0, "def score(lead, now):")
    out.line(1, "profile = lead.profile")
    out.line(1, "stats = lead.behaviour._stats")  # the stats property, without its call
    out.line(1, "pts = []")
    out.line(1, "add = pts.append")
    for fit in model.fit:
        _fit(out, fit)
        next(compiled)
    groups: dict[str, list[EngagementRule]] = {}
    for engagement in model.engagement:
        next(compiled)
        if isinstance(engagement.when, InactiveWhen):
            _inactive(out, engagement, engagement.when)
        else:
            assert isinstance(engagement.when, EventWhen)
            groups.setdefault(engagement.when.key, []).append(engagement)
    for key, group in groups.items():
        _event_group(out, key, group, model.half_life_days, model.decay_floor)
    for weighted in model.weighted:
        rule = next(compiled)
        if weighted.values is not None and weighted.field is not None:
            _category(out, weighted, rule)
        else:  # their scalar closures, behind their trigger
            _call(out, rule)
    out.line(1, "total = fsum(pts)")
    if rules.total_cap is not None:
        cap = out.bind("cap", rules.total_cap)
        out.line(1, f"if total > {cap}:")
        out.line(2, f"add({cap} - total)")
        out.line(2, "return fsum(pts)")
    out.line(1, "return total")
    namespace = dict(out.names)
    exec(compile("\n".join(out.lines), f"<fused scoring rules {rules.name!r}>", "exec"), namespace)
    function: ScoreFunction = namespace["score"]
    function.__doc__ = f"The total score of the {rules.name!r} rules (generated)."
    return function


def _fit(out: _Writer, rule: FitRule) -> None:
    when = rule.when
    test, _ = field_test(when)
    name = out.bind("field", when.field)
    points = out.bind("points", clamp(rule.points, rule.max_points))
    out.line(1, f"value = profile.get({name}, MISSING)")
    if all(
        operator is None for operator in (when.exists, when.in_, when.min, when.max, when.matches)
    ):
        # An equality test, written out: its closure is the same comparison behind a call.
        guard = f"value is not MISSING and value == {out.bind('target', when.equals)}"
    else:
        check = out.bind("test", test)
        guard = f"{check}(value)" if test(MISSING) else f"value is not MISSING and {check}(value)"
    out.line(1, f"if {guard}:")
    out.line(2, f"add({points})")


def _inactive(out: _Writer, rule: EngagementRule, when: InactiveWhen) -> None:
    limit = out.bind("limit", when.inactive_days * DAY_SECONDS)
    points = out.bind("points", clamp(rule.points, rule.max_points))
    out.line(1, "idle = lead.last_activity_ts")
    out.line(1, "if idle is None:")
    out.line(2, "idle = lead.first_seen_ts")
    out.line(1, f"if idle is not None and now - idle >= {limit}:")
    out.line(2, f"add({points})")


def _event_group(
    out: _Writer,
    key: str,
    group: list[EngagementRule],
    half_life_days: float | None,
    decay_floor: float,
) -> None:
    """The rules counting one event key, sharing its counters and its decay factor."""
    out.line(1, f"entry = stats.get({out.bind('key', key)})")
    out.line(1, "if entry is not None:")
    decays = half_life_days is not None and any(rule.decays for rule in group)
    if decays:
        assert half_life_days is not None
        half = out.bind("half", half_life_days * DAY_SECONDS)
        out.line(2, "last = entry[2]")
        out.line(2, "age = 0.0 if last > now else now - last")
        if decay_floor:
            floor = out.bind("floor", decay_floor)
            rest = out.bind("rest", 1.0 - decay_floor)  # the same float the rules compute
            out.line(2, f"decay = {floor} + {rest} * 2.0 ** (-age / {half})")
        else:  # 0.0 + 1.0 * x is x, exactly
            out.line(2, f"decay = 2.0 ** (-age / {half})")
    windows: dict[int | None, str] = {None: "entry[0]"}
    for rule in group:
        assert isinstance(rule.when, EventWhen)
        window, least = rule.when.within_days, rule.when.min_count
        if window not in windows:
            windows[window] = f"n{window}"
            out.line(2, f"n{window} = window_count(entry[3], {window}, now)")
        count = windows[window]
        depth = 2
        if window is not None or least > 1:  # an entry has counted at least one event
            out.line(2, f"if {count} >= {least}:")
            depth = 3
        scale = " * decay" if decays and rule.decays else ""
        if rule.fires == "once":
            # a constant: its cap applies now, as the scalar path clamps it per call
            points = out.bind("points", clamp(rule.points, rule.max_points))
            out.line(depth, f"add({points}{scale})")
            continue
        base = out.bind("base", rule.points)
        out.line(depth, f"p = {base} * {count}")
        if rule.max_points is not None:
            # counts are never negative, so only the cap on the side of the sign binds
            high = out.bind("high", rule.max_points)
            if rule.points >= 0:
                out.line(depth, f"if p > {high}:")
                out.line(depth + 1, f"p = {high}")
            else:
                out.line(depth, f"if p < -{high}:")
                out.line(depth + 1, f"p = -{high}")
        out.line(depth, f"add(p{scale})")


def _category(out: _Writer, weighted: WeightedRule, rule: CompiledRule) -> None:
    """A category table: text values read inline, anything else by the scalar closure."""
    assert weighted.values is not None
    name = out.bind("field", weighted.field)
    table = out.bind("table", dict(weighted.values))
    default = out.bind("default", weighted.default)
    weight = out.bind("weight", weighted.weight)
    depth = 1
    if rule.trigger[0] == "field":
        out.line(1, f"if {name} in profile:")
        depth = 2
    out.line(depth, f"value = profile.get({name})")
    out.line(depth, "if value.__class__ is str:")
    if weighted.max_points is None:
        out.line(depth + 1, f"add({weight} * {table}.get(value, {default}))")
    else:
        cap = out.bind("cap", weighted.max_points)
        out.line(depth + 1, f"add(clamp({weight} * {table}.get(value, {default}), {cap}))")
    out.line(depth, "else:")
    out.line(depth + 1, f"add({out.bind('rule', rule.scalar)}(lead, now)[0])")


def _call(out: _Writer, rule: CompiledRule) -> None:
    scalar = out.bind("rule", rule.scalar)
    kind, *key = rule.trigger
    depth = 1
    if kind == "field":
        out.line(1, f"if {out.bind('field', key[0])} in profile:")
        depth = 2
    elif kind == "event":
        out.line(1, f"if {out.bind('key', key[0])} in stats:")
        depth = 2
    out.line(depth, f"add({scalar}(lead, now)[0])")
