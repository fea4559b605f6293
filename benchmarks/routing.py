"""Routing and assignment: 1M qualified leads over 20 teams x 50 members.

Every built-in router is on: existing accounts (20,000 accounts with domains, names
and office networks), business line (key accounts by size), region (regional networks
and phone places, through the ``phonenumbers`` geocoder), and the fallback queue.
Each lead goes through the router chain, then its team's strategy (round robin or
capacity shares with daily quotas and absences), then is put on the lead (owner,
team, assignment record, follow-up timers, notice) and counted in the team's state,
exactly the calls the engine makes per routed lead.

The baseline, run in the same process on the same leads, is what a host might write
by hand: a dict lookup from e-mail domain to account owner, else a dict from a
pre-computed region key to a team and the team's next member from a cycle. It
decides nothing the real chain decides about names, networks, subdomains, sizes,
absences or quotas; it is the floor a Python loop over the leads pays.
"""

from __future__ import annotations

import gc
import itertools
import random
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from leadlife.lead import Lead
from leadlife.notices import Notice
from leadlife.routing import Routing

from ._harness import best_of, fmt_rate, print_table, section, target

__all__ = ["run"]

TARGET_LEADS_PER_S = 50_000
TEAMS = 20
MEMBERS = 50
ACCOUNTS = 20_000
T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
SEED = 20261201
PROVINCES = [
    ("Beijing", "+86138001"),
    ("Shanghai", "+86139017"),
    ("Guangdong", "+86137285"),  # Shenzhen
    ("Jiangsu", "+86139123"),  # Changzhou
    ("Zhejiang", "+86135888"),
    ("Sichuan", "+86138808"),
    ("Hubei", "+86139718"),
    ("Shandong", "+86137061"),
]
# Region teams by phone place; some provinces (and other countries) fall through.
REGION_TEAMS = 12


def config() -> dict[str, Any]:
    """20 teams of 50: 4 key-account teams (capacity), 12 regional, 4 inside-sales queues."""
    rng = random.Random(SEED)
    teams = []
    for t in range(TEAMS):
        kind = "ka" if t < 4 else "region" if t < 4 + REGION_TEAMS else "inside"
        members = []
        for m in range(MEMBERS):
            member: dict[str, Any] = {"id": f"t{t}m{m}"}
            if kind == "ka":
                member["capacity"] = rng.choice([3000, 6000, 9000])
            if rng.random() < 0.1:  # a tenth of the people take a week off in the month
                start = date(2026, 11, rng.randint(2, 25))
                member["absences"] = [{"from": start, "until": start + timedelta(days=4)}]
            members.append(member)
        teams.append(
            {
                "id": f"team{t}",
                "strategy": "capacity" if kind == "ka" else "round_robin",
                "managers": [f"mgr{t}"],
                "members": members,
            }
        )
    accounts = [
        {
            "id": f"acct{a}",
            "owner": f"t{a % 4}m{a % MEMBERS}",
            "domains": [f"customer{a}.com"],
            "names": [f"Customer {a} Trading Co., Ltd."],
            "networks": [f"10.{a // 256 % 256}.{a % 256}.0/24"],
        }
        for a in range(ACCOUNTS)
    ]
    regions = [
        {
            "team": f"team{4 + r}",
            "places": [PROVINCES[r % len(PROVINCES)][0]] if r < len(PROVINCES) else [],
            "networks": [f"172.{16 + r}.0.0/16"],
        }
        for r in range(REGION_TEAMS)
    ]
    return {
        "seed": SEED,
        "teams": teams,
        "routers": {
            "existing_account": {"accounts": accounts},
            "business_line": {"key_account_team": "team0", "min_employees": 1000},
            "region": {"regions": regions},
            "fallback": {"team": "team16"},
        },
    }


def make_leads(count: int) -> tuple[list[Lead], list[float]]:
    """Qualified leads with the profiles enrichment would leave, and their routing moments."""
    rng = random.Random(SEED + 1)
    leads: list[Lead] = []
    moments: list[float] = []
    span = 30 * 86_400.0
    start = T0.timestamp()
    for i in range(count):
        lead = Lead(f"u{i}")
        profile = lead.profile
        roll = rng.random()
        a = rng.randrange(ACCOUNTS)
        if roll < 0.08:
            profile["email"] = f"buyer{i}@dept{i % 7}.customer{a}.com"
        elif roll < 0.12:
            profile["company"] = f"CUSTOMER {a} TRADING LTD"
        elif roll < 0.15:
            profile["ip"] = f"10.{a // 256 % 256}.{a % 256}.{rng.randrange(1, 255)}"
        else:
            profile["email"] = f"person{i}@gmail.com"
            profile["company"] = f"Prospect {i} Ltd"
        if rng.random() < 0.3:
            profile["employees"] = rng.choice([20, 80, 300, 1500, 5000])
        if rng.random() < 0.2:
            profile["ip"] = f"172.{16 + rng.randrange(REGION_TEAMS + 4)}.{rng.randrange(256)}.9"
        _, prefix = PROVINCES[rng.randrange(len(PROVINCES))]
        if rng.random() < 0.85:
            profile["phone"] = f"{prefix}{rng.randrange(10_000):04d}"
            profile["phone_valid"] = True
        leads.append(lead)
        moments.append(start + span * i / count)
    return leads, moments


class ChainRun:
    """The engine's per-lead routing calls, on fresh copies of the leads."""

    def __init__(self, leads: Sequence[Lead], moments: Sequence[float], settings: dict[str, Any]):
        self.leads = leads
        self.moments = [datetime.fromtimestamp(ts, UTC) for ts in moments]
        self.settings = settings
        self.routing: Routing | None = None
        self.work: list[Lead] = []

    def setup(self) -> None:
        self.routing = None
        # Routing writes only these fields: clearing them gives every run the same
        # unrouted leads without holding a second copy of a million profiles.
        for lead in self.leads:
            lead.owner = lead.team = lead.follow_up = None
            lead.assignments = ()
        self.work = list(self.leads)
        gc.collect()
        self.routing = Routing.from_dict(self.settings)

    def run(self) -> None:
        routing = self.routing
        if routing is None:
            raise RuntimeError("run() needs setup() first")
        routers = routing.routers
        assign, apply, committed = routing.assign, routing.apply, routing.committed
        notices: list[Notice] = []
        for lead, at in zip(self.work, self.moments, strict=True):
            for router in routers:
                decision = router.route(lead)
                if decision is not None:
                    break
            else:
                continue
            assignment = assign(lead, decision, at, None)  # type: ignore[arg-type]
            apply(lead, assignment, notices)
            committed((assignment,))
            notices.clear()

    def facts(self) -> dict[str, Any]:
        routers: dict[str, int] = {}
        actions: dict[str, int] = {}
        for lead in self.work:
            if lead.assignments:
                record = lead.assignments[-1]
                routers[str(record.router)] = routers.get(str(record.router), 0) + 1
                actions[record.action] = actions.get(record.action, 0) + 1
        return {"decided_by": routers, "actions": actions}


class FrameRun:
    """The batch path: the same leads as a frame of profiles, through ``Routing.route_frame``."""

    def __init__(self, leads: Sequence[Lead], moments: Sequence[float], settings: dict[str, Any]):
        import pandas as pd

        # A host holding a million leads for batch routing has them as a frame already.
        self.frame = pd.DataFrame.from_records([lead.profile for lead in leads])
        self.at = pd.Series(pd.to_datetime(list(moments), unit="s", utc=True))
        self.settings = settings
        self.routing: Routing | None = None
        self.result: Any = None

    def setup(self) -> None:
        self.routing = None
        self.result = None
        gc.collect()
        self.routing = Routing.from_dict(self.settings)

    def run(self) -> None:
        if self.routing is None:
            raise RuntimeError("run() needs setup() first")
        self.result = self.routing.route_frame(self.frame, self.at)


class DictRun:
    """The floor: a dict from domain to owner, else region key → team → next member."""

    def __init__(self, leads: Sequence[Lead], settings: dict[str, Any]):
        self.leads = leads
        account_owner = {
            account["domains"][0]: account["owner"]
            for account in settings["routers"]["existing_account"]["accounts"]
        }
        self.account_owner = account_owner
        teams = settings["teams"]
        self.region_team = {
            region["places"][0]: region["team"]
            for region in settings["routers"]["region"]["regions"]
            if region["places"]
        }
        self.prefix_place = {prefix: place for place, prefix in PROVINCES}
        self.team_members = {team["id"]: [m["id"] for m in team["members"]] for team in teams}
        # The host pre-computes the region key; the timed loop only looks it up.
        self.keys = [
            (
                _domain_key(lead.profile.get("email")),
                self.prefix_place.get(str(lead.profile.get("phone", ""))[:9]),
            )
            for lead in leads
        ]
        self.owners: list[str] = []

    def setup(self) -> None:
        self.owners = []

    def run(self) -> None:
        account_owner, region_team = self.account_owner, self.region_team
        cycles = {team: itertools.cycle(members) for team, members in self.team_members.items()}
        owners = self.owners
        for domain, place in self.keys:
            owner = account_owner.get(domain) if domain else None
            if owner is None:
                owner = next(cycles[region_team.get(place, "team16") if place else "team16"])
            owners.append(owner)


def _same_assignments(leads: Sequence[Lead], result: Any) -> bool:
    """Whether the frame's rows record what the per-lead run put on each lead."""
    if result is None or len(result) != len(leads):
        return False
    for lead, row in zip(leads, result.itertuples(index=False), strict=True):
        made = lead.assignments[-1] if lead.assignments else None
        expected = (
            (None,) * 6
            if made is None
            else (made.router, made.team, made.to_owner, made.action, made.strategy, made.reason)
        )
        if tuple(row) != expected:
            return False
    return True


def _domain_key(email: object) -> str | None:
    if not isinstance(email, str):
        return None
    domain = email.rpartition("@")[2]
    return ".".join(domain.split(".")[-2:])


def run(quick: bool = False) -> dict[str, Any]:
    count = 50_000 if quick else 1_000_000
    section(f"routing and assignment: {count:,} leads, {TEAMS} teams x {MEMBERS} members")
    settings = config()
    started = time.perf_counter()
    leads, moments = make_leads(count)
    print(f"built {count:,} leads in {time.perf_counter() - started:.1f} s (untimed)")
    started = time.perf_counter()
    Routing.from_dict(settings)
    load_s = time.perf_counter() - started
    print(f"loading the configuration ({ACCOUNTS:,} accounts) took {load_s:.2f} s (untimed)")

    chain = ChainRun(leads, moments, settings)
    timing = best_of(chain.run, setup=chain.setup, repeats=3, budget_s=120, min_repeats=2)
    facts = chain.facts()
    floor = DictRun(leads, settings)
    floor_timing = best_of(floor.run, setup=floor.setup, repeats=5, budget_s=30, min_repeats=3)

    batch = FrameRun(leads, moments, settings)
    batch_timing = best_of(batch.run, setup=batch.setup, repeats=3, budget_s=120, min_repeats=2)
    same = _same_assignments(chain.work, batch.result)

    chain_rate = count / timing.best
    floor_rate = count / floor_timing.best
    batch_rate = count / batch_timing.best
    print_table(
        f"{count:,} leads, best of the runs",
        ["router", "leads/s", "µs/lead", "x floor", "runs (s)"],
        [
            [
                "dict lookup router + cycle (the floor)",
                fmt_rate(floor_rate),
                f"{1e6 / floor_rate:.2f}",
                "1.00x",
                ", ".join(f"{t:.2f}" for t in floor_timing.runs),
            ],
            [
                "all built-in routers + team strategies, per lead",
                fmt_rate(chain_rate),
                f"{1e6 / chain_rate:.2f}",
                f"{floor_rate / chain_rate:.1f}x",
                ", ".join(f"{t:.2f}" for t in timing.runs),
            ],
            [
                "the same, Routing.route_frame over a frame",
                fmt_rate(batch_rate),
                f"{1e6 / batch_rate:.2f}",
                f"{floor_rate / batch_rate:.1f}x",
                ", ".join(f"{t:.2f}" for t in batch_timing.runs),
            ],
        ],
    )
    print(
        "route_frame gives every lead the owner, team, router, strategy and reason of the "
        f"per-lead run: {'yes' if same else 'NO'}"
    )
    print("decided by: " + ", ".join(f"{k} {v:,}" for k, v in facts["decided_by"].items()))
    print("actions: " + ", ".join(f"{k} {v:,}" for k, v in facts["actions"].items()))
    targets = [
        target(
            f"routing + assignment at least {TARGET_LEADS_PER_S // 1000}k leads/s, per lead",
            chain_rate >= TARGET_LEADS_PER_S,
            fmt_rate(chain_rate),
        ),
        target(
            f"routing + assignment at least {TARGET_LEADS_PER_S // 1000}k leads/s, "
            "route_frame (same answers)",
            batch_rate >= TARGET_LEADS_PER_S and same,
            fmt_rate(batch_rate),
        ),
    ]
    return {
        "leads": count,
        "teams": TEAMS,
        "members_per_team": MEMBERS,
        "accounts": ACCOUNTS,
        "config_load_s": load_s,
        "chain": {"leads_per_s": chain_rate, "us_per_lead": 1e6 / chain_rate, **timing.as_dict()},
        "dict_floor": {
            "leads_per_s": floor_rate,
            "us_per_lead": 1e6 / floor_rate,
            **floor_timing.as_dict(),
        },
        "route_frame": {
            "leads_per_s": batch_rate,
            "us_per_lead": 1e6 / batch_rate,
            "same_as_per_lead": same,
            **batch_timing.as_dict(),
        },
        "multiple_of_floor": floor_rate / chain_rate,
        "last_run": facts,
        "targets": targets,
    }
