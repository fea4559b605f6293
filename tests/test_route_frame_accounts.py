"""``ExistingAccountRouter.route_frame``: the batch path decides exactly what ``route`` does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadlife.lead import Lead
from leadlife.routing.accounts import ExistingAccountRouter
from leadlife.routing.config import ExistingAccountSpec

COLUMNS = ["team", "owner", "reason"]
KEYS = ["account_id", "email", "email_valid", "company", "ip"]

ACCOUNTS: list[dict[str, Any]] = [
    {
        "id": "acme",
        "owner": "rep01",
        "names": ["Acme Media Co., Ltd."],
        "domains": ["acme.com"],
        "networks": ["203.0.113.0/24"],
    },
    {
        "id": "acme-sh",
        "parent": "acme",
        "names": ["Acme Media Shanghai"],
        "domains": ["sh.acme.com"],
        "networks": ["203.0.113.64/28"],
    },
    {
        "id": "beta",
        "owner": "rep02",
        "names": ["Beta Ads"],
        "domains": ["beta.cn"],
        "networks": ["198.51.100.0/24"],
    },
    {"id": "1042", "owner": "rep03", "domains": ["num.com"], "networks": ["10.0.0.0/8"]},
    {"id": "gamma", "owner": "rep04", "names": ["Gamma"], "networks": ["10.1.0.0/16"]},
]


def account_router(**spec: Any) -> ExistingAccountRouter:
    return ExistingAccountRouter(ExistingAccountSpec.model_validate({"accounts": ACCOUNTS, **spec}))


ROUTERS = [account_router(team="ka"), account_router()]

NULLS: list[Any] = [None, float("nan"), pd.NA]
VOCABULARY: dict[str, list[Any]] = {
    "account_id": ["acme", " beta ", "acme-sh", "1042", 1042, 1042.0, True, "nobody", "", *NULLS],
    "email": [
        "ann@acme.com",
        "li@sh.acme.com",
        "x@mail.sh.acme.com",
        "bo@BETA.CN.",
        "ann@notacme.com",
        "ann@acme.com.cn",
        "acme@gmail.com",
        "a@num.com",
        "acme.com",
        "ann@",
        42,
        *NULLS,
    ],
    "email_valid": [True, False, 0, 1, 0.0, np.False_, "no", *NULLS],
    "company": [
        "Acme Media Co., Ltd.",
        "ACME MEDIA LTD",
        "acme media shanghai",
        "Beta Ads Co.",
        "Gamma",
        "Unknown Ltd",
        "Ltd.",
        "",
        123,
        *NULLS,
    ],
    "ip": [
        "203.0.113.9",
        "203.0.113.70",
        "::ffff:203.0.113.70",
        "198.51.100.1",
        "10.1.2.3",
        "10.2.3.4",
        "8.8.8.8",
        "203.0.113",
        3405803785,
        *NULLS,
    ],
}

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {}, optional={key: st.sampled_from(values) for key, values in VOCABULARY.items()}
    ),
    max_size=30,
)


def row_by_row(router: ExistingAccountRouter, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """What ``route`` decides for each row's lead, as ``(team, owner, reason)``."""
    columns = {key: frame[key].to_numpy(dtype=object) for key in KEYS if key in frame.columns}
    expected: list[tuple[Any, ...]] = []
    for position in range(len(frame)):
        item = Lead(f"u{position}")
        for key, values in columns.items():
            value = values[position]
            if not pd.isna(value):
                # A lead's profile holds Python values, as route_rows and the engine
                # read a row: numpy's False is False.
                item.profile[key] = value.item() if isinstance(value, np.generic) else value
        decision = router.route(item)
        if decision is None:
            expected.append((None, None, None))
        else:
            expected.append((decision.team, decision.owner, decision.reason))
    return expected


def assert_routes_like_route(router: ExistingAccountRouter, frame: pd.DataFrame) -> None:
    result = router.route_frame(frame)
    assert list(result.columns) == COLUMNS
    assert all(dtype.kind == "O" for dtype in result.dtypes)
    assert result.index.equals(frame.index)
    assert list(result.itertuples(index=False, name=None)) == row_by_row(router, frame)


@given(rows=rows_strategy, which=st.sampled_from(range(len(ROUTERS))))
def test_route_frame_equals_route_row_by_row(rows: list[dict[str, Any]], which: int) -> None:
    """For random frames of known, unknown, null and junk values each row decides as route does."""
    frame = pd.DataFrame(rows, index=range(100, 100 + 2 * len(rows), 2))
    assert_routes_like_route(ROUTERS[which], frame)


def test_conflicts_and_departments_are_in_the_reason() -> None:
    """A row with conflicting evidence gets route's reason, with the department and conflicts."""
    frame = pd.DataFrame({"email": ["li@sh.acme.com"], "company": ["Beta Ads"]})
    reason = ROUTERS[0].route_frame(frame)["reason"].iloc[0]
    assert reason == (
        "e-mail domain sh.acme.com belongs to account acme-sh, a department of acme "
        "(owner rep01); conflicts, outranked: company name Beta Ads points at account beta"
    )
    assert_routes_like_route(ROUTERS[0], frame)


@pytest.mark.parametrize("kept", [[], ["ip"], ["email", "email_valid"], ["account_id", "company"]])
def test_missing_columns_are_absent_keys(kept: list[str]) -> None:
    """A column the frame lacks is an absent profile key in every row."""
    full = pd.DataFrame(
        {
            "account_id": ["beta", None, "nobody", 1042],
            "email": ["ann@acme.com", "ann@acme.com", None, "x@gmail.com"],
            "email_valid": [True, False, None, True],
            "company": ["Gamma", "Acme Media", None, "Beta Ads"],
            "ip": ["10.1.2.3", "203.0.113.70", "8.8.8.8", None],
            "other": [1, 2, 3, 4],
        }
    )
    frame = full[[*kept, "other"]]
    assert_routes_like_route(ROUTERS[0], frame)
    if not kept:
        assert ROUTERS[0].route_frame(frame).isna().all().all()


def test_typed_columns_route_like_their_values() -> None:
    """String, nullable boolean and integer columns decide as their values do in a profile."""
    frame = pd.DataFrame(
        {
            "account_id": pd.Series([1042, 7, 1042], dtype="int64"),
            "email": pd.Series(["ann@acme.com", None, "li@sh.acme.com"], dtype="string"),
            "email_valid": pd.Series([False, None, True], dtype="boolean"),
            "company": pd.Series(["Gamma", "Beta Ads", None], dtype="string"),
            "ip": pd.Series([None, "203.0.113.70", None], dtype="string"),
        }
    )
    assert_routes_like_route(ROUTERS[0], frame)
    assert ROUTERS[0].route_frame(frame)["owner"].tolist() == ["rep03", "rep02", "rep03"]


def test_an_empty_frame_gives_an_empty_result() -> None:
    """No rows in, no rows out, with the three columns."""
    for frame in (pd.DataFrame(), pd.DataFrame({key: [] for key in KEYS})):
        result = ROUTERS[0].route_frame(frame)
        assert result.empty
        assert list(result.columns) == COLUMNS
        assert result.index.equals(frame.index)


def test_numpy_false_email_valid_stops_the_domain_match() -> None:
    """Regression: email_valid = numpy False in an object column was ignored by
    route_frame (the address still matched its account); route_rows honoured it."""
    from leadlife.routing.frames import route_rows

    frame = pd.DataFrame({"email": ["li@acme.com", "wu@acme.com"], "email_valid": [None, None]})
    frame.loc[0, "email_valid"] = np.False_
    router = account_router()
    owners = list(router.route_frame(frame)["owner"])
    assert owners == list(route_rows(router, frame)["owner"])
    assert owners[0] is None
    assert owners[1] is not None
