"""What a plugin package written from the plugin docs runs into: registration while
the engine runs, hooks that cannot run, and the errors registration raises."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import leadlife
from leadlife import Event, Lead, Notice, Stage, StageChange
from leadlife.errors import RegistrationError
from leadlife.plugins import LeadlifePluginManager
from tests.conftest import T0

# Plugin failures are logged as warnings; these tests read them from the engine.
pytestmark = pytest.mark.usefixtures("quiet_engine_log")


def _event(event_id: str, kind: str = "offline_event_attended", lead: str = "u1") -> dict[str, Any]:
    return {"id": event_id, "lead_id": lead, "type": kind, "at": T0}


class Vandal:
    """A stage hook from outside leadlife that changes the lead it is handed."""

    def __init__(self) -> None:
        self.calls = 0

    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
        self.calls += 1
        lead.profile["vandal"] = True
        lead.stage = Stage.WON


class RegisteringEnricher:
    """Registers another plugin the first time it runs (a lazily set-up package)."""

    name = "lazy"

    def __init__(self, pm: LeadlifePluginManager, plugin: object) -> None:
        self.pm = pm
        self.plugin = plugin
        self.done = False

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        if not self.done:
            self.done = True
            self.pm.register(self.plugin, name="late")
        return None

    @leadlife.hookimpl
    def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
        register(self)


def test_a_stage_hook_registered_during_an_event_cannot_change_the_stored_lead(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: the engine decided at its last plugin collection that no fan-out
    hook came from outside leadlife, so one registered since (here by an enricher of
    the event, as another thread could) was handed the stored lead itself: its
    changes reached the store without a commit (a WON lead with no history)."""
    vandal = Vandal()
    pm.register(RegisteringEnricher(pm, vandal), name="lazy")
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))

    lead = engine.ingest(_event("e1"))

    stored = engine.get("u1")
    assert (stored.stage, lead.stage) == (Stage.HOT, Stage.HOT)
    assert "vandal" not in stored.profile
    assert "vandal" not in lead.profile
    assert stored.history[-1].to_stage is Stage.HOT


class AsyncWebhook:
    """A notification plugin written with async def, as webhook clients often are."""

    def __init__(self) -> None:
        self.posted: list[str] = []

    @leadlife.hookimpl
    async def leadlife_stage_changed(self, change: StageChange) -> None:
        self.posted.append(change.to_stage.value)


def test_an_async_hook_implementation_is_refused_when_registered(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: leadlife calls hooks and never awaits what they return, so an
    ``async def`` implementation never ran: every stage change it was meant to push
    was lost, with no failure recorded (only a "never awaited" RuntimeWarning)."""
    webhook = AsyncWebhook()
    with pytest.raises(RegistrationError, match="async def") as info:
        pm.register(webhook, name="webhook")
    assert (info.value.plugin, info.value.hook) == ("webhook", "leadlife_stage_changed")
    assert "Fix:" in str(info.value)
    assert not pm.is_registered(webhook)  # the manager is as it was
    with pytest.raises(RegistrationError, match="async def"):
        leadlife.Engine(plugins=[webhook], clock=leadlife.FixedClock(T0))


class AsyncChannel:
    name = "slack"

    async def send(self, notice: Notice, lead: Lead) -> None:
        raise AssertionError("never awaited, never run")


class AsyncChannels:
    @leadlife.hookimpl
    def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
        register(AsyncChannel())


def test_a_channel_whose_send_is_async_is_refused_when_collected() -> None:
    """Regression: a channel's ``async def send`` was called and its coroutine
    dropped, so no notice was ever delivered and no failure recorded."""
    with pytest.raises(RegistrationError, match="async def") as info:
        leadlife.Engine(plugins=[AsyncChannels()], clock=leadlife.FixedClock(T0))
    assert info.value.hook == "leadlife_register_channels"
    assert "'slack'" in str(info.value)


class Greeter:
    @leadlife.hookimpl
    def leadlife_stage_changed(self, change: StageChange) -> None:
        pass


def test_registering_a_taken_name_or_the_same_plugin_twice_raises_registration_error(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: the plugin manager leadlife documents for naming plugins let
    pluggy's bare ValueError through, its message a dump of every registered plugin,
    naming no fix."""
    first = Greeter()
    pm.register(first, name="greeter")
    with pytest.raises(RegistrationError, match="'greeter' is taken") as taken:
        pm.register(Greeter(), name="greeter")
    assert taken.value.plugin == "greeter"
    assert "Fix:" in str(taken.value)
    assert "leadlife.default_storage" not in str(taken.value)
    with pytest.raises(RegistrationError, match="registered already, as 'greeter'") as again:
        pm.register(first, name="hello")
    assert "Fix:" in str(again.value)
    with pytest.raises(ValueError, match="registered already"):  # as pluggy raised it
        pm.register(first)
    assert [name for name, plugin in pm.list_name_plugin() if plugin is first] == ["greeter"]


@dataclasses.dataclass
class Webhook:
    """A dataclass plugin: two of them with the same fields compare equal."""

    url: str = "https://hooks.example.com/leads"
    posted: list[Stage] = dataclasses.field(default_factory=list)

    @leadlife.hookimpl
    def leadlife_stage_changed(self, change: StageChange) -> None:
        self.posted.append(change.to_stage)


def test_a_plugin_equal_to_a_registered_one_is_refused_saying_why(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: pluggy tells plugins apart by ``==``, so a second dataclass plugin
    equal to a registered one was refused as registered already (the engine said
    "pass each plugin object once", though it was another object), and
    ``unregister`` of an equal, unregistered one removed the registered one's name
    but left its hooks running."""
    first, second = Webhook(), Webhook()
    with pytest.raises(RegistrationError, match="compares equal") as info:
        leadlife.Engine(plugin_manager=pm, plugins=[first, second], clock=leadlife.FixedClock(T0))
    assert "eq=False" in str(info.value)
    assert not pm.is_registered(first)  # a refused engine leaves the manager as it was

    pm.register(first, name="webhook")
    stranger = Webhook()  # equal to it, never registered
    assert not pm.is_registered(stranger)
    assert pm.get_name(stranger) is None
    with pytest.raises(AssertionError):  # pluggy's answer for an unregistered plugin
        pm.unregister(stranger)
    assert pm.get_name(first) == "webhook"
    leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0)).ingest(_event("e1"))
    assert first.posted == [Stage.HOT]
    pm.unregister(first)
    assert not pm.is_registered(first)


class NumberedFields:
    """An enricher whose lookup table is keyed by column number, not name."""

    name = "numbered"

    def enrich(self, event: Event, lead: Lead) -> Mapping[Any, Any] | None:
        return {"industry": "retail", 7: "Acme", None: "x"}

    @leadlife.hookimpl
    def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
        register(self)


def test_an_enrichment_key_that_is_not_text_is_named_in_the_failure() -> None:
    """Regression: a dict with a number among its keys was recorded as "returned
    dict; expected a mapping of profile fields", though a dict is a mapping: the
    failure named neither the key at fault nor the fix."""
    engine = leadlife.Engine(plugins=[NumberedFields()], clock=leadlife.FixedClock(T0))
    lead = engine.ingest(_event("e1", "page_view"))
    assert "industry" not in lead.profile  # the result is skipped whole
    (failure,) = engine.failures
    assert failure.hook == "enricher numbered"
    assert "7" in failure.error
    assert "key" in failure.error
    assert "returned dict; expected a mapping" not in failure.error


class StaticNotifier:
    """A plugin class of static hooks (registered as the class) with a misspelt hook."""

    @staticmethod
    @leadlife.hookimpl
    def leadlife_notifiy(notice: Notice) -> None:
        pass


def test_a_class_entry_point_refused_for_another_reason_is_not_told_to_use_an_instance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: every refusal of an installed plugin that is a class was reported
    as "names a class whose hooks need an instance", though a class of static hooks
    needs none: the package's author was sent to fix what was not wrong, while the
    misspelt hook went unnamed as the fault."""
    from importlib import metadata

    class FakeEntryPoint:
        name = "notifier"
        value = "leadlife_notifier:StaticNotifier"

        def load(self) -> object:
            return StaticNotifier

    monkeypatch.setattr(
        metadata, "entry_points", lambda group: [FakeEntryPoint()] if group == "leadlife" else []
    )
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    with pytest.raises(RegistrationError, match="leadlife_notify") as caught:
        leadlife.get_plugin_manager()
    assert "need an instance" not in str(caught.value)
    assert caught.value.plugin == "notifier"


def test_none_among_the_engines_plugins_is_refused(pm: LeadlifePluginManager) -> None:
    """Regression: pluggy ignores a None plugin, so ``Engine(plugins=[factory()])``
    with a factory that returned None built an engine without the plugin, without
    a word (a storage plugin's leads went to the in-memory storage); and when the
    engine was refused for another reason, undoing the registrations failed on the
    None with a bare AssertionError that hid the real error."""
    names = sorted(name for name, _ in pm.list_name_plugin())
    greeter = Greeter()
    with pytest.raises(RegistrationError, match="None implements no hook"):
        leadlife.Engine(plugin_manager=pm, plugins=[greeter, None])
    assert sorted(name for name, _ in pm.list_name_plugin()) == names
    with pytest.raises(RegistrationError, match="None implements no hook"):
        leadlife.Engine(plugin_manager=pm, plugins=[None], rulebook={"bands": 5})
    assert sorted(name for name, _ in pm.list_name_plugin()) == names
