"""Rulebook and routing configurations that loaded but could not do what they said."""

from __future__ import annotations

from typing import Any

import pytest

import leadlife
from leadlife import Rulebook, Stage
from leadlife.errors import RoutingConfigError, RulebookError
from leadlife.routing import Routing
from leadlife.scoring import ScoringRules
from tests.conftest import T0
from tests.helpers import ev


def _refused(data: dict[str, Any]) -> RulebookError:
    with pytest.raises(RulebookError) as caught:
        Rulebook.from_dict(data, source="rules.toml")
    return caught.value


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"event_types": {"download ": {"points": 10}}}, "event_types"),
        ({"qualification": {"MQL": {"when": {"event": " download"}}}}, "qualification.MQL.when"),
        (
            {"qualification": {"MQL": {"when": {"event": "chat_replied", "since": "quote_sent "}}}},
            "qualification.MQL.when",
        ),
    ],
)
def test_an_event_type_with_surrounding_spaces_is_refused(data: dict[str, Any], path: str) -> None:
    """Events' types are read without surrounding spaces, so a rulebook that wrote one
    with them (a quoted TOML key, a stray space in a condition) loaded and then never
    matched an event: its points were never given, its entry rule never held."""
    exc = _refused(data)
    assert exc.path.startswith(path)
    assert "surrounding spaces" in exc.problem
    assert "'download'" in exc.fix or "'quote_sent'" in exc.fix


def test_an_event_type_without_spaces_still_matches() -> None:
    engine = leadlife.Engine(
        rulebook={
            "event_types": {"download": {"points": 10}},
            "qualification": {"MQL": {"when": {"event": "download"}}},
        },
        clock=leadlife.FixedClock(T0),
    )
    lead = engine.ingest(ev("download"))
    assert (lead.stage, lead.score) == (Stage.MQL, 10.0)


@pytest.mark.parametrize("negated", [False, True])
def test_since_naming_the_event_itself_is_refused(negated: bool) -> None:
    """``since`` compares the latest ``event`` with the latest event of another type;
    naming the same type compared an event with itself, so the condition loaded and
    then never held (or, under ``not``, always held once the event had happened)."""
    condition: dict[str, Any] = {"event": "chat_replied", "since": "chat_replied"}
    if negated:
        condition = {"not": condition}
    exc = _refused({"qualification": {"MQL": {"when": condition}}})
    assert exc.path.startswith("qualification.MQL.when")
    assert "since" in exc.problem
    assert "chat_replied" in exc.problem
    assert "another event type" in exc.fix


_ROUTING_TEAMS = [
    {"id": "inside", "members": [{"id": "ian"}]},
    {"id": "north", "members": [{"id": "nick"}]},
]


@pytest.mark.parametrize("rate", [True, "0.5"])
def test_a_source_rate_that_is_not_a_number_is_refused(rate: object) -> None:
    """Every other number of the routing configuration refuses true and quoted digits,
    but a source's conversion rate took true as 1.0 (the best source there is) and
    "0.5" as 0.5, so a typo reordered every work queue without a word."""
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict({"teams": _ROUTING_TEAMS, "priority": {"source_rates": {"web": rate}}})
    assert caught.value.path == "priority.source_rates.web"
    assert "number" in caught.value.fix
    routing = Routing.from_dict({"teams": _ROUTING_TEAMS, "priority": {"source_rates": {"web": 1}}})
    assert routing.model.priority.source_rates == {"web": 1.0}


def test_a_router_after_the_fallback_is_refused() -> None:
    """The fallback decides every lead, so a router listed after it in routers.order
    never ran: a configuration putting fallback first loaded and sent every lead to
    the fallback team, the regions and key accounts it described ignored."""
    config = {
        "teams": _ROUTING_TEAMS,
        "routers": {
            "order": ["fallback", "region"],
            "fallback": {"team": "inside"},
            "region": {"regions": [{"team": "north", "places": ["Beijing"]}]},
        },
    }
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict(config)
    assert caught.value.path == "routers.order.1"
    assert "never" in caught.value.problem
    assert "last" in caught.value.fix
    config["routers"]["order"] = ["region", "fallback"]
    assert Routing.from_dict(config)


@pytest.mark.parametrize(
    ("account", "path", "written"),
    [
        ({"id": "acme", "owner": "partner7 "}, "owner", "'partner7'"),
        ({"id": " acme", "owner": "ian"}, "id", "'acme'"),
    ],
)
def test_an_account_id_or_owner_with_surrounding_spaces_is_refused(
    account: dict[str, str], path: str, written: str
) -> None:
    """Members, managers and admins refuse ids with surrounding spaces, but accounts
    did not: an owner from outside the teams written "partner7 " received leads that
    no pool operation or work queue could name (they read "partner7"), and an account
    id written " acme" never matched a lead's account_id, which is read stripped."""
    config = {
        "teams": _ROUTING_TEAMS,
        "routers": {
            "existing_account": {
                "accounts": [{**account, "domains": ["acme.com"]}],
                "team": "inside",
            }
        },
    }
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict(config)
    assert caught.value.path == f"routers.existing_account.accounts.0.{path}"
    assert "surrounding spaces" in caught.value.problem
    assert written in caught.value.problem


def test_an_empty_in_list_is_refused() -> None:
    """A field test ``in = []`` loaded and matched no value, so an entry rule built on
    it (a list of target industries left empty) could never hold; min above max was
    refused for that very reason."""
    exc = _refused({"qualification": {"MQL": {"when": {"field": "industry", "in": []}}}})
    assert exc.path == "qualification.MQL.when"
    assert "no value could match" in exc.problem


def test_a_source_rate_for_a_source_with_surrounding_spaces_is_refused() -> None:
    """Events' sources are read without surrounding spaces, so a rate configured for
    " web " never applied: web leads were ranked at the default rate instead."""
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict({"teams": _ROUTING_TEAMS, "priority": {"source_rates": {" web ": 0.5}}})
    assert caught.value.path.startswith("priority.source_rates")
    assert "'web'" in str(caught.value)


@pytest.mark.parametrize(
    ("scoring", "path"),
    [
        ({"engagement": [{"when": {"event": "download "}, "points": 5}]}, "engagement.0.when"),
        ({"weighted": [{"event": " download", "weight": 2}]}, "weighted.0.event"),
        ({"strict": True, "event_types": ["download", "page_view "]}, "event_types.1"),
    ],
)
def test_a_scoring_event_type_with_surrounding_spaces_is_refused(
    scoring: dict[str, Any], path: str
) -> None:
    """Regression: the scoring rules took event types as written, so an engagement
    rule on "download " loaded and never fired, as entry rules did before."""
    exc = _refused({"extends": "default", "scoring": scoring})
    assert exc.path.startswith(f"scoring.{path}"), exc.path
    assert "surrounding spaces" in exc.problem
    assert "'download'" in exc.fix or "'page_view'" in exc.fix
    with pytest.raises(RulebookError, match="surrounding spaces"):
        ScoringRules.from_dict(scoring)


@pytest.mark.parametrize("zone", ["localtime", "posixrules"])
def test_a_team_timezone_naming_the_host_zone_is_refused(zone: str) -> None:
    """Regression: a team timezone of "localtime" loaded (the system's zone folder has
    such a file), so the same configuration read absence days in each host's own zone."""
    config = {"teams": [{"id": "i", "timezone": zone, "members": [{"id": "a"}]}]}
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict(config)
    assert caught.value.path == "teams.0.timezone"
    assert "IANA zone" in caught.value.fix
    config["teams"][0]["timezone"] = "Asia/Shanghai"
    assert Routing.from_dict(config).teams


def test_a_region_with_no_places_and_no_networks_is_refused() -> None:
    """Regression: a region entry naming only its team loaded, and the region router
    never sent that team a lead (with no ip_lookup of the host's to answer for it)."""
    teams = [{"id": "north", "members": [{"id": "nick"}]}, {"id": "east", "members": [{"id": "e"}]}]
    regions = [{"team": "east", "places": ["Jiangsu"]}, {"team": "north"}]
    config = {"teams": teams, "routers": {"region": {"regions": regions}}}
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict(config)
    assert caught.value.path == "routers.region.regions.1"
    assert "'north'" in caught.value.problem

    class Lookup:
        def region(self, address: str) -> str | None:
            return "north" if address.startswith("10.") else None

    # A host's lookup answers teams itself: an entry may only name one it gives.
    assert Routing.from_dict(config, ip_lookup=Lookup()).routers
