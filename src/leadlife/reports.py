"""What the engine hands back: ingest and tick reports, rejections, plugin failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import attrs

from leadlife.errors import LeadlifeError
from leadlife.lead import StageChange
from leadlife.notices import Notice

__all__ = ["IngestReport", "PluginFailure", "Rejection", "TickError", "TickReport"]


@attrs.frozen(slots=True)
class PluginFailure:
    """A plugin raised; its contribution was skipped and the pipeline went on."""

    plugin: str
    hook: str
    event_id: str | None
    lead_id: str | None
    error: str
    error_type: str


@attrs.frozen(slots=True)
class Rejection:
    """An event that was not applied, and why.

    ``error`` is the exception, kept without its traceback (which would hold the
    whole batch in memory through the frames it passed).
    """

    index: int
    event_id: str | None
    reason: str
    error: LeadlifeError


@attrs.define(slots=True)
class IngestReport:
    """Counts of a batch ingest; ``rejected`` lists each refused event with its reason."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = attrs.field(factory=list)
    stage_changes: int = 0
    failures: list[PluginFailure] = attrs.field(factory=list)

    @property
    def total(self) -> int:
        """Every event seen: accepted, duplicate or rejected."""
        return self.accepted + self.duplicates + len(self.rejected)


@attrs.frozen(slots=True)
class TickError:
    """A lead a tick could not move; it stays due and is tried again next tick.

    ``error`` is kept without its traceback, as in :class:`Rejection`.
    """

    lead_id: str
    reason: str
    error: LeadlifeError


@attrs.frozen(slots=True)
class TickReport:
    """What one ``tick`` did: the stage changes and notices of the time rules, the
    plugin failures recorded meanwhile, and the leads it could not move (``errors``,
    which stay due)."""

    now: datetime
    stage_changes: tuple[StageChange, ...] = ()
    notices: tuple[Notice, ...] = ()
    failures: tuple[PluginFailure, ...] = ()
    errors: tuple[TickError, ...] = ()

    def __iter__(self) -> Iterator[StageChange]:
        return iter(self.stage_changes)

    def __len__(self) -> int:
        return len(self.stage_changes)
