"""The business-line router: key accounts (KA) by company size, the long tail elsewhere.

Company size comes from registry data in the profile (``company_verified`` events or
enrichment): ``registered_capital``, ``employees`` and the ``sme`` tag.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal

from leadlife.lead import Lead
from leadlife.routing.config import BusinessLineSpec
from leadlife.routing.decision import RouteDecision

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
        spec = self.spec
        profile = lead.profile
        sme = profile.get("sme")
        capital = size_number(profile.get("registered_capital"))
        employees = size_number(profile.get("employees"))
        if sme is not True and capital is None and employees is None:
            return None  # most leads, before enrichment: decide nothing, build nothing
        evidence: dict[str, Any] = {
            "sme": sme if isinstance(sme, bool) else None,
            "registered_capital": capital,
            "employees": employees,
        }
        if sme is True:
            return "long_tail", "the registry tags the company an SME", evidence
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
            return "key_account", " and ".join(reasons), evidence
        if below:
            return "long_tail", " and ".join(below), evidence
        return None

    def route(self, lead: Lead) -> RouteDecision | None:
        """The key-account or long-tail team for the lead, or None (see the class)."""
        found = self.segment(lead)
        if found is None:
            return None
        segment, why, evidence = found
        if segment == "key_account":
            team = self.spec.key_account_team
            reason = f"{why}: key-account team {team}"
        else:
            if self.spec.long_tail_team is None:
                return None
            team = self.spec.long_tail_team
            reason = f"{why}: long-tail team {team}"
        evidence["segment"] = segment
        return RouteDecision(router=self.name, reason=reason, team=team, evidence=evidence)


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
