"""Engine edges: a tick whose write fails, scores as of a tick, an empty router answer,
and pool operations without a routing configuration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import leadlife
from leadlife import Stage
from leadlife.errors import InvalidEventError
from leadlife.lead import Lead
from leadlife.plugins import hookimpl
from leadlife.plugins.default_storage import MemoryStorage
from leadlife.routing import Routing
from tests.conftest import T0
from tests.helpers import UNEQUAL_CAPACITIES, FallingScorer, days, ev, hours

PHONE = "+8613800138000"
MINUTE = timedelta(minutes=1)


def _shares(team: Any) -> tuple[Any, ...]:
    received = {member: list(window) for member, window in team._received.items()}
    return list(team._rotation), dict(team._credit), received


class _TickWriteFailsOnce(MemoryStorage):
    """The first write of a tick (no event) fails."""

    failed = False

    def commit(self, lead: Lead, event: Any, changes: Any) -> None:
        if event is None and not self.failed:
            self.failed = True
            raise OSError("db went away")
        super().commit(lead, event, changes)


def test_a_tick_whose_write_fails_moves_no_team() -> None:
    """Reassignments a tick made for missed speed-to-lead windows are taken back from
    the team when the lead could not be stored: the retry chooses as the first try."""
    storage = _TickWriteFailsOnce()

    class Provider:
        @hookimpl
        def leadlife_storage(self) -> object:
            return storage

    engine = leadlife.Engine(
        plugins=[Routing.from_dict(UNEQUAL_CAPACITIES), Provider()], clock=leadlife.FixedClock(T0)
    )
    engine.ingest(ev("form_submit", lead="L", phone=PHONE, asset_id="p1"))
    routing = engine.routing
    assert routing is not None
    before = [_shares(team) for team in routing.teams.values()]
    report = engine.tick(T0 + 30 * MINUTE)
    assert [error.lead_id for error in report.errors] == ["L"]
    assert [_shares(team) for team in routing.teams.values()] == before
    engine.tick(T0 + 30 * MINUTE)
    assert [a.to_owner for a in engine.get("L").assignments] == ["m1", "m0", "m1"]


def test_a_tick_leaves_the_score_as_of_its_own_moment(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """A lead due (asleep at 90 days) is rescored by the tick; its catch-up rescores it
    as of an earlier cooling moment, but the lead stored is scored as of the tick."""
    engine = leadlife.Engine(
        {
            "extends": "default",
            "bands": {"scorer": "step"},
            "timers": {"cooling_days": 50, "sleep_days": 90},
        },
        plugins=[FallingScorer(T0 + days(95))],
        plugin_manager=pm,
    )
    engine.ingest(ev("page_view"))
    assert [c.to_stage for c in engine.tick(T0 + days(51))] == [Stage.WARM]
    report = engine.tick(T0 + days(96))
    assert [(n.kind, n.at) for n in report.notices] == [("reactivation_due", T0 + days(90))]
    lead = engine.get("u1")
    assert (lead.score, lead.scored_at) == (15.0, T0 + days(96))
    assert engine.explain("u1").value == 15.0


class EmptyRouter:
    name = "empty"

    def route(self, lead: Lead) -> str:
        return ""


class RepRouter:
    name = "rep"

    def route(self, lead: Lead) -> str:
        return "rep-2"


def test_a_router_answering_an_empty_owner_passes_the_lead_on(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    class Plugin:
        @hookimpl
        def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
            register(EmptyRouter())
            register(RepRouter())

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    lead = engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    assert lead.owner == "rep-2"
    assert [(a.router, a.to_owner) for a in lead.assignments] == [("rep", "rep-2")]


def test_a_pool_operation_without_routing_is_refused_and_changes_nothing(
    engine: leadlife.Engine,
) -> None:
    engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    with pytest.raises(InvalidEventError, match="no routing configuration"):
        engine.claim("u1", "rep-1", at=T0 + hours(1))
    lead = engine.get("u1")
    assert (lead.owner, lead.event_count) == (None, 1)
