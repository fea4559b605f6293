"""Tabular preparation: clean_frame, TabularEncoder, make_estimator and the leakage guard."""

from __future__ import annotations

import math
import pickle
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from leadlife.errors import FeatureSchemaError, ModelError
from leadlife.ml.encoding import MAX_CODES, OTHER, TabularEncoder, clean_frame
from leadlife.ml.estimators import ESTIMATOR_DEFAULTS, make_estimator
from leadlife.ml.leakage import Leak, LeakageWarning, check_leakage, feature_aucs


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP on a shared, busy machine slows boosting tenfold; these tests use one thread."""
    with threadpool_limits(1):
        yield


def _leads(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A clean lead table (numbers, text, missing values) and a label driven by it."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(3.0, n).astype(float)
    visits[rng.random(n) < 0.1] = np.nan
    city = rng.choice(np.array(["Mumbai", "Pune", "Delhi", "Goa", None], dtype=object), n)
    source = rng.choice(np.array(["google", "direct", "chat"], dtype=object), n)
    logit = 0.4 * np.nan_to_num(visits) - 1.2 + (source == "chat") * 1.0
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "visits": visits,
            "city": pd.Series(city, dtype=object),
            "minutes": rng.gamma(2.0, 5.0, n),
            "source": pd.Series(source, dtype=object),
        }
    )
    return frame, label


# -- clean_frame ------------------------------------------------------------------------


def test_clean_frame_turns_placeholders_flags_and_numeric_text_into_values() -> None:
    """'Select' and blanks are missing, Yes/No 1.0/0.0, numeric text float64, text stays."""
    raw = pd.DataFrame(
        {
            "city": ["Mumbai", "Select", "  ", " Pune ", None],
            "opt_out": ["Yes", "No", "no", "Select", "YES"],
            "visits": ["3", "4.5", "", "Select", "0"],
            "score": [1, 2, 3, 4, 5],
        }
    )
    cleaned = clean_frame(raw)
    assert cleaned["city"].tolist() == ["Mumbai", None, None, "Pune", None]
    assert cleaned["city"].dtype == object
    np.testing.assert_array_equal(cleaned["opt_out"], [1.0, 0.0, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(cleaned["visits"], [3.0, 4.5, np.nan, np.nan, 0.0])
    assert cleaned["visits"].dtype == np.float64
    assert cleaned["score"].tolist() == [1, 2, 3, 4, 5]
    assert raw["city"].tolist()[1] == "Select"  # the input is not changed


def test_clean_frame_placeholders_are_configurable() -> None:
    """Other form defaults ('-- choose --', 'N/A') are missing when listed, case ignored."""
    raw = pd.DataFrame({"industry": ["-- choose --", "retail", "n/a", "N/A"]})
    cleaned = clean_frame(raw, placeholders=("-- Choose --", "N/A"))
    assert cleaned["industry"].tolist() == [None, "retail", None, None]


def test_clean_frame_refuses_what_is_not_a_frame() -> None:
    """clean_frame on a list says to wrap the data in a DataFrame."""
    with pytest.raises(TypeError, match="DataFrame"):
        clean_frame([[1, 2]])  # type: ignore[arg-type]


# -- TabularEncoder: what it learns ----------------------------------------------------


def test_encoder_learns_columns_codes_and_mask() -> None:
    """Text columns are categorical with sorted codes; numbers pass through; NaN stays NaN."""
    frame, _ = _leads()
    encoder = TabularEncoder().fit(frame)
    assert encoder.numeric_columns_ == ["visits", "minutes"]
    assert encoder.categorical_columns_ == ["city", "source"]
    assert encoder.categories_["source"] == ["chat", "direct", "google"]
    assert encoder.categories_["city"] == ["Delhi", "Goa", "Mumbai", "Pune"]
    np.testing.assert_array_equal(encoder.categorical_mask_, [False, True, False, True])
    assert list(encoder.get_feature_names_out()) == list(frame.columns)
    encoded = encoder.transform(frame)
    assert encoded.dtype == np.float64
    assert encoded.shape == frame.shape
    np.testing.assert_array_equal(encoded[:, 0], frame["visits"])
    city_codes = encoded[:, 1]
    assert np.isnan(city_codes[frame["city"].isna().to_numpy()]).all()
    assert encoded[frame["source"].eq("google").to_numpy(), 3].tolist() == [2.0] * int(
        frame["source"].eq("google").sum()
    )


def test_rare_categories_share_the_other_code_and_unseen_ones_are_nan() -> None:
    """Categories below min_frequency collapse into '(other)'; a new value or None is NaN."""
    values = ["a"] * 20 + ["b"] * 15 + ["rare1"] * 2 + ["rare2"]
    encoder = TabularEncoder(min_frequency=5).fit(pd.DataFrame({"c": values}))
    assert encoder.categories_["c"] == ["a", "b", OTHER]
    assert encoder.infrequent_categories_["c"] == ["rare1", "rare2"]
    probe = pd.DataFrame({"c": ["a", "b", "rare1", "rare2", "never seen", None]})
    np.testing.assert_array_equal(
        encoder.transform(probe)[:, 0], [0.0, 1.0, 2.0, 2.0, np.nan, np.nan]
    )


def test_min_frequency_as_a_share_of_rows() -> None:
    """A float min_frequency below 1 is a share of the training rows."""
    values = ["a"] * 90 + ["b"] * 6 + ["c"] * 4
    encoder = TabularEncoder(min_frequency=0.05).fit(pd.DataFrame({"c": values}))
    assert encoder.categories_["c"] == ["a", "b", OTHER]


def test_max_categories_keeps_the_most_frequent_and_fits_native_categoricals() -> None:
    """A 400-category column gets at most max_categories codes, which HGB takes natively."""
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 400, 5000)
    frame = pd.DataFrame({"tag": [f"t{i}" for i in ids], "x": rng.random(5000)})
    label = (ids % 2 == 0).astype(int)
    encoder = TabularEncoder(max_categories=MAX_CODES, min_frequency=1).fit(frame)
    assert len(encoder.categories_["tag"]) == MAX_CODES
    assert encoder.categories_["tag"][-1] == OTHER
    encoded = encoder.transform(frame)
    assert np.nanmax(encoded[:, 0]) == MAX_CODES - 1
    model = HistGradientBoostingClassifier(
        max_iter=5, categorical_features=encoder.categorical_mask_, random_state=0
    )
    model.fit(encoded, label)
    assert model.is_categorical_.tolist() == [True, False]
    small = TabularEncoder(max_categories=3, min_frequency=1).fit(
        pd.DataFrame({"c": ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2})
    )
    assert small.categories_["c"] == ["a", "b", OTHER]


@pytest.mark.parametrize(
    "params",
    [{"max_categories": 255}, {"max_categories": 0}, {"min_frequency": -1}, {"categorical": "x"}],
)
def test_invalid_parameters_are_refused_at_fit(params: dict[str, Any]) -> None:
    """max_categories above 254 (HGB's limit), negative frequencies and bad modes raise."""
    frame, _ = _leads(20)
    with pytest.raises(ModelError, match=next(iter(params))):
        TabularEncoder(**params).fit(frame)


def test_arrays_are_named_x0_and_text_arrays_are_categorical() -> None:
    """An object array's text columns are categorical; a float array is all numeric."""
    rows = np.array([["a", 1.0], ["b", 2.0], ["a", None]], dtype=object)
    encoder = TabularEncoder(min_frequency=1).fit(rows)
    assert list(encoder.feature_names_out_) == ["x0", "x1"]
    assert encoder.categorical_columns_ == ["x0"]
    np.testing.assert_array_equal(encoder.transform(rows), [[0, 1], [1, 2], [0, np.nan]])
    numeric = TabularEncoder().fit(np.arange(6.0).reshape(3, 2))
    assert numeric.categorical_columns_ == []
    assert not hasattr(numeric, "feature_names_in_")


def test_listed_categorical_columns_and_unknown_names() -> None:
    """categorical=[...] makes numeric codes categorical; a name not in X raises naming it."""
    frame = pd.DataFrame({"grade": [1, 2, 2, 3, 1], "x": [0.1, 0.2, 0.3, 0.4, 0.5]})
    encoder = TabularEncoder(categorical=["grade"], min_frequency=1).fit(frame)
    assert encoder.categories_["grade"] == ["1", "2", "3"]
    # A code read as float (a missing value turns the column float) matches its int.
    np.testing.assert_array_equal(encoder.encode_row({"grade": 2.0, "x": 0.0}), [1.0, 0.0])
    with pytest.raises(FeatureSchemaError, match="'grde'") as caught:
        TabularEncoder(categorical=["grde"]).fit(frame)
    assert caught.value.missing == ("grde",)


def test_date_columns_are_refused_naming_the_column() -> None:
    """A datetime column raises FeatureSchemaError asking for numbers instead."""
    frame = pd.DataFrame({"created": pd.to_datetime(["2026-01-01", "2026-02-01"]), "x": [1, 2]})
    with pytest.raises(FeatureSchemaError, match=r"'created'.*dates"):
        TabularEncoder().fit(frame)


def test_text_in_a_numeric_column_names_the_column() -> None:
    """transform and encode_row refuse text in a numeric column, naming it."""
    frame, _ = _leads(50)
    encoder = TabularEncoder().fit(frame)
    bad = frame.astype({"visits": object})
    bad.loc[0, "visits"] = "many"
    with pytest.raises(FeatureSchemaError, match="'visits'") as caught:
        encoder.transform(bad)
    assert caught.value.column == "visits"
    row = {**frame.iloc[0].to_dict(), "visits": "many"}
    with pytest.raises(FeatureSchemaError, match="'visits'"):
        encoder.encode_row(row)


def test_encode_row_without_a_column_lists_it() -> None:
    """A row missing a column raises FeatureSchemaError naming it; extra keys are ignored."""
    frame, _ = _leads(50)
    encoder = TabularEncoder().fit(frame)
    with pytest.raises(FeatureSchemaError, match="city") as caught:
        encoder.encode_row({"visits": 1.0, "minutes": 2.0, "source": "chat"})
    assert caught.value.missing == ("city",)
    row = {**frame.iloc[3].to_dict(), "lead_id": "L-3"}
    np.testing.assert_array_equal(encoder.encode_row(row), encoder.transform(frame.iloc[[3]])[0])


def test_encoder_clones_and_pickles() -> None:
    """A fitted encoder pickles to an equal encoder; clone gives an unfitted copy."""
    frame, _ = _leads(100)
    encoder = TabularEncoder(min_frequency=3).fit(frame)
    again = pickle.loads(pickle.dumps(encoder))
    np.testing.assert_array_equal(again.transform(frame), encoder.transform(frame))
    copy = clone(encoder)
    assert copy.get_params() == encoder.get_params()
    assert not hasattr(copy, "categories_")


@parametrize_with_checks([TabularEncoder()])
def test_scikit_learn_transformer_checks(estimator: Any, check: Any) -> None:
    """TabularEncoder passes scikit-learn's common estimator checks."""
    check(estimator)


# -- encode_row equals transform -----------------------------------------------------------

_CITIES = ["Mumbai", "Pune", "Delhi", "Goa", "Surat"]
_cells_numeric = st.one_of(
    st.none(),
    st.just(math.nan),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.booleans(),
)
_cells_text = st.one_of(
    st.none(),
    st.just(math.nan),
    st.sampled_from(_CITIES),
    st.text(max_size=4),
    st.integers(0, 5),
    st.sampled_from([1.0, 2.5]),
)


@st.composite
def _fitted_and_row(draw: st.DrawFn) -> tuple[TabularEncoder, dict[str, Any]]:
    n = draw(st.integers(1, 40))
    train = pd.DataFrame(
        {
            "visits": draw(st.lists(st.floats(-5, 50) | st.just(math.nan), min_size=n, max_size=n)),
            "city": pd.Series(
                draw(st.lists(st.sampled_from([*_CITIES, None]), min_size=n, max_size=n)),
                dtype=object,
            ),
            "code": draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)),
        }
    )
    encoder = TabularEncoder(
        categorical=["city", "code"],
        min_frequency=draw(st.integers(1, 4)),
        max_categories=draw(st.integers(1, 6)),
    ).fit(train)
    row = {"visits": draw(_cells_numeric), "city": draw(_cells_text), "code": draw(_cells_text)}
    return encoder, row


@given(_fitted_and_row())
def test_encode_row_equals_transform_of_a_one_row_frame(
    fitted: tuple[TabularEncoder, dict[str, Any]],
) -> None:
    """encode_row(row) is exactly transform(DataFrame([row]))[0], for any cell values."""
    encoder, row = fitted
    expected = encoder.transform(pd.DataFrame([row]))[0]
    np.testing.assert_array_equal(encoder.encode_row(row), expected)
    np.testing.assert_array_equal(encoder.encode_row(list(row.values())), expected)


def test_encode_row_equals_transform_row_by_row() -> None:
    """Every row of a frame encodes one at a time exactly as transform encodes the frame."""
    frame, _ = _leads(300, seed=4)
    frame["minutes"] = frame["minutes"].round().astype(int)
    encoder = TabularEncoder(min_frequency=2).fit(frame)
    rows = np.array([encoder.encode_row(row) for row in frame.to_dict("records")])
    np.testing.assert_array_equal(rows, encoder.transform(frame))


def test_encode_row_is_microseconds() -> None:
    """One 30-column row encodes in well under the engine's 1 ms budget per event."""
    rng = np.random.default_rng(0)
    data: dict[str, Any] = {f"n{i}": rng.random(500) for i in range(24)}
    data.update({f"c{i}": rng.choice(["a", "b", "c", "d"], 500).astype(object) for i in range(6)})
    frame = pd.DataFrame(data)
    encoder = TabularEncoder().fit(frame)
    rows = frame.to_dict("records")
    started = time.perf_counter()
    for row in rows:
        encoder.encode_row(row)
    per_row = (time.perf_counter() - started) / len(rows)
    assert per_row < 200e-6, f"{per_row * 1e6:.1f} µs per row"


# -- make_estimator ------------------------------------------------------------------------


def test_make_estimator_builds_each_kind_with_the_library_defaults() -> None:
    """Each kind is its scikit-learn class with ESTIMATOR_DEFAULTS and the random_state."""
    forest = make_estimator("random_forest", random_state=7)
    assert isinstance(forest, RandomForestClassifier)
    assert forest.get_params()["random_state"] == 7
    for name, value in ESTIMATOR_DEFAULTS["random_forest"].items():
        assert forest.get_params()[name] == value
    boosting = make_estimator("hist_gradient_boosting", max_iter=20)
    assert isinstance(boosting, HistGradientBoostingClassifier)
    assert boosting.max_iter == 20
    assert boosting.learning_rate == ESTIMATOR_DEFAULTS["hist_gradient_boosting"]["learning_rate"]
    assert boosting.categorical_features == "from_dtype"
    assert make_estimator() is not make_estimator()


def test_unknown_kind_lists_the_known_kinds() -> None:
    """An unknown kind raises ModelError naming both known kinds; a bad parameter too."""
    with pytest.raises(ModelError, match="'random_forest', 'hist_gradient_boosting'"):
        make_estimator("xgboost")
    with pytest.raises(ModelError, match="RandomForestClassifier"):
        make_estimator("random_forest", learning_rate=0.1)


def test_random_forest_size_is_bounded_whatever_the_rows() -> None:
    """The default forest's trees stop at max_leaf_nodes, where an unbounded one keeps growing."""
    rng = np.random.default_rng(0)
    X = rng.random((30_000, 5))
    y = (rng.random(30_000) < 0.3).astype(int)  # pure noise: an unbounded tree memorises it
    forest = make_estimator("random_forest", n_estimators=2).fit(X, y)
    limit = 2 * ESTIMATOR_DEFAULTS["random_forest"]["max_leaf_nodes"] - 1
    assert all(tree.tree_.node_count <= limit for tree in forest.estimators_)
    unbounded = RandomForestClassifier(n_estimators=1, random_state=0, n_jobs=1).fit(X, y)
    assert unbounded.estimators_[0].tree_.node_count > limit


# -- the leakage guard -----------------------------------------------------------------------


def _with_leaks(n: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    """Leads with honest columns and four kinds of leak."""
    frame, label = _leads(n, seed=2)
    rng = np.random.default_rng(3)
    frame["days_to_close"] = np.where(label == 1, rng.integers(1, 30, n), rng.integers(40, 90, n))
    status = np.where(label == 1, "Closed won", "Lost").astype(object)
    status[rng.random(n) < 0.02] = "Ringing"
    frame["status"] = status
    frame["lead_code"] = [f"L{i:05d}" for i in range(n)]  # an identifier: unique per row
    outcome = np.where(label == 1, "won", "lost").astype(object)
    outcome[rng.random(n) < 0.5] = None  # filled in for half the leads only
    frame["sales_note"] = outcome
    return frame, label


def test_leaky_columns_are_flagged_worst_first_with_a_warning_each() -> None:
    """Columns that alone separate the label are flagged, sorted, each with a LeakageWarning."""
    frame, label = _with_leaks()
    with pytest.warns(LeakageWarning) as caught:
        leaks = check_leakage(frame, label)
    flagged = [leak.column for leak in leaks]
    assert set(flagged) == {"days_to_close", "status", "sales_note"}
    assert [leak.auc for leak in leaks] == sorted((leak.auc for leak in leaks), reverse=True)
    assert all(leak.auc >= 0.95 for leak in leaks)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3
    for column in flagged:
        assert any(
            f"'{column}'" in m and "drop columns filled in after contact" in m for m in messages
        )


def test_a_column_filled_in_for_some_leads_is_judged_where_filled() -> None:
    """A column blank for half the leads but perfect where filled is flagged with its coverage."""
    frame, label = _with_leaks()
    with pytest.warns(LeakageWarning, match="'sales_note'.* on the [45]\\d% of rows"):
        leaks = check_leakage(frame[["visits", "sales_note"]], label)
    assert leaks[0].column == "sales_note"
    assert 0.4 < leaks[0].coverage < 0.6
    assert leaks[0].auc == pytest.approx(1.0)


def test_identifiers_and_honest_columns_are_not_flagged() -> None:
    """A unique id scores about 0.5 out-of-fold; honest features stay below the threshold."""
    frame, label = _with_leaks()
    aucs = {leak.column: leak.auc for leak in feature_aucs(frame, label)}
    assert aucs["lead_code"] < 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (
            check_leakage(frame[["visits", "city", "minutes", "source", "lead_code"]], label) == []
        )


def test_leakage_accepts_arrays_and_checks_its_inputs() -> None:
    """Arrays are named x0..; a one-class or non-binary label and a bad threshold raise."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 200)
    X = np.column_stack([rng.random(200), label + 0.01 * rng.random(200)])
    with pytest.warns(LeakageWarning, match="'x1'"):
        assert check_leakage(X, label) == [Leak("x1", 1.0)]
    with pytest.raises(ModelError, match="binary"):
        check_leakage(X, np.zeros(200))
    with pytest.raises(ModelError, match="binary"):
        check_leakage(X, np.arange(200) % 3)
    with pytest.raises(ModelError, match="threshold"):
        check_leakage(X, label, threshold=1.5)
    with pytest.raises(ModelError, match="rows"):
        check_leakage(X, label[:10])


def test_an_all_missing_column_is_categorical_and_reads_live_values_as_unknown() -> None:
    """Regression: all-missing columns (text or float) become categorical, so boosting fits."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from leadlife.ml.scorer import ModelScorer

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "visits": rng.poisson(3, 200).astype(float),
            "industry": pd.Series([None] * 200, dtype=object),
            "confidence": np.full(200, np.nan),
        }
    )
    label = (frame["visits"] > 3).astype(int)
    encoder = TabularEncoder().fit(frame)
    assert encoder.categorical_columns_ == ["industry", "confidence"]
    live = {"visits": 4.0, "industry": "media", "confidence": 0.8}
    assert np.isnan(encoder.encode_row(live)[1:]).all()
    model = ModelScorer(estimator=HistGradientBoostingClassifier(max_iter=5)).fit(frame, label)
    assert 0.0 <= model.score_row(live) <= 100.0


def test_raw_cells_encode_as_clean_frame_would_have_left_them() -> None:
    """Regression: a fitted encoder read raw live cells unlike the cleaned training frame.

    Trained on clean_frame's output, "No" in a flag column was an error live and
    "saas " an unknown category; transform and encode_row now read each cell as
    clean_frame would have left it in a column of the fitted kind.
    """
    raw = pd.DataFrame(
        {
            "opted_out": ["Yes", "No", "no", "Select", "YES", "No"] * 5,
            "industry": ["saas", "retail ", " saas", "Select", "", "retail"] * 5,
        }
    )
    clean = clean_frame(raw)
    encoder = TabularEncoder(min_frequency=1).fit(clean)
    assert encoder.numeric_columns_ == ["opted_out"]
    assert encoder.categories_["industry"] == ["retail", "saas"]
    expected = encoder.transform(clean)
    np.testing.assert_array_equal(encoder.transform(raw), expected)
    rows = np.array([encoder.encode_row(row) for row in raw.to_dict("records")])
    np.testing.assert_array_equal(rows, expected)
    assert encoder.encode_row({"opted_out": " true ", "industry": "saas\t"}).tolist() == [1.0, 1.0]
    assert np.isnan(encoder.encode_row({"opted_out": "", "industry": "media"})).all()
    with pytest.raises(FeatureSchemaError, match="'opted_out'"):
        encoder.encode_row({"opted_out": "maybe", "industry": "saas"})


@pytest.mark.parametrize("value", [math.inf, -math.inf, 1e300, -3.5e38, "1e400", "inf"])
def test_numbers_the_trees_cannot_compare_are_missing_on_both_paths(value: object) -> None:
    """Regression: inf (or beyond float32) was scored live but raised sklearn's error in batch."""
    frame, label = _leads(200)
    encoder = TabularEncoder().fit(frame.assign(visits=frame["visits"].where(label == 0, np.inf)))
    assert encoder.numeric_columns_[0] == "visits"
    row = {**frame.iloc[0].to_dict(), "visits": value}
    encoded = encoder.encode_row(row)
    assert math.isnan(encoded[0])
    np.testing.assert_array_equal(encoder.transform(pd.DataFrame([row])), encoded[np.newaxis])
    big = frame.assign(visits=np.where(label == 1, 1e300, frame["visits"]))
    matrix = encoder.transform(big)
    assert np.isnan(matrix[label == 1, 0]).all()
    assert big["visits"].eq(1e300).any()  # the caller's frame is left as it was
    RandomForestClassifier(n_estimators=3, random_state=0).fit(matrix, label)
