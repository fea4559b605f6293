"""Routing regressions: configurations and frames a CRM developer feeds it."""

from __future__ import annotations

import pytest

from leadlife.errors import RoutingConfigError
from leadlife.lead import Lead
from leadlife.routing import Routing

_TEAMS = [{"id": "inside", "members": [{"id": "ian"}]}]


def test_a_pool_retry_under_a_microsecond_is_refused_at_load() -> None:
    """A pool retry that rounds to no time fails at load, not as a tick that never returns."""
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict({"teams": _TEAMS, "sla": {"pool_retry_minutes": 1e-9}})
    assert caught.value.path == "sla.pool_retry_minutes"
    assert Routing.from_dict({"teams": _TEAMS, "sla": {"pool_retry_minutes": 0.5}})


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"teams": [{"id": "inside", "members": [{"id": " ian "}]}]}, "teams.0.members.0.id"),
        (
            {"teams": [{"id": "inside", "managers": ["boss "], "members": [{"id": "ian"}]}]},
            "teams.0.managers",
        ),
        ({"teams": _TEAMS, "admins": [" ops"]}, "admins"),
    ],
)
def test_a_person_id_with_surrounding_spaces_is_refused(config: dict, path: str) -> None:
    """A member, manager or admin id padded with spaces, which no event names, fails at load."""
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict(config)
    assert caught.value.path == path


def test_a_place_with_a_stray_comma_still_matches() -> None:
    """A place written "Beijing," (a stray comma) matches a Beijing number, as "Beijing" does."""
    routing = Routing.from_dict(
        {
            "teams": [{"id": "north", "members": [{"id": "nick"}]}],
            "routers": {"region": {"regions": [{"team": "north", "places": ["Beijing,"]}]}},
        }
    )
    lead = Lead("a")
    lead.profile = {"phone": "+8613800138000", "phone_valid": True}
    decision = routing.routers[0].route(lead)
    assert decision is not None
    assert decision.team == "north"
