"""Model features of a lead: one row per lead, from the event log or from a live lead.

Two paths build the same row, so a model trained on history scores live leads on
exactly the features it learned from:

- :func:`build_features` reads an event log (a DataFrame, events or dicts) as it
  stood just before ``as_of``, vectorized over every lead at once: training sets and
  daily batch scoring.
- :func:`lead_features` reads one live :class:`~leadlife.Lead` (its behaviour
  counters, times and profile) in tens of microseconds: scoring inside the engine.

A lead does not keep its events' channels or texts, so :class:`FeatureTrail`, an
enricher, keeps the few it needs in the profile. Window counts follow the lead's
day buckets (:class:`~leadlife.behaviour.Behaviour`): a ``d``-day window is the ``d``
UTC days ending on the day of ``as_of``, cut at ``as_of`` itself.
"""

from __future__ import annotations

import math
import re
import zlib
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain, repeat
from operator import add
from typing import Any, TypeAlias

import attrs
import numpy as np
import pandas as pd

from leadlife.behaviour import DAY_SECONDS
from leadlife.clock import LATEST_DUE_TS, aware_ts, require_aware
from leadlife.errors import FeatureSchemaError
from leadlife.events import Event, parse_event
from leadlife.lead import Lead
from leadlife.rules import Rulebook

__all__ = ["FeatureSpec", "FeatureTrail", "build_features", "lead_features"]

FeatureValue: TypeAlias = float | str | None

DEFAULT_PROFILE_FIELDS = (
    "city",
    "industry",
    "title",
    "company_verified",
    "registered_capital",
    "employees",
    "sme",
    "phone_valid",
    "email_valid",
    "inferred_industry",
    "inferred_industry_confidence",
    "inferred_company",
    "company_enquiries",
)
DEFAULT_NUMERIC_FIELDS = (
    "company_verified",
    "registered_capital",
    "employees",
    "sme",
    "phone_valid",
    "email_valid",
    "inferred_industry_confidence",
    "company_enquiries",
)
CHANNEL_COLUMNS = ("first_channel", "last_channel")
TIME_COLUMNS = ("n.events", "days_since_last_activity", "days_since_first_seen")

_DAY = float(DAY_SECONDS)
_DAY_US = DAY_SECONDS * 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LOW_32 = (1 << 32) - 1
_SHIFT_32 = (1 << 32).__mul__
_WORD = re.compile(r"\w+")
_WORD_OR_SEAM = re.compile(r"\w+|\0")


# -- the spec ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _default_vocabulary() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(event types, passive types)`` of the default rulebook."""
    return _vocabulary(Rulebook.default())


def _vocabulary(rulebook: Rulebook) -> tuple[tuple[str, ...], tuple[str, ...]]:
    kinds = tuple(rulebook.event_types)
    passive = tuple(name for name, spec in rulebook.event_types.items() if spec.actor != "lead")
    return kinds, passive


def _default_event_types() -> tuple[str, ...]:
    return _default_vocabulary()[0]


def _default_passive_types() -> tuple[str, ...]:
    return _default_vocabulary()[1]


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)  # a lone name, not its letters
    return tuple(value)


def _days(value: Iterable[int] | int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,)
    return tuple(value)


def _check_windows(_: object, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
    bad = [w for w in value if isinstance(w, bool) or not isinstance(w, int) or w < 1]
    if not value or bad:
        raise FeatureSchemaError(
            f"windows must be whole numbers of days, at least 1; got {value!r}",
            "give windows such as (1, 7, 30, 180, 365)",
            column="windows",
        )
    if len(set(value)) != len(value):
        raise FeatureSchemaError(
            f"windows repeat a value: {value!r}", "list each window once", column="windows"
        )


def _check_unique(_: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    repeated = sorted({name for name in value if value.count(name) > 1})
    if repeated or not all(isinstance(name, str) and name for name in value):
        raise FeatureSchemaError(
            f"{attribute.name} must be distinct non-empty names; "
            f"repeated or empty: {repeated or [n for n in value if not n]}",
            f"list each name in {attribute.name} once",
            column=attribute.name,
        )


def _check_non_negative(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FeatureSchemaError(
            f"{attribute.name} must be a whole number, 0 or more; got {value!r}",
            f"pass an int for {attribute.name}",
            column=attribute.name,
        )


@attrs.frozen(cache_hash=True)
class FeatureSpec:
    """Which features to build: windows, event types, profile fields and text hashing.

    :param windows: day windows of the per-type counts (``n.<type>.<d>d``).
    :param event_types: event types counted per window; other types still count in
        ``n.events`` and in recency. Defaults to the default rulebook's vocabulary.
    :param passive_types: event types done *to* the lead (by sales or a system);
        they are not the lead's activity, so they do not move
        ``days_since_last_activity``. Defaults to the default rulebook's types whose
        ``actor`` is not ``"lead"``; :meth:`from_rulebook` reads them from yours.
    :param profile_fields: profile fields copied into the row (missing ones are
        unknown); the inferred fields of the enricher plugins are among the defaults.
    :param numeric_fields: which profile fields are numbers (booleans become 1.0 or
        0.0); every other profile field is categorical. Names not in
        ``profile_fields`` are ignored.
    :param text_buckets: width of the hashed bag of words over chat and search texts
        (``tok.<bucket>`` columns); 0 leaves text out.
    :param text_keys: event ``data`` keys whose string values are texts.
    :param max_texts: how many of a lead's latest texts the bag of words reads.
    """

    windows: tuple[int, ...] = attrs.field(
        default=(1, 7, 30, 180, 365), converter=_days, validator=_check_windows
    )
    event_types: tuple[str, ...] = attrs.field(
        factory=_default_event_types, converter=_names, validator=_check_unique
    )
    passive_types: tuple[str, ...] = attrs.field(
        factory=_default_passive_types, converter=_names, validator=_check_unique
    )
    profile_fields: tuple[str, ...] = attrs.field(
        default=DEFAULT_PROFILE_FIELDS, converter=_names, validator=_check_unique
    )
    numeric_fields: tuple[str, ...] = attrs.field(
        default=DEFAULT_NUMERIC_FIELDS, converter=_names, validator=_check_unique
    )
    text_buckets: int = attrs.field(default=32, validator=_check_non_negative)
    text_keys: tuple[str, ...] = attrs.field(
        default=("text", "keyword"), converter=_names, validator=_check_unique
    )
    max_texts: int = attrs.field(default=20, validator=_check_non_negative)

    def __attrs_post_init__(self) -> None:
        _build_layout(self)  # refuses clashing column names now, not at the first build

    @classmethod
    def from_rulebook(cls, rulebook: Rulebook, **changes: Any) -> FeatureSpec:
        """A spec counting ``rulebook``'s event types, with its non-lead actors passive."""
        kinds, passive = _vocabulary(rulebook)
        return cls(**{"event_types": kinds, "passive_types": passive, **changes})

    @property
    def longest_window(self) -> int:
        """The longest window in days: how long live day buckets must be kept.

        Give it to the engine (a scorer's ``window_days``) so live counts equal the
        batch ones; windows longer than the engine's retention are undercounted live.
        """
        return max(self.windows)

    def columns(self) -> list[str]:
        """Every column, in the stable order of :func:`build_features`' frame."""
        return list(_layout(self).columns)

    def categorical_columns(self) -> list[str]:
        """The columns holding category names (str or None) rather than numbers."""
        return list(_layout(self).categorical)


@attrs.frozen(eq=False)
class _Layout:
    """Column names and lookup tables of one spec, computed once."""

    columns: tuple[str, ...]
    categorical: tuple[str, ...]
    count_names: tuple[tuple[str, ...], ...]
    sorted_windows: tuple[int, ...]
    sorted_names: dict[str, tuple[str, ...]]
    token_names: tuple[str, ...]
    profile: tuple[tuple[str, bool], ...]
    template: dict[str, FeatureValue]


def _build_layout(spec: FeatureSpec) -> _Layout:
    count_names = tuple(
        tuple(f"n.{kind}.{days}d" for days in spec.windows) for kind in spec.event_types
    )
    numeric = set(spec.numeric_fields)
    profile = tuple((name, name in numeric) for name in spec.profile_fields)
    token_names = tuple(f"tok.{bucket}" for bucket in range(spec.text_buckets))
    columns = (
        *chain.from_iterable(count_names),
        *TIME_COLUMNS,
        *CHANNEL_COLUMNS,
        *spec.profile_fields,
        *token_names,
    )
    repeated = sorted(name for name, times in Counter(columns).items() if times > 1)
    if repeated:
        raise FeatureSchemaError(
            f"the spec gives several columns the same name: {', '.join(repeated)}",
            "rename the profile field or event type that clashes with a built-in column",
            column=repeated[0],
        )
    order = sorted(range(len(spec.windows)), key=spec.windows.__getitem__)
    ascending = [spec.windows[i] for i in order]
    template: dict[str, FeatureValue] = {}
    for name in columns:
        template[name] = 0.0
    for name in (*TIME_COLUMNS[1:], *(n for n, is_number in profile if is_number)):
        template[name] = math.nan
    categorical = (*CHANNEL_COLUMNS, *(n for n, is_number in profile if not is_number))
    for name in categorical:
        template[name] = None
    return _Layout(
        columns=columns,
        categorical=categorical,
        count_names=count_names,
        sorted_windows=tuple(ascending),
        sorted_names={
            kind: tuple(names[i] for i in order)
            for kind, names in zip(spec.event_types, count_names, strict=True)
        },
        token_names=token_names,
        profile=profile,
        template=template,
    )


_layout = lru_cache(maxsize=32)(_build_layout)
_DEFAULT_SPEC = FeatureSpec()


# -- values shared by both paths -------------------------------------------------------


def _category(value: Any) -> str | None:
    """A profile or channel value as a category name; None when unknown."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _number(value: Any) -> float:
    """A profile value as a float; NaN when unknown, not a number, or not finite.

    inf (a profile's ``"1e400"`` reads as inf) is no quantity a model can compare, so it
    is unknown like a missing value, on both paths.
    """
    if value is None:
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _texts(data: Any, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The texts an event's data carries under ``keys``, in ``keys`` order."""
    return tuple(value for key in keys if _is_text(value := _value_at(data, key)))


def _value_at(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, Mapping) else None


def _is_text(value: Any) -> bool:
    """Whether a data value is a text: a string with something besides whitespace."""
    return isinstance(value, str) and not value.isspace() and value != ""


@lru_cache(maxsize=65_536)
def _buckets(text: str, width: int) -> tuple[int, ...]:
    """Hash buckets of ``text``'s lower-cased words (CRC-32: stable across processes)."""
    return tuple(zlib.crc32(word.encode("utf-8")) % width for word in _WORD.findall(text.lower()))


def _epoch_us(moment: datetime) -> int:
    """Whole microseconds since the epoch; ``moment.timestamp()`` is this over 10**6."""
    return (moment - _EPOCH) // _MICROSECOND


# -- one live lead ---------------------------------------------------------------------


def lead_features(
    lead: Lead, now: datetime, spec: FeatureSpec = _DEFAULT_SPEC
) -> dict[str, FeatureValue]:
    """The feature row of one live lead at ``now``, equal to :func:`build_features`' row.

    Reads the lead's behaviour counters, times and profile (with the fields
    :class:`FeatureTrail` keeps). ``now`` is the present: the lead is assumed to hold
    no event at or after it. Counts over windows longer than the engine keeps day
    buckets for are too low; see :attr:`FeatureSpec.longest_window`.
    """
    if type(now) is datetime and now.tzinfo is not None:
        now_ts = now.timestamp()
    else:
        # Refused as build_features refuses as_of: a naive moment would be read in the
        # host's local zone, and text or None would fail with Python's own error.
        now_ts = aware_ts(now, "now", latest=LATEST_DUE_TS)
    layout = _layout(spec)
    row = layout.template.copy()
    today = int(now_ts // DAY_SECONDS)
    behaviour = lead.behaviour
    windows = layout.sorted_windows
    sorted_names = layout.sorted_names
    for kind in behaviour.types():
        names = sorted_names.get(kind)
        if names is None:
            continue
        entry = behaviour.entry(kind)
        if entry is None:  # pragma: no cover - types() lists only recorded types
            continue
        # As Behaviour.count_ts: a window counts the buckets of the days after
        # today - window, up to today.
        days = entry[3]
        if len(days) == 2:  # one day: the common case of a rare event type
            age = today - days[0]
            for name, window in zip(names, windows, strict=True):
                if 0 <= age < window:
                    row[name] = float(days[1])
            continue
        # Each bucket as one int, day << 32 | count: sorted in C (a late event appends
        # an earlier day), and the counts of a run of days are its sum's low 32 bits.
        keys = sorted(map(add, map(_SHIFT_32, days[0::2]), days[1::2]))
        end = bisect_left(keys, (today + 1) << 32)
        for name, window in zip(names, windows, strict=True):
            start = bisect_left(keys, (today - window + 1) << 32)
            row[name] = float(sum(keys[start:end]) & _LOW_32)
    row["n.events"] = float(lead.event_count)
    active = lead.last_activity_ts
    if active is not None:
        row["days_since_last_activity"] = (now_ts - active) / _DAY
    first = lead.first_seen_ts
    if first is not None:
        row["days_since_first_seen"] = (now_ts - first) / _DAY
    profile = lead.profile
    row["first_channel"] = _category(profile.get("first_channel"))
    row["last_channel"] = _category(profile.get("last_channel"))
    for name, is_number in layout.profile:
        value = profile.get(name)
        if value is not None:
            row[name] = _number(value) if is_number else _category(value)
    width = spec.text_buckets
    texts = profile.get("recent_text")
    if width and texts and spec.max_texts:
        token_names = layout.token_names
        for bucket, count in _text_counts(tuple(texts)[-spec.max_texts :], width):
            row[token_names[bucket]] = count
    return row


@lru_cache(maxsize=4096)
def _text_counts(texts: tuple[str, ...], width: int) -> tuple[tuple[int, float], ...]:
    """``(bucket, count)`` of the words of ``texts``; a lead's texts change seldom."""
    tokens = [0.0] * width
    for text in texts:
        for bucket in _buckets(text, width):
            tokens[bucket] += 1.0
    return tuple((bucket, count) for bucket, count in enumerate(tokens) if count)


@attrs.frozen
class FeatureTrail:
    """Enricher keeping, in the profile, the channels and texts features need.

    Sets ``first_channel`` and ``last_channel`` (the channel of the lead's earliest
    and latest event that names one) and ``recent_text`` (the last ``max_texts``
    texts, oldest first), each with the epoch seconds that order them
    (``first_channel_ts``, ``last_channel_ts``, ``recent_text_ts``). Order is the
    events' time, not their arrival, so a late event lands where it belongs; among
    events of the same moment, arrival order decides, as in :func:`build_features`.

    The engine applies a late event's enrichment only to profile fields still
    missing; these fields must move with late events too, and the trail orders
    them itself, so it sets ``applies_late`` (see :class:`~leadlife.enrichment.Enricher`).
    """

    spec: FeatureSpec = attrs.field(factory=FeatureSpec)
    name: str = "feature-trail"
    applies_late: bool = attrs.field(default=True, init=False)

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        """The trail fields ``event`` changes, or None."""
        ts = event.at.timestamp()
        profile = lead.profile
        fields: dict[str, Any] = {}
        channel = event.channel
        if channel:
            first = profile.get("first_channel_ts")
            if first is None or ts < first:
                fields["first_channel"] = channel
                fields["first_channel_ts"] = ts
            last = profile.get("last_channel_ts")
            if last is None or ts >= last:
                fields["last_channel"] = channel
                fields["last_channel_ts"] = ts
        keep = self.spec.max_texts
        texts = _texts(event.data, self.spec.text_keys) if keep else ()
        if texts:
            kept = tuple(profile.get("recent_text", ()))
            moments = tuple(profile.get("recent_text_ts", ()))
            at = bisect_right(moments, ts)
            if len(kept) - at < keep:  # else every kept text is newer: this one falls off
                fields["recent_text"] = (*kept[:at], *texts, *kept[at:])[-keep:]
                fields["recent_text_ts"] = (
                    *moments[:at],
                    *(ts,) * len(texts),
                    *moments[at:],
                )[-keep:]
        return fields or None


# -- the event log ---------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Log:
    """An event log as parallel arrays, in the order given."""

    ids: np.ndarray | None
    lead: np.ndarray
    kind: np.ndarray
    at_us: np.ndarray
    channel: np.ndarray
    data: np.ndarray


def _object_array(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _log_from_events(events: Iterable[Event | Mapping[str, Any]]) -> _Log:
    ids: list[str] = []
    lead: list[str] = []
    kind: list[str] = []
    at_us: list[int] = []
    channel: list[str | None] = []
    data: list[Mapping[str, Any]] = []
    for raw in events:
        event = parse_event(raw)  # the engine's own validation, so both read alike
        ids.append(event.id)
        lead.append(event.lead_id)
        kind.append(event.type)
        at_us.append(_epoch_us(event.at))
        channel.append(event.channel)
        data.append(event.data)
    return _Log(
        _object_array(ids),
        _object_array(lead),
        _object_array(kind),
        np.asarray(at_us, dtype=np.int64),
        _object_array(channel),
        _object_array(data),
    )


def _log_from_frame(frame: pd.DataFrame) -> _Log:
    missing = [name for name in ("lead_id", "type", "at") if name not in frame.columns]
    if missing:
        raise FeatureSchemaError(
            f"the events frame has no column {', '.join(map(repr, missing))}",
            "give the frame the Event fields as columns: id, lead_id, type, at "
            "(timezone-aware), and optionally channel, source and data",
            missing=missing,
        )
    size = len(frame)
    nothing = np.full(size, None, dtype=object)
    ids = _stripped(frame["id"].to_numpy(dtype=object)) if "id" in frame.columns else None
    if ids is not None:
        unnamed = pd.isna(ids)
        if unnamed.any():
            rows = np.flatnonzero(unnamed)
            raise FeatureSchemaError(
                f"{len(rows)} events have no id (rows {rows[:5].tolist()}"
                f"{', ...' if len(rows) > 5 else ''}); a repeated id counts once, so they "
                "cannot be told apart",
                "give every event its unique id, or leave out the 'id' column to count "
                "every row as a distinct event",
                column="id",
            )
    # Stripped as Event validation strips them, so a padded value from a CSV export
    # is the same lead, type or channel as on the event path.
    return _Log(
        ids,
        _stripped(_checked_ids(frame["lead_id"].to_numpy(dtype=object), "the events' lead_id")),
        _stripped(frame["type"].to_numpy(dtype=object)),
        _aware_us(frame["at"]),
        _stripped(frame["channel"].to_numpy(dtype=object))
        if "channel" in frame.columns
        else nothing,
        frame["data"].to_numpy(dtype=object) if "data" in frame.columns else nothing,
    )


def _checked_ids(values: np.ndarray, where: str) -> np.ndarray:
    """``values`` if each is text or a whole number (a CSV's ids, read as numbers),
    else a :class:`~leadlife.errors.FeatureSchemaError` naming the lead_id column."""
    for value in pd.factorize(values)[1].tolist():
        if not isinstance(value, str) and not _whole_number(value):
            raise _not_an_id(value, where)
    return values


def _not_an_id(value: Any, where: str) -> FeatureSchemaError:
    return FeatureSchemaError(
        f"{where} holds {value!r} ({type(value).__name__}); a lead id is text, "
        "as the engine keeps it",
        "give lead ids as text, e.g. pd.read_csv(..., dtype={'lead_id': str}), "
        "which also keeps leading zeros",
        column="lead_id",
    )


def _id_kinds(values: np.ndarray | None) -> tuple[bool, bool]:
    """``(any text id, any other id)`` among ``values`` (None: no ids)."""
    if values is None:
        return False, False
    distinct = [value for value in pd.unique(values) if value is not None]
    texts = sum(isinstance(value, str) for value in distinct)
    return texts > 0, texts < len(distinct)


def _ids_of_one_kind(log: _Log, profiles: pd.DataFrame | None) -> tuple[_Log, pd.DataFrame | None]:
    """Whole-number lead ids are kept as numbers (labels read from the same CSV line
    up with them), unless text ids are beside them (the engine's leads, a frame of
    text ids): then all become text, as the engine keeps them (1001 is "1001")."""
    profile_ids = None if profiles is None else profiles.index.to_numpy(dtype=object)
    log_texts, log_numbers = _id_kinds(log.lead)
    profile_texts, profile_numbers = _id_kinds(profile_ids)
    if not (log_texts or profile_texts) or not (log_numbers or profile_numbers):
        return log, profiles
    if log_numbers:
        log = attrs.evolve(log, lead=_text_ids(log.lead, "the events' lead_id"))
    if profiles is not None and profile_ids is not None and profile_numbers:
        text = pd.Index(_text_ids(profile_ids, "the leads frame's index"), dtype=object)
        if text.has_duplicates:
            repeated = text[text.duplicated()].unique().tolist()[:5]
            raise FeatureSchemaError(
                f"the leads frame repeats lead ids in its index, as text: {repeated}",
                "give one row per lead, indexed by lead_id",
            )
        profiles = profiles.set_axis(text.rename(profiles.index.name))
    return log, profiles


def _text_ids(values: np.ndarray, where: str) -> np.ndarray:
    """Lead ids as the engine keeps them, text: whole numbers (a CSV's ids, which
    pandas reads as int64, or float64 beside a blank) become their digits.

    Any other value that is not text (a fraction, a bool, a date) is refused with a
    :class:`~leadlife.errors.FeatureSchemaError` naming the lead_id column.
    """
    codes, distinct = pd.factorize(values)
    plain = distinct.tolist()
    if all(isinstance(value, str) for value in plain):
        return values
    converted: list[str] = []
    for value in plain:
        if isinstance(value, str):
            converted.append(value)
        elif _whole_number(value):
            converted.append(str(int(value)))
        else:
            raise _not_an_id(value, where)
    out = values.copy()
    known = codes >= 0
    out[known] = _object_array(converted)[codes[known]]
    return out


def _whole_number(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return True
    return isinstance(value, float | np.floating) and float(value).is_integer()


def _stripped(values: np.ndarray) -> np.ndarray:
    """``values`` with texts stripped of spaces, a text of spaces only as None.

    Each distinct value is stripped once: a log has few types and channels, and
    each lead's id repeats over its events.
    """
    codes, distinct = pd.factorize(values)
    cleaned = [
        (value.strip() or None) if isinstance(value, str) else value for value in distinct.tolist()
    ]
    if all(
        new is old or (isinstance(old, str) and new == old)
        for new, old in zip(cleaned, distinct.tolist(), strict=True)
    ):
        return values
    out = values.copy()
    known = codes >= 0
    out[known] = _object_array(cleaned)[codes[known]]
    return out


def _aware_us(column: pd.Series) -> np.ndarray:
    """Epoch microseconds of a column of timezone-aware moments."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return np.asarray(column.dt.as_unit("us").array.asi8, dtype=np.int64)
    out = np.empty(len(column), dtype=np.int64)
    for index, value in enumerate(column.tolist()):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise FeatureSchemaError(
                f"the events frame's 'at' holds {value!r} (row {index}), not a "
                "timezone-aware moment",
                "store 'at' as timezone-aware datetimes, e.g. pd.to_datetime(..., utc=True)",
                column="at",
            )
        out[index] = _epoch_us(moment)
    return out


# -- many leads at once ----------------------------------------------------------------

EventsInput: TypeAlias = pd.DataFrame | Iterable[Event | Mapping[str, Any]]
LeadsInput: TypeAlias = pd.DataFrame | Iterable[Lead] | None


def build_features(
    events: EventsInput,
    leads: LeadsInput = None,
    *,
    as_of: datetime,
    spec: FeatureSpec = _DEFAULT_SPEC,
    rulebook: Rulebook | None = None,
) -> pd.DataFrame:
    """One feature row per lead, from the events that happened before ``as_of``.

    :param events: a DataFrame with the :class:`~leadlife.Event` fields as columns
        (``id``, ``lead_id``, ``type``, timezone-aware ``at``, optional ``channel``
        and ``data``), or an iterable of events or event dicts (validated as the
        engine does). Events at or after ``as_of`` are ignored; a repeated ``id``
        counts once (its first occurrence), as the engine does. A frame's texts are
        stripped as Event validation strips them, and with an ``id`` column every
        row needs an id (else :class:`~leadlife.errors.FeatureSchemaError`).
    :param leads: profiles, as a DataFrame indexed by lead id with one column per
        profile field, or leads whose ``profile`` is read. They should be as of
        ``as_of`` too: the frame takes them as given. None rebuilds each lead's
        profile from its own events before ``as_of``, taken in the log's order (the
        order the engine received them, so a late event only fills fields still
        missing, as live), with the rulebook's profile rules (``Rulebook.record``,
        what the engine runs), so a form's ``industry`` or a verified company is
        there as it would be live;
        fields only enricher plugins set (the ``inferred_*`` ones) then stay unknown.
    :param rulebook: the rulebook whose profile rules rebuild profiles (None: the
        default rulebook).
    :param as_of: the moment the row describes; timezone-aware.
    :param spec: which features; :class:`FeatureSpec` ``()`` by default.
    :returns: a frame indexed by ``lead_id`` (sorted), one row per lead with an event
        before ``as_of`` or a profile in ``leads``, columns ``spec.columns()``:
        floats (NaN when unknown) and, for ``spec.categorical_columns()``, object
        columns of str or None.
    """
    layout = _layout(spec)
    as_of = require_aware(as_of, "as_of")
    as_of_us = _epoch_us(as_of)
    as_of_ts = as_of.timestamp()
    log = _log_from_frame(events) if isinstance(events, pd.DataFrame) else _log_from_events(events)
    profiles = _profiles_frame(leads, spec)
    log, profiles = _ids_of_one_kind(log, profiles)

    # The events that count: before as_of, and the first of each id.
    chosen = np.flatnonzero(log.at_us < as_of_us)
    if log.ids is not None and len(chosen):
        repeated = pd.Series(log.ids[chosen], dtype=object).duplicated(keep="first")
        chosen = chosen[~repeated.to_numpy()]
    lead_codes, lead_names = pd.factorize(log.lead)
    if (lead_codes < 0).any():
        raise FeatureSchemaError(
            f"{int((lead_codes < 0).sum())} events have no lead_id",
            "give every event the id of its lead",
            column="lead_id",
        )
    codes = lead_codes[chosen]
    seen = np.flatnonzero(np.bincount(codes, minlength=len(lead_names)))
    index = pd.Index(lead_names[seen])
    if profiles is not None:
        index = index.union(profiles.index)
    # Rebuilt from plain values so the index dtype (str for string ids) does not depend
    # on how the events and profiles were given.
    index = pd.Index(index.sort_values().tolist(), name="lead_id")
    size = len(index)
    row_of_code = np.full(len(lead_names), -1, dtype=np.intp)
    row_of_code[seen] = index.get_indexer(lead_names[seen])
    rows = row_of_code[codes]

    # Time order within each lead; ties keep the log's order (the engine's arrival order).
    order = np.argsort(log.at_us[chosen], kind="stable")
    order = order[np.argsort(rows[order], kind="stable")]
    chosen = chosen[order]
    rows = rows[order]
    if profiles is None and spec.profile_fields:
        # Replayed as the engine saw them, in arrival order: a back-filled event then
        # only fills the fields still missing, as it did live.
        arrival = np.lexsort((chosen, rows))
        profiles = _replayed_profiles(log, chosen[arrival], rows[arrival], index, spec, rulebook)
    at_us = log.at_us[chosen]
    seconds = at_us / 1e6  # equals datetime.timestamp(), as the live lead stores it
    kind_codes, kind_names = pd.factorize(log.kind)
    kinds = kind_codes[chosen]
    # Lookup tables over the distinct types; a trailing entry answers the code -1 (no type).
    counted = np.append(pd.Index(spec.event_types).get_indexer(kind_names), -1)[kinds]
    passive = np.append(pd.Index(kind_names).isin(spec.passive_types), False)[kinds]

    last_activity = _last_per_row(rows[~passive], seconds[~passive], size)
    first_seen = _first_per_row(rows, seconds, size)
    channel = pd.Series(log.channel[chosen], dtype=object)
    named = (channel.notna() & channel.ne("")).to_numpy()
    channels = channel.to_numpy()[named]
    categories = {
        name: _object_array([_category(value) for value in picked])
        for name, picked in (
            ("first_channel", _first_per_row(rows[named], channels, size)),
            ("last_channel", _last_per_row(rows[named], channels, size)),
        )
    }
    # Numeric parts are (columns, leads) blocks: stacked, they are the frame's float
    # block as pandas stores it, column after column, so nothing is copied again.
    numbers = [
        _window_counts(rows, counted, at_us, size, as_of_us // _DAY_US, spec),
        np.bincount(rows, minlength=size).astype(np.float64),
        (as_of_ts - last_activity) / _DAY,
        (as_of_ts - first_seen) / _DAY,
    ]
    for name, values in _profile_columns(profiles, index, layout).items():
        if values.dtype == object:
            categories[name] = values
        else:
            numbers.append(values)
    if spec.text_buckets:
        numbers.append(_token_counts(log.data, chosen, rows, size, spec))

    numeric = [name for name in layout.columns if name not in categories]
    frame = pd.DataFrame(np.vstack(numbers).T, index=index, columns=numeric, copy=False)
    # The categories go in their places with an explicit dtype: built from object
    # arrays, pandas would infer its str dtype, whose missing value is NaN, not None.
    for position, name in enumerate(layout.columns):
        if name in categories:
            frame.insert(position, name, pd.Series(categories[name], index=index, dtype=object))
    return frame


def _window_counts(
    rows: np.ndarray,
    counted: np.ndarray,
    at_us: np.ndarray,
    size: int,
    today: int,
    spec: FeatureSpec,
) -> np.ndarray:
    """Events on each window's UTC days, as a (type x window, lead) block.

    ``counted`` is each event's position in ``spec.event_types`` (-1: not counted).
    """
    kinds = len(spec.event_types)
    windows = np.asarray(spec.windows, dtype=np.int64)
    order = np.argsort(windows, kind="stable")
    ascending = windows[order]
    width = len(ascending)
    age = today - at_us // _DAY_US  # whole UTC days back from as_of's day, 0 = that day
    # The smallest window holding each event; cumulative sums then give the wider ones.
    slot = np.searchsorted(ascending, age, side="right")
    keep = (counted >= 0) & (slot < width)
    flat = (counted[keep] * width + slot[keep]) * size + rows[keep]
    counts = np.bincount(flat, minlength=kinds * width * size).astype(np.float64)
    counts = counts.reshape(kinds, width, size).cumsum(axis=1)
    given = np.empty_like(counts)
    given[:, order, :] = counts
    return given.reshape(kinds * width, size)


def _first_per_row(rows: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Each row's first value (rows sorted), NaN or None where a row has none."""
    out = _empty(values, size)
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        out[rows[starts]] = values[starts]
    return out


def _last_per_row(rows: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Each row's last value (rows sorted), NaN or None where a row has none."""
    out = _empty(values, size)
    if len(rows):
        ends = np.flatnonzero(np.r_[rows[1:] != rows[:-1], True])
        out[rows[ends]] = values[ends]
    return out


def _empty(like: np.ndarray, size: int) -> np.ndarray:
    if like.dtype == object:
        return np.full(size, None, dtype=object)
    return np.full(size, np.nan, dtype=np.float64)


def _token_counts(
    data: np.ndarray, chosen: np.ndarray, rows: np.ndarray, size: int, spec: FeatureSpec
) -> np.ndarray:
    """Hashed words of each lead's last ``max_texts`` texts, as a (bucket, lead) block.

    ``data`` is every event's data in the log's order; ``chosen[k]`` is the log
    position of the k-th counted event (in time order per lead) and ``rows[k]`` its
    lead's row.
    """
    width = spec.text_buckets
    out = np.zeros((width, size), dtype=np.float64)
    if not spec.max_texts or not len(rows):
        return out
    # Read in the log's own order (memory order, much faster than time order), then
    # map to the counted events' order; texts of events not counted drop out.
    counted_at = np.full(len(data), -1, dtype=np.intp)
    counted_at[chosen] = np.arange(len(chosen))
    positions: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    texts: list[str] = []
    for rank, key in enumerate(spec.text_keys):
        values = _values_at(data, key)
        present = np.flatnonzero(pd.notna(_object_array(values))).tolist()
        found = [i for i in present if _is_text(values[i])]
        where = counted_at[np.asarray(found, dtype=np.intp)]
        counted = np.flatnonzero(where >= 0)
        positions.append(where[counted])
        ranks.append(np.full(len(counted), rank, dtype=np.intp))
        texts.extend(values[found[i]] for i in counted.tolist())
    position = np.concatenate(positions)
    if not len(position):
        return out
    order = np.lexsort((np.concatenate(ranks), position))
    text_rows = rows[position[order]]
    # Keep the texts fewer than max_texts from the end of their lead's run.
    ends = np.flatnonzero(np.r_[text_rows[1:] != text_rows[:-1], True])
    end_of = np.repeat(ends, np.diff(np.r_[-1, ends]))
    kept = order[end_of - np.arange(len(text_rows)) < spec.max_texts]
    # Tokenize each distinct text once and hash each distinct word once; the live
    # path (_buckets) gives every text the same buckets.
    text_codes, distinct = pd.factorize(_object_array([texts[i] for i in kept]))
    sizes, text_buckets = _bucket_lists(distinct, width)
    lengths = sizes[text_codes]
    source = np.cumsum(sizes) - sizes  # where each distinct text's buckets start
    target = np.cumsum(lengths) - lengths  # where each kept text's buckets go
    shift = np.repeat(source[text_codes] - target, lengths)
    buckets = text_buckets[shift + np.arange(int(lengths.sum()))]
    flat = buckets * size + np.repeat(rows[position[kept]], lengths)
    out += np.bincount(flat, minlength=width * size).reshape(width, size)
    return out


def _bucket_lists(texts: Sequence[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sizes, buckets)``: each text's word buckets, one text after another.

    Equal to :func:`_buckets` text by text, in one regular-expression pass: the texts
    are joined by a NUL, which no word contains, and the NULs found mark the seams.
    """
    if not len(texts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:
        # A NUL inside a text is no word character either: a space tokenizes the same.
        joined = "\0".join(text.replace("\0", " ") for text in texts)
    tokens = _WORD_OR_SEAM.findall(joined.lower())
    codes, vocabulary = pd.factorize(_object_array(tokens))
    # Compared in Python: numpy would read "\0" as an empty string.
    seam = codes == next((i for i, word in enumerate(vocabulary) if word == "\0"), -2)
    bucket_of = np.fromiter(
        (zlib.crc32(word.encode("utf-8")) % width for word in vocabulary),
        dtype=np.int64,
        count=len(vocabulary),
    )
    text_of = np.cumsum(seam)[~seam]
    return np.bincount(text_of, minlength=len(texts)), bucket_of[codes[~seam]]


def _values_at(data: np.ndarray, key: str) -> list[Any]:
    """``data[i].get(key)`` for every event (None where data is not a mapping)."""
    try:
        return list(map(dict.get, data, repeat(key)))  # the common case: all plain dicts
    except TypeError:
        return [_value_at(d, key) for d in data]


def _replayed_profiles(
    log: _Log,
    chosen: np.ndarray,
    rows: np.ndarray,
    index: pd.Index,
    spec: FeatureSpec,
    rulebook: Rulebook | None,
) -> pd.DataFrame | None:
    """Each lead's profile as the rulebook's ``record`` builds it from its events.

    ``chosen`` are log positions in the log's (arrival) order per lead, ``rows`` their
    leads' rows.
    The events are trusted (the log was validated when read), so they are built
    without validating again.
    """
    book = Rulebook.default() if rulebook is None else rulebook
    leads = [Lead(str(lead_id)) for lead_id in index]
    construct = Event.model_construct
    empty: dict[str, Any] = {}
    for position, row in zip(chosen.tolist(), rows.tolist(), strict=True):
        at_us = int(log.at_us[position])
        data = log.data[position]
        event = construct(
            id="" if log.ids is None else str(log.ids[position]),
            lead_id=leads[row].id,
            type=str(log.kind[position]),
            at=_EPOCH + timedelta(microseconds=at_us),
            channel=log.channel[position],
            data=data if isinstance(data, dict) else empty,
        )
        book.record(leads[row], event, empty, at_us / 1e6)
    return _profiles_frame(leads, spec)


def _profiles_frame(leads: LeadsInput, spec: FeatureSpec) -> pd.DataFrame | None:
    """The profile fields of ``leads`` as a frame indexed by lead id."""
    if leads is None:
        return None
    if isinstance(leads, pd.DataFrame):
        if not leads.index.is_unique:
            repeated = leads.index[leads.index.duplicated()].unique().tolist()[:5]
            raise FeatureSchemaError(
                f"the leads frame repeats lead ids in its index: {repeated}",
                "give one row per lead, indexed by lead_id",
            )
        present = [name for name in spec.profile_fields if name in leads.columns]
        _checked_ids(leads.index.to_numpy(dtype=object), "the leads frame's index")
        return leads.loc[:, present]
    by_id = {lead.id: lead.profile for lead in leads}
    ids = list(by_id)
    fields = {
        name: _object_array([profile.get(name) for profile in by_id.values()])
        for name in spec.profile_fields
    }
    return pd.DataFrame(
        {name: pd.Series(values, dtype=object) for name, values in fields.items()}
    ).set_axis(pd.Index(ids, dtype=object))


def _profile_columns(
    profiles: pd.DataFrame | None, index: pd.Index, layout: _Layout
) -> dict[str, np.ndarray]:
    size = len(index)
    columns: dict[str, np.ndarray] = {}
    aligned = None if profiles is None else profiles.reindex(index)
    for name, is_number in layout.profile:
        if aligned is None or name not in aligned.columns:
            columns[name] = np.full(size, np.nan) if is_number else np.full(size, None, object)
            continue
        column = aligned[name]
        if is_number:
            if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
                column.dtype
            ):
                values = column.to_numpy(dtype=np.float64, na_value=np.nan)
                # Not finite is unknown, as _number reads a live profile's value.
                columns[name] = np.where(np.isfinite(values), values, np.nan)
            else:
                columns[name] = np.fromiter(
                    map(_number, column.tolist()), dtype=np.float64, count=size
                )
        else:
            columns[name] = _object_array([_category(value) for value in column.tolist()])
    return columns
