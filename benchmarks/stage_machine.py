"""The stage machine alone: cost per transition, set-up, and memory per lead.

Every contender drives the same walk: a precomputed list of ``(lead index, target,
reason)`` moves, each legal along its lead's lifecycle (promotions, cooling demotions,
an SAL falling back to SQL, closing, reopening with a reason), with the leads
interleaved at random as they would be in a live funnel.

- dict floor: ``table[current][target]`` on a plain dict of dicts, stage kept in a list;
- ours: ``DEFAULT_GRAPH.step(...)`` (and ``StageGraph.move``), stage kept in a list;
- ``transitions`` with one ``Machine`` per lead (a model per lead);
- ``transitions`` with one shared ``Machine`` for every lead's model.

The ``transitions`` machines get the same states and moves as ``DEFAULT_GRAPH``: one
trigger ``go_<stage>`` per target stage, and a condition that refuses a reopen without
a reason.
"""

from __future__ import annotations

import gc
import random
import sys
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from transitions import Machine

import leadlife
from leadlife.errors import TransitionNotAllowed
from leadlife.stages import DEFAULT_GRAPH, Move, Stage

from ._events import CST, lead_story
from ._harness import (
    Timing,
    best_of,
    best_of_each,
    fmt_bytes,
    fmt_rate,
    print_table,
    section,
    target,
    traced_bytes,
)

__all__ = ["run"]

C, W, H = Stage.COLD, Stage.WARM, Stage.HOT
MQL, SQL, SAL, WON, DQ = Stage.MQL, Stage.SQL, Stage.SAL, Stage.WON, Stage.DISQUALIFIED
REASON = "budget approved"
Step = tuple[Stage, str]
Walk = list[tuple[int, Stage, str]]

# Lifecycles a lead can follow from COLD, with how often each is picked. Every step is
# legal in DEFAULT_GRAPH (checked in _paths); reopening carries a reason.
_LIFECYCLES: tuple[tuple[int, tuple[Stage | tuple[Stage, str], ...]], ...] = (
    (10, (W, H, MQL, SQL, SAL, SQL, SAL, WON)),  # won after a stalled SAL
    (8, (W, H, MQL, SQL, SAL, SQL, SAL, SQL, SAL, WON, (C, REASON), W, H, MQL)),  # upsell
    (14, (W, C, W, H, W, C, W, H, MQL, SQL)),  # cooled twice, then qualified
    (12, (MQL, SQL, SAL, DQ, (C, REASON), W, H, MQL, SQL, SAL, WON)),  # lost, won back
    (14, (W, H, W, H, MQL, DQ)),  # disqualified after the form
    (16, (W, H, C, W, C, W, H, W, C)),  # browses on and off
    (10, (W, C, W, C, W, C)),  # lukewarm visitor
    (8, (H, MQL, SQL, SAL, SQL, SAL, SQL, DQ, (C, REASON), W)),  # long sales cycle
    (8, (MQL, SQL, SAL, WON, (C, REASON), MQL, SQL, SAL, WON)),  # repeat customer
)


def _paths() -> tuple[list[list[Step]], list[int]]:
    paths: list[list[Step]] = []
    weights: list[int] = []
    for weight, steps in _LIFECYCLES:
        path = [(s, "") if isinstance(s, Stage) else s for s in steps]
        stage = DEFAULT_GRAPH.initial
        for nxt, reason in path:
            DEFAULT_GRAPH.step(stage, nxt, reason=reason)  # raises if the path is illegal
            stage = nxt
        paths.append(path)
        weights.append(weight)
    return paths, weights


def make_walk(leads: int, seed: int = 11) -> tuple[Walk, list[Stage]]:
    """The interleaved walk over ``leads`` leads, and each lead's expected final stage."""
    rng = random.Random(seed)
    paths, weights = _paths()
    chosen = rng.choices(paths, weights, k=leads)
    order = [index for index, path in enumerate(chosen) for _ in path]
    rng.shuffle(order)
    cursor = [0] * leads
    walk: Walk = []
    for index in order:
        stage, reason = chosen[index][cursor[index]]
        cursor[index] += 1
        walk.append((index, stage, reason))
    return walk, [path[-1][0] for path in chosen]


# -- the contenders' loops (identical shape: look up the lead's stage, check, assign) --


def floor_loop(walk: Walk, stages: list[Stage], table: dict[Stage, dict[Stage, Move]]) -> object:
    last = None
    for i, target_, _reason in walk:
        last = table[stages[i]][target_]
        stages[i] = target_
    return last


def step_loop(walk: Walk, stages: list[Stage], ids: list[str]) -> object:
    step = DEFAULT_GRAPH.step
    last = None
    for i, target_, reason in walk:
        last = step(stages[i], target_, lead_id=ids[i], reason=reason)
        stages[i] = target_
    return last


def move_loop(walk: Walk, stages: list[Stage], ids: list[str]) -> object:
    move = DEFAULT_GRAPH.move
    reopen = Move.REOPEN
    last = None
    for i, target_, reason in walk:
        last = move(stages[i], target_)
        if last is None or (last is reopen and not reason):
            raise TransitionNotAllowed(ids[i], stages[i], target_, [])
        stages[i] = target_
    return last


def transitions_walk(walk: Walk) -> list[tuple[int, str, str]]:
    """``walk`` as ``transitions`` triggers: ``(lead index, trigger name, reason)``."""
    return [(i, f"go_{stage.value}", reason) for i, stage, reason in walk]


def transitions_loop(walk: list[tuple[int, str, str]], models: list[Any]) -> object:
    last = None
    for i, trigger, reason in walk:
        last = getattr(models[i], trigger)(reason=reason)
    return last


# -- the transitions machines ---------------------------------------------------------


class LeadModel:
    """The per-lead object ``transitions`` keeps the state on (``model.state``)."""

    state: str


def _has_reason(*_: object, reason: str = "", **__: object) -> bool:
    return bool(reason)


def _machine_spec() -> dict[str, Any]:
    moves: list[dict[str, Any]] = []
    for source, targets in DEFAULT_GRAPH.table().items():
        for dest, kind in targets.items():
            move: dict[str, Any] = {
                "trigger": f"go_{dest.value}",
                "source": source.value,
                "dest": dest.value,
            }
            if kind is Move.REOPEN:
                move["conditions"] = [_has_reason]
            moves.append(move)
    return {
        "states": [stage.value for stage in Stage],
        "transitions": moves,
        "initial": DEFAULT_GRAPH.initial.value,
        "auto_transitions": False,
    }


def per_lead_machines(leads: int, spec: dict[str, Any]) -> list[LeadModel]:
    """One model and one ``Machine`` per lead (the machine lives on through the model)."""
    models = []
    for _ in range(leads):
        model = LeadModel()
        Machine(model=model, **spec)
        models.append(model)
    return models


def shared_machine(leads: int, spec: dict[str, Any]) -> tuple[Machine, list[LeadModel]]:
    """One ``Machine`` holding every lead's model."""
    models = [LeadModel() for _ in range(leads)]
    return Machine(model=models, **spec), models


def _reset(models: Sequence[LeadModel], initial: str) -> None:
    for model in models:
        model.state = initial  # what Machine.set_state does for a string state


def _time_transitions(
    walk: list[tuple[int, str, str]], models: list[LeadModel], repeats: int
) -> Timing:
    initial = DEFAULT_GRAPH.initial.value
    return best_of(
        lambda: transitions_loop(walk, models),
        repeats=repeats,
        setup=lambda: _reset(models, initial),
    )


def _check(name: str, got: Sequence[object], expected: Sequence[Stage]) -> None:
    wrong = sum(1 for g, e in zip(got, expected, strict=True) if g != e)
    if wrong:
        raise AssertionError(f"{name}: {wrong} leads ended in the wrong stage")


# -- memory of a full Lead ------------------------------------------------------------


def _open_lead_events(leads: int, seed: int = 5) -> tuple[list[dict[str, Any]], list[str]]:
    """Events of ``leads`` leads with 8-12 events each and no closing event, in time order."""
    rng = random.Random(seed)
    rows: list[tuple[float, str, str, dict[str, Any]]] = []
    ids: list[str] = []
    while len(ids) < leads:
        story = lead_story(rng, 60)
        if not 8 <= len(story) <= 12 or any(k in ("deal_won", "deal_lost") for _, k, _ in story):
            continue
        lead_id = f"m{len(ids):07d}"
        ids.append(lead_id)
        rows.extend((ts, lead_id, kind, data) for ts, kind, data in story)
    rows.sort(key=lambda row: row[0])
    events = [
        {
            "id": f"me{index:08d}",
            "lead_id": lead_id,
            "type": kind,
            "at": datetime.fromtimestamp(ts, CST).isoformat(timespec="milliseconds"),
            "channel": "seo",
            "data": data,
        }
        for index, (ts, lead_id, kind, data) in enumerate(rows)
    ]
    return events, ids


def _clear_caches() -> None:
    """Empty process-wide caches that would otherwise count as lead memory."""
    from leadlife import profile

    clear = getattr(profile.check_phone, "cache_clear", None)
    if clear is not None:
        clear()


def lead_memory(leads: int) -> dict[str, Any]:
    """Bytes per lead kept by an Engine after ~10 events per lead, and by its Leads alone.

    A throwaway engine warms up first, and the measured engine is built before tracing
    starts; the events are generated, ingested and dropped while tracing. ``with_log``
    is everything the engine still holds per lead (the lead, its stored events, the
    event-id set, the due heap); ``lead`` is what the ``engine.get(id)`` Leads keep
    alive once the engine itself is dropped.
    """
    # Warm up first, so lazy imports (phone-number metadata) and first-use caches are
    # not counted as lead memory.
    leadlife.Engine().ingest_many(_open_lead_events(50, seed=99)[0])
    engine = leadlife.Engine()
    _clear_caches()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        events, ids = _open_lead_events(leads)
        count = len(events)
        report = engine.ingest_many(events)
        del events
        _clear_caches()
        gc.collect()
        with_log = tracemalloc.get_traced_memory()[0] - base
        kept = [engine.get(lead_id) for lead_id in ids]
        del engine, report
        gc.collect()
        lead_only = tracemalloc.get_traced_memory()[0] - base - sys.getsizeof(kept)
    finally:
        tracemalloc.stop()
    open_leads = sum(1 for lead in kept if lead.is_open)
    return {
        "leads": leads,
        "events": count,
        "events_per_lead": count / leads,
        "open_leads": open_leads,
        "engine_bytes_per_lead_with_event_log": with_log / leads,
        "lead_bytes_per_lead": lead_only / leads,
        "stages": {s.value: sum(1 for lead in kept if lead.stage is s) for s in Stage},
    }


# -- the benchmark --------------------------------------------------------------------


def run(quick: bool = False) -> dict[str, Any]:
    """Run the stage-machine benchmark, print its tables, return its results."""
    leads = 1_000 if quick else 10_000
    small = leads // 5
    mem_leads = 500 if quick else 5_000
    repeats_fast, repeats_slow = (5, 3) if quick else (15, 5)
    section("stage_machine: the stage graph alone")
    walk, final = make_walk(leads)
    initial = DEFAULT_GRAPH.initial
    ids = [f"u{i:07d}" for i in range(leads)]
    print(
        f"walk: {len(walk):,} legal moves over {leads:,} leads "
        f"({len(walk) / leads:.1f} per lead, leads interleaved at random); "
        "gc enabled; best of N runs"
    )
    table = DEFAULT_GRAPH.table()
    spec = _machine_spec()
    t_walk = transitions_walk(walk)

    # our graph and the floor
    stages: list[Stage] = [initial] * leads

    def reset_stages() -> None:
        stages[:] = [initial] * leads

    fast: dict[str, Callable[[], object]] = {
        "dict floor": lambda: floor_loop(walk, stages, table),
        "ours: step()": lambda: step_loop(walk, stages, ids),
        "ours: move()": lambda: move_loop(walk, stages, ids),
    }
    # In rounds, so the floor and ours share the machine's speed of the moment.
    timings: dict[str, Any] = best_of_each(fast, repeats=repeats_fast, setup=reset_stages)
    for name, contender in fast.items():
        reset_stages()
        contender()
        _check(name, stages, final)

    # transitions: set-up at two sizes, then the walk on the larger
    setup: dict[str, dict[int, Any]] = {"per-lead Machine": {}, "shared Machine": {}}
    setup["per-lead Machine"][small] = best_of(lambda: per_lead_machines(small, spec), repeats=3)
    setup["shared Machine"][small] = best_of(lambda: shared_machine(small, spec), repeats=3)
    built: dict[str, list[LeadModel]] = {}

    def build_per_lead() -> None:
        built["per-lead Machine"] = per_lead_machines(leads, spec)

    def build_shared() -> None:
        built["shared Machine"] = shared_machine(leads, spec)[1]

    setup["per-lead Machine"][leads] = best_of(build_per_lead, repeats=1)
    setup["shared Machine"][leads] = best_of(build_shared, repeats=1)
    for name, models in built.items():
        timings[f"transitions: {name}"] = _time_transitions(t_walk, models, repeats_slow)
        _check(name, [Stage(m.state) for m in models], final)
    built.clear()
    gc.collect()

    moves = len(walk)
    rates = {name: moves / timing.best for name, timing in timings.items()}
    floor = rates["dict floor"]
    rows = [
        [
            name,
            fmt_rate(rate),
            f"{1e9 / rate:.0f}",
            f"{floor / rate:.2f}x",
            f"{rate / rates['transitions: per-lead Machine']:.1f}x",
            len(timings[name].runs),
        ]
        for name, rate in rates.items()
    ]
    print_table(
        "transitions per second (same walk, same process)",
        ["contender", "moves/s", "ns/move", "cost vs floor", "speed vs per-lead", "runs"],
        rows,
    )

    setup_rows = []
    for name, sizes in setup.items():
        t_small, t_large = sizes[small].best, sizes[leads].best
        setup_rows.append(
            [
                f"transitions: {name}",
                f"{t_small * 1e3:.0f} ms",
                f"{t_large * 1e3:.0f} ms",
                f"{t_large / t_small:.1f}x",
                f"{t_large / leads * 1e6:.0f} µs",
            ]
        )
    print_table(
        f"set-up for N leads ({small:,} → {leads:,} is {leads // small}x more leads)",
        ["contender", f"N={small:,}", f"N={leads:,}", "growth", f"per lead at N={leads:,}"],
        setup_rows,
    )

    # memory per lead
    mem: dict[str, float] = {}
    slot_bytes, _ = traced_bytes(lambda: [initial] * small)
    mem["ours: stage slot in a list"] = slot_bytes / small
    some_ids = ids[:small]
    dict_bytes, _ = traced_bytes(lambda: dict.fromkeys(some_ids, initial))
    mem["ours: stage in a dict by lead id (ids not counted)"] = dict_bytes / small
    per_lead_bytes, _ = traced_bytes(lambda: per_lead_machines(small, spec))
    mem["transitions: per-lead Machine + model"] = per_lead_bytes / small
    shared_bytes, _ = traced_bytes(lambda: shared_machine(small, spec))
    mem["transitions: shared Machine, model per lead"] = shared_bytes / small
    full = lead_memory(mem_leads)
    mem["leadlife.Lead after ~10 events (engine.get)"] = full["lead_bytes_per_lead"]
    mem["Engine per lead, incl. its event log"] = full["engine_bytes_per_lead_with_event_log"]
    print_table(
        f"memory per lead (tracemalloc; N={small:,} for the machines, "
        f"{mem_leads:,} leads with {full['events_per_lead']:.1f} events each for the Lead rows)",
        ["what is kept per lead", "bytes/lead", ""],
        [[name, f"{value:,.0f}", fmt_bytes(value)] for name, value in mem.items()],
    )
    print(
        "note: the stage-slot rows count only the reference to the (shared) Stage; the "
        "Lead rows count everything a Lead holds (id, profile, behaviour counters, "
        "history, timestamps)."
    )

    print()
    ours = rates["ours: step()"]
    targets = [
        target(
            "ours (step) within 3x of the dict floor", floor / ours <= 3, f"{floor / ours:.2f}x"
        ),
        target(
            "ours (step) at least 10x faster than transitions with a Machine per lead",
            ours / rates["transitions: per-lead Machine"] >= 10,
            f"{ours / rates['transitions: per-lead Machine']:.1f}x",
        ),
        target(
            "under 1 KiB of state per open lead — stage slot",
            mem["ours: stage slot in a list"] < 1024,
            fmt_bytes(mem["ours: stage slot in a list"]),
        ),
        target(
            "under 1 KiB of state per open lead — full leadlife.Lead",
            full["lead_bytes_per_lead"] < 1024,
            fmt_bytes(full["lead_bytes_per_lead"]),
        ),
    ]
    return {
        "walk": {"leads": leads, "moves": moves, "seed": 11},
        "gc": "enabled",
        "throughput": {
            name: {
                "moves_per_s": rates[name],
                "ns_per_move": 1e9 / rates[name],
                "cost_vs_dict_floor": floor / rates[name],
                **timing.as_dict(),
            }
            for name, timing in timings.items()
        },
        "setup_s": {
            name: {str(n): t.as_dict() for n, t in sizes.items()} for name, sizes in setup.items()
        },
        "memory_bytes_per_lead": mem,
        "lead_memory": full,
        "targets": targets,
    }
