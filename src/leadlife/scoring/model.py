"""The scoring rulebook's schema: fit, engagement and weighted rules, as data.

Validated with ``extra="forbid"``: a typo fails at load with the rule's index and
field, e.g. ``engagement.2.when.evnt``.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from leadlife.toml_files import Count, EventType, Flag, Number, rule_error

__all__ = [
    "EngagementRule",
    "EventWhen",
    "FieldWhen",
    "FitRule",
    "InactiveWhen",
    "ScoringRulesModel",
    "WeightedRule",
    "count_column",
    "counter_key",
]

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.com",
        "gmx.de",
        "mail.com",
        "yandex.ru",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "sohu.com",
        "foxmail.com",
        "139.com",
        "yeah.net",
        "aliyun.com",
        "21cn.com",
        "188.com",
        "live.cn",
        "outlook.cn",
        "sina.cn",
        "tom.com",
        "yahoo.com.cn",
    }
)
NAMED_PATTERNS = {"free_mail": "an e-mail address at a free mail provider"}


class _Strict(BaseModel):
    # A NaN or infinite number would fail every lead at run time, not at load.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class FieldWhen(_Strict):
    """A test on one profile field; give exactly one operator (min and max may pair)."""

    field: str = Field(min_length=1)
    exists: Flag | None = None
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    min: Number | None = None
    max: Number | None = None
    matches: str | None = Field(
        default=None, description="a named pattern (free_mail) or a regular expression"
    )

    @model_validator(mode="after")
    def _one_operator(self) -> FieldWhen:
        # Keys as the author writes them: the attribute ``in_`` is the key ``in``.
        given = [key for key, name in _OPERATORS if getattr(self, name) is not None]
        if not given:
            raise rule_error(
                "give one operator: exists, equals, in, min, max or matches",
                f"add one to the test on {self.field!r}, e.g. exists = true",
            )
        if len(given) > 1 and set(given) != {"min", "max"}:
            raise rule_error(
                f"give one operator, not {' and '.join(given)}",
                f"keep one of {' / '.join(given)} (only min and max go together)",
            )
        if self.in_ is not None and not self.in_:
            raise rule_error(
                "'in' lists no values; no value could match",
                f'list the values {self.field!r} may take, e.g. in = ["retail", "media"], '
                "or test it another way",
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise rule_error(
                f"min {self.min:g} is above max {self.max:g}; no value could match",
                "swap min and max, or correct the one that is wrong",
            )
        if self.matches is not None and self.matches not in NAMED_PATTERNS:
            import re

            try:
                re.compile(self.matches)
            except re.error as exc:
                raise rule_error(
                    f"'matches' is not a valid regular expression: {exc}",
                    "correct the pattern (in TOML, write it in single quotes, e.g. "
                    "'\\.cn$', so backslashes stay), or use the named pattern free_mail",
                ) from None
        return self


_OPERATORS = (
    ("exists", "exists"),
    ("equals", "equals"),
    ("in", "in_"),
    ("min", "min"),
    ("max", "max"),
    ("matches", "matches"),
)


class EventWhen(_Strict):
    """The lead did ``event`` at least ``min_count`` times (in the last ``within_days``).

    ``data`` narrows it to events whose data has these values, e.g. ``page_view``
    with ``{ page = "pricing" }``; such events are counted under their own key
    (see :func:`counter_key`).
    """

    event: EventType
    data: dict[str, str | int | float | bool] | None = Field(default=None, min_length=1)
    min_count: Count = Field(default=1, ge=1)
    within_days: Count | None = Field(default=None, ge=1)

    @property
    def key(self) -> str:
        """The behaviour counter this condition reads."""
        return counter_key(self.event, self.data)


def count_column(event: str, within_days: int | None) -> str:
    """The snapshot column holding a count."""
    return f"n.{event}" if within_days is None else f"n.{event}.{within_days}d"


def counter_key(event: str, data: dict[str, Any] | None) -> str:
    """The behaviour counter of ``event`` narrowed by ``data``: ``page_view[page=pricing]``."""
    if not data:
        return event
    return event + "[" + ",".join(f"{k}={data[k]}" for k in sorted(data)) + "]"


class InactiveWhen(_Strict):
    """No activity from the lead for at least ``inactive_days`` days."""

    inactive_days: Annotated[Number, Field(gt=0)]


def _when_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {FieldWhen: "field", EventWhen: "event", InactiveWhen: "inactive"}.get(type(value))
    if isinstance(value, dict):
        for key, tag in (("field", "field"), ("event", "event"), ("inactive_days", "inactive")):
            if key in value:
                return tag
    return None


When = Annotated[
    Annotated[FieldWhen, Tag("field")]
    | Annotated[EventWhen, Tag("event")]
    | Annotated[InactiveWhen, Tag("inactive")],
    Discriminator(
        _when_tag,
        custom_error_type="when_kind",
        custom_error_message="'when' is a table with one of the keys field, event or inactive_days",
    ),
]


class _Rule(_Strict):
    id: str | None = Field(default=None, min_length=1, description="name in explanations")
    points: Number
    max_points: Number | None = Field(
        default=None, gt=0, description="cap on what this rule can add (or subtract)"
    )


class FitRule(_Rule):
    """Explicit fit: a profile test worth ``points`` (negative for negative fit)."""

    when: FieldWhen


class EngagementRule(_Rule):
    """Implicit engagement: behaviour worth ``points``.

    ``fires = "every"`` (the default for event conditions) adds the points for each
    counted event; ``"once"`` adds them once when the condition holds (with
    ``within_days``: once per trailing window). Inactivity rules fire once.
    """

    when: When
    fires: Literal["every", "once"] | None = None
    decays: Flag = Field(default=True, description="subject to the rulebook's half-life")

    @model_validator(mode="after")
    def _fires_needs_event(self) -> EngagementRule:
        if isinstance(self.when, FieldWhen):
            raise rule_error("a field condition is a fit rule", "move it under [[fit]]")
        if self.fires == "every" and not isinstance(self.when, EventWhen):
            raise rule_error(
                "fires = 'every' counts events, and an inactivity condition has none",
                'remove fires, or set fires = "once"',
            )
        return self


class WeightedRule(_Strict):
    """The older weighted method: a dimension's value times its weight.

    Either ``field`` with a ``values`` table (category → points; ``default`` for the
    rest) or a numeric ``field``, or ``event`` counts (in the last ``within_days``).
    """

    id: str | None = Field(default=None, min_length=1)
    axis: Literal["fit", "engagement"] = "fit"
    weight: Number
    field: str | None = Field(default=None, min_length=1)
    values: dict[str, Number] | None = None
    default: Number = 0.0
    event: EventType | None = None
    within_days: Count | None = Field(default=None, ge=1)
    max_points: Number | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> WeightedRule:
        if self.field is not None and self.event is not None:
            raise rule_error(
                "give a field or an event, not both",
                "keep one of field / event; weigh the other in a rule of its own",
            )
        if self.field is None and self.event is None:
            raise rule_error(
                "give a field or an event",
                "add field (a profile field to weigh) or event (an event type to count)",
            )
        if self.values is not None and self.field is None:
            raise rule_error(
                "'values' maps a field's categories, and the rule counts an event",
                "remove values, or weigh a field instead of the event",
            )
        if self.within_days is not None and self.event is None:
            raise rule_error(
                "'within_days' counts events, and the rule weighs a field",
                "remove within_days, or weigh an event count instead of the field",
            )
        return self


class ScoringRulesModel(_Strict):
    """A whole scoring rulebook."""

    name: str = Field(default="rules", min_length=1, description="the scorer's name")
    strict: Flag = Field(default=False, description="refuse event types not in event_types")
    event_types: list[EventType] | None = Field(
        default=None, description="the known event vocabulary, for strict checking"
    )
    half_life_days: Annotated[Number, Field(gt=0)] | None = Field(
        default=None, description="engagement points halve for each half-life of staleness"
    )
    decay_floor: Number = Field(
        default=0.0, ge=0.0, le=1.0, description="share of its points a stale rule keeps"
    )
    total_cap: Number | None = Field(default=None, gt=0, description="cap on the total score")
    grades: dict[str, Number] = Field(
        default_factory=lambda: {"A": 60.0, "B": 35.0, "C": 15.0},
        description="fit grade thresholds; a lead gets the first grade it reaches",
    )
    lowest_grade: str = Field(default="D", min_length=1)
    fit: list[FitRule] = Field(default_factory=list)
    engagement: list[EngagementRule] = Field(default_factory=list)
    weighted: list[WeightedRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ScoringRulesModel:
        if self.strict:
            if self.event_types is None:
                raise rule_error(
                    "a strict scoring rulebook lists its event_types",
                    'list them, e.g. event_types = ["download", "page_view"], '
                    "or set strict = false",
                    "event_types",
                )
            # Paths are relative to this table: a lifecycle rulebook's error puts
            # them after its own place (scoring.).
            for index, rule in enumerate(self.engagement):
                if isinstance(rule.when, EventWhen):
                    self._check_known(rule.when.event, f"engagement.{index}.when.event")
            for index, weighted in enumerate(self.weighted):
                if weighted.event is not None:
                    self._check_known(weighted.event, f"weighted.{index}.event")
        places = [
            *((f"fit.{i}", r.id) for i, r in enumerate(self.fit)),
            *((f"engagement.{i}", r.id) for i, r in enumerate(self.engagement)),
            *((f"weighted.{i}", r.id) for i, r in enumerate(self.weighted)),
        ]
        # A rule without an id is named by its place: an id naming another rule's
        # place, or the cap's contribution, would merge two contributions into one.
        seen = {
            place: f"the rule at {place}, which has none (a rule without an id is named by "
            "its place)"
            for place, rule_id in places
            if not rule_id
        }
        seen["total_cap"] = "the cap's own contribution (total_cap)"
        for place, rule_id in places:
            if rule_id and rule_id in seen:
                raise rule_error(
                    f"rule ids must be unique: {rule_id!r} is also the id of {seen[rule_id]}",
                    "give each rule its own id",
                    f"{place}.id",
                )
            if rule_id:
                seen[rule_id] = place
        self._check_fields()
        self._check_counters()
        self._check_count_columns()
        return self

    def counts(self) -> list[tuple[str, str, int | None]]:
        """Every count the rules read, as ``(place, counter, within_days)``; ``place``
        is the rule's path, ``within_days`` None for the all-time count."""
        found: list[tuple[str, str, int | None]] = [
            (f"engagement.{index}.when.event", rule.when.key, rule.when.within_days)
            for index, rule in enumerate(self.engagement)
            if isinstance(rule.when, EventWhen)
        ]
        found += [
            (f"weighted.{index}.event", rule.event, rule.within_days)
            for index, rule in enumerate(self.weighted)
            if rule.event is not None
        ]
        return found

    def _check_count_columns(self) -> None:
        # A frame holds one column per name: an event type ending like a window
        # ("video.30d") would name another rule's windowed count ("video" in 30 days).
        columns: dict[str, tuple[str, str, int | None]] = {}
        for place, counter, window in self.counts():
            column = count_column(counter, window)
            other = columns.setdefault(column, (place, counter, window))
            if other[1:] != (counter, window):
                raise rule_error(
                    f"its count is the snapshot column {column!r}, which is also the count "
                    f"of {other[0]}, so a frame of snapshots could not tell the two apart",
                    "rename the event type so it does not end in '.<days>d' (e.g. "
                    "'video_30d'), or count the same events in both rules",
                    place,
                )

    def _check_fields(self) -> None:
        # A snapshot frame holds profile fields beside the counts and times, by name: a
        # field named like one of those would be read as the lead's count or time there.
        fields = [(f"fit.{i}.when.field", rule.when.field) for i, rule in enumerate(self.fit)]
        fields += [
            (f"weighted.{i}.field", rule.field)
            for i, rule in enumerate(self.weighted)
            if rule.field is not None
        ]
        for place, name in fields:
            if name == "last_activity" or name.startswith(("n.", "last.")):
                raise rule_error(
                    f"the field {name!r} is named like a snapshot column (last_activity, "
                    "n.<event>, last.<event>), so a frame of snapshots would read the "
                    "lead's counts or times there instead of the profile field",
                    "give the profile field another name, in the events that fill it and "
                    f"in this rule, e.g. {'crm_' + name.replace('.', '_')!r}",
                    place,
                )

    def _check_counters(self) -> None:
        # A counter is known by its key alone: two conditions whose data spell one key
        # (a value holding "," or "=", or 1 beside "1") would count the same events.
        narrowed: dict[str, tuple[str, dict[str, Any]]] = {}
        for index, rule in enumerate(self.engagement):
            when = rule.when
            if not isinstance(when, EventWhen) or not when.data:
                continue
            key, place = when.key, f"engagement.{index}"
            other = narrowed.setdefault(key, (place, when.data))
            if other[1] != when.data:
                raise rule_error(
                    f"its data {when.data!r} is counted under {key!r}, the counter of "
                    f"{other[0]}'s other data {other[1]!r}, so both would count the same "
                    "events",
                    "tell the two apart: keep ',', '=' and brackets out of data values, "
                    'and give a value one type in both (1 or "1")',
                    f"{place}.when.data",
                )

    def _check_known(self, event: str, path: str) -> None:
        known = self.event_types or []
        if event in known:
            return
        close = difflib.get_close_matches(event, known, n=1)
        fix = f"correct it to {close[0]!r}, or add" if close else "add"
        raise rule_error(
            f"unknown event type {event!r} (strict)",
            f"{fix} {event!r} to event_types, or set strict = false",
            path,
        )

    def counters(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Narrowed counters the rules read: ``{event type: {key: data to match}}``."""
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for rule in self.engagement:
            when = rule.when
            if isinstance(when, EventWhen) and when.data:
                found.setdefault(when.event, {})[when.key] = dict(when.data)
        return found

    def window_days(self) -> int:
        """The longest ``within_days`` the rules count over (0 when none): day buckets
        must be kept that long."""
        windows = [0]
        for rule in self.engagement:
            if isinstance(rule.when, EventWhen) and rule.when.within_days:
                windows.append(rule.when.within_days)
        windows.extend(w.within_days or 0 for w in self.weighted)
        return max(windows)
