"""Routing: who owns a lead once it is qualified."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from leadlife.lead import Lead

__all__ = ["Router"]


@runtime_checkable
class Router(Protocol):
    """Picks an owner for a qualified lead that has none; None passes to the next router."""

    name: str

    def route(self, lead: Lead) -> str | None:
        """The owner id for ``lead``, or None."""
        ...
