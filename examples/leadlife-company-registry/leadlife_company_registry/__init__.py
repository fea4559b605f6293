"""leadlife-company-registry: verify a lead's company against a company registry.

When an event carries ``data.company``, the plugin looks the name up in its registry
table (``companies.csv``, shipped in the package; a real deployment would call a
registry API instead) and, when the company is found, returns the registered name,
its industry and ``company_verified = True`` as profile fields. With the default
rulebook that is what SQL needs, so a lead that left contact details, the asset it
wants and a verifiable company becomes an SQL on that one form.

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

_SUFFIXES = re.compile(r"\b(co|ltd|limited|inc|group|corp|corporation|llc)\b")
_NOT_WORD = re.compile(r"[^\w]+")


class Company:
    """One registry entry."""

    __slots__ = ("industry", "name")

    def __init__(self, name: str, industry: str):
        self.name = name
        self.industry = industry

    def __repr__(self) -> str:
        return f"Company({self.name!r}, {self.industry!r})"


def normalise(name: str) -> str:
    """A comparable form of a company name: case, punctuation and legal suffixes ignored."""
    words = _NOT_WORD.sub(" ", name.casefold())
    return " ".join(_SUFFIXES.sub(" ", words).split())


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
def leadlife_enrich_event(event: leadlife.Event) -> Mapping[str, Any] | None:
    """Verify ``data.company`` against the registry; add nothing when it is unknown."""
    name = event.data.get("company")
    if not isinstance(name, str):
        return None
    company = lookup(name)
    if company is None:
        return None
    return {"company": company.name, "industry": company.industry, "company_verified": True}
