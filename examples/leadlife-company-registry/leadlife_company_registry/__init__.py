"""leadlife-company-registry: verify a lead's company against a company registry.

When an event carries ``data.company``, the plugin looks the name up in its registry
table (``companies.csv``, shipped in the package; a real deployment would call a
registry API instead) and, when the company is found, returns the registered name,
its industry and ``company_verified = True`` as profile fields. With the default
rulebook that is what SQL needs, so a lead that left contact details, the asset it
wants and a verifiable company becomes an SQL on that one form. A name the registry
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
# What a verification said about the verified company; withdrawn with it.
_VERIFIED_FIELDS = ("industry", "registered_capital", "employees", "sme")


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

    A registered company sets its name, industry and ``company_verified = True``. An
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
    company = lookup(name)
    if company is not None:
        return {"company": company.name, "industry": company.industry, "company_verified": True}
    if event.type == "company_verified" or "company_verified" in event.data:
        return None  # the event is a verification itself (of another registry)
    profile = lead.profile
    verified = profile.get("company")
    if profile.get("company_verified") is not True or (
        isinstance(verified, str) and normalise(verified) == normalise(name)
    ):
        return None  # nothing verified, or the verified company under another spelling
    withdrawn: dict[str, Any] = {"company_verified": False}
    for field in _VERIFIED_FIELDS:
        if profile.get(field) is not None and field not in event.data:
            withdrawn[field] = None
    return withdrawn
