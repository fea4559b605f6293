"""Built-in plugin: the provisional points scorer, configured by the rulebook."""

from __future__ import annotations

from collections.abc import Callable

from leadlife.plugins.hookspecs import hookimpl
from leadlife.rules import Rulebook
from leadlife.scoring import PointsScorer, Scorer


@hookimpl(trylast=True)
def leadlife_register_scorers(register: Callable[[Scorer], None], rulebook: Rulebook) -> None:
    """Register ``points``: the rulebook's ``event_types.*.points``, summed."""
    register(PointsScorer({name: spec.points for name, spec in rulebook.event_types.items()}))
