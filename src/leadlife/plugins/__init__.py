"""Plugins: hook specifications, the plugin manager, and the built-in plugins."""

from leadlife.plugins.hookspecs import hookimpl, hookspec
from leadlife.plugins.manager import (
    ENTRY_POINT_GROUP,
    LeadlifePluginManager,
    call_each,
    get_plugin_manager,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "LeadlifePluginManager",
    "call_each",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]
