"""Pool operations: who may claim, assign, transfer and return, and what a refusal names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import leadlife
from leadlife.errors import NotPermittedError
from leadlife.routing import Routing
from tests.conftest import T0
from tests.helpers import ev

PHONE = "+8613800138000"
MINUTE = timedelta(minutes=1)
CONFIG: dict[str, Any] = {
    "teams": [
        {"id": "inside", "managers": ["mgr"], "members": [{"id": "ian"}, {"id": "ivy"}]},
        {"id": "north", "members": [{"id": "nick"}]},
    ],
    "routers": {"fallback": {"team": "inside"}},
}


def build() -> leadlife.Engine:
    engine = leadlife.Engine(
        plugins=[Routing.from_dict(CONFIG)],
        plugin_manager=leadlife.get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )
    engine.ingest(ev("form_submit", lead="a", phone=PHONE, asset_id="p1"))
    return engine


@pytest.mark.parametrize("who", ["ivy", "nick"])
def test_a_refused_claim_names_data_member(who: str) -> None:
    """Regression: a refused claim named `data.by`, a field a claim does not have."""
    engine = build()
    with pytest.raises(NotPermittedError, match=r"^event .*: data\.member: ") as caught:
        engine.claim("a", who, at=T0 + MINUTE)
    assert (caught.value.field, caught.value.actor) == ("data.member", who)


def test_a_refused_claim_of_a_closed_lead_names_data_member() -> None:
    engine = build()
    engine.ingest(ev("deal_won", MINUTE, lead="a", amount=1))
    with pytest.raises(NotPermittedError) as caught:
        engine.claim("a", "ivy", at=T0 + 2 * MINUTE)
    assert caught.value.field == "data.member"


def test_a_refused_transfer_still_names_data_by() -> None:
    engine = build()
    with pytest.raises(NotPermittedError) as caught:
        engine.transfer("a", "nick", by="nick", reason="mine", at=T0 + MINUTE)
    assert caught.value.field == "data.by"


def test_returning_a_lead_already_in_the_pool_is_checked_like_any_return() -> None:
    """Regression: returning a lead that already waited in the pool was accepted from
    anyone, even a person in no team, and logged as them returning it."""
    engine = build()
    owner = engine.get("a").owner
    assert owner is not None
    engine.return_to_pool("a", by=owner, reason="wrong contact", at=T0 + MINUTE)
    logged = len(list(engine.storage.events("a")))
    for who in ("mallory", "ivy" if owner != "ivy" else "ian"):
        with pytest.raises(NotPermittedError, match=r"only a manager of its team") as caught:
            engine.return_to_pool("a", by=who, reason="spam", at=T0 + 2 * MINUTE)
        assert caught.value.field == "data.by"
    assert len(list(engine.storage.events("a"))) == logged
    # Whoever just returned it may retry (at another moment: a new event id).
    retried = engine.return_to_pool("a", by=owner, reason="wrong contact", at=T0 + 2 * MINUTE)
    assert [a.action for a in retried.assignments].count("returned") == 1
    # A manager asking for what already holds: nothing changes, as documented.
    lead = engine.return_to_pool("a", by="mgr", reason="still waiting", at=T0 + 3 * MINUTE)
    assert (lead.owner, lead.assignments[-1].action) == (None, "returned")
