"""The benchmarks' own measuring tools, which their reports rely on."""

from __future__ import annotations

import gc

from benchmarks._harness import CollectorTime, Promotions


class Node:
    """A small object the cyclic collector tracks."""

    def __init__(self) -> None:
        self.children: list[Node] = []


def test_promotions_count_what_outlives_a_middle_collection() -> None:
    """Objects kept across a middle collection are counted by type; garbage is not."""
    gc.collect()
    gc.disable()  # only the explicit collection below, so the count is exact
    try:
        with Promotions() as promoted:
            kept = [Node() for _ in range(500)]
            dropped = [Node() for _ in range(300)]
            del dropped
            gc.collect(1)
    finally:
        gc.enable()
    assert promoted.by_type["Node"] == len(kept)
    assert promoted.total >= len(kept) + 1  # the list holding them too
    assert promoted.by_type["list"] >= 1


def test_collector_time_counts_collections_per_generation() -> None:
    """Each explicit collection is counted in its generation, with its seconds."""
    with CollectorTime() as collector:
        gc.collect(0)
        gc.collect(2)
    assert collector.collections[0] >= 1
    assert collector.collections[2] >= 1
    assert collector.total_s > 0
