"""The demo: a synthetic world run through the engine, reported as a funnel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import attrs

from leadlife.demo.world import World, generate_events
from leadlife.engine import Engine
from leadlife.reports import IngestReport
from leadlife.rules import Rulebook
from leadlife.stages import Stage

__all__ = [
    "DEMO_RULEBOOK",
    "DemoResult",
    "World",
    "format_funnel",
    "format_top_leads",
    "generate_events",
    "run_demo",
]

#: The default rulebook, with the rule scorer ("rules") placing leads in the bands.
DEMO_RULEBOOK: Mapping[str, Any] = {"extends": "default", "bands": {"scorer": "rules"}}


@attrs.frozen
class DemoResult:
    """What a demo run produced."""

    engine: Engine
    report: IngestReport
    ticks: int
    tick_changes: int
    notices: int


def run_demo(
    world: World | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    rulebook: Rulebook | Mapping[str, Any] | str = DEMO_RULEBOOK,
) -> DemoResult:
    """Feed ``world``'s events into a fresh engine, ticking once per simulated day.

    The engine runs ``rulebook``: by default the default rulebook with its rule
    scorer driving the Cold / Warm / Hot bands.
    """
    world = World() if world is None else world
    events = generate_events(world)
    engine = Engine(rulebook)
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
    return DemoResult(engine, report, ticks, tick_changes, notices)


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
    contributions, from ``engine.explain(lead_id, scorer)``.
    """
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
