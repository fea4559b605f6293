"""The values event data and enrichment results may hold.

Rules compare, hash, print and store these values; a value of another kind (a numpy
array, pandas' missing markers, an object whose ``==`` raises) would fail deep inside
a rule or a scorer, or make a lead that breaks every later use. They are settled at
the edge instead, where the field can be named.

Settled values are read-only all the way down: mappings become :class:`FrozenDict`
and lists :class:`FrozenList` (which compare equal to, and are, a ``dict`` and a
``list``), sets ``frozenset``. An :class:`~leadlife.Event` is frozen, and plugins are
handed the event the engine stores: a plugin that changed its data, then failed,
would leave the log holding data nobody sent.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import Any, NoReturn
from uuid import UUID

__all__ = ["FIX", "FrozenDict", "FrozenList", "UnsupportedValue", "plain_value", "plain_values"]

# Kept as they are, subclasses too (pandas' Timestamp is a datetime, its Timedelta a
# timedelta); the exact types, with bool and None, pass on one set lookup.
_SCALAR_KINDS = (str, float, Decimal, date, time, timedelta, UUID, bytes, IPv4Address, IPv6Address)
_SCALARS = frozenset({*_SCALAR_KINDS, datetime, bool, type(None)})
# str() of a longer int raises (CPython's digit limit); rules print values.
_MAX_INT = 10**4000
_MIN_INT = -_MAX_INT
_MAX_DEPTH = 64
_MISSING_MARKERS = frozenset({"NAType", "NaTType"})

FIX = "send text, a number, a boolean, null, a date or time, or a list or mapping of them"


_READ_ONLY = (
    "event data and the profile values taken from it are read-only; build a changed "
    "copy instead (dict(value), list(value)), and have a plugin return the fields it adds"
)


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses changes; ``copy()`` gives a plain, changeable one."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(_READ_ONLY)

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return (type(self), (dict(self),))


class FrozenList(list[Any]):
    """A ``list`` that refuses changes; ``list(value)`` gives a changeable copy."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(_READ_ONLY)

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (type(self), (list(self),))


class UnsupportedValue(ValueError):
    """A value of a kind data may not hold; ``path`` is where, below the mapping."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class _Refused(Exception):
    """Raised deep down; each level on the way up adds its key to ``parts``."""

    def __init__(self, problem: str):
        self.problem = problem
        self.parts: list[str] = []


def plain_values(data: dict[str, Any]) -> FrozenDict:
    """``data`` with every value checked by :func:`plain_value`, read-only.

    ``data`` itself is changed in place when a value needs settling. Raises
    :class:`UnsupportedValue` naming the key.
    """
    for key, value in data.items():
        kind = type(value)
        # The common case, one set lookup per value: text, floats, booleans, None
        # (inline: this runs per event).
        if kind in _SCALARS or (kind is int and _MIN_INT < value < _MAX_INT):
            continue
        plain = plain_value(value, key)
        if plain is not value:
            data[key] = plain
    return FrozenDict(data)


def plain_value(value: Any, path: str) -> Any:
    """``value`` as data may hold it: text, numbers, booleans, None, dates, times and
    durations, UUIDs, bytes, IP addresses, enum members, and lists, tuples, sets and
    mappings of them. numpy scalars and arrays become Python values and lists
    (datetime64 a datetime), pandas' NA and NaT become None; anything else is refused
    with :class:`UnsupportedValue`."""
    try:
        return _plain(value, 0)
    except _Refused as refused:
        where = path + "".join(reversed(refused.parts))
        raise UnsupportedValue(where, refused.problem) from None


def _plain(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is int:
        if not _MIN_INT < value < _MAX_INT:
            raise _Refused("an integer of over 4,000 digits, too long to print")
        return value
    # Only containers are levels (inline checks: this runs for every such value of data).
    if kind is tuple or kind is list or kind is FrozenList:
        if depth >= _MAX_DEPTH:
            raise _Refused(f"nested deeper than {_MAX_DEPTH} levels")
        for item in value:  # checked without building anything, inline
            kind = type(item)
            if kind not in _SCALARS and not (kind is int and _MIN_INT < item < _MAX_INT):
                return _sequence(value, depth)
        # a list is the sender's, who may change it later: a read-only copy
        return value if type(value) is not list else FrozenList(value)
    if kind is dict or kind is FrozenDict:
        if depth >= _MAX_DEPTH:
            raise _Refused(f"nested deeper than {_MAX_DEPTH} levels")
        for key, item in value.items():
            if type(key) is not str or not _simple(item):
                return _mapping(value, depth)
        return value if kind is FrozenDict else FrozenDict(value)
    return _other(value, kind, depth)


def _check_depth(depth: int) -> None:
    """Refuse a container at ``depth`` (0 for a value of data itself) beyond the limit.

    Only containers count as levels: a scalar inside the deepest allowed one, a numpy
    integer included, is a value, not one more level.
    """
    if depth >= _MAX_DEPTH:
        raise _Refused(f"nested deeper than {_MAX_DEPTH} levels")


def _simple(value: Any) -> bool:
    kind = type(value)
    return kind in _SCALARS or (kind is int and _MIN_INT < value < _MAX_INT)


def _sequence(value: list[Any] | tuple[Any, ...], depth: int) -> list[Any] | tuple[Any, ...]:
    items = []
    for index, item in enumerate(value):
        try:
            items.append(_plain(item, depth + 1))
        except _Refused as refused:
            refused.parts.append(f"[{index}]")
            raise
    return tuple(items) if isinstance(value, tuple) else FrozenList(items)


def _mapping(value: dict[Any, Any], depth: int) -> FrozenDict:
    plain: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise _Refused(f"a mapping with a {type(key).__name__} key; keys must be text")
        try:
            plain[key] = _plain(item, depth + 1)
        except _Refused as refused:
            refused.parts.append(f".{key}")
            raise
    return FrozenDict(plain)


def _other(value: Any, kind: type, depth: int) -> Any:
    module = kind.__module__
    if kind.__name__ in _MISSING_MARKERS and module.startswith("pandas"):
        return None
    if module == "numpy":
        return _numpy(value, depth)
    if isinstance(value, bool | Enum):
        return value
    if isinstance(value, int):
        return _plain(int(value), depth)
    if isinstance(value, _SCALAR_KINDS):
        return value
    if isinstance(value, list | tuple | dict | set | frozenset):
        _check_depth(depth)  # a subclass of a container: as deep as the plain ones
    if isinstance(value, list | tuple):
        return _sequence(value, depth)
    if isinstance(value, dict):
        return _mapping(value, depth)
    if isinstance(value, set | frozenset):
        items = [_plain(item, depth + 1) for item in value]
        try:
            return frozenset(items)
        except TypeError:
            raise _Refused("a set of values that cannot be hashed") from None
    raise _Refused(f"a value of type {kind.__name__}")


def _numpy(value: Any, depth: int) -> Any:
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", "")
    if kind in ("M", "m"):
        # tolist() gives datetime64[ns] as integer nanoseconds: microseconds are what
        # Python's datetime and timedelta hold (NaT becomes None).
        value = value.astype(f"{'datetime64' if kind == 'M' else 'timedelta64'}[us]")
    if not hasattr(value, "tolist"):
        raise _Refused(f"a value of type {type(value).__name__}")
    return _plain(value.tolist(), depth)
