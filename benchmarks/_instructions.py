"""Instructions per event, counted by cachegrind: a measure that machine noise leaves alone.

Wall-clock times on a shared virtual machine move by 10-40% between runs, which hides
any change to the engine smaller than that. The number of CPU instructions a run
executes barely moves, so it shows a 1% change. It does not see cache misses or the
garbage collector's share, which the timed runs do: use it to compare code, and the
timings to judge throughput.

Each count runs this module in a child process under
``valgrind --tool=cachegrind --cache-sim=no``; the count of a child that only builds
the events and the engine is subtracted. Run alone: ``python -m benchmarks._instructions``.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import leadlife

from ._events import generate

__all__ = ["MODES", "available", "count", "per_event"]

MODES = ("setup", "validate", "engine")
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
_ROOT = Path(__file__).resolve().parent.parent


def available() -> bool:
    """Whether valgrind is installed."""
    return shutil.which("valgrind") is not None


def count(mode: str, leads: int) -> int:
    """Instructions a child process executes in ``mode`` (set-up included)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks._instructions",
        "--child",
        mode,
        "--leads",
        str(leads),
    ]
    done = subprocess.run(
        command,
        cwd=_ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    found = _REFS.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_event(leads: int) -> dict[str, Any]:
    """Instructions per event of the validation floor and of the whole engine."""
    events = len(generate(leads))
    setup = count("setup", leads)
    validate = count("validate", leads) - setup
    engine = count("engine", leads) - setup
    return {
        "events": events,
        "leads": leads,
        "validation_floor": validate / events,
        "engine": engine / events,
        "multiple_of_validation_floor": engine / validate,
    }


def _child(mode: str, leads: int) -> None:
    gc.disable()  # as in the timed runs' generation; the count is of the work alone
    events = generate(leads)
    # Warm up in every mode, set-up included: first uses (phone metadata, caches)
    # are paid once per process, and would otherwise be counted per event.
    leadlife.Engine().ingest_many(generate(20))
    engine = leadlife.Engine()
    gc.enable()
    if mode == "validate":
        validate = leadlife.Event.model_validate
        for raw in events:
            validate(raw)
    elif mode == "engine":
        report = engine.ingest_many(events)
        if report.accepted != len(events):
            raise SystemExit(f"{len(report.rejected)} events rejected: {report.rejected[:1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._instructions")
    parser.add_argument("--leads", type=int, default=1_000)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child, args.leads)
        return 0
    if not available():
        print("valgrind is not installed; nothing counted")
        return 1
    result = per_event(args.leads)
    print(
        f"{result['events']:,} events over {result['leads']:,} leads: "
        f"engine {result['engine']:,.0f} instructions per event, validation floor "
        f"{result['validation_floor']:,.0f} ({result['multiple_of_validation_floor']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
