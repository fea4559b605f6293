"""Small builders shared by the tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from leadlife.notices import Notice
from leadlife.plugins import hookimpl
from tests.conftest import T0

_ids = itertools.count()


def ev(
    kind: str,
    at: datetime | timedelta = T0,
    lead: str = "u1",
    event_id: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """An event dict; ``at`` may be an offset from T0."""
    moment = T0 + at if isinstance(at, timedelta) else at
    return {
        "id": event_id or f"e{next(_ids)}",
        "lead_id": lead,
        "type": kind,
        "at": moment.isoformat(),
        "data": data,
    }


def days(n: float) -> timedelta:
    return timedelta(days=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


class Inbox:
    """A plugin that keeps every notice the engine fans out."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    @hookimpl
    def leadlife_notify(self, notice: Notice) -> None:
        self.notices.append(notice)

    def kinds(self, lead_id: str | None = None) -> list[str]:
        """The notices' kinds, in order, for one lead or all."""
        return [n.kind for n in self.notices if lead_id is None or n.lead_id == lead_id]
