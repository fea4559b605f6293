"""Regressions of the machine-learning side: errors in leadlife's words, right results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadlife.errors import ModelError
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
