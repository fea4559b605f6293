"""The fallback router: every lead no other router took goes to one team's queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadlife.lead import Lead
from leadlife.routing.config import FallbackSpec
from leadlife.routing.decision import RouteDecision
from leadlife.routing.frames import decisions_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FallbackRouter"]


class FallbackRouter:
    """Always decides: the lead goes to ``spec.team``, whose strategy picks the member.

    Put it last; routers after it are never asked.
    """

    name = "fallback"

    def __init__(self, spec: FallbackSpec):
        self.spec = spec
        # Decisions are immutable, so every lead can share this one.
        self._decision = RouteDecision(
            router=self.name,
            reason=f"no other router took the lead; team queue {spec.team}",
            team=spec.team,
        )

    def __repr__(self) -> str:
        return f"FallbackRouter(team={self.spec.team!r})"

    def route(self, lead: Lead) -> RouteDecision:
        """The fallback team, for any lead."""
        return self._decision

    def route_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The decisions for many leads at once: one row per row of ``frame`` (same index),
        columns ``team``, ``owner``, ``reason`` (object): the fallback team on every row."""
        import numpy as np

        rows = len(frame)
        decision = self._decision
        team = np.full(rows, decision.team, dtype=object)
        reason = np.full(rows, decision.reason, dtype=object)
        return decisions_frame(frame.index, team, reason)
