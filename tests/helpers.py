"""Small builders shared by the tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

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
