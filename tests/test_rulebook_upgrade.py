"""A host that changes its rulebook keeps its leads in its own storage: their next
event must be judged by the new rules alone, as a new lead's would be."""

from __future__ import annotations

import leadlife
from leadlife import Stage
from leadlife.plugins import LeadlifePluginManager, get_plugin_manager
from leadlife.plugins.default_storage import MemoryStorage
from leadlife.rules import load_rulebook
from tests.conftest import T0
from tests.helpers import days, ev, hours

_EMAIL_MQL = {
    "extends": "default",
    "qualification": {
        "MQL": {"reason": "left a valid e-mail", "when": {"field": "email_valid", "equals": True}}
    },
}


class _Keep:
    """The host's storage, outliving one engine."""

    def __init__(self, store: MemoryStorage) -> None:
        self.store = store

    @leadlife.hookimpl
    def leadlife_storage(self) -> MemoryStorage:
        return self.store


def _engines(store: MemoryStorage, rulebook: object) -> tuple[leadlife.Engine, leadlife.Engine]:
    def manager() -> LeadlifePluginManager:
        pm = get_plugin_manager(load_entrypoints=False)
        pm.register(_Keep(store))
        return pm

    before = leadlife.Engine(plugin_manager=manager(), clock=leadlife.FixedClock(T0))
    after = leadlife.Engine(rulebook, plugin_manager=manager(), clock=leadlife.FixedClock(T0))
    return before, after


def test_a_changed_entry_rule_promotes_a_stored_lead_on_its_next_event() -> None:
    """Regression: the ladder was skipped for events it does not mention, on the
    assumption that its last reading still held, also for a lead last read by
    other rules: a lead meeting the new MQL rule stayed Cold through page views."""
    store = MemoryStorage()
    before, after = _engines(store, _EMAIL_MQL)
    first = before.ingest(ev("form_submit", email="li@acme-media.cn", industry="media"))
    assert first.stage is Stage.COLD
    lead = after.ingest(ev("page_view", hours(1)))
    assert lead.stage is Stage.MQL
    assert lead.history[-1].rule == "qualification.MQL"
    assert lead.rulebook_digest == after.rulebook.digest != before.rulebook.digest


def test_changed_points_rescore_a_stored_lead_in_full() -> None:
    """Regression: the points scorer added the new event's points to a score built
    under the old points, so the lead kept its band and disagreed with explain()."""
    store = MemoryStorage()
    before, after = _engines(
        store, {"extends": "default", "event_types": {"download": {"points": 2}}}
    )
    for minute in range(3):
        before.ingest(ev("download", hours(minute / 60), asset_id="a1"))
    assert (before.get("u1").score, before.get("u1").stage) == (30.0, Stage.WARM)
    lead = after.ingest(ev("page_view", hours(1)))
    assert lead.score == after.explain("u1").value == 3 * 2 + 1
    assert lead.stage is Stage.COLD


def test_an_unchanged_rulebook_keeps_its_digest_across_engines() -> None:
    """The digest is of the rules, not of the object: two engines with the same
    rulebook do not re-read every lead (that would undo the per-event shortcuts)."""
    assert load_rulebook(None).digest == load_rulebook({"extends": "default"}).digest
    assert load_rulebook(None).digest != load_rulebook(_EMAIL_MQL).digest
    assert (
        load_rulebook({"extends": "default", "timers": {"cooling_days": 31}}).digest
        != load_rulebook(None).digest
    )


def test_a_lead_stored_before_digests_is_read_in_full_once() -> None:
    """A lead pickled without the field loads with no digest: its next event reads
    the whole ladder (it meets the new MQL rule through a page view), then the lead
    carries the digest."""
    store = MemoryStorage()
    before, after = _engines(store, _EMAIL_MQL)
    before.ingest(ev("form_submit", email="li@acme-media.cn"))
    stored = store.get("u1")
    assert stored is not None
    state = stored.__getstate__()
    del state["rulebook_digest"]
    old = leadlife.Lead.__new__(leadlife.Lead)
    old.__setstate__(state)
    assert (old.rulebook_digest, old.stage) == (None, Stage.COLD)
    store._leads["u1"] = old
    lead = after.ingest(ev("page_view", hours(1)))
    assert (lead.stage, lead.rulebook_digest) == (Stage.MQL, after.rulebook.digest)


def test_reschedule_brings_a_shortened_timer_forward() -> None:
    """Regression: stored leads kept the next check of the old rules, so with sleep
    shortened from 90 to 30 days a day-40 tick sent nothing; reschedule() computes
    the checks under the current rules, and the tick stamps what is due with its
    own due time, as an engine with the new rules from the start does."""
    store = MemoryStorage()
    shorter = {"extends": "default", "timers": {"sleep_days": 30}}
    before, after = _engines(store, shorter)
    before.ingest(ev("page_view", event_id="e1"))
    before.ingest(ev("page_view", lead="u2", event_id="e2"))
    assert store.get("u1").next_check_at == T0 + days(90)  # type: ignore[union-attr]
    assert after.tick(T0 + days(40)).notices == ()  # still on the old schedule
    assert after.reschedule() == 2
    assert after.reschedule() == 0  # settled
    late = after.tick(T0 + days(40)).notices
    fresh = leadlife.Engine(shorter, clock=leadlife.FixedClock(T0))
    fresh.ingest(ev("page_view", event_id="e1"))
    fresh.ingest(ev("page_view", lead="u2", event_id="e2"))
    timely = fresh.tick(T0 + days(40)).notices
    assert [(n.kind, n.lead_id, n.at) for n in late] == [(n.kind, n.lead_id, n.at) for n in timely]
    assert [n.at for n in late] == [T0 + days(30)] * 2
