"""Normalising contact fields as they enter a lead's profile.

Validity is computed once, when a value arrives, and kept beside it
(``phone_valid``, ``email_valid``) so rules read a boolean instead of re-parsing
a phone number on every evaluation.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["CONTACT_FIELDS", "check_email", "check_phone", "set_profile_field"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
CONTACT_FIELDS = frozenset({"phone", "email"})


@lru_cache(maxsize=4096)
def check_phone(raw: str, region: str | None) -> tuple[str, bool]:
    """``(normalised, valid)``: E.164 when the number parses, the input otherwise.

    Uses the ``phonenumbers`` metadata for number ranges and lengths per region.
    """
    import phonenumbers  # heavy metadata; loaded only when a phone number arrives

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return raw, False
    if not phonenumbers.is_valid_number(number):
        return raw, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True


def check_email(raw: str) -> tuple[str, bool]:
    """``(normalised, valid)``: trimmed and lower-cased, checked for a plausible shape."""
    value = raw.strip().lower()
    return value, bool(_EMAIL.match(value))


def set_profile_field(
    profile: dict[str, Any], name: str, value: Any, phone_region: str | None
) -> None:
    """Store ``value`` under ``name``; contact fields also get their ``*_valid`` flag."""
    if name == "phone":
        profile["phone"], profile["phone_valid"] = (
            check_phone(value.strip(), phone_region) if isinstance(value, str) else (value, False)
        )
    elif name == "email":
        profile["email"], profile["email_valid"] = (
            check_email(value) if isinstance(value, str) else (value, False)
        )
    else:
        profile[name] = value
