"""Compile rulebook conditions into plain predicates, once, at load time.

A predicate takes ``(lead, now_ts, epoch_ts)``: the lead, the evaluation time in
epoch seconds, and the moment after which event evidence must be fresh (None when
any occurrence counts; set after a demotion so a lead needs new evidence to re-enter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from leadlife.lead import Lead
from leadlife.rules.model import (
    AllOf,
    AnyOf,
    Condition,
    EventCondition,
    FieldCondition,
    NotCondition,
)
from leadlife.scoring.rules import MISSING, field_test

__all__ = [
    "Predicate",
    "compile_condition",
    "dependencies",
    "event_types_in",
    "longest_window",
]

Predicate = Callable[[Lead, float, "float | None"], bool]


def compile_condition(condition: Condition, *, positive: bool = True) -> Predicate:
    """Turn a validated condition into a predicate.

    ``positive`` is False under an odd number of ``not``: there an event counts as
    evidence *against* the stage, and old evidence against it still counts after a
    demotion, so the freshness epoch applies only to positive evidence.
    """
    if isinstance(condition, FieldCondition):
        return _compile_field(condition)
    if isinstance(condition, EventCondition):
        return _compile_event(condition, fresh_only=positive)
    if isinstance(condition, AllOf):
        parts = tuple(compile_condition(c, positive=positive) for c in condition.all)

        def all_of(lead: Lead, now: float, epoch: float | None) -> bool:
            for part in parts:  # noqa: SIM110 - a loop is cheaper per call than all(genexpr)
                if not part(lead, now, epoch):
                    return False
            return True

        return all_of
    if isinstance(condition, AnyOf):
        parts = tuple(compile_condition(c, positive=positive) for c in condition.any)

        def any_of(lead: Lead, now: float, epoch: float | None) -> bool:
            for part in parts:  # noqa: SIM110 - as above
                if part(lead, now, epoch):
                    return True
            return False

        return any_of
    if isinstance(condition, NotCondition):
        inner = compile_condition(condition.not_, positive=not positive)
        return lambda lead, now, epoch: not inner(lead, now, epoch)
    raise TypeError(f"not a condition: {condition!r}")  # pragma: no cover - the model forbids it


def _compile_field(cond: FieldCondition) -> Predicate:
    name = cond.field
    test = field_test(cond)[0]
    return lambda lead, now, epoch: test(lead.profile.get(name, MISSING))


def _compile_event(cond: EventCondition, *, fresh_only: bool) -> Predicate:
    event, min_count, window, since = cond.event, cond.min_count, cond.within_days, cond.since

    def fresh(lead: Lead, epoch: float | None) -> bool:
        if epoch is None or not fresh_only:
            return True
        last = lead.behaviour.last_ts(event)
        # At the demotion's own moment too: it fell due after the lead's last
        # activity, so an event then is new, whether the tick or it came first.
        return last is not None and last >= epoch

    if since is not None and not fresh_only:
        # Evidence against the stage (under ``not``): an event at the anchor's own
        # moment counts, as an objection stamped the second of the quote objects to
        # it. Whichever way, a tie never helps a lead into a stage, and the reading
        # does not depend on which of the two events arrived first.

        def at_or_after_latest(lead: Lead, now: float, epoch: float | None) -> bool:
            last = lead.behaviour.last_ts(event)
            anchor = lead.behaviour.last_ts(since)
            return last is not None and anchor is not None and last >= anchor

        return at_or_after_latest
    if since is not None:
        # Evidence for the stage: only an event strictly after the anchor, so a reply
        # logged at the quote's own moment is not a reply to it.

        def after_latest(lead: Lead, now: float, epoch: float | None) -> bool:
            last = lead.behaviour.last_ts(event)
            anchor = lead.behaviour.last_ts(since)
            return last is not None and anchor is not None and last > anchor and fresh(lead, epoch)

        return after_latest
    if window is not None:

        def in_window(lead: Lead, now: float, epoch: float | None) -> bool:
            count = lead.behaviour.count_ts(event, window, now)
            return count >= min_count and fresh(lead, epoch)

        return in_window

    def ever(lead: Lead, now: float, epoch: float | None) -> bool:
        return lead.behaviour.total(event) >= min_count and fresh(lead, epoch)

    return ever


def event_types_in(condition: Condition) -> Iterator[str]:
    """Every event type a condition mentions (for strict-rulebook checks)."""
    if isinstance(condition, EventCondition):
        yield condition.event
        if condition.since is not None:
            yield condition.since
    elif isinstance(condition, AllOf | AnyOf):
        for part in condition.all if isinstance(condition, AllOf) else condition.any:
            yield from event_types_in(part)
    elif isinstance(condition, NotCondition):
        yield from event_types_in(condition.not_)


def dependencies(condition: Condition) -> tuple[set[str], set[str]]:
    """``(profile_fields, event_types)`` whose change can change the condition's value."""
    fields: set[str] = set()
    events: set[str] = set()

    def walk(node: Condition) -> None:
        if isinstance(node, FieldCondition):
            fields.add(node.field)
        elif isinstance(node, EventCondition):
            events.add(node.event)
            if node.since is not None:
                events.add(node.since)
        elif isinstance(node, AllOf | AnyOf):
            for part in node.all if isinstance(node, AllOf) else node.any:
                walk(part)
        elif isinstance(node, NotCondition):
            walk(node.not_)

    walk(condition)
    return fields, events


def longest_window(condition: Condition) -> int:
    """The longest ``within_days`` a condition uses (0 when none)."""
    if isinstance(condition, EventCondition):
        return condition.within_days or 0
    if isinstance(condition, AllOf):
        return max(longest_window(c) for c in condition.all)
    if isinstance(condition, AnyOf):
        return max(longest_window(c) for c in condition.any)
    if isinstance(condition, NotCondition):
        return longest_window(condition.not_)
    return 0
