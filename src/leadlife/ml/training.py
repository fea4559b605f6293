"""Train a lead-scoring model from a table of leads: :func:`train`.

The workflow is the one sales analytics teams run by hand: load the leads with
pandas and clean them, hold out a stratified tenth, fit a RandomForest (or
HistGradientBoosting, or any scikit-learn classifier), optionally tune it with a
randomized search, and measure it on the holdout. :func:`train` does all of it in
one call, refuses to train on too few conversions, and warns about columns that
leak the label.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from numbers import Real
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from leadlife.errors import (
    FeatureSchemaError,
    InsufficientDataError,
    InvalidArgumentError,
    ModelError,
)
from leadlife.ml.encoding import (
    LABEL_SPELLINGS,
    clean_frame,
    label_flag,
    refuse_mixed_column_names,
    refuse_repeated_columns,
)
from leadlife.ml.estimators import make_estimator
from leadlife.ml.evaluation import EvaluationReport, evaluate, whole_argument
from leadlife.ml.leakage import check_leakage
from leadlife.ml.persistence import hash_frame, save_model
from leadlife.ml.scorer import ModelScorer

__all__ = [
    "ESTIMATOR_KINDS",
    "SEARCH_SPACES",
    "TrainingResult",
    "check_header_names",
    "read_training_csv",
    "search_space",
    "train",
]

ESTIMATOR_KINDS = ("random_forest", "hist_gradient_boosting")

# The default randomized-search spaces, by estimator kind. Keys are parameters of the
# estimator itself. They are wide enough that 20 draws rarely miss a good region;
# every space is larger than any sane n_iter, so no draw repeats.
SEARCH_SPACES: Mapping[str, Mapping[str, Any]] = {
    "random_forest": {
        "max_features": ["sqrt", "log2", 0.2, 0.35, 0.5, 0.7],
        "min_samples_leaf": [1, 2, 3, 5, 8, 13, 21, 34, 55],
        "max_depth": [None, 8, 12, 16, 24],
        "max_samples": [None, 0.5, 0.7, 0.9],
    },
    "hist_gradient_boosting": {
        "learning_rate": loguniform(0.02, 0.3),
        "max_leaf_nodes": randint(8, 64),
        "min_samples_leaf": randint(5, 120),
        "l2_regularization": loguniform(1e-4, 10.0),
        "max_features": uniform(0.4, 0.6),
        "max_iter": [100, 200, 300],
    },
}

Progress = Callable[[str], None]


@attrs.frozen(eq=False)
class TrainingResult:
    """A trained model with what it was measured on and what it was trained from.

    ``report`` measures ``model`` on the holdout ``X_test``, ``y_test`` (never seen
    in fitting or search). ``data_hash`` identifies the cleaned table it learned from
    (see :func:`~leadlife.ml.persistence.hash_frame`). ``leaks`` lists the columns
    the leakage guard flagged. ``params`` are the fitted estimator's parameters
    (after the search, the winning ones); ``search_results`` has one row per
    candidate of the search, best first, or is None without a search.
    """

    model: Any
    report: EvaluationReport
    X_test: pd.DataFrame
    y_test: pd.Series
    data_hash: str
    leaks: tuple[Any, ...]
    params: dict[str, Any]
    label: str
    train_rows: int
    search_results: pd.DataFrame | None = None

    def save(self, path: str | os.PathLike[str], **options: Any) -> Path:
        """Save the model as the next version of ``path`` (see :func:`save_model`)."""
        return save_model(self, path, **options)


def train(
    frame: pd.DataFrame | str | os.PathLike[str],
    label: str,
    *,
    estimator: Any = "random_forest",
    test_size: float = 0.1,
    search: bool | Mapping[str, Any] = False,
    n_iter: int = 20,
    cv: int = 5,
    min_positives: int = 120,
    random_state: int = 0,
    spec: Any = None,
    drop: Iterable[str] = (),
    importance_repeats: int = 5,
    progress: Progress | None = None,
) -> TrainingResult:
    """Clean ``frame``, hold out a stratified ``test_size``, fit, and evaluate on the holdout.

    ``frame`` is a DataFrame or a CSV path, one row per lead; ``label`` names its 0/1
    (or True/False, Yes/No, Y/N, in any case) conversion column. Rows without a label
    are left out.
    The frame goes through :func:`~leadlife.ml.encoding.clean_frame` first, and the
    columns in ``drop`` (identifiers, columns filled in after contact) are removed.

    ``estimator`` is ``"random_forest"`` (the default) or ``"hist_gradient_boosting"``
    (built by :func:`~leadlife.ml.estimators.make_estimator`), a
    :class:`~leadlife.ml.scorer.ModelScorer`, a scikit-learn classifier (wrapped in a
    ModelScorer with the default encoder), or a :class:`~sklearn.pipeline.Pipeline`
    (wrapped with ``encoder="passthrough"``: the pipeline prepares the raw frame).

    ``search=True`` tunes the estimator with :class:`RandomizedSearchCV` on the
    training part: ``n_iter`` draws from :data:`SEARCH_SPACES`, ``cv`` stratified
    folds, ROC-AUC; a dict gives the space instead (keys are the estimator's
    parameters). ``spec`` is the FeatureSpec the frame was built with, kept on the
    model so it can score live leads.

    Raises :class:`~leadlife.errors.InsufficientDataError` before fitting anything
    when the whole frame has fewer than ``min_positives`` positive labels, and
    :class:`~leadlife.errors.FeatureSchemaError` when ``label`` or a ``drop`` column
    is not in the frame, a column name repeats, or no feature column is left.
    Arguments out of their range (``test_size`` outside (0, 1), negative
    ``importance_repeats``, ``cv`` below 2 for a search, an unknown estimator kind)
    raise :class:`~leadlife.errors.InvalidArgumentError` naming them, before the frame
    is read (the kind: before fitting). Leakage
    warnings (``LeakageWarning``) propagate to the caller.
    ``progress`` receives one short message per stage.
    """
    say: Progress = progress or _silent
    # Checked before the data is read: a bad one would otherwise surface after the fit.
    if not (isinstance(test_size, Real) and not isinstance(test_size, bool)) or not (
        0.0 < test_size < 1.0
    ):
        raise InvalidArgumentError(
            "test_size",
            f"{test_size!r} is not a share of the leads",
            "give the holdout share, a number between 0 and 1, e.g. 0.1",
        )
    whole_argument(
        importance_repeats, "importance_repeats", 0, "give 0 to skip permutation importance"
    )
    whole_argument(min_positives, "min_positives", 0, "give the fewest positives to train on")
    if search is not False:
        whole_argument(n_iter, "n_iter", 1, "give how many candidates the search tries, e.g. 20")
        whole_argument(cv, "cv", 2, "give how many folds the search cross-validates on, e.g. 5")
    data = _read(frame, say)
    refuse_repeated_columns(data)
    if label in data.columns and isinstance(data[label].dtype, pd.CategoricalDtype):
        # clean_frame leaves categories alone (their values are the host's); a label's
        # Yes/No or "0"/"1" must be read as for text.
        data = data.assign(**{label: data[label].astype(object)})
    data = clean_frame(data)
    dropped = list(dict.fromkeys(drop))
    _check_columns(data, label, dropped)
    data = data.loc[data[label].notna()]
    y = _binary_label(data[label], label)
    X = data.drop(columns=[label, *dropped])
    if X.shape[1] == 0:
        raise FeatureSchemaError(
            f"the frame has no feature columns: only the label {label!r}"
            + (f" and the dropped {_listing(dropped)}" if dropped else ""),
            "give the frame the columns to learn from (e.g. build_features(...)), and "
            "drop only identifiers and columns filled in after contact",
            column=label,
        )
    refuse_mixed_column_names(X)  # before the leakage check and the split, not at fit
    positives = int(y.sum())
    if positives < min_positives:
        raise InsufficientDataError(positives, min_positives, label)
    _check_both_classes(y, label, cv if search is not False else 2)
    digest = hash_frame(pd.concat([X, y], axis=1))

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=random_state
    )
    _check_holdout(y_test, label, test_size)
    say(
        f"Holding out {len(X_test):,} leads ({test_size:.0%}, stratified); "
        f"training on {len(X_train):,} leads with {X.shape[1]} columns"
    )
    say("Checking the columns for label leakage")
    leaks = tuple(check_leakage(X_train, y_train))

    model = _model(estimator, random_state, spec)
    search_results = None
    if search is not False:
        space = _prefixed(search_space(estimator) if search is True else search)
        say(f"Searching {n_iter} candidates x {cv} folds ({_kind_name(model)})")
        searcher = RandomizedSearchCV(
            model,
            space,
            n_iter=n_iter,
            scoring="roc_auc",
            cv=StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state),
            random_state=random_state,
            n_jobs=1,
            refit=True,
            error_score="raise",
        )
        searcher.fit(X_train, y_train)
        model = searcher.best_estimator_
        search_results = _search_table(searcher.cv_results_)
    else:
        say(f"Fitting {_kind_name(model)}")
        model.fit(X_train, y_train)

    say(f"Evaluating on the {len(X_test):,} held-out leads")
    report = evaluate(
        model, X_test, y_test, n_repeats=importance_repeats, random_state=random_state
    )
    return TrainingResult(
        model=model,
        report=report,
        X_test=X_test,
        y_test=y_test,
        data_hash=digest,
        leaks=leaks,
        params=_fitted_params(model),
        label=label,
        train_rows=len(X_train),
        search_results=search_results,
    )


def search_space(estimator: Any) -> dict[str, Any]:
    """The default search space for an estimator kind, or for a RandomForest/HGB estimator.

    Raises :class:`~leadlife.errors.ModelError` for other estimators: give the space
    as ``train(..., search={...})``.
    """
    kind = _kind_of(estimator)
    if kind is None:
        raise ModelError(
            f"no default search space for {_describe(estimator)}. Fix: pass one, e.g. "
            "train(..., search={'C': loguniform(1e-3, 1e2)}), with the estimator's "
            "parameter names as keys"
        )
    return dict(SEARCH_SPACES[kind])


# -- helpers ---------------------------------------------------------------------------


def _silent(message: str) -> None:
    """Progress messages go nowhere unless a caller asks for them."""


def check_header_names(names: Iterable[str]) -> None:
    """Raise :class:`FeatureSchemaError` if a CSV header has a blank or repeated name.

    pandas would read them as ``Unnamed: 4`` and ``visits.1``, and the model would
    learn columns that scoring, which reads the header as written, cannot find by
    those names: the same file would then be refused, or scored as if the column
    were empty.
    """
    names = [str(name) for name in names]
    blank = [str(number) for number, name in enumerate(names, start=1) if not name]
    if blank:
        raise FeatureSchemaError(
            f"column {', '.join(blank)} of the header has no name",
            "name every column, or remove it (a pandas index: save the frame with index=False)",
        )
    counts = Counter(names)
    twice = [name for name in dict.fromkeys(names) if counts[name] > 1]
    if twice:
        raise FeatureSchemaError(
            f"the header names {', '.join(repr(name) for name in twice)} more than once, "
            "and the model reads columns by name",
            "rename or remove the other columns of that name",
            column=twice[0],
        )


def read_training_csv(path: str | os.PathLike[str], *, encoding: str | None = None) -> pd.DataFrame:
    """A training CSV as a frame, its header checked by :func:`check_header_names`
    (read as written: pandas would rename a blank or repeated name)."""
    # Whole-file type inference: chunked inference would warn on mixed columns.
    data = pd.read_csv(path, low_memory=False, encoding=encoding)
    header = pd.read_csv(
        path, header=None, nrows=1, dtype=object, na_filter=False, encoding=encoding
    )
    check_header_names(header.iloc[0].tolist())
    return data


def _read(frame: pd.DataFrame | str | os.PathLike[str], say: Progress) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        say(f"Cleaning {len(frame):,} rows x {frame.shape[1]} columns")
        return frame
    if not isinstance(frame, str | os.PathLike):
        raise TypeError(f"frame: {type(frame).__name__}; give a DataFrame or a CSV path")
    data = read_training_csv(frame)
    say(f"Read {len(data):,} rows x {data.shape[1]} columns from {frame}; cleaning them")
    return data


def _check_columns(data: pd.DataFrame, label: str, dropped: list[str]) -> None:
    columns = [str(column) for column in data.columns]
    if label not in data.columns:
        raise FeatureSchemaError(
            f"the frame has no label column {label!r}",
            f"name the 0/1 conversion column; the columns are {_listing(columns)}",
            missing=[label],
        )
    unknown = [name for name in dropped if name not in data.columns]
    if unknown:
        raise FeatureSchemaError(
            f"cannot drop {_listing(unknown)}: not in the frame",
            f"check the spelling; the columns are {_listing(columns)}",
            missing=unknown,
        )
    if label in dropped:
        raise FeatureSchemaError(
            f"the label {label!r} is also listed to drop",
            "drop only feature columns; the label is set aside already",
            column=label,
        )


def _binary_label(values: pd.Series, label: str) -> pd.Series:
    """The label as 0/1 integers, read as :func:`~leadlife.ml.encoding.label_flag` reads it.

    clean_frame has already turned Yes/No into 1.0/0.0; a Y/N label is still text
    here (clean_frame leaves Y/N alone, as feature columns need) and is read now.
    """
    distinct = pd.unique(values)
    cells = np.asarray(distinct, dtype=object).tolist()  # Python values: 2, not np.int64(2)
    flags = [label_flag(cell) for cell in cells]
    if None in flags:
        shown = ", ".join(repr(value) for value in cells[:6])
        # Two values are binary to the author: say which spellings are read as one.
        problem = (
            f"training needs a binary label, and two values are one only when spelled "
            f"{LABEL_SPELLINGS}"
            if len(distinct) == 2
            else f"training needs a binary label, spelled {LABEL_SPELLINGS}"
        )
        raise ModelError(
            f"label {label!r} has the values {shown}; {problem}. "
            "Fix: map it to 1 (converted) and 0 (not converted) first"
        )
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype(int).rename(label)
    # Text, or an object column of bools and numbers: each distinct cell's flag.
    return values.map(dict(zip(cells, flags, strict=True))).astype(int).rename(label)


# Each class, and what brings more of it.
_CLASSES = (
    (1, "positive", "collect more converted leads"),
    (0, "negative", "include more leads that did not convert"),
)


def _check_holdout(y_test: pd.Series, label: str, test_size: float) -> None:
    """Refuse, before any fitting, a holdout too small to hold both classes: its
    metrics (AUC, lift) would be undefined once the model was trained."""
    for value, kind, more in _CLASSES:
        if not (y_test == value).any():
            raise ModelError(
                f"label {label!r}: the stratified holdout of {len(y_test)} leads "
                f"(test_size={test_size:g}) holds no {kind} label, so the model could not "
                f"be evaluated. Fix: raise test_size, or {more}"
            )


def _check_both_classes(y: pd.Series, label: str, needed: int) -> None:
    """Refuse a class too small to split: the holdout (and each fold) is stratified.

    ``min_positives`` may be set below ``needed``, so the positives are checked too.
    """
    for value, kind, more in _CLASSES[::-1]:  # negatives first, as they are the likelier gap
        count = int((y == value).sum())
        if count < needed:
            raise ModelError(
                f"label {label!r} has {count} {kind} labels; a stratified holdout "
                f"{'and cross-validation ' if needed > 2 else ''}needs at least {needed}. "
                f"Fix: {more}"
            )


def _model(estimator: Any, random_state: int, spec: Any) -> Any:
    """A fresh, unfitted ModelScorer for ``estimator`` (see :func:`train`)."""
    if isinstance(estimator, str):
        if estimator not in ESTIMATOR_KINDS:
            raise InvalidArgumentError(
                "estimator",
                f"{estimator!r} is not a kind",
                f"give one of {', '.join(ESTIMATOR_KINDS)}, or a scikit-learn classifier",
            )
        scorer = ModelScorer(estimator=make_estimator(estimator, random_state=random_state))
    elif isinstance(estimator, ModelScorer):
        scorer = clone(estimator)
        inner = scorer.estimator
        if inner is None or isinstance(inner, str):
            # The estimator it stands for, seeded by train (and searchable: estimator__...).
            kind = inner or ESTIMATOR_KINDS[0]
            scorer.set_params(estimator=make_estimator(kind, random_state=random_state))
    elif isinstance(estimator, Pipeline):
        scorer = ModelScorer(estimator=clone(estimator), encoder="passthrough")
    elif hasattr(estimator, "fit") and hasattr(estimator, "predict_proba"):
        scorer = ModelScorer(estimator=clone(estimator))
    else:
        raise TypeError(
            f"estimator: {_describe(estimator)} is not a probabilistic classifier; give "
            f"{' or '.join(repr(kind) for kind in ESTIMATOR_KINDS)}, or an estimator "
            "with fit and predict_proba"
        )
    _seed(scorer.estimator, random_state)
    if spec is not None:
        scorer.set_params(spec=spec)
    return scorer


def _seed(estimator: Any, random_state: int) -> None:
    """Give every ``random_state`` left as None in ``estimator`` (and in its steps and
    inner estimators) train's ``random_state``: the same frame and seed, the same model."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return
    unseeded = {
        key: random_state
        for key, value in get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    }
    if unseeded:
        estimator.set_params(**unseeded)


def _prefixed(space: Mapping[str, Any]) -> dict[str, Any]:
    """Search keys as the ModelScorer's nested parameters (``estimator__max_depth``)."""
    nested = ("estimator__", "encoder__")
    return {key if key.startswith(nested) else f"estimator__{key}": v for key, v in space.items()}


def _kind_of(estimator: Any) -> str | None:
    if isinstance(estimator, ModelScorer):
        # A ModelScorer without an estimator fits the default RandomForest.
        return _kind_of(
            estimator.estimator if estimator.estimator is not None else ESTIMATOR_KINDS[0]
        )
    if isinstance(estimator, str):
        return estimator if estimator in ESTIMATOR_KINDS else None
    if isinstance(estimator, RandomForestClassifier):
        return "random_forest"
    if isinstance(estimator, HistGradientBoostingClassifier):
        return "hist_gradient_boosting"
    return None


def _inner(model: Any) -> Any:
    fitted = getattr(model, "estimator_", None)
    return fitted if fitted is not None else getattr(model, "estimator", model)


def _kind_name(model: Any) -> str:
    inner = _inner(model)
    return "the default estimator" if inner is None else type(inner).__name__


def _fitted_params(model: Any) -> dict[str, Any]:
    inner = _inner(model)
    return dict(inner.get_params(deep=False)) if inner is not None else {}


def _search_table(results: Mapping[str, Any]) -> pd.DataFrame:
    table = pd.DataFrame(results)
    columns = [c for c in table.columns if c.startswith("param_")]
    table = table[[*columns, "mean_test_score", "std_test_score", "rank_test_score"]]
    table = table.rename(columns={c: c.removeprefix("param_estimator__") for c in columns})
    table = table.rename(
        columns={"mean_test_score": "mean_roc_auc", "std_test_score": "std_roc_auc"}
    )
    return table.sort_values("rank_test_score", kind="stable", ignore_index=True)


def _describe(value: Any) -> str:
    return repr(value) if isinstance(value, str) else type(value).__name__


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")
