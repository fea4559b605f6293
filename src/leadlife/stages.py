"""The lead stages and the table of moves between them.

The stage graph is data: :data:`DEFAULT_GRAPH` is built from an explicit table and
checked when it is defined, so an unreachable stage or a trap fails at import, not in
production. *Why* a lead moves (criteria, timers) lives in :mod:`leadlife.rules`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from leadlife.errors import StageGraphError, TransitionNotAllowed

__all__ = ["DEFAULT_GRAPH", "Move", "Stage", "StageGraph"]


class Stage(enum.StrEnum):
    """Where a lead stands. Order of definition is the order of the funnel."""

    COLD = "cold"
    WARM = "warm"
    HOT = "hot"
    MQL = "mql"
    SQL = "sql"
    SAL = "sal"
    WON = "won"
    DISQUALIFIED = "disqualified"

    @property
    def is_open(self) -> bool:
        """True for every stage a lead can still move on from without reopening."""
        return self not in _ENDS

    @property
    def is_qualified(self) -> bool:
        """True for the opportunity stages MQL, SQL and SAL."""
        return self in _QUALIFIED

    @property
    def rank(self) -> int:
        """Position in the funnel: COLD is 0, SAL is 5, the ends come last."""
        return _RANK[self]


_ENDS = frozenset({Stage.WON, Stage.DISQUALIFIED})
_QUALIFIED = frozenset({Stage.MQL, Stage.SQL, Stage.SAL})
_RANK = {stage: index for index, stage in enumerate(Stage)}
BANDS: tuple[Stage, ...] = (Stage.COLD, Stage.WARM, Stage.HOT)
LADDER: tuple[Stage, ...] = (Stage.MQL, Stage.SQL, Stage.SAL)


class Move(enum.StrEnum):
    """The kind of a transition; REOPEN moves need a reason."""

    PROMOTION = "promotion"
    DEMOTION = "demotion"
    CLOSE = "close"
    REOPEN = "reopen"


# Enum member lookup goes through a descriptor; a module constant is a plain load.
_REOPEN = Move.REOPEN


class StageGraph:
    """A validated transition table.

    ``table`` maps each stage to ``{target: Move}``; stages and moves may be given as
    their text (``"cold"``, ``"promotion"``), as in a table read from a file. The graph
    is checked on construction: every stage and move must be known, every stage
    reachable from ``initial`` (an open stage), have at least one way out, and be able
    to reach an end stage; leaving an end stage must be a ``REOPEN`` move.
    """

    __slots__ = ("_allowed", "_moves", "ends", "initial")

    def __init__(
        self,
        table: Mapping[Any, Mapping[Any, Any]],
        *,
        initial: Stage | str = Stage.COLD,
        ends: Iterable[Stage | str] = _ENDS,
    ):
        self.initial = _stage(initial, "initial")
        self.ends = frozenset(_stage(end, "ends") for end in ends)
        if self.initial in self.ends:
            raise StageGraphError(
                f"initial stage {self.initial.name} is an end stage; start at an open one",
                [self.initial],
            )
        self._moves: dict[Stage, dict[Stage, Move]] = _moves(table)
        self._allowed = {stage: frozenset(moves) for stage, moves in self._moves.items()}
        self._check()

    def _check(self) -> None:
        for stage, moves in self._moves.items():
            if stage in moves:
                raise StageGraphError(f"{stage.name} lists itself as a target", [stage])
            for target, move in moves.items():
                if stage in self.ends and move is not Move.REOPEN:
                    raise StageGraphError(
                        f"{stage.name} is an end stage; leaving it to {target.name} must be "
                        "a REOPEN move",
                        [stage, target],
                    )
                if move is Move.REOPEN and stage not in self.ends:
                    raise StageGraphError(
                        f"REOPEN moves start at an end stage, not at {stage.name}", [stage]
                    )
        reachable = self._closure([self.initial], self._allowed)
        unreachable = [s for s in Stage if s not in reachable]
        if unreachable:
            names = ", ".join(s.name for s in unreachable)
            raise StageGraphError(
                f"unreachable from {self.initial.name}: {names}; add a move into each",
                unreachable,
            )
        traps = [s for s in Stage if not self._allowed[s]]
        if traps:
            names = ", ".join(s.name for s in traps)
            raise StageGraphError(f"no way out of {names}; add a move out of each", traps)
        reverse: dict[Stage, set[Stage]] = {s: set() for s in Stage}
        for stage, targets in self._allowed.items():
            for target in targets:
                reverse[target].add(stage)
        reaches_end = self._closure(self.ends, reverse)
        stuck = [s for s in Stage if s not in reaches_end]
        if stuck:
            names = ", ".join(s.name for s in stuck)
            raise StageGraphError(f"{names} can never reach an end stage", stuck)

    @staticmethod
    def _closure(start: Iterable[Stage], edges: Mapping[Stage, Iterable[Stage]]) -> set[Stage]:
        seen = set(start)
        todo = list(seen)
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def allowed(self, stage: Stage) -> frozenset[Stage]:
        """The stages a lead in ``stage`` may move to."""
        try:
            return self._allowed[stage]
        except KeyError:
            return self._allowed[_stage(stage, "stage")]

    def move(self, stage: Stage, target: Stage) -> Move | None:
        """The kind of the move ``stage → target``, or None when it is not allowed."""
        try:
            moves = self._moves[stage]
        except KeyError:
            moves = self._moves[_stage(stage, "stage")]
        move = moves.get(target)
        if move is None and not isinstance(target, Stage):
            move = moves.get(_stage(target, "target"))  # "MQL", " mql ": read as text
        return move

    def step(self, stage: Stage, target: Stage, *, lead_id: str = "", reason: str = "") -> Move:
        """Check one move and return its kind; raise :class:`TransitionNotAllowed` if refused.

        A REOPEN move also needs a non-empty ``reason``.
        """
        try:
            # Subscripts, not .get(): this runs per move, and a refused move is rare.
            move = self._moves[stage][target]
        except KeyError:
            move = self._spelt_move(stage, target, lead_id)
        if move is _REOPEN and (not reason or reason.isspace()):
            stage, target = _stage(stage, "stage"), _stage(target, "target")
            raise TransitionNotAllowed(
                lead_id, stage, target, self._sorted(stage), "reopening needs a reason"
            )
        return move

    def _spelt_move(self, stage: Stage, target: Stage, lead_id: str) -> Move:
        """The move of :meth:`step` when either stage is text in another spelling
        ("MQL", " mql "; Stage is a StrEnum: "sql" is SQL already), or the move
        refused."""
        try:
            move = self._moves[stage].get(target)
        except KeyError:  # text that names no stage
            move = self._moves[_stage(stage, "stage")].get(target)
        if move is None and not (isinstance(stage, Stage) and isinstance(target, Stage)):
            stage, target = _stage(stage, "stage"), _stage(target, "target")
            move = self._moves[stage].get(target)
        if move is None:
            # The error names stages as members, whichever way they were given.
            stage, target = _stage(stage, "stage"), _stage(target, "target")
            raise TransitionNotAllowed(lead_id, stage, target, self._sorted(stage))
        return move

    def _sorted(self, stage: Stage) -> list[Stage]:
        return sorted(self._allowed[stage], key=lambda s: s.rank)

    def table(self) -> dict[Stage, dict[Stage, Move]]:
        """A copy of the transition table."""
        return {stage: dict(moves) for stage, moves in self._moves.items()}


def _stage(value: object, where: str) -> Stage:
    """``value`` as a Stage: a Stage, or its value or name as text ("cold", "COLD")."""
    if isinstance(value, Stage):
        return value
    if isinstance(value, str):
        text = value.strip()
        for stage in Stage:
            if text.lower() == stage.value:
                return stage
    known = ", ".join(stage.value for stage in Stage)
    raise StageGraphError(f"{where}: unknown stage {value!r}; the stages are {known}")


def _moves(table: Mapping[Any, Mapping[Any, Any]]) -> dict[Stage, dict[Stage, Move]]:
    """The table with every stage and move checked and turned into enum members."""
    if not isinstance(table, Mapping):
        raise StageGraphError(
            f"the table must map each stage to {{target: move}}, not {type(table).__name__}"
        )
    moves: dict[Stage, dict[Stage, Move]] = {stage: {} for stage in Stage}
    for key, targets in table.items():
        stage = _stage(key, "table")
        if not isinstance(targets, Mapping):
            raise StageGraphError(
                f"{stage.name}: its moves must be a mapping {{target: move}}, not "
                f"{type(targets).__name__} (write {{}} for none)",
                [stage],
            )
        for target_key, move in targets.items():
            target = _stage(target_key, f"{stage.name}'s targets")
            if isinstance(move, Move):
                moves[stage][target] = move
                continue
            kinds = {kind.value: kind for kind in Move}
            kind = kinds.get(move.strip().lower()) if isinstance(move, str) else None
            if kind is None:
                raise StageGraphError(
                    f"{stage.name}→{target.name}: unknown move {move!r}; the moves are "
                    + ", ".join(kinds),
                    [stage, target],
                )
            moves[stage][target] = kind
    return moves


def _default_table() -> dict[Stage, dict[Stage, Move]]:
    table: dict[Stage, dict[Stage, Move]] = {stage: {} for stage in Stage}
    funnel = [s for s in Stage if s.is_open]
    for low_index, low in enumerate(funnel):
        # Promotions may skip stages: a cold visitor who leaves a phone and an asset id
        # is an MQL at once.
        for high in funnel[low_index + 1 :]:
            table[low][high] = Move.PROMOTION
        table[low][Stage.WON] = Move.CLOSE
        table[low][Stage.DISQUALIFIED] = Move.CLOSE
    # Cooler bands after silence; an SAL that goes quiet drops back to SQL.
    table[Stage.HOT][Stage.WARM] = Move.DEMOTION
    table[Stage.HOT][Stage.COLD] = Move.DEMOTION
    table[Stage.WARM][Stage.COLD] = Move.DEMOTION
    table[Stage.SAL][Stage.SQL] = Move.DEMOTION
    table[Stage.WON][Stage.COLD] = Move.REOPEN
    table[Stage.DISQUALIFIED][Stage.COLD] = Move.REOPEN
    return table


DEFAULT_GRAPH = StageGraph(_default_table())
