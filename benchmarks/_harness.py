"""Shared pieces of the benchmarks: timing, memory, tables, targets and machine info."""

from __future__ import annotations

import collections
import gc
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Self

__all__ = [
    "CollectorTime",
    "Timing",
    "best_of",
    "best_of_each",
    "fmt_bytes",
    "fmt_rate",
    "machine_info",
    "print_table",
    "section",
    "target",
    "traced_bytes",
]


class Timing:
    """Wall-clock seconds of every run of one timed section; the best run counts."""

    def __init__(self, runs: list[float]):
        self.runs = runs

    @property
    def best(self) -> float:
        return min(self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {"best_s": self.best, "runs_s": self.runs}


class _CollectorWatch:
    """A ``gc.callbacks`` entry for the length of a ``with`` block."""

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)


class CollectorTime(_CollectorWatch):
    """Collections and seconds of the cyclic garbage collector, per generation,
    while installed (``with CollectorTime() as collector: ...``)."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.collections[generation] += 1
        self.seconds[generation] += time.perf_counter() - self._started

    @property
    def total_s(self) -> float:
        return sum(self.seconds)

    def summary(self) -> str:
        return ", ".join(
            f"{n:,} {name} {t:.1f} s"
            for name, n, t in zip(_GENERATIONS, self.collections, self.seconds, strict=True)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_s": self.total_s,
            "collections": dict(zip(_GENERATIONS, self.collections, strict=True)),
            "seconds": dict(zip(_GENERATIONS, self.seconds, strict=True)),
        }


_GENERATIONS = ("young", "middle", "full")


class Promotions(_CollectorWatch):
    """Objects that middle collections move into the oldest generation, by type,
    while installed (``with Promotions() as promoted: ...``).

    CPython starts a full collection when these reach a quarter of the objects
    already there, so their number per unit of work sets how often full collections
    come, whatever the heap's size. Slow (it lists the oldest generation around
    each middle collection): for runs of thousands of objects, not millions.
    """

    def __init__(self) -> None:
        self.by_type: collections.Counter[str] = collections.Counter()
        self._before: set[int] = set()

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 1:
            return
        if phase == "start":
            self._before = {id(obj) for obj in gc.get_objects(2)}
            return
        before = self._before
        self.by_type.update(
            type(obj).__name__ for obj in gc.get_objects(2) if id(obj) not in before
        )
        self._before = set()

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


def best_of(
    run: Callable[[], object],
    *,
    repeats: int,
    setup: Callable[[], object] | None = None,
    budget_s: float = float("inf"),
    min_repeats: int = 1,
) -> Timing:
    """Time ``run()`` up to ``repeats`` times with ``time.perf_counter``.

    ``setup()`` runs before each timing, untimed. After ``min_repeats`` runs no new
    run starts once the timed runs together took more than ``budget_s``. The cyclic
    garbage collector stays enabled; a full collection happens before each run so
    one run does not pay for the garbage of the one before.
    """
    runs: list[float] = []
    while len(runs) < repeats:
        runs.append(_timed(run, setup))
        if len(runs) >= min_repeats and sum(runs) > budget_s:
            break
    return Timing(runs)


def _timed(run: Callable[[], object], setup: Callable[[], object] | None) -> float:
    """Seconds of one ``run()``, after ``setup()`` and a full collection, untimed."""
    if setup is not None:
        setup()
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def best_of_each(
    runs: dict[str, Callable[[], object]],
    *,
    repeats: int,
    setup: Callable[[], object] | None = None,
) -> dict[str, Timing]:
    """Time each of ``runs`` ``repeats`` times, in rounds that run every one once.

    For contenders compared as a ratio: on a shared machine whose speed drifts, a
    block of runs of one and then a block of the other would measure the drift too.
    ``setup()`` runs before each timing, untimed, after a full collection.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(_timed(run, setup))
    return {name: Timing(found) for name, found in times.items()}


def traced_bytes(build: Callable[[], object]) -> tuple[int, object]:
    """Bytes still allocated after ``build()`` returns, and what it returned.

    Measured with :mod:`tracemalloc` (current traced memory after a full collection,
    minus before), so it counts what the result keeps alive, not temporary peaks.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, result


def fmt_rate(per_second: float) -> str:
    """``1234567.0`` → ``'1.23M/s'``."""
    for scale, unit in ((1e6, "M"), (1e3, "k")):
        if per_second >= scale:
            return f"{per_second / scale:.3g}{unit}/s"
    return f"{per_second:.3g}/s"


def fmt_bytes(count: float) -> str:
    """``17408`` → ``'17.0 KiB'``."""
    if abs(count) >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MiB"
    if abs(count) >= 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count:.1f} B"


def section(title: str) -> None:
    """Print a benchmark's heading."""
    print()
    print(title)
    print("=" * len(title))


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print ``rows`` under ``header`` as a text table; the first column is left-aligned."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    print()
    print(title)
    print(line(cells[0]))
    print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    for row in cells[1:]:
        print(line(row))


def target(description: str, met: bool, measured: str) -> dict[str, Any]:
    """Print whether a target was met; return it for the JSON results."""
    print(f"target: {description} — {'met' if met else 'NOT met'} ({measured})")
    return {"target": description, "met": met, "measured": measured}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Where and when the benchmarks ran."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "packages": {
            name: _version(name) for name in ("leadlife", "pydantic", "pluggy", "transitions")
        },
    }
