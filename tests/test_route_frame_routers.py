"""The batch paths of the business-line, region and fallback routers: ``route_frame``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadlife.lead import Lead
from leadlife.routing.business_line import BusinessLineRouter
from leadlife.routing.config import BusinessLineSpec, FallbackSpec, RegionSpec
from leadlife.routing.fallback import FallbackRouter
from leadlife.routing.region import RegionRouter

COLUMNS = ["team", "owner", "reason"]
Row = tuple[str | None, str | None, str | None]


def absent(value: Any) -> bool:
    """Whether a cell stands for a key missing from the profile."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def by_route(router: Any, records: list[dict[str, Any]]) -> list[Row]:
    """What ``router.route`` decides for each record, as (team, owner, reason)."""
    rows: list[Row] = []
    for record in records:
        lead = Lead("u1")
        lead.profile.update({k: v for k, v in record.items() if not absent(v)})
        decision = router.route(lead)
        if decision is None:
            rows.append((None, None, None))
        else:
            rows.append((decision.team, decision.owner, decision.reason))
    return rows


def frame_of(columns: dict[str, list[Any]], index: list[Any] | None = None) -> pd.DataFrame:
    """A frame of object columns holding exactly the given values."""
    size = len(next(iter(columns.values()))) if columns else len(index or [])
    return pd.DataFrame(
        {name: pd.Series(values, dtype=object, index=index) for name, values in columns.items()},
        index=index if index is not None else pd.RangeIndex(size),
    )


def check(router: Any, frame: pd.DataFrame) -> None:
    """``route_frame`` gives the same rows as ``route`` on each row, on the frame's index."""
    result = router.route_frame(frame)
    assert list(result.columns) == COLUMNS
    assert all(result[name].dtype == object for name in COLUMNS)
    assert result.index.equals(frame.index)
    records = frame.to_dict("records")
    assert list(result.itertuples(index=False, name=None)) == by_route(router, records)


def rows_of(columns: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[pd.DataFrame]:
    """Frames of 0-40 rows over a random subset of ``columns`` and a shuffled index."""

    @st.composite
    def build(draw: st.DrawFn) -> pd.DataFrame:
        size = draw(st.integers(0, 40))
        names = draw(st.lists(st.sampled_from(list(columns)), unique=True))
        values = {
            name: draw(st.lists(columns[name], min_size=size, max_size=size)) for name in names
        }
        index = draw(st.permutations(range(100, 100 + size)))
        return frame_of(values, list(index)) if values else pd.DataFrame(index=list(index))

    return build()


MISSING = [None, math.nan, pd.NA, np.float64("nan")]
JUNK = ["n/a", "", [300], {"a": 1}, b"5", 1 + 2j, ("1",), np.True_]
SIZES = st.sampled_from(
    [
        0,
        -0.0,
        0.0,
        1,
        1.0,
        True,
        False,
        -5,
        199,
        200,
        200.0,
        "200",
        " 1,500 ",
        "199.5",
        np.int64(200),
        np.float64(-0.0),
        4_999_999.5,
        5_000_000,
        "5_000_000",
        "5,000,000",
        "1e5",
        "inf",
        math.inf,
        10**400,
        *MISSING,
        *JUNK,
    ]
)
SME = st.sampled_from([True, False, 1, 1.0, "yes", "True", np.True_, *MISSING, [True]])


@st.composite
def business_lines(draw: st.DrawFn) -> BusinessLineRouter:
    capital = draw(st.sampled_from([5_000_000, 4_999_999.5, None]))
    employees = draw(st.sampled_from([200, 1, None] if capital is not None else [200, 1]))
    spec = BusinessLineSpec(
        key_account_team="ka",
        long_tail_team=draw(st.sampled_from(["tail", None])),
        min_registered_capital=capital,
        min_employees=employees,
    )
    return BusinessLineRouter(spec)


@given(
    business_lines(),
    rows_of({"sme": SME, "registered_capital": SIZES, "employees": SIZES}),
)
def test_business_line_frame_matches_route(router: BusinessLineRouter, frame: pd.DataFrame) -> None:
    """Every row of the business-line frame is what route decides for that row's profile."""
    check(router, frame)


def test_business_line_frame_reads_typed_columns() -> None:
    """Bool, float, nullable integer and string columns decide as their values do in route."""
    router = BusinessLineRouter(
        BusinessLineSpec(
            key_account_team="ka",
            long_tail_team="tail",
            min_registered_capital=5_000_000,
            min_employees=200,
        )
    )
    frame = pd.DataFrame(
        {
            "sme": pd.Series([True, False, None, True, False, None], dtype="boolean"),
            "registered_capital": pd.Series(
                [None, 5_000_000, 7, -1, None, 4_999_999], dtype="Int64"
            ),
            "employees": [250.0, math.nan, -0.0, math.inf, 1.5, 12.0],
        }
    )
    check(router, frame)
    frame["sme"] = [True, False, True, False, False, False]
    frame["employees"] = pd.Series(["300", None, "a", " 1,000 ", "-0", "0"], dtype="string")
    check(router, frame)
    assert router.route_frame(frame)["reason"][1] == (
        "registered capital 5,000,000 is at least 5,000,000: key-account team ka"
    )


EAST = {"team": "east", "places": ["Jiangsu", "Shanghai"], "networks": ["10.1.0.0/16"]}
NORTH = {"team": "north", "places": ["Beijing", "Changzhou, Jiangsu"]}
CHINA = {"team": "china", "places": ["CN"], "networks": ["10.2.0.0/16", "2001:db8::/32"]}
NETS = {"team": "nets", "networks": ["10.3.0.0/16"]}
REGIONS = [[EAST, NORTH, CHINA], [EAST, NORTH], [NORTH], [NETS], [NETS, NORTH]]
IPS = st.sampled_from(
    [
        "10.1.2.3",
        "10.1.2.4",
        " 10.1.2.3 ",
        "10.2.0.9",
        "::ffff:10.2.0.1",
        "2001:db8::7",
        "10.3.9.9",
        "192.0.2.1",
        "junk",
        "",
        7,
        ["10.1.0.1"],
        *MISSING,
    ]
)
PHONES = st.sampled_from(
    [
        "+861058001234",  # Beijing
        "+8651988001234",  # Changzhou, Jiangsu
        "+862584001234",  # Nanjing, Jiangsu
        "+8675512345678",  # Shenzhen, Guangdong
        "+8613800138000",  # a Beijing mobile
        "+14155552671",  # San Francisco, CA
        "+86abc",
        "8613800138000",
        "",
        12,
        *MISSING,
    ]
)
VALID = st.sampled_from([True, False, 1, "yes", np.True_, *MISSING])


@given(
    st.sampled_from(REGIONS),
    rows_of({"ip": IPS, "phone": PHONES, "phone_valid": VALID}),
)
def test_region_frame_matches_route(regions: list[dict[str, Any]], frame: pd.DataFrame) -> None:
    """Every row of the region frame is what route decides for that row's profile."""
    check(RegionRouter(RegionSpec.model_validate({"regions": regions})), frame)


class Lookup:
    """An IP lookup of its own: addresses starting 10. are team east's."""

    def region(self, address: str) -> str | None:
        return "east" if address.startswith("10.") else None


def test_region_frame_with_an_ip_lookup_of_its_own() -> None:
    """A custom IP lookup decides rows as in route, then valid phones do."""
    router = RegionRouter(RegionSpec.model_validate({"regions": [EAST, NORTH]}), ip_lookup=Lookup())
    frame = frame_of(
        {
            "ip": ["10.9.9.9", "11.0.0.1", None, "10.0.0.1"],
            "phone": ["+861058001234", "+861058001234", "+861058001234", None],
            "phone_valid": [True, True, False, None],
        }
    )
    check(router, frame)
    assert list(router.route_frame(frame)["team"]) == ["east", "north", None, "east"]


@given(rows_of({"ip": IPS, "phone": PHONES, "sme": SME}))
def test_fallback_frame_matches_route(frame: pd.DataFrame) -> None:
    """Every row of the fallback frame is the fallback team with route's reason."""
    check(FallbackRouter(FallbackSpec(team="pool")), frame)


def routers() -> list[Any]:
    return [
        BusinessLineRouter(BusinessLineSpec(key_account_team="ka", min_employees=200)),
        RegionRouter(RegionSpec.model_validate({"regions": [EAST, NORTH]})),
        FallbackRouter(FallbackSpec(team="pool")),
    ]


@pytest.mark.parametrize("router", routers(), ids=lambda router: router.name)
def test_missing_columns_count_as_absent(router: Any) -> None:
    """A frame without the router's columns decides each row as a lead without those keys."""
    frame = pd.DataFrame({"other": [1, 2, 3]}, index=["a", "b", "c"])
    check(router, frame)
    expected = by_route(router, [{}])[0]
    assert list(router.route_frame(frame).itertuples(index=False, name=None)) == [expected] * 3


@pytest.mark.parametrize("router", routers(), ids=lambda router: router.name)
def test_an_empty_frame_gives_an_empty_result(router: Any) -> None:
    """An empty frame, with or without the router's columns, gives no rows and the columns."""
    for frame in (
        pd.DataFrame(),
        frame_of({"sme": [], "employees": [], "ip": [], "phone": [], "phone_valid": []}),
    ):
        result = router.route_frame(frame)
        assert list(result.columns) == COLUMNS
        assert len(result) == 0
        assert all(result[name].dtype == object for name in COLUMNS)


def test_route_frame_leaves_pandas_unimported() -> None:
    """The routers' modules import neither pandas nor numpy until a frame is routed."""
    import subprocess
    import sys

    code = (
        "import sys, leadlife.routing.business_line, leadlife.routing.region, "
        "leadlife.routing.fallback; "
        "print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_equal_values_of_other_types_decide_apart() -> None:
    """True, 1 and 1.0 (and 0.0, -0.0) are equal but size and show apart, as in route."""
    router = BusinessLineRouter(
        BusinessLineSpec(key_account_team="ka", long_tail_team="tail", min_employees=200)
    )
    frame = frame_of({"employees": [1, True, 1.0, np.True_, 0.0, -0.0, False, 0, "1"]})
    check(router, frame)
    reasons = list(router.route_frame(frame)["reason"])
    assert reasons[1] is None
    assert reasons[4] != reasons[5]
