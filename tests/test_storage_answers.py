"""What the engine does with a storage plugin's odd answers: a lead other than the
one asked for, or no storage provider at all."""

from __future__ import annotations

from datetime import datetime

import pytest

import leadlife
from leadlife.errors import RegistrationError, StorageError
from leadlife.lead import Lead
from leadlife.plugins import get_plugin_manager
from leadlife.plugins.default_storage import MemoryStorage
from tests.conftest import T0
from tests.helpers import days, ev, hours


class _CaseBlindStorage(MemoryStorage):
    """Finds leads as a case-insensitive SQL collation does."""

    def get(self, lead_id: str) -> Lead | None:
        for stored_id in self._leads_by_folded_id():
            if stored_id.casefold() == lead_id.casefold():
                return super().get(stored_id)
        return None

    def _leads_by_folded_id(self) -> list[str]:
        return [lead.id for lead in self.leads()]


def _engine(storage: MemoryStorage) -> leadlife.Engine:
    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return storage

    return leadlife.Engine(plugins=[Provider()], clock=leadlife.FixedClock(T0))


def test_a_lead_with_another_id_from_storage_is_a_storage_error() -> None:
    """Regression: a storage whose get("U1") answered lead "u1" had the event applied
    to "u1", merging two leads; nothing said the storage answered the wrong lead."""
    storage = _CaseBlindStorage()
    engine = _engine(storage)
    engine.ingest(ev("page_view", lead="u1", event_id="e1"))
    before = engine.get("u1")
    with pytest.raises(StorageError, match=r"asked for lead 'U1', returned lead 'u1'") as caught:
        engine.ingest(ev("download", lead="U1", event_id="e2", at=hours(1), asset_id="a1"))
    assert caught.value.hook == "Storage.get"
    assert caught.value.event_id == "e2"
    after = engine.get("u1")
    assert after.history == before.history
    assert after.last_event_ts == before.last_event_ts
    assert not storage.has_event("e2")
    with pytest.raises(StorageError, match="returned lead 'u1'"):
        engine.get("U1")


def test_a_tick_skips_a_due_lead_the_storage_answers_wrongly() -> None:
    """The tick reports the due lead whose get answers another lead, and goes on."""

    class Swapping(MemoryStorage):
        swap = False

        def get(self, lead_id: str) -> Lead | None:
            if self.swap and lead_id == "u1":
                return super().get("u2")
            return super().get(lead_id)

        def due(self, now: datetime) -> list[str]:
            return list(super().due(now))

    storage = Swapping()
    engine = _engine(storage)
    engine.ingest(ev("page_view", lead="u1", event_id="e1"))
    engine.ingest(ev("page_view", lead="u2", event_id="e2"))
    before = engine.get("u1")
    storage.swap = True
    report = engine.tick(T0 + days(100))
    assert [error.lead_id for error in report.errors] == ["u1"]
    assert "returned lead 'u2'" in report.errors[0].reason
    assert isinstance(report.errors[0].error, StorageError)
    storage.swap = False
    unmoved = engine.get("u1")
    assert (unmoved.history, unmoved.next_check_ts) == (before.history, before.next_check_ts)
    again = engine.tick(T0 + days(100))  # still due, and ticked once the storage answers
    assert again.errors == ()
    assert engine.get("u1").next_check_ts != before.next_check_ts


def test_no_storage_provider_names_the_cause_and_the_fix() -> None:
    """Regression: with the built-in storage unregistered and no other provider, the
    error read "plugin '?' in leadlife_storage: returned None", naming no plugin and
    no fix."""
    pm = get_plugin_manager(load_entrypoints=False)
    pm.unregister(name="leadlife.default_storage")
    with pytest.raises(RegistrationError, match="no plugin implements the hook") as caught:
        leadlife.Engine(plugin_manager=pm)
    assert caught.value.hook == "leadlife_storage"
    assert "'?'" not in str(caught.value)
    assert "leadlife.default_storage" in str(caught.value)

    class Declining:
        @leadlife.hookimpl
        def leadlife_storage(self) -> None:
            return None

    pm.register(Declining(), name="declining")
    with pytest.raises(RegistrationError, match="'declining' returned None") as caught:
        leadlife.Engine(plugin_manager=pm)
    assert caught.value.plugin == "declining"
