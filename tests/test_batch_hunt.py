"""Scoring leads in batch, and a scorer of one's own: odd frames, dtypes and estimators."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import leadlife
from leadlife.errors import FeatureSchemaError, InvalidArgumentError, InvalidTimeError, ModelError
from leadlife.ml import (
    ModelScorer,
    TabularEncoder,
    clean_frame,
    evaluate,
    lead_features,
    save_model,
    train,
)
from leadlife.scoring import RuleScorer, ScoringRules
from leadlife.scoring.batch import lead_frame, score_frame
from tests.test_training import leads

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RULES = ScoringRules.from_toml(
    """
half_life_days = 30
[[fit]]
id = "target_industry"
when = { field = "industry", in = ["media"] }
points = 20
[[engagement]]
id = "download"
when = { event = "download" }
points = 5
[[engagement]]
id = "silent_month"
when = { inactive_days = 30 }
points = -20
"""
)


# -- the moment scored at ----------------------------------------------------------------


def test_score_frame_refuses_a_naive_now() -> None:
    """Regression: score_frame and lead_frame read a naive ``now`` in the machine's local
    time zone, so the same frame scored differently from host to host; the engine and
    build_features refuse a moment without a timezone."""
    snapshots = pd.DataFrame({"n.download": [1], "last.download": [NOW.timestamp()]})
    with pytest.raises(InvalidTimeError, match="now"):
        score_frame(snapshots, RULES, NOW.replace(tzinfo=None))
    with pytest.raises(InvalidTimeError, match="now"):
        lead_frame([], RULES, NOW.replace(tzinfo=None))
    # An aware moment scores as it always did.
    assert score_frame(snapshots, RULES, NOW)["score"].tolist() == [5.0]


# -- the snapshot's count and time columns -------------------------------------------


def snapshots() -> pd.DataFrame:
    """Three leads: downloads a day ago and silent for 40 days; never seen; one download."""
    a_day_ago = (NOW - timedelta(days=1)).timestamp()
    return pd.DataFrame(
        {
            "n.download": [2.0, np.nan, 1.0],
            "last.download": [a_day_ago, np.nan, NOW.timestamp()],
            "last_activity": [(NOW - timedelta(days=40)).timestamp(), np.nan, NOW.timestamp()],
        },
        index=pd.Index(["acme", "ghost", "solo"], name="lead_id"),
    )


def test_score_frame_reads_aware_datetime_columns_as_moments() -> None:
    """Regression: a ``last.*`` or ``last_activity`` column of timezone-aware datetimes (a
    warehouse export) was read as nanoseconds since 1970, so every event looked fresh
    and no lead was ever inactive, silently; it now scores as its epoch seconds do."""
    expected = score_frame(snapshots(), RULES, NOW)
    moments = snapshots()
    for column in ["last.download", "last_activity"]:
        moments[column] = pd.to_datetime(moments[column], unit="s", utc=True)
    moments["last_activity"] = moments["last_activity"].dt.tz_convert("Asia/Shanghai")
    pd.testing.assert_frame_equal(score_frame(moments, RULES, NOW), expected)
    assert expected.loc["acme", "points.silent_month"] == -20.0


def test_score_frame_refuses_naive_datetime_columns() -> None:
    """Regression: a column of naive datetimes was read as nanoseconds (and NaT as a
    moment in 1677); which zone it is in cannot be told, so it is refused, naming it."""
    naive = snapshots()
    naive["last_activity"] = pd.to_datetime(naive["last_activity"], unit="s")
    with pytest.raises(FeatureSchemaError, match="'last_activity'") as caught:
        score_frame(naive, RULES, NOW)
    assert caught.value.column == "last_activity"
    assert "tz_localize" in caught.value.fix


def test_score_frame_reads_counts_of_object_and_text_columns() -> None:
    """Regression: a count column of Python objects holding None, or of numbers as text,
    raised a raw TypeError from comparing None (or "2") with an int."""
    expected = score_frame(snapshots(), RULES, NOW)
    objects = snapshots().assign(**{"n.download": np.array([2, None, 1], dtype=object)})
    assert objects["n.download"].dtype == object
    pd.testing.assert_frame_equal(score_frame(objects, RULES, NOW), expected)
    texts = snapshots().assign(**{"n.download": ["2", None, "1"]})
    pd.testing.assert_frame_equal(score_frame(texts, RULES, NOW), expected)


def test_score_frame_names_a_count_column_that_holds_no_number() -> None:
    """Regression: text that is no number in a count column raised a raw TypeError."""
    bad = snapshots().assign(**{"n.download": ["2", "many", "1"]})
    with pytest.raises(FeatureSchemaError, match=r"'n\.download'") as caught:
        score_frame(bad, RULES, NOW)
    assert caught.value.column == "n.download"
    assert "'many'" in str(caught.value)


# -- column names of a model's frame -----------------------------------------------------


def small_forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=8, min_samples_leaf=5, random_state=0, n_jobs=1)


def test_mixed_column_names_are_a_schema_error_naming_them() -> None:
    """Regression: a frame whose column names mix text and numbers (a pd.concat with an
    unnamed column, say) raised scikit-learn's raw TypeError from fit, predict_proba,
    the encoder and train; it is a FeatureSchemaError naming the columns and the fix."""
    frame = leads(300).drop(columns=["lead_id"])
    mixed = frame.rename(columns={"minutes": 0})
    label = mixed.pop("Converted")
    with pytest.raises(FeatureSchemaError, match="0") as caught:
        ModelScorer(estimator=small_forest()).fit(clean_frame(mixed), label)
    assert caught.value.unexpected == ("0",)
    assert "astype(str)" in caught.value.fix
    with pytest.raises(FeatureSchemaError, match="astype"):
        TabularEncoder().fit(mixed)
    with pytest.raises(FeatureSchemaError, match="astype"):
        train(mixed.assign(Converted=label), "Converted", min_positives=5, importance_repeats=0)

    features = clean_frame(frame.drop(columns=["Converted"]))
    model = ModelScorer(estimator=small_forest()).fit(features, frame["Converted"])
    with pytest.raises(FeatureSchemaError, match="'minutes'") as caught:
        model.score_frame(features.rename(columns={"minutes": 0}))
    assert caught.value.unexpected == ("0",)
    with pytest.raises(FeatureSchemaError, match="astype"):
        model.encoder_.transform(features.rename(columns={"minutes": 0}))


# -- which class is the positive one -------------------------------------------------------


class ConvertedFirst(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A wrapped classifier that lists its classes as [1, 0], as a port of another
    library's model may: predict_proba's columns follow that order."""

    def fit(self, X: Any, y: Any) -> ConvertedFirst:
        self.inner_ = LogisticRegression().fit(np.nan_to_num(np.asarray(X, dtype=float)), y)
        self.classes_ = np.array([1, 0])
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        proba = self.inner_.predict_proba(np.nan_to_num(np.asarray(X, dtype=float)))
        return np.asarray(proba[:, ::-1], dtype=np.float64)


@pytest.fixture(scope="module")
def numbers() -> tuple[pd.DataFrame, pd.Series]:
    frame = clean_frame(leads(400, seed=3)).drop(columns=["lead_id", "city"])
    return frame.drop(columns=["Converted"]), frame["Converted"]


def test_positive_class_is_the_converted_one_whatever_the_order(
    numbers: tuple[pd.DataFrame, pd.Series],
) -> None:
    """Regression: the score was the probability of the *last* of ``classes_``, so a
    classifier listing its classes as [1, 0] scored every lead by its chance of not
    converting, and evaluate counted the unconverted leads as the positives."""
    X, y = numbers
    model = ModelScorer(estimator=ConvertedFirst()).fit(X, y)
    converting = model.estimator_.predict_proba(model.encoder_.transform(X))[:, 0]
    scored = model.score_frame(X)
    np.testing.assert_allclose(scored["probability"], converting)
    row = X.iloc[0].to_dict()
    assert model.score_row(row) == pytest.approx(100 * converting[0])
    assert scored["tag"].eq("high").sum() == (converting >= 0.7).sum()
    report = evaluate(model, X, y, n_repeats=0)
    assert report.metrics["base_rate"] == pytest.approx(y.mean())
    assert report.metrics["roc_auc"] > 0.7


def test_positive_label_sorted_first_is_still_the_positive_one(
    numbers: tuple[pd.DataFrame, pd.Series],
) -> None:
    """Regression: a label spelled ``Y``/``n`` sorts as [Y, n] (capitals first), so the
    forest's last class was ``n`` and the score was the chance of not converting."""
    X, y = numbers
    spelled = y.map({1: "Y", 0: "n"})
    model = ModelScorer(estimator=small_forest()).fit(X, spelled)
    assert list(model.classes_) == ["Y", "n"]
    reference = ModelScorer(estimator=small_forest()).fit(X, y)
    np.testing.assert_allclose(
        model.score_frame(X, reasons=False)["probability"],
        reference.score_frame(X, reasons=False)["probability"],
    )
    assert evaluate(model, X, spelled, n_repeats=0).metrics["base_rate"] == pytest.approx(y.mean())


# -- saving ----------------------------------------------------------------------------------


def test_save_model_refuses_an_unfitted_model(tmp_path: Path) -> None:
    """Regression: save_model wrote an unfitted ModelScorer (or classifier) as the next
    version, which load_model then handed out as the newest; scoring it failed with
    scikit-learn's NotFittedError, and `leadlife score --model` said it was "fitted
    without column names"."""
    for unfitted in [ModelScorer(estimator=small_forest()), small_forest()]:
        with pytest.raises(ModelError, match="not fitted") as caught:
            save_model(unfitted, tmp_path / "lead-scorer")
        assert "fit" in str(caught.value).split("Fix:")[1]
    assert list(tmp_path.iterdir()) == []


# -- an estimator that takes no missing values --------------------------------------------


def test_an_estimator_without_missing_values_is_told_which_columns_hold_them() -> None:
    """Regression: a LogisticRegression behind leadlife's encoder, which gives NaN for a
    missing value or a category never seen in training, failed with scikit-learn's raw
    "Input X contains NaN", in train and later when a lead with a new city was scored;
    it is a FeatureSchemaError naming the columns and the fix."""
    frame = leads(300)  # visits has missing values
    with pytest.raises(FeatureSchemaError, match="'visits'") as caught:
        train(
            frame,
            "Converted",
            drop=["lead_id"],
            estimator=LogisticRegression(),
            min_positives=5,
            importance_repeats=0,
        )
    assert "SimpleImputer" in caught.value.fix
    assert caught.value.unexpected == ()
    assert caught.value.missing == ()

    complete = clean_frame(frame).dropna().drop(columns=["lead_id"])
    X, y = complete.drop(columns=["Converted"]), complete["Converted"]
    model = ModelScorer(estimator=LogisticRegression()).fit(X, y)
    assert model.score_frame(X.iloc[:3])["score"].between(0, 100).all()
    goa = X.iloc[:2].assign(city=["Goa", "Pune"])  # Goa: never seen in training
    with pytest.raises(FeatureSchemaError, match="'city'"):
        model.score_frame(goa)
    with pytest.raises(FeatureSchemaError, match="'city'"):
        model.score_row(goa.iloc[0].to_dict())


# -- the frame score_frame is given ---------------------------------------------------------


def test_score_frame_names_a_repeated_column_the_rules_read() -> None:
    """Regression: a frame naming a column the rules read twice (a merge or a concat)
    raised a raw AttributeError ('DataFrame' object has no attribute 'dtype'); which
    column to read cannot be told, so it is a FeatureSchemaError naming it, as in
    `leadlife score`. A repeated column the rules do not read is left alone."""
    twice = pd.concat([snapshots(), snapshots()[["n.download"]]], axis=1)
    with pytest.raises(FeatureSchemaError, match=r"'n\.download'") as caught:
        score_frame(twice, RULES, NOW)
    assert caught.value.unexpected == ("n.download",)
    extra = snapshots().assign(note="hi")
    unread = pd.concat([extra, extra[["note"]]], axis=1)
    pd.testing.assert_frame_equal(
        score_frame(unread, RULES, NOW), score_frame(snapshots(), RULES, NOW)
    )


def test_score_frame_refuses_one_lead_as_a_series() -> None:
    """Regression: one lead's row, frame.iloc[0], raised a raw AttributeError."""
    with pytest.raises(FeatureSchemaError, match=r"iloc\[\[0\]\]"):
        score_frame(snapshots().iloc[0], RULES, NOW)  # type: ignore[arg-type]
    one = score_frame(snapshots().iloc[[0]], RULES, NOW)
    assert one.index.tolist() == ["acme"]


def test_score_frame_refuses_infinite_and_negative_counts() -> None:
    """Regression: a count of inf scored inf engagement (and, under a cap, a score the
    contributions no longer add up to: inf - inf), a negative count gave a weighted
    count rule negative points, and an infinite time made the lead look fresh; no lead
    can have them, and `leadlife score` refuses them, so score_frame names the column."""
    weighted = ScoringRules.from_dict(
        {"total_cap": 50, "weighted": [{"id": "views", "event": "page_view", "weight": 2}]}
    )
    for column, value, rules in [
        ("n.download", np.inf, RULES),
        ("n.page_view", -3.0, weighted),
        ("n.page_view", np.inf, weighted),
        ("last.download", np.inf, RULES),
        ("last_activity", -np.inf, RULES),
    ]:
        bad = snapshots().assign(**{"n.page_view": 1.0})
        bad.loc["solo", column] = value
        with pytest.raises(FeatureSchemaError, match=re.escape(repr(column))) as caught:
            score_frame(bad, rules, NOW)
        assert caught.value.column == column
    before_1970 = snapshots().assign(last_activity=-86_400.0 * 365)  # 1969: a real moment
    assert score_frame(before_1970, RULES, NOW)["points.silent_month"].eq(-20).all()


def test_scoring_one_lead_refuses_a_naive_now() -> None:
    """Regression: RuleScorer.score and explain, lead_features and so ModelScorer.score
    read a naive ``now`` (``datetime.now()``) in the machine's local zone, so windows,
    decay and idle days moved with the host; the engine never passes one, and
    build_features refuses one."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(NOW))
    lead = engine.ingest({"id": "e1", "lead_id": "u1", "type": "download", "at": NOW})
    naive = NOW.replace(tzinfo=None)
    scorer = RuleScorer(RULES)
    for call in [scorer.score, scorer.explain, lead_features]:
        with pytest.raises(InvalidTimeError, match="now"):
            call(lead, naive)
    assert scorer.score(lead, NOW) == 5.0


def test_score_frame_refuses_a_negative_number_of_reasons() -> None:
    """Regression: reasons=-1 was read as a slice end, so every row listed all its
    contributions but the smallest, silently."""
    with pytest.raises(InvalidArgumentError, match="reasons"):
        score_frame(snapshots(), RULES, NOW, reasons=-1)
    assert score_frame(snapshots(), RULES, NOW, reasons=1).loc["acme", "reasons"] == (
        "silent_month -20"
    )


# -- leads whose profile holds lists and tables ---------------------------------------------


def test_lead_frame_of_a_profile_holding_a_list_scores_as_the_lead_does() -> None:
    """Regression: a profile field holding a list or a table (a form's multi-select, as
    the engine accepts) made score_frame(lead_frame(...)) raise a raw TypeError,
    "unhashable type: 'FrozenList'", where the per-lead scorer gave the lead its
    score; both paths now agree on such leads, as the docs promise for any lead."""
    rules = ScoringRules.from_toml(
        """
[[fit]]
id = "target"
when = { field = "industry", in = ["media", "retail"] }
points = 20
[[fit]]
id = "told"
when = { field = "industry", exists = true }
points = 5
[[fit]]
id = "says_media"
when = { field = "industry", matches = "med" }
points = 3
[[fit]]
id = "staff"
when = { field = "employees", min = 10 }
points = 7
[[weighted]]
id = "tier"
field = "industry"
values = { media = 10 }
weight = 1
"""
    )
    engine = leadlife.Engine(clock=leadlife.FixedClock(NOW))
    values = {"many": ["media", "saas"], "table": {"main": "media"}, "one": "media"}
    for lead_id, value in values.items():
        engine.ingest(
            {
                "id": lead_id,
                "lead_id": lead_id,
                "type": "form_submit",
                "at": NOW,
                "data": {"industry": value, "employees": value},
            }
        )
    leads_ = sorted(engine.storage.leads(), key=lambda lead: lead.id)
    scored = score_frame(lead_frame(leads_, rules, NOW), rules, NOW)
    scorer = RuleScorer(rules)
    for lead in leads_:
        explained = scorer.explain(lead, NOW)
        assert scored.loc[lead.id, "score"] == explained.value, lead.id
        for part in explained.contributions:
            assert scored.loc[lead.id, f"points.{part.rule}"] == part.points
    assert scored.loc["one", "score"] == 38.0


# -- a pipeline that reads the frame's dtypes ------------------------------------------------


def test_one_lead_reaches_a_passthrough_pipeline_with_the_training_dtypes() -> None:
    """A pipeline given the frame as is (encoder="passthrough") and fitted on a
    `category` column, as HistGradientBoosting's categorical_features="from_dtype"
    reads them, scores one lead (score_row, and so the live score in the engine) as it
    scores the same lead in a whole frame."""
    frame = clean_frame(leads(300, seed=5)).drop(columns=["lead_id"])
    X = frame.drop(columns=["Converted"]).assign(city=lambda f: f["city"].astype("category"))
    boosting = HistGradientBoostingClassifier(
        max_iter=10, categorical_features="from_dtype", random_state=0
    )
    model = ModelScorer(estimator=make_pipeline(boosting), encoder="passthrough")
    model.fit(X, frame["Converted"])
    batch = model.score_frame(X.iloc[:5], reasons=False)["score"]
    for i in range(5):
        assert model.score_row(X.iloc[i].to_dict()) == pytest.approx(batch.iloc[i], abs=1e-12)
