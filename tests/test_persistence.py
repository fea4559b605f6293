"""Saving and loading models: sidecar, versions, integrity and schema checks, comparison."""

from __future__ import annotations

import hashlib
import json
import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import leadlife
from leadlife.errors import (
    FeatureSchemaError,
    InvalidArgumentError,
    InvalidTimeError,
    ModelIntegrityError,
    ModelVersionError,
)
from leadlife.ml.evaluation import evaluate
from leadlife.ml.persistence import (
    compare_models,
    hash_frame,
    load_model,
    model_versions,
    read_sidecar,
    resolve_model,
    save_model,
)

CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def synthetic(rows: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric leads whose conversion follows ``visits``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"visits": rng.normal(size=rows), "minutes": rng.normal(size=rows)})
    y = pd.Series((X["visits"] + rng.normal(size=rows) > 0).astype(int), name="converted")
    return X, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return synthetic()


@pytest.fixture(scope="module")
def model(data: tuple[pd.DataFrame, pd.Series]) -> RandomForestClassifier:
    X, y = data
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0, n_jobs=1)
    return forest.fit(X, y)


class CreatesFileWhenUnpickled:
    """An object whose unpickling has a visible side effect: it creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Path]]:
        return (Path.touch, (self.marker,))


def test_round_trip_predicts_the_same(
    tmp_path: Path, model: RandomForestClassifier, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    """A saved and loaded model gives exactly the probabilities of the original."""
    X, _ = data
    path = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    loaded = load_model(path)
    assert type(loaded) is RandomForestClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_sidecar_records_what_the_model_is(
    tmp_path: Path, model: RandomForestClassifier, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    """The sidecar holds versions, class, schema, data hash, metrics, time and the file's sha256."""
    X, y = data
    report = evaluate(model, X, y, n_repeats=0)
    path = save_model(
        model, tmp_path / "lead-scorer", report=report, training_data=X, created_at=CREATED
    )
    sidecar = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    assert sidecar == read_sidecar(path)
    assert sidecar["format_version"] == 1
    assert (sidecar["name"], sidecar["version"], sidecar["model_file"]) == (
        "lead-scorer",
        1,
        "lead-scorer.v1.joblib",
    )
    assert sidecar["versions"]["leadlife"] == leadlife.__version__
    assert set(sidecar["versions"]) >= {"scikit-learn", "numpy", "python"}
    assert sidecar["estimator"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert sidecar["features"] == [
        {"name": "visits", "kind": "numeric"},
        {"name": "minutes", "kind": "numeric"},
    ]
    assert sidecar["training_data"] == {"sha256": hash_frame(X), "rows": len(X)}
    assert sidecar["metrics"]["roc_auc"] == pytest.approx(report.metrics["roc_auc"])
    assert sidecar["created_at"] == "2026-11-02T09:00:00+00:00"
    assert sidecar["classes"] == [0, 1]
    assert sidecar["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sidecar["size_bytes"] == path.stat().st_size


def test_versions_are_numbered_and_never_overwritten(
    tmp_path: Path, model: RandomForestClassifier, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    """Each save of a name writes the next version; loading the name gives the newest."""
    X, y = data
    older = LogisticRegression().fit(X, y)
    first = save_model(older, tmp_path / "models" / "lead-scorer", created_at=CREATED)
    second = save_model(model, tmp_path / "models" / "lead-scorer.joblib", created_at=CREATED)
    third = save_model(older, tmp_path / "models" / "lead-scorer", created_at=CREATED)
    assert [p.name for p in (first, second, third)] == [
        "lead-scorer.v1.joblib",
        "lead-scorer.v2.joblib",
        "lead-scorer.v3.joblib",
    ]
    assert model_versions(tmp_path / "models" / "lead-scorer") == [first, second, third]
    assert type(load_model(tmp_path / "models" / "lead-scorer")) is LogisticRegression
    assert (
        type(load_model(tmp_path / "models" / "lead-scorer", version=2)) is RandomForestClassifier
    )
    assert resolve_model(tmp_path / "models" / "lead-scorer.v2") == second
    assert resolve_model(Path(f"{second}.json")) == second
    other = save_model(older, tmp_path / "models" / "lead-scorer-b", created_at=CREATED)
    assert other.name == "lead-scorer-b.v1.joblib"  # a name that extends another is its own


def test_a_save_in_progress_is_not_loaded_nor_reused(
    tmp_path: Path, model: RandomForestClassifier
) -> None:
    """A version whose sidecar is not written yet is skipped by loads and by the next save."""
    first = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    (tmp_path / "lead-scorer.v2.joblib").write_bytes(b"half written")
    assert resolve_model(tmp_path / "lead-scorer") == first
    assert model_versions(tmp_path / "lead-scorer") == [first]
    third = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    assert third.name == "lead-scorer.v3.joblib"
    with pytest.raises(ModelIntegrityError, match=r"no version 2 \(saved versions: 1, 3\)"):
        load_model(tmp_path / "lead-scorer", version=2)


def test_explicit_version_on_save_is_refused(tmp_path: Path, model: RandomForestClassifier) -> None:
    """save_model numbers versions itself, so a name ending in .v<N> is refused."""
    with pytest.raises(ValueError, match="numbers versions itself"):
        save_model(model, tmp_path / "lead-scorer.v4")


def test_bad_names_and_versions_are_argument_errors(
    tmp_path: Path, model: RandomForestClassifier, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    """A path naming no model or a version save_model would pick, two versions that
    differ, or two equal names to compare are InvalidArgumentErrors naming the argument."""
    saved = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    X, y = data
    calls: list[tuple[str, Any]] = [
        ("path", lambda: save_model(model, tmp_path / "lead-scorer.v4")),
        ("path", lambda: save_model(model, tmp_path / "..")),
        ("version", lambda: resolve_model(tmp_path / "lead-scorer.v1", version=2)),
        ("names", lambda: compare_models(saved, saved, X, y, names=("v1", "v1"))),
    ]
    for argument, call in calls:
        with pytest.raises(InvalidArgumentError) as caught:
            call()
        assert caught.value.argument == argument
        assert str(caught.value).startswith(f"{argument}: ")


def test_tampered_file_is_refused_before_unpickling(
    tmp_path: Path, model: RandomForestClassifier
) -> None:
    """A model file changed after saving is refused by its hash, and never unpickled."""
    marker = tmp_path / "unpickled.txt"
    evil = tmp_path / "evil.joblib"
    joblib.dump(CreatesFileWhenUnpickled(marker), evil)
    joblib.load(evil)  # the control: unpickling this file does create the marker
    assert marker.exists()
    marker.unlink()

    path = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    path.write_bytes(evil.read_bytes())
    with pytest.raises(ModelIntegrityError, match="does not match the sidecar") as caught:
        load_model(path)
    assert not marker.exists()
    assert caught.value.path == str(path)
    assert "Fix: " in str(caught.value)


def test_forged_sidecar_with_other_versions_is_refused_before_unpickling(
    tmp_path: Path, model: RandomForestClassifier
) -> None:
    """A sidecar naming another major version of leadlife or sklearn stops the load early."""
    marker = tmp_path / "unpickled.txt"
    path = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    joblib.dump(CreatesFileWhenUnpickled(marker), path)
    sidecar_file = Path(f"{path}.json")
    sidecar = json.loads(sidecar_file.read_text(encoding="utf-8"))
    sidecar["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    # numpy: a newer major's pickles do not load on an older one (numpy._core).
    newer_numpy = f"{int(np.__version__.split('.')[0]) + 1}.0.0"
    for package, saved in [
        ("scikit-learn", "0.24.2"),
        ("leadlife", "7.0.0"),
        ("numpy", newer_numpy),
    ]:
        forged = {**sidecar, "versions": {**sidecar["versions"], package: saved}}
        sidecar_file.write_text(json.dumps(forged), encoding="utf-8")
        with pytest.raises(ModelVersionError, match="different major version") as caught:
            load_model(path)
        assert (caught.value.package, caught.value.saved) == (package, saved)
    assert not marker.exists()


def test_pinned_hash_refuses_a_swapped_pair(tmp_path: Path, model: RandomForestClassifier) -> None:
    """A pinned sha256 refuses a model whose file and sidecar were both replaced."""
    path = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    expected = read_sidecar(path)["sha256"]
    assert type(load_model(path, sha256=expected)) is RandomForestClassifier
    with pytest.raises(ModelIntegrityError, match="is not the expected"):
        load_model(path, sha256="0" * 64)


def test_missing_sidecar_or_file_is_refused(tmp_path: Path, model: RandomForestClassifier) -> None:
    """A model file without sidecar, a sidecar without file, or no model at all are refused."""
    loose = tmp_path / "loose.joblib"
    joblib.dump(model, loose)
    with pytest.raises(ModelIntegrityError, match=r"no sidecar loose\.joblib\.json"):
        load_model(loose)
    path = save_model(model, tmp_path / "lead-scorer", created_at=CREATED)
    path.unlink()
    with pytest.raises(ModelIntegrityError, match="the model file is missing"):
        load_model(path)
    with pytest.raises(ModelIntegrityError, match="no saved model named 'nothing'"):
        load_model(tmp_path / "nothing")
    Path(f"{path}.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="not readable JSON"):
        read_sidecar(path)


def test_feature_schema_is_checked_before_loading(
    tmp_path: Path, model: RandomForestClassifier, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    """features= names the columns to come: missing, unexpected or mistyped columns are refused."""
    X, _ = data
    path = save_model(model, tmp_path / "lead-scorer", training_data=X, created_at=CREATED)
    assert type(load_model(path, features=X)) is RandomForestClassifier
    assert type(load_model(path, features=["minutes", "visits"])) is RandomForestClassifier
    with pytest.raises(FeatureSchemaError, match="lack the model's column") as missing:
        load_model(path, features=["visits"])
    assert missing.value.missing == ("minutes",)
    with pytest.raises(FeatureSchemaError, match="not trained on") as unexpected:
        load_model(path, features=["visits", "minutes", "city"])
    assert unexpected.value.unexpected == ("city",)
    as_text = X.assign(visits=X["visits"].map(str))
    with pytest.raises(
        FeatureSchemaError, match="'visits' is categorical here but numeric"
    ) as kind:
        load_model(path, features=as_text)
    assert kind.value.column == "visits"


def test_naive_created_at_is_refused(tmp_path: Path, model: RandomForestClassifier) -> None:
    """created_at must carry a timezone, like every moment leadlife records."""
    with pytest.raises(InvalidTimeError, match="created_at"):
        save_model(model, tmp_path / "lead-scorer", created_at=datetime(2026, 11, 2))
    assert model_versions(tmp_path / "lead-scorer") == []


def test_a_failed_save_leaves_no_version_behind(tmp_path: Path) -> None:
    """When the model cannot be pickled, neither the file nor the sidecar stays behind."""
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        save_model(lambda: None, tmp_path / "lead-scorer", created_at=CREATED)
    assert list(tmp_path.iterdir()) == []


def test_compare_models_on_the_same_holdout(tmp_path: Path, model: RandomForestClassifier) -> None:
    """compare_models gives two versions' metrics on one holdout, the change and the better."""
    X, y = synthetic(600, seed=3)
    train_X, train_y, test_X, test_y = X[:400], y[:400], X[400:], y[400:]
    weak = LogisticRegression().fit(
        train_X[["minutes"]].assign(visits=0.0)[["visits", "minutes"]], train_y
    )
    strong = LogisticRegression().fit(train_X, train_y)
    first = save_model(weak, tmp_path / "lead-scorer", created_at=CREATED)
    second = save_model(strong, tmp_path / "lead-scorer", created_at=CREATED)
    table = compare_models(first, second, test_X, test_y)
    assert list(table.columns) == ["lead-scorer.v1", "lead-scorer.v2", "change", "better"]
    assert table.loc["roc_auc", "lead-scorer.v2"] == pytest.approx(
        evaluate(strong, test_X, test_y, n_repeats=0).metrics["roc_auc"]
    )
    assert table.loc["roc_auc", "better"] == "lead-scorer.v2"
    assert table.loc["brier", "better"] == "lead-scorer.v2"  # lower is better
    change = table.loc["roc_auc", "lead-scorer.v2"] - table.loc["roc_auc", "lead-scorer.v1"]
    assert table.loc["roc_auc", "change"] == pytest.approx(change)
    same = compare_models(strong, strong, test_X, test_y, names=["old", "new"])
    assert set(same["better"]) == {"same"}


frames = st.lists(
    st.tuples(
        st.integers(-5, 5),
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False)),
        st.one_of(st.none(), st.sampled_from(["a", "b", "Select", ""])),
    ),
    min_size=1,
    max_size=20,
).map(lambda rows: pd.DataFrame(rows, columns=["n", "x", "city"]))


@given(frames)
def test_hash_frame_is_canonical(frame: pd.DataFrame) -> None:
    """Equal tables hash alike whatever their index or int/float storage; a new cell changes it."""
    digest = hash_frame(frame)
    assert hash_frame(frame.copy()) == digest
    assert hash_frame(frame.set_axis(range(100, 100 + len(frame)))) == digest
    assert hash_frame(frame.astype({"n": float})) == digest
    changed = frame.copy()
    changed.loc[changed.index[0], "n"] = 99
    assert hash_frame(changed) != digest


def test_hash_frame_counts_order_and_names() -> None:
    """Row order, column order and column names are part of the hash; every missing value is one."""
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": ["x", None, "z"]})
    digest = hash_frame(frame)
    assert hash_frame(frame.iloc[::-1]) != digest
    assert hash_frame(frame[["b", "a"]]) != digest
    assert hash_frame(frame.rename(columns={"a": "c"})) != digest
    assert hash_frame(frame.assign(b=["x", np.nan, "z"])) == digest
    assert hash_frame(frame.assign(b=["x", "None", "z"])) != digest


def test_all_missing_columns_fit_the_frame_and_the_spec_they_were_fitted_on(
    tmp_path: Path,
) -> None:
    """Regression: load_model(features=X) refused the very frame fitted, for an all-NaN column.

    The encoder makes an all-missing column categorical, while the frame's float64
    NaN column and a FeatureSpec say numeric; such a column fits either kind.
    """
    from leadlife.ml.features import FeatureSpec
    from leadlife.ml.scorer import ModelScorer

    spec = FeatureSpec(windows=(7,), text_buckets=0, profile_fields=("employees",))
    rng = np.random.default_rng(0)
    X = pd.DataFrame({name: rng.poisson(2, 200).astype(float) for name in spec.columns()}).astype(
        {"first_channel": object, "last_channel": object}
    )
    X["first_channel"] = rng.choice(["web", "chat"], 200)
    X["last_channel"] = rng.choice(["web", "chat"], 200)
    X["employees"] = np.nan  # no company was ever verified
    y = (X["n.events"] > 2).astype(int)
    model = ModelScorer(estimator=RandomForestClassifier(n_estimators=5, random_state=0))
    model.fit(X, y, spec=spec)
    assert "employees" in model.encoder_.categorical_columns_
    path = save_model(model, tmp_path / "m", created_at=CREATED)
    kinds = {item["name"]: item["kind"] for item in read_sidecar(path)["features"]}
    assert kinds["employees"] is None
    assert kinds["first_channel"] == "categorical"
    for features in (X, spec):
        assert type(load_model(path, features=features)) is ModelScorer
    with pytest.raises(FeatureSchemaError, match="'first_channel' is numeric here"):
        load_model(path, features=X.assign(first_channel=1.0))


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("versions", "1.0", "'versions'"),
        ("versions", {"leadlife": 1}, "'versions'"),
        ("features", "visits", "'features' is 'visits'"),
        ("features", [{"column": "visits"}], "'features' holds"),
        ("features", [{"name": "visits", "kind": "text"}], "'features' holds"),
        ("features", ["visits"], "'features' holds"),
        ("sha256", 123, "'sha256'"),
        ("estimator", None, "'estimator'"),
    ],
)
def test_a_malformed_sidecar_is_an_integrity_error(
    tmp_path: Path, model: RandomForestClassifier, field: str, value: Any, problem: str
) -> None:
    """Regression: wrongly shaped sidecar fields raised AttributeError, KeyError or TypeError."""
    path = save_model(model, tmp_path / "m", created_at=CREATED)
    sidecar_file = Path(f"{path}.json")
    sidecar = json.loads(sidecar_file.read_text())
    sidecar[field] = value
    sidecar_file.write_text(json.dumps(sidecar))
    with pytest.raises(ModelIntegrityError, match=f"malformed: its {problem}"):
        load_model(path, features=["visits", "minutes"])
    with pytest.raises(ModelIntegrityError, match="malformed"):
        read_sidecar(path)
