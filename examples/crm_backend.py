"""Wiring leadlife into a CRM backend: SQLite storage, a notice channel, routing, ticks.

A backend developer's view. The host supplies two things through one plugin: where
leads live (a SQLite database the CRM already has) and where notices go (the CRM's
task list for salespeople). A routing configuration, registered beside it, puts each
qualified lead in a team and with an owner, and its follow-up timers remind the owner
through the same channel. Events arrive from the website and the sales tools; the
sales tools claim and transfer leads; a scheduled job ticks the engine; a restart
finds every lead where it was left, owner, team and timers included.

    python examples/crm_backend.py                 # a throwaway database
    python examples/crm_backend.py crm.sqlite3     # keep the database
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic_core import to_json

import leadlife
from leadlife import Event, Lead, Notice, Stage, StageChange
from leadlife.routing import Routing
from leadlife.storage import Storage

# Who works the leads: two regional teams by the phone number's place, and inside
# sales for the rest (see docs/routing.md). Loaded once; a typo fails here, loudly.
ROUTING = """
seed = 3

[[teams]]
id = "north"
managers = ["nora"]
members = [{ id = "rep07" }, { id = "rep08" }]

[[teams]]
id = "east"
managers = ["evan"]
members = [{ id = "rep03" }, { id = "rep05" }]

[[teams]]
id = "inside"
managers = ["ines"]
members = [{ id = "rep11" }, { id = "rep12" }]

[routers.region]
regions = [
    { team = "north", places = ["Beijing", "Tianjin", "Hebei"] },
    { team = "east", places = ["Shanghai", "Jiangsu", "Zhejiang"] },
]

[routers.fallback]
team = "inside"
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
    id            TEXT PRIMARY KEY,
    stage         TEXT NOT NULL,
    owner         TEXT,
    team          TEXT,
    next_check_at REAL,              -- epoch seconds; what due() looks at
    state         BLOB NOT NULL      -- the whole Lead, pickled: assignments, timers too
);
CREATE INDEX IF NOT EXISTS leads_due ON leads (next_check_at);
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL UNIQUE,
    lead_id TEXT NOT NULL,
    body    TEXT NOT NULL,           -- the Event as JSON, for reports (bytes in base64)
    state   BLOB NOT NULL            -- the Event, pickled: read back as it was sent
);
CREATE INDEX IF NOT EXISTS events_by_lead ON events (lead_id, seq);
CREATE TABLE IF NOT EXISTS stage_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id    TEXT NOT NULL,
    at         TEXT NOT NULL,
    from_stage TEXT NOT NULL,
    to_stage   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    rule       TEXT NOT NULL,
    event_id   TEXT
);
"""


class SQLiteStorage:
    """The ``Storage`` protocol on SQLite.

    Leads are stored pickled (they are the engine's own objects; only ever unpickle a
    database you wrote yourself), with the columns the CRM queries beside them. Events
    are stored pickled too (JSON gives a Decimal or a date in data back as text, and
    cannot hold bytes that are not UTF-8), with their JSON beside them, and stage
    changes as plain rows, for reports. ``commit`` is one
    transaction, so a lead, its event and its changes are written together or not at all.

    One engine may serve a web server's threads (docs/architecture.md): the connection
    is shared by them, and a lock lets one thread at a time use it, so a read in one
    thread never sees another's transaction half-way.
    """

    def __init__(self, path: str | Path):
        # Not only the creating thread: the engine calls its storage from whichever
        # thread ingests, ticks or reads.
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.RLock()
        self._db.executescript(SCHEMA)

    def get(self, lead_id: str) -> Lead | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM leads WHERE id = ?", (lead_id,)).fetchone()
        return None if row is None else pickle.loads(row[0])

    def has_event(self, event_id: str) -> bool:
        query = "SELECT 1 FROM events WHERE id = ?"
        with self._lock:
            return self._db.execute(query, (event_id,)).fetchone() is not None

    def event_lead(self, event_id: str) -> str | None:
        """Optional: whose event this id is, so a resent id costs one lookup."""
        query = "SELECT lead_id FROM events WHERE id = ?"
        with self._lock:
            row = self._db.execute(query, (event_id,)).fetchone()
        return None if row is None else str(row[0])

    def commit(self, lead: Lead, event: Event | None, changes: Sequence[StageChange]) -> None:
        check = None if lead.next_check_at is None else lead.next_check_at.timestamp()
        # One transaction (commits on success, rolls back on error), one thread at a time.
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO leads (id, stage, owner, team, next_check_at, state) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (lead.id, lead.stage.value, lead.owner, lead.team, check, pickle.dumps(lead)),
            )
            if event is not None:
                # The event's own JSON form of `at` (an offset with seconds goes in UTC),
                # and bytes in data as base64 (JSON has no bytes; not all are UTF-8).
                fields = {**event.model_dump(), **event.model_dump(mode="json", include={"at"})}
                body = to_json(fields, bytes_mode="base64").decode()
                self._db.execute(
                    "INSERT INTO events (id, lead_id, body, state) VALUES (?, ?, ?, ?)",
                    (event.id, event.lead_id, body, pickle.dumps(event)),
                )
            self._db.executemany(
                "INSERT INTO stage_changes "
                "(lead_id, at, from_stage, to_stage, reason, rule, event_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        lead.id,
                        c.at.isoformat(),
                        c.from_stage.value,
                        c.to_stage.value,
                        c.reason,
                        c.rule,
                        c.event_id,
                    )
                    for c in changes
                ],
            )

    def due(self, now: datetime) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM leads WHERE next_check_at <= ? ORDER BY next_check_at",
                (now.timestamp(),),
            ).fetchall()
        return [lead_id for (lead_id,) in rows]

    def leads(self) -> Iterator[Lead]:
        with self._lock:
            rows = self._db.execute("SELECT state FROM leads ORDER BY id").fetchall()
        return (pickle.loads(state) for (state,) in rows)

    def events(self, lead_id: str | None = None) -> Iterator[Event]:
        with self._lock:
            if lead_id is None:
                # In the order they were stored, across leads: a replay follows it.
                rows = self._db.execute("SELECT state FROM events ORDER BY seq").fetchall()
            else:
                query = "SELECT state FROM events WHERE lead_id = ? ORDER BY seq"
                rows = self._db.execute(query, (lead_id,)).fetchall()
        return (pickle.loads(state) for (state,) in rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM leads").fetchone()[0])

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read-only SQL for reports (not part of the Storage protocol)."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CrmTasks:
    """A notification channel: each notice becomes a task in the CRM's task list."""

    name = "crm-tasks"

    def __init__(self) -> None:
        self.tasks: list[str] = []
        self.kinds: Counter[str] = Counter()

    def send(self, notice: Notice, lead: Lead) -> None:
        self.kinds[notice.kind] += 1
        # Routing's notices name the person in data["to"]; the rest go to the owner.
        owner = notice.data.get("to") or lead.owner or "marketing"
        self.tasks.append(f"{notice.at:%Y-%m-%d %H:%M} [{owner}] {notice.kind}: {notice.message}")


class CrmBackend:
    """The host's plugin: storage in the CRM database, notices into its task list."""

    def __init__(self, path: str | Path):
        self.path = path
        self.channel = CrmTasks()
        self.pushed: list[str] = []

    @leadlife.hookimpl
    def leadlife_storage(self) -> SQLiteStorage:
        return SQLiteStorage(self.path)

    @leadlife.hookimpl
    def leadlife_register_channels(self, register: Any) -> None:
        register(self.channel)

    @leadlife.hookimpl
    def leadlife_stage_changed(self, lead: Lead, change: StageChange) -> None:
        if change.to_stage is Stage.WON:  # first paid purchase: hand over to the CRM
            self.pushed.append(f"{lead.id} (owner {lead.owner}, event {change.event_id})")


T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def events() -> list[dict[str, Any]]:
    """What the website, the registry lookup and the sales tools sent this fortnight."""

    def ev(key: str, lead: str, kind: str, hours: float, **data: Any) -> dict[str, Any]:
        at = (T0 + timedelta(hours=hours)).isoformat()
        return {"id": key, "lead_id": lead, "type": kind, "at": at, "data": data}

    phone = "+8613800138000"
    return [
        # Li finds a report through a banner, leaves her phone, and talks to sales.
        ev("w1", "li", "page_view", 0, url="/reports?x_field_1=tbbanner", page="product"),
        ev("w2", "li", "download", 0.2, asset_id="media-report"),
        ev("w3", "li", "form_submit", 0.5, phone=phone, asset_id="media-report"),
        ev("r1", "li", "company_verified", 0.6, company="Acme Media", industry="advertising"),
        ev("w4", "li", "chat_started", 3, channel="wecom"),
        ev("s1", "li", "sales_accepted", 3.2, owner="rep07"),
        ev("s2", "li", "quote_sent", 20, amount=19800),
        # Wang watches a live stream and registers for a webinar, then goes quiet.
        ev("w5", "wang", "livestream_watched", 1, event_id="live-1"),
        ev("w6", "wang", "webinar_registered", 2, event_id="web-9"),
        # Zhao knows what he wants and buys within the week.
        ev("w7", "zhao", "form_submit", 5, phone="+8613900139000", asset_id="api-pro"),
        ev("r2", "zhao", "company_verified", 5.1, company="Beta Retail", industry="retail"),
        ev("s3", "zhao", "sales_accepted", 6, owner="rep03"),
        ev("w8", "zhao", "chat_replied", 7),
        ev("s4", "zhao", "deal_won", 24 * 6, amount=49800),
        # The website retries a delivery, and a buggy form sends a time without a zone.
        ev("w5", "wang", "livestream_watched", 1, event_id="live-1"),
        {"id": "w9", "lead_id": "chen", "type": "page_view", "at": "2026-11-03T10:00:00"},
    ]


def ev_call(key: str, lead: str, at: datetime, *, connected: bool) -> dict[str, Any]:
    """A call logged by the phone system: a touch for the owner's follow-up timers."""
    data = {"connected": connected}
    return {"id": key, "lead_id": lead, "type": "call_attempt", "at": at, "data": data}


def main(path: Path) -> None:
    clock = leadlife.FixedClock(T0)
    backend = CrmBackend(path)
    routing = Routing.from_toml(ROUTING, source="ROUTING")
    engine = leadlife.Engine(plugins=[backend, routing], clock=clock)
    storage = engine.storage
    assert isinstance(storage, SQLiteStorage)
    assert isinstance(storage, Storage)

    report = engine.ingest_many(events())
    print(
        f"ingested {report.total} events: {report.accepted} accepted, "
        f"{report.duplicates} duplicate, {len(report.rejected)} rejected; "
        f"{report.stage_changes} stage changes"
    )
    for rejection in report.rejected:
        print(f"  rejected #{rejection.index} {rejection.event_id}: {rejection.reason}")
    for lead in storage.leads():
        print(
            f"  {lead.id:<5} {lead.stage.name:<4} score {lead.score:>3g}  "
            f"owner {lead.owner}  team {lead.team}"
        )
    # Routing decided on the form that qualified the lead; each change of owner since
    # is an Assignment, with who made it and why. Nobody touched Li within two
    # five-minute windows, so her follow-up timers gave her to the other member.
    li = engine.get("li")
    routed = li.assignments[0]
    print(f"li was routed by {routed.router} to {routed.to_owner}: {routed.reason}")
    print("li's owners: " + ", ".join(f"{a.action} {a.to_owner}" for a in li.assignments))

    # The sales tools: inside sales claims Wang, a hot lead marketing has not qualified,
    # and calls him; Li's manager hands her to a colleague, who calls her at once.
    next_day = T0 + timedelta(hours=21)
    wang = engine.claim("wang", "rep11", at=next_day)
    engine.ingest(ev_call("c1", "wang", next_day + timedelta(minutes=2), connected=False))
    print(f"rep11 claimed wang: owner {wang.owner}, team {wang.team}")
    li = engine.transfer(
        "li", "rep08", by="nora", reason="rep07 is on leave from tomorrow", at=next_day
    )
    engine.ingest(ev_call("c2", "li", next_day + timedelta(minutes=3), connected=True))
    print(f"nora transferred li: owner {li.owner}, team {li.team}")
    tasks, kinds = backend.channel.tasks, backend.channel.kinds
    print(f"tasks so far: {len(tasks)} ({', '.join(f'{k} {n}' for k, n in kinds.items())})")
    missed = next((task for task in tasks if "speed_to_lead_missed" in task), None)
    if missed is not None:  # on a kept database every event is a duplicate: no tasks
        print(f"  e.g. {missed}")
    before = len(tasks)

    # The scheduler ticks the engine once a day for four months.
    for _ in range(120):
        clock.advance(timedelta(days=1))
        tick = engine.tick()
        for change in tick:
            print(
                f"tick {tick.now:%Y-%m-%d}: {change.from_stage.name} -> {change.to_stage.name} "
                f"(due {change.at:%Y-%m-%d}, {change.rule}: {change.reason})"
            )

    print(f"pushed to the CRM as customers: {', '.join(backend.pushed)}")
    print("tasks for the sales team from the daily ticks:")
    for task in backend.channel.tasks[before:]:
        print(f"  {task}")
    storage.close()

    # A restart: a new engine on the same database finds every lead as it was left.
    # Team rotations start again from the seed; a host that needs the very same turns
    # replays its event log into the fresh engine instead, ticking it as it ticked.
    restarted = leadlife.Engine(
        plugins=[CrmBackend(path), Routing.from_toml(ROUTING, source="ROUTING")], clock=clock
    )
    funnel = {stage.name: n for stage, n in restarted.funnel().items() if n}
    print(f"after restart: {len(restarted.storage)} leads, funnel {funnel}")
    li = restarted.get("li")
    trail = " -> ".join([Stage.COLD.name, *(c.to_stage.name for c in li.history)])
    print(f"li's trajectory: {trail}; events on file: {len(list(restarted.storage.events('li')))}")
    state = li.follow_up
    calls = "none" if state is None else f"{state.attempts}, connected {state.connected}"
    print(
        f"li after restart: owner {li.owner}, team {li.team}, "
        f"{len(li.assignments)} assignments ({li.assignments[-1].action} by "
        f"{li.assignments[-1].by}: {li.assignments[-1].reason}); calls {calls}"
    )
    assert isinstance(restarted.storage, SQLiteStorage)
    rows = restarted.storage.query(
        "SELECT team, owner, COUNT(*) FROM leads WHERE owner IS NOT NULL "
        "GROUP BY team, owner ORDER BY team, owner"
    )
    print("leads by team and owner: " + ", ".join(f"{t}/{o} {n}" for t, o, n in rows))
    rows = restarted.storage.query(
        "SELECT rule, COUNT(*) FROM stage_changes GROUP BY rule ORDER BY COUNT(*) DESC, rule"
    )
    print("stage changes by rule: " + ", ".join(f"{rule} {n}" for rule, n in rows))
    restarted.storage.close()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder) / "crm.sqlite3")
