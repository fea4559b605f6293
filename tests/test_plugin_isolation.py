"""Plugins from outside leadlife cannot change what the engine stores except through
their answers: event data is read-only, and the lead they are handed is their own."""

from __future__ import annotations

import contextlib
import copy
import pickle
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

import leadlife
from leadlife import Event, Lead, Stage, StageChange
from leadlife.errors import StorageError
from leadlife.plugins.default_storage import MemoryStorage
from leadlife.routing import RouteDecision
from leadlife.values import FrozenDict, FrozenList
from tests.conftest import T0
from tests.helpers import ev, hours

FORM = {"phone": "+8613800138000", "asset_id": "p1"}


class Meddler:
    """Changes everything it is handed, then (optionally) fails."""

    name = "meddler"

    def __init__(self, fail: bool = True):
        self.fail = fail

    def meddle(self, lead: Lead, event: Event | None = None) -> None:
        lead.profile["vip"] = True
        lead.milestones["meddled"] = T0
        lead.owner = "meddler"
        lead.history.append(StageChange(T0, lead.stage, Stage.SAL, "meddled", "meddler"))
        lead.scores["points"] = 1e6
        if event is not None:
            # read-only: it carries on with what else it can change
            with contextlib.suppress(TypeError):
                event.data["company"] = "Meddled Ltd"
        if self.fail:
            raise RuntimeError("meddler failed")


class MeddlingEnricher(Meddler):
    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        self.meddle(lead, event)
        return None

    @leadlife.hookimpl
    def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
        register(self)


class MeddlingHook(Meddler):
    @leadlife.hookimpl
    def leadlife_enrich_event(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        self.meddle(lead, event)
        return None


class MeddlingScorer(Meddler):
    def score(self, lead: Lead, now: datetime) -> float:
        self.meddle(lead)
        return 1.0

    def explain(self, lead: Lead, now: datetime) -> leadlife.ScoreResult:
        raise NotImplementedError

    @leadlife.hookimpl
    def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
        register(self)


class MeddlingRouter(Meddler):
    def route(self, lead: Lead) -> RouteDecision | str | None:
        self.meddle(lead)
        return None

    @leadlife.hookimpl
    def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
        register(self)


class MeddlingStageHook(Meddler):
    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
        self.meddle(lead)


class MeddlingNotify(Meddler):
    @leadlife.hookimpl
    def leadlife_notify(self, notice: leadlife.Notice, lead: Lead) -> None:
        self.meddle(lead)


class MeddlingChannel(Meddler):
    def send(self, notice: leadlife.Notice, lead: Lead) -> None:
        self.meddle(lead)

    @leadlife.hookimpl
    def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
        register(self)


MEDDLERS = [
    MeddlingEnricher,
    MeddlingHook,
    MeddlingScorer,
    MeddlingRouter,
    MeddlingStageHook,
    MeddlingNotify,
    MeddlingChannel,
]


def _untouched(engine: leadlife.Engine, lead_id: str = "u1") -> None:
    lead = engine.get(lead_id)
    assert lead is not None
    assert "vip" not in lead.profile
    assert "meddled" not in lead.milestones
    assert lead.owner != "meddler"
    assert all(change.rule != "meddler" for change in lead.history)
    assert lead.scores.get("points", 0.0) < 1e6
    assert "company" not in lead.profile
    for event in engine.storage.events(lead_id):
        assert "company" not in event.data


@pytest.mark.parametrize("fail", [True, False], ids=["failing", "succeeding"])
@pytest.mark.parametrize(
    "plugin",
    MEDDLERS,
)
def test_a_plugin_changing_what_it_is_handed_changes_nothing_stored(
    plugin: type[Meddler], fail: bool
) -> None:
    """Regression: an enricher, scorer or router that changed the lead or the event's
    data and then raised was recorded as failed, yet its changes were stored (in the
    event log too); a stage hook's changes reached the stored lead without a commit."""
    engine = leadlife.Engine(plugins=[plugin(fail=fail)], clock=leadlife.FixedClock(T0))
    reference = leadlife.Engine(clock=leadlife.FixedClock(T0))
    for event in (ev("page_view"), ev("form_submit", at=hours(1), **FORM)):
        engine.ingest(event)
        reference.ingest(event)
    later = T0 + timedelta(days=100)  # asleep: a reactivation notice, for the channels
    assert engine.tick(later).notices
    reference.tick(later)
    _untouched(engine)
    lead, expected = engine.get("u1"), reference.get("u1")
    assert lead is not None
    assert expected is not None
    assert lead.stage is expected.stage
    assert lead.profile == expected.profile
    assert lead.history == expected.history
    if fail and plugin is not MeddlingScorer:
        assert engine.failures, "the failure is recorded"


def test_a_plugin_changing_a_shared_container_before_a_failed_commit_leaves_the_store() -> None:
    """Regression: the lead plugins saw shared history, milestones and reentry with the
    stored lead, so a change there stayed although the event was rejected."""

    class Flaky(MemoryStorage):
        fail = False

        def commit(self, lead: Lead, event: Event | None, changes: Any) -> None:
            if self.fail:
                raise OSError("disk full")
            super().commit(lead, event, changes)

    storage = Flaky()

    class Provider:
        @leadlife.hookimpl
        def leadlife_storage(self) -> Flaky:
            return storage

    engine = leadlife.Engine(plugins=[Provider(), MeddlingEnricher(fail=False)])
    engine.ingest(ev("page_view"))
    storage.fail = True
    with pytest.raises(StorageError):
        engine.ingest(ev("page_view", at=hours(1)))
    _untouched(engine)


def test_event_data_is_read_only_all_the_way_down() -> None:
    event = Event.model_validate(
        {
            **ev("page_view", tags=["a"], utm={"source": "expo", "ids": [1, 2]}, kinds={"x"}),
            "id": "r1",
        }
    )
    assert isinstance(event.data, FrozenDict)
    assert isinstance(event.data["tags"], FrozenList)
    assert isinstance(event.data["utm"]["ids"], FrozenList)
    assert event.data["kinds"] == frozenset({"x"})
    for change in (
        lambda: event.data.__setitem__("page", "/x"),
        lambda: event.data.update(page="/x"),
        lambda: event.data.pop("tags"),
        lambda: event.data["tags"].append("b"),
        lambda: event.data["utm"].__setitem__("source", "changed"),
        lambda: event.data["utm"]["ids"].sort(),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert event.data == {"tags": ["a"], "utm": {"source": "expo", "ids": [1, 2]}, "kinds": {"x"}}
    assert Event(id="n", lead_id="u", type="page_view", at=T0).data == {}
    with pytest.raises(TypeError, match="read-only"):
        Event(id="n", lead_id="u", type="page_view", at=T0).data["x"] = 1  # type: ignore[index]
    # copies are changeable; pickles, deep copies and JSON give the same event back
    changed = {**event.data, "page": "/x"}
    assert changed["page"] == "/x"
    assert type(event.data.copy()) is dict
    for back in (pickle.loads(pickle.dumps(event)), copy.deepcopy(event)):
        assert back == event
        assert isinstance(back.data["tags"], FrozenList)
    assert Event.model_validate_json(event.model_dump_json()).data["utm"] == event.data["utm"]


def test_a_sender_changing_its_list_after_ingest_changes_no_lead() -> None:
    """Regression: lists and dicts of plain values were kept as the sender's own
    objects in the lead's profile, so changing them later changed the stored lead and
    every lead already handed out."""
    rulebook = leadlife.Rulebook.from_dict({"event_types": {"signup": {"profile": ["interests"]}}})
    engine = leadlife.Engine(rulebook=rulebook)
    raw = ev("signup", interests=["crm"])
    held = engine.ingest(raw)
    raw["data"]["interests"].append("added later by the sender")
    stored = engine.get("u1")
    assert stored is not None
    assert stored.profile["interests"] == ["crm"]
    assert held.profile["interests"] == ["crm"]


def test_an_enricher_changing_its_cached_answer_later_changes_no_lead() -> None:
    cache = {"tools": ["salesforce"]}

    class Cached:
        name = "cached"

        def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any]:
            return cache

        @leadlife.hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(self)

    engine = leadlife.Engine(plugins=[Cached()])
    engine.ingest(ev("page_view"))
    cache["tools"].append("hubspot")
    stored = engine.get("u1")
    assert stored is not None
    assert stored.profile["tools"] == ["salesforce"]


def test_a_scorer_from_outside_sees_the_scores_of_the_scorers_before_it() -> None:
    """Regression: scorers from outside leadlife shared one fork taken before the
    first of them ran, so a composite scorer read the previous event's scores."""

    class Base:
        name = "base"

        def score(self, lead: Lead, now: datetime) -> float:
            return 20.0 * lead.event_count

        def explain(self, lead: Lead, now: datetime) -> leadlife.ScoreResult:
            return leadlife.ScoreResult("base", 0.0)

    class Composite(Base):
        name = "composite"

        def score(self, lead: Lead, now: datetime) -> float:
            return lead.scores["base"] + 1.0

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            register(Base())
            register(Composite())

    engine = leadlife.Engine(plugins=[Plugin()], clock=leadlife.FixedClock(T0))
    seen = [engine.ingest(ev("page_view", at=hours(i))).scores["composite"] for i in range(3)]
    assert seen == [21.0, 41.0, 61.0]


def test_a_notify_hook_cannot_change_the_notice_for_the_rest() -> None:
    """Regression: Notice is frozen but its data was a plain dict shared by every
    channel, leadlife_notify and the tick's report: one channel's pop changed it for
    all of them."""
    seen: list[dict[str, Any]] = []

    class Popper:
        @leadlife.hookimpl(tryfirst=True)
        def leadlife_notify(self, notice: leadlife.Notice, lead: Lead) -> None:
            notice.data.pop("stage")  # type: ignore[attr-defined]

    class Reader:
        @leadlife.hookimpl
        def leadlife_notify(self, notice: leadlife.Notice, lead: Lead) -> None:
            seen.append(dict(notice.data))

    engine = leadlife.Engine(plugins=[Popper(), Reader()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view"))
    report = engine.tick(T0 + timedelta(days=91))
    (notice,) = report.notices
    assert notice.data["stage"] == "cold"
    assert seen == [dict(notice.data)]
    assert [failure.hook for failure in engine.failures] == ["leadlife_notify"]
    nested = leadlife.Notice("k", "u1", T0, "m", {"members": ["amy"], "by": {"team": "t"}})
    with pytest.raises(TypeError, match="read-only"):
        nested.data["members"].append("ben")
    assert pickle.loads(pickle.dumps(nested)) == nested


class Reader:
    """Of one kind of plugin: notes whether the lead it is handed shows a meddling."""

    def __init__(self, kind: type[Meddler]):
        self.kind = kind
        self.name = "reader"
        self.seen: list[bool] = []

    def look(self, lead: Lead) -> None:
        self.seen.append("vip" in lead.profile or lead.owner == "meddler")

    def enrich(self, event: Event, lead: Lead) -> None:
        self.look(lead)

    def score(self, lead: Lead, now: datetime) -> float:
        self.look(lead)
        return 0.0

    def explain(self, lead: Lead, now: datetime) -> leadlife.ScoreResult:
        raise NotImplementedError

    def route(self, lead: Lead) -> None:
        self.look(lead)

    def send(self, notice: leadlife.Notice, lead: Lead) -> None:
        self.look(lead)

    def as_plugin(self) -> object:
        reader = self
        register_hook = {
            MeddlingEnricher: "leadlife_register_enrichers",
            MeddlingScorer: "leadlife_register_scorers",
            MeddlingRouter: "leadlife_register_routers",
            MeddlingChannel: "leadlife_register_channels",
        }.get(self.kind)

        class Plugin:
            pass

        if register_hook is not None:

            def register(self: object, register: Callable[[object], None]) -> None:
                register(reader)

            setattr(Plugin, register_hook, leadlife.hookimpl(register))
        elif self.kind is MeddlingHook:

            def enrich_event(self: object, event: Event, lead: Lead) -> None:
                reader.look(lead)

            Plugin.leadlife_enrich_event = leadlife.hookimpl(enrich_event)  # type: ignore[attr-defined]
        elif self.kind is MeddlingStageHook:

            def stage_changed(self: object, lead: Lead, change: StageChange) -> None:
                reader.look(lead)

            Plugin.leadlife_stage_changed = leadlife.hookimpl(stage_changed)  # type: ignore[attr-defined]
        else:

            def notify(self: object, notice: leadlife.Notice, lead: Lead) -> None:
                reader.look(lead)

            Plugin.leadlife_notify = leadlife.hookimpl(notify)  # type: ignore[attr-defined]
        return Plugin()


@pytest.mark.parametrize("reader_first", [True, False], ids=["reader-first", "meddler-first"])
@pytest.mark.parametrize(
    "kind",
    MEDDLERS,
)
def test_what_one_plugin_changes_in_its_lead_does_not_reach_the_next(
    kind: type[Meddler], reader_first: bool
) -> None:
    """Regression: the plugins of one step shared one fork, so a failed enricher's
    forged company reached the next enricher (and through its answer the store), a
    failed scorer's change reached the next scorer's score, and a channel's change of
    owner reached leadlife_notify."""
    reader = Reader(kind)
    plugins = [reader.as_plugin(), kind(fail=True)]
    engine = leadlife.Engine(
        plugins=plugins if reader_first else plugins[::-1], clock=leadlife.FixedClock(T0)
    )
    engine.ingest(ev("page_view"))
    engine.ingest(ev("form_submit", at=hours(1), **FORM))
    engine.tick(T0 + timedelta(days=100))  # asleep: a reactivation notice
    assert reader.seen, "the reader was called"
    assert not any(reader.seen), f"the reader saw the meddling: {reader.seen}"
    _untouched(engine)


def test_the_hosts_own_enrichment_wins_over_an_installed_plugins() -> None:
    """Regression: results were merged in pluggy's call order (the plugin registered
    last first), so an installed plugin, registered first, overwrote the answer of
    the plugin the host passed to Engine(plugins=...)."""

    def answering(company: str, *, by_hook: bool) -> object:
        class Enricher:
            name = f"says-{company}"

            def enrich(self, event: Event, lead: Lead) -> dict[str, str]:
                return {"company": company}

        class Plugin:
            if by_hook:

                @leadlife.hookimpl
                def leadlife_enrich_event(self, event: Event) -> dict[str, str]:
                    return {"company": company}

            else:

                @leadlife.hookimpl
                def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
                    register(Enricher())

        return Plugin()

    for by_hook in (False, True):
        pm = leadlife.get_plugin_manager(load_entrypoints=False)
        pm.register(answering("Installed Ltd", by_hook=by_hook), name="installed")
        engine = leadlife.Engine(
            plugin_manager=pm,
            plugins=[answering("Host Ltd", by_hook=by_hook)],
            clock=leadlife.FixedClock(T0),
        )
        assert engine.ingest(ev("page_view")).profile["company"] == "Host Ltd"


def test_a_plugin_error_whose_message_fails_is_still_recorded() -> None:
    """Regression: an exception whose str() raised (an API client's error reading a
    reply that never came) escaped the failure record: after the commit the stored
    event was reported as not applied and the other hooks never heard of it."""

    class ApiError(Exception):
        def __str__(self) -> str:
            raise AttributeError("'NoneType' object has no attribute 'status'")

    heard: list[Stage] = []

    class CrmSync:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
            raise ApiError()

    class Audit:
        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
            heard.append(change.to_stage)

    engine = leadlife.Engine(plugins=[Audit(), CrmSync()], clock=leadlife.FixedClock(T0))
    report = engine.ingest_many([ev("form_submit", **FORM)])
    assert (report.accepted, report.rejected) == (1, [])
    assert heard == [Stage.MQL]
    (failure,) = report.failures
    assert failure.hook == "leadlife_stage_changed"
    assert failure.error == "ApiError (its message could not be read)"


class Mine(RouteDecision):
    """A host's own decision class, whose constructor takes other arguments."""

    def __init__(self, owner: str, domain: object):
        super().__init__("odd", "domain match", owner=owner, evidence={"domain": domain})


def _routed_by(decision: RouteDecision) -> leadlife.Engine:
    class Odd:
        name = "odd"

        def route(self, lead: Lead) -> RouteDecision:
            return decision

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
            register(Odd())

    engine = leadlife.Engine(plugins=[Plugin()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("form_submit", **FORM))
    return engine


@pytest.mark.parametrize(
    ("decision", "problem"),
    [
        (RouteDecision("odd", "r", owner=["amy"]), "owner is ['amy']"),  # type: ignore[arg-type]
        (RouteDecision("odd", "r", owner="   "), "owner is '   '"),
        (RouteDecision("odd", "r", team=""), "team is ''"),
        (RouteDecision(None, "r", owner="amy"), "router or reason is not text"),  # type: ignore[arg-type]
    ],
)
def test_a_routers_decision_without_a_usable_owner_or_team_is_its_failure(
    decision: RouteDecision, problem: str
) -> None:
    """Regression: a RouteDecision was trusted whole: a list owner became the lead's
    owner (or, under a routing configuration, rejected the event blaming its data)."""
    engine = _routed_by(decision)
    lead = engine.get("u1")
    assert lead.stage is Stage.MQL
    assert (lead.owner, lead.assignments) == (None, ())
    (failure,) = engine.failures
    assert failure.hook == "router odd"
    assert problem in failure.error


@pytest.mark.parametrize(
    ("decision", "owner", "evidence", "left_out"),
    [
        (RouteDecision("odd", "r", owner=42), "42", {}, None),  # type: ignore[arg-type]
        (Mine("amy", "acme.com"), "amy", {"domain": "acme.com"}, None),
        (Mine("amy", object()), "amy", {}, "domain"),
        (RouteDecision("odd", "r", owner="amy", evidence=[1]), "amy", {}, "not a mapping"),  # type: ignore[arg-type]
    ],
)
def test_a_routers_decision_stands_with_the_evidence_it_can_keep(
    decision: RouteDecision, owner: str, evidence: dict[str, Any], left_out: str | None
) -> None:
    """Regression (of the check above): a host's RouteDecision subclass failed the
    whole event (it was rebuilt with its own constructor), and a decision whose
    evidence held a host object lost its owner to the next router. A CRM's numeric
    user id is read as its digits."""
    engine = _routed_by(decision)
    (assignment,) = engine.get("u1").assignments
    assert (assignment.to_owner, dict(assignment.evidence)) == (owner, evidence)
    assert type(engine.get("u1").owner) is str
    if left_out is None:
        assert not engine.failures
    else:
        (failure,) = engine.failures
        assert failure.hook == "router odd"
        assert left_out in failure.error


def test_a_routers_evidence_is_kept_read_only() -> None:
    """Regression: the evidence was kept by reference, so the router could change
    the stored lead later without an event."""
    evidence: dict[str, Any] = {"matched": ["acme.com"]}

    class Keeper:
        name = "keeper"

        def route(self, lead: Lead) -> RouteDecision:
            return RouteDecision("keeper", "domain match", owner="amy", evidence=evidence)

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
            register(Keeper())

    engine = leadlife.Engine(plugins=[Plugin()], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("form_submit", **FORM))
    evidence["matched"].append("FORGED")
    evidence["owner"] = "mallory"
    (assignment,) = engine.get("u1").assignments
    assert assignment.to_owner == "amy"
    assert dict(assignment.evidence) == {"matched": ["acme.com"]}
    with pytest.raises(TypeError, match="read-only"):
        assignment.evidence["matched"].append("x")


def test_a_late_event_keeps_an_enrichers_dead_phone_flag() -> None:
    """Regression: on a late event the enrichment filled the gaps first, then the
    event's own phone was checked and set phone_valid again: a number the enricher
    said is dead qualified the lead."""

    class DeadLine:
        name = "dead-line"

        def enrich(self, event: Event, lead: Lead) -> dict[str, Any] | None:
            return {"phone_valid": False} if "phone" in event.data else None

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(DeadLine())

    engine = leadlife.Engine(plugins=[Plugin()], clock=leadlife.FixedClock(T0))
    in_order = engine.ingest(ev("form_submit", lead="u1", **FORM))
    engine.ingest(ev("page_view", lead="u2", at=hours(1)))
    late = engine.ingest(ev("form_submit", lead="u2", **FORM))
    assert (in_order.stage, in_order.profile["phone_valid"]) == (Stage.COLD, False)
    assert (late.stage, late.profile["phone_valid"]) == (Stage.COLD, False)
    assert late.profile["phone"] == in_order.profile["phone"]


def test_a_tryfirst_enrichment_wins_whatever_the_registration_order() -> None:
    """The plugin pluggy asks first wins a field, as for routers: a marker moves it."""

    class Early:
        @leadlife.hookimpl(tryfirst=True)
        def leadlife_enrich_event(self, event: Event) -> dict[str, str]:
            return {"company": "Early Ltd"}

    class Late:
        @leadlife.hookimpl
        def leadlife_enrich_event(self, event: Event) -> dict[str, str]:
            return {"company": "Late Ltd"}

    engine = leadlife.Engine(plugins=[Early(), Late()], clock=leadlife.FixedClock(T0))
    assert engine.ingest(ev("page_view")).profile["company"] == "Early Ltd"


def test_an_enrichers_unreadable_answer_whose_error_has_no_message_is_its_failure() -> None:
    """Regression: the failure text embedded str() of the error a mapping raised while
    being read; when that str() raised too, the whole event failed."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise AttributeError("response")

    class Lazy(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            raise Unprintable()

        def __iter__(self) -> Any:
            raise Unprintable()

        def __len__(self) -> int:
            return 1

    class Proxy:
        name = "proxy"

        def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any]:
            return Lazy()

    class Plugin:
        @leadlife.hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(Proxy())

    engine = leadlife.Engine(plugins=[Plugin()], clock=leadlife.FixedClock(T0))
    assert engine.ingest(ev("page_view")).event_count == 1
    (failure,) = engine.failures
    assert failure.hook == "enricher proxy"
    assert "Unprintable (its message could not be read)" in failure.error
