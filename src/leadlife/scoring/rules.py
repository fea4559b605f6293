"""Compiled scoring rules: one meaning, two execution paths.

Every rule is compiled twice from the same model: a scalar form that scores one
:class:`~leadlife.lead.Lead` per event, and an array form that scores a pandas frame
of lead snapshots with numpy masks. Both read the same *snapshot* of a lead:

============================  ==============================================
column                        value
============================  ==============================================
``<field>``                   ``lead.profile[field]``
``n.<key>``                   all-time count of the event type (or narrowed counter,
                              e.g. ``page_view[page=pricing]``)
``n.<key>.<d>d``              count in the last ``d`` UTC days
``last.<key>``                epoch seconds of the latest such event (NaN: never)
``last_activity``             epoch seconds of the lead's last own activity
============================  ==============================================

:func:`leadlife.scoring.batch.lead_frame` builds that frame from leads.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from numbers import Real
from typing import TYPE_CHECKING, Any

import attrs
from pydantic import ValidationError

from leadlife.behaviour import window_count
from leadlife.errors import FeatureSchemaError
from leadlife.lead import Lead
from leadlife.scoring.model import (
    FREE_MAIL_DOMAINS,
    EngagementRule,
    EventWhen,
    FieldWhen,
    FitRule,
    InactiveWhen,
    ScoringRulesModel,
    WeightedRule,
    count_column,
)
from leadlife.scoring.points import _DECIMALS as _SCORE_DECIMALS
from leadlife.scoring.protocol import Contribution
from leadlife.toml_files import parse_toml, read_toml, rulebook_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["CompiledRule", "ScoringRules", "load_scoring_rules"]

_DAY = 86_400.0
MISSING = object()  # a profile field that is not there at all


@attrs.frozen
class CompiledRule:
    """One rule, ready to run on a lead (``scalar``) or a frame (``vector``).

    ``trigger`` says when the rule can give points at all: ``("field", name)`` only
    when the profile has that field, ``("event", type)`` only when the lead did that
    event type, ``("always",)`` otherwise. The per-lead scorer skips the rest.

    ``derived`` pairs ``(column, field)``: a column derived from a profile field that
    the vector form reads instead of the field when the frame has it (``email_domain``
    for the free-mail test), so it need not split every address again.
    """

    id: str
    axis: str
    scalar: Callable[[Lead, float], tuple[float, Any]]
    vector: Callable[[pd.DataFrame, float], np.ndarray]
    columns: tuple[str, ...]
    trigger: tuple[str, ...] = ("always",)
    derived: tuple[tuple[str, str], ...] = ()


class ScoringRules:
    """A validated, compiled scoring rulebook. Build one with :func:`load_scoring_rules`."""

    def __init__(self, model: ScoringRulesModel, *, source: str = "<dict>"):
        self.model = model
        self.source = source
        self.name = model.name
        self.rules: list[CompiledRule] = []
        for index, fit in enumerate(model.fit):
            self.rules.append(_compile_fit(fit, f"fit.{index}", model))
        for index, engagement in enumerate(model.engagement):
            self.rules.append(_compile_engagement(engagement, f"engagement.{index}", model))
        for index, weighted in enumerate(model.weighted):
            self.rules.append(_compile_weighted(weighted, f"weighted.{index}"))
        self.grades = sorted(model.grades.items(), key=lambda item: item[1], reverse=True)
        self.total_cap = model.total_cap

    def __reduce__(self) -> tuple[Any, ...]:
        # The compiled closures do not pickle; the validated model does, and compiles
        # again on the other side (worker processes, a Dask cluster).
        return _rebuild, (self.model, self.source)

    def counters(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Narrowed counters the rules read: ``{event type: {key: data to match}}``."""
        return self.model.counters()

    @property
    def columns(self) -> list[str]:
        """The snapshot columns the rules read, in first-use order."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            seen.update(dict.fromkeys(rule.columns))
        return list(seen)

    @property
    def count_columns(self) -> dict[str, tuple[str, int | None]]:
        """The count columns the rules read: ``{column: (counter, within_days)}``.

        A column's name cannot be read back: ``n.video.30d`` is the all-time count of
        an event type named ``video.30d`` as well as the 30-day count of ``video``.
        """
        return {
            count_column(counter, window): (counter, window)
            for _, counter, window in self.model.counts()
        }

    @property
    def derived_columns(self) -> dict[str, str]:
        """Derived columns the vector path prefers when present: ``{column: field}``."""
        derived: dict[str, str] = {}
        for rule in self.rules:
            derived.update(rule.derived)
        return derived

    def grade(self, fit: float) -> str:
        """The fit grade of a fit score."""
        # Fit points added in another order differ in the last bit (0.7 + 0.2 + 0.1 is
        # 0.9999999999999999): rounded as scores are, a fit of 1 reaches a threshold of 1
        # on every path.
        fit = round(fit, _SCORE_DECIMALS)
        for name, threshold in self.grades:
            if fit >= threshold:
                return name
        return self.model.lowest_grade

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> ScoringRules:
        """Validate a scoring rulebook given as a mapping."""
        try:
            model = ScoringRulesModel.model_validate(data)
        except ValidationError as exc:
            raise rulebook_error(exc, source, docs="docs/scoring.md") from None
        return cls(model, source=source)

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<toml>") -> ScoringRules:
        """Validate a scoring rulebook written in TOML."""
        return cls.from_dict(parse_toml(text, source), source=source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ScoringRules:
        """Read and validate a TOML scoring rulebook file."""
        text, source = read_toml(path)
        return cls.from_toml(text, source=source)


def _rebuild(model: ScoringRulesModel, source: str) -> ScoringRules:
    return ScoringRules(model, source=source)


def load_scoring_rules(
    source: ScoringRules | Mapping[str, Any] | str | os.PathLike[str],
) -> ScoringRules:
    """:class:`ScoringRules` from itself, a mapping, or a TOML file path."""
    if isinstance(source, ScoringRules):
        return source
    if isinstance(source, Mapping):
        return ScoringRules.from_dict(source)
    return ScoringRules.load(source)


# -- snapshot reads -------------------------------------------------------------------


def _count(lead: Lead, event: str, within_days: int | None, now: float) -> int:
    if within_days is None:
        return lead.behaviour.total(event)
    return lead.behaviour.count_ts(event, within_days, now)


def clamp(points: float, cap: float | None) -> float:
    """``points`` limited to ``[-cap, cap]`` (unlimited when ``cap`` is None)."""
    if cap is None:
        return points
    return max(-cap, min(cap, points))


# -- fit ------------------------------------------------------------------------------


def field_test(
    when: FieldWhen,
) -> tuple[Callable[[Any], bool], Callable[[pd.Series], pd.Series]]:
    """The scalar and vector forms of one field test.

    Except for numeric ranges, the vector form runs the scalar test once per distinct
    value of the column (a category's categories, or the column's factorised values)
    and spreads the answers with the codes: the two paths share one definition, and
    profile columns repeat their values (industries, titles, cities) so that is cheap.
    """
    if when.min is not None or when.max is not None:
        low = -math.inf if when.min is None else when.min
        high = math.inf if when.max is None else when.max

        def between(value: Any) -> bool:
            number = _number(value)
            return number is not None and low <= number <= high

        def between_v(col: pd.Series) -> pd.Series:
            return _as_numbers(col).between(low, high).fillna(False)

        return between, between_v
    test: Callable[[Any], bool]
    if when.exists is not None:
        wanted = when.exists

        def exists(value: Any) -> bool:
            return (_text(value) not in (None, "")) is wanted

        test = exists
    elif when.in_ is not None:
        choices = list(when.in_)

        def in_(value: Any) -> bool:
            try:
                return value is not MISSING and value in choices
            except TypeError:
                return False

        test = in_
    elif when.matches == "free_mail":

        def free_mail(value: Any) -> bool:
            text = _text(value)
            return text is not None and _domain(text) in FREE_MAIL_DOMAINS

        def free_mail_v(col: pd.Series) -> pd.Series:
            import pandas as pd

            if isinstance(col.dtype, pd.CategoricalDtype):
                return _per_distinct(col, free_mail)
            # E-mail addresses rarely repeat but their domains do: test each domain once.
            # The split is the one per-row step; strings take the inline fast path.
            domains = pd.Series(
                [
                    v.rpartition("@")[2]
                    if v.__class__ is str
                    else (None if (t := _text(v)) is None else t.rpartition("@")[2])
                    for v in col.to_numpy(dtype=object)
                ],
                index=col.index,
                dtype=object,
            )
            return _per_distinct(
                domains, lambda d: d is not MISSING and _domain(d) in (FREE_MAIL_DOMAINS)
            )

        return free_mail, free_mail_v
    elif when.matches is not None:
        pattern = re.compile(when.matches)

        def matches(value: Any) -> bool:
            text = _text(value)
            return text is not None and pattern.search(text) is not None

        test = matches
    else:
        target = when.equals

        def equals(value: Any) -> bool:
            return value is not MISSING and bool(value == target)

        test = equals
    return test, lambda col: _per_distinct(col, test)


def _per_distinct(col: pd.Series, test: Callable[[Any], Any], dtype: type = bool) -> pd.Series:
    """``test`` once per distinct value of ``col``, gathered back to rows by code."""
    import numpy as np
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        distinct = col.cat.categories.to_numpy(dtype=object)
    else:
        values = col.to_numpy(dtype=object)
        try:
            codes, distinct = pd.factorize(values, use_na_sentinel=True)
        except TypeError:  # a list or a table in the column (a form's multi-select)
            return _per_distinct_unhashable(col, values, test, dtype)
        if len(distinct) and pd.api.types.infer_dtype(values, skipna=True) not in _ONE_KIND:
            codes, distinct = _per_type(values, codes)
    # code -1 (missing) reads the answer for a missing value, kept last in the table
    table: np.ndarray = np.array([test(value) for value in distinct] + [test(MISSING)], dtype=dtype)
    return pd.Series(table[codes], index=col.index)


def _per_distinct_unhashable(
    col: pd.Series, values: np.ndarray, test: Callable[[Any], Any], dtype: type
) -> pd.Series:
    """:func:`_per_distinct` for a column holding values that do not hash (lists, tables):
    the rest as usual, and each unhashable cell tested on its own (such cells are few)."""
    import numpy as np
    import pandas as pd

    # Which cells cannot hash, by their type: one look per distinct type, not per cell.
    type_codes, types = pd.factorize(
        np.fromiter(map(type, values), dtype=object, count=len(values))
    )
    loose = np.array([kind.__hash__ is None for kind in types], dtype=bool)[type_codes]
    out: np.ndarray = np.empty(len(values), dtype=dtype)
    kept = ~loose
    out[kept] = _per_distinct(pd.Series(values[kept], dtype=object), test, dtype).to_numpy()
    out[loose] = [test(value) for value in values[loose]]
    return pd.Series(out, index=col.index)


# What pandas infers for distinct values of one kind, among which equal means same text.
_ONE_KIND = frozenset({"string", "boolean", "integer", "floating", "empty"})


def _per_type(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values that tell ``1``, ``1.0`` and ``True`` apart.

    ``pd.factorize`` takes equal values for one, but their texts differ (``"1"``,
    ``"1.0"``, ``"True"``), as do the per-lead rules' answers. Only columns mixing
    kinds of values come here.
    """
    import numpy as np
    import pandas as pd

    kinds = pd.factorize(np.fromiter(map(type, values), dtype=object, count=len(values)))[0]
    present = codes >= 0
    keyed = codes[present].astype(np.int64) * (int(kinds.max()) + 1) + kinds[present]
    present_codes, _ = pd.factorize(keyed)  # numbered in order of first appearance
    new_codes = np.full(len(values), -1, dtype=np.intp)
    new_codes[present] = present_codes
    first = np.unique(present_codes, return_index=True)[1]
    return new_codes, values[present][first]


def _text(value: Any) -> str | None:
    """A value as the text pandas' string dtype would give it (None for missing)."""
    if value is None or value is MISSING or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def _number(value: Any) -> float | None:
    """A value as pandas' ``to_numeric(errors="coerce")`` reads it (None for NaN/missing).

    Infinities ("inf", "1e999" in a form field) are no number either: no rule can
    weigh them, and a sum holding one of each sign has no value.
    """
    if isinstance(value, Real | Decimal):  # databases give NUMERIC columns as Decimal
        number = float(value)
    elif isinstance(value, str):
        # Python's float() also reads '1_000' and non-ASCII digits; pandas does not.
        if not value.isascii() or "_" in value:
            return None
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _domain(text: str) -> str:
    return text.rsplit("@", 1)[-1].strip().lower()


_RAW_BYTES = (bytes, bytearray, memoryview)
_MAY_HOLD_BYTES = frozenset({"bytes", "mixed", "mixed-integer", "mixed-integer-float"})


def _as_numbers(col: pd.Series) -> pd.Series:
    import numpy as np
    import pandas as pd

    # pandas reads b"120" as 120; the per-event path (_number) reads no number in
    # bytes, and both must score a lead alike. infer_dtype scans in C: the per-cell
    # test runs only on a column that may hold bytes.
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) in _MAY_HOLD_BYTES:
        raw = col.map(type).isin(_RAW_BYTES)
        if raw.any():
            col = col.mask(raw)
    numbers = pd.to_numeric(col, errors="coerce").astype(float)
    return numbers.where(np.isfinite(numbers))  # infinities are missing, as in _number


def _compile_fit(rule: FitRule, default_id: str, model: ScoringRulesModel) -> CompiledRule:
    rule_id = rule.id or default_id
    name = rule.when.field
    test, test_v = field_test(rule.when)
    points = clamp(rule.points, rule.max_points)

    def scalar(lead: Lead, now: float) -> tuple[float, Any]:
        value = lead.profile.get(name, MISSING)
        if test(value):
            return points, None if value is MISSING else value
        return 0.0, None

    derived: tuple[tuple[str, str], ...] = ()
    if rule.when.matches == "free_mail":
        domain = domain_column(name)
        derived = ((domain, name),)
        by_domain = _per_distinct_domain

        def vector(frame: pd.DataFrame, now: float) -> np.ndarray:
            import numpy as np

            if domain in frame.columns:
                mask = by_domain(frame[domain]).to_numpy(dtype=bool)
            else:
                mask = test_v(_column(frame, name)).to_numpy(dtype=bool)
            return np.where(mask, points, 0.0)

    else:

        def vector(frame: pd.DataFrame, now: float) -> np.ndarray:
            import numpy as np

            mask = test_v(_column(frame, name)).to_numpy(dtype=bool)
            return np.where(mask, points, 0.0)

    trigger = ("always",) if test(MISSING) else ("field", name)
    return CompiledRule(rule_id, "fit", scalar, vector, (name,), trigger, derived)


def domain_column(field: str) -> str:
    """The derived column holding the domain of an e-mail field: ``email`` → ``email_domain``."""
    return f"{field}_domain"


def domain_of(value: Any) -> str | None:
    """The normalised domain of an e-mail address, as the free-mail test reads it."""
    text = _text(value)
    return None if text is None else _domain(text)


def _per_distinct_domain(col: pd.Series) -> pd.Series:
    """Free-mail test on a column of domains (a ``category`` column makes it nearly free)."""
    return _per_distinct(col, lambda d: d is not MISSING and domain_of(d) in FREE_MAIL_DOMAINS)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    import pandas as pd

    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


# -- engagement -------------------------------------------------------------------------


def _decay(model: ScoringRulesModel, rule_decays: bool) -> tuple[float, float] | None:
    if not rule_decays or model.half_life_days is None:
        return None
    return model.half_life_days * _DAY, model.decay_floor


def _compile_engagement(
    rule: EngagementRule, default_id: str, model: ScoringRulesModel
) -> CompiledRule:
    rule_id = rule.id or default_id
    when = rule.when
    cap = rule.max_points
    if isinstance(when, InactiveWhen):
        limit = when.inactive_days * _DAY
        points = clamp(rule.points, cap)

        def inactive(lead: Lead, now: float) -> tuple[float, Any]:
            idle = lead.idle_ts
            if idle is not None and now - idle >= limit:
                return points, round((now - idle) / _DAY, 6)
            return 0.0, None

        def inactive_v(frame: pd.DataFrame, now: float) -> np.ndarray:
            import numpy as np

            idle = _numbers(frame, "last_activity")
            with np.errstate(invalid="ignore"):
                return np.where(now - idle >= limit, points, 0.0)

        return CompiledRule(rule_id, "engagement", inactive, inactive_v, ("last_activity",))
    assert isinstance(when, EventWhen)
    event, window, least = when.key, when.within_days, when.min_count
    count_col = count_column(event, window)
    last_col = f"last.{event}"
    every = rule.fires != "once"
    decay = _decay(model, rule.decays)
    base = rule.points

    high = math.inf if cap is None else cap
    half, floor = (1.0, 1.0) if decay is None else decay

    def engaged(lead: Lead, now: float) -> tuple[float, Any]:
        # Runs per event for every triggered rule: one counter lookup, no helper calls.
        entry = lead.behaviour.entry(event)
        if entry is None:
            return 0.0, None
        n = entry[0] if window is None else window_count(entry[3], window, now)
        if n < least:
            return 0.0, None
        points = base * n if every else base
        if points > high:
            points = high
        elif points < -high:
            points = -high
        if decay is not None:
            last = entry[2]
            age = 0.0 if last > now else now - last
            points *= floor + (1.0 - floor) * 2.0 ** (-age / half)
        return points, n

    def engaged_v(frame: pd.DataFrame, now: float) -> np.ndarray:
        import numpy as np

        # Work on the rows that fire only (a few percent for most rules), in place.
        n = _numbers(frame, count_col, count=True)  # floats: None, NA and text compare too
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero(n >= least)  # NaN counts never fire
        out = np.zeros(len(n))
        if rows.size == 0:
            return out
        points = base * n[rows].astype(float) if every else np.full(rows.size, float(base))
        if cap is not None:
            np.clip(points, -cap, cap, out=points)
        if decay is not None:
            age = now - _numbers(frame, last_col)[rows]
            np.fmax(age, 0.0, out=age)  # never (NaN) and future both count as fresh
            age *= -1.0 / half
            np.exp2(age, out=age)
            age *= 1.0 - floor
            age += floor
            points *= age
        out[rows] = points
        return out

    columns = (count_col, last_col) if decay is not None else (count_col,)
    return CompiledRule(rule_id, "engagement", engaged, engaged_v, columns, ("event", event))


def _numbers(frame: pd.DataFrame, name: str, *, count: bool = False) -> np.ndarray:
    """A count or time column as floats, NaN for missing (a column the frame lacks too).

    Times are epoch seconds; a column of timezone-aware datetimes is read as its
    moments' epoch seconds (NaT: never). A naive datetime column, a cell that is no
    number, an infinity, or with ``count`` a negative number (no lead has any of them)
    is a :class:`~leadlife.errors.FeatureSchemaError` naming the column.
    """
    import numpy as np
    import pandas as pd

    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    column = frame[name]
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        # Cast as is, a datetime column gives nanoseconds (or another unit) since 1970.
        seconds = (column - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        moments: np.ndarray = seconds.to_numpy(dtype=float, na_value=np.nan)
        return moments  # finite: pandas' datetimes end in 2262
    if pd.api.types.is_datetime64_dtype(column.dtype):
        raise FeatureSchemaError(
            f"column {name!r} holds datetimes without a timezone, so the moments they "
            "stand for cannot be told",
            f"give the timezone they are in, e.g. frame[{name!r}].dt.tz_localize('UTC'), "
            "or epoch seconds",
            column=name,
        )
    try:
        values: np.ndarray = column.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        # Only a column holding something that is no number comes here: name the first.
        cells = column.to_numpy(dtype=object)
        numbers = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy()
        bad = cells[pd.isna(numbers) & ~pd.isna(cells)][0]
        raise FeatureSchemaError(
            f"column {name!r} holds {bad!r}, which is not a number",
            "give counts, and times as epoch seconds (or timezone-aware datetimes), as "
            "numbers; leave a cell empty (NaN or None) for a count of 0 or a time of never",
            column=name,
        ) from None
    # inf would score inf (and inf - inf under a cap); a negative count, negative points.
    impossible = np.isinf(values)
    if count:
        impossible |= values < 0
    if impossible.any():
        cell = column.iloc[int(np.argmax(impossible))]
        kind = "a count is a number of 0 or more" if count else "a time is finite"
        raise FeatureSchemaError(
            f"column {name!r} holds {cell!r}, which no lead can have ({kind})",
            "give counts of 0 or more, and times as epoch seconds; leave a cell empty "
            "(NaN or None) for a count of 0 or a time of never",
            column=name,
        )
    return values


# -- weighted -----------------------------------------------------------------------------


def _compile_weighted(rule: WeightedRule, default_id: str) -> CompiledRule:
    rule_id = rule.id or default_id
    weight, cap = rule.weight, rule.max_points
    if rule.event is not None:
        event, window = rule.event, rule.within_days
        count_col = count_column(event, window)

        def counted(lead: Lead, now: float) -> tuple[float, Any]:
            n = _count(lead, event, window, now)
            return (clamp(weight * n, cap), n) if n else (0.0, None)

        def counted_v(frame: pd.DataFrame, now: float) -> np.ndarray:
            import numpy as np

            counts = _numbers(frame, count_col, count=True)
            points: np.ndarray = weight * np.nan_to_num(counts, nan=0.0)
            return points if cap is None else np.clip(points, -cap, cap)

        return CompiledRule(rule_id, rule.axis, counted, counted_v, (count_col,), ("event", event))
    name = rule.field
    assert name is not None
    values, default = rule.values, rule.default
    if values is not None:
        table = dict(values)

        def category(lead: Lead, now: float) -> tuple[float, Any]:
            value = lead.profile.get(name)
            return clamp(weight * category_score(value), cap), value

        def category_score(value: Any) -> float:
            text = _text(value)
            return default if text is None else table.get(text, default)

        def category_v(frame: pd.DataFrame, now: float) -> np.ndarray:
            import numpy as np

            scores = _per_distinct(_column(frame, name), category_score, float)
            points: np.ndarray = weight * scores.to_numpy(dtype=float)
            return points if cap is None else np.clip(points, -cap, cap)

        trigger = ("always",) if default else ("field", name)
        return CompiledRule(rule_id, rule.axis, category, category_v, (name,), trigger)

    def numeric(lead: Lead, now: float) -> tuple[float, Any]:
        value = lead.profile.get(name)
        number = _number(value)
        if number is not None:
            return clamp(weight * number, cap), value
        return 0.0, None

    def numeric_v(frame: pd.DataFrame, now: float) -> np.ndarray:
        import numpy as np

        numbers = _as_numbers(_column(frame, name)).to_numpy(dtype=float)
        points: np.ndarray = weight * np.nan_to_num(numbers, nan=0.0)
        return points if cap is None else np.clip(points, -cap, cap)

    return CompiledRule(rule_id, rule.axis, numeric, numeric_v, (name,), ("field", name))


# -- errors ---------------------------------------------------------------------------------


def contributions_of(rules: ScoringRules, lead: Lead, now: float) -> list[Contribution]:
    """Every non-zero contribution of ``rules`` to ``lead``'s score at ``now``, unsorted."""
    found = []
    for rule in rules.rules:
        points, value = rule.scalar(lead, now)
        if points:
            found.append(Contribution(rule.id, points, value))
    return found
