"""The company-registry plugin, tested on a fresh leadlife plugin manager."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import leadlife_company_registry as registry
import pytest

import leadlife
from leadlife import Stage
from leadlife.plugins import LeadlifePluginManager

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CONTACT = {"phone": "+8613800138000", "asset_id": "media-report"}


def form(key: str, lead_id: str = "u1", **data: Any) -> dict[str, Any]:
    return {"id": key, "lead_id": lead_id, "type": "form_submit", "at": T0, "data": data}


def test_registered_names_only_real_hooks(pm: LeadlifePluginManager) -> None:
    """The module registers cleanly and implements only hooks leadlife specifies."""
    assert pm.get_plugin("company-registry") is registry
    pm.check_pending()  # raises for a misspelt hook name
    callers = pm.get_hookcallers(registry)
    assert callers is not None
    assert [caller.name for caller in callers] == ["leadlife_enrich_event"]


def test_known_company_makes_an_sql(engine: leadlife.Engine) -> None:
    """A form with contact data and a registered company makes a new lead an SQL at once."""
    lead = engine.ingest(form("e1", company="Acme Media", **CONTACT))
    assert lead.stage is Stage.SQL
    assert lead.profile["company"] == "Acme Media Co. Ltd."
    assert lead.profile["industry"] == "advertising"
    assert lead.profile["company_verified"] is True
    assert [change.to_stage for change in lead.history] == [Stage.SQL]


@pytest.mark.parametrize(
    ("written", "registered"),
    [
        ("ACME MEDIA CO., LTD.", "Acme Media Co. Ltd."),
        ("  acme  ", "Acme Media Co. Ltd."),
        ("Beta Retail Group Inc.", "Beta Retail Group"),
        ("delta mfg", "Delta Precision Manufacturing"),
    ],
)
def test_names_match_whatever_their_spelling(written: str, registered: str) -> None:
    """Case, punctuation, legal suffixes and known aliases do not hide a registered company."""
    company = registry.lookup(written)
    assert company is not None
    assert company.name == registered


@pytest.mark.parametrize("written", ["Beta", "Beta Inc.", "Beta Corp", "Beta Ltd", "beta co"])
def test_a_bare_brand_word_matches_no_alias(written: str) -> None:
    """Legal suffixes go, the words of a name stay: the alias "beta group" is not "beta",
    so "Beta" under any legal form is not Beta Retail Group."""
    assert registry.normalise("beta group") == "beta group"
    assert registry.normalise("Beta Retail Group Inc.") == "beta retail group"
    assert registry.lookup(written) is None
    assert registry.lookup("Beta Group Ltd.") is not None


def test_unknown_company_is_left_unverified(engine: leadlife.Engine) -> None:
    """A company the registry does not know adds nothing: the lead stays an MQL."""
    lead = engine.ingest(form("e1", company="Nowhere Holdings", **CONTACT))
    assert lead.stage is Stage.MQL
    assert lead.profile["company"] == "Nowhere Holdings"
    assert "company_verified" not in lead.profile


def test_unknown_company_withdraws_another_companys_verification(
    engine: leadlife.Engine,
) -> None:
    """A later form naming a company the registry does not know leaves the lead
    unverified: the earlier company's flag and industry do not carry over to it."""
    lead = engine.ingest(form("e1", company="Acme Media", **CONTACT))
    assert lead.profile["company_verified"] is True
    later = {**form("e2", company="Nowhere Holdings", **CONTACT), "at": T0 + timedelta(hours=1)}
    lead = engine.ingest(later)
    assert lead.profile["company"] == "Nowhere Holdings"
    assert lead.profile["company_verified"] is False
    assert lead.profile["industry"] is None
    assert lead.scores["rules"] == 0  # neither the verified-company nor the industry fit
    # Entry rules only promote: the lead keeps the stage it reached, with its history.
    assert lead.stage is Stage.SQL
    again = {**form("e3", company="gamma edu"), "at": T0 + timedelta(hours=2)}
    lead = engine.ingest(again)
    assert lead.profile["company_verified"] is True
    assert lead.profile["industry"] == "education"


def test_withdrawal_spares_the_same_company_and_the_events_own_fields(
    engine: leadlife.Engine,
) -> None:
    """The verified company under another spelling keeps its verification, a
    ``company_verified`` event is not second-guessed, and an industry the form
    states itself is kept."""
    verified = {
        "id": "v1",
        "lead_id": "u1",
        "type": "company_verified",
        "at": T0,
        "data": {"company": "Huge Corp", "industry": "retail", "employees": 9000},
    }
    engine.ingest(verified)
    same = {**form("e1", company="huge corp.", **CONTACT), "at": T0 + timedelta(minutes=1)}
    lead = engine.ingest(same)
    assert lead.profile["company_verified"] is True
    assert lead.profile["employees"] == 9000
    other = {
        **form("e2", company="Tiny Shop", industry="food"),
        "at": T0 + timedelta(minutes=2),
    }
    lead = engine.ingest(other)
    assert lead.profile["company_verified"] is False
    assert lead.profile["industry"] == "food"
    assert lead.profile["employees"] is None
    reverified = {**verified, "id": "v2", "at": T0 + timedelta(minutes=3)}
    lead = engine.ingest(reverified)
    assert lead.profile["company_verified"] is True
    assert not engine.failures


def test_another_registered_company_drops_the_earlier_companys_size(
    engine: leadlife.Engine,
) -> None:
    """Regression: switching a verified lead to another registered company kept the
    earlier company's employees, sme and registered capital beside the new name, so
    Acme Media became a 9,000-employee non-SME."""
    engine.ingest(
        {
            "id": "v1",
            "lead_id": "u1",
            "type": "company_verified",
            "at": T0,
            "data": {
                "company": "Huge Corp",
                "industry": "retail",
                "employees": 9000,
                "sme": False,
                "registered_capital": 5e8,
            },
        }
    )
    switched = {**form("e1", company="Acme Media", **CONTACT), "at": T0 + timedelta(hours=1)}
    lead = engine.ingest(switched)
    assert lead.profile["company"] == "Acme Media Co. Ltd."
    assert lead.profile["industry"] == "advertising"
    assert lead.profile["company_verified"] is True
    sizes = ("employees", "sme", "registered_capital")
    assert [lead.profile[field] for field in sizes] == [None, None, None]

    # A size the event states itself is the new company's, and is kept.
    stated = {
        "id": "v2",
        "lead_id": "u1",
        "type": "company_verified",
        "at": T0 + timedelta(hours=2),
        "data": {"company": "gamma edu", "employees": 40},
    }
    lead = engine.ingest(stated)
    assert (lead.profile["company"], lead.profile["employees"]) == ("Gamma Learning Ltd.", 40)
    # The verified company under another spelling or an alias keeps its size.
    for number, written in enumerate(["GAMMA LEARNING, LTD.", "gamma edu"]):
        again = {**form(f"e{3 + number}", company=written), "at": T0 + timedelta(hours=3 + number)}
        assert engine.ingest(again).profile["employees"] == 40
    assert not engine.failures


def test_a_late_unknown_company_withdraws_nothing(engine: leadlife.Engine) -> None:
    """A late event only fills missing fields: an older form naming an unknown company
    leaves a newer verification as it is."""
    newer = {**form("e2", company="Acme Media", **CONTACT), "at": T0 + timedelta(hours=1)}
    engine.ingest(newer)
    lead = engine.ingest(form("e1", company="Nowhere Holdings", **CONTACT))
    assert lead.profile["company"] == "Acme Media Co. Ltd."
    assert lead.profile["industry"] == "advertising"
    assert lead.profile["company_verified"] is True


def test_events_without_a_company_are_untouched(engine: leadlife.Engine) -> None:
    """Events that carry no company name get no lookup and no profile fields."""
    event = leadlife.Event(id="e1", lead_id="u1", type="page_view", at=T0, data={"page": "x"})
    before = leadlife.Lead("u1")
    assert registry.leadlife_enrich_event(event=event, lead=before) is None
    named_seven = event.model_copy(update={"data": {"company": 7}})
    assert registry.leadlife_enrich_event(event=named_seven, lead=before) is None
    lead = engine.ingest(event)
    assert lead.profile == {}
    assert not engine.failures


def test_later_event_verifies_an_existing_mql(engine: leadlife.Engine) -> None:
    """An MQL that names its company in a later form is verified and promoted then."""
    engine.ingest(form("e1", **CONTACT))
    later = {**form("e2", company="gamma edu"), "at": T0 + timedelta(days=1)}
    lead = engine.ingest(later)
    assert lead.stage is Stage.SQL
    assert lead.profile["industry"] == "education"


def test_pyproject_declares_the_entry_point() -> None:
    """The package declares itself in leadlife's entry-point group under its plugin name."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["leadlife"] == {"company-registry": "leadlife_company_registry"}
    assert project["name"].startswith("leadlife-")
