"""A stateful model of routing in the engine: events, pool operations, refusals and ticks."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import leadlife
from leadlife.errors import InvalidEventError
from leadlife.plugins import get_plugin_manager
from leadlife.routing import Routing
from tests.conftest import T0
from tests.helpers import Inbox
from tests.strategies import event_payloads

LEADS = ["u1", "u2", "u3", "u4"]
PEOPLE = ["amy", "ben", "cat", "dan", "eve", "mgr-a", "mgr-b", "boss", "r1", "stranger"]
CONFIG: dict[str, Any] = {
    "seed": 3,
    "admins": ["boss"],
    "teams": [
        {
            "id": "a",
            "managers": ["mgr-a"],
            "members": [
                {"id": "amy"},
                {"id": "ben", "absences": [{"from": T0, "until": T0 + timedelta(days=3)}]},
            ],
        },
        {
            "id": "b",
            "strategy": "capacity",
            "managers": ["mgr-b"],
            "members": [
                {"id": "cat", "capacity": 30},
                {"id": "dan", "capacity": 60},
                {"id": "eve", "capacity": 90},
            ],
        },
    ],
    "routers": {
        "business_line": {"key_account_team": "b", "long_tail_team": "a", "min_employees": 100},
        "fallback": {"team": "a"},
    },
}


class RoutingModel(RuleBasedStateMachine):
    """Drives an engine with a routing configuration and checks ownership stays coherent."""

    @initialize()
    def start(self) -> None:
        self.inbox = Inbox()
        self.routing = Routing.from_dict(CONFIG)
        self.engine = leadlife.Engine(
            plugins=[self.routing, self.inbox],
            plugin_manager=get_plugin_manager(load_entrypoints=False),
        )
        self.now = T0
        self.count = 0
        self.sent: list[dict[str, Any]] = []

    def _next(self, lead: str, kind: str, data: dict[str, Any], minutes: int) -> dict[str, Any]:
        at = self.now + timedelta(minutes=minutes)
        self.now = max(self.now, at)
        self.count += 1
        return {"id": f"e{self.count}", "lead_id": lead, "type": kind, "at": at, "data": data}

    @rule(
        lead=st.sampled_from(LEADS),
        payload=event_payloads(),
        minutes=st.integers(min_value=-120, max_value=3 * 24 * 60),
        employees=st.none() | st.sampled_from([10, 5000]),
    )
    def send(
        self, lead: str, payload: tuple[str, dict[str, Any]], minutes: int, employees: int | None
    ) -> None:
        """An event of the default vocabulary, sometimes late; company data may carry a size."""
        kind, data = payload
        if kind == "company_verified" and employees is not None:
            data = {**data, "employees": employees}
        event = self._next(lead, kind, data, minutes)
        self.engine.ingest(event)
        self.sent.append(event)

    @rule(
        lead=st.sampled_from(LEADS),
        action=st.sampled_from(["claim", "assign", "transfer", "return"]),
        person=st.sampled_from(PEOPLE),
        actor=st.sampled_from(PEOPLE),
        minutes=st.integers(min_value=0, max_value=600),
    )
    def pool(self, lead: str, action: str, person: str, actor: str, minutes: int) -> None:
        """A pool operation by anyone: applied whole, or refused with nothing changed."""
        if self.engine.storage.get(lead) is None:
            return
        kind, data = {
            "claim": ("lead_claimed", {"member": person}),
            "assign": ("lead_assigned", {"member": person, "by": actor}),
            "transfer": ("lead_transferred", {"to": person, "by": actor, "reason": "r"}),
            "return": ("lead_returned", {"by": actor, "reason": "r"}),
        }[action]
        event = self._next(lead, kind, data, minutes)
        before = self.engine.storage.get(lead)
        try:
            self.engine.ingest(event)
        except InvalidEventError:
            assert self.engine.storage.get(lead) is before  # refused: the stored lead is untouched
            return
        self.sent.append(event)

    @rule(hours=st.integers(min_value=0, max_value=24 * 20))
    def tick(self, hours: int) -> None:
        """Time passes; whatever the timers did is due by then."""
        self.now += timedelta(hours=hours)
        report = self.engine.tick(self.now)
        assert all(n.at <= self.now for n in report.notices)

    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """An accepted event sent again changes nothing."""
        if not self.sent:
            return
        event = data.draw(st.sampled_from(self.sent))
        before = self.engine.get(event["lead_id"]).fork()
        assert self.engine.ingest(event).same_state(before)

    @invariant()
    def owner_is_the_last_assignment(self) -> None:
        """Every owner change is recorded: the owner is the last assignment's."""
        for lead in self.engine.storage.leads():
            expected = lead.assignments[-1].to_owner if lead.assignments else None
            assert lead.owner == expected

    @invariant()
    def members_own_within_their_team(self) -> None:
        """A lead owned by a team member stands in that member's team."""
        for lead in self.engine.storage.leads():
            member = None if lead.owner is None else self.routing.member(lead.owner)
            if member is not None:
                assert lead.team == member.team

    @invariant()
    def nobody_gets_leads_while_away(self) -> None:
        """No strategy pick lands on a member who was away at that moment."""
        for lead in self.engine.storage.leads():
            for record in lead.assignments:
                if record.strategy in ("round_robin", "capacity") and record.to_owner:
                    member = self.routing.member(record.to_owner)
                    assert member is not None
                    assert member.available(record.at.timestamp())

    @invariant()
    def each_reminder_is_sent_once(self) -> None:
        """No follow-up reminder repeats for the same owner stint."""
        seen = Counter(
            (
                n.lead_id,
                n.kind,
                n.data.get("to"),
                n.data.get("attempt"),
                n.data.get("breaches"),
                n.at,
            )
            for n in self.inbox.notices
            if n.kind in ("call_attempt_due", "speed_to_lead_missed", "sal_idle")
        )
        assert all(count == 1 for count in seen.values())

    @invariant()
    def timers_are_scheduled(self) -> None:
        """A pending follow-up timer is reflected in the lead's next check."""
        for lead in self.engine.storage.leads():
            due = self.routing.due_ts(lead)
            if due is not None:
                assert lead.next_check_ts is not None
                assert lead.next_check_ts <= due


TestRoutingModel = RoutingModel.TestCase
