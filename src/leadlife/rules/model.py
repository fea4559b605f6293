"""The rulebook's schema: pydantic models with ``extra="forbid"`` so a typo fails loudly.

These models are the edge. :class:`leadlife.rules.Rulebook` compiles a validated
model into plain callables the engine runs per event.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from leadlife.clock import MAX_TIMER_DAYS
from leadlife.profile import phone_region_code
from leadlife.scoring.model import FieldWhen, ScoringRulesModel
from leadlife.toml_files import Count, EventType, Flag, Number, rule_error
from leadlife.values import UnsupportedValue, plain_values

__all__ = [
    "BUILTIN_SCORERS",
    "AllOf",
    "AnyOf",
    "Bands",
    "Condition",
    "EventCondition",
    "EventTypeSpec",
    "FieldCondition",
    "NotCondition",
    "QualificationSpec",
    "RulebookModel",
    "Timers",
]


class _Strict(BaseModel):
    # NaN or infinite points and bands would fail every score at run time, not at load.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class FieldCondition(FieldWhen):
    """A test on one profile field; give exactly one operator.

    The same test as a scoring rule's ``when = { field = ... }``: one definition of
    ``exists``, ``equals``, ``in``, ``min``/``max`` and ``matches`` across the
    rulebook, so a condition means the same in a stage's entry rule and in scoring.
    """


class EventCondition(_Strict):
    """True when the lead did ``event`` often enough, recently enough."""

    event: EventType
    min_count: Count = Field(default=1, ge=1)
    within_days: Count | None = Field(default=None, ge=1)
    since: EventType | None = Field(
        default=None,
        description="count only occurrences after the latest event of this type",
    )

    @model_validator(mode="after")
    def _since_alone(self) -> EventCondition:
        if self.since is not None and (self.min_count != 1 or self.within_days is not None):
            given = []
            if self.min_count != 1:
                given.append("min_count")
            if self.within_days is not None:
                given.append("within_days")
            raise rule_error(
                "'since' cannot be combined with min_count or within_days",
                f"remove {' and '.join(given)}, or remove since",
            )
        if self.since == self.event:
            # Compared with itself, the latest event says nothing: for a stage the rule
            # would never hold, under "not" always once the event happened.
            raise rule_error(
                f"'since' names {self.event!r}, the event itself; its latest occurrence "
                "is never after itself",
                f'name another event type in since (e.g. since = "quote_sent"), or '
                f"remove since to count {self.event!r} at any time",
            )
        return self


class AllOf(_Strict):
    """True when every condition is true."""

    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    """True when at least one condition is true."""

    any: list[Condition] = Field(min_length=1)


class NotCondition(_Strict):
    """True when the condition is false."""

    not_: Condition = Field(alias="not")


_CONDITION_KEYS = {"field": "field", "event": "event", "all": "all", "any": "any", "not": "not"}


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {
            FieldCondition: "field",
            EventCondition: "event",
            AllOf: "all",
            AnyOf: "any",
            NotCondition: "not",
        }.get(type(value))
    if isinstance(value, dict):
        for key, tag in _CONDITION_KEYS.items():
            if key in value:
                return tag
    return None


Condition = Annotated[
    Annotated[FieldCondition, Tag("field")]
    | Annotated[EventCondition, Tag("event")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotCondition, Tag("not")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition_kind",
        custom_error_message="a condition is a table with one of the keys field, event, all, "
        "any or not",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotCondition.model_rebuild()


Name = Annotated[str, Field(min_length=1)]

# Scorers the built-in plugin registers in every engine besides the rule scorer
# (leadlife.plugins.default_scorer), by name; a rulebook's [scoring] cannot take them.
BUILTIN_SCORERS = {"points": "the built-in points scorer (event_types.*.points)"}


# A period shorter than a second is a typo (days, not seconds), and one near zero
# overflows the engine's arithmetic; a score beyond a billion is one too.
def _days(days: float) -> float:
    if not 1 / 86_400 <= days <= MAX_TIMER_DAYS:  # clock.LATEST_DUE_TS counts on it
        raise rule_error(
            f"{days:g} days is not a period the engine can time",
            "give days, from one second (1/86400) to 1,000 years (365000; a long period "
            "turns a timer off)",
        )
    return days


Days = Annotated[Number, AfterValidator(_days)]
Points = Annotated[Number, Field(ge=-1e9, le=1e9)]


class EventTypeSpec(_Strict):
    """What one event type means to the engine."""

    actor: Literal["lead", "sales", "system"] = Field(
        default="lead", description="who acts; only the lead's own events count as activity"
    )
    points: Points = Field(default=0.0, description="points for the provisional points scorer")
    milestone: Name | None = Field(
        default=None, description="follow-up milestone whose first time this event sets"
    )
    profile: list[Name] = Field(
        default_factory=list, description="data fields copied into the lead's profile"
    )
    sets: dict[str, Any] = Field(
        default_factory=dict, description="profile fields set to fixed values"
    )
    owner_from: Name | None = Field(default=None, description="data field naming the new owner")
    requires: list[Name] = Field(
        default_factory=list, description="data fields the event must carry"
    )
    closes: Literal["won", "disqualified"] | None = None
    reopens: Flag = False

    @field_validator("sets")
    @classmethod
    def _plain_sets(cls, sets: dict[str, Any]) -> dict[str, Any]:
        # Every lead the event type sets a field on holds the value itself: a list or
        # table must be read-only, else one lead's holder changing its copy's list
        # would change it in every lead, and in the rulebook.
        try:
            return plain_values(sets)
        except UnsupportedValue as exc:
            raise rule_error(
                f"{exc.problem}, which a profile cannot hold",
                "set text, a number, a boolean, a date or time, or a list or table of them",
                exc.path,
            ) from None

    @model_validator(mode="after")
    def _close_or_reopen(self) -> EventTypeSpec:
        if self.closes and self.reopens:
            raise rule_error(
                "an event type either closes or reopens a lead, not both",
                "keep one of closes / reopens; a reopening takes an event type of its own",
            )
        return self


class Bands(_Strict):
    """Score thresholds for the early stages: below ``warm`` is Cold."""

    scorer: str = Field(default="points", min_length=1, description="scorer that drives bands")
    warm: Points = 10.0
    hot: Points = 40.0

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.warm < self.hot:
            warm, hot = _written(self.warm), _written(self.hot)
            raise rule_error(
                f"warm ({warm}) must be below hot ({hot})",
                f"raise hot above {warm} or lower warm below {hot}",
            )
        return self


def _written(number: float) -> str:
    # As an author writes it: 50, not 50.0, and every digit (not :g's six).
    return str(int(number)) if number.is_integer() else repr(number)


class Timers(_Strict):
    """Time-based rules, in days."""

    sal_idle_days: Days = Field(
        default=2.0, description="an SAL with no activity from the lead this long drops to SQL"
    )
    cooling_days: Days = Field(
        default=30.0, description="each such silent stretch drops a Hot or Warm lead one band"
    )
    sleep_days: Days = Field(
        default=90.0, description="a lead silent this long is flagged for reactivation"
    )
    opt_out_field: str | None = Field(
        default="unsubscribed",
        min_length=1,
        description="profile field that, when true, withholds the reactivation notice "
        "(the lead opted out of marketing); the lead is still flagged asleep",
    )


class QualificationSpec(_Strict):
    """The entry rule of one qualified stage (cumulative with the stages below it)."""

    when: Condition
    reason: str = ""


class RulebookModel(_Strict):
    """A whole rulebook, as loaded from TOML or a dict."""

    extends: Literal["default"] | None = Field(
        default=None, description="start from the default rulebook and override it"
    )
    strict: Flag = Field(default=False, description="reject event types not declared here")
    phone_region: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="region (ISO 3166 alpha-2) for phone numbers written without +country",
    )
    bands: Bands = Field(default_factory=Bands)
    timers: Timers = Field(default_factory=Timers)
    event_types: dict[EventType, EventTypeSpec] = Field(default_factory=dict)
    qualification: dict[Literal["MQL", "SQL", "SAL"], QualificationSpec] = Field(
        default_factory=dict
    )
    scoring: ScoringRulesModel | None = Field(
        default=None, description="rule-scorer rules; registered as a scorer by that name"
    )

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        if region is None:
            return None
        try:
            return phone_region_code(region)
        except ValueError:
            raise rule_error(
                f"unknown region {region!r}",
                "use an ISO 3166 alpha-2 code such as 'CN' or 'US'",
            ) from None

    @field_validator("scoring")
    @classmethod
    def _own_scorer_name(cls, scoring: ScoringRulesModel | None) -> ScoringRulesModel | None:
        # Every engine registers the built-in scorers; a rule scorer by one of their
        # names would only fail when an engine is built, blaming leadlife's plugin.
        if scoring is not None and scoring.name in BUILTIN_SCORERS:
            raise rule_error(
                f"{scoring.name!r} is the name of {BUILTIN_SCORERS[scoring.name]}, which "
                "every engine registers",
                'give the rule scorer another name (the default is "rules"); to have it '
                "drive the bands, set bands.scorer to that name",
                "name",
            )
        return scoring
