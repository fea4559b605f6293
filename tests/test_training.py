"""Training: cleaning, the stratified holdout, estimators, search, guards, leakage, hashing."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from leadlife.errors import (
    FeatureSchemaError,
    InsufficientDataError,
    InvalidArgumentError,
    ModelError,
)
from leadlife.ml.encoding import clean_frame
from leadlife.ml.leakage import LeakageWarning
from leadlife.ml.persistence import hash_frame, load_model, read_sidecar
from leadlife.ml.scorer import ModelScorer
from leadlife.ml.training import SEARCH_SPACES, TrainingResult, search_space, train

SMALL_FOREST = RandomForestClassifier(n_estimators=12, min_samples_leaf=5, random_state=0, n_jobs=1)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One OpenMP thread: HistGradientBoosting's thread pool crawls on a shared 2-core machine."""
    with threadpool_limits(1):
        yield


def leads(rows: int = 800, seed: int = 0) -> pd.DataFrame:
    """A raw export of leads: ids, numbers, a city with "Select" placeholders, a Yes/No flag."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(3, rows).astype(float)
    minutes = rng.gamma(2.0, 300.0, rows).round()
    city = rng.choice(["Mumbai", "Pune", "Delhi", "Select"], rows, p=[0.4, 0.3, 0.2, 0.1])
    email = rng.choice(["Yes", "No"], rows, p=[0.2, 0.8])
    logit = 0.9 * (visits - 3) + (minutes - 600) / 250 - 1.0
    logit += np.where(city == "Pune", 1.0, 0.0) - np.where(email == "Yes", 1.5, 0.0)
    converted = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    visits[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "lead_id": [f"L{i:05d}" for i in range(rows)],
            "visits": visits,
            "minutes": minutes,
            "city": city,
            "Do Not Email": email,
            "Converted": converted,
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return leads()


@pytest.fixture(scope="module")
def result(frame: pd.DataFrame) -> TrainingResult:
    """The default configuration: the library's RandomForest, no search."""
    return train(frame, "Converted", drop=["lead_id"], importance_repeats=2)


def quick(frame: pd.DataFrame, **options: Any) -> TrainingResult:
    """Train with a small forest and cheap importance unless told otherwise."""
    settings: dict[str, Any] = {"estimator": SMALL_FOREST, "drop": ["lead_id"]}
    settings["importance_repeats"] = 1
    settings.update(options)
    return train(frame, "Converted", **settings)


def test_default_is_a_random_forest_model_scorer(result: TrainingResult) -> None:
    """By default train fits a ModelScorer around a RandomForest and evaluates it on the holdout."""
    assert isinstance(result.model, ModelScorer)
    assert isinstance(result.model.estimator_, RandomForestClassifier)
    assert result.report.metrics["roc_auc"] > 0.7
    assert result.report.metrics["leads"] == len(result.X_test)
    assert result.params == result.model.estimator_.get_params(deep=False)
    assert result.search_results is None
    assert result.label == "Converted"


def test_holdout_is_a_stratified_tenth(frame: pd.DataFrame, result: TrainingResult) -> None:
    """10% of the leads are held out, with the same conversion rate as the whole frame."""
    assert len(result.X_test) == int(np.ceil(0.1 * len(frame)))
    assert result.train_rows + len(result.X_test) == len(frame)
    positives = frame["Converted"].sum()
    assert abs(result.y_test.sum() - 0.1 * positives) <= 1
    assert list(result.X_test.columns) == ["visits", "minutes", "city", "Do Not Email"]
    assert result.X_test.index.isin(frame.index).all()


def test_frame_is_cleaned_before_fitting(result: TrainingResult) -> None:
    """Placeholders become missing and Yes/No flags become numbers, as clean_frame does."""
    assert "Select" not in set(result.X_test["city"].dropna())
    assert set(result.X_test["Do Not Email"].dropna()) <= {0.0, 1.0}


def test_same_data_same_hash_and_model(frame: pd.DataFrame, tmp_path: Path) -> None:
    """Training twice on one table, as a frame or as a CSV file, gives one hash and one model."""
    first = quick(frame)
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    again = quick(str(path))
    assert again.data_hash == first.data_hash
    cleaned = clean_frame(frame).drop(columns=["lead_id"])
    features, label = cleaned.drop(columns=["Converted"]), cleaned["Converted"].astype(int)
    assert first.data_hash == hash_frame(pd.concat([features, label], axis=1))
    np.testing.assert_array_equal(
        first.model.predict_proba(first.X_test), again.model.predict_proba(first.X_test)
    )
    shuffled = quick(frame.iloc[::-1])
    assert shuffled.data_hash != first.data_hash  # row order changes the split, so the hash


def test_hist_gradient_boosting_is_one_argument_away(frame: pd.DataFrame) -> None:
    """estimator="hist_gradient_boosting" fits the library's HistGradientBoosting."""
    trained = quick(frame, estimator="hist_gradient_boosting")
    assert isinstance(trained.model.estimator_, HistGradientBoostingClassifier)
    assert trained.report.metrics["roc_auc"] > 0.7


@pytest.mark.parametrize(
    "estimator",
    [
        ExtraTreesClassifier(n_estimators=10, min_samples_leaf=5, random_state=0, n_jobs=1),
        make_pipeline(
            make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), ["city"]),
                (
                    make_pipeline(SimpleImputer(), StandardScaler()),
                    ["visits", "minutes", "Do Not Email"],
                ),
            ),
            LogisticRegression(),
        ),
        ModelScorer(
            estimator=make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())
        ),
    ],
    ids=["estimator", "pipeline-on-raw-frame", "model-scorer"],
)
def test_any_sklearn_estimator_is_accepted(frame: pd.DataFrame, estimator: Any) -> None:
    """A classifier, a Pipeline (given the cleaned frame) or a ModelScorer all train and score."""
    trained = quick(frame, estimator=estimator)
    assert isinstance(trained.model, ModelScorer)
    assert trained.report.metrics["roc_auc"] > 0.7
    scored = trained.model.score_frame(trained.X_test)
    assert list(scored.columns) == ["probability", "score", "tag", "reasons"]


def test_estimator_that_is_not_a_classifier_is_refused(frame: pd.DataFrame) -> None:
    """An unknown kind or an object without predict_proba is refused with what to give."""
    with pytest.raises(ValueError, match="'xgboost' is not a kind"):
        quick(frame, estimator="xgboost")
    with pytest.raises(TypeError, match="not a probabilistic classifier"):
        quick(frame, estimator=object())


def test_search_uses_the_default_space(frame: pd.DataFrame) -> None:
    """search=True tunes a forest over the documented space and keeps every candidate's score."""
    trained = quick(frame, search=True, n_iter=3, cv=2)
    table = trained.search_results
    assert table is not None
    assert len(table) == 3
    assert set(SEARCH_SPACES["random_forest"]) <= set(table.columns)
    assert table["rank_test_score"].tolist() == sorted(table["rank_test_score"])
    best = table.iloc[0]
    for name in SEARCH_SPACES["random_forest"]:
        chosen = trained.params[name]
        assert chosen == best[name] or (chosen is None and pd.isna(best[name]))


def test_search_takes_a_space(frame: pd.DataFrame) -> None:
    """A dict of distributions is searched instead, its keys the estimator's parameters."""
    space = {"learning_rate": [0.05, 0.2], "max_iter": [15, 30]}
    trained = quick(frame, estimator="hist_gradient_boosting", search=space, n_iter=2, cv=2)
    assert trained.search_results is not None
    assert len(trained.search_results) == 2
    assert trained.params["learning_rate"] in (0.05, 0.2)
    assert trained.params["max_iter"] in (15, 30)


def test_search_spaces_by_kind() -> None:
    """Default spaces exist for both kinds and their estimators; others must bring one."""
    assert search_space("random_forest") == dict(SEARCH_SPACES["random_forest"])
    assert (
        search_space(HistGradientBoostingClassifier()).keys()
        == SEARCH_SPACES["hist_gradient_boosting"].keys()
    )
    assert search_space(ModelScorer()) == dict(SEARCH_SPACES["random_forest"])
    with pytest.raises(ModelError, match="no default search space for LogisticRegression"):
        search_space(LogisticRegression())


def test_too_few_positives_refuses_before_fitting(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below min_positives in the whole frame, training stops before any fit, naming the counts."""
    positives = int(frame["Converted"].sum())

    def no_fit(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("fit was called")

    monkeypatch.setattr(ModelScorer, "fit", no_fit)
    with pytest.raises(InsufficientDataError) as caught:
        quick(frame, min_positives=positives + 1)
    assert (caught.value.positives, caught.value.required) == (positives, positives + 1)
    assert caught.value.label == "Converted"
    assert "keep scoring with the rule scorer" in str(caught.value)


def test_exactly_min_positives_trains(frame: pd.DataFrame) -> None:
    """The guard counts the whole frame's positives: exactly min_positives is enough."""
    positives = int(frame["Converted"].sum())
    trained = quick(frame, min_positives=positives)
    assert trained.report.metrics["positives"] < positives  # the holdout holds only a tenth


def test_label_problems_are_named(frame: pd.DataFrame) -> None:
    """A missing label, an unknown drop column and a non-binary label each say what to fix."""
    with pytest.raises(FeatureSchemaError, match="no label column 'converted'") as missing:
        train(frame, "converted")
    assert missing.value.missing == ("converted",)
    with pytest.raises(FeatureSchemaError, match="cannot drop 'Tags'"):
        quick(frame, drop=["lead_id", "Tags"])
    with pytest.raises(ModelError, match="needs a binary label") as values:
        train(frame.assign(Converted=frame["Converted"] * 2 + (frame["visits"] > 3)), "Converted")
    assert "np." not in str(values.value)  # regression: the values read np.int64(2)


@pytest.mark.parametrize("codes", [("converted", "lost"), (2, 1)])
def test_a_two_valued_label_not_spelled_as_one_says_which_spellings_are_read(
    frame: pd.DataFrame, codes: tuple[object, object]
) -> None:
    """Regression: a two-valued label was refused as "not a binary label", which two
    values are; the error now says which spellings a binary label is read in."""
    yes, no = codes
    labelled = frame.assign(Converted=np.where(frame["Converted"] == 1, yes, no))
    with pytest.raises(ModelError) as refused:
        quick(labelled)
    message = str(refused.value)
    assert f"has the values {no!r}, {yes!r}" in message or f"{yes!r}, {no!r}" in message
    assert "two values are one only when spelled 0/1, true/false, yes/no or y/n" in message
    assert "Fix: map it to 1 (converted) and 0 (not converted) first" in message


def test_yes_no_labels_and_unlabelled_rows(frame: pd.DataFrame) -> None:
    """A Yes/No label trains like 1/0, and rows without a label are left out."""
    labelled = frame.assign(Converted=np.where(frame["Converted"] == 1, "Yes", "No"))
    labelled.loc[:9, "Converted"] = None
    trained = quick(labelled)
    assert trained.train_rows + len(trained.X_test) == len(frame) - 10
    assert set(trained.y_test) == {0, 1}


def test_true_false_labels_with_unlabelled_rows(frame: pd.DataFrame) -> None:
    """Regression: True/False labels with some rows unlabelled stay an object column of
    bools once those rows are left out, which was refused as not binary."""
    labelled = frame.assign(Converted=frame["Converted"].astype(bool).astype(object))
    labelled.loc[:9, "Converted"] = None
    trained = quick(labelled)
    assert trained.train_rows + len(trained.X_test) == len(frame) - 10
    assert set(trained.y_test) == {0, 1}
    text = labelled.assign(Converted=labelled["Converted"].map({True: 1, False: "x"}))
    with pytest.raises(ModelError, match="needs a binary label"):
        quick(text)  # an object column is binary only when every value is a number


@pytest.mark.parametrize("codes", [("Yes", "No"), ("1", "0"), ("True", "False")])
def test_a_categorical_label_is_read_as_text_labels_are(
    frame: pd.DataFrame, codes: tuple[str, str]
) -> None:
    """Regression: a Yes/No label stored as a pandas category was refused as "not
    binary" (clean_frame leaves categories alone)."""
    label = np.where(frame["Converted"] == 1, codes[0], codes[1])
    trained = quick(frame.assign(Converted=pd.Series(label, index=frame.index, dtype="category")))
    assert set(trained.y_test) == {0, 1}


def test_leaky_column_warns_and_is_kept_on_the_result(frame: pd.DataFrame) -> None:
    """A column that gives the label away warns by name and is listed in result.leaks."""
    leaky = frame.assign(Tags=np.where(frame["Converted"] == 1, "Closed", "Lost"))
    with pytest.warns(LeakageWarning, match="Tags"):
        trained = quick(leaky)
    assert [leak.column for leak in trained.leaks] == ["Tags"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean = quick(leaky, drop=["lead_id", "Tags"])
    assert clean.leaks == ()


def test_spec_is_kept_for_live_scoring(frame: pd.DataFrame) -> None:
    """The FeatureSpec given to train is the one the model scores live leads with."""
    from leadlife.ml.features import FeatureSpec

    spec = FeatureSpec(windows=(7, 30))
    trained = quick(frame, spec=spec)
    assert trained.model.spec_ is spec


def test_bad_test_size_is_refused(frame: pd.DataFrame) -> None:
    """A holdout share outside (0, 1) is refused before anything else."""
    with pytest.raises(ValueError, match="test_size"):
        quick(frame, test_size=1.0)


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"importance_repeats": -1}, "importance_repeats"),
        ({"importance_repeats": 1.5}, "importance_repeats"),
        ({"test_size": "0.1"}, "test_size"),
        ({"min_positives": "120"}, "min_positives"),
        ({"search": True, "n_iter": 0}, "n_iter"),
        ({"search": True, "cv": 1}, "cv"),
        ({"estimator": "svm"}, "estimator"),
    ],
)
def test_bad_arguments_are_refused_by_their_own_names(
    frame: pd.DataFrame, options: dict[str, Any], argument: str
) -> None:
    """A bad argument of train is an InvalidArgumentError naming that argument, before
    any fit (scikit-learn would fail inside the fit or search, naming its own)."""
    stages: list[str] = []
    with pytest.raises(InvalidArgumentError) as caught:
        quick(frame, progress=stages.append, **options)
    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"{argument}: ")
    assert not any(stage.startswith(("Fitting", "Searching")) for stage in stages)


def test_progress_reports_each_stage(frame: pd.DataFrame) -> None:
    """progress receives one message per stage, in order."""
    messages: list[str] = []
    quick(frame, progress=messages.append)
    assert [message.split()[0] for message in messages] == [
        "Cleaning",
        "Holding",
        "Checking",
        "Fitting",
        "Evaluating",
    ]


def test_saved_result_round_trips(result: TrainingResult, tmp_path: Path) -> None:
    """result.save writes version 1 with the metrics; the loaded model predicts the same."""
    path = result.save(tmp_path / "lead-scorer")
    sidecar = read_sidecar(path)
    assert sidecar["version"] == 1
    assert sidecar["training_data"] == {"sha256": result.data_hash, "rows": result.train_rows}
    assert sidecar["metrics"]["roc_auc"] == pytest.approx(result.report.metrics["roc_auc"])
    kinds = {item["name"]: item["kind"] for item in sidecar["features"]}
    assert kinds == {
        "visits": "numeric",
        "minutes": "numeric",
        "city": "categorical",
        "Do Not Email": "numeric",
    }
    loaded = load_model(path, features=result.X_test)
    np.testing.assert_array_equal(
        loaded.predict_proba(result.X_test), result.model.predict_proba(result.X_test)
    )


def test_a_frame_without_feature_columns_is_refused(frame: pd.DataFrame) -> None:
    """Regression: a frame of only the label (and dropped ids) raised scikit-learn's error."""
    with pytest.raises(FeatureSchemaError, match="no feature columns") as caught:
        quick(frame[["lead_id", "Converted"]])
    assert "'lead_id'" in str(caught.value)
    with pytest.raises(FeatureSchemaError, match="no feature columns"):
        quick(frame[["Converted"]], drop=[])


def test_infinite_values_train_as_missing(frame: pd.DataFrame) -> None:
    """Regression: one inf in a column made train() raise scikit-learn's infinity error."""
    odd = frame.assign(minutes=frame["minutes"].where(frame.index % 50 != 0, np.inf))
    trained = quick(odd)
    assert 0.5 < trained.report.metrics["roc_auc"] <= 1.0


@pytest.mark.parametrize(
    ("rename", "said", "column"),
    [
        ({"city": "visits"}, "the header names 'visits' more than once", "visits"),
        ({"city": ""}, "column 4 of the header has no name", None),
    ],
)
def test_train_from_a_csv_refuses_a_header_scoring_could_not_read_back(
    tmp_path: Path, rename: dict[str, str], said: str, column: str | None
) -> None:
    """Regression: ``train("leads.csv", ...)`` let pandas rename a repeated or blank
    header name ('visits.1', 'Unnamed: 3'), so the model learned a column that scoring
    the same file, reading its header as written, could not find."""
    path = tmp_path / "leads.csv"
    leads(200).rename(columns=rename).to_csv(path, index=False)
    with pytest.raises(FeatureSchemaError, match=said) as caught:
        train(str(path), "Converted", estimator=SMALL_FOREST, drop=["lead_id"])
    assert caught.value.column == column
    assert "Fix: " in str(caught.value)


def test_train_from_a_csv_with_a_clean_header_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    leads(400).to_csv(path, index=False)
    trained = quick(path)  # type: ignore[arg-type]
    assert set(trained.X_test.columns) >= {"visits", "minutes", "city"}
