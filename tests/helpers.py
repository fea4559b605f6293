"""Small builders shared by the tests."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from leadlife.lead import Lead
from leadlife.notices import Notice
from leadlife.plugins import hookimpl
from leadlife.scoring.protocol import ScoreResult
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


class FallingScorer:
    """A score that falls with time: 50 points until ``drop_at``, 15 after. Register
    it with its ``leadlife_register_scorers``; name it in ``bands.scorer``."""

    name = "step"

    def __init__(self, drop_at: datetime):
        self.drop_at = drop_at

    def score(self, lead: Lead, now: datetime) -> float:
        return 50.0 if now < self.drop_at else 15.0

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        return ScoreResult(self.name, self.score(lead, now))

    @hookimpl
    def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
        register(self)


# One capacity team, two members of 45 leads a month and one of 7, with at most two
# reassignments per lead: where the choice of each next owner shows.
UNEQUAL_CAPACITIES: dict[str, Any] = {
    "seed": 64,
    "teams": [
        {
            "id": "t0",
            "strategy": "capacity",
            "members": [
                {"id": "m0", "capacity": 45},
                {"id": "m1", "capacity": 45},
                {"id": "m3", "capacity": 7},
            ],
        }
    ],
    "routers": {"fallback": {"team": "t0"}},
    "sla": {"max_reassignments": 2},
}


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def crm_example_storage(path: Path) -> tuple[Any, object]:
    """The CRM example's SQLite storage at ``path``, and a plugin providing it."""
    spec = importlib.util.spec_from_file_location("crm_backend", EXAMPLES / "crm_backend.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    storage = module.SQLiteStorage(path)

    class Provider:
        @hookimpl
        def leadlife_storage(self) -> object:
            return storage

    return storage, Provider()
