"""What routing decides: :class:`RouteDecision` (which team or owner, and why) and the
:class:`Router` protocol every router answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from leadlife.lead import NO_EVIDENCE, Lead

__all__ = ["RouteDecision", "Router"]


@attrs.frozen(slots=True)
class RouteDecision:
    """A router's answer: the team (and, when it knows one, the owner) for a lead.

    ``router`` names the router that decided and ``reason`` says why in words a
    salesperson understands ("email domain acme.com belongs to account Acme");
    ``evidence`` keeps the matched values for code (``{"domain": "acme.com"}``).
    A decision with an ``owner`` skips assignment within the team; one with only a
    ``team`` is assigned to a member by the team's strategy.
    """

    router: str
    reason: str
    team: str | None = None
    owner: str | None = None
    # Left out of the hash, not of ==, as an Assignment's: mappings do not hash.
    evidence: Mapping[str, Any] = attrs.field(default=NO_EVIDENCE, hash=False)

    def __attrs_post_init__(self) -> None:
        if self.team is None and self.owner is None:
            raise ValueError(f"router {self.router!r} decided neither a team nor an owner")


@runtime_checkable
class Router(Protocol):
    """Picks a team or an owner for a qualified lead that has none.

    Return a :class:`RouteDecision`, a plain owner id (a string), or None to pass the
    lead to the next router. Routers are asked in registration order; the first that
    decides wins. Treat ``lead`` as read-only.
    """

    name: str

    def route(self, lead: Lead) -> RouteDecision | str | None:
        """The decision for ``lead``, or None."""
        ...
