"""The compiled per-lead path: flattened trees give scikit-learn's probabilities, fast."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier
from threadpoolctl import threadpool_limits

from leadlife.ml.compiled import CompiledTrees, compile_trees

TOLERANCE = 1e-12
TREE_KINDS = ("random_forest", "extra_trees", "decision_tree", "extra_tree")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP on a shared, busy machine slows boosting tenfold; these tests use one thread."""
    with threadpool_limits(1):
        yield


def _data(
    seed: int, n_rows: int, n_features: int, n_classes: int, nan_share: float, n_categorical: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows, labels and test rows; the first columns hold category codes.

    The test rows mix fresh draws, training rows, unseen and negative codes, and
    extremes (infinities, values beyond float32's range, values near float32 ties).
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)) * rng.choice([1.0, 1e3, 1e-3], size=n_features)
    X[:, :n_categorical] = rng.integers(0, 6, size=(n_rows, n_categorical))
    X[rng.random(X.shape) < nan_share] = np.nan
    signal = np.nan_to_num(X).sum(axis=1) + rng.normal(size=n_rows)
    y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1]))
    tests = [rng.normal(size=(20, n_features)), X[:20]]
    unusual = rng.normal(size=(12, n_features))
    unusual[0] = np.nan
    unusual[1] = np.inf
    unusual[2] = -np.inf
    unusual[3] = 1e39  # beyond float32's range
    unusual[4] = 0.1  # not a float32: rounds differently when cast
    if n_categorical:
        unusual[5:, :n_categorical] = rng.choice([-1.0, 7.0, 255.0, 300.0, 2.5], size=(7, 1))
    tests.append(unusual)
    return X, y, np.concatenate(tests)


def _fit(kind: str, X: np.ndarray, y: np.ndarray, n_categorical: int, seed: int) -> Any:
    if kind == "random_forest":
        model: Any = RandomForestClassifier(n_estimators=4, random_state=seed, n_jobs=1)
    elif kind == "extra_trees":
        model = ExtraTreesClassifier(n_estimators=3, random_state=seed, n_jobs=1)
    elif kind == "decision_tree":
        model = DecisionTreeClassifier(random_state=seed)
    elif kind == "extra_tree":
        model = ExtraTreeClassifier(random_state=seed)
    else:
        mask = np.arange(X.shape[1]) < n_categorical
        model = HistGradientBoostingClassifier(
            max_iter=6,
            max_leaf_nodes=8,
            min_samples_leaf=3,
            categorical_features=mask if mask.any() else None,
            random_state=seed,
        )
    return model.fit(X, y)


def _with_thresholds(compiled_from: Any, tests: np.ndarray) -> np.ndarray:
    """The test rows, plus rows with a value exactly on one of the model's thresholds."""
    trees = getattr(compiled_from, "estimators_", [compiled_from])
    tree = trees[0].tree_
    # A split between missing and present values has an infinite threshold.
    splits = np.flatnonzero((tree.children_left >= 0) & np.isfinite(tree.threshold))
    on_threshold = tests[: len(splits)].copy()
    for row, node in enumerate(splits[: len(on_threshold)]):
        on_threshold[row, tree.feature[node]] = tree.threshold[node]
    return np.concatenate((tests, on_threshold))


def _assert_matches(model: Any, compiled: CompiledTrees, tests: np.ndarray) -> None:
    expected = model.predict_proba(tests)
    one_by_one = np.array([compiled.predict_proba_row(row) for row in tests])
    np.testing.assert_allclose(one_by_one, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(compiled.predict_proba(tests), expected, rtol=0, atol=TOLERANCE)


@given(
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(TREE_KINDS),
    n_rows=st.integers(8, 80),
    n_features=st.integers(1, 5),
    n_classes=st.integers(2, 3),
    nan_share=st.sampled_from([0.0, 0.1, 0.4]),
)
def test_trees_match_scikit_learn(
    seed: int, kind: str, n_rows: int, n_features: int, n_classes: int, nan_share: float
) -> None:
    """Compiled forests and trees give predict_proba's probabilities, NaN and float32 ties too."""
    X, y, tests = _data(seed, n_rows, n_features, n_classes, nan_share, 0)
    with np.errstate(over="ignore"):
        model = _fit(kind, X, y, 0, seed)
    compiled = compile_trees(model)
    assert compiled is not None
    # scikit-learn's trees refuse infinities (also float32 overflows); boosting takes them.
    in_range = (np.isnan(tests) | (np.abs(tests) < 3e38)).all(axis=1)
    tests = _with_thresholds(model, tests[in_range])
    _assert_matches(model, compiled, tests)


@given(
    seed=st.integers(0, 2**16),
    n_rows=st.integers(30, 120),
    n_features=st.integers(1, 5),
    n_categorical=st.integers(0, 2),
    n_classes=st.integers(2, 3),
    nan_share=st.sampled_from([0.0, 0.1, 0.4]),
)
def test_boosting_matches_scikit_learn(
    seed: int, n_rows: int, n_features: int, n_categorical: int, n_classes: int, nan_share: float
) -> None:
    """Compiled histogram boosting gives predict_proba's probabilities, categories included."""
    n_categorical = min(n_categorical, n_features)
    X, y, tests = _data(seed, n_rows, n_features, n_classes, nan_share, n_categorical)
    # scikit-learn refuses infinite categories; numeric infinities are fine.
    tests = tests[~np.isinf(tests[:, :n_categorical]).any(axis=1)]
    model = _fit("boosting", X, y, n_categorical, seed)
    compiled = compile_trees(model)
    assert compiled is not None
    assert compiled.link == ("sigmoid" if len(model.classes_) == 2 else "softmax")
    _assert_matches(model, compiled, tests)


@pytest.mark.parametrize("kind", ["random_forest", "boosting"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_decomposition_adds_up_to_the_raw_output(kind: str, n_classes: int) -> None:
    """Base value plus per-feature path contributions equals the raw output, row by row."""
    X, y, tests = _data(3, 150, 4, n_classes, 0.1, 1 if kind == "boosting" else 0)
    model = _fit(kind, X, y, 1, 3)
    compiled = compile_trees(model)
    assert compiled is not None
    base, parts = compiled.decompose(tests)
    raws = np.array([compiled.raw_row(row) for row in tests])
    np.testing.assert_allclose(base + parts.sum(axis=1), raws, rtol=0, atol=1e-12)
    row_base, row_parts = compiled.decompose_row(tests[0])
    np.testing.assert_allclose(row_parts, parts[0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(row_base, base)


def test_large_batches_decompose_as_rows_do() -> None:
    """Decomposing many rows at once (several rounds of crediting) equals row by row."""
    X, y, _ = _data(11, 600, 4, 2, 0.1, 0)
    model = RandomForestClassifier(n_estimators=25, random_state=0, n_jobs=1).fit(X, y)
    compiled = compile_trees(model)
    assert compiled is not None
    assert len(X) * compiled.n_trees * compiled.depth > 2 * 2**16  # credited in rounds
    _, parts = compiled.decompose(X)
    for i in range(0, len(X), 97):
        np.testing.assert_allclose(parts[i], compiled.decompose_row(X[i])[1], rtol=0, atol=1e-12)


def test_forest_base_is_the_mean_root_fraction() -> None:
    """A forest's base value is its trees' mean class fractions at the root."""
    X, y, _ = _data(5, 100, 3, 2, 0.0, 0)
    model = _fit("random_forest", X, y, 0, 5)
    compiled = compile_trees(model)
    assert compiled is not None
    roots = np.mean([tree.tree_.value[0, 0] for tree in model.estimators_], axis=0)
    np.testing.assert_allclose(compiled.base, roots, rtol=0, atol=1e-15)


def test_boosting_categorical_splits_are_compiled() -> None:
    """A boosting model that splits on a category set routes by the set, not a threshold."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 8, size=400).astype(float)
    y = np.isin(codes, [1, 4, 6]).astype(int)
    X = np.column_stack((codes, rng.normal(size=400)))
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features=[True, False])
    model.fit(X, y)
    compiled = compile_trees(model)
    assert compiled is not None
    rows = np.array([[c, 0.0] for c in [*range(8), 9.0, -3.0, np.nan]])
    _assert_matches(model, compiled, rows)
    assert compiled.predict_proba_row(np.array([4.0, 0.0]))[1] > 0.5
    assert compiled.predict_proba_row(np.array([3.0, 0.0]))[1] < 0.5


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=2)),
    ],
    ids=["logistic_regression", "pipeline"],
)
def test_other_models_are_not_compiled(model: Any) -> None:
    """compile_trees returns None for models it does not flatten, so callers fall back."""
    X, y, _ = _data(1, 60, 3, 2, 0.0, 0)
    assert compile_trees(model.fit(X, y)) is None


def test_multi_output_forests_are_not_compiled() -> None:
    """A forest predicting several targets at once is left to scikit-learn."""
    X, y, _ = _data(1, 60, 3, 2, 0.0, 0)
    model = RandomForestClassifier(n_estimators=2).fit(X, np.column_stack((y, 1 - y)))
    assert compile_trees(model) is None


def test_boosting_on_string_categories_is_not_compiled() -> None:
    """Boosting fitted on string categories takes frames, not float rows: not compiled."""
    frame = pd.DataFrame(
        {"city": pd.Categorical(["Pune", "Delhi", "Goa"] * 20), "visits": np.arange(60.0)}
    )
    model = HistGradientBoostingClassifier(max_iter=3).fit(frame, np.arange(60) % 2)
    assert compile_trees(model) is None


def test_unfitted_trees_are_refused() -> None:
    """Compiling an unfitted forest raises NotFittedError."""
    with pytest.raises(NotFittedError):
        compile_trees(RandomForestClassifier())


def test_rows_of_the_wrong_width_are_refused() -> None:
    """A row with more or fewer features than the model's raises a ValueError naming both."""
    X, y, _ = _data(1, 60, 3, 2, 0.0, 0)
    compiled = compile_trees(DecisionTreeClassifier().fit(X, y))
    assert compiled is not None
    with pytest.raises(ValueError, match="expected a row of 3 features, got shape"):
        compiled.predict_proba_row(np.zeros(4))
    with pytest.raises(ValueError, match="expected rows of 3 features"):
        compiled.predict_proba(np.zeros((2, 2)))
