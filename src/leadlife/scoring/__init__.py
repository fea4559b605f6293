"""Scorers: the protocol, and the built-in scorers that answer it.

The batch path (:mod:`leadlife.scoring.batch`) imports pandas; import it explicitly.
"""

from leadlife.scoring.points import PointsScorer
from leadlife.scoring.protocol import Contribution, IncrementalScorer, Scorer, ScoreResult
from leadlife.scoring.rule_scorer import RuleScorer
from leadlife.scoring.rules import ScoringRules, load_scoring_rules

__all__ = [
    "Contribution",
    "IncrementalScorer",
    "PointsScorer",
    "RuleScorer",
    "ScoreResult",
    "Scorer",
    "ScoringRules",
    "load_scoring_rules",
]
