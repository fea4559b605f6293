"""Helpers of the routers' batch paths (``route_frame``): reading a frame of profiles
the way ``route`` reads one lead's profile, and building the decisions frame.

pandas and numpy are imported inside the functions: ``import leadlife`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadlife.lead import Lead
from leadlife.routing.decision import RouteDecision, Router

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = [
    "decisions_frame",
    "distinct",
    "missing",
    "normalize_contacts",
    "route_rows",
    "text",
    "true_mask",
]

NOT_PROFILE = frozenset({"owner", "at"})
"""Columns of ``Routing.route_frame`` that are not profile fields."""


def true_mask(frame: pd.DataFrame, name: str) -> npt.NDArray[np.bool_]:
    """Where column ``name`` holds True itself, as ``profile.get(name) is True`` tests
    (numpy's True counts: a row's values are read as Python ones)."""
    import numpy as np

    rows = len(frame)
    if name not in frame.columns:
        return np.zeros(rows, dtype=bool)
    column = frame[name]
    kind = column.dtype.kind
    if kind == "b":  # numpy's bools are Python bools once read; NA is absent
        return np.asarray(column.to_numpy(dtype=bool, na_value=False), dtype=bool)
    if kind in "iufcmM":
        return np.zeros(rows, dtype=bool)
    values = column.to_numpy(dtype=object)
    true = np.True_
    found = (value is True or value is true for value in values)
    return np.fromiter(found, dtype=bool, count=rows)


def distinct(values: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.intp], list[Any]]:
    """``(codes, uniques)`` of an object array, code -1 for None, NaN and ``pd.NA``.

    Values that cannot be hashed (lists, dicts) count as missing: no router reads them.
    Equal values of different types (``1``, ``1.0``, ``True``) share a code.
    """
    import pandas as pd

    try:
        codes, uniques = pd.factorize(values)
    except TypeError:
        values = values.copy()
        for i, value in enumerate(values):
            try:
                hash(value)
            except TypeError:
                values[i] = None
        codes, uniques = pd.factorize(values)
    return codes, list(uniques)


def decisions_frame(
    index: pd.Index, team: npt.NDArray[np.object_], reason: npt.NDArray[np.object_]
) -> pd.DataFrame:
    """The ``team``, ``owner`` (None) and ``reason`` columns of :meth:`route_frame`."""
    import numpy as np
    import pandas as pd

    owner = np.full(len(index), None, dtype=object)
    return pd.DataFrame({"team": team, "owner": owner, "reason": reason}, index=index, dtype=object)


def missing(value: object) -> bool:
    """None, NaN, pd.NA or NaT: a field the row does not know."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    import pandas as pd

    return value is pd.NA or value is pd.NaT


def text(value: object) -> str | None:
    return None if missing(value) else str(value)


def route_rows(router: Router, part: pd.DataFrame) -> pd.DataFrame:
    """``route_frame`` for a router that has none: its ``route`` on each row's lead."""
    import pandas as pd

    teams: list[str | None] = []
    owners: list[str | None] = []
    reasons: list[str | None] = []
    for values in part.to_dict("records"):
        lead = Lead("row")
        lead.profile = {k: v for k, v in values.items() if k not in NOT_PROFILE and not missing(v)}
        answer = router.route(lead)
        if isinstance(answer, str) and answer:
            answer = RouteDecision(
                router.name, f"router {router.name} chose {answer}", owner=answer
            )
        if isinstance(answer, RouteDecision):
            teams.append(answer.team)
            owners.append(answer.owner)
            reasons.append(answer.reason)
        else:
            teams.append(None)
            owners.append(None)
            reasons.append(None)
    return pd.DataFrame(
        {
            "team": pd.Series(teams, index=part.index, dtype=object),
            "owner": pd.Series(owners, index=part.index, dtype=object),
            "reason": pd.Series(reasons, index=part.index, dtype=object),
        }
    )


def normalize_contacts(frame: pd.DataFrame, phone_region: str | None = None) -> pd.DataFrame:
    """``frame`` with ``phone`` and ``email`` as the engine keeps them in a profile.

    Raw contact columns (from a CSV export, say) become what ``set_profile_field``
    makes of them when an event brings them: phone numbers in E.164 where valid, with
    ``phone_valid``; addresses trimmed and lower-cased, with ``email_valid``. Each
    distinct value is checked once. Columns already there (``phone_valid``...) are kept.
    ``phone_region`` reads numbers written without ``+country`` (ISO 3166 alpha-2).
    """
    import pandas as pd

    from leadlife.profile import check_email, read_phone

    def phone(value: Any) -> tuple[Any, bool]:
        return read_phone(value, phone_region)

    def email(value: Any) -> tuple[Any, bool]:
        return check_email(value) if isinstance(value, str) else (value, False)

    out = frame.copy()
    for name, check in (("phone", phone), ("email", email)):
        if name not in out.columns or f"{name}_valid" in out.columns:
            continue
        values = out[name].to_numpy(dtype=object)
        checked = {value: check(value) for value in pd.unique(values) if not missing(value)}
        out[name] = pd.Series(
            [checked[v][0] if v in checked else None for v in values], index=out.index, dtype=object
        )
        out[f"{name}_valid"] = pd.Series(
            [checked[v][1] if v in checked else None for v in values], index=out.index, dtype=object
        )
    return out
