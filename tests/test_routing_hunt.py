"""Routing regressions: configurations and frames a CRM developer feeds it."""

from __future__ import annotations

import logging

import pytest

import leadlife
from leadlife.errors import InvalidArgumentError, RoutingConfigError
from leadlife.lead import Lead
from leadlife.routing import Routing
from leadlife.routing.region import PhoneGeocoder, geocoder_languages

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


@pytest.mark.parametrize("language", ["zz", "EN", "chinese", ""])
def test_a_geocoder_language_without_place_names_is_refused_at_load(language: str) -> None:
    """Regression: routers.region.language accepted any text; the geocoder then named
    every place in English without a word, so places written in the language meant
    never matched and every lead fell through to the fallback."""
    config = {
        "teams": [{"id": "north", "members": [{"id": "nick"}]}],
        "routers": {
            "region": {"regions": [{"team": "north", "places": ["北京市"]}], "language": language}
        },
    }
    with pytest.raises(RoutingConfigError) as caught:
        Routing.from_dict(config)
    assert caught.value.path == "routers.region.language"
    assert "would name every place in English" in caught.value.problem
    assert "'zh'" in caught.value.fix
    with pytest.raises(InvalidArgumentError, match="no place names") as direct:
        PhoneGeocoder(language)
    assert direct.value.argument == "language"


@pytest.mark.parametrize("language", ["en", "zh", "zh_Hant", "de"])
def test_a_geocoder_language_with_place_names_loads(language: str) -> None:
    assert language in geocoder_languages()
    assert PhoneGeocoder(language).language == language
    config = {
        "teams": [{"id": "north", "members": [{"id": "nick"}]}],
        "routers": {
            "region": {"regions": [{"team": "north", "places": ["CN"]}], "language": language}
        },
    }
    assert Routing.from_dict(config).routers


def _routing_with_touches(touches: list[str] | None) -> Routing:
    config: dict = {"teams": _TEAMS, "routers": {"fallback": {"team": "inside"}}}
    if touches is not None:
        config["sla"] = {"touch_events": touches}
    return Routing.from_dict(config)


@pytest.mark.parametrize("strict", [False, True])
def test_an_undeclared_touch_event_type_is_named_when_the_engine_takes_the_routing(
    caplog: pytest.LogCaptureFixture, strict: bool
) -> None:
    """Regression: sla.touch_events accepted any text, so a misspelt type
    ("call_attemp") left every call uncounted and every speed-to-lead window missed,
    without a word."""
    rulebook = {"extends": "default", "strict": strict}
    with caplog.at_level(logging.WARNING, logger="leadlife.engine"):
        leadlife.Engine(
            rulebook=rulebook, plugins=[_routing_with_touches(["call_attemp", "quote_sent"])]
        )
    [record] = [r for r in caplog.records if "sla.touch_events" in r.getMessage()]
    message = record.getMessage()
    assert "'call_attemp'" in message
    assert "'quote_sent'" not in message  # declared by the default rulebook
    assert ("strict rulebook refuses" in message) is strict
    assert "Fix: check the spelling" in message


def test_declared_and_pool_touch_event_types_are_not_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="leadlife.engine"):
        leadlife.Engine(plugins=[_routing_with_touches(None)])
        leadlife.Engine(
            plugins=[_routing_with_touches(["call_attempt", "lead_claimed", "reopened"])]
        )
    assert not [r for r in caplog.records if "sla.touch_events" in r.getMessage()]
