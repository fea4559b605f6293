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
from tests.helpers import days, ev

FORM = {"phone": "+8613800138000", "asset_id": "p1", "company": "Acme"}


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


class _PausingList(list[Any]):
    """A hook's implementations; the first copy the given thread takes of them waits,
    once it is taken, until ``resume`` is set."""

    def __init__(self, items: list[Any], thread_name: str) -> None:
        super().__init__(items)
        self.thread_name = thread_name
        self.copied, self.resume = threading.Event(), threading.Event()

    def copy(self) -> list[Any]:
        taken = list(self)
        if threading.current_thread().name == self.thread_name and not self.copied.is_set():
            self.copied.set()
            self.resume.wait(5)
        return taken


def test_a_stage_hook_registered_while_a_fan_out_reads_the_hooks_is_called_later(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: the manager's list of a hook's implementations was read by the
    delivering thread, the cache cleared by a registration in another thread, then
    the list read before it stored: the new plugin's stage hook was never called."""
    seen: list[str] = []

    class Audit:
        def __init__(self, name: str) -> None:
            self.name = name

        @leadlife.hookimpl
        def leadlife_stage_changed(self, change: leadlife.StageChange) -> None:
            seen.append(f"{self.name}:{change.to_stage.name}")

    pm.register(Audit("first"), name="first")
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    caller = pm.hook.leadlife_stage_changed
    pausing = _PausingList(caller._hookimpls, "worker")
    caller._hookimpls = pausing
    worker = threading.Thread(
        target=engine.ingest, args=(ev("form_submit", event_id="f1", **FORM),), name="worker"
    )
    worker.start()
    assert pausing.copied.wait(5)
    pm.register(Audit("late"), name="late")
    pausing.resume.set()
    worker.join(5)
    assert not worker.is_alive()
    engine.ingest(ev("company_verified", event_id="cv1", industry="media", **FORM))
    # Registered before the second event: its stage change reaches both (the first
    # one's reaches the new plugin too when registered before its hooks were called).
    assert [call for call in seen if call.endswith(":SQL")] == ["late:SQL", "first:SQL"]


def test_a_stage_hook_registered_as_a_fan_out_starts_gets_a_fork_of_its_own(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: the fan-out counted a hook's implementations, then called them from
    a second read of the list; a plugin another thread registered in between made two
    plugins share one fork, so what the new one changed in it the next one read."""
    seen: list[tuple[str, Any]] = []

    class First:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead) -> None:
            seen.append(("first", lead.profile.get("company")))

    class Meddler:  # called first: registered last
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead) -> None:
            seen.append(("meddler", lead.profile.get("company")))
            lead.profile["company"] = "meddled"

    pm.register(First(), name="first")
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    caller = pm.hook.leadlife_stage_changed
    pausing = _PausingList(caller._hookimpls, "worker")
    caller._hookimpls = pausing
    worker = threading.Thread(
        target=engine.ingest, args=(ev("form_submit", event_id="f1", **FORM),), name="worker"
    )
    worker.start()
    assert pausing.copied.wait(5)
    pm.register(Meddler(), name="meddler")
    pausing.resume.set()
    worker.join(5)
    assert not worker.is_alive()
    assert ("first", "meddled") not in seen
    assert ("first", "Acme") in seen
    assert engine.get("u1").profile["company"] == "Acme"


def test_an_event_an_enrichment_hook_sends_for_another_lead_is_fanned_out_outside_the_lock(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: an enrichment hook sending an event of another lead (an account's
    contact) had that event fanned out at once, inside the outer event's pipeline and
    under the engine's lock: its stage hook handing an event to a worker thread and
    waiting for it waited for ever. It is fanned out once the outer event is stored."""
    order: list[str] = []

    class Account:
        @leadlife.hookimpl
        def leadlife_enrich_event(self, event: Event) -> None:
            if event.lead_id == "x":
                engine.ingest(ev("form_submit", lead="y", event_id="y1", **FORM))

    class Handoff:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: leadlife.StageChange) -> None:
            order.append(f"{lead.id}:{change.to_stage.name}")
            if lead.id == "y":
                worker = threading.Thread(
                    target=engine.ingest, args=(ev("page_view", lead="z", event_id="z1"),)
                )
                worker.start()
                worker.join(5)
                assert not worker.is_alive(), "the worker waits on the engine's lock"

    pm.register(Account(), name="account")
    pm.register(Handoff(), name="handoff")
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view", lead="x", event_id="x1"))
    assert not engine.failures
    assert order == ["y:MQL"]
    assert [event.id for event in engine.storage.events()] == ["y1", "x1", "z1"]


def test_a_lead_an_event_caught_up_during_a_tick_is_left_as_that_event_left_it() -> None:
    """Regression: a tick went on to every lead it had listed as due, even one whose
    due rules an event from another thread had applied meanwhile: that lead was
    rescored as of the tick's moment, which no tick after the event does."""
    late = ev("download", at=days(39), lead="b", event_id="b-late")
    hand_off = [False]

    class Handoff:
        """At lead a's cooling, has a worker thread send b's event, and waits for it."""

        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead) -> None:
            if hand_off[0] and lead.id == "a":
                hand_off[0] = False
                worker = threading.Thread(target=engine.ingest, args=(late,))
                worker.start()
                worker.join(5)

    def engine_with_leads(plugins: list[object]) -> leadlife.Engine:
        built = leadlife.Engine(plugins=plugins, clock=leadlife.FixedClock(T0))
        for lead in "ab":
            for day in range(3):
                built.ingest(ev("download", at=days(day), lead=lead, event_id=f"{lead}{day}"))
        return built

    engine = engine_with_leads([Handoff()])
    hand_off[0] = True
    report = engine.tick(T0 + days(40))  # both due: a ticks first, b's event comes
    serial = engine_with_leads([])
    serial.ingest(late)
    serial_report = serial.tick(T0 + days(40))
    assert report.stage_changes == serial_report.stage_changes
    lead, expected = engine.get("b"), serial.get("b")
    assert lead.scored_at == expected.scored_at == T0 + days(39)
    assert lead.same_state(expected)


def test_the_failure_log_can_be_read_while_another_thread_records_failures() -> None:
    """Regression: engine.failures was a plain deque, and a host thread going through
    it (a health page) while an event's plugin failed got Python's RuntimeError
    (deque mutated during iteration)."""

    class Registry:
        @leadlife.hookimpl
        def leadlife_enrich_event(self) -> None:
            raise ConnectionError("registry timed out")

    engine = leadlife.Engine(plugins=[Registry()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view", event_id="e1"))
    reading, recorded = threading.Event(), threading.Event()
    read: list[str | None] = []
    errors: list[BaseException] = []

    def health_page() -> None:
        try:
            for failure in engine.failures:
                read.append(failure.event_id)
                reading.set()
                recorded.wait(5)
        except Exception as exc:  # the failure under test
            errors.append(exc)

    reader = threading.Thread(target=health_page)
    reader.start()
    assert reading.wait(5)
    engine.ingest(ev("page_view", event_id="e2"))
    recorded.set()
    reader.join(5)
    assert errors == []
    assert read == ["e1"]  # what the log held when the reading began
    assert [failure.event_id for failure in engine.failures] == ["e1", "e2"]
