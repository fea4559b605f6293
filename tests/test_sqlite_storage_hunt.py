"""A host's storage that keeps leads in an SQLite file as JSON, built from the fields
docs/lead.md documents (no pickle), against the built-in in-memory storage: the same
streams give the same leads and reports, and a restart on the file carries on."""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import leadlife
from leadlife import Event, Lead, Stage, StageChange
from leadlife.behaviour import Behaviour
from leadlife.demo import DEMO_ROUTING, DEMO_RULEBOOK, RegistryLookup, World, generate_events
from leadlife.errors import InvalidArgumentError
from leadlife.lead import Assignment
from leadlife.routing import FollowUp, Routing
from tests.conftest import T0

# -- the host's storage ----------------------------------------------------------------


def _moment(at: datetime) -> str:
    return at.isoformat()


def lead_row(lead: Lead) -> str:
    """``lead`` as JSON, field by field (the table of docs/lead.md)."""
    follow_up = lead.follow_up
    return json.dumps(
        {
            "id": lead.id,
            "stage": lead.stage.value,
            "profile": lead.profile,
            "behaviour": dict(lead.behaviour.items()),
            "scores": lead.scores,
            "score": lead.score,
            "owner": lead.owner,
            "history": [
                [_moment(c.at), c.from_stage.value, c.to_stage.value, c.reason, c.rule, c.event_id]
                for c in lead.history
            ],
            "milestones": {name: _moment(at) for name, at in lead.milestones.items()},
            "first_seen_ts": lead.first_seen_ts,
            "last_event_ts": lead.last_event_ts,
            "last_activity_ts": lead.last_activity_ts,
            "asleep_ts": lead.asleep_ts,
            "next_check_ts": lead.next_check_ts,
            "reentry": {stage.value: _moment(at) for stage, at in lead.reentry.items()},
            "event_count": lead.event_count,
            "team": lead.team,
            "assignments": [
                {
                    **attrs.asdict(a, recurse=False),
                    "at": _moment(a.at),
                    "evidence": dict(a.evidence),
                }
                for a in lead.assignments
            ],
            "follow_up": None
            if follow_up is None
            else {**follow_up._asdict(), "sent": sorted(follow_up.sent)},
            "scored_ts": lead.scored_ts,
            "rulebook_digest": lead.rulebook_digest,
        }
    )


def lead_from_row(text: str) -> Lead:
    """The lead :func:`lead_row` wrote."""
    row = json.loads(text)
    follow_up = row["follow_up"]
    return Lead(
        id=row["id"],
        stage=Stage(row["stage"]),
        profile=row["profile"],
        # As items() gives them; JSON gives the day numbers back as text.
        behaviour=Behaviour(
            {
                kind: (total, first, last, {int(day): n for day, n in days.items()})
                for kind, (total, first, last, days) in row["behaviour"].items()
            }
        ),
        scores=row["scores"],
        score=row["score"],
        owner=row["owner"],
        history=[
            StageChange(datetime.fromisoformat(at), Stage(old), Stage(new), reason, rule, event)
            for at, old, new, reason, rule, event in row["history"]
        ],
        milestones={name: datetime.fromisoformat(at) for name, at in row["milestones"].items()},
        first_seen_ts=row["first_seen_ts"],
        last_event_ts=row["last_event_ts"],
        last_activity_ts=row["last_activity_ts"],
        asleep_ts=row["asleep_ts"],
        next_check_ts=row["next_check_ts"],
        reentry={Stage(stage): datetime.fromisoformat(at) for stage, at in row["reentry"].items()},
        event_count=row["event_count"],
        team=row["team"],
        assignments=tuple(
            Assignment(**{**a, "at": datetime.fromisoformat(a["at"])}) for a in row["assignments"]
        ),
        follow_up=None
        if follow_up is None
        else FollowUp(**{**follow_up, "sent": frozenset(follow_up["sent"])}),
        scored_ts=row["scored_ts"],
        rulebook_digest=row["rulebook_digest"],
    )


SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (id TEXT PRIMARY KEY, next_check_ts REAL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS leads_due ON leads (next_check_ts);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    lead_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_lead ON events (lead_id, seq);
"""


class SQLiteStorage:
    """The Storage protocol on an SQLite file: leads and events as JSON."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.executescript(SCHEMA)
        self._db.execute("PRAGMA synchronous = OFF")  # a test's file: no fsync per event

    def get(self, lead_id: str) -> Lead | None:
        row = self._db.execute("SELECT body FROM leads WHERE id = ?", (lead_id,)).fetchone()
        return None if row is None else lead_from_row(row[0])

    def has_event(self, event_id: str) -> bool:
        query = "SELECT 1 FROM events WHERE id = ?"
        return self._db.execute(query, (event_id,)).fetchone() is not None

    def event_lead(self, event_id: str) -> str | None:
        query = "SELECT lead_id FROM events WHERE id = ?"
        row = self._db.execute(query, (event_id,)).fetchone()
        return None if row is None else str(row[0])

    def commit(self, lead: Lead, event: Event | None, changes: Sequence[StageChange]) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO leads (id, next_check_ts, body) VALUES (?, ?, ?)",
                (lead.id, lead.next_check_ts, lead_row(lead)),
            )
            if event is not None:
                self._db.execute(
                    "INSERT INTO events (id, lead_id, body) VALUES (?, ?, ?)",
                    (event.id, event.lead_id, event.model_dump_json()),
                )

    def due(self, now: datetime) -> list[str]:
        query = "SELECT id FROM leads WHERE next_check_ts <= ? ORDER BY next_check_ts, id"
        return [lead_id for (lead_id,) in self._db.execute(query, (now.timestamp(),))]

    def leads(self) -> Iterator[Lead]:
        rows = self._db.execute("SELECT body FROM leads ORDER BY id").fetchall()
        return (lead_from_row(body) for (body,) in rows)

    def events(self, lead_id: str | None = None) -> Iterator[Event]:
        if lead_id is None:
            rows = self._db.execute("SELECT body FROM events ORDER BY seq").fetchall()
        else:
            query = "SELECT body FROM events WHERE lead_id = ? ORDER BY seq"
            rows = self._db.execute(query, (lead_id,)).fetchall()
        return (Event.model_validate_json(body) for (body,) in rows)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM leads").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class SQLiteBackend:
    def __init__(self, path: Path) -> None:
        self.path = path

    @leadlife.hookimpl
    def leadlife_storage(self) -> SQLiteStorage:
        return SQLiteStorage(self.path)


# -- plugins that fail now and then ------------------------------------------------------


class PatchyRegistry:
    """An enricher whose lookups time out for some events and add lists and maps to others."""

    name = "patchy-registry"

    def enrich(self, event: Event, lead: Lead) -> dict[str, Any] | None:
        if event.id.endswith("3"):
            raise ConnectionError("registry timed out")
        if event.id.endswith("7"):
            return {"tags": ["media", "b2b"], "registry": {"hits": 2}}
        return None

    @leadlife.hookimpl
    def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
        register(self)


class PatchyScorer:
    """A second scorer that fails for some leads."""

    name = "patchy"

    def score(self, lead: Lead, now: datetime) -> float:
        if lead.id.endswith("5"):
            raise RuntimeError("model offline")
        return float(lead.behaviour.total("page_view"))

    def explain(self, lead: Lead, now: datetime) -> Any:
        raise NotImplementedError

    @leadlife.hookimpl
    def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
        register(self)


class PatchyChannel:
    """A channel that fails to deliver some leads' notices, and counts the rest."""

    name = "patchy-channel"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, notice: leadlife.Notice, lead: Lead) -> None:
        if lead.id.endswith("1"):
            raise OSError("smtp down")
        self.sent.append((notice.kind, lead.id, notice.at.isoformat()))

    @leadlife.hookimpl
    def leadlife_register_channels(self, register: Callable[[object], None]) -> None:
        register(self)


def engine_on(
    path: Path | None, routing: Routing | None = None
) -> tuple[leadlife.Engine, PatchyChannel]:
    """The demo's configuration, with the patchy plugins, on the SQLite file ``path``
    (None: the in-memory storage)."""
    channel = PatchyChannel()
    plugins: list[object] = [
        routing or Routing.from_dict(DEMO_ROUTING, source="DEMO_ROUTING"),
        RegistryLookup(),
        PatchyRegistry(),
        PatchyScorer(),
        channel,
    ]
    if path is not None:
        plugins.append(SQLiteBackend(path))
    pm = leadlife.get_plugin_manager(load_entrypoints=False)
    engine = leadlife.Engine(
        DEMO_RULEBOOK, plugins=plugins, plugin_manager=pm, clock=leadlife.FixedClock(T0)
    )
    return engine, channel


# -- the streams ---------------------------------------------------------------------------

Step = tuple[str, Any]  # ("ingest", events) or ("tick", now)
WORLD = World(leads=150, days=42, seed=11)


def demo_steps(world: World = WORLD, *, seed: int = 3) -> list[Step]:
    """The demo world's events with a tenth in +08:00, some resent later, some late, some
    refused; batches of a day between daily ticks, then a tick at the end and one long
    after it."""
    rng = random.Random(seed)
    timed: list[tuple[datetime, dict[str, Any]]] = []
    for event in generate_events(world):
        at = datetime.fromisoformat(event["at"])
        if rng.random() < 0.1:
            event["at"] = at.astimezone(timezone(timedelta(hours=8))).isoformat()
        timed.append((at, event))
        if rng.random() < 0.05:
            timed.append((at + timedelta(hours=rng.randint(1, 72)), dict(event)))
    for index, (at, event) in enumerate(timed):
        if rng.random() < 0.05:
            timed[index] = (at + timedelta(days=rng.uniform(0.1, 4)), event)
    for number in range(world.leads // 8):
        at = world.start + timedelta(days=rng.uniform(0, world.days))
        lead_id = f"u{rng.randrange(world.leads):06d}"
        refused: dict[str, Any] = {"id": f"bad{number}", "lead_id": lead_id, "at": at.isoformat()}
        kind = number % 4
        if kind == 0:
            refused["type"] = "reopened"  # requires a reason
        elif kind == 1:
            refused |= {"type": "page_view", "at": at.replace(tzinfo=None).isoformat()}
        elif kind == 2:
            refused |= {"type": "sales_accepted", "data": {"owner": 3.5}}
        else:
            refused |= {"id": "ev00000001", "lead_id": "someone-else", "type": "page_view"}
        timed.append((at, refused))
    timed.sort(key=lambda pair: pair[0])
    steps: list[Step] = []
    day = world.start + timedelta(days=1)
    batch: list[dict[str, Any]] = []
    for at, event in timed:
        while at >= day:
            if batch:
                steps.append(("ingest", batch))
                batch = []
            steps.append(("tick", day))
            day += timedelta(days=1)
        batch.append(event)
    if batch:
        steps.append(("ingest", batch))
    steps.append(("tick", world.end))
    steps.append(("tick", world.end + timedelta(days=120)))
    return steps


def outcome(engine: leadlife.Engine, step: Step) -> Any:
    """What one step reports, in plain values."""
    kind, arg = step
    if kind == "ingest":
        report = engine.ingest_many(arg)
        return (
            report.accepted,
            report.duplicates,
            [(r.index, r.event_id, r.reason) for r in report.rejected],
            report.stage_changes,
            [(f.plugin, f.hook, f.event_id, f.error) for f in report.failures],
        )
    tick = engine.tick(arg)
    return (
        tick.stage_changes,
        tick.notices,
        [(f.plugin, f.hook, f.lead_id, f.error) for f in tick.failures],
        [(e.lead_id, e.reason) for e in tick.errors],
    )


def states(engine: leadlife.Engine) -> dict[str, dict[str, Any]]:
    """Every stored lead's fields."""
    return {
        lead.id: {field.name: getattr(lead, field.name) for field in attrs.fields(Lead)}
        for lead in engine.storage.leads()
    }


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """The patchy plugins' failures are expected: keep the log quiet."""
    logger = logging.getLogger("leadlife.engine")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@pytest.fixture(scope="module")
def steps() -> list[Step]:
    return demo_steps()


@pytest.fixture(scope="module")
def in_memory(steps: list[Step]) -> tuple[list[Any], list[dict[str, dict[str, Any]]], Any]:
    """The in-memory engine's report and leads after each step, and what it delivered."""
    engine, channel = engine_on(None)
    reports, leads = [], []
    for step in steps:
        reports.append(outcome(engine, step))
        leads.append(states(engine) if step[0] == "tick" else {})
    return reports, leads, channel.sent


# -- tests ---------------------------------------------------------------------------------


def test_the_streams_reach_what_they_are_meant_to(in_memory: Any) -> None:
    """The streams refuse events, resend some, make plugins fail and route, pool and
    reassign leads: a comparison of them covers all of that."""
    reports, leads, sent = in_memory
    ingests = [r for r in reports if len(r) == 5]
    assert sum(r[1] for r in ingests) > 10  # resends
    assert sum(len(r[2]) for r in ingests) >= 15  # refusals
    hooks = {f[1] for r in ingests for f in r[4]}
    assert {"enricher patchy-registry", "scorer patchy"} <= hooks
    final = leads[-1]
    actions = {a.action for lead in final.values() for a in lead["assignments"]}
    assert {"routed", "reassigned", "accepted"} <= actions
    assert any(lead["asleep_ts"] is not None for lead in final.values())
    assert any(lead["reentry"] for lead in final.values())
    assert {Stage.WON, Stage.SQL} <= {lead["stage"] for lead in final.values()}
    assert sent


def test_behaviour_restored_from_its_items_counts_as_the_original() -> None:
    """Regression: ``Behaviour(dict(behaviour.items()))`` took the day buckets of
    ``items()`` (a dict per type) as the flat pairs it keeps, and every window count
    and comparison of the restored counters raised KeyError."""
    original = Behaviour()
    for offset in (0, 1, 1, 5, 40):
        original.record("download", T0.timestamp() + offset * 86_400, 30)
    original.record("search", T0.timestamp(), 30)
    for restored in (Behaviour(dict(original.items())), Behaviour(dict(original.stats))):
        assert restored == original
        now = T0 + timedelta(days=40)
        assert restored.windows(now) == original.windows(now)
        restored.record("download", T0.timestamp() + 41 * 86_400, 30)
        assert (restored.total("download"), original.total("download")) == (6, 5)


@pytest.mark.parametrize(
    ("stats", "problem"),
    [
        ({"download": (1, 0.0, 0.0, {"20759": 1})}, "day"),
        ({"download": (1, 0.0, 0.0, (20759,))}, "pairs"),
        ({"download": (1, 0.0, 0.0)}, "total, first_ts, last_ts"),
        ({"download": (1, 0.0, 0.0, {20760: 1, 20759: -1})}, "count"),
        ({"download": ("1", 0.0, 0.0, {20759: 1})}, "total"),
        ({"download": (1, 5.0, 0.0, {20759: 1})}, "first_ts"),
        ({7: (1, 0.0, 0.0, {20759: 1})}, "event type"),
    ],
)
def test_behaviour_refuses_counters_it_cannot_read(stats: Any, problem: str) -> None:
    """Regression: counters in another shape were kept as given, and the lead holding
    them failed later, on an event, with Python's own error; now they are refused at
    once, naming the event type and what to pass."""
    with pytest.raises(InvalidArgumentError, match=problem) as caught:
        Behaviour(stats)
    assert caught.value.argument == "stats"
    assert "items()" in caught.value.fix


def test_a_lead_survives_the_json_row() -> None:
    """Every field of a lead read back from its row equals the lead's."""
    engine, _ = engine_on(None)
    steps = demo_steps(World(leads=40, days=20, seed=5))
    for step in steps:
        outcome(engine, step)
    for lead in engine.storage.leads():
        assert lead_from_row(lead_row(lead)).same_state(lead), lead.id


def test_the_sqlite_storage_matches_the_memory_storage(
    tmp_path: Path, steps: list[Step], in_memory: Any
) -> None:
    """The same steps through the SQLite storage give the same reports, leads and
    deliveries as through the in-memory one."""
    reports, leads, sent = in_memory
    engine, channel = engine_on(tmp_path / "crm.sqlite3")
    for index, step in enumerate(steps):
        assert outcome(engine, step) == reports[index], (index, step[0])
        if step[0] == "tick":
            assert states(engine) == leads[index], index
    assert channel.sent == sent


@pytest.mark.parametrize("share", [0.3, 0.75])
def test_a_restart_on_the_file_carries_on_as_the_first_engine(
    tmp_path: Path, steps: list[Step], in_memory: Any, share: float
) -> None:
    """A new engine on the same file (with the routing kept, as docs/routing.md says)
    goes on exactly as one engine that never stopped."""
    reports, leads, _ = in_memory
    path = tmp_path / "crm.sqlite3"
    engine, _ = engine_on(path)
    cut = int(len(steps) * share)
    for step in steps[:cut]:
        outcome(engine, step)
    assert isinstance(engine.storage, SQLiteStorage)
    assert engine.routing is not None
    before = states(engine)
    kept = pickle.dumps(engine.routing)
    engine.storage.close()
    restarted, _ = engine_on(path, routing=pickle.loads(kept))
    assert states(restarted) == before
    for index in range(cut, len(steps)):
        assert outcome(restarted, steps[index]) == reports[index], index
        if steps[index][0] == "tick":
            assert states(restarted) == leads[index], index


def test_the_log_replayed_with_the_same_ticks_gives_the_same_leads(
    tmp_path: Path, steps: list[Step], in_memory: Any
) -> None:
    """The SQLite file's event log (events read back from JSON), fed to a fresh engine
    with the ticks at the same moments between the same events, gives every lead as
    the first engine left it, owners and follow-up timers included."""
    reports, leads, _ = in_memory
    engine, _ = engine_on(tmp_path / "crm.sqlite3")
    for step in steps:
        outcome(engine, step)
    log = iter(list(engine.storage.events()))
    replayed, _ = engine_on(None)
    for index, (kind, arg) in enumerate(steps):
        if kind == "tick":
            replayed.tick(arg)
        else:
            accepted = reports[index][0]
            assert replayed.ingest_many([next(log) for _ in range(accepted)]).accepted == accepted
    assert next(log, None) is None
    assert states(replayed) == leads[-1]


def run_first_half(folder: str) -> None:
    """The first process: the first half of the steps into ``folder``'s SQLite file,
    and the routing kept beside it."""
    logging.getLogger("leadlife.engine").setLevel(logging.ERROR)
    steps = demo_steps()
    engine, _ = engine_on(Path(folder) / "crm.sqlite3")
    for step in steps[: len(steps) // 2]:
        outcome(engine, step)
    (Path(folder) / "routing.pickle").write_bytes(pickle.dumps(engine.routing))


def test_a_restart_in_another_process_carries_on_as_the_first_engine(
    tmp_path: Path, steps: list[Step], in_memory: Any
) -> None:
    """A process with another hash seed wrote the first half of the steps; this one
    goes on from its file and routing exactly as one engine that never stopped."""
    reports, leads, _ = in_memory
    code = f"from {__name__} import run_first_half; run_first_half({str(tmp_path)!r})"
    root = Path(__file__).resolve().parent.parent
    other_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = {**os.environ, "PYTHONHASHSEED": other_seed}
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True, timeout=300)
    routing = pickle.loads((tmp_path / "routing.pickle").read_bytes())
    engine, _ = engine_on(tmp_path / "crm.sqlite3", routing=routing)
    for index in range(len(steps) // 2, len(steps)):
        assert outcome(engine, steps[index]) == reports[index], index
        if steps[index][0] == "tick":
            assert states(engine) == leads[index], index
