"""Routing regressions: configurations and frames a CRM developer feeds it."""

from __future__ import annotations

import pytest

from leadlife.errors import RoutingConfigError
from leadlife.routing import Routing

_TEAMS = [{"id": "inside", "members": [{"id": "ian"}]}]


def test_a_pool_retry_under_a_microsecond_is_refused_at_load() -> None:
    """A pool retry that rounds to no time fails at load, not as a tick that never returns."""
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict({"teams": _TEAMS, "sla": {"pool_retry_minutes": 1e-9}})
    assert caught.value.path == "sla.pool_retry_minutes"
    assert Routing.from_dict({"teams": _TEAMS, "sla": {"pool_retry_minutes": 0.5}})
