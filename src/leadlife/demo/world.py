"""A seeded synthetic world of leads and events, for the demo and for benchmarks.

Deterministic for a given seed: the same seed gives the same events in the same
order, so a demo run can be compared with the last one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["CHANNELS", "START", "World", "company_size", "generate_events"]

CHANNELS = ("seo", "sem", "wecom", "webinar", "referral", "email")
INDUSTRIES = ("advertising", "media", "retail", "education", "manufacturing", "finance")
_PAGES = ("product", "pricing", "case_study", "blog", "careers")


START = datetime(2026, 9, 1, tzinfo=UTC)
"""When a world starts unless told otherwise."""


class World:
    """Parameters of a synthetic world: how many leads, over how many days, from when."""

    def __init__(
        self,
        leads: int = 3000,
        days: int = 42,
        seed: int = 7,
        start: datetime = START,
    ):
        self.leads = leads
        self.days = days
        self.seed = seed
        self.start = start

    @property
    def end(self) -> datetime:
        """The moment after the last generated event."""
        return self.start + timedelta(days=self.days)


def generate_events(world: World) -> list[dict[str, Any]]:
    """Every event of ``world`` as plain dicts, sorted by time (ties keep lead order)."""
    rng = random.Random(world.seed)
    events: list[dict[str, Any]] = []
    for number in range(world.leads):
        events.extend(_lead_story(rng, world, number))
    # Stories run on past the world's end; what happens after it is not part of it.
    events = [e for e in events if e["at"] < world.end]
    events.sort(key=lambda e: e["at"])
    for index, event in enumerate(events):
        event["id"] = f"ev{index:08d}"
        event["at"] = event["at"].isoformat()
    return events


def company_size(number: int) -> tuple[int, int]:
    """``(employees, registered capital in CNY)`` of lead ``number``'s company.

    A fixed hash of the number, not a draw from the world's random generator, so the
    registry data add nothing to the sequence of draws: every seed's events keep
    their order and count. About one company in eight has 1,000 employees or more.
    """
    h = (number * 0x9E3779B1 + 0x7F4A7C15) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    h ^= h >> 12
    share = h / 2**32
    employees = max(3, round(5 * 10 ** (3.5 * share**3)))  # most companies are small
    capital_per_head = 20_000 + (h >> 8) % 180_000
    return employees, round(employees * capital_per_head, -4)


def _lead_story(rng: random.Random, world: World, number: int) -> Iterator[dict[str, Any]]:
    """One person's journey: browsing, maybe contact, maybe sales, maybe a deal."""
    lead_id = f"u{number:06d}"
    channel = rng.choice(CHANNELS)
    interest = rng.betavariate(1.2, 3.0)  # most visitors are lukewarm
    t = world.start + timedelta(seconds=rng.uniform(0, world.days * 86_400 * 0.8))

    def event(kind: str, **data: Any) -> dict[str, Any]:
        return {"lead_id": lead_id, "type": kind, "at": t, "channel": channel, "data": data}

    visits = 1 + int(rng.expovariate(1.0 / (1 + 12 * interest)))
    for _ in range(visits):
        t += timedelta(hours=rng.expovariate(1 / 40))
        if t >= world.end:
            return
        roll = rng.random()
        if roll < 0.55:
            yield event("page_view", page=rng.choice(_PAGES))
        elif roll < 0.70:
            yield event("search", keyword=rng.choice(INDUSTRIES) + " report")
        elif roll < 0.85:
            yield event("download", asset_id=f"a{rng.randrange(200)}")
        elif roll < 0.92:
            yield event("email_opened", campaign="nurture")
        elif roll < 0.97:
            yield event("livestream_watched", event_id="live-1")
        else:
            yield event("offline_event_attended", event_id="expo")
    if rng.random() > 0.25 + interest:
        return
    t += timedelta(minutes=rng.uniform(1, 600))
    phone = f"+86138{rng.randrange(10**8):08d}" if rng.random() < 0.9 else "12345"
    yield event("form_submit", phone=phone, asset_id=f"a{rng.randrange(200)}")
    if rng.random() < 0.6:
        t += timedelta(minutes=rng.uniform(1, 120))
        employees, capital = company_size(number)
        yield {
            **event(
                "company_verified",
                company=f"Company {lead_id}",
                industry=rng.choice(INDUSTRIES),
                employees=employees,
                registered_capital=capital,
            ),
            "channel": "registry",
        }
    else:
        return
    if rng.random() > 0.2 + interest:
        return
    t += timedelta(hours=rng.uniform(0.1, 30))
    yield event("chat_started", channel="wecom")
    t += timedelta(minutes=rng.uniform(1, 90))
    yield event("sales_accepted", owner=f"rep{rng.randrange(12):02d}")
    if rng.random() < 0.7:
        t += timedelta(hours=rng.uniform(1, 20))
        yield event("chat_replied")
    t += timedelta(hours=rng.uniform(2, 90))
    yield event("quote_sent", amount=rng.choice((9800, 19800, 49800)))
    if rng.random() < 0.3:
        t += timedelta(hours=rng.uniform(1, 30))
        yield event("price_objection")
    outcome = rng.random()
    t += timedelta(days=rng.uniform(1, 12))
    if t >= world.end:
        return
    if outcome < 0.25 + 0.3 * interest:
        yield event("deal_won", amount=19800)
    elif outcome < 0.45:
        yield event("deal_lost", reason=rng.choice(("price", "competitor", "no budget")))
