"""leadlife-company-registry: verify a lead's company against a company registry.

When an event carries ``data.company``, the plugin looks the name up in its registry
table (``companies.csv``, shipped in the package; a real deployment would call a
registry API instead) and, when the company is found, returns the registered name,
its industry and ``company_verified = True`` as profile fields. With the default
rulebook that is what SQL needs, so a lead that left contact details, the asset it
wants and a verifiable company becomes an SQL on that one form. On a lead verified
for another company, the old company's size (registered capital, employees, SME)
is cleared too, as the registry does not know the new one's. A name the registry
does not know adds nothing, except on a lead verified for another company: there it
withdraws that verification (``company_verified = False``, the old company's
industry and size cleared), since nobody verified the company the lead now names.

leadlife finds the plugin through the ``leadlife`` entry-point group
(``company-registry = "leadlife_company_registry"``); nothing is read until the first
lookup.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import leadlife

__all__ = ["Company", "leadlife_enrich_event", "lookup", "normalise"]
__version__ = "0.1.0"

# Legal forms only: words such as "group" or "holdings" are part of a company's name.
_LEGAL_SUFFIXES = frozenset({"co", "ltd", "limited", "inc", "corp", "corporation", "llc"})
_NOT_WORD = re.compile(r"[^\w]+")
# What a verification said about the verified company; withdrawn with it. The
# registry knows no company's size, so a switch to another registered company
# clears the size fields too.
_SIZE_FIELDS = ("registered_capital", "employees", "sme")
_VERIFIED_FIELDS = ("industry", *_SIZE_FIELDS)


class Company:
    """One registry entry."""

    __slots__ = ("industry", "name")

    def __init__(self, name: str, industry: str):
        self.name = name
        self.industry = industry

    def __repr__(self) -> str:
        return f"Company({self.name!r}, {self.industry!r})"


def normalise(name: str) -> str:
    """A comparable form of a company name: case, punctuation and legal suffixes ignored.

    Only legal forms at the end of the name are dropped (``Acme Media Co., Ltd.`` is
    ``acme media``); the words of the name itself stay (``Beta Group`` is
    ``beta group``, never a bare ``beta`` that other names would share).
    """
    words = _NOT_WORD.sub(" ", name.casefold()).split()
    while words and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


@cache
def _registry() -> dict[str, Company]:
    text = resources.files(__name__).joinpath("companies.csv").read_text(encoding="utf-8")
    table: dict[str, Company] = {}
    for row in csv.DictReader(io.StringIO(text)):
        company = Company(row["name"], row["industry"])
        for alias in [row["name"], *row["aliases"].split(";")]:
            if alias.strip():
                table[normalise(alias)] = company
    return table


def lookup(name: str) -> Company | None:
    """The registered company a name refers to, or None when the registry has no match."""
    key = normalise(name)
    return _registry().get(key) if key else None


@leadlife.hookimpl
def leadlife_enrich_event(event: leadlife.Event, lead: leadlife.Lead) -> Mapping[str, Any] | None:
    """Verify ``data.company`` against the registry.

    A registered company sets its name, industry and ``company_verified = True``, and,
    on a lead verified for another company, None for that company's size fields. An
    unknown one adds nothing, unless the lead is verified for another company: then
    the verification is withdrawn (``company_verified = False``, and the fields that
    described that company, which the event does not carry itself, set to None).
    An event that is a verification itself (a ``company_verified`` event, or data
    carrying the flag) is left to say what it says.
    On a late event the engine applies either result only where the profile holds
    none of its fields, so a late form never undoes a newer one.
    """
    name = event.data.get("company")
    if not isinstance(name, str):
        return None
    profile = lead.profile
    company = lookup(name)
    if company is not None:
        found: dict[str, Any] = {
            "company": company.name,
            "industry": company.industry,
            "company_verified": True,
        }
        if _verified_for_another(profile, company.name):
            # The size the lead holds is the other company's; the registry does not
            # know this one's, so it is cleared rather than carried over to it.
            found.update(_cleared(profile, event, _SIZE_FIELDS))
        return found
    if event.type == "company_verified" or "company_verified" in event.data:
        return None  # the event is a verification itself (of another registry)
    if not _verified_for_another(profile, name):
        return None  # nothing verified, or the verified company under another spelling
    return {"company_verified": False, **_cleared(profile, event, _VERIFIED_FIELDS)}


def _verified_for_another(profile: Mapping[str, Any], name: str) -> bool:
    """Whether the lead is verified for a company other than the one ``name`` means."""
    verified = profile.get("company")
    if profile.get("company_verified") is not True:
        return False
    if not isinstance(verified, str):
        return True
    if normalise(verified) == normalise(name):
        return False  # the same company under another spelling
    meant = lookup(name)
    return meant is None or lookup(verified) is not meant  # or an alias of it


def _cleared(
    profile: Mapping[str, Any], event: leadlife.Event, fields: tuple[str, ...]
) -> dict[str, None]:
    """None for each of ``fields`` the profile holds, except those the event states itself."""
    return {
        field: None
        for field in fields
        if profile.get(field) is not None and field not in event.data
    }
