"""Contact fields: phone and e-mail normalisation and validity."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadlife.profile import check_email, check_phone


def _full_parse(raw: str) -> tuple[str, bool]:
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return raw, False
    if not phonenumbers.is_valid_number(number):
        return raw, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True


@given(
    st.one_of(
        st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
        st.sampled_from(["+86", "+861", "+44"]).flatmap(
            lambda cc: st.from_regex(r"[0-9]{8,11}", fullmatch=True).map(lambda d: cc + d)
        ),
    )
)
def test_e164_fast_path_agrees_with_the_parser(raw: str) -> None:
    """For any E.164-shaped input the fast path gives the full parser's answer."""
    check_phone.cache_clear()
    assert check_phone(raw, None) == _full_parse(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+8613800138000", None, ("+8613800138000", True)),
        ("+86 138 0013 8000", None, ("+8613800138000", True)),
        ("13800138000", "CN", ("+8613800138000", True)),
        ("13800138000", None, ("13800138000", False)),
        ("+390612345678", None, ("+390612345678", True)),
        # Regression: the E.164 fast path skipped Norfolk Island's rewriting of
        # 5-digit numbers (the parser reads them as 3 + the number).
        ("+67210000", None, ("+672310000", True)),
        ("12345", None, ("12345", False)),
        ("not a phone", None, ("not a phone", False)),
    ],
)
def test_phone_examples(raw: str, region: str | None, expected: tuple[str, bool]) -> None:
    """National formats need a region; Italian leading zeros survive."""
    assert check_phone(raw, region) == expected


def test_email() -> None:
    """E-mails are trimmed and lower-cased; a missing domain is invalid."""
    assert check_email(" Ann@Example.COM ") == ("ann@example.com", True)
    assert check_email("ann@localhost") == ("ann@localhost", False)


def test_internationalised_e_mail_domains_are_valid_in_punycode() -> None:
    """Regression: a .中国 address was invalid in Unicode and in punycode alike, so
    such a lead never had a valid contact and never matched an account's domain."""
    assert check_email("Li@例子.中国") == ("li@xn--fsqu00a.xn--fiqs8s", True)
    assert check_email("li@xn--fsqu00a.xn--fiqs8s") == ("li@xn--fsqu00a.xn--fiqs8s", True)
    assert check_email("li@\uff25xample.com") == ("li@example.com", True)  # full width, folded
    assert check_email("li@例子.") == ("li@xn--fsqu00a.", False)
