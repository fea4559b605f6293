"""Behaviour a CRM backend wiring the engine in relies on: owner ids from sales tools,
replaying a lead's history, and the front-door checks of the engine's reading calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import leadlife
from leadlife import Stage
from leadlife.errors import (
    InvalidArgumentError,
    InvalidEventError,
    InvalidTimeError,
    RegistrationError,
    RoutingConfigError,
    RulebookError,
)
from leadlife.plugins import get_plugin_manager
from leadlife.routing import Routing
from leadlife.scoring import ScoringRules
from tests.conftest import T0
from tests.helpers import ev, hours

PHONE = "+8613800138000"


def engine(rulebook: Any = None, **kwargs: Any) -> leadlife.Engine:
    """An engine on ``rulebook`` (the default one when None) with only the built-ins."""
    return leadlife.Engine(
        rulebook,
        clock=leadlife.FixedClock(T0),
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        **kwargs,
    )


@pytest.mark.parametrize(
    "owner", [{"id": "rep07", "name": "Rep Seven"}, ["rep07"], True, 7.5], ids=repr
)
def test_an_owner_that_is_no_id_is_refused_and_changes_nothing(owner: object) -> None:
    """Regression: ``sales_accepted``'s ``data.owner`` was read with ``str()``, so a CRM
    sending its user object made ``"{'id': 'rep07', ...}"`` the lead's owner (and a
    boolean ``"True"``); now anything but text or a whole number is refused, naming
    the field, and the lead stays as it was."""
    run = engine()
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    with pytest.raises(InvalidEventError) as caught:
        run.ingest(ev("sales_accepted", hours(1), owner=owner))
    assert caught.value.field == "data.owner"
    lead = run.get("u1")
    assert (lead.owner, lead.event_count, lead.stage) == (None, 1, Stage.MQL)
    # A CRM's numeric user id is still read as its digits.
    assert run.ingest(ev("sales_accepted", hours(2), owner=7)).owner == "7"


@pytest.mark.parametrize(
    "moment", [datetime(2026, 11, 2, 9, 30), "2026-11-02T09:30:00Z", None], ids=repr
)
def test_stage_at_refuses_a_moment_without_a_timezone(moment: Any) -> None:
    """Regression: ``Lead.stage_at`` compared the moment with the history's aware times
    and raised Python's bare TypeError for a naive datetime or a string; now it raises
    InvalidTimeError naming ``moment``, as every other time the library takes."""
    run = engine()
    lead = run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    assert lead.stage_at(T0 + hours(1)) is Stage.MQL
    with pytest.raises(InvalidTimeError) as caught:
        lead.stage_at(moment)
    assert caught.value.name == "moment"


def routed_engine() -> leadlife.Engine:
    """An engine whose routing gives every qualified lead to team inside."""
    routing = Routing.from_dict(
        {
            "teams": [
                {
                    "id": "inside",
                    "managers": ["ines"],
                    "members": [{"id": "ian"}, {"id": "ivy"}],
                }
            ],
            "routers": {"fallback": {"team": "inside"}},
        }
    )
    return engine(plugins=[routing])


def test_work_queue_reads_an_owner_id_as_events_read_it() -> None:
    """Regression: ``work_queue(owner=7)`` compared the number with the lead's owner
    ``"7"`` (a ``sales_accepted`` with ``owner: 7`` names it so) and ``owner=" 7 "``
    kept its padding, so both silently found no lead; now the filter reads the id as
    events do."""
    run = routed_engine()
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    assert run.ingest(ev("sales_accepted", hours(1), owner=7)).owner == "7"
    for owner in (7, " 7 ", "7"):
        assert [entry.lead_id for entry in run.work_queue(owner=owner)] == ["u1"]


@pytest.mark.parametrize(
    "filters",
    [{"unowned": "no"}, {"include_closed": "false"}, {"owner": {"id": "7"}}, {"owner": " "}],
    ids=repr,
)
def test_work_queue_refuses_filters_it_would_misread(filters: dict[str, Any]) -> None:
    """Regression: ``unowned="no"`` and ``include_closed="false"`` (as a query string
    gives them) were read by truth and turned the filter on, and an owner that is no
    id silently matched nothing; now each is an InvalidArgumentError naming it."""
    run = routed_engine()
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    with pytest.raises(InvalidArgumentError) as caught:
        run.work_queue(**filters)
    assert caught.value.argument == next(iter(filters))


@pytest.mark.parametrize("delta", ["1d", 3600, 1.5, None], ids=repr)
def test_advancing_a_clock_by_no_timedelta_is_refused(delta: Any) -> None:
    """Regression: ``FixedClock.advance`` added what it was given to its moment, so a
    number of seconds or a string failed with Python's bare TypeError; now it is an
    InvalidArgumentError naming ``delta``, and the clock reads as before."""
    clock = leadlife.FixedClock(T0)
    with pytest.raises(InvalidArgumentError) as caught:
        clock.advance(delta)
    assert caught.value.argument == "delta"
    assert clock() == T0


@pytest.mark.parametrize("days", [3_000_000, -800_000])
def test_advancing_a_clock_past_the_calendar_is_an_invalid_time(days: int) -> None:
    """Regression: an advance that leaves the years a datetime holds raised Python's
    OverflowError (from the fallback addition too); now it is the InvalidTimeError an
    advance past 4998 gives, and the clock reads as before."""
    clock = leadlife.FixedClock(T0)
    with pytest.raises(InvalidTimeError) as caught:
        clock.advance(timedelta(days=days))
    assert caught.value.name == "now"
    assert clock() == T0


@pytest.mark.parametrize("text", [b"seed = 1", None], ids=repr)
@pytest.mark.parametrize(
    ("load", "error"),
    [
        (Routing.from_toml, RoutingConfigError),
        (leadlife.Rulebook.from_toml, RulebookError),
        (ScoringRules.from_toml, RulebookError),
    ],
    ids=["routing", "rulebook", "scoring"],
)
def test_from_toml_refuses_what_is_not_text(text: Any, load: Any, error: type) -> None:
    """Regression: ``from_toml`` of bytes (a configuration kept in a database blob) or
    None failed with Python's TypeError or AttributeError from the byte-order-mark
    check; now it is the loader's own configuration error, saying to pass text."""
    with pytest.raises(error) as caught:
        load(text)
    assert "expected TOML text" in str(caught.value)


@pytest.mark.parametrize(
    "plugin",
    [
        {"teams": [{"id": "inside", "members": [{"id": "ian"}]}]},
        None,
        "leadlife_company_registry",
        object(),
    ],
    ids=["routing dict", "None", "a name", "object"],
)
def test_a_plugin_that_implements_no_hook_is_refused(plugin: object) -> None:
    """Regression: ``Engine(plugins=[...])`` registered anything pluggy takes, so a
    routing configuration passed as its dict (not a ``Routing``), None or a plugin's
    name was registered as a plugin with no hooks, and the engine ran without it,
    silently; now it is a RegistrationError, and the host's manager is as it was."""
    pm = get_plugin_manager(load_entrypoints=False)
    before = pm.get_plugins()
    with pytest.raises(RegistrationError) as caught:
        leadlife.Engine(plugins=[plugin], plugin_manager=pm, clock=leadlife.FixedClock(T0))
    assert "implements no hook" in str(caught.value)
    assert pm.get_plugins() == before


def test_an_assignment_reason_that_is_no_text_is_refused() -> None:
    """Regression: ``engine.assign``'s reason was kept with ``str()``, so a reason sent
    as a record or a number became its repr in the lead's assignments, and a blank one
    a blank reason; now a reason that is not text is refused (nothing changes) and a
    blank one is the default, as a missing one is."""
    run = routed_engine()
    routed = run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    assert routed.owner == "ian"
    with pytest.raises(InvalidEventError) as caught:
        run.assign("u1", "ivy", by="ines", reason={"code": 3}, at=T0 + hours(0.01))  # type: ignore[arg-type]
    assert caught.value.field == "data.reason"
    assert run.get("u1").owner == "ian"
    lead = run.assign("u1", "ivy", by="ines", reason="  ", at=T0 + hours(0.01))
    assert (lead.owner, lead.assignments[-1].reason) == ("ivy", "assigned by ines")


def test_pool_operations_read_a_numeric_person_id_as_its_digits() -> None:
    """Regression: ``engine.claim(lead, 7)`` was refused as "data.member: missing or
    empty" (the id was given), though ``sales_accepted`` reads the owner 7 as "7"; now
    a whole number is read as its digits, and another kind of value is refused saying
    it is no person id."""
    routing = Routing.from_dict(
        {
            "teams": [{"id": "inside", "managers": ["9"], "members": [{"id": "7"}, {"id": "8"}]}],
            "routers": {"fallback": {"team": "inside"}},
        }
    )
    run = engine(plugins=[routing])
    run.ingest(ev("company_verified", company="Acme", industry="media"))  # not qualified
    lead = run.claim("u1", 7, at=T0 + hours(0.01))  # type: ignore[arg-type]
    assert (lead.owner, lead.team) == ("7", "inside")
    lead = run.transfer("u1", 8, by=9, reason="nearer", at=T0 + hours(0.02))  # type: ignore[arg-type]
    assert (lead.owner, lead.assignments[-1].by) == ("8", "9")
    with pytest.raises(InvalidEventError) as caught:
        run.transfer("u1", 7.0, by="9", reason="back", at=T0 + hours(0.03))  # type: ignore[arg-type]
    assert caught.value.field == "data.to"
    assert "is not a person id" in str(caught.value)
    assert run.get("u1").owner == "8"


def test_explain_refuses_a_blank_scorer_name() -> None:
    """Regression: ``engine.explain(lead_id, "")`` read the blank name as "the band
    scorer" and explained the points score, where a misspelt name is refused; now only
    None picks the band scorer, and "" is an InvalidArgumentError naming ``scorer``."""
    run = engine()
    run.ingest(ev("page_view", page="pricing"))
    assert run.explain("u1").scorer == "points"
    with pytest.raises(InvalidArgumentError) as caught:
        run.explain("u1", "")
    assert caught.value.argument == "scorer"


@pytest.mark.parametrize("reason", [{"code": 3}, ["budget"], 5, True], ids=repr)
def test_a_close_reason_that_is_no_text_is_refused(reason: object) -> None:
    """Regression: ``deal_lost``'s ``data.reason`` went into the history with
    ``str()``, so a CRM's lost-reason record became ``"{'code': 3}"`` (and True
    ``"True"``), where a reopening refuses such a reason; now the close is refused,
    naming the field, and the lead stays open."""
    run = engine()
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    with pytest.raises(InvalidEventError) as caught:
        run.ingest(ev("deal_lost", hours(1), reason=reason))
    assert caught.value.field == "data.reason"
    assert run.get("u1").stage is Stage.MQL
    lead = run.ingest(ev("deal_lost", hours(2), reason="budget"))
    assert (lead.stage, lead.history[-1].reason) == (Stage.DISQUALIFIED, "budget")


@pytest.mark.parametrize("owner", [7.0, True, {"id": "7"}], ids=repr)
def test_route_frame_refuses_an_owner_cell_that_is_no_id(owner: object) -> None:
    """Regression: ``route_frame`` read an owner cell with ``str()``, so a float 7.0
    (a column of ids with a gap), True or a record became the sticky owner "7.0",
    "True" or "{'id': '7'}", which the engine refuses as an event's owner; now such a
    cell is an InvalidArgumentError naming its row, before any row is assigned, and a
    whole number is still read as its digits."""
    import pandas as pd

    routing = Routing.from_dict(
        {
            "teams": [{"id": "inside", "members": [{"id": "7"}, {"id": "8"}]}],
            "routers": {"fallback": {"team": "inside"}},
        }
    )
    frame = pd.DataFrame({"owner": [None, owner]}, index=["a", "b"], dtype=object)
    with pytest.raises(InvalidArgumentError) as caught:
        routing.route_frame(frame, T0)
    assert caught.value.argument == "owner (row 'b')"
    routed = routing.route_frame(pd.DataFrame({"owner": [7]}, dtype=object), T0)
    assert list(routed["owner"]) == ["7"]
    assert list(routed["router"]) == [None]  # 7 holds it in their team: no router asked


@pytest.mark.parametrize(
    "now", [datetime(2026, 11, 2, 9, 0), "2026-11-02T09:00:00Z", None], ids=repr
)
def test_behaviour_windows_refuse_a_moment_without_a_timezone(now: Any) -> None:
    """Regression: ``lead.behaviour.count`` and ``windows`` took ``now.timestamp()``,
    which reads a naive datetime in the machine's local zone (so the day buckets
    counted depended on where the code ran) and fails with AttributeError on a string
    or None; now each is an InvalidTimeError naming ``now``."""
    run = engine()
    lead = run.ingest(ev("download", asset_id="p1"))
    assert lead.behaviour.count("download", 7, T0) == 1
    with pytest.raises(InvalidTimeError) as caught:
        lead.behaviour.count("download", 7, now)
    assert caught.value.name == "now"
    with pytest.raises(InvalidTimeError):
        lead.behaviour.windows(now)
