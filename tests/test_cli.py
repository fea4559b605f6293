"""The ``leadlife`` console command."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import leadlife
from leadlife.cli import main


def test_version() -> None:
    """`leadlife --version` prints the package version."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert leadlife.__version__ in result.output


def test_demo_prints_a_funnel() -> None:
    """`leadlife demo` runs a small seeded world and prints every stage with its counts."""
    result = CliRunner().invoke(main, ["demo", "--leads", "300", "--days", "21", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "300 leads, 21 days" in result.output
    for stage in leadlife.Stage:
        assert stage.name in result.output
    assert "0 rejected" in result.output


def test_demo_says_how_many_leads_sent_events() -> None:
    """Regression: the header's world size was the only lead count before the funnel,
    though a story may start too late to fit the world (seed 5: 198 of 200 leads)."""
    result = CliRunner().invoke(main, ["demo", "--leads", "200", "--days", "14", "--seed", "5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Synthetic world: 200 leads, 14 days")
    assert " events of 198 leads (" in lines[1]
    assert lines[14].split() == ["leads", "198"]  # the funnel's total


def test_demo_counts_its_ticks_as_the_docs_say() -> None:
    """Regression: the demo printed "315 daily ticks" for a 365-day world; it ticks daily
    while events come in and once at the world's end, as docs/cli.md now says."""
    from datetime import datetime, timedelta

    from leadlife.demo import World, generate_events, run_demo

    world = World(leads=20, days=365, seed=1)
    last = max(datetime.fromisoformat(str(event["at"])) for event in generate_events(world))
    days_with_events = (last - world.start) // timedelta(days=1)
    assert days_with_events + 1 < 365  # the world's events stop early
    ticks = run_demo(world).ticks
    assert ticks == days_with_events + 1
    result = CliRunner().invoke(main, ["demo", "--leads", "20", "--days", "365", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert f" from {ticks} ticks; " in result.output.splitlines()[1]
    docs = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    said = "ticks the engine once per simulated day while events come in, then once more at"
    assert said in " ".join(docs.split())


def test_demo_refuses_a_world_past_the_engines_years_up_front() -> None:
    """Regression: --days reaching past 2999 ran the whole world, then ended in a
    traceback (InvalidTimeError of the last tick)."""
    result = CliRunner().invoke(main, ["demo", "--leads", "1", "--days", "355600"])
    assert result.exit_code == 2
    assert "Invalid value for '--days'" in result.output


def test_demo_refuses_a_world_of_no_leads_or_days() -> None:
    """Regression: ``--leads -5`` ran an empty world without a word."""
    for option in ("--leads", "--days"):
        result = CliRunner().invoke(main, ["demo", option, "-5"])
        assert result.exit_code == 2
        assert f"Invalid value for '{option}'" in result.output


def test_demo_is_deterministic() -> None:
    """The same seed prints the same funnel twice."""
    args = ["demo", "--leads", "200", "--days", "14", "--seed", "9"]
    first = CliRunner().invoke(main, args).output
    assert first == CliRunner().invoke(main, args).output


def test_demo_bands_follow_the_rule_scorer() -> None:
    """The demo's engine places leads in bands by the rule scorer named "rules"."""
    from leadlife.demo import World, run_demo

    engine = run_demo(World(leads=200, days=14, seed=3)).engine
    assert engine.rulebook.scorer_name == "rules"
    leads = list(engine.storage.leads())
    assert leads
    assert all(lead.score == lead.scores["rules"] for lead in leads)


def test_demo_prints_the_top_open_leads() -> None:
    """After the funnel, the demo lists the 10 best-scored open leads with grade and reasons."""
    from leadlife.demo import World, run_demo

    args = ["demo", "--leads", "300", "--days", "21", "--seed", "5"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("Top 10 open leads by score (scorer 'rules')")
    assert lines[start - 1] == ""
    assert lines[start + 1].split() == ["lead", "stage", "score", "grade", "top", "reasons"]
    rows = lines[start + 3 : start + 13]
    assert lines[start + 13] == ""  # the routing table follows

    engine = run_demo(World(leads=300, days=21, seed=5)).engine
    open_leads = [lead for lead in engine.storage.leads() if lead.stage.is_open]
    best = sorted(open_leads, key=lambda lead: (-lead.scores["rules"], lead.id))[:10]
    for row, lead in zip(rows, best, strict=True):
        lead_id, stage, score, grade, reasons = row.split(maxsplit=4)
        why = engine.explain(lead.id, "rules")
        assert (lead_id, stage) == (lead.id, lead.stage.name)
        assert float(score) == round(lead.scores["rules"], 1)
        assert grade == why.grade
        expected = [f"{c.rule} {round(c.points, 1):+g}" for c in why.contributions[:3]]
        assert reasons.split(", ") == expected


def test_demo_prints_the_routing_table() -> None:
    """After the top leads, the demo prints one row per team and the notices by kind."""
    from leadlife.demo import DEMO_ROUTING

    args = ["demo", "--leads", "300", "--days", "21", "--seed", "5"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    teams = [team["id"] for team in DEMO_ROUTING["teams"]]
    start = lines.index(
        f"Routing: {len(teams)} teams; open leads owned now and waiting in the pool"
    )
    assert lines[start - 1] == ""
    assert lines[start + 1].split() == [
        "team",
        "strategy",
        "members",
        "owned",
        "pool",
        "routed",
        "by",
    ]
    rows = lines[start + 3 : start + 3 + len(teams)]
    assert [row.split()[0] for row in rows] == teams
    assert rows[0].split()[1:4] == ["capacity", "rep00", "rep01"]
    assert "business_line" in rows[0]
    assert "fallback" in rows[-1]
    assert lines[start + 4 + len(teams)].startswith("Assignments: routed ")
    assert "Notices: " in result.output
    assert "lead_assigned" in result.output


def test_demo_routes_every_rep_in_one_team() -> None:
    """The reps the world's sales_accepted events name are each in exactly one demo team."""
    from leadlife.demo import DEMO_ROUTING

    members = [m["id"] for team in DEMO_ROUTING["teams"] for m in team["members"]]
    assert sorted(members) == [f"rep{n:02d}" for n in range(12)]


def test_demo_routed_leads_are_owned_by_their_team() -> None:
    """Every routed lead's owner, and every owner it had, is a member of the lead's team then."""
    from leadlife.demo import World, run_demo

    result = run_demo(World(leads=300, days=21, seed=5))
    engine = result.engine
    routing = engine.routing
    assert routing is not None
    routed = [lead for lead in engine.storage.leads() if lead.assignments]
    assert routed
    for lead in routed:
        assert lead.team in routing.teams, lead.id
        if lead.owner is not None:
            assert lead.owner in routing.teams[lead.team].members, lead.id
        for assignment in lead.assignments:
            team = routing.teams[assignment.team or ""]
            assert assignment.to_owner is None or assignment.to_owner in team.members
    routers = {a.router for lead in routed for a in lead.assignments if a.router}
    assert routers == {"business_line", "region", "fallback"}
    assert result.notices_by_kind["lead_assigned"] > 0


def test_demo_routing_is_deterministic() -> None:
    """The same world gives the same owners, assignments and notices twice."""
    from leadlife.demo import World, run_demo

    def owners() -> tuple[object, ...]:
        result = run_demo(World(leads=200, days=14, seed=9))
        leads = sorted(result.engine.storage.leads(), key=lambda lead: lead.id)
        return (
            [(lead.id, lead.team, lead.owner, lead.assignments) for lead in leads],
            result.notices_by_kind,
        )

    assert owners() == owners()


def test_demo_runs_without_routing() -> None:
    """run_demo(routing=None) routes nothing and reports that instead of a team table."""
    from leadlife.demo import World, format_routing, run_demo

    result = run_demo(World(leads=200, days=14, seed=3), routing=None)
    assert result.engine.routing is None
    assert all(lead.team is None and not lead.assignments for lead in result.engine.storage.leads())
    assert format_routing(result.engine).startswith("No routing configuration")


def test_demo_registry_data_follow_the_lead_number() -> None:
    """company_verified events carry the company size of their lead's number."""
    from leadlife.demo import World, generate_events
    from leadlife.demo.world import company_size

    verified = [
        e
        for e in generate_events(World(leads=200, days=14, seed=3))
        if e["type"] == "company_verified"
    ]
    assert verified
    for event in verified:
        employees, capital = company_size(int(event["lead_id"][1:]))
        assert (event["data"]["employees"], event["data"]["registered_capital"]) == (
            employees,
            capital,
        )


def test_demo_world_keeps_its_event_stream() -> None:
    """Regression: the registry data draw nothing from the world's generator, so a seed's
    events keep the ids, leads, types and moments they had before (pinned digest)."""
    import hashlib

    from leadlife.demo import World, generate_events

    events = generate_events(World(leads=200, days=14, seed=3))
    key = "|".join(f"{e['id']},{e['lead_id']},{e['type']},{e['at']}" for e in events)
    assert len(events) == 750
    assert hashlib.sha256(key.encode()).hexdigest()[:16] == "a34b441179231da5"


def test_the_documented_demo_routing_table_is_the_demos() -> None:
    """docs/cli.md shows the routing table of `leadlife demo` with no options: it is
    the one the demo prints (a change to routing shows up here, not in users' hands)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    start = doc.index("```\nRouting: 5 teams;") + 4
    shown = doc[start : doc.index("```", start)]
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    printed = result.output[result.output.index("Routing: 5 teams;") :]
    assert printed.strip() == shown.strip()
