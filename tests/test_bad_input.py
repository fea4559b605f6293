"""Bad input raises the library's own errors, names the field and the fix, and changes nothing."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import leadlife
from leadlife import Stage, errors
from leadlife.errors import InvalidEventError, InvalidTimeError, LeadlifeError, RulebookError
from leadlife.rules import Rulebook
from tests.conftest import T0
from tests.helpers import ev, hours


def snapshot(engine: leadlife.Engine) -> tuple[list[tuple[str, str, int]], int]:
    leads = sorted((lead.id, lead.stage.value, lead.event_count) for lead in engine.storage.leads())
    return leads, len(list(engine.storage.events()))


@pytest.fixture
def busy(engine: leadlife.Engine) -> leadlife.Engine:
    engine.ingest(ev("download", asset_id="a1"))
    return engine


@pytest.mark.parametrize(
    ("mutate", "field", "fix"),
    [
        (lambda e: e.pop("lead_id"), "lead_id", "add the field"),
        (lambda e: e.pop("at"), "at", "add the field"),
        (lambda e: e.update(at="2026-11-02T09:00:00"), "at", "add a UTC offset"),
        (lambda e: e.update(at="yesterday"), "at", "ISO 8601"),
        # Regression: numbers were read as Unix seconds, 20261102 as 1970-08-23.
        (lambda e: e.update(at="20261102"), "at", "ISO 8601"),
        (lambda e: e.update(at=20261102), "at", "ISO 8601"),
        (lambda e: e.update(at=1769000000123), "at", "ISO 8601"),
        (lambda e: e.update(at=" 1769000000.5 "), "at", "ISO 8601"),
        (lambda e: e.update(at=b"1769000000"), "at", "ISO 8601"),
        (lambda e: e.update(at=np.str_("1769000000")), "at", "ISO 8601"),
        (lambda e: e.update(at=np.int64(1769000000)), "at", "ISO 8601"),
        (lambda e: e.update(at=np.True_), "at", "ISO 8601"),
        # ...while a date alone is still told what it lacks
        (lambda e: e.update(at="2026-11-02"), "at", "add a UTC offset"),
        (lambda e: e.update(type=""), "type", "non-empty"),
        (lambda e: e.update(colour="red"), "colour", "put it under 'data'"),
        (lambda e: e.update(data=[1, 2]), "data", "object"),
    ],
)
def test_invalid_event_names_field_and_fix(
    busy: leadlife.Engine, mutate: Any, field: str, fix: str
) -> None:
    """Each malformed event raises InvalidEventError naming the field; nothing changes."""
    before = snapshot(busy)
    event = ev("page_view", hours(1), event_id="bad1")
    mutate(event)
    with pytest.raises(InvalidEventError) as info:
        busy.ingest(event)
    assert info.value.field == field
    assert fix in info.value.fix
    assert field in str(info.value)
    assert "Fix:" in str(info.value)
    assert snapshot(busy) == before
    assert not busy.storage.has_event("bad1")


def test_naive_datetime_object_is_refused(busy: leadlife.Engine) -> None:
    """An Event built from a naive datetime fails at the edge."""
    event = ev("page_view")
    event["at"] = datetime(2026, 11, 2, 9, 0)
    with pytest.raises(InvalidEventError, match=r"at: .*timezone"):
        busy.ingest(event)


def test_not_a_mapping_is_refused(busy: leadlife.Engine) -> None:
    """Passing something that is neither an Event nor a mapping is a clear error."""
    with pytest.raises(InvalidEventError, match="expected an Event or a mapping"):
        busy.ingest(["page_view"])  # type: ignore[arg-type]


def test_unknown_type_under_strict_rulebook(pm: leadlife.plugins.LeadlifePluginManager) -> None:
    """A strict rulebook rejects an undeclared event type, saying how to declare it."""
    engine = leadlife.Engine({"extends": "default", "strict": True}, plugin_manager=pm)
    engine.ingest(ev("page_view", page="blog"))
    before = snapshot(engine)
    with pytest.raises(InvalidEventError) as info:
        engine.ingest(ev("tiktok_like", hours(1)))
    assert info.value.field == "type"
    assert "[event_types.tiktok_like]" in info.value.fix
    assert snapshot(engine) == before


def test_unknown_type_under_lenient_rulebook_is_counted(engine: leadlife.Engine) -> None:
    """A lenient rulebook records an unknown type and counts it as lead activity."""
    lead = engine.ingest(ev("tiktok_like", hours(1)))
    assert lead.behaviour.total("tiktok_like") == 1
    assert lead.last_activity_at == T0 + hours(1)


def test_malformed_toml_rulebook(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the line."""
    path = tmp_path / "rules.toml"
    path.write_text("[bands]\nwarm = 10\nhot = \n", encoding="utf-8")
    with pytest.raises(RulebookError) as info:
        Rulebook.load(path)
    assert str(path) in str(info.value)
    assert "line 3" in str(info.value)
    assert "fix the TOML syntax" in info.value.fix


def test_missing_rulebook_file(tmp_path: Path) -> None:
    """A path that does not exist is a RulebookError, not an OSError."""
    with pytest.raises(RulebookError, match="cannot read the file"):
        Rulebook.load(tmp_path / "nope.toml")


def test_bad_rulebook_keeps_engine_state(busy: leadlife.Engine) -> None:
    """Loading a bad rulebook raises and the running engine keeps its rules and leads."""
    before = snapshot(busy)
    rules = busy.rulebook
    with pytest.raises(RulebookError):
        leadlife.load_rulebook({"bands": {"warm": 50, "hot": 10}})
    assert busy.rulebook is rules
    assert snapshot(busy) == before


def test_naive_tick_is_refused(busy: leadlife.Engine) -> None:
    """tick() with a naive datetime says how to make it aware."""
    with pytest.raises(InvalidTimeError, match="pass an aware datetime"):
        busy.tick(datetime(2026, 12, 1))


def test_unknown_lead(engine: leadlife.Engine) -> None:
    """get() of an unknown id raises LeadNotFoundError, a KeyError and a LeadlifeError."""
    with pytest.raises(KeyError, match="ingest an event for it first"):
        engine.get("ghost")
    with pytest.raises(LeadlifeError):
        engine.get("ghost")


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+14:00",
        "1899-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
    ],
)
def test_time_outside_the_engine_range_is_refused(busy: leadlife.Engine, at: str) -> None:
    """Regression: a "9999-12-31" placeholder was stored, then every later event of the
    lead failed with a bare ValueError, which also stopped ingest_many."""
    before = snapshot(busy)
    with pytest.raises(InvalidEventError, match="1900 to 2999") as info:
        busy.ingest(dict(ev("page_view"), at=at, id="far"))
    assert info.value.field == "at"
    assert snapshot(busy) == before
    report = busy.ingest_many([dict(ev("page_view"), at=at, id="far"), ev("download", hours(1))])
    assert (report.accepted, [r.event_id for r in report.rejected]) == (1, ["far"])


def test_times_at_the_ends_of_the_range_are_kept(engine: leadlife.Engine) -> None:
    """The first and the last second the engine accepts go through, and tick after them."""
    early = engine.ingest(dict(ev("page_view", lead="old"), at="1900-01-01T00:00:00Z"))
    late = engine.ingest(dict(ev("page_view", lead="new"), at="2999-12-31T23:59:59Z"))
    assert early.first_seen_at == datetime(1900, 1, 1, tzinfo=UTC)
    assert late.next_check_at is not None
    assert engine.tick(datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)).errors == ()


def test_event_id_of_another_existing_lead_is_refused(busy: leadlife.Engine) -> None:
    """Regression: an id already used by lead u1, sent for an existing lead u2, was
    counted as a duplicate and lost; for a new lead it was refused."""
    busy.ingest(ev("page_view", lead="u2", event_id="b0"))
    taken = next(event.id for event in busy.storage.events("u1"))
    reused = ev("deal_won", hours(2), lead="u2", event_id=taken)
    with pytest.raises(InvalidEventError, match="another lead") as info:
        busy.ingest(reused)
    assert info.value.field == "id"
    report = busy.ingest_many([reused])
    assert (report.duplicates, len(report.rejected)) == (0, 1)
    assert [event.id for event in busy.storage.events("u2")] == ["b0"]
    # The same id for its own lead is still a duplicate.
    assert busy.ingest_many([dict(reused, lead_id="u1")]).duplicates == 1


def test_a_resent_id_is_a_duplicate_whatever_the_rest_says(busy: leadlife.Engine) -> None:
    """Regression: a stored id resent with content the rules refuse (a reopen without a
    reason, a time out of range) was rejected, not counted as the duplicate it is."""
    taken = next(event.id for event in busy.storage.events("u1"))
    before = snapshot(busy)
    resent = [
        ev("reopened", hours(1), event_id=taken),
        dict(ev("page_view"), id=taken, at="9999-12-31T00:00:00Z"),
    ]
    report = busy.ingest_many(resent)
    assert (report.duplicates, report.rejected) == (2, [])
    assert snapshot(busy) == before


ONE_OF_EACH_ERROR: list[LeadlifeError] = [
    errors.LeadlifeError("plain"),
    errors.InvalidArgumentError("clock", "is no clock", "pass one"),
    errors.InvalidEventError("at", "bad", "fix it", event_id="e1"),
    errors.InvalidTimeError("now", None),
    errors.RegistrationError("p", "leadlife_storage", "bad"),
    errors.RulebookError("bands.hot", "too low", "raise it", source="x.toml"),
    errors.RoutingConfigError("teams.0", "bad", "fix", source="r.toml"),
    errors.StageGraphError("loops", [Stage.COLD]),
    errors.TransitionNotAllowed("u1", Stage.WON, Stage.SQL, [Stage.COLD]),
    errors.NotPermittedError("claim", "amy", "u1", "owned", "ask", event_id="e2"),
    errors.PluginError("p", "scorer x", "e3", ValueError("boom")),
    errors.StorageError("S", "Storage.get", None, OSError("locked")),
    errors.ProcessingError(TypeError("boolean value of NA is ambiguous"), event_id="e4"),
    errors.ReentrantIngestError("u1", "e5"),
    errors.LeadNotFoundError("u9"),
    errors.ModelError("plain"),
    errors.InsufficientDataError(3, 20, "won"),
    errors.ModelIntegrityError("m.joblib", "changed", "retrain"),
    errors.ModelVersionError("m.joblib", "scikit-learn", "1.0", "2.0"),
    errors.FeatureSchemaError("no x", "add x", missing=["x"], column="x"),
    errors.IngestInterrupted(3, leadlife.IngestReport(accepted=3), OSError("reset")),
]


@pytest.mark.parametrize("error", ONE_OF_EACH_ERROR, ids=lambda e: type(e).__name__)
def test_every_error_pickles_and_copies_with_its_attributes(error: LeadlifeError) -> None:
    """Regression: twelve error classes failed to unpickle (TypeError: missing
    arguments) and two came back with their message doubled, so reports keeping them
    could not go to a worker process or be deep-copied."""
    for again in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error), copy.copy(error)):
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert vars(again).keys() == vars(error).keys()


def test_every_error_class_is_in_the_pickling_test() -> None:
    """A new error class joins ONE_OF_EACH_ERROR."""
    assert {type(e).__name__ for e in ONE_OF_EACH_ERROR} == set(errors.__all__)


def test_a_report_with_rejections_pickles(busy: leadlife.Engine) -> None:
    """An IngestReport keeps each rejection's error; the report travels whole."""
    report = busy.ingest_many([ev("reopened", hours(1)), ev("page_view", hours(2))])
    again = pickle.loads(pickle.dumps(report))
    assert again.rejected[0].reason == report.rejected[0].reason
    assert isinstance(again.rejected[0].error, InvalidEventError)
    assert again.rejected[0].error.field == "data.reason"


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"clock": T0}, "clock"),
        ({"failure_log_size": -1}, "failure_log_size"),
        ({"failure_log_size": 1.5}, "failure_log_size"),
        ({"plugins": "leadlife_company_registry"}, "plugins"),
    ],
)
def test_engine_arguments_of_the_wrong_kind_are_refused_at_once(
    pm: leadlife.plugins.LeadlifePluginManager, arguments: dict[str, Any], argument: str
) -> None:
    """Regression: a datetime as the clock was accepted and failed at the first tick;
    a bad failure_log_size or plugins raised bare TypeErrors or ValueErrors."""
    with pytest.raises(errors.InvalidArgumentError) as info:
        leadlife.Engine(plugin_manager=pm, **arguments)
    assert info.value.argument == argument


def test_none_and_numpy_integers_are_fine_arguments(
    pm: leadlife.plugins.LeadlifePluginManager,
) -> None:
    """plugins=None is no plugins; failure_log_size=None keeps every failure, and a
    numpy integer is a size (regression: the first checks refused both)."""
    import numpy as np

    assert leadlife.Engine(plugins=None, plugin_manager=pm).ingest(ev("page_view")).event_count
    assert leadlife.Engine(failure_log_size=None, plugin_manager=pm).failures.maxlen is None
    assert leadlife.Engine(failure_log_size=np.int64(5), plugin_manager=pm).failures.maxlen == 5


@pytest.mark.parametrize("events", [None, 5, {"id": "e1"}])
def test_ingest_many_needs_an_iterable_of_events(engine: leadlife.Engine, events: Any) -> None:
    """Regression: None or a number raised a bare TypeError; one event dict was read as
    an iterable of its keys."""
    with pytest.raises(InvalidEventError, match="expected an iterable of events"):
        engine.ingest_many(events)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ({"reason": {1, object()}}, "data.reason", "type object"),
        ({"owner": 10**5000}, "data.owner", "over 4,000 digits"),
        ({"meta": {"tags": ["a", Unprintable()]}}, "data.meta.tags[1]", "type Unprintable"),
        ({"meta": {3: "x"}}, "data.meta", "int key"),
        ({"callback": lambda: None}, "data.callback", "type function"),
    ],
)
def test_data_values_no_rule_can_read_are_refused_at_the_edge(
    busy: leadlife.Engine, data: dict[str, Any], field: str, problem: str
) -> None:
    """Regression: such values passed validation, then failed inside the rules with a
    bare TypeError/ValueError naming no field (or made a lead every later use failed on)."""
    before = snapshot(busy)
    with pytest.raises(InvalidEventError, match=problem) as caught:
        busy.ingest(ev("deal_lost", hours(1), **data))
    assert caught.value.field == field
    assert "send text, a number" in caught.value.fix
    assert snapshot(busy) == before


def test_numpy_and_pandas_values_become_plain_values(engine: leadlife.Engine) -> None:
    """Events built from DataFrame rows carry numpy scalars and pandas' missing markers.

    Regression: pd.NA counted as a company, so the lead became an SQL without one;
    an ndarray industry broke every later scoring of the lead.
    """
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    engine.ingest(ev("form_submit", phone="+8613800138000", asset_id=np.str_("p1")))
    lead = engine.ingest(
        ev("company_verified", hours(1), company=pd.NA, industry=np.array(["media", "ads"]))
    )
    assert lead.stage is Stage.MQL  # no company: not an SQL
    assert lead.profile.get("company") is None
    assert lead.profile["industry"] == ["media", "ads"]
    assert type(lead.profile["asset_id"]) is str
    event = list(engine.storage.events("u1"))[-1]
    assert event.data == {"company": None, "industry": ["media", "ads"]}
    values = leadlife.Event.model_validate(
        ev("page_view", count=np.int64(3), share=np.float32(0.5), ok=np.bool_(True), at2=pd.NaT)
    ).data
    assert values == {"count": 3, "share": 0.5, "ok": True, "at2": None}
    assert [type(values[k]) for k in ("count", "share", "ok")] == [int, float, bool]
    # Regression: datetime64[ns] became integer nanoseconds through tolist().
    moments = leadlife.Event.model_validate(
        ev(
            "page_view",
            seen=np.datetime64("2026-11-02T09:00:00.123456789"),
            wait=np.timedelta64(90, "s"),
            days=pd.to_datetime(["2026-11-01", None]).values,
        )
    ).data
    assert moments == {
        "seen": datetime(2026, 11, 2, 9, 0, 0, 123456),
        "wait": timedelta(seconds=90),
        "days": [datetime(2026, 11, 1), None],
    }
    engine.tick(T0 + hours(48))
    assert engine.explain("u1", "rules").value == engine.get("u1").scores["rules"]
    assert list(engine.failures) == []


def test_values_drivers_and_json_give_are_kept_as_they_are() -> None:
    """Durations, bytes, IP addresses, enum members, sets and Decimals pass unchanged."""
    import enum
    import ipaddress
    from decimal import Decimal

    class Tier(enum.Enum):
        GOLD = "gold"

    data = {
        "wait": timedelta(minutes=5),
        "raw": b"\x00\x01",
        "ip": ipaddress.ip_address("203.0.113.7"),
        "tier": Tier.GOLD,
        "tags": {"a", "b"},
        "capital": Decimal("5000000.00"),
        "rows": [{"id": 1, "name": "x"}] * 3,
    }
    assert leadlife.Event.model_validate(ev("page_view", **data)).data == data


def test_one_event_failing_unforeseen_is_rejected_and_the_batch_goes_on(
    engine: leadlife.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a non-library exception from one event ended ingest_many mid-batch,
    with the later events never ingested and no report returned."""
    evaluate = engine.rulebook.evaluate

    def fragile(lead: Any, event: Any, **kwargs: Any) -> Any:
        if event.id == "bad":
            raise TypeError("boolean value of NA is ambiguous")
        return evaluate(lead, event, **kwargs)

    monkeypatch.setattr(engine.rulebook, "evaluate", fragile)
    batch = [
        ev("page_view", lead="a"),
        {**ev("download", hours(1), lead="b", asset_id="x"), "id": "bad"},
        ev("page_view", hours(2), lead="c"),
    ]
    report = engine.ingest_many(batch)
    assert report.accepted == 2
    [rejected] = report.rejected
    assert (rejected.index, rejected.event_id) == (1, "bad")
    assert isinstance(rejected.error, errors.ProcessingError)
    assert isinstance(rejected.error.__cause__, TypeError)
    assert "event 'bad' failed: TypeError" in rejected.reason
    assert sorted(lead.id for lead in engine.storage.leads()) == ["a", "c"]
    with pytest.raises(errors.ProcessingError, match="the event was not applied"):
        engine.ingest({**batch[1], "id": "bad"})


def test_one_lead_failing_unforeseen_in_a_tick_leaves_the_others(
    engine: leadlife.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a non-library exception in one lead's time rules ended the tick."""
    for lead_id in ("a", "b", "c"):
        engine.ingest(ev("page_view", lead=lead_id))
    catch_up = engine.rulebook.catch_up

    def fragile(lead: Any, *args: Any, **kwargs: Any) -> Any:
        if lead.id == "b":
            raise ValueError("truth value of an array is ambiguous")
        return catch_up(lead, *args, **kwargs)

    monkeypatch.setattr(engine.rulebook, "catch_up", fragile)
    report = engine.tick(T0 + hours(24 * 100))
    assert sorted(n.lead_id for n in report.notices) == ["a", "c"]
    [error] = report.errors
    assert error.lead_id == "b"
    assert isinstance(error.error, errors.ProcessingError)
    assert "time rules of lead 'b'" in error.reason


def test_a_refused_engine_leaves_the_hosts_manager_as_it_was() -> None:
    """Regression: plugins stayed registered when the rulebook (or a later plugin) was
    refused, so the corrected retry failed on a scorer 'already registered'."""
    from leadlife.plugins import hookimpl
    from leadlife.scoring import ScoreResult

    class Mine:
        name = "mine"

        def score(self, lead: Any, now: datetime) -> float:
            return 1.0

        def explain(self, lead: Any, now: datetime) -> ScoreResult:
            return ScoreResult(1.0)

    class Plugin:
        @hookimpl
        def leadlife_register_scorers(self, register: Any) -> None:
            register(Mine())

    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    names = sorted(name for name, _ in pm.list_name_plugin())
    plugin = Plugin()
    with pytest.raises(RulebookError):
        leadlife.Engine(rulebook={"bands": 5}, plugins=[plugin], plugin_manager=pm)
    with pytest.raises(errors.RegistrationError, match="pass each plugin object once"):
        leadlife.Engine(plugins=[plugin, plugin], plugin_manager=pm)
    assert sorted(name for name, _ in pm.list_name_plugin()) == names
    engine = leadlife.Engine(plugins=[plugin], plugin_manager=pm)
    assert "mine" in engine.scorers
    with pytest.raises(errors.InvalidArgumentError, match="plugin_manager"):
        leadlife.Engine(plugin_manager=5)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgumentError, match="failure_log_size"):
        leadlife.Engine(failure_log_size=2**63)


class ThirtyHoursAhead(tzinfo):
    """A host's own zone whose offset Python cannot use (24 hours or more)."""

    def utcoffset(self, moment: datetime | None) -> timedelta:
        return timedelta(hours=30)

    def dst(self, moment: datetime | None) -> timedelta:
        return timedelta(0)


def test_an_event_time_with_an_unusable_zone_names_at(busy: leadlife.Engine) -> None:
    """Regression: pydantic accepted it, then ingest failed with a bare ValueError."""
    before = snapshot(busy)
    with pytest.raises(InvalidEventError, match="at: cannot be read as a moment") as caught:
        busy.ingest({**ev("page_view"), "at": datetime(2026, 11, 2, tzinfo=ThirtyHoursAhead())})
    assert caught.value.field == "at"
    assert snapshot(busy) == before


@pytest.mark.parametrize(
    ("now", "problem"),
    [
        (datetime(2026, 11, 2, tzinfo=ThirtyHoursAhead()), "cannot be read as a moment"),
        (datetime.max.replace(tzinfo=UTC), "outside the moments a tick can take, from 1900"),
        (datetime(1800, 1, 1, tzinfo=UTC), "outside the moments a tick can take, from 1900"),
        ("2026-11-02T09:00:00Z", "is not a datetime"),
    ],
)
def test_tick_refuses_moments_the_engine_cannot_keep(
    busy: leadlife.Engine, now: Any, problem: str
) -> None:
    """Regression: tick(datetime.max) was applied, then explain() failed on the lead
    ('year 10000 is out of range') until its next event."""
    before = snapshot(busy)
    with pytest.raises(InvalidTimeError, match=problem):
        busy.tick(now)
    assert snapshot(busy) == before
    assert busy.explain("u1", "rules").value == busy.get("u1").scores["rules"]


def test_tick_refuses_pandas_nat() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(InvalidTimeError, match="cannot be read as a moment"):
        leadlife.Engine().tick(pd.NaT)


def test_data_nested_too_deep_and_lead_ids_of_the_wrong_kind_are_named(
    busy: leadlife.Engine,
) -> None:
    """Regression: both were reported as failures of the built-in storage plugin
    ('fix the plugin or unregister it'), naming no field."""
    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(3000):
        inner["a"] = {}
        inner = inner["a"]
    before = snapshot(busy)
    with pytest.raises(InvalidEventError, match="nested deeper than 64 levels") as caught:
        busy.ingest(ev("page_view", hours(1), tree=nested))
    assert caught.value.field.startswith("data.tree.a.a")
    assert snapshot(busy) == before
    with pytest.raises(errors.InvalidArgumentError, match="lead_id"):
        busy.get(["u1"])  # type: ignore[arg-type]


@pytest.mark.parametrize("leaf", ["text", np.int64(7)])
def test_data_may_nest_64_levels_and_no_more(busy: leadlife.Engine, leaf: Any) -> None:
    """A data value of 64 nested lists or mappings is kept and one of 65 refused, as
    docs/events.md and the error's own words ("deeper than 64 levels") say, whatever
    the innermost value: only containers are levels."""

    def nested(levels: int, *, mapping: bool) -> Any:
        value: Any = leaf
        for _ in range(levels):
            value = {"a": value} if mapping else [value]
        return value

    for step, mapping in enumerate((False, True)):
        kept = busy.ingest(ev("page_view", hours(2 * step + 1), tree=nested(64, mapping=mapping)))
        assert kept.event_count == step + 2
        before = snapshot(busy)
        with pytest.raises(InvalidEventError, match="nested deeper than 64 levels"):
            busy.ingest(ev("page_view", hours(2 * step + 2), tree=nested(65, mapping=mapping)))
        assert snapshot(busy) == before


def test_an_iterable_failing_half_way_keeps_the_report(engine: leadlife.Engine) -> None:
    """Regression: an iterable of events that raised half-way (a lazily read file, a
    generator) let its own error through ingest_many, and the report of the events
    before it (which were applied, which rejected) was lost with it."""
    good = [ev("form_submit", lead="u1", phone="+8613800138000"), ev("page_view", lead="u2")]
    bad = {"id": "x1", "lead_id": "u3", "type": "page_view", "at": "not a time"}

    def events() -> Any:
        yield from good
        yield bad
        yield good[0]  # a duplicate
        raise OSError("connection reset while reading events")

    with pytest.raises(errors.IngestInterrupted) as caught:
        engine.ingest_many(events())
    interrupted = caught.value
    assert interrupted.index == 4
    assert isinstance(interrupted.__cause__, OSError)
    assert interrupted.error is interrupted.__cause__
    report = interrupted.report
    assert (report.accepted, report.duplicates, report.total) == (2, 1, 4)
    assert [(r.index, r.event_id) for r in report.rejected] == [(2, "x1")]
    assert "from index 4" in str(interrupted)
    assert "OSError" in str(interrupted)
    assert engine.get("u1").event_count == 1
    assert engine.get("u2").event_count == 1
    # Sending everything again picks up where it stopped: the applied ones are duplicates.
    again = engine.ingest_many([*good, {**bad, "at": "2026-11-02T10:00:00Z"}])
    assert (again.accepted, again.duplicates, again.rejected) == (1, 2, [])


def test_an_iterable_that_cannot_start_is_an_interrupted_ingest(engine: leadlife.Engine) -> None:
    class Broken:
        def __iter__(self) -> Any:
            raise RuntimeError("cursor closed")

    with pytest.raises(errors.IngestInterrupted, match="reading event 0") as caught:
        engine.ingest_many(Broken())
    assert caught.value.report.total == 0
    assert engine.funnel() == dict.fromkeys(Stage, 0)
