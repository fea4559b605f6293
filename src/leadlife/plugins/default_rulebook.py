"""Built-in plugin: the default rulebook, for engines given none."""

from __future__ import annotations

from leadlife.plugins.hookspecs import hookimpl
from leadlife.rules import Rulebook


@hookimpl(trylast=True)
def leadlife_rulebook() -> Rulebook:
    """The rulebook shipped in ``leadlife/rules/default.toml``."""
    return Rulebook.default()
