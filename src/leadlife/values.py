"""The values event data and enrichment results may hold.

Rules compare, hash, print and store these values; a value of another kind (a numpy
array, pandas' missing markers, an object whose ``==`` raises) would fail deep inside
a rule or a scorer, or make a lead that breaks every later use. They are settled at
the edge instead, where the field can be named.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = ["FIX", "UnsupportedValue", "plain_value", "plain_values"]

_SCALARS = frozenset({str, float, bool, type(None), Decimal, datetime, date, time, UUID})
# str() of a longer int raises (CPython's digit limit); rules print values.
_MAX_INT = 10**4000
_MISSING_MARKERS = frozenset({"NAType", "NaTType"})


class UnsupportedValue(ValueError):
    """A value of a kind data may not hold; ``path`` is where, below the mapping."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def plain_values(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every value checked by :func:`plain_value` (in place; returned).

    Raises :class:`UnsupportedValue` naming the key.
    """
    for key, value in data.items():
        kind = type(value)
        # The common case, one set lookup per value: text, floats, booleans, None.
        if kind in _SCALARS or (kind is int and -_MAX_INT < value < _MAX_INT):
            continue
        data[key] = plain_value(value, key)
    return data


_MAX_DEPTH = 64


def plain_value(value: Any, path: str, depth: int = 0) -> Any:
    """``value`` as data may hold it: text, numbers, booleans, None, dates and times,
    UUIDs, and lists and mappings of them. numpy scalars and arrays become Python
    values and lists, pandas' NA and NaT become None; anything else is refused."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        if not -_MAX_INT < value < _MAX_INT:
            raise UnsupportedValue(path, "an integer of over 4,000 digits, too long to print")
        return value
    if kind.__name__ in _MISSING_MARKERS and kind.__module__.startswith("pandas"):
        return None
    if depth > _MAX_DEPTH:
        raise UnsupportedValue(path, f"nested deeper than {_MAX_DEPTH} levels")
    if kind.__module__ == "numpy" and hasattr(value, "tolist"):
        # Scalars give a Python value (np.str_ and np.float64 too), arrays a list.
        return plain_value(value.tolist(), path, depth)
    if isinstance(value, str | float | Decimal | date | time | UUID):
        return value  # subclasses (pandas' Timestamp is a datetime)
    if isinstance(value, list | tuple):
        items = [
            plain_value(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)
        ]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnsupportedValue(
                    path, f"a mapping with a {type(key).__name__} key; keys must be text"
                )
            plain[key] = plain_value(item, f"{path}.{key}", depth + 1)
        return plain
    raise UnsupportedValue(path, f"a value of type {kind.__name__}")


FIX = "send text, a number, a boolean, null, a date or time, or a list or mapping of them"
