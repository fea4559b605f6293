"""Fixtures for testing the plugin the way leadlife's own tests do: a fresh manager each time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import leadlife_company_registry
import pytest

import leadlife
from leadlife.plugins import LeadlifePluginManager

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def pm() -> Iterator[LeadlifePluginManager]:
    """A manager with only leadlife's built-ins and this plugin, whatever else is installed."""
    manager = leadlife.get_plugin_manager(load_entrypoints=False)
    manager.register(leadlife_company_registry, name="company-registry")
    try:
        yield manager
    finally:
        manager.unregister(name="company-registry")


@pytest.fixture
def engine(pm: LeadlifePluginManager) -> leadlife.Engine:
    """An engine with the default rulebook and this plugin, on a fixed clock."""
    return leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
