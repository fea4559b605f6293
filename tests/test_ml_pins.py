"""Pins on ML behaviour that mutation testing showed the other tests leave free.

Each test names the behaviour it pins and why a user would notice it changing: a
feature value, a leak past ``as_of``, a model that should be refused, a probability,
a metric, or live and batch scores that should agree.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier

import leadlife
from leadlife.errors import InsufficientDataError, ModelError, ModelIntegrityError
from leadlife.lead import Lead
from leadlife.ml.compiled import compile_trees
from leadlife.ml.encoding import OTHER, TabularEncoder
from leadlife.ml.evaluation import evaluate
from leadlife.ml.features import FeatureSpec, FeatureTrail, build_features, lead_features
from leadlife.ml.inferred import IndustryInferrer
from leadlife.ml.leakage import Leak, LeakageWarning, check_leakage, feature_aucs
from leadlife.ml.persistence import hash_frame, load_model, model_versions, save_model
from leadlife.ml.scorer import BASELINE, ModelScorer
from leadlife.ml.training import train
from leadlife.plugins import get_plugin_manager, hookimpl
from tests.conftest import T0
from tests.helpers import ev

AS_OF = T0
SPEC = FeatureSpec(windows=(1, 7, 30), text_buckets=0, profile_fields=())


def live_leads(trail: FeatureSpec, events: Sequence[dict[str, Any]]) -> dict[str, Lead]:
    """The engine's leads after ``events``, with a FeatureTrail of spec ``trail``."""

    class Trail:
        @hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(FeatureTrail(trail))

    engine = leadlife.Engine(
        plugins=[Trail()],
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(AS_OF),
    )
    report = engine.ingest_many(events)
    assert report.rejected == []
    return {lead_id: engine.get(lead_id) for lead_id in sorted({e["lead_id"] for e in events})}


def live_and_batch(
    trail: FeatureSpec, events: Sequence[dict[str, Any]], reader: FeatureSpec | None = None
) -> tuple[Any, Any]:
    """Lead u1's feature row live (from the engine's lead) and in the batch frame,
    both read with ``reader`` (by default the trail's own spec)."""
    spec = trail if reader is None else reader
    lead = live_leads(trail, events)["u1"]
    live = lead_features(lead, AS_OF, spec)
    return live, build_features(events, [lead], as_of=AS_OF, spec=spec).loc["u1"]


def bucket(word: str, width: int) -> str:
    """The ``tok.<b>`` column a word adds to."""
    return f"tok.{zlib.crc32(word.encode()) % width}"


# -- features --------------------------------------------------------------------------


def test_a_repeated_id_counts_its_first_occurrence_not_its_last() -> None:
    """A resent id counts as the event first received (the engine ignores the resend),
    so its type, time and channel are the first copy's, not the second's."""
    first = {**ev("search", -timedelta(days=3), event_id="dup"), "channel": "sem"}
    resent = {**ev("download", -timedelta(hours=1), event_id="dup"), "channel": "web"}
    for log in ([first, resent], pd.DataFrame([first, resent])):
        row = build_features(log, as_of=AS_OF, spec=SPEC).loc["u1"]
        assert row["n.events"] == 1.0
        assert (row["n.search.7d"], row["n.download.1d"]) == (1.0, 0.0)
        assert row["days_since_first_seen"] == 3.0
        assert row["last_channel"] == "sem"


TEXTS = FeatureSpec(windows=(7,), text_buckets=16, max_texts=5, profile_fields=())


def test_a_live_row_reads_the_newest_texts_of_a_longer_trail() -> None:
    """Read with a smaller ``max_texts`` than the trail keeps, the live row takes the
    newest texts, as the batch frame does: the oldest ones are what falls off."""
    words = ["gamma", "crm", "course", "pricing"]  # buckets 1, 10, 9, 3 of 16
    events = [
        ev("search", -timedelta(hours=10 - i), event_id=f"t{i}", keyword=word)
        for i, word in enumerate(words)
    ]
    reader = FeatureSpec(windows=(7,), text_buckets=16, max_texts=2, profile_fields=())
    live, batch = live_and_batch(TEXTS, events, reader)
    tokens = {name: live[name] for name in reader.columns() if name.startswith("tok.")}
    assert {name for name, count in tokens.items() if count} == {
        bucket("course", 16),
        bucket("pricing", 16),
    }
    assert tokens == {name: batch[name] for name in tokens}


def test_texts_of_one_moment_fall_off_in_arrival_order_live_as_in_batch() -> None:
    """Two texts at the same moment: the one received later is the newer, live and in
    the batch frame alike, so with one text kept both rows hold the second."""
    spec = FeatureSpec(windows=(7,), text_buckets=16, max_texts=1, profile_fields=())
    events = [
        ev("search", -timedelta(hours=2), event_id="a", keyword="gamma"),
        ev("search", -timedelta(hours=2), event_id="b", keyword="crm"),
    ]
    for row in live_and_batch(spec, events):
        assert (row[bucket("crm", 16)], row[bucket("gamma", 16)]) == (1.0, 0.0)


def test_a_blank_text_takes_no_place_among_the_kept_texts() -> None:
    """A search of spaces only is no text: it must not push the lead's last real text
    out of the ``max_texts`` read, live or in the batch frame."""
    spec = FeatureSpec(windows=(7,), text_buckets=16, max_texts=1, profile_fields=())
    events = [
        ev("search", -timedelta(hours=3), event_id="real", keyword="pricing"),
        ev("search", -timedelta(hours=1), event_id="blank", keyword="   "),
    ]
    for row in live_and_batch(spec, events):
        assert row[bucket("pricing", 16)] == 1.0


def test_an_empty_profile_text_is_an_unknown_category_on_both_paths() -> None:
    """A form's empty ``city`` is no city: None in the live row and in the batch frame,
    as clean_frame makes a blank cell missing for training."""
    spec = FeatureSpec(windows=(7,), text_buckets=0, profile_fields=("city",))
    lead = Lead("u1", profile={"city": ""})
    profiles = pd.DataFrame({"city": [""]}, index=pd.Index(["u1"], name="lead_id"))
    assert lead_features(lead, AS_OF, spec)["city"] is None
    for leads in ([lead], profiles):
        assert build_features([], leads, as_of=AS_OF, spec=spec).loc["u1", "city"] is None


def test_whole_float_lead_ids_beside_text_ids_become_their_digits() -> None:
    """A CSV's ids read as floats (1001.0) are leads "1001" beside text ids, so they
    line up with the engine's leads instead of becoming other leads ("1001.0")."""
    log = pd.DataFrame(
        {
            "lead_id": [1001.0, 1002.0],
            "type": ["search", "download"],
            "at": pd.to_datetime([AS_OF - timedelta(days=1)] * 2, utc=True),
        }
    )
    profiles = pd.DataFrame({"city": ["Pune"]}, index=pd.Index(["1001"], name="lead_id"))
    frame = build_features(log, profiles, as_of=AS_OF, spec=SPEC)
    assert list(frame.index) == ["1001", "1002"]
    assert frame.loc["1001", "n.events"] == 1.0


# -- encoding --------------------------------------------------------------------------


def test_which_tied_categories_keep_a_code_does_not_depend_on_row_order() -> None:
    """With more categories than codes, equally frequent ones are chosen by text, so
    the same leads in another order give the same codes (and the same model)."""
    cities = ["Pune", "Delhi", "Agra", "Pune", "Delhi", "Agra"]
    fitted = [
        TabularEncoder(max_categories=2, min_frequency=1).fit(pd.DataFrame({"city": order}))
        for order in (cities, cities[::-1], sorted(cities))
    ]
    assert [encoder.categories_["city"] for encoder in fitted] == [["Agra", OTHER]] * 3


def test_a_share_min_frequency_is_a_floor_rounded_up() -> None:
    """``min_frequency=0.05`` of 110 rows is 5.5 leads: a category seen 5 times is
    fewer than that and shares the ``(other)`` code."""
    city = ["Agra"] * 60 + ["Bhopal"] * 5 + ["Chennai"] * 45
    encoder = TabularEncoder(min_frequency=0.05).fit(pd.DataFrame({"city": city}))
    assert encoder.infrequent_categories_["city"] == ["Bhopal"]
    assert encoder.categories_["city"] == ["Agra", "Chennai", OTHER]


# -- compiled trees ----------------------------------------------------------------------


def test_boosting_base_is_the_mean_log_odds_over_the_training_rows() -> None:
    """A boosted tree's expected output weighs each leaf by the training rows in it, so
    the base (the explanation's baseline) is the mean raw output over training."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.7, size=400) > 0.4).astype(int)
    model = HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=6, random_state=0)
    compiled = compile_trees(model.fit(X, y))
    assert compiled is not None
    mean_raw = float(np.mean(model.decision_function(X)))
    np.testing.assert_allclose(compiled.base, [mean_raw], rtol=0, atol=1e-9)


# -- the model scorer --------------------------------------------------------------------

STUMP_SPEC = FeatureSpec(windows=(7,), event_types=("download",), profile_fields=(), text_buckets=0)


def test_explain_names_only_the_features_that_moved_the_score() -> None:
    """A model splitting on one column explains a lead by that column alone: columns
    whose points are zero are not listed as reasons, however large ``top`` is."""
    rng = np.random.default_rng(0)
    rows = 200
    frame = pd.DataFrame(
        {
            "n.download.7d": rng.poisson(1.0, rows).astype(float),
            "n.events": rng.poisson(4.0, rows).astype(float),
            "days_since_last_activity": rng.uniform(0, 30, rows),
            "days_since_first_seen": rng.uniform(30, 60, rows),
            "first_channel": rng.choice(np.array(["web", "sem"], dtype=object), rows),
            "last_channel": rng.choice(np.array(["web", "sem"], dtype=object), rows),
        }
    )[STUMP_SPEC.columns()]
    label = (frame["n.download.7d"] > 0).astype(int)
    model = ModelScorer(estimator=DecisionTreeClassifier(max_depth=1), top=5)
    model.fit(frame, label, spec=STUMP_SPEC)
    result = model.explain(Lead("u1"), AS_OF)
    assert sorted(c.rule for c in result.contributions) == sorted([BASELINE, "n.download.7d"])
    assert result.value == 0.0


def test_a_typical_lead_has_the_most_common_category_not_the_median_code() -> None:
    """Models without trees are explained against a typical lead; for a categorical
    column that is its most frequent category (codes are sorted by text, so their
    median would be an arbitrary one)."""
    rng = np.random.default_rng(1)
    city = np.array(["Agra"] * 30 + ["Bhopal"] * 12 + ["Chennai"] * 25, dtype=object)
    frame = pd.DataFrame({"city": city, "visits": rng.poisson(3.0, len(city)).astype(float)})
    label = pd.Series(rng.integers(0, 2, len(city)))
    model = ModelScorer(estimator=make_pipeline(SimpleImputer(), LogisticRegression()))
    model.fit(frame, label)
    code = model.reference_[list(frame.columns).index("city")]
    assert model.encoder_.categories_["city"][int(code)] == "Agra"


# -- persistence -------------------------------------------------------------------------


def numeric_leads(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric leads whose conversion follows ``visits``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"visits": rng.normal(size=rows), "minutes": rng.normal(size=rows)})
    y = pd.Series((X["visits"] + rng.normal(size=rows) > 0).astype(int), name="converted")
    return X, y


def small_forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0, n_jobs=1)


def test_a_model_saved_by_another_minor_version_or_an_older_numpy_loads(tmp_path: Path) -> None:
    """Only a different major version of leadlife or scikit-learn (or a newer numpy
    major) refuses a model: a patch release must not strand every saved model."""
    X, y = numeric_leads()
    path = save_model(small_forest().fit(X, y), tmp_path / "m", created_at=AS_OF)
    sidecar_file = Path(f"{path}.json")
    sidecar = json.loads(sidecar_file.read_text(encoding="utf-8"))
    running = sidecar["versions"]
    other_minor = {
        package: f"{running[package].split('.')[0]}.9999.0"
        for package in ("leadlife", "scikit-learn")
    }
    older_numpy = f"{int(running['numpy'].split('.')[0]) - 1}.26.4"
    sidecar["versions"] = {**running, **other_minor, "numpy": older_numpy}
    sidecar_file.write_text(json.dumps(sidecar), encoding="utf-8")
    model = load_model(path)
    assert (model.predict_proba(X) == small_forest().fit(X, y).predict_proba(X)).all()


def test_a_sidecar_naming_another_estimator_class_is_refused(tmp_path: Path) -> None:
    """The sidecar vouches for what the file holds: a file whose class is not the one
    the sidecar names is refused, even when its sha256 matches."""
    X, y = numeric_leads()
    path = save_model(small_forest().fit(X, y), tmp_path / "m", created_at=AS_OF)
    sidecar_file = Path(f"{path}.json")
    sidecar = json.loads(sidecar_file.read_text(encoding="utf-8"))
    sidecar["estimator"] = "sklearn.linear_model._logistic.LogisticRegression"
    sidecar_file.write_text(json.dumps(sidecar), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="the sidecar says"):
        load_model(path)


def test_the_next_version_follows_the_highest_saved_one(tmp_path: Path) -> None:
    """Versions are one more than the highest there, never a number below it that an
    old, deleted version left free: "newest" must stay the last one saved."""
    X, y = numeric_leads()
    model = small_forest().fit(X, y)
    saved = [save_model(model, tmp_path / "m", created_at=AS_OF) for _ in range(3)]
    for old in saved[:2]:
        old.unlink()
        Path(f"{old}.json").unlink()
    fourth = save_model(model, tmp_path / "m", created_at=AS_OF)
    assert fourth.name == "m.v4.joblib"
    assert model_versions(tmp_path / "m") == [saved[2], fourth]


def test_negative_zero_hashes_as_zero() -> None:
    """-0.0 equals 0.0, so a table holding it is the same training data (a CSV
    round trip or an arithmetic step may turn one into the other)."""
    zero = pd.DataFrame({"x": [0.0, 1.0], "y": [1, 0]})
    negative = pd.DataFrame({"x": [-0.0, 1.0], "y": [1, 0]})
    assert hash_frame(negative) == hash_frame(zero)


def test_an_all_missing_column_fits_the_saved_kind_when_loading(tmp_path: Path) -> None:
    """A day's batch where a numeric column happens to be empty (object ``None``) still
    matches the model: a column with no value fits either kind."""
    X, y = numeric_leads()
    model = ModelScorer(estimator=small_forest()).fit(X, y)
    path = save_model(model, tmp_path / "m", created_at=AS_OF)
    empty = X.assign(minutes=pd.Series([None] * len(X), index=X.index, dtype=object))
    loaded = load_model(path, features=empty)
    assert loaded.predict_proba(empty).shape == (len(X), 2)


# -- training ----------------------------------------------------------------------------


def test_the_holdout_follows_random_state() -> None:
    """``random_state`` seeds the split too: another seed holds out other leads (to
    check a model's stability), the same seed the same ones."""
    X, y = numeric_leads(rows=300)
    frame = X.assign(converted=y)
    options: dict[str, Any] = {
        "estimator": small_forest(),
        "min_positives": 10,
        "importance_repeats": 0,
    }
    held = [
        sorted(train(frame, "converted", random_state=seed, **options).X_test.index)
        for seed in (0, 0, 1)
    ]
    assert held[0] == held[1]
    assert held[0] != held[2]


def test_training_needs_120_positives_by_default() -> None:
    """The default floor is 120 conversions (docs/training.md): with 119 nothing is
    fitted, and the error says how many are required."""
    X, _ = numeric_leads(rows=400)
    frame = X.assign(converted=[1] * 119 + [0] * (len(X) - 119))
    with pytest.raises(InsufficientDataError) as caught:
        train(frame, "converted", estimator=small_forest())
    assert (caught.value.required, caught.value.positives) == (120, 119)


def test_a_search_needs_as_many_negatives_as_folds() -> None:
    """Cross-validation over ``cv`` stratified folds needs a negative in each: with
    fewer it is refused up front, in leadlife's words, before any fitting."""
    X, _ = numeric_leads(rows=200)
    frame = X.assign(converted=[0] * 4 + [1] * (len(X) - 4))
    with pytest.raises(ModelError, match="4 negative labels"):
        train(frame, "converted", estimator=small_forest(), search=True, n_iter=2, cv=5)


def test_the_leakage_guard_reads_the_training_part_only() -> None:
    """The guard measures a column on the training part, as the docs say: the holdout
    stays unseen by every step, the guard's AUC included."""
    X, y = numeric_leads(rows=300)
    flip = np.random.default_rng(5).random(len(y)) < 0.03
    frame = X.assign(tag=np.where(flip, 1 - y, y).astype(float), converted=y)
    with pytest.warns(LeakageWarning, match="'tag'"):
        result = train(
            frame, "converted", estimator=small_forest(), min_positives=10, importance_repeats=0
        )
    training = frame.drop(index=result.X_test.index)
    expected = next(
        leak
        for leak in feature_aucs(training.drop(columns="converted"), training["converted"])
        if leak.column == "tag"
    )
    overall = next(
        leak for leak in feature_aucs(X.assign(tag=frame["tag"]), y) if leak.column == "tag"
    )
    assert expected.auc != overall.auc  # the test can tell the two apart
    assert [(leak.column, leak.auc) for leak in result.leaks] == [("tag", expected.auc)]


def test_a_search_space_may_tune_the_encoder_beside_the_estimator() -> None:
    """Keys already naming a part (``encoder__...``, ``estimator__...``) are taken as
    given; bare keys are the estimator's own parameters."""
    X, y = numeric_leads(rows=200)
    frame = X.assign(converted=y)
    space = {"encoder__min_frequency": [5, 6], "estimator__max_depth": [2], "min_samples_leaf": [4]}
    result = train(
        frame,
        "converted",
        estimator=small_forest(),
        search=space,
        n_iter=2,
        cv=2,
        min_positives=10,
        importance_repeats=0,
    )
    assert result.model.encoder_.min_frequency in (5, 6)
    assert (result.params["max_depth"], result.params["min_samples_leaf"]) == (2, 4)


def test_the_same_seed_gives_the_same_search() -> None:
    """``random_state`` seeds the search's folds as well: rerunning a tuned training
    on the same frame gives the same scores per candidate, so the same winner."""
    X, y = numeric_leads(rows=200)
    frame = X.assign(converted=y)
    runs = [
        train(
            frame,
            "converted",
            estimator=small_forest(),
            search={"min_samples_leaf": [2, 5, 10]},
            n_iter=3,
            cv=3,
            min_positives=10,
            importance_repeats=0,
            random_state=7,
        ).search_results
        for _ in range(2)
    ]
    assert runs[0] is not None
    assert runs[1] is not None
    pd.testing.assert_frame_equal(runs[0], runs[1])


# -- evaluation --------------------------------------------------------------------------


class GivenProbabilities:
    """A fitted binary classifier whose probability is the first column of X."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X: Any) -> np.ndarray:
        positive = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1.0 - positive, positive])


def given(probabilities: Sequence[float]) -> np.ndarray:
    return np.asarray(probabilities, dtype=float).reshape(-1, 1)


def test_a_lead_exactly_at_the_threshold_counts_as_predicted_positive() -> None:
    """``threshold`` is the probability *at and above which* a lead is predicted positive."""
    report = evaluate(GivenProbabilities(), given([0.5, 0.5, 0.2, 0.8]), [1, 0, 0, 1], n_repeats=0)
    assert report.to_dict()["confusion"] == {"tn": 1, "fp": 1, "fn": 0, "tp": 2}
    assert (report.metrics["precision"], report.metrics["recall"]) == (2 / 3, 1.0)


def test_f1_counts_missed_converters() -> None:
    """F1 is the harmonic mean of precision and recall: a converter the cut-off misses
    lowers it, as scikit-learn's ``f1_score`` has it."""
    probabilities = [0.9, 0.3, 0.2, 0.7, 0.6]
    labels = [1, 1, 0, 0, 1]
    report = evaluate(
        GivenProbabilities(), given(probabilities), labels, threshold=0.65, n_repeats=0
    )
    predicted = np.asarray(probabilities) >= 0.65
    assert report.metrics["f1"] == pytest.approx(f1_score(labels, predicted))
    assert report.metrics["f1"] == pytest.approx(0.4)


def test_tied_probabilities_keep_the_input_order_in_the_deciles() -> None:
    """Ties keep the leads' order (a stable sort), so the decile table of a model that
    cannot tell leads apart is the input order, not its reverse."""
    labels = [1, 1] + [0] * 18
    report = evaluate(GivenProbabilities(), given([0.3] * 20), labels, n_repeats=0)
    assert report.deciles["positives"].tolist() == [2] + [0] * 9
    assert report.metrics["top_decile_lift"] == 10.0


def test_calibration_counts_a_probability_on_a_bin_edge_in_its_curve_point() -> None:
    """The calibration table's lead counts use the curve's own bins: a probability of
    exactly 0.5 is counted with the point it is averaged into."""
    report = evaluate(GivenProbabilities(), given([0.5, 0.5, 0.55, 0.2]), [1, 0, 1, 0], n_repeats=0)
    rows = report.calibration[["mean_predicted", "leads"]].to_numpy().tolist()
    assert rows == [[0.2, 1], [0.5, 2], [0.55, 1]]


def test_precision_without_predicted_positives_is_zero() -> None:
    """With no lead at or above the threshold, precision is 0 (scikit-learn's
    convention), not a perfect 1 that would flatter a cut-off calling nobody."""
    report = evaluate(
        GivenProbabilities(), given([0.2, 0.6, 0.4]), [0, 1, 1], threshold=0.9, n_repeats=0
    )
    assert (report.metrics["precision"], report.metrics["recall"]) == (0.0, 0.0)


def test_importance_lists_the_most_important_feature_first() -> None:
    """The importance table is sorted, the feature the model leans on first, whatever
    the column order."""
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"noise": rng.normal(size=300), "signal": rng.normal(size=300)})
    y = (X["signal"] + rng.normal(scale=0.3, size=300) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    importance = evaluate(model, X, y, n_repeats=3).importance
    assert importance["feature"].tolist() == ["signal", "noise"]
    assert importance["importance"].is_monotonic_decreasing


# -- leakage -----------------------------------------------------------------------------


def test_a_strong_but_honest_column_is_not_flagged_by_default() -> None:
    """The default threshold is 0.95: a column with a single-feature AUC of 0.92 is a
    good feature, not a leak, and training must not warn about it."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    X = pd.DataFrame({"grade": y + rng.normal(scale=0.5, size=400)})
    assert 0.9 < feature_aucs(X, y)[0].auc < 0.95
    assert check_leakage(X, y) == []


def test_a_column_reaching_the_threshold_exactly_is_flagged() -> None:
    """A column is flagged when its AUC *reaches* the threshold: a perfect separator is
    a leak even at ``threshold=1.0``."""
    y = np.array([0, 1] * 50)
    X = pd.DataFrame({"status": np.where(y == 1, "Closed", "Open")})
    with pytest.warns(LeakageWarning, match="'status'"):
        leaks = check_leakage(X, y, threshold=1.0)
    assert [(leak.column, leak.auc) for leak in leaks] == [("status", 1.0)]


def test_missing_values_are_also_ranked_last() -> None:
    """Missing values are tried first and last: a column that is high for converters
    and missing for the other converters separates them perfectly when missing ranks
    last, and the guard must see that."""
    negatives = np.linspace(0.0, 1.0, 40)
    positives = np.concatenate([np.linspace(2.0, 3.0, 5), np.full(40, np.nan)])
    X = pd.DataFrame({"minutes": np.concatenate([negatives, positives])})
    y = np.array([0] * 40 + [1] * 45)
    assert feature_aucs(X, y) == [Leak("minutes", 1.0, 1.0)]


def test_an_overall_auc_above_the_filled_rows_one_is_kept() -> None:
    """The AUC over the filled-in rows replaces the overall one only when it is higher:
    a column whose *missingness* gives the label away keeps its overall AUC."""
    rng = np.random.default_rng(6)
    values = np.concatenate([rng.normal(size=60), rng.normal(size=15), np.full(45, np.nan)])
    X = pd.DataFrame({"score": values})
    y = np.array([0] * 60 + [1] * 60)
    leak = feature_aucs(X, y)[0]
    assert leak.coverage == 1.0
    assert leak.auc > 0.8


def test_too_few_filled_rows_are_not_judged_alone() -> None:
    """The filled-in rows are scored on their own only from 50 of them: 20 rows that
    happen to separate the label are too few to call the column a leak."""
    values = np.concatenate([np.full(10, 5.0), np.full(10, 1.0), np.full(180, np.nan)])
    y = np.array([1] * 10 + [0] * 10 + [1, 0] * 90)
    leak = feature_aucs(pd.DataFrame({"grade": values}), y)[0]
    assert leak.coverage == 1.0
    assert leak.auc < 0.9


# -- inferred profile fields --------------------------------------------------------------


CUSTOMERS = [
    ("advertising", "poster template | banner ad | brand promotion"),
    ("advertising", "brand promotion | poster template | logo design"),
    ("advertising", "ad design | banner ad | poster | pricing"),
    ("education", "course slides | online course | teacher"),
    ("education", "online course | teacher training | pricing"),
    ("education", "exam | student worksheet | free download"),
    ("healthcare", "hospital | checkup | medical illustration"),
    ("healthcare", "hospital | dental clinic | doctor"),
    ("healthcare", "clinic brochure | doctor | free download"),
]


def test_a_confidence_equal_to_min_confidence_is_enough() -> None:
    """Nothing is inferred *below* ``min_confidence``; a confidence exactly at it is."""
    texts = [text for _, text in CUSTOMERS]
    industries = [industry for industry, _ in CUSTOMERS]
    model = IndustryInferrer(method="centroid", cv=3).fit(texts, industries)
    industry, confidence = model.infer("poster clinic")
    assert industry == "healthcare"
    assert 0.5 < confidence < 0.9
    model.set_params(min_confidence=confidence)
    assert model.infer("poster clinic") == ("healthcare", confidence)


def test_a_typical_number_is_one_a_lead_has() -> None:
    """The typical value of a numeric column is a median that some lead has (the
    nearest), not a value between two leads' that no lead has."""
    rng = np.random.default_rng(2)
    visits = np.repeat([1.0, 2.0, 5.0, 9.0], 25)
    frame = pd.DataFrame({"visits": visits, "minutes": rng.normal(size=len(visits))})
    label = pd.Series(rng.integers(0, 2, len(visits)))
    model = ModelScorer(estimator=make_pipeline(SimpleImputer(), LogisticRegression()))
    model.fit(frame, label)
    assert model.reference_[0] in {2.0, 5.0}
