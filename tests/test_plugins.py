"""The plugin contract: every hook is exercised here, and failing plugins lose nothing.

Each hook has a ``test_hook_<name>`` test; ``test_every_hook_has_a_test`` enforces it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pluggy
import pytest

import leadlife
from leadlife import Stage
from leadlife.errors import RegistrationError, RulebookError, StorageError
from leadlife.events import Event
from leadlife.lead import Lead, StageChange
from leadlife.notices import Notice
from leadlife.plugins import LeadlifePluginManager, get_plugin_manager, hookimpl
from leadlife.plugins.default_storage import MemoryStorage
from leadlife.scoring import ScoreResult
from tests.conftest import T0
from tests.helpers import Inbox, days, ev, hours

PHONE = "+8613800138000"


def test_every_hook_has_a_test() -> None:
    """Each leadlife_* hook has a test_hook_<name> test in this module."""
    hooks = [name for name in vars(get_plugin_manager().hook) if name.startswith("leadlife_")]
    assert len(hooks) >= 9
    missing = [h for h in hooks if not hasattr(sys.modules[__name__], f"test_hook_{h}")]
    assert missing == []


def test_builtins_are_registered_like_plugins(pm: LeadlifePluginManager) -> None:
    """The in-memory storage, default rulebook and points scorer are ordinary plugins."""
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert {
        "leadlife.default_storage",
        "leadlife.default_rulebook",
        "leadlife.default_scorer",
    } <= names


def test_entry_points_are_loaded_and_allow_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins installed under the 'leadlife' entry-point group load unless allow-listed out."""
    from importlib import metadata

    class FakeEntryPoint:
        name = "leadlife-fake"

        def load(self) -> object:
            return Inbox()  # a plugin implementing a hook

    def entry_points(group: str) -> list[FakeEntryPoint]:
        return [FakeEntryPoint()] if group == "leadlife" else []

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    assert get_plugin_manager().get_plugin("leadlife-fake") is not None
    monkeypatch.setenv("LEADLIFE_PLUGINS", "")
    assert get_plugin_manager().get_plugin("leadlife-fake") is None
    monkeypatch.setenv("LEADLIFE_PLUGINS", " leadlife-fake ,")
    assert get_plugin_manager().get_plugin("leadlife-fake") is not None


def test_an_allow_listed_plugin_that_is_not_installed_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: a misspelt LEADLIFE_PLUGINS entry left its plugin out without a word;
    for a storage plugin, the host's leads went to the in-memory storage."""
    from importlib import metadata

    class FakeEntryPoint:
        name = "crm-sync"

        def load(self) -> object:
            return sys.modules[__name__]

    monkeypatch.setattr(
        metadata, "entry_points", lambda group: [FakeEntryPoint()] if group == "leadlife" else []
    )
    monkeypatch.setenv("LEADLIFE_PLUGINS", "crm_sync")
    with pytest.raises(RegistrationError, match=r"installed: crm-sync") as caught:
        get_plugin_manager()
    assert caught.value.plugin == "crm_sync"
    assert caught.value.hook == "LEADLIFE_PLUGINS"


def test_an_installed_plugin_that_cannot_be_imported_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: a broken installed plugin failed every Engine() with a raw traceback
    that named neither the plugin nor a way out."""
    from importlib import metadata

    class BrokenEntryPoint:
        name = "leadlife-broken"
        value = "leadlife_broken:plugin"

        def load(self) -> object:
            raise ModuleNotFoundError("No module named 'requests'")

    monkeypatch.setattr(
        metadata, "entry_points", lambda group: [BrokenEntryPoint()] if group == "leadlife" else []
    )
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    with pytest.raises(RegistrationError, match=r"'leadlife-broken'.*No module named") as caught:
        get_plugin_manager()
    assert "LEADLIFE_PLUGINS" in str(caught.value)
    monkeypatch.setenv("LEADLIFE_PLUGINS", "")
    assert get_plugin_manager().get_plugin("leadlife-broken") is None


# -- providers -----------------------------------------------------------------------


def test_hook_leadlife_storage(pm: LeadlifePluginManager) -> None:
    """A plugin's storage wins over the built-in in-memory one."""
    mine = MemoryStorage()

    class Plugin:
        @hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return mine

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    assert engine.storage is mine
    engine.ingest(ev("page_view"))
    assert len(mine) == 1


def test_memory_storage_event_ids_leave_the_garbage_collector() -> None:
    """The index of seen event ids (one entry per event ever stored) is not something
    the cyclic gc visits on every full collection, and still answers duplicates."""
    import gc

    engine = leadlife.Engine()
    for n in range(50):
        engine.ingest(ev("page_view", hours(n), event_id=f"e{n}"))
    gc.collect()
    storage = engine.storage
    assert isinstance(storage, MemoryStorage)
    assert not gc.is_tracked(storage._event_ids)
    assert storage.has_event("e7")
    assert not storage.has_event("e50")
    assert engine.ingest_many([ev("page_view", hours(7), event_id="e7")]).duplicates == 1


def test_storage_that_is_not_storage_is_refused(pm: LeadlifePluginManager) -> None:
    """A storage hook returning the wrong kind of object fails at engine construction."""

    class Plugin:
        @hookimpl
        def leadlife_storage(self) -> object:
            return {"not": "storage"}

    with pytest.raises(RegistrationError, match="not a Storage"):
        leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)


def test_hook_leadlife_rulebook(pm: LeadlifePluginManager) -> None:
    """A plugin may supply the rulebook; an explicit Engine(rulebook=...) still wins."""

    class Plugin:
        @hookimpl
        def leadlife_rulebook(self) -> dict[str, Any]:
            return {"extends": "default", "bands": {"warm": 1, "hot": 2}}

    pm.register(Plugin())
    assert leadlife.Engine(plugin_manager=pm).rulebook.model.bands.warm == 1
    explicit = leadlife.Engine({"extends": "default"}, plugin_manager=pm)
    assert explicit.rulebook.model.bands.warm == 10


# -- registration ----------------------------------------------------------------------


class DoubleScorer:
    name = "double"

    def score(self, lead: Lead, now: datetime) -> float:
        return 2.0 * lead.event_count

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        return ScoreResult(self.name, self.score(lead, now))


def test_hook_leadlife_register_scorers(pm: LeadlifePluginManager) -> None:
    """A registered scorer runs on every event and can drive the bands."""

    class Plugin:
        @hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(DoubleScorer())

    engine = leadlife.Engine(
        {"extends": "default", "bands": {"scorer": "double", "warm": 4, "hot": 100}},
        plugins=[Plugin()],
        plugin_manager=pm,
    )
    engine.ingest(ev("page_view"))
    lead = engine.ingest(ev("page_view", hours(1)))
    assert (lead.scores["points"], lead.scores["double"]) == (2.0, 4.0)
    assert (lead.score, lead.stage) == (4.0, Stage.WARM)
    assert engine.explain("u1").scorer == "double"


def test_scorer_window_days_keeps_longer_day_buckets(pm: LeadlifePluginManager) -> None:
    """A scorer declaring window_days=365 gets day counts the rulebook alone would drop."""

    class YearScorer(DoubleScorer):
        name = "year"
        window_days = 365

    class Plugin:
        @hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(YearScorer())

    plain = leadlife.Engine(plugin_manager=pm)
    assert plain.rulebook.retention_days < 300
    with_year = leadlife.Engine(plugins=[Plugin()], plugin_manager=get_plugin_manager())
    for engine in (plain, with_year):
        for n in range(400):
            engine.ingest(ev("page_view", days(n)))
    now = T0 + days(400)
    counts = [
        engine.get("u1").behaviour.count("page_view", 365, now) for engine in (plain, with_year)
    ]
    # One event a day on days 0..399: days 36..399 lie in the 365 days ending on day 400.
    assert counts[1] == 364
    assert counts[0] < 364


def test_band_scorer_must_be_registered(pm: LeadlifePluginManager) -> None:
    """Naming an unregistered scorer in bands.scorer fails with the registered names."""
    with pytest.raises(RulebookError, match=r"registered: points") as info:
        leadlife.Engine({"extends": "default", "bands": {"scorer": "ml"}}, plugin_manager=pm)
    assert info.value.path == "bands.scorer"


def test_duplicate_scorer_names_are_refused(pm: LeadlifePluginManager) -> None:
    """Two scorers with one name is a registration error naming both plugins."""

    class Plugin:
        @hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(DoubleScorer())
            register(DoubleScorer())

    with pytest.raises(RegistrationError, match="'double' is already registered"):
        leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)


def test_registering_a_non_scorer_is_refused(pm: LeadlifePluginManager) -> None:
    """Registering an object without the protocol's methods fails, naming the plugin."""

    class Plugin:
        @hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(object())

    with pytest.raises(RegistrationError, match="Scorer protocol") as info:
        leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    assert info.value.hook == "leadlife_register_scorers"


class Registry:
    name = "registry"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        self.seen.append(event.id)
        company = event.data.get("company")
        if company == "Acme":
            return {"industry": "media", "company_verified": True}
        return None


def test_hook_leadlife_register_enrichers(pm: LeadlifePluginManager) -> None:
    """An enricher's fields land in the profile before the stage rules run."""
    registry = Registry()

    class Plugin:
        @hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(registry)

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    lead = engine.ingest(ev("form_submit", phone=PHONE, asset_id="p", company="Acme"))
    assert lead.profile["industry"] == "media"
    assert lead.stage is Stage.SQL
    assert len(registry.seen) == 1


class EarliestSource:
    """Keeps the source of the lead's earliest event; orders by event time itself."""

    name = "earliest-source"

    def __init__(self, applies_late: bool):
        self.applies_late = applies_late

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        first = lead.first_seen_ts
        if first is None or event.at.timestamp() < first:
            return {"earliest_source": event.source}
        return None


@pytest.mark.parametrize("applies_late", [True, False])
def test_enricher_applies_late_fields_from_late_events(
    pm: LeadlifePluginManager, applies_late: bool
) -> None:
    """With applies_late a late event's fields overwrite; without, late events only fill gaps."""

    class Plugin:
        @hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(EarliestSource(applies_late))

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    engine.ingest({**ev("page_view", hours(5)), "source": "newsletter"})
    lead = engine.ingest({**ev("page_view", hours(1)), "source": "trade-show"})  # late
    expected = "trade-show" if applies_late else "newsletter"
    assert lead.profile["earliest_source"] == expected


class VerifiedCompany:
    """Verifies data.company as one fact: its registered name, industry and flag."""

    name = "verified-company"

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        if str(event.data.get("company", "")).lower() != "acme":
            return None
        return {"company": "Acme Ltd", "industry": "media", "company_verified": True}


def test_a_late_events_enrichment_is_not_mixed_with_newer_facts(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: a late event's verified company filled the missing industry and flag
    of a lead whose newer form named another, unknown company: it became an SQL for
    a company it never verified."""

    class Plugin:
        @hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(VerifiedCompany())

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    form = {"phone": PHONE, "asset_id": "p"}
    engine.ingest(ev("form_submit", hours(2), **form, company="Nobody Startup"))
    lead = engine.ingest(ev("form_submit", hours(1), **form, company="acme"))  # late
    assert lead.profile["company"] == "Nobody Startup"
    assert "company_verified" not in lead.profile
    assert "industry" not in lead.profile
    assert lead.stage is Stage.MQL
    # A late event whose whole fact is still missing fills it.
    engine.ingest(ev("page_view", hours(3), lead="u2"))
    late = engine.ingest(ev("form_submit", hours(1), lead="u2", **form, company="acme"))
    assert (late.profile["company"], late.profile["industry"]) == ("Acme Ltd", "media")


def test_an_applies_late_enricher_keeps_its_place_on_events_in_order(
    pm: LeadlifePluginManager,
) -> None:
    """Regression: an applies_late enricher's fields were applied after everything else
    on every event, overriding later enrichers; a later result wins, as documented."""

    class Tier:
        def __init__(self, name: str, applies_late: bool):
            self.name, self.applies_late = name, applies_late

        def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
            return {"tier": self.name}

    class Plugin:
        @hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(Tier("first", applies_late=True))
            register(Tier("second", applies_late=False))

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    assert engine.ingest(ev("page_view")).profile["tier"] == "second"


class FixedRouter:
    name = "fixed"

    def route(self, lead: Lead) -> str | None:
        return "rep-1" if lead.profile.get("industry") == "media" else None


def test_hook_leadlife_routing(pm: LeadlifePluginManager) -> None:
    """The routing a plugin provides assigns routed leads within its teams."""
    from leadlife.routing import Routing

    routing = Routing.from_dict(
        {
            "teams": [{"id": "inside", "members": [{"id": "amy"}]}],
            "routers": {"fallback": {"team": "inside"}},
        }
    )

    class Provider:
        @hookimpl
        def leadlife_routing(self) -> Routing:
            return routing

        @hookimpl
        def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
            for router in routing.routers:
                register(router)

    engine = leadlife.Engine(plugins=[Provider()], plugin_manager=pm)
    assert engine.routing is routing
    lead = engine.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    assert (lead.team, lead.owner) == ("inside", "amy")


def test_hook_leadlife_routing_must_return_a_routing(pm: LeadlifePluginManager) -> None:
    """A leadlife_routing answer that is not a Routing fails at registration, by name."""

    class Wrong:
        @hookimpl
        def leadlife_routing(self) -> object:
            return {"teams": []}

    with pytest.raises(RegistrationError, match="leadlife_routing"):
        leadlife.Engine(plugins=[Wrong()], plugin_manager=pm)


def test_hook_leadlife_register_routers(pm: LeadlifePluginManager) -> None:
    """A qualified lead without an owner is routed; an unqualified one is not."""

    class Plugin:
        @hookimpl
        def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
            register(FixedRouter())

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    assert engine.ingest(ev("form_submit", industry="media")).owner is None
    lead = engine.ingest(ev("form_submit", hours(1), phone=PHONE, asset_id="p"))
    assert (lead.stage, lead.owner) == (Stage.MQL, "rep-1")


class Outbox:
    name = "outbox"

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def send(self, notice: Notice, lead: Lead) -> None:
        self.sent.append(notice)


def test_hook_leadlife_register_channels(pm: LeadlifePluginManager) -> None:
    """Registered channels receive every notice."""
    outbox = Outbox()

    class Plugin:
        @hookimpl
        def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
            register(outbox)

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    engine.ingest(ev("page_view"))
    engine.tick(T0 + days(100))
    assert [(n.kind, n.lead_id) for n in outbox.sent] == [("reactivation_due", "u1")]


def test_plugins_registered_later_are_picked_up(pm: LeadlifePluginManager) -> None:
    """A host may register plugins on engine.plugin_manager after construction."""
    engine = leadlife.Engine(plugin_manager=pm)
    outbox = Outbox()

    class Plugin:
        @hookimpl
        def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
            register(outbox)

    engine.ingest(ev("page_view"))
    engine.plugin_manager.register(Plugin())
    engine.tick(T0 + days(100))
    assert len(outbox.sent) == 1


def test_stage_hooks_registered_or_removed_between_events_take_effect(
    pm: LeadlifePluginManager,
) -> None:
    """The fan-out hooks follow the plugins as they are now, not as they were at the
    first call."""
    seen: list[tuple[str, str]] = []

    class Watcher:
        def __init__(self, name: str) -> None:
            self.name = name

        @hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
            seen.append((self.name, change.to_stage.value))

    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    first = Watcher("first")
    pm.register(first)
    engine.ingest(ev("download", asset_id="a1"))  # COLD -> WARM
    pm.register(Watcher("second"))
    engine.ingest(ev("form_submit", hours(1), phone="+8613800138000", asset_id="p1"))
    pm.unregister(first)
    engine.ingest(ev("company_verified", hours(2), company="Acme", industry="media"))
    assert seen == [
        ("first", "warm"),
        ("second", "mql"),
        ("first", "mql"),
        ("second", "sql"),
    ]


# -- per event and fan-out -----------------------------------------------------------


def test_hook_leadlife_enrich_event(pm: LeadlifePluginManager) -> None:
    """Enrichment hooks see the event and the lead before it, and set profile fields."""
    calls: list[tuple[str, int]] = []

    class Plugin:
        @hookimpl
        def leadlife_enrich_event(self, event: Event, lead: Lead) -> dict[str, Any]:
            calls.append((event.id, lead.event_count))
            return {"company": "Acme", "industry": "media", "company_verified": True}

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    lead = engine.ingest(ev("form_submit", phone=PHONE, asset_id="p", event_id="f1"))
    assert calls == [("f1", 0)]
    assert lead.stage is Stage.SQL


def test_hook_leadlife_stage_changed(pm: LeadlifePluginManager) -> None:
    """Every stored stage change is fanned out, in order, with the stored lead."""
    seen: list[tuple[Stage, Stage, int]] = []

    class Plugin:
        @hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
            seen.append((change.from_stage, change.to_stage, len(lead.history)))

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    engine.ingest(ev("download", asset_id="a"))
    engine.ingest(ev("livestream_watched", hours(1), event_id="l"))
    engine.tick(T0 + days(31))
    assert seen == [
        (Stage.COLD, Stage.WARM, 1),
        (Stage.WARM, Stage.HOT, 2),
        (Stage.HOT, Stage.WARM, 3),
    ]


def test_hook_leadlife_notify(pm: LeadlifePluginManager) -> None:
    """Notices reach the notify hook once each."""
    notices: list[Notice] = []

    class Plugin:
        @hookimpl
        def leadlife_notify(self, notice: Notice) -> None:
            notices.append(notice)

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    engine.ingest(ev("page_view"))
    engine.tick(T0 + days(100))
    engine.tick(T0 + days(101))
    assert [n.at for n in notices] == [T0 + days(90)]


# -- failures ------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


class RaisingEverywhere:
    """A plugin that fails in every per-event and fan-out hook."""

    @hookimpl
    def leadlife_enrich_event(self, event: Event, lead: Lead) -> None:
        raise Boom("registry down")

    @hookimpl
    def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
        raise Boom("webhook down")

    @hookimpl
    def leadlife_notify(self, notice: Notice) -> None:
        raise Boom("smtp down")

    @hookimpl
    def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
        class BadScorer(DoubleScorer):
            name = "bad"

            def score(self, lead: Lead, now: datetime) -> float:
                raise Boom("model missing")

        register(BadScorer())


def test_raising_plugins_lose_no_event(pm: LeadlifePluginManager) -> None:
    """With a plugin failing in every hook, every event is stored and every lead advances."""
    engine = leadlife.Engine(plugins=[RaisingEverywhere()], plugin_manager=pm)
    events = [
        ev("download", asset_id="a", lead="u1"),
        ev("form_submit", hours(1), lead="u1", phone=PHONE, asset_id="p"),
        ev("page_view", hours(2), lead="u2"),
    ]
    report = engine.ingest_many(events)
    assert (report.accepted, report.rejected) == (3, [])
    assert [e.id for e in engine.storage.events()] == [e["id"] for e in events]
    lead = engine.get("u1")
    assert lead.stage is Stage.MQL
    assert lead.event_count == 2
    assert "bad" not in lead.scores
    failed = {(f.hook, f.event_id) for f in report.failures}
    assert ("leadlife_enrich_event", events[0]["id"]) in failed
    assert ("scorer bad", events[2]["id"]) in failed
    assert ("leadlife_stage_changed", events[1]["id"]) in failed
    assert all(f.plugin and f.error_type == "Boom" for f in report.failures)
    tick = engine.tick(T0 + days(100))
    assert {f.hook for f in tick.failures} == {"leadlife_notify", "scorer bad"}
    assert len(tick.notices) == 2
    assert list(engine.failures)[-1].hook == "leadlife_notify"


def test_other_plugins_still_run_when_one_raises(pm: LeadlifePluginManager) -> None:
    """A failing enricher does not stop a healthy one registered beside it."""

    class Healthy:
        @hookimpl
        def leadlife_enrich_event(self) -> dict[str, str]:
            return {"industry": "media"}

    engine = leadlife.Engine(plugins=[Healthy(), RaisingEverywhere()], plugin_manager=pm)
    assert engine.ingest(ev("page_view")).profile == {"industry": "media"}


def test_enricher_returning_garbage_is_recorded(pm: LeadlifePluginManager) -> None:
    """An enrichment that is not a mapping of fields is skipped and recorded."""

    class Garbage:
        @hookimpl
        def leadlife_enrich_event(self) -> list[int]:
            return [1, 2]

    engine = leadlife.Engine(plugins=[Garbage()], plugin_manager=pm)
    lead = engine.ingest(ev("page_view"))
    assert lead.profile == {}
    assert engine.failures[-1].error_type == "contract"


class Unreadable(Mapping[str, Any]):
    """A mapping whose keys cannot be listed."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Any:
        raise RuntimeError("connection lost")

    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        ({"industry": {"media", object()}}, "field industry: a value of type object"),
        ({"asset_id": 10**5000}, "field asset_id: an integer of over 4,000 digits"),
        (Unreadable(), "cannot be read (RuntimeError: connection lost)"),
    ],
)
def test_enrichment_with_values_no_rule_reads_is_recorded_and_the_event_kept(
    pm: LeadlifePluginManager, result: object, problem: str
) -> None:
    """Regression: such results got past the result check, then failed the event
    outside the plugin's try, so the lead was never stored and no failure recorded."""

    class Odd:
        @hookimpl
        def leadlife_enrich_event(self) -> object:
            return result

    engine = leadlife.Engine(plugins=[Odd()], plugin_manager=pm)
    lead = engine.ingest(ev("form_submit", phone=PHONE, asset_id="p"))
    assert lead.stage is Stage.MQL
    assert engine.get("u1").event_count == 1
    [failure] = engine.failures
    assert failure.hook == "leadlife_enrich_event"
    assert problem in failure.error


def test_enrichment_arrays_become_lists(pm: LeadlifePluginManager) -> None:
    np = pytest.importorskip("numpy")

    class Arrays:
        @hookimpl
        def leadlife_enrich_event(self) -> dict[str, Any]:
            return {"industry": np.array(["media", "ads"]), "employees": np.int64(40)}

    engine = leadlife.Engine(plugins=[Arrays()], plugin_manager=pm)
    profile = engine.ingest(ev("page_view")).profile
    assert profile == {"industry": ["media", "ads"], "employees": 40}
    assert type(profile["employees"]) is int
    assert not engine.failures


def test_a_router_answering_an_array_is_recorded_and_the_next_decides() -> None:
    """Regression: ``answer == ""`` ran before the type check and raised on an array."""
    np = pytest.importorskip("numpy")
    from leadlife.routing import Routing

    class ArrayRouter:
        name = "arrays"

        def route(self, lead: Lead) -> Any:
            return np.array(["amy", "bob"])

    class Plugin:
        @hookimpl
        def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
            register(ArrayRouter())

    routing = Routing.from_dict(
        {"teams": [{"id": "t", "members": [{"id": "amy"}]}], "routers": {"fallback": {"team": "t"}}}
    )
    engine = leadlife.Engine(
        plugins=[routing, Plugin()], plugin_manager=get_plugin_manager(load_entrypoints=False)
    )
    lead = engine.ingest(ev("form_submit", phone=PHONE, asset_id="p"))
    assert lead.owner == "amy"
    assert [f.hook for f in engine.failures] == ["router arrays"]


def test_non_finite_score_is_recorded(pm: LeadlifePluginManager) -> None:
    """A scorer returning NaN keeps the previous score and records a failure."""

    class NaNScorer(DoubleScorer):
        name = "nan"

        def score(self, lead: Lead, now: datetime) -> float:
            return float("nan")

    class Plugin:
        @hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(NaNScorer())

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    assert "nan" not in engine.ingest(ev("page_view")).scores
    assert "finite" in engine.failures[-1].error


def test_failing_storage_rejects_the_event_whole(pm: LeadlifePluginManager) -> None:
    """When storage cannot commit, the event is rejected and can be sent again later."""

    class Flaky(MemoryStorage):
        broken = False

        def commit(self, lead: Lead, event: Event | None, changes: Any) -> None:
            if self.broken:
                raise OSError("disk full")
            super().commit(lead, event, changes)

    flaky = Flaky()

    class Plugin:
        @hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return flaky

    engine = leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)
    engine.ingest(ev("download", asset_id="a"))
    flaky.broken = True
    retry = ev("form_submit", hours(1), phone=PHONE, asset_id="p")
    with pytest.raises(StorageError, match="disk full"):
        engine.ingest(retry)
    lead = engine.get("u1")
    assert (lead.stage, lead.event_count) == (Stage.WARM, 1)
    report = engine.ingest_many([retry])
    assert report.rejected[0].event_id == retry["id"]
    flaky.broken = False
    assert engine.ingest(retry).stage is Stage.MQL


def test_registration_hook_that_raises_names_the_plugin(pm: LeadlifePluginManager) -> None:
    """A registration hook raising at engine construction names the plugin."""

    class Broken:
        @hookimpl
        def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
            raise Boom("no config")

    pm.register(Broken(), name="leadlife-broken")
    with pytest.raises(RegistrationError, match="leadlife-broken"):
        leadlife.Engine(plugin_manager=pm)


def test_hook_tracing(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """LEADLIFE_TRACE_HOOKS=1 logs each per-plugin hook call."""
    monkeypatch.setenv("LEADLIFE_TRACE_HOOKS", "1")

    class Plugin:
        @hookimpl
        def leadlife_enrich_event(self) -> None:
            return None

    engine = leadlife.Engine(
        plugins=[Plugin()], plugin_manager=get_plugin_manager(load_entrypoints=False)
    )
    with caplog.at_level("DEBUG", logger="leadlife.hooks"):
        engine.ingest(ev("page_view"))
    assert any("leadlife_enrich_event" in r.getMessage() for r in caplog.records)


class PickyStorage(MemoryStorage):
    """In-memory storage that refuses to store one lead's time-rule changes."""

    refuse: str | None = None

    def commit(self, lead: Lead, event: Event | None, changes: Any) -> None:
        if event is None and lead.id == self.refuse:
            raise OSError("row locked")
        super().commit(lead, event, changes)

    @hookimpl
    def leadlife_storage(self) -> MemoryStorage:
        return self


def test_tick_goes_on_when_one_lead_fails(pm: LeadlifePluginManager) -> None:
    """Regression: a lead whose tick cannot be stored is reported and stays due; others move."""
    storage = PickyStorage()
    engine = leadlife.Engine(plugins=[storage], plugin_manager=pm)
    engine.ingest(ev("page_view", lead="u1"))
    engine.ingest(ev("page_view", lead="u3"))
    storage.refuse = "u1"
    report = engine.tick(T0 + days(100))
    assert [n.lead_id for n in report.notices] == ["u3"]
    assert [(e.lead_id, type(e.error).__name__) for e in report.errors] == [("u1", "StorageError")]
    storage.refuse = None
    assert [n.lead_id for n in engine.tick(T0 + days(101)).notices] == ["u1"]


def test_reports_keep_their_errors_without_reference_cycles(pm: LeadlifePluginManager) -> None:
    """Regression: a rejected event or a failed tick tied the report, through the
    error's traceback and the catching frame, into a cycle holding the whole batch,
    which only the cyclic collector frees, and never while a host pauses it."""
    storage = PickyStorage()
    engine = leadlife.Engine(plugins=[storage], plugin_manager=pm)
    batch = [ev("page_view", lead="u1"), {"id": "no-lead"}, ev("page_view", lead="u2")]
    gc.collect()
    gc.disable()
    try:
        report = engine.ingest_many(batch)
        storage.refuse = "u1"
        ticked = engine.tick(T0 + days(100))
        assert [r.index for r in report.rejected] == [1]
        assert [e.lead_id for e in ticked.errors] == ["u1"]
        # kept without tracebacks, which would link back to the batch; still explained
        error = report.rejected[0].error
        assert error.__traceback__ is None
        assert "lead_id" in str(error)
        assert isinstance(ticked.errors[0].error.__cause__, OSError)
        del report, ticked
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0


def test_plugin_objects_get_readable_names(pm: LeadlifePluginManager) -> None:
    """Regression: Engine(plugins=[obj]) names the plugin after its class, not its id."""

    class Flaky:
        @hookimpl
        def leadlife_enrich_event(self) -> None:
            raise Boom("down")

    engine = leadlife.Engine(plugins=[Flaky(), Flaky()], plugin_manager=pm)
    engine.ingest(ev("page_view"))
    assert {f.plugin for f in engine.failures} == {"Flaky", "Flaky#2"}


def test_duplicate_channel_names_are_refused(pm: LeadlifePluginManager) -> None:
    """Every registered kind, not only scorers, needs unique names."""

    class Plugin:
        @hookimpl
        def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
            register(Outbox())
            register(Outbox())

    with pytest.raises(RegistrationError, match="channel named 'outbox' is already registered"):
        leadlife.Engine(plugins=[Plugin()], plugin_manager=pm)


def test_storage_hook_returning_a_class_names_the_plugin(pm: LeadlifePluginManager) -> None:
    """Regression: a class passed the protocol's attribute checks, then failed on ingest."""

    class Typo:
        @hookimpl
        def leadlife_storage(self) -> object:
            return MemoryStorage  # no parentheses

    pm.register(Typo(), name="typo-storage")
    with pytest.raises(RegistrationError, match="a class: return an instance") as info:
        leadlife.Engine(plugin_manager=pm)
    assert info.value.plugin == "typo-storage"


@pytest.mark.parametrize("option", ["wrapper", "hookwrapper"])
def test_hook_wrappers_on_per_plugin_hooks_are_refused(
    pm: LeadlifePluginManager, option: str
) -> None:
    """Regression: a wrapper of a hook leadlife calls plugin by plugin never ran, and on
    leadlife_enrich_event it was recorded as a broken enricher."""

    class Timing:
        @hookimpl(**{option: True})
        def leadlife_stage_changed(self, change: StageChange) -> Any:
            yield

    plugin = Timing()
    with pytest.raises(RegistrationError, match="hook wrapper") as info:
        pm.register(plugin, name="timing")
    assert (info.value.plugin, info.value.hook) == ("timing", "leadlife_stage_changed")
    assert not pm.is_registered(plugin)
    assert leadlife.Engine(plugin_manager=pm).ingest(ev("download")).stage is Stage.WARM


def test_hook_wrappers_on_whole_hooks_still_work(pm: LeadlifePluginManager) -> None:
    """pluggy calls leadlife_storage as a whole, so a wrapper there runs as pluggy says."""
    seen: list[object] = []

    class Watch:
        @hookimpl(wrapper=True)
        def leadlife_storage(self) -> Any:
            storage = yield
            seen.append(storage)
            return storage

    pm.register(Watch(), name="watch")
    engine = leadlife.Engine(plugin_manager=pm)
    assert seen == [engine.storage]


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("counters", lambda: None), ("counters", lambda: 1 / 0), ("window_days", "year")],
)
def test_scorer_with_unusable_counters_names_the_plugin(
    pm: LeadlifePluginManager, attribute: str, value: object
) -> None:
    """Regression: these escaped engine construction as AttributeError or ValueError."""

    class Odd:
        name = "odd"

        def score(self, lead: Lead, now: datetime) -> float:
            return 0.0

        def explain(self, lead: Lead, now: datetime) -> ScoreResult:
            return ScoreResult(0.0, ())

    setattr(Odd, attribute, staticmethod(value) if callable(value) else value)

    class Plugin:
        @hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(Odd())

    pm.register(Plugin(), name="odd-scorer")
    with pytest.raises(RegistrationError, match="unusable counters") as info:
        leadlife.Engine(plugin_manager=pm)
    assert info.value.plugin == "odd-scorer"


class LockedStorage(MemoryStorage):
    """Storage whose reads fail for one lead, as a locked database would."""

    locked: str | None = None

    def get(self, lead_id: str) -> Lead | None:
        if lead_id == self.locked:
            raise OSError("database is locked")
        return super().get(lead_id)

    @hookimpl
    def leadlife_storage(self) -> MemoryStorage:
        return self


def test_failing_storage_read_rejects_only_that_event(pm: LeadlifePluginManager) -> None:
    """Regression: a raising Storage.get escaped ingest_many and tick, losing the rest of
    the batch and every other lead's tick."""
    storage = LockedStorage()
    engine = leadlife.Engine(plugins=[storage], plugin_manager=pm)
    engine.ingest(ev("page_view", lead="u1"))
    engine.ingest(ev("page_view", lead="u2"))
    storage.locked = "u1"
    report = engine.ingest_many(
        [ev("download", hours(1), lead="u1", event_id="g1"), ev("download", hours(1), lead="u2")]
    )
    assert report.accepted == 1
    assert [(r.event_id, type(r.error).__name__) for r in report.rejected] == [
        ("g1", "StorageError")
    ]
    error = report.rejected[0].error
    assert isinstance(error, StorageError)
    assert error.hook == "Storage.get"
    assert "database is locked" in str(error)
    tick = engine.tick(T0 + days(100))
    assert [n.lead_id for n in tick.notices] == ["u2"]
    assert [e.lead_id for e in tick.errors] == ["u1"]
    with pytest.raises(StorageError, match="nothing was applied"):
        engine.get("u1")
    storage.locked = None
    assert engine.ingest(ev("download", hours(1), lead="u1", event_id="g1")).event_count == 2


def test_storage_without_event_lead_still_refuses_another_leads_id(
    pm: LeadlifePluginManager,
) -> None:
    """Storages need not answer event_lead: the engine then reads the lead's event log."""

    class Plain(MemoryStorage):
        event_lead = None  # as a third-party storage without the method

        @hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return self

    engine = leadlife.Engine(plugins=[Plain()], plugin_manager=pm)
    engine.ingest(ev("page_view", lead="u1", event_id="x1"))
    engine.ingest(ev("page_view", lead="u2", event_id="x2"))
    report = engine.ingest_many(
        [ev("page_view", lead="u1", event_id="x1"), ev("page_view", lead="u2", event_id="x1")]
    )
    assert report.duplicates == 1
    assert [(r.event_id, "another lead" in r.reason) for r in report.rejected] == [("x1", True)]


def test_a_misspelt_hook_is_refused_naming_the_hook_meant() -> None:
    """Regression: an implementation of 'leadlife_stage_change' was accepted and never
    called; pluggy's check ran only for installed plugins."""

    class Typo:
        @leadlife.hookimpl
        def leadlife_stage_change(self, lead: Lead, change: StageChange) -> None:
            raise AssertionError("never called")

    pm = get_plugin_manager(load_entrypoints=False)
    with pytest.raises(RegistrationError, match="did you mean 'leadlife_stage_changed'") as caught:
        leadlife.Engine(plugin_manager=pm, plugins=[Typo()])
    assert caught.value.hook == "leadlife_stage_change"
    assert pm.get_plugin("Typo") is None
    assert len(pm.get_plugins()) == 3  # the built-ins alone
    engine = leadlife.Engine(plugin_manager=pm)
    with pytest.raises(RegistrationError, match="did you mean 'leadlife_stage_changed'"):
        pm.register(Typo())  # refused at once: a running engine keeps working
    engine.ingest(ev("page_view"))

    class Unknown:
        @leadlife.hookimpl
        def leadlife_crm_synced(self) -> None: ...

    pm.register(Unknown())  # not near a leadlife hook: maybe declared later, checked then
    with pytest.raises(RegistrationError, match="no hook specification declares"):
        engine.ingest(ev("page_view", at=hours(1)))

    class OtherSystem:
        @leadlife.hookimpl(optionalhook=True)
        def leadlife_other_system_hook(self) -> None: ...

    leadlife.Engine(plugins=[OtherSystem()])


def test_hooks_a_host_declares_after_registering_a_plugin_are_accepted() -> None:
    """pluggy lets a plugin come before its hook specifications; the engine checks
    the hooks when it collects the plugins."""

    class Specs:
        @pluggy.HookspecMarker("leadlife")
        def leadlife_crm_synced(self, lead_id: str) -> None: ...

    class Plugin:
        @leadlife.hookimpl
        def leadlife_crm_synced(self, lead_id: str) -> None: ...

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Plugin())
    pm.add_hookspecs(Specs)
    leadlife.Engine(plugin_manager=pm)


def test_a_hook_with_a_misspelt_argument_is_a_registration_error() -> None:
    class BadArgument:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, chnage: StageChange) -> None: ...

    with pytest.raises(RegistrationError, match="chnage"):
        leadlife.Engine(plugins=[BadArgument()])


def test_a_registration_hook_returning_its_objects_is_refused() -> None:
    """Regression: `return [Tags()]` in place of `register(Tags())` registered nothing,
    without a word (every notice went nowhere)."""

    class Returns:
        name = "tags"

        def enrich(self, event: Event, lead: Lead) -> None:
            return None

        @leadlife.hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> object:
            return [self]

    with pytest.raises(RegistrationError, match=r"registers nothing: call register\(obj\)"):
        leadlife.Engine(plugins=[Returns()])


def test_a_registered_class_is_refused() -> None:
    """Regression: a class passes the protocol's attribute checks, then failed every
    event ('enrich() missing 1 required positional argument')."""

    class Tags:
        name = "tags"

        def enrich(self, event: Event, lead: Lead) -> None:
            return None

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(Tags)

    with pytest.raises(RegistrationError, match=r"the class .*Tags: register an instance"):
        leadlife.Engine(plugins=[Plugin()])


def test_a_name_clash_with_a_built_in_blames_the_host_plugin() -> None:
    """Regression: a host scorer named 'points' got a message asking the built-in
    plugin to rename itself."""
    from leadlife.scoring import PointsScorer

    class Mine:
        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(PointsScorer({}, name="points"))

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Mine(), name="my-scoring")
    with pytest.raises(RegistrationError) as caught:
        leadlife.Engine(plugin_manager=pm)
    assert caught.value.plugin == "my-scoring"
    assert "already registered by 'leadlife.default_scorer'" in caught.value.problem


class _CountingStorage:
    calls = 0

    def __init__(self, answer: object) -> None:
        self.answer = answer

    @leadlife.hookimpl
    def leadlife_storage(self) -> object:
        _CountingStorage.calls += 1
        return self.answer


def test_a_provider_hook_is_called_once_and_its_plugin_named() -> None:
    """Regression: to name the plugin behind a wrong storage answer, the engine called
    every implementation again (opening two connections), and a raising provider
    escaped as a bare exception naming no plugin."""
    _CountingStorage.calls = 0
    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(_CountingStorage("broken"), name="db")
    with pytest.raises(RegistrationError, match="'broken', which is not a Storage") as caught:
        leadlife.Engine(plugin_manager=pm)
    assert caught.value.plugin == "db"
    assert _CountingStorage.calls == 1

    class Unreachable:
        @leadlife.hookimpl
        def leadlife_storage(self) -> object:
            raise OSError("db unreachable")

        @leadlife.hookimpl
        def leadlife_rulebook(self) -> object:
            raise FileNotFoundError("rules.toml")

    with pytest.raises(RegistrationError, match=r"db unreachable|rules\.toml") as raised:
        leadlife.Engine(plugins=[Unreachable()])
    assert raised.value.plugin == "Unreachable"

    class BadRulebook:
        @leadlife.hookimpl
        def leadlife_rulebook(self) -> object:
            return {"bands": {"warm": "lots"}}

    with pytest.raises(RegistrationError, match=r"cannot be used: .*bands\.warm") as bad:
        leadlife.Engine(plugins=[BadRulebook()])
    assert (bad.value.plugin, bad.value.hook) == ("BadRulebook", "leadlife_rulebook")


def test_the_routing_is_asked_again_only_when_its_providers_change() -> None:
    """Regression: a leadlife_routing hook building its Routing on each call was asked
    again on every plugin change, so the teams' turns started over: one member got
    every lead in place of turns."""
    from leadlife.routing import Routing

    config = {
        "teams": [{"id": "sales", "members": [{"id": "amy"}, {"id": "ben"}]}],
        "routers": {"fallback": {"team": "sales"}},
    }
    asked = []

    class Builds:
        @leadlife.hookimpl
        def leadlife_routing(self) -> Routing:
            asked.append(1)
            return Routing.from_dict(config)

        @leadlife.hookimpl
        def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
            for router in Routing.from_dict(config).routers:
                register(router)

    class Unrelated:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, change: StageChange) -> None: ...

    builds = Builds()
    engine = leadlife.Engine(plugins=[builds], clock=leadlife.FixedClock(T0))
    first = engine.routing
    unrelated = Unrelated()
    owners = []
    for number in range(4):
        engine.plugin_manager.register(unrelated)
        engine.ingest(ev("page_view", lead=f"u{number}"))
        engine.plugin_manager.unregister(unrelated)
        form = ev("form_submit", lead=f"u{number}", phone="+8613800138000", asset_id="p1")
        owners.append(engine.ingest(form).owner)
    assert engine.routing is first
    assert len(asked) == 1
    assert sorted(owners) == ["amy", "amy", "ben", "ben"]  # turns, not one member
    engine.plugin_manager.unregister(builds)
    engine.plugin_manager.register(builds)  # reloaded: the same object, registered again
    engine.ingest(ev("page_view"))
    assert len(asked) == 2
    assert engine.routing is not first


@pytest.mark.parametrize(
    ("value", "on"),
    [("1", True), ("yes", True), ("0", False), ("false", False), ("No", False), ("", False)],
)
def test_trace_hooks_reads_off_values_as_off(
    monkeypatch: pytest.MonkeyPatch, value: str, on: bool
) -> None:
    """Regression: LEADLIFE_TRACE_HOOKS=0 (or false, no) turned tracing on."""
    monkeypatch.setenv("LEADLIFE_TRACE_HOOKS", value)
    assert get_plugin_manager(load_entrypoints=False).trace_hooks is on


def test_enrichment_cannot_set_the_flags_derived_from_contact_fields() -> None:
    """Regression: an enricher answering phone_valid=True made an MQL of a lead with
    the invalid number '123', or not, by the order of its keys; event data's own
    phone_valid was ignored."""

    class Vendor:
        name = "vendor"

        def __init__(self, answer: Mapping[str, Any]) -> None:
            self.answer = answer

        def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any]:
            return self.answer

        @leadlife.hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(self)

    for answer in (
        {"phone": "123", "phone_valid": True},
        {"phone_valid": True, "phone": "123"},
        {"email": "not-an-email", "email_valid": True},
    ):
        engine = leadlife.Engine(plugins=[Vendor(answer)], clock=leadlife.FixedClock(T0))
        lead = engine.ingest(ev("form_submit", phone="123", asset_id="p1"))
        assert lead.stage is not Stage.MQL, answer
        (failure,) = engine.failures
        assert failure.hook == "enricher vendor"
        assert "checks the contact field itself" in failure.error
    clean = leadlife.Engine(plugins=[Vendor({"phone": "+8613800138000"})])
    assert clean.ingest(ev("form_submit", phone="123", asset_id="p1")).stage is Stage.MQL


@pytest.mark.parametrize(
    "answers",
    [
        [{"phone_valid": False}],
        [{"phone_valid": False, "phone": "+8613800138000"}],
        [{"phone_valid": False}, {"phone": "+8613800138000"}],
    ],
)
def test_a_lookup_marking_a_contact_invalid_wins_over_its_check(
    answers: list[Mapping[str, Any]],
) -> None:
    """A carrier lookup saying a well-formed number is dead keeps the lead from
    qualifying on it, whatever the order of its keys or of the plugins."""

    def enricher(number: int, answer: Mapping[str, Any]) -> object:
        class Lookup:
            name = f"lookup{number}"

            def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any]:
                return answer

            @leadlife.hookimpl
            def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
                register(self)

        return Lookup()

    plugins = [enricher(number, answer) for number, answer in enumerate(answers)]
    engine = leadlife.Engine(plugins=plugins, clock=leadlife.FixedClock(T0))
    lead = engine.ingest(ev("form_submit", phone="+8613800138000", asset_id="p1"))
    assert lead.profile["phone_valid"] is False
    assert lead.stage is not Stage.MQL
    assert not engine.failures


@pytest.mark.parametrize(
    "answer", ["7", b"9", True, None, [1.0], float("nan"), np.True_, np.False_]
)
def test_a_scorer_answering_something_else_than_a_number_is_a_failure(answer: object) -> None:
    """Regression: float() made scores of "7", b"9" and True without a word."""

    class Odd:
        name = "odd"

        def score(self, lead: Lead, now: datetime) -> object:
            return answer

        def explain(self, lead: Lead, now: datetime) -> ScoreResult:
            return ScoreResult("odd", 0.0)

        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(self)

    engine = leadlife.Engine(plugins=[Odd()])
    lead = engine.ingest(ev("page_view"))
    assert "odd" not in lead.scores
    (failure,) = engine.failures
    assert failure.hook == "scorer odd"


def test_numbers_of_any_kind_are_scores() -> None:
    from decimal import Decimal

    import numpy as np

    class Fraction:
        def __float__(self) -> float:
            return 3.5

    answers = iter([np.float32(1.5), np.int64(2), Decimal("2.5"), 3, np.array(4.0), Fraction()])

    class Numbers:
        name = "numbers"

        def score(self, lead: Lead, now: datetime) -> object:
            return next(answers)

        def explain(self, lead: Lead, now: datetime) -> ScoreResult:
            return ScoreResult("numbers", 0.0)

        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(self)

    engine = leadlife.Engine(plugins=[Numbers()])
    seen = [engine.ingest(ev("page_view", at=hours(i))).scores["numbers"] for i in range(6)]
    assert seen == [1.5, 2.0, 2.5, 3.0, 4.0, 3.5]
    assert not engine.failures


def test_the_score_of_an_unregistered_scorer_leaves_the_lead() -> None:
    """Regression: scores of a scorer unregistered since stayed in lead.scores for
    ever, so hosts exported a frozen number."""

    class Extra:
        name = "extra"

        def score(self, lead: Lead, now: datetime) -> float:
            return 42.0

        def explain(self, lead: Lead, now: datetime) -> ScoreResult:
            return ScoreResult("extra", 42.0)

        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(self)

    extra = Extra()
    engine = leadlife.Engine(plugins=[extra])
    assert engine.ingest(ev("page_view")).scores["extra"] == 42.0
    engine.plugin_manager.unregister(extra)
    assert set(engine.ingest(ev("page_view", at=hours(1))).scores) == {"points", "rules"}


def test_the_report_lists_only_failures_of_applied_events() -> None:
    """Regression: the failure of an enricher for an event then rejected (its commit
    failed) was in the report, and again when the event was resent and applied."""

    class Flaky(MemoryStorage):
        fail = True

        def commit(self, lead: Lead, event: Event | None, changes: Any) -> None:
            if self.fail:
                self.fail = False
                raise OSError("disk full")
            super().commit(lead, event, changes)

    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return Flaky()

        @leadlife.hookimpl
        def leadlife_enrich_event(self, event: Event) -> None:
            raise ConnectionError("registry down")

    engine = leadlife.Engine(plugins=[Provider()])
    first = engine.ingest_many([ev("page_view", event_id="d1")])
    assert len(first.rejected) == 1
    assert first.failures == []
    again = engine.ingest_many([ev("page_view", event_id="d1")])
    assert again.accepted == 1
    assert [f.event_id for f in again.failures] == ["d1"]
    assert len(engine.failures) == 2  # the log keeps what happened


class _OddStorage(MemoryStorage):
    answer: object = None

    def get(self, lead_id: str) -> Any:
        return self.answer if self.answer is not None else super().get(lead_id)

    def due(self, now: datetime) -> Any:
        return self.answer


def test_odd_storage_answers_are_storage_errors() -> None:
    """Regression: due() answering None raised a bare TypeError, and get() answering
    a dict a ProcessingError blaming the event's data (engine.get handed it out)."""
    storage = _OddStorage()

    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return storage

    engine = leadlife.Engine(plugins=[Provider()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view"))
    storage.answer = {"id": "u1"}
    with pytest.raises(StorageError, match=r"Storage\.get.*expected a Lead") as caught:
        engine.ingest(ev("page_view", at=hours(1)))
    assert caught.value.hook == "Storage.get"
    with pytest.raises(StorageError, match="expected a Lead"):
        engine.get("u1")
    storage.answer = 5
    with pytest.raises(StorageError) as due:
        engine.tick(T0 + days(1))
    assert due.value.hook == "Storage.due"
    # Regression: "u1" was read as the ids "u" and "1": the due lead was never
    # ticked, and nothing said why.
    storage.answer = "u1"
    with pytest.raises(StorageError, match="expected a list of the due leads' ids") as due:
        engine.tick(T0 + days(100))
    assert due.value.hook == "Storage.due"


_TEAM = {
    "teams": [{"id": "t", "members": [{"id": "amy"}, {"id": "ben"}]}],
    "routers": {"fallback": {"team": "t"}},
}
_FORM = {"phone": "+8613800138000", "asset_id": "a1"}


def _two_routed_leads(storage: MemoryStorage) -> leadlife.Engine:
    """An engine on ``storage`` with a team of two and two qualified leads."""
    from leadlife.routing import Routing

    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return storage

    engine = leadlife.Engine(
        plugins=[Provider(), Routing.from_dict(_TEAM)], clock=leadlife.FixedClock(T0)
    )
    engine.ingest(ev("form_submit", **_FORM))
    engine.ingest(ev("form_submit", hours(1 / 60), lead="u2", **_FORM))
    return engine


def test_a_routed_tick_reports_an_odd_stored_lead_and_ticks_the_rest() -> None:
    """Regression: with routing, a tick over several due leads read each lead to
    order their moments without checking it: a get() answering a dict raised a bare
    AttributeError and no lead was ticked."""

    class OneOdd(MemoryStorage):
        def get(self, lead_id: str) -> Any:
            return {"id": lead_id} if lead_id == "odd" else super().get(lead_id)

        def due(self, now: datetime) -> list[str]:
            return ["odd", *super().due(now)]

    report = _two_routed_leads(OneOdd()).tick(T0 + hours(1))
    assert [error.lead_id for error in report.errors] == ["odd"]
    assert isinstance(report.errors[0].error, StorageError)
    assert {notice.lead_id for notice in report.notices} == {"u1", "u2"}


def test_a_failed_tick_write_says_what_was_stored() -> None:
    """Regression: a routed lead is written once per due moment; when a later write
    failed, the error said "nothing was applied" though the earlier moment was
    stored and its notice sent."""

    class SecondWriteFails(MemoryStorage):
        writes = 0

        def commit(self, lead: Lead, event: Event | None, changes: Any) -> None:
            if event is None and lead.id == "u1":
                self.writes += 1
                if self.writes == 2:
                    raise OSError("db went away")
            super().commit(lead, event, changes)

    engine = _two_routed_leads(SecondWriteFails())
    report = engine.tick(T0 + hours(0.5))
    (error,) = report.errors
    assert "nothing was applied" not in error.reason
    assert "this due moment of lead 'u1' was not stored" in error.reason
    assert engine.get("u1").follow_up.breaches == 1  # type: ignore[union-attr]


def test_a_failing_event_log_read_is_named_as_such() -> None:
    """Regression: a storage without event_lead whose events() failed was reported as
    failing in Storage.event_lead."""

    class NoEventLead:
        def __init__(self) -> None:
            self.inner = MemoryStorage()
            self.get, self.has_event, self.commit = (
                self.inner.get,
                self.inner.has_event,
                self.inner.commit,
            )
            self.due, self.leads, self.__len__ = (
                self.inner.due,
                self.inner.leads,
                self.inner.__len__,
            )

        def events(self, lead_id: str | None = None) -> Any:
            raise OSError("log unreachable")

    storage = NoEventLead()

    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> object:
            return storage

    engine = leadlife.Engine(plugins=[Provider()])
    engine.ingest(ev("page_view", event_id="x1"))
    with pytest.raises(StorageError) as caught:
        engine.ingest(ev("page_view", event_id="x1"))
    assert caught.value.hook == "Storage.events"


def test_a_tick_error_keeps_no_traceback_with_routing() -> None:
    """Regression: with routing, a due lead whose read failed was reported with the
    storage's exception and its traceback, which held the tick's frames."""
    from leadlife.routing import Routing

    class Flaky(MemoryStorage):
        fail = False

        def get(self, lead_id: str) -> Lead | None:
            if self.fail and lead_id == "a":
                raise OSError("replica lag")
            return super().get(lead_id)

    storage = Flaky()

    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> MemoryStorage:
            return storage

    routing = Routing.from_dict(
        {
            "teams": [{"id": "inside", "members": [{"id": "amy"}]}],
            "routers": {"fallback": {"team": "inside"}},
        }
    )
    engine = leadlife.Engine(plugins=[Provider(), routing], clock=leadlife.FixedClock(T0))
    for lead in "ab":
        engine.ingest(ev("page_view", lead=lead))
    storage.fail = True
    (error,) = engine.tick(T0 + days(100)).errors
    assert error.lead_id == "a"
    assert error.error.__traceback__ is None
    assert error.error.__cause__ is None or error.error.__cause__.__traceback__ is None
    assert error.error.error.__traceback__ is None  # type: ignore[attr-defined]


# -- entry points, provider order and plugin classes ----------------------------------


def _installed(
    tmp_path: Path, distribution: str, entry_points: Mapping[str, str]
) -> list[metadata.EntryPoint]:
    """The ``leadlife`` entry points of a distribution as importlib.metadata reads it
    from an installed package's metadata (``ep.dist`` included), without installing it."""
    info = tmp_path / f"{distribution.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[leadlife]\n{lines}", encoding="utf-8")
    return list(metadata.PathDistribution(info).entry_points.select(group="leadlife"))


def _discover(monkeypatch: pytest.MonkeyPatch, *entry_points: metadata.EntryPoint) -> None:
    """Make these the installed plugins get_plugin_manager() finds."""
    monkeypatch.setattr(
        metadata, "entry_points", lambda group: list(entry_points) if group == "leadlife" else []
    )


class _HostHookPlugin:
    """Implements a hook only the host declares."""

    @hookimpl
    def crm_lead_exported(self, lead_id: str) -> None: ...


class _HostSpecs:
    @pluggy.HookspecMarker("leadlife")
    def crm_lead_exported(self, lead_id: str) -> None:
        """The host's own hook."""


class _NearMissPlugin:
    @hookimpl
    def leadlife_stage_change(self, change: StageChange) -> None: ...


HOST_HOOK_PLUGIN = _HostHookPlugin()
NEAR_MISS_PLUGIN = _NearMissPlugin()


def test_an_installed_plugin_may_implement_a_hook_the_host_declares(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Regression: get_plugin_manager() checked every hook before returning, so an
    installed plugin implementing a hook the host declares on the manager it returns
    made it raise, and the host had no way to declare the hook earlier."""
    _discover(
        monkeypatch, *_installed(tmp_path, "leadlife-crm", {"crm": f"{__name__}:HOST_HOOK_PLUGIN"})
    )
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    pm = get_plugin_manager()
    assert pm.get_plugin("crm") is HOST_HOOK_PLUGIN
    pm.add_hookspecs(_HostSpecs)
    leadlife.Engine(plugin_manager=pm)

    undeclared = get_plugin_manager()  # the host forgot its specifications: the engine says so
    with pytest.raises(RegistrationError, match="no hook specification declares it") as caught:
        leadlife.Engine(plugin_manager=undeclared)
    assert (caught.value.plugin, caught.value.hook) == ("crm", "crm_lead_exported")


def test_an_installed_plugin_with_a_misspelt_hook_is_still_refused_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A name nearly a leadlife hook's is a typo, whatever the host declares later."""
    _discover(
        monkeypatch,
        *_installed(tmp_path, "leadlife-typo", {"typo": f"{__name__}:NEAR_MISS_PLUGIN"}),
    )
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    with pytest.raises(RegistrationError, match="did you mean 'leadlife_stage_changed'") as caught:
        get_plugin_manager()
    assert (caught.value.plugin, caught.value.hook) == ("typo", "leadlife_stage_change")


def test_an_unrelated_undeclared_hook_gets_no_suggestion(pm: LeadlifePluginManager) -> None:
    """Regression: 'leadlife_on_stage' was asked "did you mean 'leadlife_storage'?": every
    hook shares the 'leadlife_' prefix, which made loose matches of unrelated names."""

    class OnStage:
        @hookimpl
        def leadlife_on_stage(self, change: StageChange) -> None: ...

    pm.register(OnStage(), name="on-stage")  # not nearly a leadlife hook's: accepted
    with pytest.raises(RegistrationError, match="no hook specification declares it") as caught:
        leadlife.Engine(plugin_manager=pm)
    assert "did you mean" not in str(caught.value)
    assert caught.value.hook == "leadlife_on_stage"


class _FallbackStorage(MemoryStorage):
    pass


class _TrylastStorage:
    @hookimpl(trylast=True)
    def leadlife_storage(self) -> MemoryStorage:
        return _FallbackStorage()


class _TrylastRulebook:
    @hookimpl(trylast=True)
    def leadlife_rulebook(self) -> Mapping[str, Any]:
        return {"extends": "default", "bands": {"warm": 5}}


TRYLAST_STORAGE = _TrylastStorage()
TRYLAST_RULEBOOK = _TrylastRulebook()


@pytest.mark.parametrize("way", ["Engine(plugins=...)", "pm.register", "entry point"])
@pytest.mark.parametrize(
    ("plugin", "answered"),
    [
        ("TRYLAST_STORAGE", lambda engine: isinstance(engine.storage, _FallbackStorage)),
        ("TRYLAST_RULEBOOK", lambda engine: engine.rulebook.model.bands.warm == 5),
    ],
    ids=["storage", "rulebook"],
)
def test_a_trylast_provider_still_wins_over_the_built_ins(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    way: str,
    plugin: str,
    answered: Callable[[leadlife.Engine], bool],
) -> None:
    """Regression: a storage or rulebook marked trylast=True lost to the built-ins
    (trylast themselves) when registered after them, without a word: the host's leads
    went to the in-memory storage. Whatever the order, the built-ins answer last."""
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    if way == "entry point":  # registered before the built-ins
        _discover(monkeypatch, *_installed(tmp_path, "leadlife-db", {"db": f"{__name__}:{plugin}"}))
        engine = leadlife.Engine(plugin_manager=get_plugin_manager())
    elif way == "pm.register":
        pm = get_plugin_manager(load_entrypoints=False)
        pm.register(globals()[plugin], name="db")
        engine = leadlife.Engine(plugin_manager=pm)
    else:
        pm = get_plugin_manager(load_entrypoints=False)
        engine = leadlife.Engine(plugin_manager=pm, plugins=[globals()[plugin]])
    assert answered(engine)


def test_the_built_ins_answer_after_a_trylast_provider_passes(pm: LeadlifePluginManager) -> None:
    """A provider answering None still leaves the answer to the built-ins, and a
    wrapper sees the host's answer, not the built-in one."""
    seen: list[object] = []

    class Passes:
        @hookimpl(trylast=True)
        def leadlife_storage(self) -> None:
            return None

    class Watch:
        @hookimpl(wrapper=True)
        def leadlife_storage(self) -> Any:
            storage = yield
            seen.append(storage)
            return storage

    pm.register(Passes(), name="passes")
    assert type(leadlife.Engine(plugin_manager=pm).storage) is MemoryStorage
    pm.register(TRYLAST_STORAGE, name="db")
    pm.register(Watch(), name="watch")
    engine = leadlife.Engine(plugin_manager=pm)
    assert isinstance(engine.storage, _FallbackStorage)
    assert seen == [engine.storage]


def test_a_plugin_class_is_refused_at_registration(pm: LeadlifePluginManager) -> None:
    """Regression: Engine(plugins=[Registry]) (the class, not Registry()) was accepted,
    then every event failed with "missing 1 required positional argument": pluggy
    drops self from a method's arguments, so the event went into self."""

    class Registry:
        @hookimpl
        def leadlife_enrich_event(self, event: Event) -> Mapping[str, Any]:
            return {"company_verified": True}

    before = (pm.get_plugins(), pm.generation)
    with pytest.raises(
        RegistrationError, match=r"register an instance of it \(Registry\(\)\)"
    ) as caught:
        leadlife.Engine(plugin_manager=pm, plugins=[Registry])
    assert (caught.value.plugin, caught.value.hook) == ("Registry", "leadlife_enrich_event")
    with pytest.raises(RegistrationError, match="is a class"):
        pm.register(Registry, name="registry")
    assert (pm.get_plugins(), pm.generation) == before  # refused before anything changed
    assert pm.get_plugin("registry") is None

    lead = leadlife.Engine(plugin_manager=pm, plugins=[Registry()]).ingest(ev("download"))
    assert lead.profile["company_verified"] is True


def test_a_plugin_class_of_static_and_class_methods_is_accepted(
    pm: LeadlifePluginManager,
) -> None:
    """A class whose hook implementations need no instance works as a plugin, as a module does."""
    seen: list[tuple[str, Stage]] = []

    class Static:
        @staticmethod
        @hookimpl
        def leadlife_enrich_event(event: Event) -> Mapping[str, Any]:
            return {"company_verified": True}

        @classmethod
        @hookimpl
        def leadlife_stage_changed(cls, change: StageChange) -> None:
            seen.append((cls.__name__, change.to_stage))

    engine = leadlife.Engine(plugin_manager=pm, plugins=[Static])
    assert engine.ingest(ev("download")).profile["company_verified"] is True
    assert seen == [("Static", Stage.WARM)]
    assert not engine.failures


_STORAGE_A = _TrylastStorage()
_STORAGE_B = _TrylastStorage()


def test_two_packages_declaring_one_entry_point_name_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Regression: of two installed packages with an entry point of the same name, the
    second was skipped without a word (a storage plugin's leads went to memory)."""
    first = _installed(
        tmp_path, "leadlife-company-registry", {"company-registry": f"{__name__}:_STORAGE_A"}
    )
    second = _installed(tmp_path, "leadlife-sql", {"company-registry": f"{__name__}:_STORAGE_B"})
    other = _installed(tmp_path, "leadlife-crm", {"crm": f"{__name__}:HOST_HOOK_PLUGIN"})
    _discover(monkeypatch, *first, *other, *second)
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    with pytest.raises(RegistrationError) as caught:
        get_plugin_manager()
    assert caught.value.plugin == "company-registry"
    problem = caught.value.problem
    assert "leadlife-company-registry ('tests.test_plugins:_STORAGE_A')" in problem
    assert "leadlife-sql ('tests.test_plugins:_STORAGE_B')" in problem
    assert "uninstall all but one" in problem
    monkeypatch.setenv("LEADLIFE_PLUGINS", "company-registry")
    with pytest.raises(RegistrationError, match="leadlife-sql"):
        get_plugin_manager()
    monkeypatch.setenv("LEADLIFE_PLUGINS", "crm")  # the clash is not loaded: no matter
    assert get_plugin_manager().get_plugin("crm") is HOST_HOOK_PLUGIN


def test_one_package_found_twice_is_no_entry_point_clash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same distribution's entry point seen twice loads once."""
    (entry_point,) = _installed(tmp_path, "leadlife-db", {"db": f"{__name__}:TRYLAST_STORAGE"})
    _discover(monkeypatch, entry_point, entry_point)
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    assert get_plugin_manager().get_plugin("db") is TRYLAST_STORAGE


class _NeedsAnInstance:
    @hookimpl
    def leadlife_enrich_event(self, event: Event) -> None: ...


def test_an_entry_point_naming_a_class_is_refused_as_the_packages_fault(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Regression: the refusal said "register an instance of it", which no user of an
    installed package can do, and named no entry point."""
    _discover(
        monkeypatch,
        *_installed(tmp_path, "leadlife-cls", {"registry": f"{__name__}:_NeedsAnInstance"}),
    )
    monkeypatch.delenv("LEADLIFE_PLUGINS", raising=False)
    with pytest.raises(
        RegistrationError, match="names a class whose hooks need an instance"
    ) as caught:
        get_plugin_manager()
    assert caught.value.plugin == "registry"
    assert f"{__name__}:_NeedsAnInstance" in caught.value.hook
    assert "LEADLIFE_PLUGINS" in caught.value.problem


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("leadlife_enrich", "leadlife_enrich_event"),
        ("leadlife_rules", "leadlife_rulebook"),
        ("leadlife_stage", "leadlife_stage_changed"),
    ],
)
def test_a_refused_undeclared_hook_suggests_the_hook_its_name_begins(
    pm: LeadlifePluginManager, name: str, meant: str
) -> None:
    """Regression: with the near-miss cutoff tightened, a shortened hook name lost its
    "did you mean" when the engine refused it."""
    plugin = type("Short", (), {name: hookimpl(lambda self: None)})()
    pm.register(plugin, name="short")  # not a near miss: left to the engine
    with pytest.raises(RegistrationError, match=f"did you mean '{meant}'"):
        leadlife.Engine(plugin_manager=pm)
