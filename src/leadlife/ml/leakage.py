"""The leakage guard: columns that alone separate the label almost perfectly.

A model scoring new leads only sees what is known when a lead arrives. Columns that
sales fill in after contact (a status, a quality grade, the last call's outcome)
already encode the outcome: with them a model looks excellent in evaluation and is
useless on new leads. Such a column gives away the label on its own, so the guard
scores each column alone and warns when that single-feature ROC-AUC is near 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import rankdata
from sklearn.model_selection import StratifiedKFold

from leadlife.errors import ModelError
from leadlife.ml.encoding import _category_key, _columns, _floats, _holds_text, _objects

__all__ = ["Leak", "LeakageWarning", "check_leakage", "feature_aucs"]

_FOLDS = 5
_PRIOR_WEIGHT = 1.0  # pseudo-rows pulling a category's rate toward the overall rate
_MIN_FILLED_ROWS = 50  # fewer filled-in rows than this are too few to judge alone
_MIN_FILLED_CLASS = 10  # and each class needs this many among them


class LeakageWarning(UserWarning):
    """A feature separates the label almost perfectly on its own: probably a leak."""


@attrs.frozen(slots=True)
class Leak:
    """A column and its single-feature ROC-AUC (symmetrised: 0.5 = no signal, 1 = perfect).

    ``coverage`` is the share of rows the AUC was measured on: 1.0 for all rows, less
    when it was higher on the rows where the column is filled in.
    """

    column: str
    auc: float
    coverage: float = 1.0


def check_leakage(X: Any, y: Any, threshold: float = 0.95) -> list[Leak]:
    """The columns whose single-feature ROC-AUC reaches ``threshold``, worst first.

    Each flagged column also raises one :class:`LeakageWarning` naming it and its AUC.
    How a column is scored is described in :func:`feature_aucs`. A legitimate
    column rarely gets above 0.9 on its own; one above 0.95 usually holds
    information recorded after the outcome was known.
    """
    if not 0.5 <= threshold <= 1.0:
        raise ModelError(
            f"check_leakage threshold={threshold!r}; give an AUC between 0.5 and 1 "
            "(0.95 flags near-perfect separation)"
        )
    leaks = [leak for leak in feature_aucs(X, y) if leak.auc >= threshold]
    for leak in leaks:
        where = "" if leak.coverage == 1.0 else f" on the {leak.coverage:.0%} of rows filling it in"
        warnings.warn(
            f"column {leak.column!r} alone separates the label with ROC-AUC {leak.auc:.3f}"
            f"{where} (threshold {threshold}): it is probably filled in after contact or "
            "derived from the outcome. Fix: drop columns filled in after contact before "
            "training",
            LeakageWarning,
            stacklevel=2,
        )
    return leaks


def feature_aucs(X: Any, y: Any) -> list[Leak]:
    """Every column's single-feature ROC-AUC, highest first.

    Numeric columns are ranked by their values, with missing values put first and
    then last (the higher AUC counts), so a column missing exactly for one class is
    caught. Categorical (text) columns are ranked by each category's positive rate
    computed out-of-fold (5 stratified folds; missing is a category of its own): a
    row's score comes from the other folds only, so an identifier, whose every value
    is unique, scores 0.5 instead of 1 by memorising. The AUC is symmetrised,
    ``max(auc, 1 - auc)``: a column predicting the label backwards leaks as much.

    A column with missing values is also scored on the rows that fill it in (at least
    50, with 10 of each class), and the higher AUC counts. Fields sales fill in after
    contact are often blank for the leads nobody reached; over all rows those blanks
    dilute what the field gives away (X Education's ``Tags``: 0.92 over all rows,
    0.98 on the 64% that fill it in).
    """
    labels = _binary_labels(y)
    names, columns, n_rows = _columns(X)
    if n_rows != len(labels):
        raise ModelError(f"X has {n_rows} rows and y {len(labels)}; give one label per row")
    aucs = []
    for name, column in zip(names, columns, strict=True):
        text = _holds_text(column)
        values = _objects(column) if text else _floats(column, name)
        leak = Leak(column=name, auc=_column_auc(values, labels, text))
        filled = ~_missing_mask(values, text)
        n_filled = int(filled.sum())
        filled_positives = int(labels[filled].sum())
        if (
            n_filled < len(labels)
            and n_filled >= _MIN_FILLED_ROWS
            and min(filled_positives, n_filled - filled_positives) >= _MIN_FILLED_CLASS
        ):
            auc = _column_auc(values[filled], labels[filled], text)
            if auc > leak.auc:
                leak = Leak(column=name, auc=auc, coverage=n_filled / len(labels))
        aucs.append(leak)
    return sorted(aucs, key=lambda leak: (-leak.auc, leak.column))


def _column_auc(values: NDArray[Any], labels: NDArray[np.int8], text: bool) -> float:
    if text:
        return _auc(_out_of_fold_rates(values, labels, _folds(labels)), labels)
    return max(_numeric_auc(values, labels, -np.inf), _numeric_auc(values, labels, np.inf))


def _missing_mask(values: NDArray[Any], text: bool) -> NDArray[np.bool_]:
    if text:
        return np.array([_category_key(value) is None for value in values.tolist()], dtype=bool)
    missing: NDArray[np.bool_] = np.isnan(values)
    return missing


def _binary_labels(y: Any) -> NDArray[np.int8]:
    values = np.asarray(y)
    if values.ndim != 1:
        values = values.reshape(-1) if values.ndim == 2 and 1 in values.shape else values
    if values.ndim != 1:
        raise ModelError(f"y has shape {np.shape(y)}; give one binary label per row")
    present = pd.unique(pd.Series(values).dropna())
    if pd.Series(values).isna().any() or len(present) != 2:
        raise ModelError(
            f"y has the values {sorted(map(str, present))[:6]}; the leakage check needs a "
            "binary label with both classes and no missing values. Fix: map it to 1 "
            "(converted) and 0 (not converted) and drop rows without a label"
        )
    positive = max(present.tolist())
    labels: NDArray[np.int8] = (values == positive).astype(np.int8)
    return labels


def _folds(labels: NDArray[np.int8]) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    smallest = int(min(labels.sum(), len(labels) - labels.sum()))
    n_splits = min(_FOLDS, smallest)
    if n_splits < 2:
        return []
    splitter = StratifiedKFold(n_splits, shuffle=True, random_state=0)
    return list(splitter.split(np.zeros(len(labels)), labels))


def _out_of_fold_rates(
    values: NDArray[Any],
    labels: NDArray[np.int8],
    folds: Sequence[tuple[NDArray[np.intp], NDArray[np.intp]]],
) -> NDArray[np.float64]:
    """Each row's category's positive rate, learned on the folds the row is not in."""
    keys = [_category_key(value) for value in values.tolist()]
    codes, _ = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=False)
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    scores = np.full(len(labels), float(labels.mean()))
    for train, test in folds:
        prior = float(labels[train].mean())
        positives = np.bincount(codes[train], weights=labels[train], minlength=n_codes)
        counts = np.bincount(codes[train], minlength=n_codes)
        rates = (positives + _PRIOR_WEIGHT * prior) / (counts + _PRIOR_WEIGHT)
        scores[test] = rates[codes[test]]
    return scores


def _numeric_auc(values: NDArray[np.float64], labels: NDArray[np.int8], fill: float) -> float:
    return _auc(np.where(np.isnan(values), fill, values), labels)


def _auc(scores: NDArray[np.float64], labels: NDArray[np.int8]) -> float:
    """Symmetrised ROC-AUC by the rank-sum (Mann-Whitney) formula, ties counted half."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    ranks = rankdata(scores)
    auc = (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    return float(max(auc, 1.0 - auc))
