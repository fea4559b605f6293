"""Regressions of the machine-learning side: errors in leadlife's words, right results."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from leadlife.errors import ModelError, ModelIntegrityError
from leadlife.ml.evaluation import evaluate
from leadlife.ml.persistence import load_model, save_model
from leadlife.ml.training import train


def _frame(positives: int, rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    converted = np.zeros(rows, dtype=int)
    converted[:positives] = 1
    return pd.DataFrame({"visits": rng.normal(size=rows) + converted, "converted": converted})


@pytest.mark.parametrize("positives", [0, 1])
def test_train_refuses_too_few_positives_to_stratify_in_its_own_words(positives: int) -> None:
    """With min_positives lowered, a label with fewer than two positives is a ModelError
    saying so, as one with too few negatives is, not scikit-learn's split error."""
    with pytest.raises(ModelError, match=f"{positives} positive labels"):
        train(_frame(positives), "converted", min_positives=0, importance_repeats=0)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a pickle at all", None],  # None: the saved file cut in half
)
def test_load_model_refuses_an_unreadable_file_that_matches_its_sidecar(
    tmp_path: Path, content: bytes | None
) -> None:
    """Regression: a file joblib cannot read, with its sidecar re-hashed to match, came
    out as EOFError, UnpicklingError or KeyError instead of the library's error."""
    X = pd.DataFrame({"visits": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    path = save_model(model, tmp_path / "lead-scorer")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2] if content is None else content)
    sidecar_file = Path(f"{path}.json")
    sidecar = json.loads(sidecar_file.read_text(encoding="utf-8"))
    sidecar["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar_file.write_text(json.dumps(sidecar), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="is not a model joblib can read") as caught:
        load_model(path)
    assert caught.value.path == str(path)
    assert "save the model again with save_model" in str(caught.value)


def test_train_refuses_a_holdout_without_positives_before_fitting() -> None:
    """Regression: 2 positives in 200 rows with test_size=0.1 left the holdout without
    a positive; the model was fitted, then evaluate failed with a fix about the
    holdout the caller had not chosen."""
    with pytest.raises(ModelError, match="holds no positive label") as caught:
        train(_frame(2), "converted", min_positives=0, importance_repeats=0, test_size=0.1)
    assert "raise test_size" in str(caught.value)


def test_evaluate_refuses_labels_not_as_long_as_the_rows() -> None:
    """Regression: y one label short of X came out of confusion_matrix as
    scikit-learn's "inconsistent numbers of samples: [299, 300, 299]"."""
    frame = _frame(40)
    model = LogisticRegression().fit(frame[["visits"]], frame["converted"])
    with pytest.raises(ModelError, match="X has 200 rows and y 199 labels"):
        evaluate(model, frame[["visits"]], frame["converted"].iloc[:-1], n_repeats=0)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"version": "1"}, "version: expected a whole number such as 3, got str '1'"),
        ({"version": True}, "got bool True"),
        ({"version": 1.0}, "got float 1.0"),
        ({"sha256": 123}, "sha256: expected the hex digest as text, got int 123"),
    ],
)
def test_load_model_names_an_argument_of_the_wrong_type(
    tmp_path: Path, arguments: dict[str, object], words: str
) -> None:
    """Regression: version="1" said "no version 1 (saved versions: 1)", True and 1.0
    loaded version 1, and sha256=123 raised AttributeError from inside the check."""
    X = pd.DataFrame({"visits": [0.0, 1.0, 2.0, 3.0]})
    save_model(LogisticRegression().fit(X, [0, 0, 1, 1]), tmp_path / "lead-scorer")
    with pytest.raises(TypeError, match=re.escape(words)):
        load_model(tmp_path / "lead-scorer", **arguments)  # type: ignore[arg-type]
