"""One Engine shared by threads, at the edges: plugins registered by one thread while
another applies events, fan-outs and ticks interleaved by barriers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import leadlife
from leadlife import Event, Lead
from leadlife.plugins import LeadlifePluginManager
from tests.conftest import T0
from tests.helpers import ev


class _Tagger:
    """An enricher that marks every lead it sees."""

    name = "tagger"

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any]:
        return {"tagged": "yes"}

    @leadlife.hookimpl
    def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
        register(self)


def test_a_plugin_registered_while_the_engine_collects_plugins_is_collected(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: the engine took the manager's generation after collecting, so an
    enricher registered by another thread while it collected the channels was counted
    as seen and never collected: no event of any lead was enriched by it."""
    collecting, registered = threading.Event(), threading.Event()
    pause = [False]

    class Pauser:
        @leadlife.hookimpl
        def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
            if pause[0]:
                pause[0] = False
                collecting.set()
                registered.wait(5)

    class Listener:
        @leadlife.hookimpl
        def leadlife_notify(self) -> None:
            pass

    pm.register(Pauser(), name="pauser")
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view", event_id="e0"))
    pm.register(Listener(), name="listener")  # the next event collects again
    pause[0] = True
    worker = threading.Thread(target=engine.ingest, args=(ev("page_view", event_id="e1"),))
    worker.start()
    assert collecting.wait(5)
    pm.register(_Tagger(), name="tagger")
    registered.set()
    worker.join(5)
    assert not worker.is_alive()
    lead = engine.ingest(ev("page_view", event_id="e2"))
    assert [name for name, _ in engine.enrichers] == ["tagger"]
    assert lead.profile.get("tagged") == "yes"
