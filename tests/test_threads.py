"""One Engine shared by threads: writes are serialized by the engine, and an event sent
for a lead whose earlier event is still being applied is refused, not lost."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest

import leadlife
from leadlife import Event, Lead, Stage
from leadlife.errors import ReentrantIngestError
from tests.conftest import T0
from tests.helpers import days, ev, hours

FORM = {"phone": "+8613800138000", "asset_id": "p1", "company": "Acme"}


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter lets them: races show at once."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.usefixtures("busy_switching")
def test_threads_ingesting_into_one_lead_lose_no_event() -> None:
    """Regression: two threads ingesting events of one lead kept 4,250 of 6,000; the
    lost ones were logged, so a resend was a duplicate and they were lost for good."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    per_thread = 1_500

    def send(name: str) -> None:
        for i in range(per_thread):
            engine.ingest(ev("page_view", at=hours(i / 60), event_id=f"{name}-{i}"))

    def send_many(name: str) -> None:
        engine.ingest_many(
            ev("page_view", at=hours(i / 60), event_id=f"{name}-{i}") for i in range(per_thread)
        )

    threads = [
        threading.Thread(target=send, args=("a",)),
        threading.Thread(target=send, args=("b",)),
        threading.Thread(target=send_many, args=("c",)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lead = engine.get("u1")
    assert lead.event_count == 3 * per_thread
    assert lead.behaviour.total("page_view") == 3 * per_thread
    assert len(list(engine.storage.events("u1"))) == 3 * per_thread


def test_an_ingest_during_a_tick_of_the_same_lead_waits_for_it() -> None:
    """Regression: a web thread's event applied while a scheduler's tick had the lead
    in hand was logged, then overwritten by the tick's commit."""
    web: list[threading.Thread] = []

    class Pacer:
        """During the tick's rescore, lets the web thread try to ingest."""

        name = "pacer"

        def score(self, lead: Lead, now: datetime) -> float:
            if threading.current_thread().name == "scheduler" and not web:
                thread = threading.Thread(
                    target=engine.ingest, args=(ev("download", at=days(50), event_id="web-1"),)
                )
                web.append(thread)
                thread.start()
                time.sleep(0.2)  # long enough for the web thread to finish, unserialized
            return 0.0

        def explain(self, lead: Lead, now: datetime) -> leadlife.ScoreResult:
            return leadlife.ScoreResult("pacer", 0.0)

        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(self)

    engine = leadlife.Engine(plugins=[Pacer()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("download", event_id="e1"))
    scheduler = threading.Thread(target=engine.tick, args=(T0 + days(40),), name="scheduler")
    scheduler.start()
    scheduler.join()
    web[0].join()
    lead = engine.get("u1")
    assert [event.id for event in engine.storage.events("u1")] == ["e1", "web-1"]
    assert lead.event_count == 2
    assert lead.behaviour.total("download") == 2


def test_an_enrichment_hook_sending_an_event_of_its_lead_is_refused_and_recorded() -> None:
    """Regression: an enrichment hook that ingested a follow-up event of the same lead
    had it logged, then overwritten by the outer event's commit: lost, and a resend was
    a duplicate. It is refused before anything is stored, and can be sent later."""
    refused: list[BaseException] = []

    class Verify:
        @leadlife.hookimpl
        def leadlife_enrich_event(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
            if event.type == "form_submit":
                follow_up = ev("company_verified", event_id="cv-1", industry="media", **FORM)
                try:
                    engine.ingest(follow_up)
                except ReentrantIngestError as exc:
                    refused.append(exc)
                    raise
            return None

    engine = leadlife.Engine(plugins=[Verify()], clock=leadlife.FixedClock(T0))
    lead = engine.ingest(ev("form_submit", event_id="f1", **FORM))
    assert lead.stage is Stage.MQL
    (error,) = refused
    assert (error.lead_id, error.event_id) == ("u1", "cv-1")
    assert "return the fields" in str(error)
    (failure,) = engine.failures
    assert failure.hook == "leadlife_enrich_event"
    assert failure.event_id == "f1"
    assert [event.id for event in engine.storage.events("u1")] == ["f1"]
    again = engine.ingest(ev("company_verified", event_id="cv-1", industry="media", **FORM))
    assert again.stage is Stage.SQL
    assert again.event_count == 2


def test_hooks_after_the_commit_may_send_events_of_their_lead() -> None:
    """A stage hook runs after the commit: its events apply in turn, as if sent after."""

    class Verifier:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: leadlife.StageChange) -> None:
            if change.to_stage is Stage.MQL:
                engine.ingest(ev("company_verified", event_id="cv-1", industry="media", **FORM))

    engine = leadlife.Engine(plugins=[Verifier()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("form_submit", event_id="f1", **FORM))
    lead = engine.get("u1")
    assert lead.stage is Stage.SQL
    assert lead.event_count == 2
    assert not engine.failures


def test_a_stage_hook_may_hand_an_event_to_another_thread_and_wait() -> None:
    """Regression: stage hooks ran under the engine's lock, so one handing an ingest to
    a worker thread and waiting for it waited for ever."""

    class Handoff:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: leadlife.StageChange) -> None:
            if change.to_stage is Stage.MQL:
                follow_up = ev("company_verified", event_id="cv-1", industry="media", **FORM)
                worker = threading.Thread(target=engine.ingest, args=(follow_up,))
                worker.start()
                worker.join(timeout=10)
                assert not worker.is_alive(), "the worker waits on the engine's lock"

    engine = leadlife.Engine(plugins=[Handoff()], clock=leadlife.FixedClock(T0))
    done = threading.Thread(target=engine.ingest, args=(ev("form_submit", event_id="f1", **FORM),))
    done.start()
    done.join(timeout=20)
    assert not done.is_alive()
    assert engine.get("u1").stage is Stage.SQL
    assert not engine.failures


def test_a_tick_and_a_host_lock_do_not_deadlock() -> None:
    """Regression: a scheduler's tick held the engine's lock while its stage hook took
    the host's lock, as a web request holding the host's lock called ingest."""
    host_lock = threading.Lock()
    hook_waiting = threading.Event()

    class Sync:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: leadlife.StageChange) -> None:
            if threading.current_thread().name == "scheduler":
                hook_waiting.set()
                with host_lock:
                    pass

    engine = leadlife.Engine(plugins=[Sync()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("download", event_id="e1"))

    def web() -> None:
        with host_lock:
            hook_waiting.wait(timeout=5)
            engine.ingest(ev("page_view", lead="u2", event_id="w1"))

    threads = [
        threading.Thread(target=web, name="web"),
        threading.Thread(target=engine.tick, args=(T0 + days(40),), name="scheduler"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads)
    assert engine.get("u2").event_count == 1


def test_one_leads_stage_changes_reach_the_hooks_in_order_across_threads() -> None:
    """Regression: with fan-out outside the lock, a second thread's later event of the
    same lead notified its MQL->SQL before a slow hook let the first thread's
    COLD->MQL through."""
    seen: list[str] = []

    class Audit:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: leadlife.StageChange) -> None:
            seen.append(f"{change.from_stage.name}->{change.to_stage.name}")

    class SlowWebhook:  # pluggy calls it first: registered last
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: leadlife.StageChange) -> None:
            if change.to_stage is Stage.MQL:
                time.sleep(0.2)

    engine = leadlife.Engine(plugins=[Audit(), SlowWebhook()], clock=leadlife.FixedClock(T0))
    first = threading.Thread(target=engine.ingest, args=(ev("form_submit", event_id="f1", **FORM),))
    second = threading.Thread(
        target=engine.ingest,
        args=(ev("company_verified", event_id="cv1", industry="media", **FORM),),
    )
    first.start()
    time.sleep(0.05)
    second.start()
    first.join(timeout=10)
    second.join(timeout=10)
    assert engine.get("u1").stage is Stage.SQL
    assert seen == ["COLD->MQL", "MQL->SQL"]


@pytest.mark.usefixtures("busy_switching")
def test_reading_the_whole_log_while_events_are_stored() -> None:
    """Regression: the arrival of an event was listed before its row was stored, so
    a reader of events() in another thread got a KeyError or an IndexError."""
    from leadlife.plugins.default_storage import MemoryStorage

    storage = MemoryStorage()
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                for _ in storage.events():
                    pass
            except Exception as exc:  # the failure under test
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for number in range(20_000):
            event = Event(id=f"e{number}", lead_id=f"u{number % 50}", type="page_view", at=T0)
            storage.commit(Lead(event.lead_id), event, [])
            if errors:
                break
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert sum(1 for _ in storage.events()) == 20_000
