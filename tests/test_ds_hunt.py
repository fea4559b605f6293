"""A data scientist's workflows: label spellings, custom estimators, odd frames and dtypes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from numpy.typing import NDArray
from sklearn.ensemble import RandomForestClassifier
from threadpoolctl import threadpool_limits

from leadlife.cli import main
from leadlife.errors import ModelError
from leadlife.ml.encoding import clean_frame, label_flag
from leadlife.ml.evaluation import evaluate
from leadlife.ml.persistence import load_model
from leadlife.ml.training import TrainingResult, train
from tests.test_training import leads

SMALL_FOREST = RandomForestClassifier(n_estimators=12, min_samples_leaf=5, random_state=0, n_jobs=1)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One OpenMP thread: HistGradientBoosting's thread pool crawls on a shared 2-core machine."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return leads()


def quick(frame: pd.DataFrame | Path, **options: Any) -> TrainingResult:
    """Train with a small forest and no importance unless told otherwise."""
    settings: dict[str, Any] = {"estimator": SMALL_FOREST, "drop": ["lead_id"]}
    settings.update(importance_repeats=0, min_positives=50)
    settings.update(options)
    return train(frame, "Converted", **settings)


@pytest.fixture(scope="module")
def numeric(frame: pd.DataFrame) -> TrainingResult:
    """The frame trained on its 1/0 label."""
    return quick(frame)


# -- Y/N labels ------------------------------------------------------------------------


def y_n(converted: pd.Series) -> NDArray[np.object_]:
    """The label spelled Y/N, in mixed case and with blanks around some of the letters."""
    spelled = np.where(converted == 1, "Y", "N").astype(object)
    spelled[::3] = np.where(converted.iloc[::3] == 1, " y", "n ")
    return spelled


def test_a_y_n_label_trains_as_one_and_zero(frame: pd.DataFrame, numeric: TrainingResult) -> None:
    """Regression: a label spelled Y/N (any case, blanks around) was refused as not
    binary; it now trains exactly the model a 1/0 label does."""
    spelled = quick(frame.assign(Converted=y_n(frame["Converted"])))
    pd.testing.assert_series_equal(spelled.y_test, numeric.y_test)
    assert spelled.data_hash == numeric.data_hash
    probabilities = spelled.model.predict_proba(spelled.X_test)
    np.testing.assert_array_equal(probabilities, numeric.model.predict_proba(numeric.X_test))
    assert spelled.report.metrics == numeric.report.metrics


def test_a_y_n_label_with_unlabelled_rows_and_as_a_category(
    frame: pd.DataFrame, numeric: TrainingResult
) -> None:
    """Blank and missing Y/N labels are left out; a Y/N category label reads as text does."""
    spelled = pd.Series(y_n(frame["Converted"]), index=frame.index, dtype=object)
    spelled.iloc[:5] = None
    spelled.iloc[5:10] = "  "
    trained = quick(frame.assign(Converted=spelled))
    assert trained.train_rows + len(trained.X_test) == len(frame) - 10
    assert set(trained.y_test) == {0, 1}
    category = np.where(frame["Converted"] == 1, "Y", "N")
    as_category = quick(frame.assign(Converted=pd.Series(category, dtype="category")))
    pd.testing.assert_series_equal(as_category.y_test, numeric.y_test)


def test_a_y_n_feature_column_keeps_its_meaning(frame: pd.DataFrame) -> None:
    """Y/N is read as 1/0 in the label only: a Y/N feature column stays a text category."""
    rng = np.random.default_rng(3)
    flagged = frame.assign(
        band=rng.choice(["Y", "N", " y"], len(frame)), Converted=y_n(frame["Converted"])
    )
    cleaned = clean_frame(flagged)
    assert cleaned["band"].dtype == object
    assert set(cleaned["band"]) == {"Y", "N", "y"}
    trained = quick(flagged)
    assert trained.X_test["band"].dtype == object
    assert "band" in trained.model.encoder_.categorical_columns_


@pytest.mark.parametrize(
    ("values", "shown"),
    [(("Y", "N", "maybe"), "'maybe'"), (("Y", "N", "2"), "'2'"), (("Yes", "Nope"), "'Nope'")],
)
def test_a_label_mixing_y_n_with_other_words_is_refused(
    frame: pd.DataFrame, values: tuple[str, ...], shown: str
) -> None:
    """A label that is not binary in any spelling is still refused, naming its values
    and the spellings read, Y/N among them."""
    rng = np.random.default_rng(1)
    with pytest.raises(ModelError) as refused:
        quick(frame.assign(Converted=rng.choice(values, len(frame))))
    message = str(refused.value)
    assert "label 'Converted' has the values" in message
    assert shown in message
    assert "0/1, true/false, yes/no or y/n (in any case)" in message
    assert "Fix: map it to 1 (converted) and 0 (not converted) first" in message


@pytest.mark.parametrize(
    ("cell", "flag"),
    [
        ("Y", 1),
        (" n ", 0),
        ("YES", 1),
        ("False", 0),
        ("1", 1),
        ("0.0", 0),
        (True, 1),
        (np.float64(0.0), 0),
        (np.int64(1), 1),
        ("maybe", None),
        (2, None),
        (float("nan"), None),
        (None, None),
        ("", None),
    ],
)
def test_label_flag_reads_each_spelling(cell: object, flag: int | None) -> None:
    """One label cell reads as 1, 0, or None when it spells neither."""
    assert label_flag(cell) == flag


def test_train_cli_reads_a_y_n_label(tmp_path: Path, frame: pd.DataFrame) -> None:
    """`leadlife train --label` takes a Y/N column of a CSV file."""
    data = tmp_path / "leads.csv"
    frame.assign(Converted=y_n(frame["Converted"])).to_csv(data, index=False)
    name = tmp_path / "models" / "lead-scorer"
    result = CliRunner().invoke(
        main,
        [
            "train",
            str(data),
            "--label",
            "Converted",
            "--drop",
            "lead_id",
            "--min-positives",
            "50",
            "-o",
            str(name),
        ],
    )
    assert result.exit_code == 0, result.output
    assert load_model(name).classes_.tolist() == [0, 1]


# -- evaluation labels -----------------------------------------------------------------


@pytest.mark.parametrize(
    "spell",
    [
        lambda y: np.where(y == 1, "Yes", "No"),
        lambda y: np.where(y == 1, "Y", "N"),
        lambda y: y.astype(str),
        lambda y: y.astype(bool),
        lambda y: y.astype(float),
    ],
    ids=["yes-no", "y-n", "text-1-0", "bool", "float"],
)
def test_evaluate_reads_labels_spelled_as_training_reads_them(
    numeric: TrainingResult, spell: Any
) -> None:
    """Regression: evaluate compared a Yes/No (or Y/N, "1"/"0") label with the model's
    class 1, found none equal, and said every label was negative; it now reads them
    as train does and gives the report the 0/1 labels give."""
    report = evaluate(numeric.model, numeric.X_test, spell(numeric.y_test), n_repeats=0)
    assert report.metrics == numeric.report.metrics


def test_evaluate_refuses_missing_and_unknown_labels(numeric: TrainingResult) -> None:
    """A missing label or a word that is none of the spellings is a ModelError naming it
    (it counted as a negative before)."""
    labels = numeric.y_test.astype(float)
    labels.iloc[0] = np.nan
    with pytest.raises(ModelError, match=r"y holds nan; .* no missing values"):
        evaluate(numeric.model, numeric.X_test, labels, n_repeats=0)
    words = np.where(numeric.y_test == 1, "won", "lost")
    with pytest.raises(ModelError, match=r"y holds 'won', 'lost'|y holds 'lost', 'won'"):
        evaluate(numeric.model, numeric.X_test, words, n_repeats=0)


def test_evaluate_keeps_a_text_labelled_model_s_own_classes(frame: pd.DataFrame) -> None:
    """A model that learned text classes is measured against them, as before."""
    cleaned = clean_frame(frame).drop(columns=["lead_id", "city"]).fillna(0)
    y = np.where(frame["Converted"] == 1, "won", "lost")
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        cleaned.drop(columns=["Converted"]), y
    )
    report = evaluate(forest, cleaned.drop(columns=["Converted"]), y, n_repeats=0)
    assert report.metrics["positives"] == int((y == "won").sum())
    with pytest.raises(ModelError, match="not the model's classes"):
        evaluate(forest, cleaned.drop(columns=["Converted"]), frame["Converted"], n_repeats=0)


# -- True/False columns with blanks ----------------------------------------------------


def test_clean_frame_reads_an_object_column_of_bools_as_flags() -> None:
    """Regression: an object column of bools and missing values (what read_csv makes of
    a True/False column with blanks) stayed text, so it hashed and was kinded as a
    category; it is 1.0/0.0 now, as the words True/False are."""
    raw = pd.DataFrame({"flag": [True, False, None, np.True_], "mixed": [True, "No", None, "yes"]})
    cleaned = clean_frame(raw)
    assert cleaned["flag"].dtype == np.float64
    np.testing.assert_array_equal(cleaned["flag"], [1.0, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(cleaned["mixed"], [1.0, 0.0, np.nan, 1.0])
    numbers = clean_frame(pd.DataFrame({"n": [True, 2.5, None]}))
    assert numbers["n"].dtype == object  # a bool among numbers is no number


def test_a_csv_true_false_column_with_blanks_loads_against_the_holdout(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    """Regression: a model trained on a CSV whose True/False column has blanks refused
    load_model(..., features=result.X_test) ("categorical here but numeric in the
    model"), and the CSV's data hash differed from the frame's it was written from."""
    rng = np.random.default_rng(2)
    flag = pd.array(rng.random(len(frame)) < 0.5, dtype="boolean")
    flag[::9] = pd.NA
    flagged = frame.assign(opted_in=flag)
    data = tmp_path / "leads.csv"
    flagged.to_csv(data, index=False)
    from_csv = quick(data)
    assert from_csv.data_hash == quick(flagged).data_hash
    assert from_csv.X_test["opted_in"].dtype == np.float64
    saved = from_csv.save(tmp_path / "models" / "lead-scorer")
    model = load_model(saved, features=from_csv.X_test)
    assert "opted_in" in model.encoder_.numeric_columns_


# -- IndustryInferrer.infer --------------------------------------------------------------


def test_industry_infer_reads_a_cell_as_predict_with_confidence_does() -> None:
    """Regression: infer(text), documented equal to predict_with_confidence([text]),
    raised a raw TypeError for a missing cell (None, NaN, pandas.NA) or a list of
    terms, which predict_with_confidence reads; it now gives the same answer."""
    from leadlife.ml.inferred import IndustryInferrer

    words = {
        "ads": ["banner", "poster", "logo", "brand", "campaign"],
        "edu": ["course", "teacher", "exam", "student", "class"],
        "med": ["hospital", "clinic", "doctor", "dental", "medical"],
    }
    rng = np.random.default_rng(0)
    customers = [
        (industry, " ".join(rng.choice(terms, 3)) + " price")
        for industry, terms in words.items()
        for _ in range(20)
    ]
    model = IndustryInferrer().fit([text for _, text in customers], [i for i, _ in customers])
    cells: list[Any] = [None, np.nan, pd.NA, ["hospital", "clinic"], ("exam",), "hospital", ""]
    for cell in cells:
        expected = model.predict_with_confidence(pd.Series([cell], dtype=object)).iloc[0]
        assert model.infer(cell) == (expected["industry"], expected["confidence"]), cell


# -- repeated column names -------------------------------------------------------------


def test_repeated_column_names_are_refused_by_name(frame: pd.DataFrame) -> None:
    """Regression: a frame naming a column twice (after a concat) crashed train with a
    raw AttributeError when the label repeated, and with narwhals' DuplicateError from
    inside scikit-learn otherwise; it is a FeatureSchemaError naming the repeats."""
    from leadlife.errors import FeatureSchemaError
    from leadlife.ml.encoding import TabularEncoder
    from leadlife.ml.scorer import ModelScorer

    for repeated in ("Converted", "visits"):
        doubled = pd.concat([frame, frame[[repeated]]], axis=1)
        with pytest.raises(FeatureSchemaError, match=f"'{repeated}' \\(2 times\\)") as refused:
            quick(doubled)
        assert refused.value.unexpected == (repeated,)
        assert "frame.loc[:, ~frame.columns.duplicated()]" in str(refused.value)
    X = clean_frame(frame).drop(columns=["lead_id", "Converted"])
    doubled = pd.concat([X, X[["city"]]], axis=1)
    with pytest.raises(FeatureSchemaError, match="'city' \\(2 times\\)"):
        ModelScorer(estimator=SMALL_FOREST).fit(doubled, frame["Converted"])
    with pytest.raises(FeatureSchemaError, match="'city' \\(2 times\\)"):
        TabularEncoder().fit(doubled)
    model = ModelScorer(estimator=SMALL_FOREST).fit(X, frame["Converted"])
    renamed = X.set_axis([*X.columns[:-1], X.columns[0]], axis=1)
    with pytest.raises(FeatureSchemaError, match="more than once") as scored:
        model.score_frame(renamed)
    assert scored.value.unexpected == (str(X.columns[0]),)
    with pytest.raises(FeatureSchemaError, match="more than once"):
        model.encoder_.transform(renamed)


# -- a Series or a text array where a frame belongs -------------------------------------


def test_a_series_or_a_text_array_is_refused_with_a_fix(frame: pd.DataFrame) -> None:
    """Regression: score_frame(X.iloc[0]) (one lead as a Series) and predict_proba on
    X.to_numpy() of a model with text columns failed with scikit-learn's "could not
    convert string to float: 'Pune'"; both are a FeatureSchemaError saying what to give."""
    from leadlife.errors import FeatureSchemaError
    from leadlife.ml.scorer import ModelScorer

    X = clean_frame(frame).drop(columns=["lead_id", "Converted"])
    model = ModelScorer(estimator=SMALL_FOREST).fit(X, frame["Converted"])
    with pytest.raises(FeatureSchemaError, match=r"X is a pandas Series \(4 values\)") as one:
        model.score_frame(X.iloc[0])
    assert "X.iloc[[i]]" in str(one.value)
    with pytest.raises(FeatureSchemaError, match="X is a pandas Series"):
        model.predict_proba(X.iloc[0])
    assert model.score_frame(X.iloc[[0]])["score"].iloc[0] == model.score_row(X.iloc[0])
    with pytest.raises(FeatureSchemaError, match="X is an array holding text") as array:
        model.predict_proba(X.to_numpy())
    assert "pandas.DataFrame(X, columns=model.feature_names_in_)" in str(array.value)
    with pytest.raises(FeatureSchemaError, match="X is an array holding text"):
        ModelScorer(estimator=SMALL_FOREST).fit(X.to_numpy(), frame["Converted"])
    numbers = X[["visits", "minutes"]].to_numpy()
    fitted = ModelScorer(estimator=SMALL_FOREST).fit(numbers, frame["Converted"])
    assert fitted.predict_proba(numbers).shape == (len(X), 2)
