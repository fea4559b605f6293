"""The evaluation report: metrics, calibration, deciles, confusion, importance, plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from leadlife.errors import InvalidArgumentError, ModelError
from leadlife.ml.evaluation import EvaluationReport, decile_table, evaluate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def synthetic(rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Leads converting mostly by ``visits``, a little by ``time``, not at all by ``noise``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "visits": rng.normal(size=rows),
            "time": rng.normal(size=rows),
            "noise": rng.normal(size=rows),
        }
    )
    logit = 2.0 * X["visits"] + 0.5 * X["time"] - 0.5
    y = pd.Series((rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int), name="converted")
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, pd.DataFrame, pd.Series]:
    """A logistic regression fitted on 400 leads, with 200 held-out leads."""
    X, y = synthetic()
    model = LogisticRegression().fit(X.iloc[:400], y.iloc[:400])
    return model, X.iloc[400:], y.iloc[400:]


@pytest.fixture(scope="module")
def report(fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series]) -> EvaluationReport:
    model, X, y = fitted
    return evaluate(model, X, y, threshold=0.4, n_repeats=3)


def test_metrics_equal_sklearns_own(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series], report: EvaluationReport
) -> None:
    """Each headline metric equals the scikit-learn function that defines it."""
    model, X, y = fitted
    p = model.predict_proba(X)[:, 1]
    m = report.metrics
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["log_loss"] == pytest.approx(log_loss(y, p))
    assert m["base_rate"] == pytest.approx(y.mean())
    assert (m["leads"], m["positives"]) == (len(y), int(y.sum()))
    assert m["precision"] == pytest.approx(precision_score(y, p >= 0.4))
    assert m["recall"] == pytest.approx(recall_score(y, p >= 0.4))


def test_confusion_matrix_at_the_threshold(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series], report: EvaluationReport
) -> None:
    """The confusion frame counts actual against predicted at the chosen threshold."""
    model, X, y = fitted
    expected = confusion_matrix(y, model.predict_proba(X)[:, 1] >= 0.4)
    assert report.confusion.to_numpy().tolist() == expected.tolist()
    assert report.confusion.index.name == "actual"
    assert report.confusion.columns.name == "predicted"
    assert report.to_dict()["confusion"] == dict(
        zip(["tn", "fp", "fn", "tp"], expected.ravel().tolist(), strict=True)
    )


def test_calibration_equals_calibration_curve(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series], report: EvaluationReport
) -> None:
    """The calibration table is sklearn's 10-bin curve, with each bin's lead count."""
    model, X, y = fitted
    observed, predicted = calibration_curve(y, model.predict_proba(X)[:, 1], n_bins=10)
    np.testing.assert_allclose(report.calibration["observed_rate"], observed)
    np.testing.assert_allclose(report.calibration["mean_predicted"], predicted)
    assert report.calibration["leads"].sum() == len(y)
    assert (report.calibration["leads"] > 0).all()


def test_deciles_add_up(report: EvaluationReport) -> None:
    """Ten deciles hold every lead and every positive; gains end at 100% and lift averages 1."""
    deciles = report.deciles
    assert deciles["decile"].tolist() == list(range(1, 11))
    assert deciles["leads"].sum() == report.metrics["leads"]
    assert deciles["positives"].sum() == report.metrics["positives"]
    assert deciles["cumulative_gain_pct"].iloc[-1] == pytest.approx(100.0)
    assert deciles["cumulative_lift"].iloc[-1] == pytest.approx(1.0)
    weighted_lift = (deciles["lift"] * deciles["leads"]).sum() / deciles["leads"].sum()
    assert weighted_lift == pytest.approx(1.0)
    assert deciles["lift"].iloc[0] > 1.5  # a good model puts converters first
    assert deciles["min_probability"].is_monotonic_decreasing


@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(0, 1, allow_nan=False)), min_size=2, max_size=60
    ).filter(lambda rows: len({actual for actual, _ in rows}) == 2)
)
def test_decile_table_properties(rows: list[tuple[bool, float]]) -> None:
    """For any labels and scores, deciles partition the leads best first; gains rise to 100%."""
    actual = np.array([a for a, _ in rows])
    probability = np.array([p for _, p in rows])
    table = decile_table(actual, probability)
    assert len(table) == min(10, len(rows))
    assert table["leads"].sum() == len(rows)
    assert table["positives"].sum() == actual.sum()
    assert table["leads"].max() - table["leads"].min() <= 1
    assert table["cumulative_gain_pct"].is_monotonic_increasing
    assert table["cumulative_gain_pct"].iloc[-1] == pytest.approx(100.0)
    assert table["min_probability"].is_monotonic_decreasing


def test_importance_ranks_the_informative_column_first(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series], report: EvaluationReport
) -> None:
    """Permutation importance on the holdout puts the column that drives conversion first."""
    model, X, y = fitted
    assert report.importance["feature"].tolist()[0] == "visits"
    assert set(report.importance["feature"]) == set(X.columns)
    reference = permutation_importance(
        model, X, y, scoring="roc_auc", n_repeats=3, random_state=0, n_jobs=1
    )
    expected = dict(zip(X.columns, reference.importances_mean, strict=True))
    for row in report.importance.itertuples():
        assert row.importance == pytest.approx(expected[row.feature])


def test_importance_can_be_skipped(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series],
) -> None:
    """n_repeats=0 skips permutation importance and leaves an empty table."""
    model, X, y = fitted
    skipped = evaluate(model, X, y, n_repeats=0)
    assert skipped.importance.empty
    assert list(skipped.importance.columns) == ["feature", "importance", "std"]


def test_to_dict_is_plain_json(report: EvaluationReport) -> None:
    """to_dict survives a strict JSON round trip unchanged."""
    data = report.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert set(data) == {
        "metrics",
        "threshold",
        "confusion",
        "calibration",
        "deciles",
        "importance",
    }
    assert len(data["deciles"]) == 10


def test_frames_and_summary(report: EvaluationReport) -> None:
    """The report gives its tables by name, and a one-line summary with the ROC-AUC."""
    frames = report.frames()
    assert set(frames) == {
        "metrics",
        "roc",
        "precision_recall",
        "calibration",
        "deciles",
        "confusion",
        "importance",
    }
    assert frames["metrics"].loc["roc_auc", "value"] == report.metrics["roc_auc"]
    assert f"ROC-AUC {report.metrics['roc_auc']:.3f}" in report.summary()


def test_write_produces_json_and_png_plots(report: EvaluationReport, tmp_path: Path) -> None:
    """write() creates report.json and five non-empty PNG plots without loading pyplot."""
    had_pyplot = "matplotlib.pyplot" in sys.modules
    written = report.write(tmp_path / "report")
    names = [path.name for path in written]
    assert names == [
        "report.json",
        "roc.png",
        "precision_recall.png",
        "calibration.png",
        "gains.png",
        "importance.png",
    ]
    assert json.loads(written[0].read_text(encoding="utf-8")) == report.to_dict()
    for png in written[1:]:
        content = png.read_bytes()
        assert content.startswith(PNG_SIGNATURE)
        assert len(content) > 5_000  # a drawn plot, not a blank canvas
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot


def test_numpy_input_and_labels_other_than_zero_one() -> None:
    """Arrays work, and the positive class is the classifier's second class."""
    X, y = synthetic(300, seed=1)
    labels = np.where(y == 1, "yes", "no")
    model = LogisticRegression().fit(X.to_numpy(), labels)
    result = evaluate(model, X.to_numpy(), labels, n_repeats=1)
    p = model.predict_proba(X.to_numpy())[:, 1]
    assert result.metrics["roc_auc"] == pytest.approx(roc_auc_score(labels == "yes", p))
    assert result.importance["feature"].tolist()[0] == "x0"


def test_one_class_holdout_is_refused(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series],
) -> None:
    """Labels of a single class make ROC-AUC undefined: evaluate says so instead of a NaN."""
    model, X, _ = fitted
    with pytest.raises(ModelError, match="every one of the 5 evaluation labels is negative"):
        evaluate(model, X.iloc[:5], np.zeros(5, dtype=int))


def test_unfitted_or_bad_arguments_are_refused(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series],
) -> None:
    """An unfitted model, a threshold outside [0, 1] and negative repeats are refused."""
    model, X, y = fitted
    with pytest.raises(ModelError, match="not a fitted classifier"):
        evaluate(LogisticRegression(), X, y)
    with pytest.raises(ValueError, match="threshold"):
        evaluate(model, X, y, threshold=1.5)
    with pytest.raises(ValueError, match="n_repeats"):
        evaluate(model, X, y, n_repeats=-1)


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": "0.5"}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"n_repeats": -1}, "n_repeats"),
        ({"n_repeats": 2.5}, "n_repeats"),
    ],
)
def test_bad_arguments_are_the_librarys_errors_naming_them(
    fitted: tuple[LogisticRegression, pd.DataFrame, pd.Series],
    options: dict[str, Any],
    argument: str,
) -> None:
    """A threshold that is no probability or repeats that are no whole number of 0 or
    more is an InvalidArgumentError naming the argument, not Python's or scikit-learn's."""
    model, X, y = fitted
    with pytest.raises(InvalidArgumentError) as caught:
        evaluate(model, X, y, **options)
    assert caught.value.argument == argument


def test_importance_of_a_model_scorer_equals_shuffling_raw_columns() -> None:
    """Shuffling encoded columns (the fast path) gives the importances of shuffling raw ones."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score

    from leadlife.ml.evaluation import evaluate
    from leadlife.ml.scorer import ModelScorer

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "visits": rng.poisson(3, 300).astype(float),
            "city": rng.choice(["a", "b", "c"], 300).astype(object),
        }
    )
    label = ((frame["visits"] > 3) | (frame["city"] == "a")).astype(int).to_numpy()
    model = ModelScorer(estimator=RandomForestClassifier(10, random_state=0)).fit(frame, label)
    report = evaluate(model, frame, label, n_repeats=3, random_state=0)
    raw = permutation_importance(
        model,
        frame,
        label,
        scoring=lambda m, X, y: roc_auc_score(y, m.predict_proba(X)[:, 1]),
        n_repeats=3,
        random_state=0,
    )
    got = report.importance.set_index("feature")["importance"]
    np.testing.assert_allclose(got[["visits", "city"]], raw.importances_mean, atol=1e-12)
