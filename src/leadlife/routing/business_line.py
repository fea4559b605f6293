"""The business-line router: key accounts (KA) by company size, the long tail elsewhere.

Company size comes from registry data in the profile (``company_verified`` events or
enrichment): ``registered_capital``, ``employees`` and the ``sme`` tag.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Literal

from leadlife.lead import Lead
from leadlife.routing.config import BusinessLineSpec
from leadlife.routing.decision import RouteDecision
from leadlife.routing.frames import decisions_frame, distinct, true_mask
from leadlife.values import FrozenDict

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = ["BusinessLineRouter", "Segment", "size_number"]

Segment = Literal["key_account", "long_tail"]


class BusinessLineRouter:
    """Sends big companies to the key-account team and small ones to the long-tail team.

    In order:

    1. ``sme`` is True (the registry tags it a small or medium enterprise): long tail;
    2. ``registered_capital`` at least ``min_registered_capital``, or ``employees`` at
       least ``min_employees``: key accounts (either threshold is enough);
    3. a size known for a configured threshold, below it: long tail;
    4. otherwise (no size data, or only for a threshold that is not configured): None,
       since the lead cannot be placed before enrichment; ``sme`` False alone says
       "not small" but not "key account", so it does not decide either.

    The long tail goes to ``long_tail_team``; without one, long-tail leads pass to
    the next router (None). Sizes may be numbers or numeric strings (``"5000000"``,
    ``"5,000,000"``); anything else (a negative, NaN, a bool, ``"n/a"``) counts as
    unknown. ``sme`` counts only as a bool.

    :param spec: the teams and thresholds.
    :param path: where ``spec`` sits in the routing configuration (kept for errors;
        the spec needs no checks beyond its schema).
    :param source: the file the configuration came from.
    """

    name = "business_line"

    def __init__(
        self, spec: BusinessLineSpec, *, path: str = "routers.business_line", source: str = "<dict>"
    ):
        self.spec = spec
        self.path = path
        self.source = source

    def __repr__(self) -> str:
        return (
            f"BusinessLineRouter(key_account_team={self.spec.key_account_team!r}, "
            f"long_tail_team={self.spec.long_tail_team!r})"
        )

    def segment(self, lead: Lead) -> tuple[Segment, str, dict[str, Any]] | None:
        """``(segment, why, evidence)`` for the lead, or None when its size is unknown."""
        profile = lead.profile
        sme = profile.get("sme")
        capital = size_number(profile.get("registered_capital"))
        employees = size_number(profile.get("employees"))
        if sme is not True and capital is None and employees is None:
            return None  # most leads, before enrichment: decide nothing, build nothing
        found = self._segment(sme is True, capital, employees)
        if found is None:
            return None
        evidence: dict[str, Any] = {
            "sme": sme if isinstance(sme, bool) else None,
            "registered_capital": capital,
            "employees": employees,
        }
        return found[0], found[1], evidence

    def _segment(
        self, sme: bool, capital: float | None, employees: float | None
    ) -> tuple[Segment, str] | None:
        """``(segment, why)`` from the SME tag (True or not) and the sizes, or None."""
        spec = self.spec
        if sme:
            return "long_tail", "the registry tags the company an SME"
        reasons: list[str] = []
        below: list[str] = []
        if capital is not None and spec.min_registered_capital is not None:
            threshold = spec.min_registered_capital
            if capital >= threshold:
                reasons.append(
                    f"registered capital {_show(capital)} is at least {_show(threshold)}"
                )
            else:
                below.append(f"registered capital {_show(capital)} is below {_show(threshold)}")
        if employees is not None and spec.min_employees is not None:
            if employees >= spec.min_employees:
                reasons.append(f"{_show(employees)} employees is at least {spec.min_employees}")
            else:
                below.append(f"{_show(employees)} employees is below {spec.min_employees}")
        if reasons:
            return "key_account", " and ".join(reasons)
        if below:
            return "long_tail", " and ".join(below)
        return None

    def _team(self, segment: Segment, why: str) -> tuple[str, str] | None:
        """``(team, reason)`` for a segment, or None for the long tail without a team."""
        if segment == "key_account":
            team = self.spec.key_account_team
            return team, f"{why}: key-account team {team}"
        if self.spec.long_tail_team is None:
            return None
        team = self.spec.long_tail_team
        return team, f"{why}: long-tail team {team}"

    def route(self, lead: Lead) -> RouteDecision | None:
        """The key-account or long-tail team for the lead, or None (see the class)."""
        found = self.segment(lead)
        if found is None:
            return None
        segment, why, evidence = found
        decided = self._team(segment, why)
        if decided is None:
            return None
        team, reason = decided
        evidence["segment"] = segment
        # Read-only: the lead keeps it (see ExistingAccountRouter.route).
        return RouteDecision(
            router=self.name, reason=reason, team=team, evidence=FrozenDict(evidence)
        )

    def route_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The decisions for many leads at once: one row per row of ``frame`` (same index),
        columns ``team``, ``owner``, ``reason`` (object; None where the router passes).

        Row *i* is what :meth:`route` decides for a lead whose profile is the row's
        record (``frame.to_dict("records")``: numpy scalars read as Python ones), a
        None, NaN or ``pd.NA`` cell (or a missing column) counting as an absent key.
        Sizes are read once per distinct value and reasons built once per distinct
        ``(sme, registered_capital, employees)``.
        """
        import numpy as np
        import pandas as pd

        rows = len(frame)
        sme = true_mask(frame, "sme")
        capital = _sizes(frame, "registered_capital")
        employees = _sizes(frame, "employees")
        known = sme | ~np.isnan(capital) | ~np.isnan(employees)
        where = np.flatnonzero(known)
        team = np.full(rows, None, dtype=object)
        reason = np.full(rows, None, dtype=object)
        if len(where):
            # Distinct (sme, capital, employees) by bit pattern, so -0.0 stays apart from 0.0.
            capital_codes, capital_bits = pd.factorize(capital[where].view(np.int64))
            employee_codes, employee_bits = pd.factorize(employees[where].view(np.int64))
            width = len(employee_bits)
            combined = (capital_codes.astype(np.int64) * width + employee_codes) * 2 + sme[where]
            codes, combos = pd.factorize(combined)
            capital_values = np.asarray(capital_bits, dtype=np.int64).view(np.float64)
            employee_values = np.asarray(employee_bits, dtype=np.int64).view(np.float64)
            teams = np.full(len(combos), None, dtype=object)
            reasons = np.full(len(combos), None, dtype=object)
            for i, combo in enumerate(combos.tolist()):
                pair, is_sme = divmod(combo, 2)
                at_capital, at_employees = divmod(pair, width)
                found = self._segment(
                    bool(is_sme),
                    _number(capital_values[at_capital]),
                    _number(employee_values[at_employees]),
                )
                decided = None if found is None else self._team(*found)
                if decided is not None:
                    teams[i], reasons[i] = decided
            team[where] = teams[codes]
            reason[where] = reasons[codes]
        return decisions_frame(frame.index, team, reason)


def size_number(value: Any) -> float | None:
    """A company size from the profile as a non-negative finite number, or None.

    Numbers (not bools) and numeric strings count, with ``,`` or ``_`` as thousands
    separators allowed; anything else is None.
    """
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, numbers.Real):  # int, float, and numpy's numbers too
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip().replace(",", "").replace("_", ""))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _show(number: float) -> str:
    return f"{number:,.0f}" if number == int(number) else f"{number:,}"


# -- frames -----------------------------------------------------------------------------


def _number(value: np.float64) -> float | None:
    """A size from a float array, NaN meaning unknown."""
    number = float(value)
    return None if math.isnan(number) else number


def _sizes(frame: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    """:func:`size_number` of every cell of column ``name``, NaN for None."""
    import numpy as np

    rows = len(frame)
    if name not in frame.columns:
        return np.full(rows, np.nan)
    column = frame[name]
    kind = column.dtype.kind
    if kind == "b":
        return np.full(rows, np.nan)  # bools are not sizes
    if kind in "iuf":
        sizes = np.array(column.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        with np.errstate(invalid="ignore"):
            sizes[~(np.isfinite(sizes) & (sizes >= 0))] = np.nan
        return sizes
    values = column.to_numpy(dtype=object)
    codes, uniques = distinct(values)
    # Equal strings are alike; equal numbers of other types may not be (True and 1).
    by_code = np.full(len(uniques) + 1, np.nan)
    mixed = np.zeros(len(uniques) + 1, dtype=bool)
    for i, value in enumerate(uniques):
        if isinstance(value, str):
            number = size_number(value)
            if number is not None:
                by_code[i] = number
        else:
            mixed[i] = True
    out = by_code[codes]  # code -1 picks the NaN at the end
    redo = np.flatnonzero(mixed[codes])
    if len(redo):
        memo: dict[tuple[type, Any], float | None] = {}
        for row in redo.tolist():
            value = values[row]
            key = (type(value), value)
            try:
                number = memo[key]
            except KeyError:
                number = memo[key] = size_number(value)
            if number == 0:  # 0.0 and -0.0 are equal keys but show apart
                number = size_number(value)
            out[row] = math.nan if number is None else number
    return out
