"""Scorers: the protocol, and the built-in scorers that answer it."""

from leadlife.scoring.points import PointsScorer
from leadlife.scoring.protocol import Contribution, IncrementalScorer, Scorer, ScoreResult

__all__ = ["Contribution", "IncrementalScorer", "PointsScorer", "ScoreResult", "Scorer"]
