"""Regressions of the machine-learning path: encoders, cleaning, search, seeds, weights."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import make_column_transformer
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)
from threadpoolctl import threadpool_limits

import leadlife
from leadlife.cli import main
from leadlife.errors import FeatureSchemaError, ModelError, ModelIntegrityError
from leadlife.ml.encoding import clean_frame
from leadlife.ml.features import FeatureSpec, build_features, lead_features
from leadlife.ml.inferred import IndustryInferrer
from leadlife.ml.persistence import hash_frame, load_model, save_model
from leadlife.ml.plugin import ModelScoring
from leadlife.ml.scorer import BASELINE, ModelScorer
from leadlife.ml.training import train
from tests.conftest import T0
from tests.test_training import leads

SPEC = FeatureSpec(
    windows=(7, 30),
    event_types=("page_view", "download", "form_submit"),
    profile_fields=("industry",),
    text_buckets=0,
)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with threadpool_limits(1):
        yield


def _forest(n_estimators: int = 20) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=n_estimators, random_state=0, n_jobs=1)


def _visits_frame(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """``visits`` alone drives the label; ``noise`` and ``city`` do not."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "visits": rng.poisson(3, n).astype(float),
            "noise": rng.normal(size=n),
            "city": rng.choice(["Mumbai", "Pune", "Delhi"], n),
        }
    )
    y = pd.Series((X["visits"] + rng.normal(scale=0.3, size=n) > 3).astype(int))
    return X, y


# -- a custom encoder: contributions named after its output columns ---------------------


def test_reasons_follow_a_column_transformer_that_reorders_columns() -> None:
    X, y = _visits_frame()
    encoder = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["city"]),
        remainder="passthrough",
    )
    model = ModelScorer(estimator=_forest(), encoder=encoder).fit(X, y)
    names = list(model.encoder_.get_feature_names_out())
    assert names == ["ordinalencoder__city", "remainder__visits", "remainder__noise"]
    clear = X[(X["visits"] <= 1) | (X["visits"] >= 6)].iloc[:20]
    reasons = model.score_frame(clear)["reasons"]
    for (_, row), text in zip(clear.iterrows(), reasons, strict=True):
        first = text.split("; ")[0]
        # visits drives the model, and it shows the row's own visits
        assert first.startswith(f"remainder__visits={row['visits']:g} ("), text
        if "ordinalencoder__city=" in text:
            assert f"ordinalencoder__city={row['city']} (" in text


def test_a_one_hot_encoder_names_its_expanded_columns() -> None:
    X, y = _visits_frame()
    encoder = make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough")
    model = ModelScorer(estimator=_forest(), encoder=encoder, top=None).fit(X, y)
    reasons = model.score_frame(X.iloc[:5])["reasons"]
    known = set(model.encoder_.get_feature_names_out())
    for (_, row), text in zip(X.iloc[:5].iterrows(), reasons, strict=True):
        parts = dict(part.split("=", 1) for part in text.split("; "))
        assert set(parts) <= known
        assert parts["remainder__visits"].startswith(f"{row['visits']:g} ")
        for city in ["Mumbai", "Pune", "Delhi"]:
            shown = parts.get(f"onehotencoder__city_{city}")
            if shown is not None:  # the encoded 0/1 the model split on
                assert shown.startswith(f"{int(row['city'] == city)} ")


def test_an_encoder_without_output_names_is_named_by_position() -> None:
    X, y = _visits_frame()
    numbers = X[["visits", "noise"]]
    flipped = FunctionTransformer(lambda frame: np.asarray(frame, dtype=float)[:, ::-1])
    model = ModelScorer(estimator=_forest(), encoder=flipped).fit(numbers, y)
    text = model.score_frame(numbers.iloc[:1])["reasons"].iloc[0]
    # no name is guessed for a column the encoder may have moved: position, encoded value
    assert text.startswith(f"functiontransformer1={numbers['visits'].iloc[0]:g} ("), text
    assert "visits" not in text
    assert "noise" not in text


def test_live_explanations_follow_a_custom_encoder() -> None:
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame(index=pd.Index([f"lead{i}" for i in range(n)], name="lead_id"))
    for column in SPEC.columns():
        if column in SPEC.categorical_columns():
            X[column] = rng.choice(np.array(["saas", "retail", "none"], dtype=object), n)
        else:
            X[column] = rng.poisson(1.5, n).astype(float)
    y = pd.Series((X["n.form_submit.30d"] > 1).astype(int), index=X.index)
    categorical = SPEC.categorical_columns()
    encoder = make_column_transformer(
        (
            OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=-1,
                encoded_missing_value=-2,
            ),
            categorical,
        ),
        remainder="passthrough",
    )
    model = ModelScorer(estimator=_forest(), encoder=encoder, spec=SPEC, top=None).fit(X, y)
    engine = leadlife.Engine()
    lead = None
    for number, kind in enumerate(["page_view", "form_submit", "form_submit"]):
        lead = engine.ingest(
            {
                "id": f"e{number}",
                "lead_id": "u1",
                "type": kind,
                "at": T0 + timedelta(hours=number),
                "data": {"industry": "saas"} if number == 0 else {},
            }
        )
    assert lead is not None
    now = T0 + timedelta(hours=3)
    row = lead_features(lead, now, SPEC)
    why = model.explain(lead, now)
    known = set(model.encoder_.get_feature_names_out())
    named = [c for c in why.contributions if c.rule != BASELINE]
    assert named
    assert {c.rule for c in named} <= known
    for part in named:
        source = part.rule.split("__", 1)[1]
        expected = row[source]
        assert part.value == (None if pd.isna(expected) else expected), part
    driver = max(named, key=lambda c: abs(c.points))
    assert driver.rule == "remainder__n.form_submit.30d"


# -- score --model reads missing markers as train does ----------------------------------


def _run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_score_model_reads_the_missing_markers_train_reads(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rows = 400
    visits = rng.poisson(3, rows).astype(object)
    city = rng.choice(np.array(["Mumbai", "Pune", "Delhi"], dtype=object), rows)
    converted = (rng.random(rows) < 1 / (1 + np.exp(-(visits.astype(float) - 3)))).astype(int)
    for offset, marker in enumerate(["NA", "N/A", "null", "#N/A", "NULL", "nan"]):
        visits[offset::25] = marker
        city[offset + 10 :: 50] = marker
    data = tmp_path / "leads.csv"
    pd.DataFrame(
        {"lead_id": range(rows), "visits": visits, "city": city, "Converted": converted}
    ).to_csv(data, index=False)
    name = tmp_path / "m"
    trained = _run("train", data, "--label", "Converted", "--drop", "lead_id", "-o", name)
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "scored.csv"
    scored = _run("score", "--model", name, data, "-o", out)
    assert scored.exit_code == 0, scored.output
    model = load_model(tmp_path / "m.v1.joblib")
    frame = clean_frame(pd.read_csv(data))[["visits", "city"]]
    expected = model.predict_proba(frame)[:, 1]
    written = pd.read_csv(out)
    np.testing.assert_allclose(written["probability"], expected.round(6), atol=1e-9)


def test_the_markers_are_read_csvs_defaults(tmp_path: Path) -> None:
    from leadlife.cli import _READ_CSV_MISSING

    path = tmp_path / "markers.csv"
    path.write_text("x\n" + "\n".join(f'"{m}"' for m in _READ_CSV_MISSING[1:]) + "\n1\n")
    read = pd.read_csv(path)["x"]
    assert read.iloc[:-1].isna().all()
    assert read.iloc[-1] == 1
    # and nothing else pandas reads as missing by default
    assert pd.read_csv(path, na_filter=False)["x"].iloc[:-1].tolist() == list(_READ_CSV_MISSING[1:])


# -- build_features: a CSV's integer lead ids are the engine's text ids -----------------


def _csv_log() -> pd.DataFrame:
    log = pd.read_csv(
        io.StringIO(
            "id,lead_id,type,at\n"
            "e1,1001,form_submit,2026-11-01T09:00:00Z\n"
            "e2,1001,download,2026-11-01T10:00:00Z\n"
            "e3,1002,page_view,2026-11-01T11:00:00Z\n"
        )
    )
    log["at"] = pd.to_datetime(log["at"], utc=True)
    return log


def test_integer_lead_ids_of_a_csv_log_are_text() -> None:
    log = _csv_log()
    assert log["lead_id"].dtype == np.int64
    as_of = T0 + timedelta(days=30)
    spec = FeatureSpec(windows=(7,), text_buckets=0, profile_fields=("industry",))
    engine = leadlife.Engine(clock=leadlife.FixedClock(as_of))
    engine.ingest(
        {
            "id": "p1",
            "lead_id": "1001",
            "type": "form_submit",
            "at": "2026-10-01T00:00:00Z",
            "data": {"industry": "media"},
        }
    )
    frame = build_features(log, engine.storage.leads(), as_of=as_of, spec=spec)
    assert frame.index.tolist() == ["1001", "1002"]
    assert frame.loc["1001", "industry"] == "media"
    profiles = pd.DataFrame({"industry": ["retail"]}, index=pd.Index([1002], name="lead_id"))
    joined = build_features(log, profiles, as_of=as_of, spec=spec)
    assert joined.loc[1002, "industry"] == "retail"  # numbers on both sides stay numbers


def test_integer_lead_ids_alone_stay_numbers_so_labels_line_up() -> None:
    """Regression: a log's integer ids became text even with nothing to join, so
    labels indexed by the same CSV's integer ids matched no lead."""
    log = _csv_log()
    as_of = T0 + timedelta(days=30)
    spec = FeatureSpec(windows=(7,), text_buckets=0, profile_fields=("industry",))
    frame = build_features(log, as_of=as_of, spec=spec)
    assert frame.index.tolist() == [1001, 1002]
    labels = pd.Series([1, 0], index=pd.Index([1001, 1002], name="lead_id"))
    assert frame.index.intersection(labels.index).size == 2
    texts = build_features(log.assign(lead_id=log["lead_id"].astype(str)), as_of=as_of, spec=spec)
    assert texts.index.tolist() == ["1001", "1002"]
    np.testing.assert_array_equal(frame.to_numpy(), texts.to_numpy())


def test_a_lead_id_that_is_no_whole_number_is_refused() -> None:
    log = _csv_log().assign(lead_id=[1.5, 1.5, 2.0])
    with pytest.raises(FeatureSchemaError) as caught:
        build_features(log, as_of=T0 + timedelta(days=30))
    assert caught.value.column == "lead_id"
    assert "dtype={'lead_id': str}" in str(caught.value)


# -- searching ModelScorer()'s default parts; train's seed reaches the estimator ---------


@pytest.mark.parametrize("kind", [None, "random_forest", "hist_gradient_boosting"])
def test_train_searches_a_model_scorer_without_an_estimator_object(kind: str | None) -> None:
    result = train(
        leads(400),
        "Converted",
        drop=["lead_id"],
        estimator=ModelScorer(estimator=kind),
        search=True,
        n_iter=2,
        cv=3,
        min_positives=20,
        importance_repeats=0,
    )
    expected = {"hist_gradient_boosting": "HistGradientBoostingClassifier"}.get(
        str(kind), "RandomForestClassifier"
    )
    assert type(result.model.estimator_).__name__ == expected
    assert result.search_results is not None
    assert len(result.search_results) == 2


def test_grid_search_sets_nested_parameters_of_the_default_parts() -> None:
    X, y = _visits_frame(300)
    search = GridSearchCV(
        ModelScorer(),
        {"estimator__min_samples_leaf": [1, 30], "encoder__max_categories": [2, 8]},
        cv=3,
    ).fit(X, y)
    best = search.best_estimator_
    assert isinstance(best.estimator_, RandomForestClassifier)
    assert best.estimator_.min_samples_leaf in {1, 30}
    assert best.encoder_.max_categories in {2, 8}
    scorer = ModelScorer(estimator="hist_gradient_boosting")
    assert scorer.set_params(estimator__max_iter=7) is scorer
    assert scorer.estimator.max_iter == 7
    assert scorer.estimator.learning_rate == 0.05  # the library's defaults, then the change
    with pytest.raises(ModelError):
        ModelScorer(estimator="svm").set_params(estimator__C=1.0)


def test_train_seeds_an_estimator_left_unseeded() -> None:
    frame = leads(500)
    given = ExtraTreesClassifier(n_estimators=20, min_samples_leaf=5, n_jobs=1)
    runs = [
        train(
            frame,
            "Converted",
            drop=["lead_id"],
            estimator=given,
            random_state=seed,
            min_positives=20,
            importance_repeats=0,
        )
        for seed in (3, 3, 4)
    ]
    assert given.random_state is None  # the estimator passed in is not changed
    assert runs[0].model.estimator_.random_state == 3
    same = [run.model.predict_proba(runs[0].X_test)[:, 1] for run in runs]
    np.testing.assert_array_equal(same[0], same[1])
    assert runs[2].model.estimator_.random_state == 4
    pipeline = make_pipeline(StandardScaler(), ExtraTreesClassifier(n_estimators=5))
    piped = train(
        frame[["visits", "minutes", "Converted"]],
        "Converted",
        estimator=pipeline,
        random_state=5,
        min_positives=20,
        importance_repeats=0,
    )
    assert piped.model.estimator_.steps[-1][1].random_state == 5
    kept = train(
        frame,
        "Converted",
        drop=["lead_id"],
        estimator=ExtraTreesClassifier(n_estimators=5, random_state=11),
        random_state=5,
        min_positives=20,
        importance_repeats=0,
    )
    assert kept.model.estimator_.random_state == 11


def test_train_seeds_model_scorers_default_estimator() -> None:
    frame = leads(500)
    run = train(
        frame,
        "Converted",
        drop=["lead_id"],
        estimator=ModelScorer(),
        random_state=9,
        min_positives=20,
        importance_repeats=0,
    )
    assert run.model.estimator_.random_state == 9


# -- a model whose columns its live spec does not build is refused by the plugin ---------


def _spec_frame(n: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(5)
    X = pd.DataFrame(index=pd.Index([f"lead{i}" for i in range(n)], name="lead_id"))
    for column in SPEC.columns():
        if column in SPEC.categorical_columns():
            X[column] = rng.choice(np.array(["saas", "retail", None], dtype=object), n)
        else:
            X[column] = rng.poisson(1.5, n).astype(float)
    y = pd.Series((X["n.form_submit.30d"] > 1).astype(int), index=X.index)
    return X, y


def test_model_scoring_refuses_a_model_trained_on_a_subset_of_the_spec() -> None:
    X, y = _spec_frame()
    subset = ModelScorer(estimator=_forest(5), spec=SPEC).fit(
        X.drop(columns=["days_since_first_seen"]), y
    )
    with pytest.raises(FeatureSchemaError) as caught:
        ModelScoring(subset)
    assert caught.value.unexpected == ("days_since_first_seen",)
    assert "'days_since_first_seen'" in str(caught.value)
    assert "spec.columns()" in str(caught.value)
    extra = ModelScorer(estimator=_forest(5), spec=SPEC).fit(X.assign(shoe=1.0), y)
    with pytest.raises(FeatureSchemaError) as caught:
        ModelScoring(extra)
    assert caught.value.missing == ("shoe",)
    assert "'shoe'" in str(caught.value)
    unnamed = ModelScorer(estimator=_forest(5)).fit(X.select_dtypes("number").to_numpy(), y)
    with pytest.raises(FeatureSchemaError, match="without column names"):
        ModelScoring(unnamed)
    ModelScoring(ModelScorer(estimator=_forest(5), spec=SPEC).fit(X, y))  # all columns: fine


def test_a_live_mismatch_names_its_columns() -> None:
    X, y = _spec_frame()
    subset = ModelScorer(estimator=_forest(5), spec=SPEC).fit(
        X.drop(columns=["days_since_first_seen"]), y
    )
    lead = leadlife.Engine().ingest({"id": "e1", "lead_id": "u1", "type": "page_view", "at": T0})
    with pytest.raises(FeatureSchemaError, match="'days_since_first_seen'"):
        subset.score(lead, T0 + timedelta(hours=1))


# -- fit(..., sample_weight=...) reaches the estimator ----------------------------------


def test_fit_passes_sample_weight_to_the_estimator() -> None:
    X, y = _visits_frame(400)
    weights = np.where(y == 1, 5.0, 1.0)
    model = ModelScorer(estimator=_forest()).fit(X, y, sample_weight=weights)
    direct = _forest().fit(model.encoder_.transform(X), y, sample_weight=weights)
    np.testing.assert_allclose(
        model.predict_proba(X), direct.predict_proba(model.encoder_.transform(X))
    )
    unweighted = ModelScorer(estimator=_forest()).fit(X, y)
    assert not np.allclose(model.predict_proba(X), unweighted.predict_proba(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "does not accept sample_weight" warning
        CalibratedClassifierCV(ModelScorer(estimator=_forest(5)), cv=3).fit(
            X, y, sample_weight=weights
        )


def test_sample_weight_reaches_a_pipelines_steps() -> None:
    X, y = _visits_frame(400)
    numbers = X[["visits", "noise"]]
    weights = np.where(y == 1, 5.0, 1.0)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())
    model = ModelScorer(estimator=pipeline, encoder="passthrough")
    model.fit(numbers, y, sample_weight=weights)
    direct = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        numbers,
        y,
        standardscaler__sample_weight=weights,
        logisticregression__sample_weight=weights,
    )
    np.testing.assert_allclose(model.predict_proba(numbers), direct.predict_proba(numbers))


def test_sample_weight_mistakes_are_named() -> None:
    X, y = _visits_frame(100)
    with pytest.raises(ModelError, match=r"KNeighborsClassifier\.fit takes no sample_weight"):
        ModelScorer(estimator=KNeighborsClassifier()).fit(X, y, sample_weight=np.ones(100))
    with pytest.raises(ValueError, match="one weight per row"):
        ModelScorer(estimator=_forest(5)).fit(X, y, sample_weight=np.ones(99))
    with pytest.raises(ValueError, match="negative"):
        ModelScorer(estimator=_forest(5)).fit(X, y, sample_weight=-np.ones(100))


# -- score --model --reasons 0 writes no reasons ---------------------------------------


def test_score_model_reasons_zero_writes_no_reasons(tmp_path: Path) -> None:
    data = tmp_path / "leads.csv"
    leads(300).to_csv(data, index=False)
    name = tmp_path / "m"
    args = ["train", data, "--label", "Converted", "--drop", "lead_id", "--min-positives", "20"]
    assert _run(*args, "-o", name).exit_code == 0
    out = tmp_path / "scored.csv"
    default = _run("score", "--model", name, data, "-o", out)
    assert default.exit_code == 0, default.output
    three = pd.read_csv(out, keep_default_na=False)
    assert three["reasons"].str.count("; ").max() == 2
    rescored = tmp_path / "rescored.csv"
    none = _run("score", "--model", name, out, "-o", rescored, "--reasons", "0")
    assert none.exit_code == 0, none.output
    written = pd.read_csv(rescored)
    assert "reasons" not in written.columns  # not the 3 of the file it rescored either
    np.testing.assert_allclose(written["probability"], three["probability"])
    one = _run("score", "--model", name, data, "-o", out, "--reasons", "1")
    assert one.exit_code == 0, one.output
    assert pd.read_csv(out, keep_default_na=False)["reasons"].str.count("; ").max() == 0


# -- persistence: classes from __main__, edited sidecars, all-missing columns -----------

_MAIN_CLASS_SCRIPT = """
import sys
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
from leadlife.ml import ModelScorer, save_model

class BalancedLogistic(LogisticRegression):
    pass

rng = np.random.default_rng(0)
X = pd.DataFrame({"visits": rng.poisson(3, 200).astype(float)})
y = (X.visits > 3).astype(int)
print(save_model(ModelScorer(estimator=BalancedLogistic()).fit(X, y), sys.argv[1]))
"""


def test_a_class_from_the_saving_script_is_a_named_error_on_load(tmp_path: Path) -> None:
    script = tmp_path / "train_it.py"
    script.write_text(_MAIN_CLASS_SCRIPT)
    saved = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "m")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    model_file = Path(saved.stdout.strip())
    with pytest.raises(ModelIntegrityError) as caught:
        load_model(model_file)
    message = str(caught.value)
    assert "__main__.BalancedLogistic" in message
    assert "importable module" in message
    assert caught.value.path == str(model_file)


@pytest.fixture
def saved_model(tmp_path: Path) -> Path:
    X, y = _visits_frame(200)
    return save_model(ModelScorer(estimator=_forest(5)).fit(X[["visits"]], y), tmp_path / "m")


def _edit_sidecar(model_file: Path, **changes: object) -> None:
    sidecar = Path(f"{model_file}.json")
    data = json.loads(sidecar.read_text())
    data.update(changes)
    sidecar.write_text(json.dumps(data))


def test_a_text_format_version_is_called_malformed(saved_model: Path) -> None:
    _edit_sidecar(saved_model, format_version="1")
    with pytest.raises(ModelIntegrityError) as caught:
        load_model(saved_model)
    assert "'format_version' is '1', not a whole number" in str(caught.value)
    assert "newer" not in str(caught.value)


def test_a_sidecar_without_a_checked_version_is_called_malformed(saved_model: Path) -> None:
    versions = json.loads(Path(f"{saved_model}.json").read_text())["versions"]
    del versions["scikit-learn"]
    _edit_sidecar(saved_model, versions=versions)
    with pytest.raises(ModelIntegrityError) as caught:
        load_model(saved_model)
    assert "records no scikit-learn version" in str(caught.value)
    assert "unknown version.x" not in str(caught.value)


def test_an_upper_case_sidecar_sha256_still_matches(saved_model: Path) -> None:
    digest = json.loads(Path(f"{saved_model}.json").read_text())["sha256"]
    _edit_sidecar(saved_model, sha256=digest.upper())
    assert isinstance(load_model(saved_model, sha256=digest.upper()), ModelScorer)


def test_an_all_missing_column_hashes_alike_in_memory_and_from_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"visits": [1.0, 2.0, 3.0], "referrer": pd.Series([None, None, None], dtype=object)}
    )
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False)
    back = clean_frame(pd.read_csv(path))
    assert back["referrer"].dtype == np.float64
    assert hash_frame(clean_frame(frame)) == hash_frame(back)
    assert hash_frame(frame) == hash_frame(frame.assign(referrer=np.nan))
    assert hash_frame(frame) != hash_frame(frame.assign(referrer=["a", None, None]))


# -- IndustryInferrer takes whole-number industry codes --------------------------------

_TEXTS = [
    "banner ad template",
    "poster template",
    "brand poster",
    "online course",
    "course slides",
    "teacher training",
]


@pytest.mark.parametrize("offset", [0, 5411])
def test_industry_inferrer_takes_integer_codes(offset: int) -> None:
    codes = pd.Series([0, 0, 0, 1, 1, 1]) + offset
    inferrer = IndustryInferrer(cv=2).fit(_TEXTS, codes)
    assert inferrer.classes_.tolist() == [offset, offset + 1]
    predicted = inferrer.predict(["brand poster template", "online teacher course"])
    assert predicted.tolist() == [offset, offset + 1]
    assert inferrer.score(_TEXTS, codes) == 1.0
    industry, _ = inferrer.infer("poster template")
    assert industry == str(offset)  # a profile's inferred_industry is text


def test_industry_inferrer_label_mistakes_are_named() -> None:
    with pytest.raises(FeatureSchemaError, match="every customer needs an industry"):
        IndustryInferrer(cv=2).fit(_TEXTS, ["ads", "ads", None, "edu", "edu", "edu"])
    with pytest.raises(FeatureSchemaError, match="mix texts and whole-number codes"):
        IndustryInferrer(cv=2).fit(_TEXTS, ["ads", "ads", "ads", 1, 1, 1])
    with pytest.raises(FeatureSchemaError, match="a text or a whole-number code") as caught:
        IndustryInferrer(cv=2).fit(_TEXTS, [0.5] * 3 + [1.5] * 3)
    assert caught.value.column == "industry"
