"""What a lead read from the engine shares with the store, whatever the storage."""

from __future__ import annotations

from typing import Any

import pytest

from leadlife.lead import Lead
from leadlife.routing.decision import RouteDecision, Router
from tests.test_routers import EAST, NORTH, business_line, region_router
from tests.test_routing_engine import CONFIG, build, qualify


def test_a_built_in_routers_evidence_is_read_only_in_the_lead_it_returns() -> None:
    """The account router's evidence (with its list of conflicts) cannot be changed
    through a lead from get: in memory the store shares it, and it would change there."""
    engine, _ = build(CONFIG)
    qualify(engine, "u1", email="x@acme.com")
    evidence = engine.get("u1").assignments[-1].evidence
    assert evidence["account"] == "acme"
    assert evidence["conflicts"] == []
    with pytest.raises(TypeError):
        evidence["conflicts"].append("x")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        evidence["account"] = "other"  # type: ignore[index]
    assert engine.get("u1").assignments[-1].evidence["conflicts"] == []


@pytest.mark.parametrize(
    ("router", "profile"),
    [
        (business_line(), {"employees": 900}),
        (region_router(EAST), {"ip": "10.1.2.3"}),
        (region_router(NORTH), {"phone": "+861058001234", "phone_valid": True}),
    ],
)
def test_the_size_and_region_routers_give_read_only_evidence(
    router: Router, profile: dict[str, Any]
) -> None:
    """Their evidence is kept in the lead, which a lead from get shares with the store."""
    decision = router.route(Lead("u1", profile=profile))
    assert isinstance(decision, RouteDecision)
    assert decision.evidence
    with pytest.raises(TypeError):
        decision.evidence["matched_by"] = "x"  # type: ignore[index]
