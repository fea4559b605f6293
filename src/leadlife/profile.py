"""Normalising contact fields as they enter a lead's profile.

Validity is computed once, when a value arrives, and kept beside it
(``phone_valid``, ``email_valid``) so rules read a boolean instead of re-parsing
a phone number on every evaluation.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from numbers import Integral
from typing import Any

__all__ = [
    "CONTACT_FIELDS",
    "check_email",
    "check_phone",
    "phone_region_code",
    "read_phone",
    "set_profile_field",
]

# The top-level domain: letters, or an internationalised one in punycode (xn--).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.(?:[a-z]{2,}|xn--[a-z0-9-]{2,})$")
CONTACT_FIELDS = frozenset({"phone", "email"})


_E164 = re.compile(r"\+([1-9][0-9]{6,14})")


def phone_region_code(region: str) -> str:
    """``region`` as the phone metadata's code (``"cn"`` → ``"CN"``); ValueError if it
    names no region the metadata knows, which would make every national number invalid."""
    import phonenumbers  # heavy metadata; only for callers that name a region

    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"unknown region {region!r}; use an ISO 3166 alpha-2 code such as 'CN' or 'US'"
        )
    return code


@lru_cache(maxsize=4096)
def check_phone(raw: str, region: str | None) -> tuple[str, bool]:
    """``(normalised, valid)``: E.164 when the number is valid, the input otherwise.

    Validity (number ranges and lengths per region) comes from the ``phonenumbers``
    metadata. Numbers already written in E.164 skip its general-purpose parser, which
    costs several times more than the validity check itself.
    """
    import phonenumbers  # heavy metadata; loaded only when a phone number arrives

    match = _E164.fullmatch(raw)
    number = None if match is None else _from_e164(match.group(1))
    if number is None or not phonenumbers.is_valid_number(number):
        # The parser also applies a region's own rewriting of national numbers (a
        # Norfolk Island 5-digit number gains its 3): an invalid reading is asked again.
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return raw, False
        if not phonenumbers.is_valid_number(number):
            return raw, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True


def read_phone(value: Any, region: str | None) -> tuple[Any, bool]:
    """``(stored, valid)`` of a phone value as an event or a frame brings it.

    Text is checked by :func:`check_phone`. A whole number (a number column of a CRM
    export or a spreadsheet, a float where the column has blanks, a Decimal from a
    database's NUMERIC column) is read as its
    digits, as the same number written as text would be; when it is not a valid
    number it is kept as it came. Anything else is kept, and not valid.
    """
    if isinstance(value, str):
        return check_phone(value.strip(), region)
    whole = (
        (isinstance(value, Integral) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
        # A database's NUMERIC column reads as Decimal; NaN and infinity are no digits.
        or (isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value())
    )
    if not whole or value <= 0:
        return value, False
    phone, valid = check_phone(str(int(value)), region)
    return (phone, True) if valid else (value, False)


def _from_e164(digits: str) -> Any:
    """A ``PhoneNumber`` from E.164 digits, or None to leave it to the full parser."""
    import phonenumbers

    # Country calling codes are prefix-free, so the first known prefix is the code.
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national[0] == "0":
                return None  # leading zeros (Italy and others) need the parser's care
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


def check_email(raw: str) -> tuple[str, bool]:
    """``(normalised, valid)``: trimmed and lower-cased, checked for a plausible shape.

    An internationalised domain (``li@例子.中国``) is written in punycode
    (``li@xn--fsqu00a.xn--fiqs8s``), the form routing lists account domains in.
    """
    value = raw.strip().lower()
    local, at, domain = value.rpartition("@")
    if at and not domain.isascii():
        try:
            value = f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError:
            return value, False
    return value, bool(_EMAIL.match(value))


def set_profile_field(
    profile: dict[str, Any], name: str, value: Any, phone_region: str | None
) -> None:
    """Store ``value`` under ``name``; contact fields also get their ``*_valid`` flag."""
    if name == "phone":
        profile["phone"], profile["phone_valid"] = read_phone(value, phone_region)
    elif name == "email":
        profile["email"], profile["email_valid"] = (
            check_email(value) if isinstance(value, str) else (value, False)
        )
    else:
        profile[name] = value
