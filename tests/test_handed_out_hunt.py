"""What callers and plugins are handed is theirs: changing it changes no stored lead
and no later event's outcome, and later events do not change what they hold."""

from __future__ import annotations

from typing import Any

import pytest

import leadlife
from leadlife.errors import RulebookError
from leadlife.values import FrozenDict, FrozenList
from tests.conftest import T0
from tests.helpers import ev

TAGGING = {
    "extends": "default",
    "event_types": {"tagged": {"sets": {"tags": ["vip"], "meta": {"ids": [1]}}}},
}


def test_a_profile_value_the_rulebook_sets_is_no_list_shared_by_every_lead() -> None:
    """Regression: an event type's ``sets`` put the rulebook's own list and table in
    every lead's profile, so a caller appending to its copy's list changed the stored
    lead, every lead the event type set it on later, and the rulebook."""
    engine = leadlife.Engine(rulebook=TAGGING, clock=leadlife.FixedClock(T0))
    lead = engine.ingest(ev("tagged", lead="u1"))
    assert lead.profile["tags"] == ["vip"]
    assert lead.profile["meta"] == {"ids": [1]}
    with pytest.raises(TypeError):
        lead.profile["tags"].append("meddled")
    with pytest.raises(TypeError):
        lead.profile["meta"]["ids"].append(2)
    assert isinstance(lead.profile["meta"], FrozenDict)
    assert isinstance(lead.profile["meta"]["ids"], FrozenList)
    assert engine.get("u1").profile["tags"] == ["vip"]
    assert engine.ingest(ev("tagged", lead="u2")).profile["tags"] == ["vip"]
    assert engine.rulebook.event_types["tagged"].sets == {"tags": ["vip"], "meta": {"ids": [1]}}


def test_a_rulebook_setting_a_value_no_profile_can_hold_names_it() -> None:
    rulebook: dict[str, Any] = {
        "extends": "default",
        "event_types": {"tagged": {"sets": {"meta": {"when": object()}}}},
    }
    with pytest.raises(RulebookError) as caught:
        leadlife.Engine(rulebook=rulebook)
    assert caught.value.path == "event_types.tagged.sets.meta.when"
    assert "object" in str(caught.value)
