"""What callers and plugins are handed is theirs: changing it changes no stored lead
and no later event's outcome, and later events do not change what they hold."""

from __future__ import annotations

import contextlib
import copy
import pickle
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadlife
from leadlife import Event, Lead, Stage, StageChange
from leadlife.errors import InvalidArgumentError, RulebookError
from leadlife.routing import RouteDecision, Routing
from leadlife.values import FrozenDict, FrozenList
from tests.conftest import T0
from tests.helpers import ev

TAGGING = {
    "extends": "default",
    "event_types": {"tagged": {"sets": {"tags": ["vip"], "meta": {"ids": [1]}}}},
}


def test_a_profile_value_the_rulebook_sets_is_no_list_shared_by_every_lead() -> None:
    """Regression: an event type's ``sets`` put the rulebook's own list and table in
    every lead's profile, so a caller appending to its copy's list changed the stored
    lead, every lead the event type set it on later, and the rulebook."""
    engine = leadlife.Engine(rulebook=TAGGING, clock=leadlife.FixedClock(T0))
    lead = engine.ingest(ev("tagged", lead="u1"))
    assert lead.profile["tags"] == ["vip"]
    assert lead.profile["meta"] == {"ids": [1]}
    with pytest.raises(TypeError):
        lead.profile["tags"].append("meddled")
    with pytest.raises(TypeError):
        lead.profile["meta"]["ids"].append(2)
    assert isinstance(lead.profile["meta"], FrozenDict)
    assert isinstance(lead.profile["meta"]["ids"], FrozenList)
    assert engine.get("u1").profile["tags"] == ["vip"]
    assert engine.ingest(ev("tagged", lead="u2")).profile["tags"] == ["vip"]
    assert engine.rulebook.event_types["tagged"].sets == {"tags": ["vip"], "meta": {"ids": [1]}}


def test_a_rulebook_setting_a_value_no_profile_can_hold_names_it() -> None:
    rulebook: dict[str, Any] = {
        "extends": "default",
        "event_types": {"tagged": {"sets": {"meta": {"when": object()}}}},
    }
    with pytest.raises(RulebookError) as caught:
        leadlife.Engine(rulebook=rulebook)
    assert caught.value.path == "event_types.tagged.sets.meta.when"
    assert "object" in str(caught.value)


def test_the_frozen_records_a_lead_and_a_tick_hand_out_hash() -> None:
    """Regression: an Assignment, a Notice and a RouteDecision are frozen, yet hashing
    one raised TypeError (their evidence or data is a mapping), even with none: a host
    could not keep the notices it sent, or a lead's assignments, in a set."""
    engine = leadlife.Engine(
        plugins=[Routing.from_dict(TEAMS)],
        clock=leadlife.FixedClock(T0),
    )
    lead = engine.ingest(ev("form_submit", phone="+8613800138000", asset_id="p1"))
    (assignment,) = lead.assignments
    report = engine.tick(T0 + timedelta(hours=1))  # the speed-to-lead window was missed
    assert report.notices
    kept = {*lead.assignments, *report.notices}
    for record in (*lead.assignments, *report.notices):
        assert record in kept
        for twin in (copy.copy(record), copy.deepcopy(record), pickle.loads(pickle.dumps(record))):
            assert twin == record
            assert hash(twin) == hash(record)
    decision = RouteDecision("accounts", "domain", team="inside", evidence=FrozenDict(domain="a.b"))
    assert hash(decision) == hash(attrs.evolve(decision, evidence=FrozenDict(domain="a.b")))
    assert {attrs.evolve(assignment, evidence=FrozenDict(place="Beijing"))}
    assert hash(report) == hash(attrs.evolve(report))


def test_explaining_a_lead_that_saw_no_event_asks_for_the_moment() -> None:
    """Regression: Lead.explain without ``now`` on a lead that saw no event raised a
    bare ValueError, no error of the library's, without a fix."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    with pytest.raises(InvalidArgumentError) as caught:
        Lead("fresh").explain(engine.scorers["points"])
    assert caught.value.argument == "now"
    assert "now=" in caught.value.fix
    assert Lead("fresh").explain(engine.scorers["points"], T0).value == 0.0


@pytest.mark.parametrize("other", [None, "u1", {"id": "u1"}])
def test_comparing_a_lead_with_no_lead_names_the_argument(other: object) -> None:
    """Regression: same_state with no Lead (a storage's None for a missing lead)
    raised AttributeError from its first field."""
    lead = Lead("u1")
    with pytest.raises(InvalidArgumentError) as caught:
        lead.same_state(other)  # type: ignore[arg-type]
    assert caught.value.argument == "other"
    assert lead.same_state(lead.fork())
    assert lead.same_state(copy.deepcopy(lead))


def test_events_hash_as_they_compare() -> None:
    """Regression: an Event is frozen, yet hashing one raised TypeError (its data is a
    read-only mapping, which does not hash, even when empty): neither the events a
    plugin is handed nor the stored log could be kept in a set."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view", event_id="p1", tags=["a", {"b": [1]}]))
    engine.ingest(ev("download", event_id="d1", at=timedelta(hours=1)))
    logged = list(engine.storage.events())
    assert len(set(logged)) == 2
    again = list(engine.storage.events())
    assert set(again) == set(logged)
    for event in logged:
        twin = Event.model_validate(
            {**event.model_dump(), "at": event.at.astimezone(timezone(timedelta(hours=8)))}
        )
        assert twin == event
        assert hash(twin) == hash(event)
        assert hash(pickle.loads(pickle.dumps(event))) == hash(event)
    assert hash(logged[0]) != hash(logged[1])


def test_an_explanation_reading_a_list_field_hashes() -> None:
    """Regression: a ScoreResult is frozen, yet hashing the explanation of a rule that
    read a list field (a form's multi-select) raised TypeError from its contribution's
    value."""
    rulebook = {
        **TAGGING,
        "event_types": {"tagged": {"profile": ["tags"]}},
        "scoring": {
            "fit": [{"id": "tagged", "when": {"field": "tags", "exists": True}, "points": 5}]
        },
    }
    engine = leadlife.Engine(rulebook=rulebook, clock=leadlife.FixedClock(T0))
    engine.ingest(ev("tagged", tags=["media", "retail"]))
    explained = engine.explain("u1", "rules")
    assert [c.value for c in explained.contributions if c.rule == "tagged"] == [["media", "retail"]]
    again = engine.explain("u1", "rules")
    assert again == explained
    assert hash(again) == hash(explained)
    assert len({explained, again, copy.deepcopy(explained)}) == 1


@pytest.mark.parametrize("scorer", ["rules", None, 3])
def test_explaining_a_lead_by_a_scorers_name_asks_for_the_scorer(scorer: object) -> None:
    """Regression: Lead.explain given a scorer's name (as engine.explain takes one)
    raised AttributeError: 'str' object has no attribute 'explain'."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    lead = engine.ingest(ev("download", asset_id="a1"))
    with pytest.raises(InvalidArgumentError) as caught:
        lead.explain(scorer)  # type: ignore[arg-type]
    assert caught.value.argument == "scorer"
    assert "engine.scorers" in caught.value.fix
    assert lead.explain(engine.scorers["rules"]) == engine.explain("u1", "rules")


# -- a property: what is handed out may be changed at will ------------------------------

TEAMS = {
    "teams": [{"id": "inside", "managers": ["ines"], "members": [{"id": "ian"}, {"id": "ivy"}]}],
    "routers": {"fallback": {"team": "inside"}},
    "sla": {"speed_to_lead_minutes": 30, "reassign_after_breaches": 1},
}
NESTED_RULES = {
    **TAGGING,
    "event_types": {
        **TAGGING["event_types"],
        "form_submit": {
            "points": 5,
            "milestone": "contact_left",
            "profile": ["phone", "email", "asset_id", "company", "tags"],
        },
    },
}


def _vandalise(lead: Lead, rng: random.Random) -> None:
    """Change what can be changed in ``lead``, all the way down, at random."""
    for _ in range(rng.randint(1, 6)):
        step = rng.randrange(12)
        if step == 0:
            lead.profile[rng.choice(["tags", "phone", "vip"])] = ["forged"]
        elif step == 1:
            for value in list(lead.profile.values()):
                with contextlib.suppress(TypeError, AttributeError):
                    value.append("forged")
                with contextlib.suppress(TypeError, AttributeError):
                    value["forged"] = True
            for assignment in lead.assignments:
                with contextlib.suppress(TypeError, AttributeError):
                    assignment.evidence["forged"] = True  # type: ignore[index]
        elif step == 2:
            lead.profile.clear()
        elif step == 3:
            lead.history.append(StageChange(T0, lead.stage, Stage.SAL, "forged", "forged"))
        elif step == 4:
            lead.history.clear()
        elif step == 5:
            lead.milestones["contact_left"] = T0 - timedelta(days=9)
            lead.reentry[Stage.SQL] = T0 + timedelta(days=9)
        elif step == 6:
            lead.behaviour.record("download", T0.timestamp(), 30)
            lead.behaviour.record("forged", T0.timestamp(), 30)
        elif step == 7:
            counters = lead.behaviour.stats
            assert isinstance(counters, dict)
            counters.clear()
        elif step == 8:
            lead.scores["points"] = 1e6
            lead.scores.clear()
            lead.score = -1.0
        elif step == 9:
            lead.owner, lead.team, lead.assignments = "forger", "forged", ()
            lead.follow_up = None
        elif step == 10:
            lead.stage = Stage.WON
            lead.event_count += 7
            lead.next_check_ts = lead.asleep_ts = 0.0
            lead.first_seen_ts = lead.last_event_ts = lead.last_activity_ts = 0.0
        else:
            lead.rulebook_digest, lead.scored_ts = None, 0.0


class Vandal:
    """A plugin of every kind from outside leadlife; with ``rng``, it changes every
    lead it is handed, and fails half the time where its answer would be None."""

    name = "vandal"

    def __init__(self, rng: random.Random | None):
        self.rng = rng

    def _touch(self, lead: Lead, *, may_fail: bool = True) -> None:
        if self.rng is not None:
            _vandalise(lead, self.rng)
            if may_fail and self.rng.random() < 0.5:
                raise RuntimeError("vandal failed")

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        self._touch(lead, may_fail=False)
        return {"region_hint": ["north", {"ids": [1]}]} if event.type == "page_view" else None

    def score(self, lead: Lead, now: datetime) -> float:
        self._touch(lead, may_fail=False)
        return 1.0

    def explain(self, lead: Lead, now: datetime) -> leadlife.ScoreResult:
        return leadlife.ScoreResult(self.name, 1.0)

    def route(self, lead: Lead) -> None:
        self._touch(lead)

    def send(self, notice: leadlife.Notice, lead: Lead) -> None:
        self._touch(lead)

    @leadlife.hookimpl
    def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
        register(self)

    @leadlife.hookimpl
    def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
        register(self)

    @leadlife.hookimpl
    def leadlife_register_routers(self, register: Callable[[object], None]) -> None:
        register(self)

    @leadlife.hookimpl
    def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
        register(self)

    @leadlife.hookimpl
    def leadlife_enrich_event(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        self._touch(lead)
        return None

    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
        self._touch(lead)

    @leadlife.hookimpl
    def leadlife_notify(self, notice: leadlife.Notice, lead: Lead) -> None:
        self._touch(lead)


def _state(engine: leadlife.Engine) -> list[tuple[Any, ...]]:
    """Every stored lead, field by field, and its event log."""
    found = []
    for lead in sorted(engine.storage.leads(), key=lambda lead: lead.id):
        fields = dict(lead.__getstate__())
        fields["behaviour"] = dict(lead.behaviour.items())
        found.append((fields, [event.model_dump() for event in engine.storage.events(lead.id)]))
    return found


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                *("page_view", "form_submit", "tagged", "call_attempt", "sales_accepted"),
                *("deal_won", "reopened", "resend", "tick"),
            ]
        ),
        st.sampled_from(["u1", "u2"]),
        st.integers(0, 60 * 24 * 40),  # minutes after T0
        st.booleans(),  # whether the caller changes what it got back
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.usefixtures("quiet_engine_log")
@settings(max_examples=25, deadline=None)
@given(actions=ACTIONS, rng=st.randoms(use_true_random=False))
def test_changing_what_was_handed_out_changes_nothing_stored(
    actions: list[tuple[str, str, int, bool]], rng: random.Random
) -> None:
    """Two engines take the same events and ticks; in one, every plugin from outside
    leadlife and the caller change every lead they are handed, all the way down. The
    stores, event logs, tick reports and plugin-free answers agree."""

    def build(vandal: Vandal) -> leadlife.Engine:
        return leadlife.Engine(
            rulebook=copy.deepcopy(NESTED_RULES),  # one rulebook's values each
            plugins=[Routing.from_dict(TEAMS), vandal],
            clock=leadlife.FixedClock(T0),
        )

    engine, reference = build(Vandal(rng)), build(Vandal(None))
    sent: list[dict[str, Any]] = []
    for number, (kind, lead_id, minutes, meddle) in enumerate(actions):
        at = T0 + timedelta(minutes=minutes)
        if kind == "tick":
            got, expected = engine.tick(at), reference.tick(at)
            assert (got.stage_changes, got.notices) == (expected.stage_changes, expected.notices)
            continue
        data: dict[str, Any] = {}
        if kind == "form_submit":
            data = {"phone": "+8613800138000", "asset_id": "p1", "tags": ["a", {"b": [1]}]}
        elif kind == "call_attempt":
            data = {"connected": False}
        elif kind == "sales_accepted":
            data = {"owner": "ivy"}
        event = {"id": f"e{number}", "lead_id": lead_id, "type": kind, "at": at, "data": data}
        if kind == "resend":
            if not sent:
                continue
            event = sent[minutes % len(sent)]
            lead_id = event["lead_id"]
        sent.append(event)
        for target in (engine, reference):
            try:
                lead = target.ingest(event)
            except leadlife.errors.LeadlifeError:
                continue
            if meddle and target is engine:
                _vandalise(lead, rng)
                _vandalise(target.get(lead_id), rng)
    assert _state(engine) == _state(reference)


def test_a_fork_of_a_rebuilt_lead_shares_no_nested_profile_value() -> None:
    """Regression: a lead a host's storage rebuilt (from JSON, say) holds plain lists,
    dicts and sets in its profile; fork() copied the profile one level deep, so a
    plugin from outside leadlife changing a list in its fork changed the lead."""
    lead = Lead("u1")
    lead.profile["tags"] = ["a", {"b": [1]}]
    lead.profile["seen"] = {"x"}
    fork = lead.fork()
    fork.profile["tags"].append("c")
    fork.profile["tags"][1]["b"].append(2)
    fork.profile["seen"].add("y")
    assert lead.profile == {"tags": ["a", {"b": [1]}], "seen": {"x"}}


class _Meddler:
    """A stage hook from outside leadlife that changes its lead's nested values."""

    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
        lead.profile["tags"].append("meddled")


def test_an_outside_stage_hook_cannot_change_a_stored_plain_list() -> None:
    """The same through the engine: a stored lead whose profile holds a plain list
    (as a storage that rebuilt it keeps it) stays as it was after a stage hook from
    outside leadlife changed the list in the lead it was handed."""
    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    engine = leadlife.Engine(plugins=[_Meddler()], plugin_manager=pm, clock=leadlife.FixedClock(T0))
    engine.ingest(ev("page_view", lead="u1"))
    stored = engine.storage.get("u1")
    assert stored is not None
    stored.profile["tags"] = ["kept"]  # a plain list, as JSON gives it back
    lead = engine.ingest(ev("form_submit", lead="u1", phone="+8613800138000", asset_id="p1"))
    assert lead.stage is Stage.MQL
    kept = engine.storage.get("u1")
    assert kept is not None
    assert kept.profile["tags"] == ["kept"]
