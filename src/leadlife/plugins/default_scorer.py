"""Built-in plugin: the points scorer and the rule scorer, configured by the rulebook."""

from __future__ import annotations

from collections.abc import Callable

from leadlife.plugins.hookspecs import hookimpl
from leadlife.rules import Rulebook
from leadlife.scoring import PointsScorer, RuleScorer, Scorer, ScoringRules


@hookimpl(trylast=True)
def leadlife_register_scorers(register: Callable[[Scorer], None], rulebook: Rulebook) -> None:
    """Register ``points`` (``event_types.*.points`` summed) and the ``[scoring]`` rules."""
    register(PointsScorer({name: spec.points for name, spec in rulebook.event_types.items()}))
    if rulebook.model.scoring is not None:
        register(RuleScorer(ScoringRules(rulebook.model.scoring, source=rulebook.source)))
