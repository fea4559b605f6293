"""Notices: things the host should act on (reactivate a sleeper, remind an owner)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from leadlife.values import FrozenDict, FrozenList

__all__ = ["Notice"]


_SCALARS = frozenset({str, int, float, bool, type(None), datetime})


def _read_only(value: Any) -> Any:
    """``value`` with its mappings, lists and sets made read-only, all the way down."""
    if type(value) is dict and _SCALARS.issuperset(map(type, value.values())):
        return FrozenDict(value)  # the notices the engine makes: text, numbers, times
    if isinstance(value, Mapping):
        if type(value) is FrozenDict and all(_settled(v) for v in value.values()):
            return value
        return FrozenDict({key: _read_only(item) for key, item in value.items()})
    if isinstance(value, tuple):
        items = [_read_only(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return FrozenList(_read_only(item) for item in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def _settled(value: Any) -> bool:
    return not isinstance(value, Mapping | list | set | tuple) or (
        type(value) in (FrozenDict, FrozenList) and all(_settled(item) for item in _items(value))
    )


def _items(value: Any) -> Any:
    return value.values() if isinstance(value, Mapping) else value


@attrs.frozen(slots=True)
class Notice:
    """A message for the host's notification channels; the host decides how to send it.

    ``data`` is read-only (a :class:`~leadlife.values.FrozenDict`): every channel, hook
    and report is handed the same notice, so one channel's change would reach the rest.
    """

    kind: str
    lead_id: str
    at: datetime
    message: str
    # Left out of the hash, not of ==: a read-only mapping does not hash, which made
    # every notice unhashable (a host keeping the notices it sent in a set).
    data: Mapping[str, Any] = attrs.field(factory=FrozenDict, converter=_read_only, hash=False)
