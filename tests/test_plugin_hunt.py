"""What a plugin author or host runs into at the edges of the plugin layer: hook
arguments that would never be passed, installed plugins that would do nothing,
and plugins registered without a name."""

from __future__ import annotations

import types
from typing import Any

import pytest

import leadlife
from leadlife import Lead, StageChange
from leadlife.errors import RegistrationError
from leadlife.plugins import LeadlifePluginManager, get_plugin_manager
from tests.conftest import T0
from tests.helpers import ev

# Plugin failures are logged as warnings; these tests read them from the engine.
pytestmark = pytest.mark.usefixtures("quiet_engine_log")


# -- hook arguments that would never be passed -------------------------------------


class MisspeltWithDefault:
    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: Lead, chnage: StageChange | None = None) -> None: ...


class DefaultOnARealArgument:
    @leadlife.hookimpl
    def leadlife_enrich_event(self, event: Any, lead: Lead | None = None) -> None: ...


class TakesKeywords:
    @leadlife.hookimpl
    def leadlife_stage_changed(self, **arguments: Any) -> None: ...


class TakesStarArgs:
    @leadlife.hookimpl
    def leadlife_notify(self, *arguments: Any) -> None: ...


class KeywordOnly:
    @leadlife.hookimpl
    def leadlife_stage_changed(self, *, lead: Lead, change: StageChange) -> None: ...


@pytest.mark.parametrize(
    ("plugin", "hook", "named"),
    [
        (MisspeltWithDefault(), "leadlife_stage_changed", "chnage"),
        (DefaultOnARealArgument(), "leadlife_enrich_event", "lead"),
        (TakesKeywords(), "leadlife_stage_changed", "arguments"),
        (TakesStarArgs(), "leadlife_notify", "arguments"),
        (KeywordOnly(), "leadlife_stage_changed", "lead"),
    ],
    ids=["misspelt-default", "default", "kwargs", "args", "keyword-only"],
)
def test_a_hook_argument_the_engine_never_passes_is_refused_at_registration(
    pm: LeadlifePluginManager, plugin: object, hook: str, named: str
) -> None:
    """Regression: an argument with a default, ``*args``/``**kwargs`` or a keyword-only
    argument passed pluggy's validation, and then was never filled: a misspelt
    ``chnage=None`` stayed None on every call, without a word."""
    with pytest.raises(RegistrationError) as caught:
        pm.register(plugin, name="author")
    assert (caught.value.plugin, caught.value.hook) == ("author", hook)
    assert f"'{named}'" in caught.value.problem or f"*{named}'" in caught.value.problem
    assert "Fix:" in caught.value.problem
    assert pm.get_plugin("author") is None  # the manager is as it was
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    assert engine.ingest(ev("offline_event_attended")).stage is leadlife.Stage.HOT


def test_a_hook_taking_a_subset_of_its_arguments_is_still_accepted(
    pm: LeadlifePluginManager,
) -> None:
    """Taking fewer arguments than the hook has, positionally, stays allowed."""

    class Subset:
        def __init__(self) -> None:
            self.seen: list[StageChange] = []

        @leadlife.hookimpl
        def leadlife_stage_changed(self, change: StageChange, /) -> None:
            self.seen.append(change)

    plugin = Subset()
    pm.register(plugin, name="subset")
    try:
        engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
        engine.ingest(ev("offline_event_attended"))
        assert [change.to_stage for change in plugin.seen] == [leadlife.Stage.HOT]
    finally:
        pm.unregister(plugin)


# -- hook functions that are not marked ----------------------------------------------


class HalfMarked:
    """One hook marked, the other forgotten."""

    @leadlife.hookimpl
    def leadlife_notify(self, notice: Any) -> None: ...

    def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None: ...


def test_a_hook_function_without_the_marker_is_refused_at_registration(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: a method named after a leadlife hook but not marked with
    ``@leadlife.hookimpl`` was left out by pluggy without a word: its plugin
    registered, and the hook was never called."""
    with pytest.raises(RegistrationError) as caught:
        pm.register(HalfMarked(), name="half")
    assert (caught.value.plugin, caught.value.hook) == ("half", "leadlife_stage_changed")
    assert "@leadlife.hookimpl" in caught.value.problem
    assert pm.get_plugin("half") is None
    with pytest.raises(RegistrationError, match="leadlife_stage_changed"):
        leadlife.Engine(plugins=[HalfMarked()])


def test_a_hook_function_marked_for_another_project_is_refused(
    pm: LeadlifePluginManager,
) -> None:
    """A leadlife hook marked with another project's marker is never called either."""
    import pluggy

    other = pluggy.HookimplMarker("other")

    class Elsewhere:
        @leadlife.hookimpl
        def leadlife_notify(self, notice: Any) -> None: ...

        @other
        def leadlife_stage_changed(self, change: StageChange) -> None: ...

    with pytest.raises(RegistrationError, match=r"@leadlife\.hookimpl"):
        pm.register(Elsewhere(), name="elsewhere")


def test_a_module_importing_a_built_in_hook_implementation_still_registers(
    pm: LeadlifePluginManager,
) -> None:
    """Attributes that are marked implementations, or not functions, are left alone."""
    import types

    from leadlife.plugins import default_storage

    module = types.ModuleType("host_plugin")
    module.leadlife_storage = default_storage.leadlife_storage  # type: ignore[attr-defined]
    module.leadlife_rulebook = None  # type: ignore[attr-defined]
    pm.register(module, name="host")
    pm.unregister(module)


# -- installed plugins that would do nothing ------------------------------------------


class _EntryPoint:
    def __init__(self, name: str, obj: object) -> None:
        self.name = name
        self.value = f"leadlife_{name}"
        self.obj = obj

    def load(self) -> object:
        return self.obj


@pytest.mark.parametrize(
    "loaded",
    [types.ModuleType("leadlife_registry"), None],
    ids=["a-module-without-hooks", "none"],
)
def test_an_installed_plugin_that_implements_no_hook_is_named(
    monkeypatch: pytest.MonkeyPatch, loaded: object
) -> None:
    """Regression: an entry point naming a package whose hooks live in a submodule (or
    an object that is None) loaded without a word and did nothing: a storage
    plugin's leads went to the in-memory storage."""
    from importlib import metadata

    from leadlife.plugins import get_plugin_manager

    point = _EntryPoint("registry", loaded)
    monkeypatch.setattr(
        metadata, "entry_points", lambda group: [point] if group == "leadlife" else []
    )
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    with pytest.raises(RegistrationError) as caught:
        get_plugin_manager()
    assert caught.value.plugin == "registry"
    assert "'leadlife_registry'" in caught.value.hook
    assert "implements no hook" in caught.value.problem
    assert "LEADLIFE_PLUGINS" in caught.value.problem
    monkeypatch.setenv("LEADLIFE_PLUGINS", "")
    assert get_plugin_manager().get_plugin("registry") is None


# -- plugins registered without a name -------------------------------------------------


class Exploding:
    @leadlife.hookimpl
    def leadlife_enrich_event(self, event: Any, lead: Lead) -> None:
        raise RuntimeError("enrichment service down")


def test_a_plugin_registered_without_a_name_is_named_after_its_class() -> None:
    """Regression: ``pm.register(plugin)`` named the plugin ``str(id(plugin))``, so its
    failures were recorded under a number that changed on every run."""
    pm = get_plugin_manager(load_entrypoints=False)
    first, second = Exploding(), Exploding()
    assert pm.register(first) == "Exploding"
    assert pm.register(second) == "Exploding#2"
    assert pm.get_name(second) == "Exploding#2"
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    report = engine.ingest_many([ev("page_view")])
    assert report.accepted == 1
    assert sorted(failure.plugin for failure in report.failures) == ["Exploding", "Exploding#2"]
    pm.unregister(first)
    assert pm.register(Exploding()) == "Exploding"  # the freed name is used again
    assert pm.register(types.ModuleType("company_enricher")) == "company_enricher"


def test_a_blocked_class_name_still_blocks_its_unnamed_objects() -> None:
    pm = get_plugin_manager(load_entrypoints=False)
    pm.set_blocked("Exploding")
    assert pm.register(Exploding()) is None
    assert not any(isinstance(plugin, Exploding) for plugin in pm.get_plugins())
