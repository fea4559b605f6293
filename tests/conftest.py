"""Shared fixtures and the Hypothesis profiles (``HYPOTHESIS_PROFILE=ci|dev|long``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

import leadlife
from leadlife.plugins import LeadlifePluginManager, get_plugin_manager

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def quiet_engine_log() -> Iterator[None]:
    """The engine's log at ERROR for the test: no warning per failing plugin."""
    engine_log = logging.getLogger("leadlife.engine")
    level = engine_log.level
    engine_log.setLevel(logging.ERROR)
    yield
    engine_log.setLevel(level)


@pytest.fixture
def pm() -> LeadlifePluginManager:
    """A fresh plugin manager with no installed entry points, only the built-ins."""
    return get_plugin_manager(load_entrypoints=False)


@pytest.fixture
def engine(pm: LeadlifePluginManager) -> leadlife.Engine:
    """An engine with the default rulebook, in-memory storage and a fixed clock."""
    return leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
