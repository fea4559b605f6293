"""Reading TOML rulebooks, with errors that name the file and say what to fix."""

from __future__ import annotations

import os
import tomllib
from typing import Any

from leadlife.errors import RulebookError

__all__ = ["parse_toml", "read_toml"]


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The table ``text`` holds, or a :class:`RulebookError` pointing at the bad line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError(
            "", f"not valid TOML ({exc})", "fix the TOML syntax at that line", source=source
        ) from None


def read_toml(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(text, source)`` of a UTF-8 file, or a :class:`RulebookError` saying why not."""
    source = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), source
    except OSError as exc:
        raise RulebookError(
            "", f"cannot read the file ({exc.strerror})", "check the path", source=source
        ) from None
    except UnicodeDecodeError:
        raise RulebookError(
            "", "the file is not UTF-8 text", "save the rulebook as UTF-8", source=source
        ) from None
