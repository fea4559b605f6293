"""Scoring many leads at once: a frame of lead snapshots in, a frame of scores out.

Every rule runs once over whole columns (numpy and pandas masks); nothing here loops
over rows in Python except the optional human-readable ``reasons`` column.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from leadlife.clock import aware_ts
from leadlife.errors import FeatureSchemaError, InvalidArgumentError
from leadlife.lead import Lead
from leadlife.scoring.points import _DECIMALS as _SCORE_DECIMALS
from leadlife.scoring.rules import ScoringRules, domain_of

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["lead_frame", "score_frame"]


def score_frame(
    frame: pd.DataFrame,
    rules: ScoringRules,
    now: datetime,
    *,
    reasons: int = 0,
    decimals: int = _SCORE_DECIMALS,
) -> pd.DataFrame:
    """Score every row of ``frame`` (snapshot columns, see :mod:`leadlife.scoring.rules`).

    Returns a frame on ``frame``'s index with ``score``, ``fit``, ``engagement``,
    ``grade`` and one ``points.<rule id>`` column per rule (the contributions; with
    ``total_cap`` when the cap bites, they add up to ``score``). ``reasons=k`` adds a
    ``reasons`` column with the ``k`` largest contributions as text; a contribution
    that rounds to 0 at ``decimals`` places (as scores are rounded; pass the places the
    scores are written with) is no reason and is left out. ``now`` must be
    timezone-aware (else :class:`~leadlife.errors.InvalidTimeError`).
    """
    import numpy as np
    import pandas as pd

    # A naive moment would be read in the machine's local zone: refused, as the engine does.
    now_ts = aware_ts(now, "now")
    if reasons < 0:  # as a slice end it would list all but the smallest contributions
        raise InvalidArgumentError(
            "reasons", f"{reasons!r} is negative", "give how many contributions to list, 0 for none"
        )
    _check_frame(frame, rules)
    n = len(frame)
    columns: dict[str, np.ndarray] = {}
    fit = np.zeros(n)
    engagement = np.zeros(n)
    for rule in rules.rules:
        points = np.asarray(rule.vector(frame, now_ts), dtype=float)
        columns[f"points.{rule.id}"] = points
        if rule.axis == "fit":
            fit += points
        else:
            engagement += points
    score = fit + engagement
    cap = rules.total_cap
    if cap is not None:
        columns["points.total_cap"] = np.minimum(cap - score, 0.0)
        score = np.minimum(score, cap)  # exactly the cap when it bites
    # Grades as a categorical: integer codes from the thresholds, no per-row strings.
    names = [name for name, _ in rules.grades] + [rules.model.lowest_grade]
    codes = np.full(n, len(names) - 1, dtype=np.int8)
    graded = np.round(fit, _SCORE_DECIMALS)  # as ScoringRules.grade reads the fit
    for index in range(len(rules.grades) - 1, -1, -1):  # best grade written last wins
        codes[graded >= rules.grades[index][1]] = index
    grade = (
        pd.Categorical.from_codes(codes, categories=pd.Index(names).unique())
        if len(set(names)) == len(names)
        else np.array(names, dtype=object)[codes]
    )
    result = pd.DataFrame(
        {"score": score, "fit": fit, "engagement": engagement, "grade": grade, **columns},
        index=frame.index,
        copy=False,
    )
    if reasons:
        matrix = np.column_stack(list(columns.values())) if columns else np.zeros((n, 0))
        result["reasons"] = _reasons(matrix, list(columns), reasons, decimals)
    return result


def _check_frame(frame: pd.DataFrame, rules: ScoringRules) -> None:
    """Refuse what the rules cannot read by column name: not a frame, or a frame naming
    a column the rules read more than once (a merge or a concat can)."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        one = " (one lead's row: frame.iloc[[0]], a list inside, keeps it a frame)"
        raise FeatureSchemaError(
            f"frame is a {type(frame).__name__}, not a DataFrame of lead snapshots",
            "give a pandas DataFrame, one row per lead"
            + (one if isinstance(frame, pd.Series) else ""),
        )
    if frame.columns.is_unique:
        return
    read = set(rules.columns) | set(rules.derived_columns)
    repeated = [
        str(name) for name in frame.columns[frame.columns.duplicated()].unique() if name in read
    ]
    if repeated:
        raise FeatureSchemaError(
            f"the frame names {', '.join(map(repr, repeated))} more than once, so which "
            "column the rules should read cannot be told",
            "give every column the rules read one name: drop or rename the repeats, e.g. "
            "frame.loc[:, ~frame.columns.duplicated()] keeps the first of each",
            unexpected=repeated,
        )


def _reasons(matrix: np.ndarray, names: list[str], k: int, decimals: int) -> list[str]:
    import numpy as np

    if matrix.shape[1] == 0:
        return [""] * matrix.shape[0]
    order = np.argsort(-np.abs(matrix), axis=1, kind="stable")[:, :k]
    labels = np.array([name.removeprefix("points.") for name in names], dtype=object)
    # Rounded as scores are, so a contribution decayed to +7.4e-208 is no reason, as an
    # exact 0 is none; adding 0.0 turns -0.0 into 0.0.
    picked = np.round(np.take_along_axis(matrix, order, axis=1), decimals) + 0.0
    texts = []
    for row_labels, row_points in zip(labels[order], picked, strict=True):
        texts.append(
            ", ".join(
                f"{label} {points:+g}"
                for label, points in zip(row_labels, row_points, strict=True)
                if points
            )
        )
    return texts


def lead_frame(leads: Iterable[Lead], rules: ScoringRules, now: datetime) -> pd.DataFrame:
    """The snapshot frame of ``leads`` that ``rules`` read at ``now`` (timezone-aware),
    indexed by lead id."""
    import numpy as np
    import pandas as pd

    now_ts = aware_ts(now, "now")  # a naive moment: refused, as in score_frame
    leads = list(leads)
    data: dict[str, list[object]] = {}
    counts = rules.count_columns
    for column in rules.columns:
        if column == "last_activity":
            data[column] = [np.nan if (t := lead.idle_ts) is None else t for lead in leads]
        elif column in counts:
            event, window = counts[column]
            if window is not None:
                data[column] = [lead.behaviour.count_ts(event, window, now_ts) for lead in leads]
            else:
                data[column] = [lead.behaviour.total(event) for lead in leads]
        elif column.startswith("last."):
            event = column.removeprefix("last.")
            data[column] = [
                np.nan if (t := lead.behaviour.last_ts(event)) is None else t for lead in leads
            ]
        else:
            data[column] = [lead.profile.get(column) for lead in leads]
    for column, field in rules.derived_columns.items():
        data[column] = [domain_of(lead.profile.get(field)) for lead in leads]
    index = pd.Index([lead.id for lead in leads], name="lead_id")
    # Profile values keep their Python types (object columns): letting pandas infer a
    # float column would turn the category 1 into "1.0".
    return pd.DataFrame(
        {
            column: pd.Series(values, index=index, dtype=object if _is_field(column) else None)
            for column, values in data.items()
        },
        index=index,
    )


def _is_field(column: str) -> bool:
    return column != "last_activity" and not column.startswith(("n.", "last."))
