"""The model scorer: a scikit-learn classifier that scores, tags and explains leads."""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

import leadlife
from leadlife.errors import FeatureSchemaError, ModelError
from leadlife.ml.compiled import CompiledTrees
from leadlife.ml.features import FeatureSpec, lead_features
from leadlife.ml.scorer import BASELINE, ModelScorer
from leadlife.plugins import LeadlifePluginManager
from leadlife.scoring import Scorer
from tests.conftest import T0

SPEC = FeatureSpec(
    windows=(7, 30),
    event_types=("page_view", "download", "form_submit", "chat_started"),
    profile_fields=("industry", "employees"),
    text_buckets=0,
)
NOW = T0 + timedelta(days=10)
INDUSTRIES = ["saas", "retail", "agency", None]
CHANNELS = ["web", "chat", None]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP on a shared, busy machine slows boosting tenfold; these tests use one thread."""
    with threadpool_limits(1):
        yield


def _small_forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=12, min_samples_leaf=3, random_state=0, n_jobs=1)


def _small_boosting() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=15, random_state=0)


def _features(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A frame with the columns of SPEC's build_features and a label driven by them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(index=pd.Index([f"u{i}" for i in range(n)], name="lead_id"))
    for column in SPEC.columns():
        if column in SPEC.categorical_columns():
            choices = INDUSTRIES if column == "industry" else CHANNELS
            frame[column] = rng.choice(np.array(choices, dtype=object), n)
        elif column.startswith("n."):
            frame[column] = rng.poisson(1.5, n).astype(float)
        else:
            frame[column] = rng.uniform(0, 60, n)
    frame.loc[rng.random(n) < 0.2, "employees"] = np.nan
    logit = (
        0.8 * frame["n.form_submit.30d"]
        + 0.5 * frame["n.download.7d"]
        - 0.05 * frame["days_since_last_activity"]
        + 1.2 * (frame["industry"] == "saas")
        - 1.0
    )
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, pd.Series(label, index=frame.index, name="converted")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return _features()


@pytest.fixture(scope="module")
def forest(data: tuple[pd.DataFrame, pd.Series]) -> ModelScorer:
    X, y = data
    return ModelScorer(estimator=_small_forest()).fit(X, y, spec=SPEC)


@pytest.fixture(scope="module")
def boosting(data: tuple[pd.DataFrame, pd.Series]) -> ModelScorer:
    X, y = data
    return ModelScorer(estimator=_small_boosting()).fit(X, y, spec=SPEC)


@pytest.fixture(scope="module")
def pipeline_model(data: tuple[pd.DataFrame, pd.Series]) -> ModelScorer:
    X, y = data
    categorical = SPEC.categorical_columns()
    numeric = [c for c in X.columns if c not in categorical]
    prepare = ColumnTransformer(
        [
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="unknown"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ]
    )
    pipeline = Pipeline([("prepare", prepare), ("model", LogisticRegression())])
    return ModelScorer(estimator=pipeline, encoder="passthrough").fit(X, y, spec=SPEC)


def _lead(engine: leadlife.Engine, lead_id: str, kinds: list[str]) -> leadlife.Lead:
    lead = None
    for day, kind in enumerate(kinds):
        lead = engine.ingest(
            {
                "id": f"{lead_id}-{day}",
                "lead_id": lead_id,
                "type": kind,
                "at": (T0 + timedelta(days=day)).isoformat(),
                "data": {"industry": "saas"} if kind == "form_submit" else {},
            }
        )
    assert lead is not None
    return lead


@pytest.fixture
def leads(engine: leadlife.Engine) -> list[leadlife.Lead]:
    return [
        _lead(engine, "a", ["page_view"]),
        _lead(engine, "b", ["page_view", "download", "download", "form_submit"]),
        _lead(engine, "c", ["chat_started", "form_submit", "form_submit", "download"]),
    ]


def _slow_probability(
    model: ModelScorer, lead: leadlife.Lead, now: datetime, column: int = 1
) -> float:
    """The lead's probability the batch way: a one-row frame through predict_proba."""
    row = lead_features(lead, now, SPEC)
    frame = pd.DataFrame([row], columns=list(model.feature_names_in_))
    return float(model.predict_proba(frame)[0, column])


# -- scikit-learn contract ---------------------------------------------------------------


@parametrize_with_checks(
    [
        ModelScorer(estimator=_small_forest()),
        ModelScorer(estimator=HistGradientBoostingClassifier(max_iter=20, random_state=0)),
        ModelScorer(
            estimator=make_pipeline(StandardScaler(), LogisticRegression()), encoder="passthrough"
        ),
    ],
    expected_failed_checks=lambda estimator: (
        {
            # scikit-learn expects this of its own RandomForest: bootstrap draws rows,
            # so weight 2 is not the same as the row twice.
            "check_sample_weight_equivalence_on_dense_data": "RandomForest's bootstrap"
        }
        if isinstance(estimator.estimator, RandomForestClassifier)
        else {}
    ),
)
def test_scikit_learn_estimator_checks(estimator: Any, check: Any) -> None:
    """ModelScorer passes scikit-learn's common estimator checks, with either encoder."""
    check(estimator)


def test_default_estimator_is_a_compiled_random_forest(data: tuple[pd.DataFrame, Any]) -> None:
    """Without an estimator, fit uses make_estimator's RandomForest and compiles it."""
    X, y = data
    model = ModelScorer().fit(X, y)
    assert isinstance(model.estimator_, RandomForestClassifier)
    assert isinstance(model.compiled_, CompiledTrees)
    assert list(model.feature_names_in_) == SPEC.columns()


@pytest.mark.parametrize("kind", ["forest", "boosting"])
def test_predict_proba_is_the_estimators_on_the_encoded_frame(
    kind: str, request: pytest.FixtureRequest, data: tuple[pd.DataFrame, Any]
) -> None:
    """predict_proba equals the fitted estimator's on the encoder's output."""
    model: ModelScorer = request.getfixturevalue(kind)
    X, _ = data
    expected = model.estimator_.predict_proba(model.encoder_.transform(X))
    np.testing.assert_array_equal(model.predict_proba(X), expected)
    assert set(model.predict(X)) <= set(model.classes_)


def test_boosting_is_told_the_categorical_columns(boosting: ModelScorer) -> None:
    """A HistGradientBoosting estimator left at its default gets the encoder's categorical mask."""
    mask = np.asarray(boosting.encoder_.categorical_mask_, dtype=bool)
    assert mask.any()
    np.testing.assert_array_equal(boosting.estimator_.categorical_features, mask)
    assert boosting.estimator.categorical_features == "from_dtype"  # the parameter is untouched


def test_boosting_keeps_categorical_features_the_user_set(data: tuple[pd.DataFrame, Any]) -> None:
    """An explicit categorical_features setting is not overridden."""
    X, y = data
    model = ModelScorer(
        estimator=HistGradientBoostingClassifier(max_iter=5, categorical_features=None)
    ).fit(X, y)
    assert model.estimator_.categorical_features is None


def test_estimator_may_be_named_by_kind(data: tuple[pd.DataFrame, Any]) -> None:
    """estimator='hist_gradient_boosting' builds that kind with make_estimator."""
    X, y = data
    model = ModelScorer(estimator="hist_gradient_boosting").fit(X, y)
    assert isinstance(model.estimator_, HistGradientBoostingClassifier)


def test_sklearn_score_still_measures_accuracy(
    forest: ModelScorer, data: tuple[pd.DataFrame, Any]
) -> None:
    """score(X, y) is scikit-learn's mean accuracy, as model selection expects."""
    X, y = data
    assert forest.score(X, y) == pytest.approx(np.mean(forest.predict(X) == y))


# -- frames: probability, score, tag, reasons ---------------------------------------------


def test_score_frame_columns_and_tags(forest: ModelScorer, data: tuple[pd.DataFrame, Any]) -> None:
    """score_frame gives probability, a 0-100 score, the tag of the thresholds and reasons."""
    X, _ = data
    frame = forest.score_frame(X)
    assert list(frame.columns) == ["probability", "score", "tag", "reasons"]
    assert frame.index.equals(X.index)
    np.testing.assert_allclose(frame["probability"], forest.predict_proba(X)[:, 1])
    np.testing.assert_allclose(frame["score"], 100 * frame["probability"])
    expected = np.where(
        frame["probability"] >= 0.7,
        "high",
        np.where(frame["probability"] >= 0.4, "medium", "low"),
    )
    assert frame["tag"].tolist() == expected.tolist()
    assert set(frame["tag"]) == {"high", "medium", "low"}


def test_score_row_equals_score_frame(forest: ModelScorer, data: tuple[pd.DataFrame, Any]) -> None:
    """score_row on a mapping gives score_frame's score; a missing column is named."""
    X, _ = data
    expected = forest.score_frame(X.iloc[:20], reasons=False)["score"].to_numpy()
    got = [forest.score_row(record) for record in X.iloc[:20].to_dict("records")]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    record = X.iloc[0].to_dict()
    dropped = next(iter(record))
    del record[dropped]
    with pytest.raises(FeatureSchemaError, match="lacks 1") as info:
        forest.score_row(record)
    assert info.value.missing == (dropped,)


def test_tags_follow_the_thresholds(data: tuple[pd.DataFrame, Any]) -> None:
    """Thresholds (0, 0) tag every lead high; (1, 0) tag none low."""
    X, y = data
    every = ModelScorer(estimator=_small_forest(), tags=(0.0, 0.0)).fit(X, y)
    assert set(every.score_frame(X, reasons=False)["tag"]) == {"high"}
    none_low = ModelScorer(estimator=_small_forest(), tags=(1.0, 0.0)).fit(X, y)
    assert "low" not in set(none_low.score_frame(X, reasons=False)["tag"])


def test_bad_tag_thresholds_are_refused(data: tuple[pd.DataFrame, Any]) -> None:
    """Thresholds with medium above high fail at fit, naming the parameter."""
    X, y = data
    with pytest.raises(ValueError, match=r"tags: \(0.3, 0.6\)"):
        ModelScorer(tags=(0.3, 0.6)).fit(X, y)


@pytest.mark.parametrize(
    ("settings", "argument"),
    [
        ({"tags": 0.5}, "tags"),
        ({"tags": ("0.7", "0.4")}, "tags"),
        ({"tags": (0.9, 0.6, 0.3)}, "tags"),
        ({"top": True}, "top"),
        ({"top": 2.5}, "top"),
    ],
)
def test_settings_of_the_wrong_kind_are_refused_by_name(
    data: tuple[pd.DataFrame, Any], settings: dict[str, Any], argument: str
) -> None:
    """Tags that are not two numbers and a top that is no whole number are refused at
    fit as InvalidArgumentErrors naming the setting, not with Python's unpacking or
    comparison errors (or, for top=True, taken as one feature)."""
    X, y = data
    with pytest.raises(leadlife.errors.InvalidArgumentError) as caught:
        ModelScorer(estimator=_small_forest(), **settings).fit(X, y)
    assert caught.value.argument == argument


@pytest.mark.parametrize("kind", ["forest", "boosting", "pipeline_model"])
def test_reasons_name_the_top_features_with_signed_points(
    kind: str, request: pytest.FixtureRequest, data: tuple[pd.DataFrame, Any]
) -> None:
    """Each row's reasons list at most `top` "column=value (+points)" items, largest first."""
    model: ModelScorer = request.getfixturevalue(kind)
    X, _ = data
    reasons = model.score_frame(X.iloc[:40])["reasons"]
    parsed = [
        [
            (item.partition("=")[0], float(item.rpartition("(")[2].rstrip(")")))
            for item in text.split("; ")
        ]
        for text in reasons
        if text
    ]
    assert parsed, "no row had reasons"
    for items in parsed:
        assert 1 <= len(items) <= model.top
        assert all(name in X.columns for name, _ in items)
        sizes = [abs(points) for _, points in items]
        assert sizes == sorted(sizes, reverse=True)


def test_reasons_show_the_rows_own_values(
    forest: ModelScorer, data: tuple[pd.DataFrame, Any]
) -> None:
    """A reason shows the value the row has in that column, missing ones as 'missing'."""
    X, _ = data
    reasons = forest.score_frame(X.iloc[:30])["reasons"]
    for lead_id, text in reasons.items():
        for item in filter(None, text.split("; ")):
            name, _, rest = item.partition("=")
            shown = rest.rpartition(" (")[0]
            value = X.at[lead_id, name]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                assert shown == "missing"
            elif isinstance(value, str):
                assert shown == value
            else:
                assert float(shown) == pytest.approx(value, rel=1e-5)


# -- the scoring protocol ---------------------------------------------------------------


def test_model_scorer_answers_the_scoring_protocol(forest: ModelScorer) -> None:
    """A fitted ModelScorer is a Scorer with a name and the spec's longest window."""
    assert isinstance(forest, Scorer)
    assert forest.name == "model"
    assert forest.window_days == 30


@pytest.mark.parametrize("kind", ["forest", "boosting", "pipeline_model"])
def test_lead_score_equals_the_batch_probability(
    kind: str, request: pytest.FixtureRequest, leads: list[leadlife.Lead]
) -> None:
    """score(lead, now) (compiled or not) equals 100 x predict_proba of the lead's frame row."""
    model: ModelScorer = request.getfixturevalue(kind)
    for lead in leads:
        assert model.score(lead, NOW) == pytest.approx(
            100 * _slow_probability(model, lead, NOW), abs=1e-9
        )


@pytest.mark.parametrize("kind", ["forest", "boosting", "pipeline_model"])
def test_explain_contributions_add_up_to_the_score(
    kind: str, request: pytest.FixtureRequest, leads: list[leadlife.Lead]
) -> None:
    """explain's contributions, baseline included, sum to its value, which is score(lead, now)."""
    model: ModelScorer = request.getfixturevalue(kind)
    for lead in leads:
        result = model.explain(lead, NOW)
        assert result.scorer == "model"
        assert result.value == pytest.approx(model.score(lead, NOW), abs=1e-9)
        assert math.fsum(c.points for c in result.contributions) == pytest.approx(
            result.value, abs=1e-9
        )
        sizes = [abs(c.points) for c in result.contributions]
        assert sizes == sorted(sizes, reverse=True)
        assert BASELINE in {c.rule for c in result.contributions}


@pytest.mark.parametrize("estimator", [_small_forest(), _small_boosting()], ids=["rf", "hgb"])
def test_multiclass_explanations_add_up_to_the_last_class_score(
    estimator: Any, data: tuple[pd.DataFrame, pd.Series], leads: list[leadlife.Lead]
) -> None:
    """With three outcomes the score is the last class's probability, and it still adds up."""
    X, y = data
    stage = y + (X["n.page_view.30d"] > 2).astype(int)  # 0, 1, 2
    model = ModelScorer(estimator=estimator).fit(X, stage, spec=SPEC)
    for lead in leads:
        result = model.explain(lead, NOW)
        assert result.value == pytest.approx(100 * _slow_probability(model, lead, NOW, -1))
        assert math.fsum(c.points for c in result.contributions) == pytest.approx(
            result.value, abs=1e-9
        )


def test_explain_names_features_with_the_leads_values(
    forest: ModelScorer, leads: list[leadlife.Lead]
) -> None:
    """Each named feature's contribution carries the lead's value of that feature."""
    lead = leads[2]
    row = lead_features(lead, NOW, SPEC)
    named = [c for c in forest.explain(lead, NOW).contributions if c.rule in row]
    assert 1 <= len(named) <= forest.top
    for contribution in named:
        expected = row[contribution.rule]
        if isinstance(expected, float) and math.isnan(expected):
            assert contribution.value is None
        else:
            assert contribution.value == expected


def test_forest_baseline_is_the_training_base_rate(forest: ModelScorer, leads: Any) -> None:
    """For a forest the baseline is 100 x the trees' mean positive share at the root."""
    roots = [tree.tree_.value[0, 0, 1] for tree in forest.estimator_.estimators_]
    baseline = next(c for c in forest.explain(leads[0], NOW).contributions if c.rule == BASELINE)
    assert baseline.points == pytest.approx(100 * np.mean(roots), abs=1e-9)


def test_engine_scores_leads_with_the_model(pm: LeadlifePluginManager, forest: ModelScorer) -> None:
    """Registered as a scorer, the model's score at the lead's latest event is in lead.scores."""

    class ModelScoring:
        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Any, rulebook: Any) -> None:
            register(forest)

    engine = leadlife.Engine(
        plugins=[ModelScoring()], plugin_manager=pm, clock=leadlife.FixedClock(NOW)
    )
    lead = _lead(engine, "z", ["page_view", "form_submit", "download"])
    latest = T0 + timedelta(days=2)
    assert lead.scores["model"] == pytest.approx(forest.score(lead, latest), abs=1e-9)


def test_model_scoring_plugin_registers_the_model_and_its_trail(
    pm: LeadlifePluginManager, forest: ModelScorer, tmp_path: Path
) -> None:
    """ModelScoring (from a model or a saved path) registers the scorer and the feature trail."""
    from leadlife.ml.persistence import save_model
    from leadlife.ml.plugin import ModelScoring

    save_model(forest, tmp_path / "scorer")
    engine = leadlife.Engine(
        {"extends": "default", "bands": {"scorer": "model", "warm": 30, "hot": 60}},
        plugins=[ModelScoring(tmp_path / "scorer")],
        plugin_manager=pm,
    )
    assert "model" in engine.scorers
    assert [name for _, e in engine.enrichers if (name := e.name) == "feature-trail"]
    assert engine._retention_days >= forest.window_days
    lead = _lead(engine, "z", ["page_view", "form_submit", "download"])
    assert lead.score == lead.scores["model"]
    with pytest.raises(leadlife.errors.RegistrationError, match="fitted ModelScorer"):
        ModelScoring(ModelScorer())


# -- errors ------------------------------------------------------------------------------


def test_missing_and_unexpected_columns_are_named(
    forest: ModelScorer, data: tuple[pd.DataFrame, Any]
) -> None:
    """A frame with other columns raises FeatureSchemaError listing what is missing and extra."""
    X, _ = data
    wrong = X.drop(columns=["industry"]).assign(shoe_size=1.0)
    with pytest.raises(FeatureSchemaError, match="industry") as raised:
        forest.score_frame(wrong)
    assert raised.value.missing == ("industry",)
    assert raised.value.unexpected == ("shoe_size",)
    assert "Fix:" in str(raised.value)


def test_reordered_columns_are_refused_with_the_fix(
    forest: ModelScorer, data: tuple[pd.DataFrame, Any]
) -> None:
    """The same columns in another order raise FeatureSchemaError saying how to reorder."""
    X, _ = data
    with pytest.raises(FeatureSchemaError, match=r"feature_names_in_\]"):
        forest.predict_proba(X[X.columns[::-1]])


@pytest.mark.parametrize("now", ["2026-11-02T09:00:00Z", None, datetime(2026, 11, 2)])
def test_a_live_score_needs_an_aware_now(
    forest: ModelScorer, leads: list[leadlife.Lead], now: Any
) -> None:
    """score(lead, now) refuses a now that is no aware datetime with InvalidTimeError
    naming it, as the rule scorer does (not a TypeError, nor a naive local reading)."""
    with pytest.raises(leadlife.errors.InvalidTimeError) as caught:
        forest.score(leads[0], now)
    assert caught.value.name == "now"


def test_lead_features_of_another_spec_are_refused(
    data: tuple[pd.DataFrame, Any], leads: list[leadlife.Lead]
) -> None:
    """A model trained on other columns cannot score a live lead: FeatureSchemaError names them."""
    X, y = data
    model = ModelScorer(estimator=_small_forest()).fit(X.drop(columns=["employees"]), y)
    with pytest.raises(FeatureSchemaError, match="differ from the model's") as raised:
        model.score(leads[0], NOW)
    assert "n.page_view.1d" in raised.value.unexpected  # the default spec's columns


def test_one_class_models_cannot_score(data: tuple[pd.DataFrame, Any]) -> None:
    """A model that saw a single outcome refuses to score with a ModelError."""
    X, y = data
    model = ModelScorer(estimator=_small_forest()).fit(X, np.zeros(len(y), dtype=int))
    with pytest.raises(ModelError, match="one class only"):
        model.score_frame(X)


# -- persistence -------------------------------------------------------------------------


def test_pickling_drops_and_rebuilds_the_compiled_trees(
    forest: ModelScorer, leads: list[leadlife.Lead]
) -> None:
    """The pickle holds no compiled arrays; the loaded model rebuilds them and scores the same."""
    dumped = pickle.dumps(forest)
    assert b"CompiledTrees" not in dumped
    loaded = pickle.loads(dumped)
    assert isinstance(loaded.compiled_, CompiledTrees)
    assert loaded.score(leads[1], NOW) == forest.score(leads[1], NOW)


def test_live_scores_read_raw_profile_values_as_training_cleaned_them(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: train() cleans the frame but live scoring did not clean the lead's row.

    A Yes/No profile field failed every live score ("numeric when the encoder was
    fitted but holds 'No'") and "saas " scored as an unknown industry.
    """
    from leadlife.ml.encoding import clean_frame
    from leadlife.ml.features import build_features
    from leadlife.ml.plugin import ModelScoring

    book = leadlife.Rulebook.from_dict(
        {
            "extends": "default",
            "event_types": {"form_submit": {"points": 5, "profile": ["opted_out", "industry"]}},
        }
    )
    spec = FeatureSpec.from_rulebook(
        book,
        windows=(7,),
        text_buckets=0,
        profile_fields=("opted_out", "industry"),
        numeric_fields=(),
    )
    rng = np.random.default_rng(0)
    events, labels = [], {}
    for i in range(400):
        opted, industry = rng.choice(["Yes", "No"]), rng.choice(["saas ", "retail"])
        events.append(
            {
                "id": f"f{i}",
                "lead_id": f"L{i:03d}",
                "type": "form_submit",
                "at": T0 - timedelta(hours=int(rng.integers(1, 100))),
                "data": {"opted_out": opted, "industry": industry},
            }
        )
        labels[f"L{i:03d}"] = int(rng.random() < (0.8 if industry == "saas " else 0.1))
    raw = build_features(events, as_of=T0, spec=spec, rulebook=book)
    X = clean_frame(raw)  # what train() fits on
    model = ModelScorer(estimator=_small_forest()).fit(X, pd.Series(labels)[X.index], spec=spec)
    assert model.encoder_.numeric_columns_[-1] == "opted_out"
    engine = leadlife.Engine(
        rulebook=book,
        plugins=[ModelScoring(model)],
        plugin_manager=pm,
        clock=leadlife.FixedClock(T0),
    )
    report = engine.ingest_many(events[:5])
    assert report.rejected == []
    assert list(engine.failures) == []  # no plugin failed to score
    batch = model.score_frame(X.iloc[:5], reasons=False)["score"]
    assert model.score_frame(raw.iloc[:5], reasons=False)["score"].tolist() == batch.tolist()
    for lead_id, expected in batch.items():
        lead = engine.get(str(lead_id))
        assert model.name in lead.scores  # scored on ingest, no plugin failure
        assert model.score(lead, T0) == pytest.approx(expected)


def test_zero_rows_score_to_an_empty_result(forest: ModelScorer, data: Any) -> None:
    """Regression: score_frame and predict_proba of no rows raised scikit-learn's error."""
    X, _ = data
    proba = forest.predict_proba(X.iloc[:0])
    assert proba.shape == (0, 2)
    assert forest.predict(X.iloc[:0]).shape == (0,)
    scored = forest.score_frame(X.iloc[:0])
    assert scored.empty
    assert scored.columns.tolist() == ["probability", "score", "tag", "reasons"]
    with pytest.raises(FeatureSchemaError, match="employees"):
        forest.score_frame(X.iloc[:0].drop(columns="employees"))  # columns still checked


def test_infinite_and_huge_numbers_are_missing_in_batch_and_live(
    forest: ModelScorer, data: Any
) -> None:
    """Regression: inf scored live but score_frame and fit raised sklearn's raw error."""
    X, y = data
    for value in (math.inf, -math.inf, 1e300):
        odd = X.iloc[:4].assign(employees=value)
        unknown = X.iloc[:4].assign(employees=np.nan)
        expected = forest.score_frame(unknown, reasons=False)["score"]
        scored = forest.score_frame(odd)
        assert scored["score"].tolist() == expected.tolist()
        rows = [forest.score_row(row) for row in odd.to_dict("records")]
        assert rows == pytest.approx(expected.tolist())
    refit = ModelScorer(estimator=_small_forest()).fit(X.assign(employees=np.inf), y)
    assert refit.predict_proba(X).shape == (len(X), 2)
    array_model = ModelScorer(estimator=_small_forest()).fit(
        X.drop(columns=SPEC.categorical_columns()).to_numpy(), y
    )
    numbers = X.drop(columns=SPEC.categorical_columns()).to_numpy()
    numbers[0, 0] = np.inf
    assert array_model.predict_proba(numbers).shape == (len(X), 2)


def test_missing_labels_are_refused_with_a_library_error(data: Any) -> None:
    """Regression: fit with a NaN label raised scikit-learn's bare "Input contains NaN"."""
    X, y = data
    labels = y.astype(float).where(np.arange(len(y)) % 10 != 0)
    with pytest.raises(FeatureSchemaError, match=r"30 missing or infinite label") as caught:
        ModelScorer(estimator=_small_forest()).fit(X, labels)
    assert caught.value.column == "y"
    assert "drop the rows without a label" in caught.value.fix
    with pytest.raises(ValueError, match="label"):  # still a ValueError for sklearn callers
        ModelScorer().fit(X, labels.to_numpy())
