"""A stateful model of the engine: random, duplicate and out-of-order events and ticks."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import leadlife
from leadlife.plugins import get_plugin_manager
from leadlife.stages import DEFAULT_GRAPH, Stage
from tests.conftest import T0
from tests.strategies import event_payloads

LEADS = ["u1", "u2", "u3"]


class EngineModel(RuleBasedStateMachine):
    """Drives one engine and checks it against what was sent."""

    @initialize()
    def start(self) -> None:
        self.engine = leadlife.Engine(plugin_manager=get_plugin_manager(load_entrypoints=False))
        self.now = T0
        self.sent: list[dict[str, Any]] = []
        self.count = 0

    @rule(
        lead=st.sampled_from(LEADS),
        payload=event_payloads(),
        offset=st.integers(min_value=-72 * 60, max_value=30 * 24 * 60),
    )
    def send(self, lead: str, payload: tuple[str, dict[str, Any]], offset: int) -> None:
        """A new event, up to three days late or up to a month ahead."""
        kind, data = payload
        at = self.now + timedelta(minutes=offset)
        self.now = max(self.now, at)
        self.count += 1
        event = {
            "id": f"e{self.count}",
            "lead_id": lead,
            "type": kind,
            "at": at.isoformat(),
            "data": data,
        }
        self.engine.ingest(event)
        self.sent.append(event)

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """Sending an accepted event again changes nothing."""
        event = data.draw(st.sampled_from(self.sent))
        before = self.engine.get(event["lead_id"]).fork()
        after = self.engine.ingest(event)
        assert after.same_state(before)

    @rule(hours=st.integers(min_value=0, max_value=24 * 120))
    def tick(self, hours: int) -> None:
        """Time passes; every change the tick reports is due by then and recorded."""
        self.now += timedelta(hours=hours)
        report = self.engine.tick(self.now)
        for change in report.stage_changes:
            assert change.at <= self.now
            assert change.rule.startswith("timers.")

    @invariant()
    def history_replays_to_stage(self) -> None:
        """Replaying each lead's history from COLD through the stage graph gives its stage."""
        for lead in self.engine.storage.leads():
            stage = Stage.COLD
            for change in lead.history:
                assert change.from_stage is stage
                DEFAULT_GRAPH.step(stage, change.to_stage, lead_id=lead.id, reason=change.reason)
                stage = change.to_stage
            assert stage is lead.stage

    @invariant()
    def every_event_is_counted_once(self) -> None:
        """Each lead has counted exactly the distinct events sent for it."""
        per_lead = Counter(e["lead_id"] for e in self.sent)
        per_type: Counter[tuple[str, str]] = Counter((e["lead_id"], e["type"]) for e in self.sent)
        for lead in self.engine.storage.leads():
            assert lead.event_count == per_lead[lead.id]
            for (lead_id, kind), n in per_type.items():
                if lead_id == lead.id:
                    assert lead.behaviour.total(kind) == n
        assert len(list(self.engine.storage.events())) == len(self.sent)

    @invariant()
    def score_is_order_independent(self) -> None:
        """The points score is the sum of the rulebook's points over what was sent."""
        points = {k: v.points for k, v in self.engine.rulebook.event_types.items()}
        expected = Counter[str]()
        for event in self.sent:
            expected[event["lead_id"]] += points.get(event["type"], 0.0)  # type: ignore[assignment]
        for lead in self.engine.storage.leads():
            assert abs(lead.scores["points"] - expected[lead.id]) < 1e-9

    @invariant()
    def schedule_is_consistent(self) -> None:
        """Closed leads have no timer; open leads have one that lies ahead of their silence."""
        for lead in self.engine.storage.leads():
            if not lead.stage.is_open:
                assert lead.next_check_at is None
            elif lead.asleep_since is None:
                assert lead.next_check_at is not None
                assert lead.idle_since is not None
                assert lead.next_check_at > lead.idle_since


TestEngineModel = EngineModel.TestCase
