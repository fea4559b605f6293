"""The routing configuration's schema: teams, routers, SLA timers and priorities.

Pydantic models with ``extra="forbid"``, so a misspelt key fails at load with its
path. Checks that span several sections (a router naming a team that does not
exist, overlapping networks) run when :class:`~leadlife.routing.Routing` is built
and raise :class:`~leadlife.errors.RoutingConfigError` with the path too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from leadlife.toml_files import Count, Flag, Number

__all__ = [
    "Absence",
    "AccountSpec",
    "BusinessLineSpec",
    "ExistingAccountSpec",
    "FallbackSpec",
    "MemberSpec",
    "PrioritySpec",
    "RegionEntry",
    "RegionSpec",
    "RouterName",
    "RoutersSpec",
    "RoutingModel",
    "SlaSpec",
    "TeamSpec",
]


class _Strict(BaseModel):
    # A NaN or infinite number would fail every lead at run time, not at load.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


Id = Field(min_length=1, pattern=r"\S")
# The rulebook's scalars, so capacity = true, "30" and sticky = "no" are refused with
# their path as they are there (containers stay lax: a tuple is a list).
PositiveWhole = Annotated[Count, Field(gt=0)]
NonNegativeWhole = Annotated[Count, Field(ge=0)]
PositiveNumber = Annotated[Number, Field(gt=0)]

# -- teams ---------------------------------------------------------------------------


class Absence(_Strict):
    """A stretch a member takes no new leads: whole days (inclusive) or exact moments.

    Days are read in the team's ``timezone``.
    """

    # A moment first: pydantic reads '2026-11-01T00:00:00-05:00' as a date too,
    # dropping its offset, if the date is tried first.
    from_: AwareDatetime | date = Field(alias="from", union_mode="left_to_right")
    until: AwareDatetime | date = Field(union_mode="left_to_right")

    @field_validator("from_", "until", mode="before")
    @classmethod
    def _no_local_time(cls, value: object) -> object:
        # pydantic's date takes a datetime without an offset when its time is midnight,
        # so a TOML local datetime at 00:00 became a whole day (until inclusive: one
        # more day away) while one at 09:00 was refused. Refuse both alike.
        moment = value
        if isinstance(value, str) and len(value.strip()) > 10:  # more than a date
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                return value  # pydantic names what is wrong with it
        if isinstance(moment, datetime) and moment.utcoffset() is None:
            raise ValueError(
                f"{value} has a time but no UTC offset; give its offset "
                "(2026-11-09T00:00:00+08:00) for an exact moment, or a date "
                "(2026-11-09) for the whole day in the team's timezone"
            )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Absence:
        if _kind(self.from_) != _kind(self.until):
            raise ValueError(
                "give both 'from' and 'until' as dates, or both as datetimes with an offset"
            )
        if not isinstance(self.until, datetime) and self.until >= date(9999, 12, 31):
            raise ValueError(f"'until' ({self.until}) is past the last day a calendar can end")
        if self.until < self.from_:
            raise ValueError(f"'until' ({self.until}) is before 'from' ({self.from_})")
        return self


def _kind(value: date | datetime) -> str:
    return "datetime" if isinstance(value, datetime) else "date"


def _bare(value: str, what: str) -> str:
    """``value``, refused with surrounding spaces: events, profiles and pool operations
    are read without them, so such a value would never match one."""
    if value != value.strip():
        raise ValueError(f"{what} {value!r} has surrounding spaces; write {value.strip()!r}")
    return value


def _person(person: str) -> str:
    # " ian " would receive leads that nobody could ever name to claim, return or transfer.
    return _bare(person, "person id")


def _people(people: list[str]) -> list[str]:
    return [_person(person) for person in people]


class MemberSpec(_Strict):
    """One salesperson of a team."""

    id: str = Id
    capacity: PositiveWhole | None = Field(
        default=None,
        description="new leads a month; the daily quota is capacity / 30 "
        "(needed by the capacity strategy)",
    )
    absences: list[Absence] = Field(default_factory=list)

    _id = field_validator("id")(_person)


class TeamSpec(_Strict):
    """A team: its members, how leads are shared among them, and who manages it."""

    id: str = Id
    members: list[MemberSpec] = Field(min_length=1)
    strategy: Literal["round_robin", "capacity"] = Field(
        default="round_robin",
        description="round_robin: take turns; capacity: shares by monthly capacity, "
        "within daily quotas",
    )
    managers: list[str] = Field(
        default_factory=list, description="people who may assign, transfer and return leads"
    )
    _managers = field_validator("managers")(_people)
    timezone: str = Field(default="UTC", description="IANA zone absences' days are read in")
    sticky: Flag = Field(
        default=True,
        description="a lead routed with an owner from outside the teams stays with them "
        "(an owner who is a member holds the lead in their own team, unrouted)",
    )


# -- routers -------------------------------------------------------------------------

RouterName = Literal["existing_account", "business_line", "region", "fallback"]
DEFAULT_ORDER: tuple[RouterName, ...] = ("existing_account", "business_line", "region", "fallback")


class AccountSpec(_Strict):
    """A customer account: how to recognise its people, and who owns it.

    ``parent`` links a sub-department to its customer: with no ``owner`` of its own,
    the account's leads go to the parent's owner.
    """

    id: str = Id
    owner: str | None = Field(default=None, min_length=1)
    parent: str | None = Field(default=None, min_length=1)
    names: list[str] = Field(
        default_factory=list,
        description="company names; compared after normalization (case, punctuation, "
        "legal suffixes such as Ltd or 有限公司)",
    )
    domains: list[str] = Field(
        default_factory=list, description="e-mail domains; subdomains match too"
    )
    networks: list[str] = Field(
        default_factory=list, description="IP addresses or CIDR networks of its offices"
    )

    @field_validator("id")
    @classmethod
    def _bare_id(cls, account_id: str) -> str:
        return _bare(account_id, "account id")  # as a profile's account_id is read

    @field_validator("owner")
    @classmethod
    def _bare_owner(cls, owner: str | None) -> str | None:
        return None if owner is None else _person(owner)

    @model_validator(mode="after")
    def _owned(self) -> AccountSpec:
        if self.owner is None and self.parent is None:
            raise ValueError("give the account an owner, or a parent account whose owner it uses")
        return self


class ExistingAccountSpec(_Strict):
    """Leads of known customers go to the account's owner."""

    accounts: list[AccountSpec] = Field(min_length=1)
    team: str | None = Field(
        default=None,
        description="team recorded for leads routed to an owner who is in no team",
    )


class BusinessLineSpec(_Strict):
    """Key accounts (KA) by company size from enrichment; the long tail elsewhere."""

    key_account_team: str = Id
    long_tail_team: str | None = Field(
        default=None,
        description="team for the long tail; unset: the long tail passes to the next router",
    )
    min_registered_capital: PositiveNumber | None = None
    min_employees: PositiveWhole | None = None

    @model_validator(mode="after")
    def _threshold(self) -> BusinessLineSpec:
        if self.min_registered_capital is None and self.min_employees is None:
            raise ValueError("give min_registered_capital, min_employees or both")
        return self


class RegionEntry(_Strict):
    """One regional team and the places and networks it covers."""

    team: str = Id
    places: list[str] = Field(
        default_factory=list,
        description="places as the phone geocoder names them ('Beijing', 'Jiangsu', "
        "'San Francisco, CA') or ISO country codes ('US')",
    )
    networks: list[str] = Field(default_factory=list, description="CIDR networks of the region")


class RegionSpec(_Strict):
    """Regional teams by IP address (first) and phone number prefix."""

    regions: list[RegionEntry] = Field(min_length=1)
    language: str = Field(default="en", description="language of the geocoder's place names")


class FallbackSpec(_Strict):
    """The team queue every lead no other router took lands in."""

    team: str = Id


class RoutersSpec(_Strict):
    """The built-in routers to run, and in which order."""

    order: list[RouterName] = Field(default_factory=lambda: list(DEFAULT_ORDER))
    existing_account: ExistingAccountSpec | None = None
    business_line: BusinessLineSpec | None = None
    region: RegionSpec | None = None
    fallback: FallbackSpec | None = None


# -- follow-up -----------------------------------------------------------------------


class SlaSpec(_Strict):
    """Follow-up timers, driven by ``engine.tick``; each reminder is sent once."""

    speed_to_lead_minutes: PositiveNumber | None = Field(
        default=5.0,
        description="first touch due this long after assignment; then escalate (false: off)",
    )
    reassign_after_breaches: NonNegativeWhole = Field(
        default=2,
        description="missed speed-to-lead windows in a row before the lead is reassigned "
        "(0: never)",
    )
    max_reassignments: NonNegativeWhole = Field(
        default=1,
        description="how many times one lead may be reassigned for missed windows; after "
        "that its owner is reminded, not replaced",
    )
    sal_idle_days: PositiveNumber | None = Field(
        default=2.0,
        description="remind the owner of an SAL with no activity this long (false: off)",
    )
    call_cadence_days: list[Number] = Field(
        default_factory=lambda: [0.0, 1.0, 2.0, 4.0, 7.0, 10.0],
        description="when each call attempt is due, in days after assignment",
        max_length=20,
    )
    pool_retry_minutes: PositiveNumber = Field(
        default=60.0,
        description="how often a lead no member could take is offered to the team again",
    )
    touch_events: list[str] = Field(
        default_factory=lambda: ["call_attempt", "quote_sent", "chat_replied", "sales_accepted"],
        description="event types that count as the owner touching the lead",
    )

    @field_validator("speed_to_lead_minutes", "sal_idle_days", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        # TOML has no null: `false` is how a file turns a timer off.
        if value is False:
            return None
        if value is True:
            raise ValueError("give a number, or false to turn this timer off")
        return value

    @field_validator("call_cadence_days")
    @classmethod
    def _cadence(cls, days: list[float]) -> list[float]:
        if any(d < 0 for d in days) or days != sorted(days):
            raise ValueError(f"call days must be non-negative and ascending, not {days}")
        return days

    @field_validator("pool_retry_minutes")
    @classmethod
    def _retry(cls, minutes: float) -> float:
        # Timers move on a microsecond grid: a shorter retry would offer a pooled lead
        # again at the same moment, forever, and the tick would never return.
        if round(minutes * 60_000_000) < 1:
            raise ValueError(f"{minutes:g} minutes is under a microsecond; give a longer retry")
        return minutes


class PrioritySpec(_Strict):
    """How work queues rank leads: score, and the lead source's conversion rate."""

    source_rates: dict[str, Annotated[Number, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="lead → opportunity rate per source, used until enough history exists",
    )
    default_rate: Number = Field(default=0.13, ge=0, le=1)

    @field_validator("source_rates")
    @classmethod
    def _bare_sources(cls, rates: dict[str, float]) -> dict[str, float]:
        for source in rates:
            _bare(source, "source")  # as events' sources are read: " web " never applies
        return rates

    min_leads: PositiveWhole = Field(
        default=50, description="leads of a source needed before its own rate is learned"
    )
    score_scale: PositiveNumber = Field(
        default=100.0, description="the score that doubles a lead's priority"
    )


class RoutingModel(_Strict):
    """A whole routing configuration, as loaded from TOML or a dict."""

    teams: list[TeamSpec] = Field(min_length=1)
    admins: list[str] = Field(
        default_factory=list, description="people who may do any pool operation on any lead"
    )
    _admins = field_validator("admins")(_people)
    seed: Count = Field(default=0, description="seeds the tie-breaks, so replays are exact")
    routers: RoutersSpec = Field(default_factory=RoutersSpec)
    sla: SlaSpec = Field(default_factory=SlaSpec)
    priority: PrioritySpec = Field(default_factory=PrioritySpec)
