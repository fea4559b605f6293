"""The stage graph: its table, its checks at definition, and refused moves."""

from __future__ import annotations

from typing import Any

import pytest

from leadlife.errors import StageGraphError, TransitionNotAllowed
from leadlife.stages import DEFAULT_GRAPH, Move, Stage, StageGraph

OPEN = [s for s in Stage if s.is_open]


def test_stage_order_and_kinds() -> None:
    """Stages rank in funnel order; WON and DISQUALIFIED are the only ends."""
    assert [s.name for s in Stage] == [
        "COLD",
        "WARM",
        "HOT",
        "MQL",
        "SQL",
        "SAL",
        "WON",
        "DISQUALIFIED",
    ]
    assert [s for s in Stage if not s.is_open] == [Stage.WON, Stage.DISQUALIFIED]
    assert [s for s in Stage if s.is_qualified] == [Stage.MQL, Stage.SQL, Stage.SAL]
    assert Stage.COLD.rank < Stage.SAL.rank < Stage.WON.rank


@pytest.mark.parametrize("low", OPEN)
def test_every_promotion_is_allowed(low: Stage) -> None:
    """An open stage may be promoted to any higher open stage, skipping stages."""
    for high in OPEN:
        if high.rank > low.rank:
            assert DEFAULT_GRAPH.step(low, high) is Move.PROMOTION


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Stage.SAL, Stage.SQL),
        (Stage.HOT, Stage.WARM),
        (Stage.WARM, Stage.COLD),
        (Stage.HOT, Stage.COLD),
    ],
)
def test_demotions(source: Stage, target: Stage) -> None:
    """The demotions of the domain are allowed: SAL→SQL and cooler bands."""
    assert DEFAULT_GRAPH.step(source, target) is Move.DEMOTION


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Stage.SQL, Stage.MQL),
        (Stage.MQL, Stage.HOT),
        (Stage.SAL, Stage.COLD),
        (Stage.SQL, Stage.WARM),
        (Stage.WON, Stage.DISQUALIFIED),
        (Stage.WON, Stage.SAL),
    ],
)
def test_other_demotions_are_refused(source: Stage, target: Stage) -> None:
    """Moves outside the table raise TransitionNotAllowed with the allowed targets."""
    with pytest.raises(TransitionNotAllowed) as info:
        DEFAULT_GRAPH.step(source, target, lead_id="u9")
    error = info.value
    assert (error.lead_id, error.current, error.target) == ("u9", source, target)
    assert set(error.allowed) == DEFAULT_GRAPH.allowed(source)
    assert source.name in str(error)
    assert target.name in str(error)


@pytest.mark.parametrize("stage", OPEN)
def test_any_open_stage_can_close(stage: Stage) -> None:
    """Every open stage can be won or disqualified."""
    assert DEFAULT_GRAPH.step(stage, Stage.WON) is Move.CLOSE
    assert DEFAULT_GRAPH.step(stage, Stage.DISQUALIFIED) is Move.CLOSE


@pytest.mark.parametrize("end", [Stage.WON, Stage.DISQUALIFIED])
def test_reopen_needs_a_reason(end: Stage) -> None:
    """An end stage reopens to COLD only with a reason."""
    with pytest.raises(TransitionNotAllowed, match="reopening needs a reason"):
        DEFAULT_GRAPH.step(end, Stage.COLD)
    assert DEFAULT_GRAPH.step(end, Stage.COLD, reason="came back") is Move.REOPEN


def _table_without(source: Stage, target: Stage) -> dict[Stage, dict[Stage, Move]]:
    table = DEFAULT_GRAPH.table()
    del table[source][target]
    return table


def test_unreachable_stage_fails_at_definition() -> None:
    """A stage nothing leads to is reported when the graph is defined."""
    table = DEFAULT_GRAPH.table()
    for moves in table.values():
        moves.pop(Stage.SAL, None)
    with pytest.raises(StageGraphError, match="unreachable from COLD: SAL") as info:
        StageGraph(table)
    assert info.value.stages == (Stage.SAL,)


def test_trap_fails_at_definition() -> None:
    """An end stage with no way out (no reopen) is a trap."""
    with pytest.raises(StageGraphError, match="no way out of WON"):
        StageGraph(_table_without(Stage.WON, Stage.COLD))


def test_stage_that_cannot_end_fails_at_definition() -> None:
    """Stages that only cycle among themselves and never reach an end are refused."""
    table: dict[Stage, dict[Stage, Move]] = {s: {} for s in Stage}
    table[Stage.COLD] = {
        Stage.WARM: Move.PROMOTION,
        Stage.WON: Move.CLOSE,
        Stage.DISQUALIFIED: Move.CLOSE,
    }
    table[Stage.WARM] = {Stage.HOT: Move.PROMOTION}
    table[Stage.HOT] = {Stage.WARM: Move.DEMOTION, Stage.MQL: Move.PROMOTION}
    table[Stage.MQL] = {Stage.SQL: Move.PROMOTION}
    table[Stage.SQL] = {Stage.SAL: Move.PROMOTION}
    table[Stage.SAL] = {Stage.SQL: Move.DEMOTION, Stage.DISQUALIFIED: Move.CLOSE}
    table[Stage.WON] = {Stage.COLD: Move.REOPEN}
    table[Stage.DISQUALIFIED] = {Stage.COLD: Move.REOPEN}
    StageGraph(table)  # fine as it is
    table[Stage.SAL] = {Stage.SQL: Move.DEMOTION}
    with pytest.raises(StageGraphError, match="MQL, SQL, SAL can never reach an end stage"):
        StageGraph(table)


def test_leaving_an_end_must_be_a_reopen() -> None:
    """A non-REOPEN move out of WON is a definition error."""
    table = DEFAULT_GRAPH.table()
    table[Stage.WON][Stage.SAL] = Move.PROMOTION
    with pytest.raises(StageGraphError, match="must be a REOPEN move"):
        StageGraph(table)


def test_reopen_from_open_stage_is_a_definition_error() -> None:
    """REOPEN moves may only start at an end stage."""
    table = DEFAULT_GRAPH.table()
    table[Stage.SQL][Stage.MQL] = Move.REOPEN
    with pytest.raises(StageGraphError, match="REOPEN moves start at an end stage"):
        StageGraph(table)


def test_self_loop_is_a_definition_error() -> None:
    """A stage listing itself as a target is refused."""
    table = DEFAULT_GRAPH.table()
    table[Stage.HOT][Stage.HOT] = Move.PROMOTION
    with pytest.raises(StageGraphError, match="lists itself"):
        StageGraph(table)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda t: t[Stage.COLD].update(bogus=Move.PROMOTION), "unknown stage 'bogus'"),
        (lambda t: t.update(bogus={Stage.COLD: Move.PROMOTION}), "unknown stage 'bogus'"),
        (lambda t: t[Stage.COLD].update({Stage.MQL: "jump"}), "unknown move 'jump'"),
        (lambda t: t.update({Stage.SAL: None}), "write {} for none"),
    ],
)
def test_unknown_stages_and_moves_are_refused_when_defined(change: Any, words: str) -> None:
    """Regression: these raised KeyError or TypeError, or were silently ignored."""
    table: dict[Any, Any] = DEFAULT_GRAPH.table()
    change(table)
    with pytest.raises(StageGraphError, match=words):
        StageGraph(table)


def test_a_table_written_as_text_builds_the_same_graph() -> None:
    """A graph read from a file names stages and moves by their text."""
    text = {
        stage.value: {target.name: move.value for target, move in moves.items()}
        for stage, moves in DEFAULT_GRAPH.table().items()
    }
    assert StageGraph(text, initial="cold", ends=["won", "DISQUALIFIED"]).table() == (
        DEFAULT_GRAPH.table()
    )


def test_the_initial_stage_must_be_open() -> None:
    """Regression: a graph starting at WON was accepted."""
    with pytest.raises(StageGraphError, match="initial stage WON is an end stage"):
        StageGraph(DEFAULT_GRAPH.table(), initial=Stage.WON)


def test_a_blank_reason_does_not_reopen() -> None:
    """Regression: a reason of spaces passed step() for a REOPEN move."""
    with pytest.raises(TransitionNotAllowed, match="reopening needs a reason"):
        DEFAULT_GRAPH.step(Stage.WON, Stage.COLD, lead_id="u1", reason="   ")


@pytest.mark.parametrize(
    ("stage", "target", "note"),
    [("sql", "mql", ""), ("won", "cold", "reopening needs a reason"), ("SAL", "cold", "")],
)
def test_a_refused_move_given_as_text_names_the_stages(stage: str, target: str, note: str) -> None:
    """Regression: stages given as text (Stage is a StrEnum, "sql" is SQL) moved
    fine, but a refused move raised AttributeError instead of TransitionNotAllowed."""
    with pytest.raises(TransitionNotAllowed) as refused:
        DEFAULT_GRAPH.step(stage, target, lead_id="ada")  # type: ignore[arg-type]
    assert refused.value.current is Stage(stage.lower())
    assert refused.value.target is Stage(target)
    assert note in str(refused.value)


def test_stage_names_in_any_spelling_are_read() -> None:
    """Regression: a target written as its name ("MQL") was refused with a list of
    allowed targets that held MQL."""
    assert DEFAULT_GRAPH.step("cold", "MQL") is Move.PROMOTION  # type: ignore[arg-type]
    assert DEFAULT_GRAPH.move("COLD", " mql ") is Move.PROMOTION  # type: ignore[arg-type]
    assert DEFAULT_GRAPH.move(Stage.SQL, "MQL") is None  # type: ignore[arg-type]


def test_text_that_names_no_stage_is_a_stage_graph_error() -> None:
    with pytest.raises(StageGraphError, match="unknown stage 'foo'"):
        DEFAULT_GRAPH.step("foo", Stage.MQL)  # type: ignore[arg-type]
    with pytest.raises(StageGraphError, match="unknown stage 'foo'"):
        DEFAULT_GRAPH.move("foo", Stage.MQL)  # type: ignore[arg-type]
    with pytest.raises(StageGraphError, match="unknown stage 'foo'"):
        DEFAULT_GRAPH.move(Stage.COLD, "foo")  # type: ignore[arg-type]
    assert DEFAULT_GRAPH.allowed("won") == {Stage.COLD}  # type: ignore[arg-type]
