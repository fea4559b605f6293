"""Contact fields: phone and e-mail normalisation and validity."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadlife
from leadlife import Stage
from leadlife.profile import check_email, check_phone, read_phone
from leadlife.routing.frames import normalize_contacts
from tests.conftest import T0
from tests.helpers import ev


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


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        (13800138000, "CN", ("+8613800138000", True)),
        (8613800138000, "CN", ("+8613800138000", True)),  # the country code leads
        (13800138000.0, "CN", ("+8613800138000", True)),  # a number column with blanks
        (np.int64(13800138000), "CN", ("+8613800138000", True)),
        # a database's NUMERIC column; the exponent form is the same whole number
        (Decimal("13800138000"), "CN", ("+8613800138000", True)),
        (Decimal("13800138000.00"), "CN", ("+8613800138000", True)),
        (Decimal("1.3800138E+10"), "CN", ("+8613800138000", True)),
        (Decimal("13800138000.5"), "CN", (Decimal("13800138000.5"), False)),
        (Decimal("Infinity"), "CN", (Decimal("Infinity"), False)),
        (13800138000, None, (13800138000, False)),  # as the text without a region
        (12345, "CN", (12345, False)),
        (-13800138000, "CN", (-13800138000, False)),
        (1.38e10 + 0.5, "CN", (1.38e10 + 0.5, False)),
        (True, "CN", (True, False)),
        (float("nan"), "CN", None),
        (Decimal("NaN"), "CN", None),
        (Decimal("sNaN"), "CN", None),  # compares by raising: never compared
    ],
)
def test_a_phone_sent_as_a_number_reads_as_its_digits(
    value: object, region: str | None, expected: tuple[object, bool] | None
) -> None:
    """Regression: a phone sent as a JSON number (a CRM export's number column) was
    kept but never checked, so a valid number left ``phone_valid`` False and the lead
    out of MQL."""
    stored, valid = read_phone(value, region)
    if expected is None:  # NaN: not a number to read, and not equal to itself
        assert stored is value
        assert not valid
        return
    assert (stored, valid) == expected
    assert type(stored) is type(expected[0])


def test_an_event_with_a_numeric_phone_qualifies_as_its_text_does() -> None:
    engine = leadlife.Engine(
        rulebook={"extends": "default", "phone_region": "CN"},
        clock=leadlife.FixedClock(T0),
    )
    as_number = engine.ingest(ev("form_submit", lead="n", phone=13800138000, asset_id="p1"))
    as_text = engine.ingest(ev("form_submit", lead="t", phone="13800138000", asset_id="p1"))
    as_decimal = engine.ingest(
        ev("form_submit", lead="d", phone=Decimal("13800138000"), asset_id="p1")
    )
    assert as_number.profile["phone"] == as_text.profile["phone"] == "+8613800138000"
    assert as_decimal.profile["phone"] == "+8613800138000"
    assert as_number.profile["phone_valid"]
    assert as_decimal.profile["phone_valid"]
    assert as_number.stage is as_text.stage is as_decimal.stage is Stage.MQL


def test_normalize_contacts_reads_a_number_column_as_events_do() -> None:
    frame = pd.DataFrame({"phone": [13800138000.0, None, 12345.0]})
    out = normalize_contacts(frame, phone_region="CN")
    assert out["phone"].tolist()[0] == "+8613800138000"
    assert out["phone_valid"].tolist() == [True, None, False]
    numeric = pd.DataFrame({"phone": [Decimal("13800138000"), None, Decimal("12345")]})
    out = normalize_contacts(numeric, phone_region="CN")
    assert out["phone"].tolist()[0] == "+8613800138000"
    assert out["phone_valid"].tolist() == [True, None, False]
