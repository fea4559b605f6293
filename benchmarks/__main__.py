"""Run the benchmarks: ``python -m benchmarks [names...] [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path
from typing import Any

from . import BENCHMARKS
from ._harness import machine_info

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run leadlife's benchmarks."
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="sizes 10-20x smaller, for a smoke run"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {BENCHMARKS}")
    names = [name for name in BENCHMARKS if name in args.names] if args.names else BENCHMARKS

    info = machine_info()
    print(
        f"leadlife {info['packages']['leadlife']} on Python {info['python']} "
        f"({info['implementation']}), {info['platform']}, {info['cpu_count']} CPUs, "
        f"{info['date']}{' — quick run' if args.quick else ''}"
    )
    results: dict[str, Any] = {}
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"{__package__}.{name}")
        begun = time.perf_counter()
        results[name] = module.run(quick=args.quick)
        results[name]["wall_s"] = time.perf_counter() - begun
    total = time.perf_counter() - started

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # Running a subset keeps the other benchmarks' last results, each with its machine.
    previous: dict[str, Any] = {}
    if RESULTS.exists():
        try:
            previous = json.loads(RESULTS.read_text(encoding="utf-8")).get("results", {})
        except (ValueError, AttributeError):
            previous = {}
    for result in results.values():
        result["machine"] = info
        result["quick"] = args.quick
    payload = {
        "machine": info,
        "quick": args.quick,
        "benchmarks_run": list(names),
        "wall_s": total,
        "results": {**previous, **results},
    }
    RESULTS.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print()
    print(f"all done in {total:.0f} s; results saved to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
