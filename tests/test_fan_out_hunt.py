"""Fan-out after the commit: stage hooks and channels, their failures, re-entrant calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

import leadlife
from leadlife import Event, Lead
from leadlife.lead import StageChange
from leadlife.plugins import LeadlifePluginManager, hookimpl
from leadlife.plugins.default_storage import MemoryStorage
from tests.conftest import T0
from tests.helpers import days, ev, hours

FORM = {"phone": "+8613800138000", "asset_id": "p1"}


@pytest.mark.usefixtures("quiet_engine_log")
def test_a_rejection_keeps_the_fan_out_failures_another_thread_recorded_meanwhile(
    pm: LeadlifePluginManager,
) -> None:
    # Thread one's stage hook holds the delivery, so the fan-out of the batch's first
    # event runs there, while the batch applies its second event (which the storage
    # refuses). The failure of that fan-out belongs to the batch's report.
    committed, started, storing, delivered = (threading.Event() for _ in range(4))

    class Refusing(MemoryStorage):
        def commit(self, lead: Lead, event: Event | None, changes: Sequence[StageChange]) -> None:
            if event is not None and event.id == "refused":
                storing.set()
                assert delivered.wait(10)
                raise OSError("disk full")
            super().commit(lead, event, changes)
            if event is not None and event.id == "b1":
                committed.set()

    class Store:
        @hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return Refusing()

    class Last:  # registered first: pluggy calls it after the others
        @hookimpl
        def leadlife_stage_changed(self, lead: Lead) -> None:
            if lead.id == "b":
                delivered.set()

    class Crm:
        @hookimpl
        def leadlife_stage_changed(self, lead: Lead) -> None:
            if lead.id == "a":
                assert committed.wait(10)
            elif lead.id == "b":
                started.set()
                assert storing.wait(10)
                raise RuntimeError("crm down")

    def batch() -> Iterator[dict[str, Any]]:
        yield ev("form_submit", lead="b", event_id="b1", **FORM)
        assert started.wait(10)
        yield ev("page_view", lead="c", event_id="refused")

    pm.register(Store(), name="store")
    pm.register(Last(), name="last")
    pm.register(Crm(), name="crm")
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0 + hours(1)))
    first = threading.Thread(target=engine.ingest, args=(ev("form_submit", lead="a", **FORM),))
    first.start()
    report = engine.ingest_many(batch())
    first.join(10)
    assert [r.event_id for r in report.rejected] == ["refused"]
    assert [(f.plugin, f.hook, f.event_id) for f in report.failures] == [
        ("crm", "leadlife_stage_changed", "b1")
    ]


def test_a_plugin_registered_during_a_fan_out_gets_a_fork_of_the_lead(
    pm: LeadlifePluginManager,
) -> None:
    # Only leadlife's own channel is registered, so the fan-out starts without forks;
    # a plugin from outside registered while it runs (here while the channel sends,
    # as another thread could) is handed a fork all the same.
    from leadlife.demo import NoticeCounter

    counter = NoticeCounter()
    count = counter.send

    class Meddler:
        @hookimpl
        def leadlife_notify(self, lead: Lead) -> None:
            lead.profile["company"] = "meddled"

    def send(notice: Any, lead: Lead) -> None:
        count(notice, lead)
        if "meddler" not in {name for name, _ in pm.list_name_plugin()}:
            pm.register(Meddler(), name="meddler")

    counter.send = send  # type: ignore[method-assign]
    pm.register(counter, name="counter")
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view", lead="a"))
    engine.tick(T0 + days(100))
    assert counter.counts["reactivation_due"] == 1
    assert "company" not in engine.get("a").profile
