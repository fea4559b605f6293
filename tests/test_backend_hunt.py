"""Behaviour a host backend relies on: ties of event times in entry rules, the edge of
the engine's time range, odd web-form payloads, host plugins and console commands."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import leadlife
from leadlife import Stage
from leadlife.clock import LATEST_DUE_TS
from leadlife.errors import InvalidTimeError, RulebookError
from leadlife.plugins import get_plugin_manager
from leadlife.routing import Routing
from leadlife.stages import DEFAULT_GRAPH, Move, StageGraph
from tests.conftest import T0
from tests.helpers import crm_example_storage, days, ev, hours

PHONE = "+8613800138000"


def engine(rulebook: Any = None, **kwargs: Any) -> leadlife.Engine:
    """An engine on ``rulebook`` (the default one when None) with only the built-ins."""
    return leadlife.Engine(
        rulebook,
        clock=leadlife.FixedClock(T0),
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        **kwargs,
    )


def sql_lead() -> list[dict[str, Any]]:
    """Events that make lead ``u1`` an SQL by T0 + 1h."""
    return [
        ev("form_submit", phone=PHONE, asset_id="p1"),
        ev("company_verified", hours(1), company="Acme", industry="media"),
    ]


# -- an objection at the moment of the quote or reply ----------------------------------


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["quote", "objection", "reply"])), ids=str
)
def test_an_objection_at_the_moment_of_the_quote_blocks_sal_in_any_arrival_order(
    order: tuple[str, ...],
) -> None:
    """A price objection stamped the same second as the quote objects to it: the lead
    stays SQL whichever order the quote, the objection and a later reply arrive in."""
    at = {"quote": hours(2), "objection": hours(2), "reply": hours(3)}
    kinds = {"quote": "quote_sent", "objection": "price_objection", "reply": "chat_replied"}
    run = engine()
    run.ingest_many(sql_lead())
    for name in order:
        data: dict[str, Any] = {"amount": 9800} if name == "quote" else {}
        run.ingest(ev(kinds[name], at[name], **data))
    assert run.get("u1").stage is Stage.SQL


@pytest.mark.parametrize("objection_first", [True, False], ids=["objection-first", "reply-first"])
def test_an_objection_at_the_moment_of_the_reply_blocks_sal_either_way(
    objection_first: bool,
) -> None:
    """An objection and a reply stamped the same second happened together: the lead is
    SQL after both, whichever arrived first (a promotion the reply made alone is taken
    back, stamped at that moment)."""
    run = engine()
    run.ingest_many([*sql_lead(), ev("quote_sent", hours(2), amount=9800)])
    pair = [ev("price_objection", hours(3)), ev("chat_replied", hours(3))]
    for event in pair if objection_first else reversed(pair):
        run.ingest(event)
    lead = run.get("u1")
    assert lead.stage is Stage.SQL
    moves = [(c.from_stage, c.to_stage, c.at) for c in lead.history[2:]]
    if objection_first:
        assert moves == []
    else:  # the reply's promotion, taken back at its own moment
        assert moves == [
            (Stage.SQL, Stage.SAL, T0 + hours(3)),
            (Stage.SAL, Stage.SQL, T0 + hours(3)),
        ]
        assert lead.history[-1].rule == "qualification.SAL"
    assert run.tick(T0 + hours(3) + days(3)).stage_changes == ()


def test_a_late_objection_at_the_moment_of_the_quote_still_blocks() -> None:
    """An objection with the quote's own time that arrives after later events still
    objects to that quote: the reply after it does not make the lead SAL."""
    run = engine()
    run.ingest_many(
        [*sql_lead(), ev("quote_sent", hours(2), amount=9800), ev("page_view", hours(5))]
    )
    run.ingest(ev("price_objection", hours(2)))
    assert run.ingest(ev("chat_replied", hours(6))).stage is Stage.SQL


def test_a_late_objection_takes_back_the_promotion_it_arrived_after() -> None:
    """A reply made the lead SAL, then an objection to the quote arrives late (stamped
    before the reply): in time order the lead never met the SAL rule, and nothing came
    after the reply, so the promotion is taken back."""
    run = engine()
    run.ingest_many([*sql_lead(), ev("quote_sent", hours(2), amount=9800)])
    assert run.ingest(ev("chat_replied", hours(3))).stage is Stage.SAL
    assert run.ingest(ev("price_objection", hours(2))).stage is Stage.SQL
    assert run.get("u1").history[-1].at == T0 + hours(3)
    run.ingest(ev("quote_sent", hours(7), amount=7800))
    assert run.get("u1").stage is Stage.SAL  # a new quote lifts the objection


def test_a_tie_still_gives_no_positive_since_evidence() -> None:
    """``since`` as evidence for a stage stays strict: a reply at the quote's moment is
    not a reply to it, so a tie never helps a lead into a stage."""
    rulebook = {
        "qualification": {"MQL": {"when": {"event": "chat_replied", "since": "quote_sent"}}}
    }
    run = engine(rulebook)
    run.ingest(ev("chat_replied", hours(1)))
    assert run.ingest(ev("quote_sent", hours(1), amount=1)).stage is Stage.COLD


def test_an_objection_after_the_promotion_moment_still_does_not_demote() -> None:
    """Only a promotion of the objection's own moment is taken back: an SAL that objects
    a second later keeps its stage (entry rules only promote)."""
    run = engine()
    run.ingest_many([*sql_lead(), ev("quote_sent", hours(2), amount=9800)])
    assert run.ingest(ev("chat_replied", hours(3))).stage is Stage.SAL
    later = hours(3) + days(1 / 86_400)
    assert run.ingest(ev("price_objection", later)).stage is Stage.SAL
    # A late objection after a later event reads a moment after the promotion, where
    # what held then can no longer be told apart from what came since: the lead stays.
    run.ingest(ev("page_view", hours(4)))
    assert run.ingest(ev("price_objection", hours(2) + days(1 / 86_400))).stage is Stage.SAL


# -- time rules due after 2999 ----------------------------------------------------------


def test_time_rules_due_in_3000_apply_on_a_tick_in_3000() -> None:
    """An SAL idle since 2999-12-30 falls due in 3000: a tick then applies it, stamped
    with its due time, and the lead stays readable and takes later (late) events."""
    run = engine()
    start = datetime(2999, 12, 30, 12, tzinfo=UTC)
    run.ingest_many(
        [
            ev("form_submit", start, phone=PHONE, asset_id="p1"),
            ev("company_verified", start, company="Acme", industry="media"),
            ev("chat_replied", start),
        ]
    )
    assert run.get("u1").next_check_at == datetime(3000, 1, 1, 12, tzinfo=UTC)
    report = run.tick(datetime(3000, 1, 2, tzinfo=UTC))
    [change] = report.stage_changes
    assert (change.to_stage, change.at) == (Stage.SQL, datetime(3000, 1, 1, 12, tzinfo=UTC))
    assert run.explain("u1", "rules").value == run.get("u1").scores["rules"]
    late = run.ingest(ev("chat_replied", datetime(2999, 12, 31, tzinfo=UTC)))
    assert late.stage is Stage.SQL  # older than the demotion: no fresh evidence


def test_the_latest_rule_the_range_can_schedule_is_tickable() -> None:
    """With the longest timers, a Hot lead from the range's last second cools to Warm
    one period later and to Cold two periods later, each on a tick at its due moment;
    a tick after every such moment is refused with the range it takes."""
    longest = {"sal_idle_days": 365_000, "cooling_days": 365_000, "sleep_days": 365_000}
    run = engine({"extends": "default", "timers": longest, "bands": {"warm": 1, "hot": 2}})
    last = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
    lead = run.ingest(ev("offline_event_attended", last))
    moves = []
    while lead.next_check_at is not None:
        due = lead.next_check_at
        assert due.timestamp() < LATEST_DUE_TS
        moves += [(c.from_stage, c.to_stage, c.at) for c in run.tick(due).stage_changes]
        lead = run.get("u1")
    assert moves == [
        (Stage.HOT, Stage.WARM, last + timedelta(days=365_000)),
        (Stage.WARM, Stage.COLD, last + timedelta(days=730_000)),
    ]
    with pytest.raises(InvalidTimeError, match="4998-09-03") as info:
        run.tick(datetime.fromtimestamp(LATEST_DUE_TS, UTC))
    assert info.value.name == "now"


def test_a_clock_may_run_past_2999_but_events_may_not() -> None:
    """A FixedClock reads as far as a tick may go; a pool operation stamped by it past
    2999 is refused as the event time it would be."""
    clock = leadlife.FixedClock(datetime(2999, 12, 31, tzinfo=UTC))
    assert clock.advance(timedelta(days=2)) == datetime(3000, 1, 2, tzinfo=UTC)
    run = leadlife.Engine(clock=clock, plugin_manager=get_plugin_manager(load_entrypoints=False))
    run.ingest(ev("page_view", datetime(2999, 12, 31, tzinfo=UTC)))
    assert run.tick().now == datetime(3000, 1, 2, tzinfo=UTC)
    with pytest.raises(InvalidTimeError, match="1900 to 2999"):
        run.claim("u1", "rep07")


# -- rulebook files as editors write them -----------------------------------------------


def test_a_rulebook_file_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    """Regression: a rulebook saved as "UTF-8 with BOM" (CRLF lines too) was refused as
    "not valid TOML (Invalid statement (at line 1, column 1))", where the author saw
    nothing wrong; the mark says the encoding and is not TOML."""
    path = tmp_path / "rules.toml"
    path.write_bytes('\ufeffextends = "default"\r\n[bands]\r\nwarm = 20\r\n'.encode())
    assert leadlife.Rulebook.load(path).model.bands.warm == 20
    assert engine(str(path)).rulebook.model.bands.warm == 20
    text = path.read_text(encoding="utf-8")  # read as plain UTF-8, the mark stays
    assert leadlife.Rulebook.from_toml(text).model.bands.warm == 20
    routing = Routing.from_toml('\ufeff[[teams]]\nid = "a"\nmembers = [{ id = "r1" }]\n')
    assert list(routing.teams) == ["a"]


def test_toml_text_given_where_a_path_goes_says_so() -> None:
    """Regression: ``Engine(rulebook=<TOML text>)`` read the text as a file name and said
    "cannot read the file ... check the path", naming the whole text as the file."""
    with pytest.raises(RulebookError) as info:
        engine('extends = "default"\n[bands]\nwarm = 20\n')
    assert info.value.source == "<TOML text given as a path>"
    assert "looks like TOML" in info.value.problem
    assert "Rulebook.from_toml" in info.value.fix
    with pytest.raises(RulebookError, match="check the path"):
        leadlife.Rulebook.load("/no/such/dir/rules.toml")


# -- the CRM example's storage in a threaded web server ----------------------------------


def test_the_crm_examples_storage_serves_an_engine_shared_by_threads(tmp_path: Path) -> None:
    """Regression: the example's SQLite storage used its connection only from the thread
    that built it, so an engine shared by a web server's threads (docs/architecture.md)
    failed every event from another thread with a StorageError."""
    storage, provider = crm_example_storage(tmp_path / "crm.db")
    run = engine(plugins=[provider])
    errors: list[BaseException] = []

    def worker(lead: str) -> None:
        try:
            for n in range(40):
                run.ingest(ev("page_view", hours(n), lead=lead, event_id=f"{lead}-{n}"))
                run.get(lead)
                run.funnel()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"t{k}",)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted((lead.id, lead.event_count) for lead in storage.leads()) == [
        ("t0", 40),
        ("t1", 40),
        ("t2", 40),
    ]
    assert run.tick(T0 + days(100)).errors == ()
    storage.close()


# -- web forms that send their empty fields -------------------------------------------


@pytest.mark.parametrize("blank", ["", "   ", None], ids=["empty", "spaces", "null"])
def test_a_forms_empty_fields_do_not_erase_what_the_lead_gave(blank: Any) -> None:
    """Regression: a second form sent its empty fields, which overwrote the lead's valid
    phone and asset id: the MQL rule stopped holding, so the verified company could
    never make the lead SQL."""
    run = engine()
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    lead = run.ingest(
        ev("form_submit", hours(1), phone=blank, asset_id=blank, email="li@acme.cn", name="Li")
    )
    assert (lead.profile["phone"], lead.profile["phone_valid"]) == (PHONE, True)
    assert lead.profile["asset_id"] == "p1"
    assert (lead.profile["email"], lead.profile["name"]) == ("li@acme.cn", "Li")
    lead = run.ingest(ev("company_verified", hours(2), company="Acme", industry="media"))
    assert lead.stage is Stage.SQL


def test_a_blank_field_on_a_first_form_leaves_the_field_missing() -> None:
    """A blank is no value on a lead's first event either: the field stays missing, and
    a later event (a late one too) fills it."""
    run = engine()
    lead = run.ingest(ev("form_submit", hours(1), phone="", asset_id=" ", company=None))
    assert {"phone", "phone_valid", "asset_id", "company"}.isdisjoint(lead.profile)
    lead = run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))  # late
    assert lead.stage is Stage.MQL


def test_an_owner_id_from_a_sales_tool_is_read_as_pool_operations_read_it() -> None:
    """Regression: ``sales_accepted`` took ``data.owner`` as sent, so ``"rep08 "`` made an
    owner no team knows (route_frame and pool operations strip ids), and ``"   "`` made
    a blank owner; now the id is stripped and a blank one names nobody."""
    routing = Routing.from_toml(
        '[[teams]]\nid = "a"\nmembers = [{ id = "rep07" }, { id = "rep08" }]\n'
        '[routers.fallback]\nteam = "a"\n'
    )
    run = engine(plugins=[routing])
    run.ingest(ev("form_submit", phone=PHONE, asset_id="p1"))
    lead = run.ingest(ev("sales_accepted", hours(0.01), owner=" rep08 "))
    assert lead.owner == "rep08"
    assert lead.assignments[-1].to_owner == "rep08"
    run.ingest(ev("form_submit", lead="u2", phone=PHONE, asset_id="p1"))
    routed = run.get("u2").owner
    lead = run.ingest(ev("sales_accepted", hours(0.01), lead="u2", owner="   "))
    assert lead.owner == routed
    assert [a.action for a in lead.assignments] == ["routed"]


def test_a_lead_id_with_surrounding_spaces_finds_the_lead_as_its_events_did() -> None:
    """Regression: an event's ``lead_id`` is stripped, but ``get``, ``explain`` and pool
    operations looked the id up as given, so ``" u42 "`` from a URL made the lead and
    then was "no lead with id ' u42 '"."""
    routing = Routing.from_toml(
        '[[teams]]\nid = "a"\nmembers = [{ id = "rep07" }]\n[routers.fallback]\nteam = "a"\n'
    )
    run = engine(plugins=[routing])
    run.ingest(ev("page_view", lead=" u42 "))
    assert run.get(" u42\n").id == "u42"
    assert run.explain(" u42 ", "rules").value == run.get("u42").scores["rules"]
    claimed = run.claim(" u42 ", "rep07", at=T0 + hours(1))
    assert claimed.owner == "rep07"
    again = run.claim("u42", "rep07", at=T0 + hours(1))  # the same operation, resent
    assert again.event_count == claimed.event_count


def test_a_promotion_no_rung_survives_goes_back_where_the_graph_allows() -> None:
    """On a graph that lets MQL fall back to COLD, an MQL promotion made at the moment of
    an objection that the MQL rule forbids is taken back to the stage it came from."""
    table = DEFAULT_GRAPH.table()
    table[Stage.MQL][Stage.COLD] = Move.DEMOTION
    model = leadlife.Rulebook.from_dict(
        {
            "extends": "default",
            "qualification": {
                "MQL": {
                    "when": {
                        "all": [
                            {"field": "asset_id", "exists": True},
                            {"not": {"event": "price_objection"}},
                        ]
                    }
                },
                "SQL": {"when": {"field": "company_verified", "equals": True}},
                "SAL": {"when": {"event": "sales_accepted"}},
            },
        }
    ).model
    run = engine(leadlife.Rulebook(model, graph=StageGraph(table)))
    assert run.ingest(ev("form_submit", hours(1), asset_id="p1")).stage is Stage.MQL
    lead = run.ingest(ev("price_objection", hours(1)))
    assert lead.stage is Stage.COLD
    assert [(c.from_stage, c.to_stage) for c in lead.history] == [
        (Stage.COLD, Stage.MQL),
        (Stage.MQL, Stage.COLD),
    ]
    # On the default graph, which has no MQL -> COLD, the lead keeps its stage.
    run = engine(leadlife.Rulebook(model))
    run.ingest(ev("form_submit", hours(1), asset_id="p1"))
    assert run.ingest(ev("price_objection", hours(1))).stage is Stage.MQL
