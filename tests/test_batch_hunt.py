"""Scoring leads in batch, and a scorer of one's own: odd frames, dtypes and estimators."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from leadlife.errors import InvalidTimeError
from leadlife.scoring import ScoringRules
from leadlife.scoring.batch import lead_frame, score_frame

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
