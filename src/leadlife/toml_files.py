"""Reading rulebooks, with errors that name the file or the key and say what to fix."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

from leadlife.errors import RulebookError

__all__ = ["model_keys", "parse_toml", "read_toml", "readable_path", "rulebook_error"]


def parse_toml(
    text: str, source: str, error: type[RulebookError] = RulebookError
) -> dict[str, Any]:
    """The table ``text`` holds, or a :class:`RulebookError` (``error``) at the bad line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(
            "", f"not valid TOML ({exc})", "fix the TOML syntax at that line", source=source
        ) from None


def read_toml(
    path: str | os.PathLike[str], error: type[RulebookError] = RulebookError
) -> tuple[str, str]:
    """``(text, source)`` of a UTF-8 file, or a :class:`RulebookError` (``error``) saying why."""
    source = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), source
    except OSError as exc:
        raise error(
            "", f"cannot read the file ({exc.strerror})", "check the path", source=source
        ) from None
    except UnicodeDecodeError:
        raise error("", "the file is not UTF-8 text", "save it as UTF-8", source=source) from None


_TAGS = {"field", "event", "all", "any", "not", "inactive"}


def readable_path(loc: Iterable[int | str]) -> tuple[str, list[str]]:
    """A pydantic error location as a dotted rulebook path.

    Drops pydantic's echo of which condition kind it tried (it follows ``when``,
    ``not`` and the items of ``all`` / ``any``) and of dictionary keys.
    """
    parts: list[str] = []
    expect_tag = False
    previous: int | str | None = None
    for part in loc:
        if part == "[key]":
            continue
        if expect_tag and part in _TAGS:
            expect_tag = False
            continue
        parts.append(str(part))
        expect_tag = part in ("when", "not") or (
            isinstance(part, int) and previous in ("all", "any")
        )
        previous = part
    return ".".join(parts), parts


def rulebook_error(
    exc: ValidationError,
    source: str,
    *,
    docs: str,
    error: type[RulebookError] = RulebookError,
    known_keys: Callable[[], set[str]] | None = None,
) -> RulebookError:
    """A :class:`RulebookError` (or ``error``) for the first problem pydantic found.

    ``docs`` names the page listing the keys, for the fix; ``known_keys`` lists the
    keys to suggest for a misspelt one (the rulebook's by default).
    """
    errors = exc.errors()
    first = errors[0]
    if first["type"] == "missing":
        # A misspelt required key is both missing and unknown: name the misspelling.
        parent = first["loc"][:-1]
        first = next(
            (e for e in errors if e["type"] == "extra_forbidden" and e["loc"][:-1] == parent),
            first,
        )
    path, parts = readable_path(first["loc"])
    kind = first["type"]
    problem = first["msg"]
    if kind == "extra_forbidden":
        key = parts[-1] if parts else "?"
        problem = f"unknown key {key!r}"
        keys = (known_keys or _known_keys)()
        close = difflib.get_close_matches(key, sorted(keys), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        fix = f"{hint}remove the key or correct its spelling ({docs} lists the keys)"
    elif kind == "missing":
        fix = "add the key"
    elif kind in ("condition_kind", "when_kind"):
        fix = "write the condition as a table with one of the keys the message lists"
    else:
        fix = f"change the value as the message says ({docs})"
    inner, _, rest = problem.removeprefix("Value error, ").partition(": ")
    if kind == "value_error" and rest and inner.count(".") >= 2:
        path, problem = inner, rest  # a whole-rulebook check that names its own rule path
    return error(path, problem, fix, source=source)


def model_keys(*modules: ModuleType) -> set[str]:
    """Every key (alias or field name) of the pydantic models defined in ``modules``."""
    keys: set[str] = set()
    for module in modules:
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, BaseModel) and cls is not BaseModel:
                keys.update(info.alias or name for name, info in cls.model_fields.items())
    return keys


def _known_keys() -> set[str]:
    from leadlife.rules import model as rule_models
    from leadlife.scoring import model as scoring_models

    return model_keys(rule_models, scoring_models)
