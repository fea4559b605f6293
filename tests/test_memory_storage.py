"""The in-memory storage: leads kept as one object each, events as compact rows."""

from __future__ import annotations

import gc
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadlife
from leadlife import Lead, Stage
from leadlife.behaviour import Behaviour
from leadlife.errors import StorageError
from leadlife.lead import Assignment
from leadlife.plugins.default_storage import MemoryStorage
from tests.conftest import T0
from tests.helpers import days, ev, hours
from tests.strategies import event_payloads

PHONE = "+8613800138000"


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the stored leads that took a new state in place, in order."""
    calls: list[str] = []
    original = Lead.take_state

    def counting(self: Lead, other: Lead, **options: bool) -> None:
        calls.append(self.id)
        original(self, other, **options)

    monkeypatch.setattr(Lead, "take_state", counting)
    return calls


# -- one object per lead ------------------------------------------------------------


def test_a_lead_nobody_holds_takes_each_new_state_in_place(
    engine: leadlife.Engine, taken: list[str]
) -> None:
    """Once stored, a lead that only the store holds is updated, not replaced."""
    engine.ingest_many(
        [
            ev("download", asset_id="a1"),
            ev("form_submit", hours(1), phone=PHONE, asset_id="p1"),
            ev("page_view", hours(2), page="pricing"),
            ev("download", lead="u2", asset_id="a1"),
        ]
    )
    assert taken == ["u1", "u1"]
    lead = engine.get("u1")
    assert (lead.stage, lead.event_count, lead.behaviour.total("download")) == (Stage.MQL, 3, 1)
    assert [change.to_stage for change in lead.history] == [Stage.WARM, Stage.MQL]


def test_a_lead_from_ingest_or_get_keeps_its_state(
    engine: leadlife.Engine, taken: list[str]
) -> None:
    """A lead from get or ingest never changes under its holder; being the holder's
    own copy, it leaves the stored lead free to take each new state in place."""
    held = engine.ingest(ev("download", asset_id="a1"))
    got = engine.get("u1")
    before = held.fork()
    engine.ingest(ev("form_submit", hours(1), phone=PHONE, asset_id="p1"))
    assert taken == ["u1"]
    assert held.same_state(before)
    assert got.same_state(before)
    assert engine.get("u1").stage is Stage.MQL


def test_changing_a_lead_from_ingest_or_get_changes_nothing_stored(
    engine: leadlife.Engine,
) -> None:
    """Regression: the lead ingest or get returned shared its profile, scores,
    counters and history with the stored lead, so a caller writing to it (against
    the docs, but easily done) changed the store and the next event's rules."""
    engine.ingest(ev("download", asset_id="a1"))
    for lead in (engine.ingest(ev("page_view", hours(1))), engine.get("u1")):
        lead.profile["phone"] = PHONE
        lead.scores["points"] = 1e6
        lead.behaviour.record("form_submit", lead.last_event_ts or 0.0, 30)
        lead.history.clear()
        lead.milestones["contact_left"] = T0
    stored = engine.get("u1")
    assert "phone" not in stored.profile
    assert stored.scores["points"] < 1e6
    assert stored.behaviour.total("form_submit") == 0
    assert [change.to_stage for change in stored.history] == [Stage.WARM]
    assert stored.milestones == {}
    later = engine.ingest(ev("page_view", hours(2)))
    assert later.stage is Stage.WARM  # no phone was given: not MQL


@pytest.mark.parametrize("part", ["behaviour", "counters"])
def test_a_held_behaviour_or_counters_keep_their_counts(
    engine: leadlife.Engine, taken: list[str], part: str
) -> None:
    """Holding only a lead's behaviour, or its raw counters, is holding the lead."""
    engine.ingest(ev("download", asset_id="a1"))
    behaviour = engine.storage.get("u1").behaviour  # the stored lead's own
    held: Any = behaviour if part == "behaviour" else behaviour.stats
    del behaviour
    counts_before = dict(held.totals()) if part == "behaviour" else dict(held)
    engine.ingest(ev("download", hours(1), asset_id="a2"))
    assert taken == []
    counts_after = dict(held.totals()) if part == "behaviour" else dict(held)
    assert counts_after == counts_before
    assert engine.get("u1").behaviour.total("download") == 2


def test_a_held_history_keeps_its_changes(engine: leadlife.Engine, taken: list[str]) -> None:
    """Holding only a lead's history list keeps that list as it was, while the
    stored lead itself still takes the new state in place."""
    engine.ingest(ev("download", asset_id="a1"))  # COLD -> WARM
    history = engine.storage.get("u1").history  # the stored lead's own
    engine.ingest(ev("form_submit", hours(1), phone=PHONE, asset_id="p1"))  # -> MQL
    assert taken == ["u1"]
    assert [change.to_stage for change in history] == [Stage.WARM]
    assert [change.to_stage for change in engine.get("u1").history] == [Stage.WARM, Stage.MQL]


def test_a_history_nobody_else_holds_is_extended_in_place(
    engine: leadlife.Engine,
) -> None:
    """The stored lead keeps one history list, its changes appended."""
    engine.ingest_many(
        [
            ev("download", asset_id="a1"),  # COLD -> WARM
            ev("page_view", hours(1), page="pricing"),  # no move
            ev("form_submit", hours(2), phone=PHONE, asset_id="p1"),  # -> MQL
            ev("company_verified", hours(3), company="Acme", industry="media"),  # -> SQL
        ]
    )
    first = id(engine.storage._leads["u1"].history)  # type: ignore[attr-defined]
    engine.ingest_many([ev("deal_won", hours(4), amount=1)])
    lead = engine.storage._leads["u1"]  # type: ignore[attr-defined]
    assert id(lead.history) == first
    assert [change.to_stage for change in lead.history] == [
        Stage.WARM,
        Stage.MQL,
        Stage.SQL,
        Stage.WON,
    ]


def test_take_state_extends_a_history_only_when_asked() -> None:
    """With extend_history the list is kept and extended; without, it is taken."""
    source = _full_lead("u1")
    for extend in (True, False):
        target = source.working_copy()
        target.history = []
        kept = target.history
        target.take_state(source, extend_history=extend)
        assert target.history == source.history
        assert (target.history is kept) is extend
        assert (target.history is source.history) is not extend


def test_a_hook_keeping_the_lead_keeps_a_snapshot(taken: list[str]) -> None:
    """The lead a stage hook receives stays as it was when the hook saw it."""

    class Keeper:
        def __init__(self) -> None:
            self.seen: list[tuple[Lead, Stage]] = []

        @leadlife.hookimpl
        def leadlife_stage_changed(self, lead: Lead, change: leadlife.StageChange) -> None:
            self.seen.append((lead, change.to_stage))

    keeper = Keeper()
    engine = leadlife.Engine(plugins=[keeper], clock=leadlife.FixedClock(T0))
    engine.ingest_many(
        [
            ev("download", asset_id="a1"),
            ev("form_submit", hours(1), phone=PHONE, asset_id="p1"),
            ev("company_verified", hours(2), company="Acme", industry="media"),
        ]
    )
    assert [(lead.stage, stage) for lead, stage in keeper.seen] == [
        (Stage.WARM, Stage.WARM),
        (Stage.MQL, Stage.MQL),
        (Stage.SQL, Stage.SQL),
    ]
    assert [lead.event_count for lead, _ in keeper.seen] == [1, 2, 3]


class FailingAfterRow(MemoryStorage):
    """Raises while building the event's row, as a bad input there would."""

    def _row(self, event: leadlife.Event) -> tuple[Any, ...]:
        if event.type == "page_view":
            raise RuntimeError("row refused")
        return super()._row(event)

    @leadlife.hookimpl
    def leadlife_storage(self) -> MemoryStorage:
        return self


def test_a_commit_that_fails_changes_no_stored_lead(taken: list[str]) -> None:
    """Commit builds everything that can fail before it writes: all or nothing."""
    storage = FailingAfterRow()
    engine = leadlife.Engine(plugins=[storage], clock=leadlife.FixedClock(T0))
    engine.ingest(ev("download", asset_id="a1"))
    before = engine.get("u1").fork()
    with pytest.raises(StorageError):
        engine.ingest(ev("page_view", hours(1), page="pricing"))
    assert engine.get("u1").same_state(before)
    assert len(list(storage.events("u1"))) == 1
    assert taken == []


def _full_lead(lead_id: str) -> Lead:
    """A lead whose every field differs from a fresh lead's."""
    lead = leadlife.Engine(clock=leadlife.FixedClock(T0)).ingest(
        ev("form_submit", lead=lead_id, phone=PHONE, asset_id="p1", company="Acme")
    )
    lead.behaviour.record("download", T0.timestamp(), 30)
    lead.owner, lead.team, lead.asleep_ts = "rep-1", "team-a", 1.0
    lead.reentry = {Stage.SAL: T0}
    lead.assignments = (Assignment(T0, "assigned", None, "rep-1", "team-a", "by hand", by="mgr"),)
    lead.follow_up = object()  # type: ignore[assignment]  # only its identity is checked
    return lead


def test_take_state_takes_every_field_but_the_id() -> None:
    """Every attrs field of Lead is taken, so a new field cannot be forgotten."""
    source = _full_lead("u1")
    fresh = Lead("u1")
    differing = [
        f.name for f in attrs.fields(Lead) if getattr(fresh, f.name) != getattr(source, f.name)
    ]
    assert set(differing) == {f.name for f in attrs.fields(Lead)} - {"id"}
    fresh.take_state(source)
    assert fresh.same_state(source)


def test_take_counts_keeps_its_own_dict() -> None:
    """The counters are updated in place; a type the other lacks makes a whole copy."""
    mine, theirs = Behaviour(), Behaviour()
    mine.record("download", 0.0, 30)
    counters = mine.stats
    theirs.record("download", 0.0, 30)
    theirs.record("download", 10.0, 30)
    theirs.record("page_view", 10.0, 30)
    mine.take_counts(theirs)
    assert mine.stats is counters
    assert mine == theirs
    lesser = Behaviour()
    lesser.record("search", 0.0, 30)
    mine.take_counts(lesser)
    assert mine == lesser
    assert mine.stats is not lesser.stats


@given(
    st.lists(
        st.tuples(st.sampled_from(["u1", "u2", "u3"]), event_payloads(), st.integers(0, 24 * 40)),
        min_size=1,
        max_size=40,
    )
)
def test_updating_in_place_and_replacing_store_the_same_leads(
    steps: list[tuple[str, tuple[str, dict[str, Any]], int]],
) -> None:
    """A store whose leads someone holds (each replaced) ends with the same leads and
    events as one that updates them in place."""
    events = [
        {
            "id": f"s{index}",
            "lead_id": lead_id,
            "type": kind,
            "at": T0 + hours(offset),
            "data": data,
        }
        for index, (lead_id, (kind, data), offset) in enumerate(steps)
    ]
    in_place = leadlife.Engine(clock=leadlife.FixedClock(T0))
    replaced = leadlife.Engine(clock=leadlife.FixedClock(T0))
    held: list[Lead] = []
    taken: list[str] = []
    original = Lead.take_state

    def counting(self: Lead, other: Lead, **options: bool) -> None:
        taken.append(self.id)
        original(self, other, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Lead, "take_state", counting)
        for event in events:
            replaced.ingest_many([event])
            stored = replaced.storage.get(event["lead_id"])
            if stored is not None:
                held.append(stored)
        assert taken == []
        report = in_place.ingest_many(events)
        # Every accepted event of a lead already stored updated it in place.
        assert len(taken) == report.accepted - len(in_place.storage)
        for engine in (in_place, replaced):
            engine.tick(T0 + days(45))
    assert sorted(lead.id for lead in in_place.storage.leads()) == sorted(
        lead.id for lead in replaced.storage.leads()
    )
    for lead in in_place.storage.leads():
        assert lead.same_state(replaced.get(lead.id))
    assert list(in_place.storage.events()) == list(replaced.storage.events())


# -- events as compact rows -------------------------------------------------------


def test_event_rows_drop_out_of_the_collectors_view(engine: leadlife.Engine) -> None:
    """Rows of events whose data holds plain values are not tracked by the cyclic gc."""
    engine.ingest_many(
        [
            ev("download", asset_id="a1"),
            ev("page_view", hours(1), page="pricing"),
            ev("chat_replied", hours(2)),
            ev("quote_sent", hours(3), lead="u2", amount=5),
        ]
    )
    gc.collect()
    rows = [row for log in engine.storage._events.values() for row in log]  # type: ignore[attr-defined]
    assert len(rows) == 4
    assert not any(gc.is_tracked(row) for row in rows)


# Text times carry offsets in whole minutes; datetimes may carry any offset.
_OFFSETS = st.integers(-1439, 1439).map(lambda minutes: timedelta(minutes=minutes))
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
_DATA = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(
        _VALUES,
        st.lists(_VALUES, max_size=3),
        st.dictionaries(st.text(max_size=4), _VALUES, max_size=2),
    ),
    max_size=4,
)


@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2400, 1, 1),
        timezones=st.builds(timezone, _OFFSETS),
    ),
    as_text=st.booleans(),
    data=_DATA,
    channel=st.none() | st.sampled_from(["seo", "wecom"]),
)
def test_events_read_back_as_they_came_in(
    moment: datetime, as_text: bool, data: dict[str, Any], channel: str | None
) -> None:
    """A stored event reads back equal: the same instant, offset, text and data."""
    storage = MemoryStorage()
    raw = {
        "id": "e1",
        "lead_id": "u1",
        "type": "page_view",
        "at": moment.isoformat() if as_text else moment,
        "channel": channel,
        "data": data,
    }
    event = leadlife.Event.model_validate(raw)
    storage.commit(Lead("u1"), event, [])
    (back,) = storage.events("u1")
    assert back == event
    assert back.at.utcoffset() == event.at.utcoffset()
    assert back.at.isoformat() == event.at.isoformat()
    assert back.data == event.data


def test_named_zones_are_kept_as_given() -> None:
    """A time in a named zone keeps its zone, daylight saving and all."""
    storage = MemoryStorage()
    berlin = ZoneInfo("Europe/Berlin")
    moments = [
        datetime(2026, 7, 1, 9, 0, tzinfo=berlin),
        datetime(2026, 12, 1, 9, 0, tzinfo=berlin),
    ]
    for index, moment in enumerate(moments):
        event = leadlife.Event(id=f"z{index}", lead_id="u1", type="page_view", at=moment)
        storage.commit(Lead("u1"), event, [])
    assert [event.at for event in storage.events("u1")] == moments
    assert all(event.at.tzinfo is berlin for event in storage.events("u1"))


def test_events_read_back_are_independent_copies(engine: leadlife.Engine) -> None:
    """The data of an event read back cannot be changed (a copy can), and the stored
    event stays as sent."""
    engine.ingest(ev("download", asset_id="a1"))
    (first,) = engine.storage.events("u1")
    with pytest.raises(TypeError, match="read-only"):
        first.data["asset_id"] = "changed"
    changed = first.data.copy()
    changed["asset_id"] = "changed"
    (again,) = engine.storage.events("u1")
    assert again.data == {"asset_id": "a1"}
    assert again.at == T0.astimezone(UTC)


def test_another_thread_never_reads_a_lead_half_way_through_its_update() -> None:
    """A reader thread sees each stored lead either before or after an event, never
    during the commit that makes it take the new state."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    events = [
        {"id": f"t{i}", "lead_id": "u1", "type": "page_view", "at": T0 + hours(i / 100)}
        for i in range(3000)
    ]
    torn: list[tuple[int, int]] = []
    finished = threading.Event()

    def read() -> None:
        while not finished.is_set():
            lead = engine.storage.get("u1")
            if lead is not None and lead.behaviour.total("page_view") != lead.event_count:
                torn.append((lead.behaviour.total("page_view"), lead.event_count))
            del lead  # held, the lead would be replaced instead of updated

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    reader = threading.Thread(target=read)
    try:
        reader.start()
        report = engine.ingest_many(events)
    finally:
        finished.set()
        reader.join()
        sys.setswitchinterval(interval)
    assert report.accepted == len(events)
    assert torn == []


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1969, 7, 20, 20, 17, 40, 5, tzinfo=UTC),
        datetime(2200, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ],
)
def test_times_outside_1970_to_2106_are_kept_as_given(moment: datetime) -> None:
    """Outside the range a float epoch holds exactly, a row keeps the datetime itself."""
    storage = MemoryStorage()
    event = leadlife.Event(id="e1", lead_id="u1", type="page_view", at=moment)
    storage.commit(Lead("u1"), event, [])
    (row,) = storage._events["u1"]  # type: ignore[attr-defined]
    assert row[2] is event.at
    (back,) = storage.events("u1")
    assert back.at == moment


def test_nested_event_data_is_the_stores_own(engine: leadlife.Engine) -> None:
    """Regression: nested lists and dicts in data were shared with the sender and with
    readers, so changing them after ingest rewrote the stored log."""
    raw = ev("page_view", tags=["a"], utm={"source": "expo"}, page="/x")
    engine.ingest(raw)
    raw["data"]["tags"].append("changed by the sender")
    raw["data"]["utm"]["source"] = "changed"
    (read,) = engine.storage.events("u1")
    assert read.data == {"tags": ["a"], "utm": {"source": "expo"}, "page": "/x"}
    with pytest.raises(TypeError, match="read-only"):
        read.data["tags"].clear()
    (again,) = engine.storage.events("u1")
    assert again.data["tags"] == ["a"]


def test_due_names_a_lead_once_whatever_its_heap_entries() -> None:
    """Regression: a check moved earlier and then back left two heap entries at the same
    time, and due() named the lead twice (ticking it twice)."""
    storage = MemoryStorage()

    def check_at(ts: float) -> None:
        lead = Lead("u1")
        lead.next_check_ts = ts
        storage.commit(lead, None, [])

    check_at(1000.0)
    check_at(500.0)
    check_at(1000.0)
    assert storage.due(datetime.fromtimestamp(600, UTC)) == []
    assert storage.due(datetime.fromtimestamp(2000, UTC)) == ["u1"]
    assert storage.due(datetime.fromtimestamp(3000, UTC)) == ["u1"]  # still due: not moved


def test_event_lead_names_the_lead_of_an_event_id(engine: leadlife.Engine) -> None:
    """Ids map to the stored lead's own id object (no new string per event)."""
    engine.ingest(ev("page_view", event_id="p1"))
    storage = engine.storage
    assert isinstance(storage, MemoryStorage)
    assert storage.event_lead("p1") == "u1"
    assert storage.event_lead("nope") is None
    assert storage.event_lead("p1") is engine.get("u1").id


def test_the_whole_event_log_reads_in_the_order_it_was_stored() -> None:
    """Regression: events() grouped the log by lead, so replaying it into a fresh
    engine routed leads in another order than the first engine did."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    sent = [
        ev("page_view", lead="ann", event_id="a1"),
        ev("page_view", hours(1), lead="bob", event_id="b1"),
        ev("page_view", hours(2), lead="ann", event_id="a2"),
        ev("page_view", hours(0.5), lead="cid", event_id="c1"),
        ev("page_view", hours(3), lead="bob", event_id="b2"),
    ]
    engine.ingest_many(sent)
    engine.ingest(sent[0])  # a duplicate is not stored again
    assert [event.id for event in engine.storage.events()] == ["a1", "b1", "a2", "c1", "b2"]
    assert [event.id for event in engine.storage.events("bob")] == ["b1", "b2"]
