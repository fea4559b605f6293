"""The enricher protocol: add profile facts to a lead before it is scored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from leadlife.events import Event
from leadlife.lead import Lead

__all__ = ["Enricher"]


@runtime_checkable
class Enricher(Protocol):
    """Looks at an event (and the lead as it was) and returns profile fields to set.

    Return None or an empty mapping when there is nothing to add. Treat ``lead`` as
    read-only: the engine applies what you return.

    A late event (older than the lead's newest) only fills profile fields that are
    still missing, so old facts never overwrite newer ones. An enricher that orders
    its fields by event time itself (a first and a last channel, say) sets the
    optional attribute ``applies_late = True``: its fields are then applied from
    late events too.
    """

    @property
    def name(self) -> str:
        """A unique name, shown in failure records (a plain attribute will do)."""
        ...

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        """Profile fields to set on ``lead`` because of ``event``."""
        ...
