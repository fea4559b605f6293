"""Reading rulebooks, with errors that name the file or the key and say what to fix."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Iterable
from decimal import Decimal
from numbers import Real
from types import ModuleType
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, Strict, ValidationError
from pydantic_core import PydanticCustomError

from leadlife.errors import RulebookError

__all__ = [
    "Count",
    "EventType",
    "Flag",
    "Number",
    "model_keys",
    "parse_toml",
    "read_toml",
    "readable_path",
    "rule_error",
    "rulebook_error",
]

_RULE_ERROR = "rulebook_rule"


def rule_error(problem: str, fix: str, path: str = "") -> PydanticCustomError:
    """An error for a validator to raise that carries its own fix.

    ``path`` is the dotted place of the mistake inside the model being validated
    (``"engagement.0.when.event"``), for checks on a whole table that know which of
    its rules is wrong; :func:`rulebook_error` puts it after the table's own place,
    so the path stays the one the author wrote, however deep the table sits.
    """
    # The problem rides in the context, not the message template: pydantic would
    # substitute any "{...}" in it (a regular expression, say) with context values.
    return PydanticCustomError(
        _RULE_ERROR, "{problem}", {"problem": problem, "fix": fix, "path": path}
    )


def _number(value: Any) -> Any:
    # Numbers are numbers: lax validation would read true as 1 and "2" as 2. Any real
    # number is one (numpy's and Decimal too, as a frame or a database gives them).
    kind = type(value)
    if kind is bool or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")):
        raise rule_error(
            f"expected a number, got the boolean {value!r}",
            "write a number, e.g. 2; true and false are not numbers",
        )
    if isinstance(value, Real | Decimal):
        return float(value)
    return value  # left to the float check: text and other kinds are refused there


def _count(value: Any) -> Any:
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise rule_error(
                f"expected a whole number, got {value!r}",
                "write a whole number, e.g. 7",
            )
        return int(number)
    return number


def _event_type(name: str) -> str:
    # Events' types are read without surrounding spaces (leadlife.events.Event), so a
    # type written with them would load and then match no event.
    if name != name.strip():
        if not name.strip():
            raise rule_error(
                f"event type {name!r} is blank", "write the event type, e.g. 'download'"
            )
        raise rule_error(
            f"event type {name!r} has surrounding spaces, so no event would match it",
            f"write {name.strip()!r}",
        )
    return name


# Hand-written configuration scalars (rulebooks, scoring rules, routing): lax validation
# would read true as 1, "2" as 2 and "no" as false.
Number = Annotated[float, BeforeValidator(_number), Strict()]
Count = Annotated[int, BeforeValidator(_count), Strict()]
Flag = Annotated[bool, Strict()]  # "yes", "off", 1 and 0 are a misspelt value, not a switch
EventType = Annotated[str, Field(min_length=1), AfterValidator(_event_type)]


def parse_toml(
    text: str, source: str, error: type[RulebookError] = RulebookError
) -> dict[str, Any]:
    """The table ``text`` holds, or a :class:`RulebookError` (``error``) at the bad line."""
    if not isinstance(text, str):
        # Bytes read from a database or a socket, or None: tomllib reads only text,
        # and would fail with a bare TypeError or AttributeError naming no fix.
        raise error(
            "",
            f"expected TOML text, got {type(text).__name__}",
            "pass a str (bytes: text.decode('utf-8')), or load(path) for a file",
            source=source,
        )
    # A byte-order mark (Windows editors' "UTF-8 with BOM") marks the encoding and is
    # not TOML: tomllib would refuse it as an invalid statement at line 1, column 1,
    # where the author sees nothing wrong.
    if text.startswith("\ufeff"):
        text = text[1:]
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
        if isinstance(path, str) and ("\n" in path or ("=" in path and os.sep not in path)):
            # TOML text where a path goes (Engine(rulebook=...) takes a path as a str).
            raise error(
                "",
                f"cannot read a file of that name ({exc.strerror}): the text looks like "
                "TOML, not a path",
                "pass the text through from_toml(text) (leadlife.Rulebook.from_toml for a "
                "rulebook), or give the path of the file",
                source="<TOML text given as a path>",
            ) from None
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
        expect_tag = (
            (part == "when" and not _in_fit_rule(parts))
            or part == "not"
            or (isinstance(part, int) and previous in ("all", "any"))
        )
        parts.append(str(part))
        previous = part
    return ".".join(parts), parts


def _in_fit_rule(parts: list[str]) -> bool:
    # A fit rule's ``when`` is a field test, not a choice of condition kinds, so
    # pydantic echoes no kind after it: what follows is a key the author wrote.
    return len(parts) >= 2 and parts[-2] == "fit" and parts[-1].isdigit()


# Keys of event and inactivity conditions, which a fit rule's field test cannot take.
_BEHAVIOUR_KEYS = {"event", "data", "min_count", "within_days", "since", "inactive_days"}
_COMBINERS = {"all", "any", "not"}


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
    # pydantic prefixes a validator's own message with the kind of exception it raised.
    problem = first["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == _RULE_ERROR:
        context = first.get("ctx") or {}
        problem, fix = str(context["problem"]), str(context["fix"])
        path = ".".join(p for p in (path, str(context["path"])) if p)
    elif kind == "extra_forbidden":
        key = parts[-1] if parts else "?"
        problem = f"unknown key {key!r}"
        keys = (known_keys or _known_keys)()
        fix = _unknown_key_fix(key, parts[:-1], keys, docs, _scoring_table(first["loc"][:-1]))
    elif kind == "missing":
        fix = "add the key"
    elif kind in ("condition_kind", "when_kind"):
        fix = "write the condition as a table with one of the keys the message lists"
    elif kind in ("float_type", "int_type"):
        whole = "a whole number" if kind == "int_type" else "a number"
        problem = f"{problem.removesuffix('.')} (got {first.get('input')!r})"
        fix = f"write {whole} without quotes, e.g. 2; true and false are not numbers"
    elif kind == "bool_type":
        problem = f"{problem.removesuffix('.')} (got {first.get('input')!r})"
        fix = "write true or false, without quotes"
    else:
        fix = f"change the value as the message says ({docs})"
    return error(path, problem, fix, source=source)


def _scoring_table(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model of the scoring rules' table at pydantic location ``loc`` (a rule of
    [[fit]], [[engagement]] or [[weighted]], or a rule's ``when``), or None."""
    from leadlife.scoring.model import (
        EngagementRule,
        EventWhen,
        FieldWhen,
        FitRule,
        InactiveWhen,
        WeightedRule,
    )

    rules: dict[int | str, type[BaseModel]] = {
        "fit": FitRule,
        "engagement": EngagementRule,
        "weighted": WeightedRule,
    }
    whens: dict[int | str, type[BaseModel]] = {
        "field": FieldWhen,
        "event": EventWhen,
        "inactive": InactiveWhen,
    }
    loc = tuple(part for part in loc if part != "[key]")
    if len(loc) >= 2 and isinstance(loc[-1], int) and loc[-2] in rules:
        return rules[loc[-2]]
    if len(loc) >= 3 and loc[-1] == "when" and isinstance(loc[-2], int) and loc[-3] == "fit":
        return FieldWhen
    # An engagement rule's when: pydantic names the condition kind it took it for.
    if (
        len(loc) >= 4
        and loc[-2] == "when"
        and isinstance(loc[-3], int)
        and loc[-4] == "engagement"
        and loc[-1] in whens
    ):
        return whens[loc[-1]]
    return None


def _unknown_key_fix(
    key: str,
    parent: list[str],
    keys: set[str],
    docs: str,
    table: type[BaseModel] | None = None,
) -> str:
    """What to do about ``key``, refused in the table at ``parent`` (of model ``table``,
    where that is known)."""
    field_test = "one field test (field with exists, equals, in, min, max or matches)"
    # The keys to suggest from: those the table at ``parent`` takes, where that is
    # known; a suggestion the same table then refuses would send the author in a circle.
    candidates = keys if table is None else _top_keys(table)
    if parent[-1:] == ["when"] and _in_fit_rule(parent[:-1]):
        from leadlife.scoring.model import FieldWhen

        candidates = _top_keys(FieldWhen)
        if key in _BEHAVIOUR_KEYS:
            return (
                f"a fit rule's when is {field_test}; event and inactivity conditions "
                "go in [[engagement]]"
            )
        if key in _COMBINERS:
            return f"a fit rule's when is {field_test}; give each test its own [[fit]] rule"
    # Below qualification.<stage>.when every table is a condition.
    in_condition = parent[:1] == ["qualification"] and len(parent) >= 3
    if in_condition and key in {"field", "event", *_COMBINERS}:
        return (
            "a condition table holds one kind of condition (field, event, all, any or not); "
            "remove the key, or combine the conditions under all = [...] or any = [...]"
        )
    if parent[-1:] == ["when"] and key in {"field", "event", "inactive_days"}:
        return (
            "a when table holds one kind of condition (field, event or inactive_days); "
            "remove the key, or give the other condition a rule of its own"
        )
    if not parent:
        # At the top: the likely slip is a missing [scoring] header, or a scoring
        # rulebook given where a lifecycle one goes (or the other way round).
        from leadlife.rules.model import RulebookModel
        from leadlife.scoring.model import ScoringRulesModel

        if key in _top_keys(ScoringRulesModel) and key not in _top_keys(RulebookModel):
            if "rulebook.md" in docs:
                return (
                    f"{key!r} is a key of the rule scorer's table: put it under [scoring] "
                    "(docs/scoring.md lists the keys)"
                )
        elif key in _top_keys(RulebookModel) and "scoring.md" in docs:
            return (
                f"{key!r} is a key of a lifecycle rulebook, not of scoring rules: give the "
                "lifecycle rulebook (its [scoring] table holds the scoring rules), or remove it"
            )
    if key in keys:
        # A key of another table: suggesting its own spelling back would say nothing.
        return f"remove the key; {key!r} belongs in another table ({docs} lists the keys)"
    close = difflib.get_close_matches(key, sorted(candidates), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}remove the key or correct its spelling ({docs} lists the keys)"


def _top_keys(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


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
