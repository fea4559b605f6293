"""X Education's real leads: the recommended configuration's AUC and the leakage guard.

Reads ``shared/data/x_education_leads/Leads.csv`` beside the checkout; skips only when
the file is absent (it is not shipped with leadlife).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score
from threadpoolctl import threadpool_limits

from leadlife.ml.datasets import (
    X_EDUCATION_POST_CONTACT,
    X_EDUCATION_STAFF_ASSIGNED,
    load_x_education,
)
from leadlife.ml.estimators import make_estimator
from leadlife.ml.leakage import LeakageWarning, check_leakage
from leadlife.ml.scorer import ModelScorer

LEADS = Path(__file__).resolve().parents[2] / "shared" / "data" / "x_education_leads" / "Leads.csv"


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP on a shared, busy machine slows boosting tenfold; these tests use one thread."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def leads() -> tuple[pd.DataFrame, pd.Series]:
    """X Education without the post-contact columns, as load_x_education gives it."""
    if not LEADS.is_file():
        pytest.skip(f"X Education's Leads.csv not found at {LEADS}")
    return load_x_education(LEADS)


def test_loader_cleans_and_drops_ids_and_post_contact_columns(
    leads: tuple[pd.DataFrame, pd.Series],
) -> None:
    """9,240 leads; no ids, no post-contact columns, no 'Select'; flags are 0/1; y is 0/1."""
    X, y = leads
    assert X.shape == (9240, 30)
    assert not {"Prospect ID", "Lead Number", "Converted"} & set(X.columns)
    assert not set(X_EDUCATION_POST_CONTACT) & set(X.columns)
    text = X.select_dtypes(include="object")
    assert not text.isin(["Select"]).any().any()
    assert set(X["Do Not Email"].unique()) == {0.0, 1.0}
    assert y.tolist().count(1) == 3561
    assert X.index.name == "lead_id"
    assert X.index.equals(y.index)


def test_loader_options_keep_or_drop_column_groups() -> None:
    """include_post_contact keeps the four; include_staff_assigned=False drops five more."""
    if not LEADS.is_file():
        pytest.skip(f"X Education's Leads.csv not found at {LEADS}")
    with_post, _ = load_x_education(LEADS, include_post_contact=True)
    assert set(X_EDUCATION_POST_CONTACT) <= set(with_post.columns)
    lead_given, _ = load_x_education(LEADS, include_staff_assigned=False)
    assert lead_given.shape[1] == 30 - len(X_EDUCATION_STAFF_ASSIGNED)


def test_missing_file_says_where_it_looked(tmp_path: Path) -> None:
    """Without the file, the error names the path and how to give another."""
    absent = tmp_path / "Leads.csv"
    with pytest.raises(FileNotFoundError, match="load_x_education"):
        load_x_education(absent)


def test_recommended_configuration_reaches_auc_0_91(
    leads: tuple[pd.DataFrame, pd.Series],
) -> None:
    """Encoder + the library's HistGradientBoosting: 5-fold stratified ROC-AUC >= 0.91."""
    X, y = leads
    model = ModelScorer(estimator=make_estimator("hist_gradient_boosting"))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    aucs = cross_val_score(model, X, y, cv=folds, scoring="roc_auc")
    assert np.mean(aucs) >= 0.91, f"5-fold ROC-AUC {np.mean(aucs):.4f} ({np.round(aucs, 4)})"


def test_leakage_guard_flags_tags(leads: tuple[pd.DataFrame, pd.Series]) -> None:
    """With the post-contact columns, Tags is flagged; without them, nothing is."""
    X, y = leads
    with_post, _ = load_x_education(LEADS, include_post_contact=True)
    with pytest.warns(LeakageWarning, match="'Tags'"):
        leaks = check_leakage(with_post, y)
    assert [leak.column for leak in leaks] == ["Tags"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_leakage(X, y) == []
