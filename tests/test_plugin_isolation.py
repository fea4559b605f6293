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
    [
        MeddlingEnricher,
        MeddlingHook,
        MeddlingScorer,
        MeddlingRouter,
        MeddlingStageHook,
        MeddlingNotify,
    ],
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
