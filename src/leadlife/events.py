"""The inbound :class:`Event`: the one shape every host sends in.

Validation happens here, once, at the edge; the rest of the engine trusts an Event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from numbers import Number
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)
from pydantic_core import PydanticCustomError

from leadlife.errors import InvalidEventError
from leadlife.values import FIX, FrozenDict, UnsupportedValue, plain_values

__all__ = ["Event", "parse_event"]


# What validation strips from an event's ids: Unicode's white space, which leaves out
# the separators U+001C-U+001F that str.strip() also drops.
ID_SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace() and not 0x1C <= c <= 0x1F)
_NUMBER_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _no_epoch_number(value: Any) -> Any:
    """Refuse a number as ``at``, which pydantic would read as Unix seconds (or
    milliseconds, by its size) in UTC: a compact date from a CSV export, 20261102,
    would land in 1970."""
    kind = type(value)
    if kind is str and ":" in value:  # every ISO 8601 time with an offset has one
        return value
    if kind is datetime:
        return value
    if isinstance(value, str | bytes | bytearray):
        text = value if isinstance(value, str) else bytes(value).decode("latin-1")
        if ":" in text or not _NUMBER_TEXT.fullmatch(text):
            return value  # not a number: pydantic says what is wrong with it
    elif kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
        # numpy's boolean, which pydantic reads as 1 or 0
        raise PydanticCustomError(
            "datetime_type", "is a boolean ({value}), not a moment", {"value": repr(value)}
        )
    elif not isinstance(value, Number) or isinstance(value, bool):
        return value  # numpy's integers are Numbers too, by registration
    raise PydanticCustomError(
        "datetime_number",
        "is a number ({value}), not a moment: epoch seconds say neither their unit "
        "nor their offset",
        {"value": repr(value)},
    )


class Event(BaseModel):
    """Something a lead did, or something done to a lead, at a known moment.

    ``id`` makes ingest idempotent; ``at`` must carry a timezone so events from
    several systems order correctly; its offset is kept.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(min_length=1, description="unique id of the event; resending it is a no-op")
    lead_id: str = Field(min_length=1, description="the person this event belongs to")
    type: str = Field(min_length=1, description="event type from the rulebook's vocabulary")
    at: Annotated[AwareDatetime, BeforeValidator(_no_epoch_number)] = Field(
        description="when it happened, with a timezone offset"
    )
    channel: str | None = Field(default=None, description="channel it came through")
    source: str | None = Field(default=None, description="campaign or system that sent it")
    data: Mapping[str, Any] = Field(
        default_factory=FrozenDict, description="type-specific fields, read-only"
    )

    @field_validator("data")
    @classmethod
    def _plain_data(cls, data: dict[str, Any]) -> dict[str, Any]:
        return plain_values(data)

    def __hash__(self) -> int:
        # pydantic's hash of a frozen model hashes every field, and ``data`` is a
        # read-only mapping, which does not hash: no event could be kept in a set.
        # Equal events agree on the rest, so it is left out of the hash, not of ==.
        return hash((self.id, self.lead_id, self.type, self.at, self.channel, self.source))

    @field_serializer("at", when_used="json")
    def _at_json(self, at: datetime) -> datetime:
        # pydantic writes offsets to the minute, and cannot read seconds back: an
        # offset such as a zone's local mean time (+08:05:43) would move the instant.
        offset = at.utcoffset()
        if offset is not None and (offset.seconds % 60 or offset.microseconds):
            return at.astimezone(UTC)
        return at


_FIXES = {
    "missing": "add the field",
    "datetime_type": "send an ISO 8601 timestamp such as '2026-11-02T09:00:00+08:00'",
    "datetime_parsing": "send an ISO 8601 timestamp such as '2026-11-02T09:00:00+08:00'",
    "timezone_aware": "add a UTC offset, e.g. '2026-11-02T09:00:00+08:00' or '...Z'",
    "string_too_short": "send a non-empty string",
    "string_type": "send a string",
    "dict_type": "send an object (mapping) of type-specific fields",
    "extra_forbidden": "remove the field, or put it under 'data'",
}


# Event.model_validate is a Python wrapper around this; called per event, skipping
# it saves about 0.8 µs of the 2.8 a typical event takes to validate.
_validate = Event.__pydantic_validator__.validate_python


def parse_event(raw: Event | Mapping[str, Any]) -> Event:
    """Validate ``raw`` into an :class:`Event` or raise :class:`InvalidEventError`."""
    if type(raw) is not dict:  # the common case skips two isinstance checks
        if isinstance(raw, Event):
            return raw
        if not isinstance(raw, Mapping):
            raise InvalidEventError(
                "<event>",
                f"expected an Event or a mapping, got {type(raw).__name__}",
                "send a dict with id, lead_id, type, at and optional data",
            )
    try:
        event: Event = _validate(raw)
    except ValidationError as exc:
        retry = _read_by_python(raw, exc)
        if retry is not None:
            return parse_event(retry)
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "<event>"
        event_id = reported_id(raw)
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, UnsupportedValue):
            raise InvalidEventError(
                f"{field}.{cause.path}", cause.problem, FIX, event_id=event_id
            ) from None
        kind = first["type"]
        if kind.startswith(("datetime", "date_")):
            kind = "datetime_parsing"
        fix = _FIXES.get(kind, "see the Event fields in docs/events.md")
        raise InvalidEventError(field, first["msg"].lower(), fix, event_id=event_id) from None
    return event


def reported_id(raw: Mapping[str, Any]) -> str | None:
    """The id of an event that failed validation, read as validation reads it (None
    without a usable one), so an error names the id a resend or a lookup uses."""
    try:
        value = raw.get("id")
    except Exception:  # a mapping that cannot be read has no id to report
        return None
    if not isinstance(value, str):
        return None
    return value.strip(ID_SPACE) or None


def _read_by_python(raw: Mapping[str, Any], exc: ValidationError) -> dict[str, Any] | None:
    """``raw`` with its ``at`` text parsed by Python, when pydantic could not read it
    but Python's ISO 8601 parser reads an aware moment in it: an offset with seconds
    (``datetime.isoformat`` writes them), an offset of hours only (``+08``, as
    PostgreSQL writes a ``timestamptz``), or text with surrounding spaces."""
    at = raw.get("at")
    if not isinstance(at, str) or not any(error["loc"][:1] == ("at",) for error in exc.errors()):
        return None
    try:
        parsed = datetime.fromisoformat(at.strip())
    except ValueError:
        return None
    if parsed.utcoffset() is None:
        return None  # a local time, or a date: pydantic's refusal says what to add
    return {**raw, "at": parsed}
