"""The whole engine: ~1M plain-dict events over 100k leads, in memory, on one thread.

``leadlife.Engine()`` with the default plugins (rulebook, points scorer, in-memory
storage) and one trivial ``leadlife_stage_changed`` implementation (a counter), fed
with ``engine.ingest_many(events)``: validation, the enrichment hook, scoring, the
stage rules, storage and the stage hook all run for every event. The baseline,
measured in the same run on the same dicts, is bare ``leadlife.Event.model_validate``:
the validation floor every event pays. A profile of a 100k-event slice is printed
(not saved) to show where the time goes.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import resource
import time
from collections.abc import Sequence
from typing import Any

import leadlife

from . import _instructions
from ._events import generate
from ._harness import CollectorTime, Promotions, best_of, fmt_rate, print_table, section, target
from .stage_machine import (
    _machine_spec,
    _time_transitions,
    make_walk,
    per_lead_machines,
    transitions_walk,
)

__all__ = ["StageChangeCounter", "run"]

TARGET_EVENTS_PER_S = 50_000
# Where the target was set, the `transitions` library with one machine per lead ran
# about 80k moves/s: timed here on the stage-machine walk, it tells how fast this
# machine runs plain Python against that one, and so what the target is worth here.
REFERENCE_TRANSITIONS_PER_S = 80_000


class StageChangeCounter:
    """A trivial ``leadlife_stage_changed`` implementation, so the stage-hook path runs."""

    def __init__(self) -> None:
        self.calls = 0

    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: leadlife.Lead, change: leadlife.StageChange) -> None:
        self.calls += 1


def validate_all(events: Sequence[dict[str, Any]]) -> None:
    """The validation floor: every dict through ``Event.model_validate``, nothing else."""
    validate = leadlife.Event.model_validate
    for raw in events:
        validate(raw)


class EngineRun:
    """A fresh engine per timed run; keeps the last report to check it."""

    def __init__(self, events: Sequence[dict[str, Any]]):
        self.events = events
        self.engine: leadlife.Engine | None = None
        self.counter = StageChangeCounter()
        self.report: leadlife.IngestReport | None = None
        self.collectors: list[CollectorTime] = []  # one per timed run

    def close(self) -> None:
        """Drop the last run's engine and report."""
        self.engine = None
        self.report = None
        gc.collect()

    def setup(self) -> None:
        self.close()
        self.counter = StageChangeCounter()
        self.engine = leadlife.Engine(plugins=[self.counter])

    def run(self) -> None:
        if self.engine is None:
            raise RuntimeError("run() needs setup() first")
        with CollectorTime() as collector:
            self.report = self.engine.ingest_many(self.events)
        self.collectors.append(collector)

    def check(self) -> dict[str, Any]:
        """What the last run did; a mismatch is printed, not raised."""
        report = self.report
        if self.engine is None or report is None:
            raise RuntimeError("check() needs a finished run")
        facts = {
            "accepted": report.accepted,
            "rejected": len(report.rejected),
            "duplicates": report.duplicates,
            "plugin_failures": len(report.failures),
            "stage_changes": report.stage_changes,
            "stage_hook_calls": self.counter.calls,
            "leads": len(self.engine.storage),
            "funnel": {stage.value: n for stage, n in self.engine.funnel().items()},
        }
        if report.accepted != len(self.events) or report.rejected:
            print(f"WARNING: {len(report.rejected)} events rejected, e.g. {report.rejected[:1]}")
        if self.counter.calls != report.stage_changes:
            print(
                f"WARNING: stage hook called {self.counter.calls} times for "
                f"{report.stage_changes} stage changes"
            )
        return facts


class GcPausedRun(EngineRun):
    """The same run with the cyclic collector paused for the batch, as a host may do.

    The engine creates no reference cycles, so reference counting frees everything it
    drops; the collector's passes over millions of live leads are pure overhead here.
    """

    def run(self) -> None:
        gc.disable()
        try:
            super().run()
        finally:
            gc.enable()


def _where(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function  # a builtin, e.g. "{method 'get' of 'dict' objects}"
    for marker in ("/site-packages/", "/src/", "/lib/python"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{line}({function})"


def transitions_rate(quick: bool) -> tuple[float, list[float], int]:
    """Moves/s of ``transitions`` with one machine per lead on the stage-machine walk:
    ``(best rate, the runs' seconds, moves)``."""
    leads = 500 if quick else 2_000
    moves = transitions_walk(make_walk(leads)[0])
    models = per_lead_machines(leads, _machine_spec())
    timing = _time_transitions(moves, models, repeats=3 if quick else 5)
    return len(moves) / timing.best, timing.runs, len(moves)


def print_profile(stats: pstats.Stats, events: int, top: int = 15) -> None:
    """The ``top`` functions by cumulative and by own (total) time, µs per event."""
    entries = stats.stats  # type: ignore[attr-defined]  # {(file, line, fn): (cc, nc, tt, ct, callers)}
    for key, label in ((3, "cumulative"), (2, "total (own)")):
        ranked = sorted(entries.items(), key=lambda item: item[1][key], reverse=True)[:top]
        rows = [
            [
                _where(*where),
                f"{nc:,}" if nc == cc else f"{nc:,}/{cc:,}",
                f"{tt:.3f}",
                f"{ct:.3f}",
                f"{(ct if key == 3 else tt) / events * 1e6:.2f}",
            ]
            for where, (cc, nc, tt, ct, _) in ranked
        ]
        print_table(
            f"profile: top {top} by {label} time",
            ["function", "calls", "tottime s", "cumtime s", f"{label.split()[0]} µs/event"],
            rows,
        )


def count_instructions(quick: bool) -> dict[str, Any] | None:
    """Instructions per event (cachegrind), engine and floor; None without valgrind."""
    print()
    if not _instructions.available():
        print("instructions per event: valgrind is not installed; not counted")
        return None
    counted = _instructions.per_event(300 if quick else 1_000)
    print_table(
        f"instructions per event (cachegrind), {counted['events']:,} events over "
        f"{counted['leads']:,} leads: steady where timings are not",
        ["what runs per event", "instructions/event", "x floor"],
        [
            [
                "Event.model_validate (validation floor)",
                f"{counted['validation_floor']:,.0f}",
                "1.00x",
            ],
            [
                "Engine.ingest_many (default plugins)",
                f"{counted['engine']:,.0f}",
                f"{counted['multiple_of_validation_floor']:.2f}x",
            ],
        ],
    )
    return counted


def count_promotions() -> dict[str, Any]:
    """Objects promoted to the collector's oldest generation per event, by type.

    The second half of a small run's events, on leads the first half stored: what
    each event leaves long-lived for the collector. Unlike its seconds, this count
    does not move with the machine.
    """
    events = generate(5_000)  # fewer events may see no middle collection at all
    half = len(events) // 2
    engine = leadlife.Engine(plugins=[StageChangeCounter()])
    engine.ingest_many(events[:half])
    gc.collect()
    with Promotions() as promoted:
        engine.ingest_many(events[half:])
    counted = len(events) - half
    per_type = {kind: n / counted for kind, n in promoted.by_type.most_common()}
    print()
    print(
        f"objects promoted to the oldest gc generation: {promoted.total / counted:.2f} per event "
        f"({counted:,} events on stored leads): "
        + ", ".join(f"{kind} {share:.2f}" for kind, share in list(per_type.items())[:6])
    )
    return {"events": counted, "per_event": promoted.total / counted, "per_type": per_type}


def run(quick: bool = False) -> dict[str, Any]:
    """Run the engine-throughput benchmark, print its tables, return its results."""
    leads = 10_000 if quick else 100_000
    section("engine_throughput: the whole engine, in memory, one thread")

    started = time.perf_counter()
    gc.disable()  # generation only; every timed section below runs with gc enabled
    try:
        events = generate(leads)
    finally:
        gc.enable()
    generated_s = time.perf_counter() - started
    slice_ = [event for event in events if int(event["lead_id"][1:]) % 10 == 0]
    print(
        f"events: {len(events):,} over {leads:,} leads ({len(events) / leads:.1f} per lead, "
        f"60 days, time order), generated in {generated_s:.1f} s (untimed, gc paused)"
    )

    floor = best_of(lambda: validate_all(events), repeats=3)
    engine_run = EngineRun(events)
    timing = best_of(
        engine_run.run,
        setup=engine_run.setup,
        repeats=3,
        min_repeats=2,
        budget_s=150.0,
    )
    facts = engine_run.check()
    paused_run = GcPausedRun(events)
    paused = best_of(
        paused_run.run, setup=paused_run.setup, repeats=2, min_repeats=1, budget_s=100.0
    )
    paused_run.close()
    pm = engine_run.engine.plugin_manager if engine_run.engine is not None else None
    plugins = sorted(
        type(plugin).__name__ if isinstance(plugin, StageChangeCounter) else name
        for name, plugin in (pm.list_name_plugin() if pm is not None else [])
    )
    enrich_impls = len(pm.hook.leadlife_enrich_event.get_hookimpls()) if pm is not None else 0
    engine_run.close()
    print(
        f"plugins: {', '.join(plugins)} "
        f"(enrichment hook called per event, {enrich_impls} implementations registered)"
    )
    print(
        f"gc enabled in every timed run; fresh Engine per run (built untimed); "
        f"best of {len(timing.runs)} engine runs, {len(floor.runs)} floor runs"
    )

    count = len(events)
    engine_rate = count / timing.best
    floor_rate = count / floor.best
    print_table(
        f"{count:,} events, {leads:,} leads",
        ["what runs per event", "events/s", "µs/event", "x floor", "runs (s)"],
        [
            [
                "Event.model_validate (validation floor)",
                fmt_rate(floor_rate),
                f"{1e6 / floor_rate:.2f}",
                "1.00x",
                ", ".join(f"{t:.1f}" for t in floor.runs),
            ],
            [
                "Engine.ingest_many (default plugins + hook)",
                fmt_rate(engine_rate),
                f"{1e6 / engine_rate:.2f}",
                f"{floor_rate / engine_rate:.2f}x",
                ", ".join(f"{t:.1f}" for t in timing.runs),
            ],
            [
                "same, host pauses the cyclic gc for the batch",
                fmt_rate(count / paused.best),
                f"{1e6 * paused.best / count:.2f}",
                f"{paused.best / floor.best:.2f}x",
                ", ".join(f"{t:.1f}" for t in paused.runs),
            ],
        ],
    )
    collector = engine_run.collectors[timing.runs.index(timing.best)]
    print(
        f"cyclic gc in the best engine run: {collector.total_s:.1f} s of {timing.best:.1f} s "
        f"({collector.summary()})"
    )
    print(
        f"accepted {facts['accepted']:,}, rejected {facts['rejected']:,}, "
        f"stage changes {facts['stage_changes']:,} (hook calls {facts['stage_hook_calls']:,}), "
        f"plugin failures {facts['plugin_failures']:,}"
    )
    print("funnel after the run: " + ", ".join(f"{k} {v:,}" for k, v in facts["funnel"].items()))
    here, transitions_runs, transitions_moves = transitions_rate(quick)
    scaled = TARGET_EVENTS_PER_S * here / REFERENCE_TRANSITIONS_PER_S
    print(
        f"machine speed: transitions (a Machine per lead) made {fmt_rate(here)} moves here "
        f"({transitions_moves:,} moves, best of {len(transitions_runs)}), against "
        f"{fmt_rate(REFERENCE_TRANSITIONS_PER_S)} where the target was set: "
        f"{TARGET_EVENTS_PER_S // 1000}k events/s there is {fmt_rate(scaled)} here"
    )
    print()
    targets = [
        target(
            f"at least {TARGET_EVENTS_PER_S // 1000}k events/s through the whole engine",
            engine_rate >= TARGET_EVENTS_PER_S,
            fmt_rate(engine_rate),
        ),
        target(
            f"the same, scaled to this machine by the transitions baseline "
            f"({fmt_rate(here)} here, {fmt_rate(REFERENCE_TRANSITIONS_PER_S)} there)",
            engine_rate >= scaled,
            f"{fmt_rate(engine_rate)} against {fmt_rate(scaled)}: {engine_rate / scaled:.2f} of it",
        ),
    ]

    # profile a slice: every event of every 10th lead, in time order
    counter = StageChangeCounter()
    engine = leadlife.Engine(plugins=[counter])
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    engine.ingest_many(slice_)
    profiler.disable()
    print()
    print(
        f"profile (cProfile, not saved): {len(slice_):,} events, every event of every "
        "10th lead; times include the profiler's overhead"
    )
    print_profile(pstats.Stats(profiler), len(slice_))
    del engine

    promotions = count_promotions()
    instructions = count_instructions(quick)

    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "events": count,
        "leads": leads,
        "events_per_lead": count / leads,
        "generator": "benchmarks._events.generate (seed 20261101, 60 days)",
        "gc": "enabled in timed runs",
        "engine": {
            "events_per_s": engine_rate,
            "us_per_event": 1e6 / engine_rate,
            "multiple_of_validation_floor": floor_rate / engine_rate,
            **timing.as_dict(),
            "cyclic_gc_in_best_run": collector.as_dict(),
        },
        "engine_gc_paused": {
            "events_per_s": count / paused.best,
            "us_per_event": 1e6 * paused.best / count,
            **paused.as_dict(),
        },
        "validation_floor": {
            "events_per_s": floor_rate,
            "us_per_event": 1e6 / floor_rate,
            **floor.as_dict(),
        },
        "machine_speed": {
            "transitions_per_lead_moves_per_s": here,
            "reference_moves_per_s": REFERENCE_TRANSITIONS_PER_S,
            "runs_s": transitions_runs,
            "moves": transitions_moves,
            "target_events_per_s_here": scaled,
        },
        "instructions": instructions,
        "gc_promotions": promotions,
        "last_run": facts,
        "plugins": plugins,
        "max_rss_mib": max_rss,
        "targets": targets,
    }
