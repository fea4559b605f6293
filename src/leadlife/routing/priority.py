"""Work-queue priority: open leads ranked by score and by their source's conversion rate.

Across sources only about 13% of leads become opportunities, and the share varies a
lot by source (the company website converts best; bought lists and e-mail worst).
So a lead's source says how worth working it is before its score has much to go on.
:class:`SourceRates` holds one rate per source, learned from the engine's own leads
where a source has enough of them and taken from the configuration
(:class:`~leadlife.routing.config.PrioritySpec`) otherwise. :func:`priority`
combines it with the score and :func:`work_queue` orders a team's or a person's
leads by it.

A lead *converted to an opportunity* when its history ever reached SQL, SAL or WON:
an MQL that went no further did not, and a lead that bounced SAL → SQL → SAL counts
once. A source's rate is ``opportunities / leads`` over the leads it was learned from.
The source is ``lead.profile["source"]``, the first source the engine saw; a lead
without one has the source ``None`` and always gets the configured ``default_rate``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from numbers import Integral
from typing import TYPE_CHECKING

import attrs

from leadlife.errors import InvalidArgumentError
from leadlife.stages import Stage

if TYPE_CHECKING:
    from leadlife.lead import Lead
    from leadlife.routing.config import PrioritySpec

__all__ = [
    "QueueEntry",
    "SourceRate",
    "SourceRates",
    "converted",
    "lead_source",
    "priority",
    "work_queue",
]


@attrs.frozen(slots=True)
class SourceRate:
    """A source's lead → opportunity rate and where it came from.

    ``leads`` and ``opportunities`` count what the history held for the source (0 and
    0 when it held nothing). ``learned`` is True when ``rate`` is
    ``opportunities / leads``, False when it is the configured rate or the default
    because the history held fewer than ``min_leads`` leads of the source.
    """

    source: str | None
    rate: float
    leads: int = 0
    opportunities: int = 0
    learned: bool = False


def _copy_rates(rates: Mapping[str, SourceRate]) -> dict[str, SourceRate]:
    # A private copy: the caller's mapping changing later must not re-rank queues.
    copied = dict(rates)
    for source, rate in copied.items():
        if rate.source != source:
            raise ValueError(
                f"rates[{source!r}] is the rate of source {rate.source!r}; "
                "key each SourceRate by its own source"
            )
    return copied


@attrs.frozen(slots=True)
class SourceRates:
    """One lead → opportunity rate per source, for :func:`priority`.

    ``learned`` maps a source to what the history taught about it (see
    :meth:`learn`). A source whose entry has ``learned=True`` uses the history's
    rate; any other source uses ``spec.source_rates``, else ``spec.default_rate``.
    """

    spec: PrioritySpec
    learned: Mapping[str, SourceRate] = attrs.field(factory=dict, converter=_copy_rates)

    @classmethod
    def learn(cls, leads: Iterable[Lead], spec: PrioritySpec) -> SourceRates:
        """Count leads and opportunities per source over ``leads``.

        Sources with at least ``spec.min_leads`` leads get their own rate; the others
        keep their counts (for :meth:`table`) and the configured rate.
        """
        counts: dict[str, list[int]] = {}
        for lead in leads:
            source = lead_source(lead)
            if source is None:
                continue  # nothing to learn about "no source": it always uses the default
            tally = counts.setdefault(source, [0, 0])
            tally[0] += 1
            tally[1] += converted(lead)
        learned = {
            source: SourceRate(
                source,
                opps / n if n >= spec.min_leads else _configured(spec, source),
                n,
                opps,
                learned=n >= spec.min_leads,
            )
            for source, (n, opps) in counts.items()
        }
        return cls(spec, learned)

    def rate(self, source: str | None) -> SourceRate:
        """The rate :func:`priority` uses for ``source`` (None: a lead without a source)."""
        if source is None:
            return SourceRate(None, self.spec.default_rate)
        known = self.learned.get(source)
        if known is None:
            return SourceRate(source, _configured(self.spec, source))
        if known.learned:
            return known
        # Below min_leads the configuration decides, even if it changed since learning.
        return attrs.evolve(known, rate=_configured(self.spec, source))

    def table(self) -> list[SourceRate]:
        """Every source the history or the configuration knows, highest rate first.

        Equal rates are listed by source name.
        """
        sources = set(self.learned) | set(self.spec.source_rates)
        return sorted(
            (self.rate(source) for source in sources), key=lambda r: (-r.rate, r.source or "")
        )

    def describe(self, source: str | None) -> str:
        """Where ``source``'s rate comes from, in a sentence fragment for people.

        e.g. ``"source website converts 21% (learned from 340 leads)"``.
        """
        rate = self.rate(source)
        if rate.learned:
            basis = f"learned from {rate.leads} leads"
        else:
            configured = source is not None and source in self.spec.source_rates
            basis = "configured rate" if configured else "default rate"
            if rate.leads:
                basis += f"; {rate.leads} of the {self.spec.min_leads} leads needed to learn it"
        return f"source {source or 'unknown'} converts {_percent(rate.rate)} ({basis})"


def _configured(spec: PrioritySpec, source: str) -> float:
    return spec.source_rates.get(source, spec.default_rate)


def _percent(rate: float) -> str:
    # Whole percents read best, but would show a rare source's 0.4% as "0%".
    return f"{rate:.0%}" if rate >= 0.01 or rate == 0 else f"{rate:.1%}"


def lead_source(lead: Lead) -> str | None:
    """The lead's source (``profile["source"]``), or None when it has none."""
    source = lead.profile.get("source")
    if source is None or source == "":
        return None
    return source if isinstance(source, str) else str(source)


def _is_opportunity(stage: Stage) -> bool:
    return stage is Stage.WON or (stage.is_open and stage.rank >= Stage.SQL.rank)


def converted(lead: Lead) -> bool:
    """True when the lead ever reached SQL, SAL or WON."""
    # The current stage is checked too, so a lead built without its history (an
    # import, a test) is judged by what it is now.
    return _is_opportunity(lead.stage) or any(_is_opportunity(c.to_stage) for c in lead.history)


def priority(lead: Lead, rates: SourceRates) -> float:
    """``source_rate * (1 + max(score, 0) / score_scale)``: higher is worked first.

    The source sets the base and the score multiplies it: a lead scored
    ``score_scale`` counts double, and a lead scored 0 (or less) still ranks by its
    source. A score that is not a finite number counts as 0. A source whose rate is 0
    gives all its leads priority 0, whatever their score.
    """
    return _priority(lead.score, rates.rate(lead_source(lead)).rate, rates.spec.score_scale)


def _priority(score: float, rate: float, scale: float) -> float:
    if not math.isfinite(score):
        score = 0.0  # a broken scorer's NaN or inf must not poison the ordering
    return rate * (1.0 + max(score, 0.0) / scale)


@attrs.frozen(slots=True)
class QueueEntry:
    """One lead of a work queue, with what ranked it there.

    ``waiting_since`` is when the lead was first seen (None if never): speed to lead
    is measured from when the person reached out, whoever holds the lead now.
    ``reason`` explains the rank in a sentence, e.g.
    ``"source website converts 21% (learned from 340 leads); score 55"``.
    """

    lead_id: str
    priority: float
    score: float
    source: str | None
    source_rate: float
    stage: Stage
    owner: str | None
    team: str | None
    waiting_since: datetime | None
    reason: str


# (sort key, lead, its source's rate, its priority); the key sorts ascending.
_Ranked = tuple[tuple[float, float, str], "Lead", SourceRate, float]


def work_queue(
    leads: Iterable[Lead],
    rates: SourceRates,
    *,
    team: str | None = None,
    owner: str | None = None,
    unowned: bool = False,
    include_closed: bool = False,
    limit: int | None = None,
) -> list[QueueEntry]:
    """The leads to work, highest :func:`priority` first.

    Only open leads, unless ``include_closed``. ``team`` and ``owner`` keep the leads
    of that team or owner (None: any); ``unowned=True`` keeps only leads nobody owns,
    e.g. a team's pool with ``team="ka", unowned=True``. Equal priorities go to the
    lead waiting longest (earliest first seen; never seen last), then by lead id, so
    the order is the same on every run. ``limit`` keeps the first ``limit`` entries
    of that order.
    """
    for name, flag in (("unowned", unowned), ("include_closed", include_closed)):
        # Read by truth, "no" or "false" from a query string would turn the filter on.
        if not isinstance(flag, bool):
            raise InvalidArgumentError(name, f"{flag!r} is not a boolean", "pass True or False")
    if owner is not None:
        owner = _owner_id(owner)
    if unowned and owner is not None:
        raise InvalidArgumentError(
            "owner", f"{owner!r} with unowned=True asks for opposite leads", "pass one of them"
        )
    if limit is not None and (
        not isinstance(limit, Integral) or isinstance(limit, bool) or limit < 0
    ):
        raise InvalidArgumentError(
            "limit", f"{limit!r} is no count", "pass a whole number, 0 or more, or None for all"
        )
    scale = rates.spec.score_scale
    by_source: dict[str | None, SourceRate] = {}
    ranked: list[_Ranked] = []
    for lead in leads:
        if not include_closed and not lead.stage.is_open:
            continue
        if team is not None and lead.team != team:
            continue
        if unowned:
            if lead.owner is not None:
                continue
        elif owner is not None and lead.owner != owner:
            continue
        source = lead_source(lead)
        rate = by_source.get(source)
        if rate is None:
            rate = by_source[source] = rates.rate(source)
        prio = _priority(lead.score, rate.rate, scale)
        waited = math.inf if lead.first_seen_ts is None else lead.first_seen_ts
        ranked.append(((-prio, waited, lead.id), lead, rate, prio))
    # Entries are built only for the leads kept: the reason strings are the costly part.
    if limit is None:
        ranked.sort(key=_sort_key)
    else:
        ranked = heapq.nsmallest(int(limit), ranked, key=_sort_key)
    descriptions: dict[str | None, str] = {}
    entries = []
    for _, lead, rate, prio in ranked:
        described = descriptions.get(rate.source)
        if described is None:
            described = descriptions[rate.source] = rates.describe(rate.source)
        entries.append(
            QueueEntry(
                lead_id=lead.id,
                priority=prio,
                score=lead.score,
                source=rate.source,
                source_rate=rate.rate,
                stage=lead.stage,
                owner=lead.owner,
                team=lead.team,
                waiting_since=lead.first_seen_at,
                reason=f"{described}; score {_score_text(lead.score)}",
            )
        )
    return entries


def _owner_id(owner: object) -> str:
    """``owner`` read as events read an owner id: text without its padding, or a
    CRM's numeric user id as its digits; anything else matches no lead, so is refused."""
    if isinstance(owner, int) and not isinstance(owner, bool):
        return str(owner)
    if isinstance(owner, str) and owner.strip():
        return owner.strip()
    raise InvalidArgumentError(
        "owner", f"{owner!r} is not a person id", "pass the owner's id (text), or None for any"
    )


def _sort_key(item: _Ranked) -> tuple[float, float, str]:
    return item[0]


def _score_text(score: float) -> str:
    return f"{score:.0f}" if math.isfinite(score) else str(score)
