"""leadlife's benchmarks: ``python -m benchmarks [names...] [--quick]`` (or ``make bench``).

One module per benchmark; each has ``run(quick) -> dict``, prints its tables and
returns its results. Results are ratios against baselines measured in the same run,
so they compare across machines; targets are reported as met or not, never asserted.
All results, with the machine they ran on, go to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

__all__ = ["BENCHMARKS"]

BENCHMARKS: tuple[str, ...] = (
    "stage_machine",
    "engine_throughput",
    "rule_scoring",
    "ml_scoring",
    "routing",
)
"""Benchmark module names, in the order a full run runs them."""
