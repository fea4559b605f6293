"""The demo: a synthetic world run through the engine, reported as a funnel, the top
leads and who owns them."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import attrs

from leadlife.demo.world import World, company_size, generate_events
from leadlife.engine import Engine
from leadlife.events import Event
from leadlife.lead import Lead
from leadlife.notices import Notice
from leadlife.plugins.hookspecs import hookimpl
from leadlife.reports import IngestReport
from leadlife.routing import Routing
from leadlife.rules import Rulebook
from leadlife.stages import Stage

__all__ = [
    "DEMO_ROUTING",
    "DEMO_RULEBOOK",
    "DemoResult",
    "NoticeCounter",
    "RegistryLookup",
    "World",
    "format_funnel",
    "format_routing",
    "format_top_leads",
    "generate_events",
    "run_demo",
]

#: The default rulebook, with the rule scorer ("rules") placing leads in the bands.
DEMO_RULEBOOK: Mapping[str, Any] = {"extends": "default", "bands": {"scorer": "rules"}}

#: Who works the demo's qualified leads: the reps ``rep00``..``rep11`` that the world's
#: ``sales_accepted`` events name, each in one team. Big companies go to the key-account
#: team, the rest by the phone number's province to a regional team, and everything
#: else (other provinces, numbers the geocoder cannot place) to inside sales.
DEMO_ROUTING: Mapping[str, Any] = {
    "seed": 7,
    "admins": ["ops"],
    "teams": [
        {
            "id": "ka",
            "strategy": "capacity",
            "managers": ["kate"],
            "timezone": "Asia/Shanghai",
            "members": [{"id": "rep00", "capacity": 120}, {"id": "rep01", "capacity": 60}],
        },
        {
            "id": "north",
            "managers": ["nora"],
            "timezone": "Asia/Shanghai",
            "members": [{"id": "rep02"}, {"id": "rep03"}, {"id": "rep04"}],
        },
        {
            "id": "east",
            "managers": ["evan"],
            "timezone": "Asia/Shanghai",
            "members": [
                {"id": "rep05"},
                # Away for the National Day holiday: the rotation skips them.
                {"id": "rep06", "absences": [{"from": "2026-10-01", "until": "2026-10-07"}]},
                {"id": "rep07"},
            ],
        },
        {
            "id": "south",
            "managers": ["sam"],
            "timezone": "Asia/Shanghai",
            "members": [{"id": "rep08"}, {"id": "rep09"}],
        },
        {
            "id": "inside",
            "managers": ["ines"],
            "timezone": "Asia/Shanghai",
            "members": [{"id": "rep10"}, {"id": "rep11"}],
        },
    ],
    "routers": {
        "business_line": {
            "key_account_team": "ka",
            "min_employees": 1000,
            "min_registered_capital": 100_000_000,
        },
        "region": {
            "regions": [
                {
                    "team": "north",
                    "places": [
                        "Beijing",
                        "Tianjin",
                        "Hebei",
                        "Shandong",
                        "Shanxi",
                        "Inner Mongolia",
                        "Liaoning",
                        "Jilin",
                        "Heilongjiang",
                    ],
                },
                {
                    "team": "east",
                    "places": ["Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi"],
                },
                # Not "Hainan": the geocoder also names a prefecture of Qinghai so.
                {"team": "south", "places": ["Guangdong", "Guangxi"]},
            ]
        },
        "fallback": {"team": "inside"},
    },
}


class RegistryLookup:
    """The demo's company registry: each form's company size, looked up at capture.

    Routing happens when a lead qualifies, on its form, before the world's
    ``company_verified`` event confirms the company; so the business-line router can
    tell key accounts apart, this enricher adds ``employees`` and
    ``registered_capital`` to the form (the figures that event carries later).
    """

    name = "demo-registry"

    def enrich(self, event: Event, lead: Lead) -> Mapping[str, Any] | None:
        """The company size of a form's lead (``u000042`` is lead number 42)."""
        if event.type != "form_submit" or not event.lead_id[1:].isdigit():
            return None
        employees, capital = company_size(int(event.lead_id[1:]))
        return {"employees": employees, "registered_capital": capital}

    @hookimpl
    def leadlife_register_enrichers(self, register: Callable[[RegistryLookup], None]) -> None:
        """This registry, as an enricher."""
        register(self)


class NoticeCounter:
    """A notification channel that only counts the notices it is sent, by kind."""

    name = "demo-notices"

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def send(self, notice: Notice, lead: Lead) -> None:
        """Count ``notice``."""
        self.counts[notice.kind] += 1

    @hookimpl
    def leadlife_register_channels(self, register: Callable[[NoticeCounter], None]) -> None:
        """This counter, as a channel."""
        register(self)


@attrs.frozen
class DemoResult:
    """What a demo run produced.

    ``notices`` counts the notices raised by ticks; ``notices_by_kind`` every notice
    the engine sent to its channels (on ingest and on tick), by kind.
    """

    engine: Engine
    report: IngestReport
    ticks: int
    tick_changes: int
    notices: int
    notices_by_kind: Mapping[str, int] = attrs.field(factory=dict)


def run_demo(
    world: World | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    rulebook: Rulebook | Mapping[str, Any] | str = DEMO_RULEBOOK,
    routing: Mapping[str, Any] | None = DEMO_ROUTING,
) -> DemoResult:
    """Feed ``world``'s events into a fresh engine, ticking once per simulated day while
    events come in, and once at ``world.end`` (which catches up on the quiet days after
    the last event, as a late tick does).

    The engine runs ``rulebook``: by default the default rulebook with its rule
    scorer driving the Cold / Warm / Hot bands. With a ``routing`` configuration (by
    default :data:`DEMO_ROUTING`) qualified leads are routed to teams and owners and
    the follow-up timers run at every tick, with the demo's :class:`RegistryLookup`
    giving each form its company size; ``routing=None`` runs without both. A
    :class:`NoticeCounter` counts the notices either way.
    """
    world = World() if world is None else world
    events = generate_events(world)
    counter = NoticeCounter()
    plugins: list[object] = [counter]
    if routing is not None:
        plugins += [Routing.from_dict(routing, source="DEMO_ROUTING"), RegistryLookup()]
    engine = Engine(rulebook, plugins=plugins)
    report = IngestReport()
    day = world.start + timedelta(days=1)
    batch: list[dict[str, object]] = []
    ticks = tick_changes = notices = 0

    def flush() -> None:
        part = engine.ingest_many(batch)
        report.accepted += part.accepted
        report.duplicates += part.duplicates
        report.rejected.extend(part.rejected)
        report.stage_changes += part.stage_changes
        report.failures.extend(part.failures)
        batch.clear()

    for index, event in enumerate(events):
        while str(event["at"]) >= day.isoformat():
            flush()
            result = engine.tick(day)
            ticks += 1
            tick_changes += len(result.stage_changes)
            notices += len(result.notices)
            day += timedelta(days=1)
        batch.append(event)
        if progress is not None and index % 5000 == 0:
            progress(index, len(events))
    flush()
    result = engine.tick(world.end)
    ticks += 1
    tick_changes += len(result.stage_changes)
    notices += len(result.notices)
    return DemoResult(engine, report, ticks, tick_changes, notices, dict(counter.counts))


def format_funnel(engine: Engine) -> str:
    """A text table of how many leads stand in each stage, and how many ever reached it."""
    now_counts = engine.funnel()
    reached = dict.fromkeys(Stage, 0)
    total = 0
    for lead in engine.storage.leads():
        total += 1
        seen = {Stage.COLD} | {change.to_stage for change in lead.history}
        for stage in seen:
            reached[stage] += 1
    lines = [f"{'stage':<14}{'now':>8}{'ever':>8}{'ever %':>9}", "-" * 39]
    for stage in Stage:
        share = 100.0 * reached[stage] / total if total else 0.0
        lines.append(f"{stage.name:<14}{now_counts[stage]:>8}{reached[stage]:>8}{share:>8.1f}%")
    lines.append("-" * 39)
    lines.append(f"{'leads':<14}{total:>8}")
    return "\n".join(lines)


def format_top_leads(engine: Engine, scorer: str = "rules", top: int = 10) -> str:
    """A text table of the ``top`` open leads by ``scorer``'s score, with their reasons.

    Each row has the lead's stage, score, fit grade and its three largest
    contributions, from ``engine.explain(lead_id, scorer)``. A scorer the engine does
    not have raises :class:`~leadlife.errors.InvalidArgumentError` (a misspelt name
    would otherwise read as no leads).
    """
    engine._check_scorer(scorer)
    leads = [
        lead for lead in engine.storage.leads() if lead.stage.is_open and scorer in lead.scores
    ]
    leads.sort(key=lambda lead: (-lead.scores[scorer], lead.id))
    lines = [
        f"Top {min(top, len(leads))} open leads by score (scorer {scorer!r})",
        f"{'lead':<10}{'stage':<8}{'score':>7}  {'grade':<7}top reasons",
        "-" * 78,
    ]
    for lead in leads[:top]:
        why = engine.explain(lead.id, scorer)
        reasons = ", ".join(f"{c.rule} {round(c.points, 1):+g}" for c in why.contributions[:3])
        lines.append(
            f"{lead.id:<10}{lead.stage.name:<8}{lead.scores[scorer]:>7.1f}  "
            f"{why.grade or '-':<7}{reasons}"
        )
    return "\n".join(lines)


def format_routing(engine: Engine) -> str:
    """A text table per team of the engine's routing configuration, and the notices.

    Each row has the team's strategy and members, how many open leads its members own
    now and how many wait in its pool, and how many leads routers sent to it, by
    router (a lead counts once, for the decision that first placed it). Below it, the
    assignments by action and, when a :class:`NoticeCounter` is registered, the
    notices sent by kind.
    """
    routing = engine.routing
    counter = next((c for _, c in engine.channels if isinstance(c, NoticeCounter)), None)
    notices = _wrap(
        "Notices: " + ("not counted" if counter is None else _by_count(counter.counts) or "none")
    )
    if routing is None:
        return f"No routing configuration: no lead has a team.\n{notices}"
    owned: Counter[str] = Counter()
    pool: Counter[str] = Counter()
    routed: dict[str, Counter[str]] = {team: Counter() for team in routing.teams}
    actions: Counter[str] = Counter()
    for lead in engine.storage.leads():
        for assignment in lead.assignments:
            actions[assignment.action] += 1
        decision = next((a for a in lead.assignments if a.router is not None), None)
        if decision is not None and decision.team in routed:
            routed[decision.team][decision.router or ""] += 1
        if lead.team is not None and lead.stage.is_open:
            (pool if lead.owner is None else owned)[lead.team] += 1
    name = max(8, *(len(team_id) + 2 for team_id in routing.teams))
    width = max(9, *(len(" ".join(team.members)) + 2 for team in routing.teams.values()))
    rule = "-" * (name + 37 + width)
    lines = [
        f"Routing: {len(routing.teams)} team{'' if len(routing.teams) == 1 else 's'}; "
        "open leads owned now and waiting in the pool",
        f"{'team':<{name}}{'strategy':<13}{'members':<{width}}{'owned':>6}{'pool':>6}  routed by",
        rule,
    ]
    for team_id, team in routing.teams.items():
        lines.append(
            f"{team_id:<{name}}{team.strategy:<13}{' '.join(team.members):<{width}}"
            f"{owned[team_id]:>6}{pool[team_id]:>6}  {_by_count(routed[team_id]) or '-'}"
        )
    lines.append(rule)
    lines.append(_wrap("Assignments: " + (_by_count(actions) or "none")))
    lines.append(notices)
    return "\n".join(lines)


def _by_count(counts: Mapping[str, int]) -> str:
    """``"a 3, b 2"``: the most frequent first, ties by name."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} {count}" for name, count in ranked if count)


def _wrap(line: str) -> str:
    return textwrap.fill(line, width=78, subsequent_indent="  ", break_on_hyphens=False)
