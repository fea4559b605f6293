"""A deterministic generator of inbound events, shaped like a real B2B funnel.

``leadlife.demo.world`` gives about 6 events per lead (612k events for 100k leads over
60 days), short of the 10 per lead the engine benchmark needs, so the benchmarks bring
their own generator. Every lead gets a story (browsing, then maybe a form, company
verification, a sales conversation, a quote, a deal), using only the default rulebook's
event types. The same seed always gives the same events in the same order.
"""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = ["generate", "lead_story"]

START = datetime(2026, 9, 1, tzinfo=UTC)
CST = timezone(timedelta(hours=8))  # the leads and the sales team are in UTC+8
_CHANNELS = ("seo", "sem", "wecom", "webinar", "referral", "email")
_INDUSTRIES = ("advertising", "media", "retail", "education", "manufacturing", "finance")
_PAGES = ("product", "pricing", "case_study", "blog", "careers", "docs")
# (event type, cumulative probability) of one browsing touch before any contact.
_BROWSING = (
    ("page_view", 0.48),
    ("search", 0.62),
    ("download", 0.74),
    ("email_opened", 0.82),
    ("email_clicked", 0.86),
    ("favorite", 0.89),
    ("webinar_registered", 0.92),
    ("livestream_watched", 0.95),
    ("demo_requested", 0.97),
    ("offline_event_attended", 1.0),
)
_BROWSING_KINDS = tuple(kind for kind, _ in _BROWSING)
_BROWSING_CUTS = tuple(cut for _, cut in _BROWSING)
Story = list[tuple[float, str, dict[str, Any]]]


def _touch(rng: random.Random) -> tuple[str, dict[str, Any]]:
    kind = _BROWSING_KINDS[bisect.bisect_right(_BROWSING_CUTS, rng.random())]
    if kind == "page_view":
        return kind, {"page": rng.choice(_PAGES)}
    if kind == "search":
        return kind, {"keyword": rng.choice(_INDUSTRIES) + " report"}
    if kind == "download":
        return kind, {"asset_id": f"a{rng.randrange(300)}"}
    if kind in ("email_opened", "email_clicked"):
        return kind, {"campaign": rng.choice(("nurture", "launch", "newsletter"))}
    if kind in ("webinar_registered", "livestream_watched", "offline_event_attended"):
        return kind, {"event_id": f"live-{rng.randrange(20)}"}
    return kind, {}


def lead_story(rng: random.Random, days: int) -> Story:
    """One lead's events as ``(epoch seconds, type, data)``, in time order."""
    span = days * 86_400.0
    interest = rng.betavariate(1.3, 3.0)  # most visitors are lukewarm
    t = START.timestamp() + rng.uniform(0, span * 0.7)
    end = START.timestamp() + span
    story: Story = []

    def add(gap_hours: float, kind: str, data: dict[str, Any]) -> bool:
        nonlocal t
        t += gap_hours * 3600.0
        if t >= end:
            return False
        story.append((t, kind, data))
        return True

    visits = 1 + int(rng.expovariate(1.0 / (2.8 + 13.0 * interest)))
    for _ in range(visits):
        if not add(rng.expovariate(1 / 30), *_touch(rng)):
            return story
    if rng.random() > 0.25 + interest:
        return story
    phone = f"+86138{rng.randrange(10**8):08d}" if rng.random() < 0.92 else "12345"
    form = {"phone": phone, "asset_id": f"a{rng.randrange(300)}"}
    if not add(rng.uniform(0.02, 10), "form_submit", form):
        return story
    if rng.random() < 0.65:
        company = {
            "company": f"Company {rng.randrange(40_000)}",
            "industry": rng.choice(_INDUSTRIES),
        }
        if not add(rng.uniform(0.02, 2), "company_verified", company):
            return story
    for _ in range(int(rng.expovariate(1 / 2))):
        if not add(rng.expovariate(1 / 20), *_touch(rng)):
            return story
    if rng.random() > 0.25 + interest:
        return story
    if not add(rng.uniform(0.1, 30), "chat_started", {"channel": "wecom"}):
        return story
    if not add(rng.uniform(0.02, 2), "sales_accepted", {"owner": f"rep{rng.randrange(12):02d}"}):
        return story
    if rng.random() < 0.7 and not add(rng.uniform(1, 20), "chat_replied", {}):
        return story
    if not add(rng.uniform(2, 90), "quote_sent", {"amount": rng.choice((9800, 19800, 49800))}):
        return story
    if rng.random() < 0.3 and not add(rng.uniform(1, 30), "price_objection", {}):
        return story
    outcome = rng.random()
    if outcome < 0.2 + 0.3 * interest:
        add(rng.uniform(24, 300), "deal_won", {"amount": 19800})
    elif outcome < 0.45:
        reason = rng.choice(("price", "competitor", "no budget"))
        if add(rng.uniform(24, 300), "deal_lost", {"reason": reason}) and rng.random() < 0.15:
            add(rng.uniform(24, 300), "reopened", {"reason": "budget approved"})
    return story


def generate(leads: int, days: int = 60, seed: int = 20261101) -> list[dict[str, Any]]:
    """Every event of ``leads`` leads over ``days`` days, sorted by time, as plain dicts.

    Each dict is ``{"id", "lead_id", "type", "at", "channel", "data"}`` with ``at`` an
    ISO 8601 string carrying a UTC offset.
    """
    rng = random.Random(seed)
    rows: list[tuple[float, int, str, str, str, dict[str, Any]]] = []
    for number in range(leads):
        lead_id = f"u{number:07d}"
        channel = rng.choice(_CHANNELS)
        for ts, kind, data in lead_story(rng, days):
            rows.append((ts, number, lead_id, channel, kind, data))
    rows.sort(key=lambda row: (row[0], row[1]))
    events: list[dict[str, Any]] = []
    for index, (ts, _, lead_id, channel, kind, data) in enumerate(rows):
        events.append(
            {
                "id": f"e{index:08d}",
                "lead_id": lead_id,
                "type": kind,
                "at": datetime.fromtimestamp(ts, CST).isoformat(timespec="milliseconds"),
                "channel": "registry" if kind == "company_verified" else channel,
                "data": data,
            }
        )
    return events
