"""Routing many leads at once: ``Routing.route_frame`` decides and assigns as the engine does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadlife.errors import InvalidArgumentError, InvalidTimeError
from leadlife.lead import Lead
from leadlife.routing import Routing

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CONFIG: dict[str, Any] = {
    "seed": 5,
    "teams": [
        {
            "id": "ka",
            "strategy": "capacity",
            "members": [{"id": "kim", "capacity": 60}, {"id": "kai", "capacity": 120}],
        },
        {
            "id": "north",
            "members": [
                {"id": "nia"},
                {"id": "ned", "absences": [{"from": T0, "until": T0 + timedelta(hours=2)}]},
            ],
        },
        {"id": "inside", "sticky": True, "members": [{"id": "ian"}, {"id": "ivy"}, {"id": "ida"}]},
    ],
    "routers": {
        "existing_account": {
            "accounts": [
                {
                    "id": "acme",
                    "owner": "kim",
                    "domains": ["acme.com"],
                    "names": ["Acme Ltd"],
                    "networks": ["203.0.113.0/24"],
                },
                {"id": "acme-sh", "parent": "acme", "domains": ["sh.acme.com"]},
                {
                    "id": "globex",
                    "owner": "ian",
                    "names": ["Globex"],
                    "networks": ["203.0.113.64/26"],
                },
            ]
        },
        "business_line": {"key_account_team": "ka", "min_employees": 500},
        "region": {
            "regions": [{"team": "north", "places": ["Beijing"], "networks": ["198.51.100.0/24"]}]
        },
        "fallback": {"team": "inside"},
    },
}

ROW = st.fixed_dictionaries(
    {},
    optional={
        "email": st.sampled_from(["a@acme.com", "b@sh.acme.com", "c@gmail.com", "d@other.cn", 7]),
        "email_valid": st.sampled_from([True, False]),
        "company": st.sampled_from(["ACME LTD.", "Globex", "Initech", "", 3]),
        "ip": st.sampled_from(["203.0.113.5", "203.0.113.70", "198.51.100.9", "10.0.0.1", "junk"]),
        "phone": st.sampled_from(["+8613800138000", "+862165432100", "12345"]),
        "phone_valid": st.booleans(),
        "employees": st.sampled_from([10, 499, 500, 5000, "1,200", -3, True]),
        "sme": st.sampled_from([True, False]),
        "account_id": st.sampled_from(["acme", "globex", "nope"]),
        "owner": st.sampled_from(["partner-rep", "ivy"]),
    },
)


def one_by_one(rows: list[dict[str, Any]], moments: list[datetime]) -> list[tuple[Any, ...]]:
    """What the engine's calls give, lead by lead, on a fresh routing configuration."""
    routing = Routing.from_dict(CONFIG)
    out: list[tuple[Any, ...]] = []
    for number, (row, at) in enumerate(zip(rows, moments, strict=True)):
        member = routing.member(row.get("owner", ""))
        if member is not None:  # an event named them: the lead is in their team, unrouted
            why = f"{member.id} already owns the lead in team {member.team}; no router is asked"
            out.append((None, member.team, member.id, None, None, why))
            continue
        lead = Lead(f"u{number}")
        lead.profile = {k: v for k, v in row.items() if k != "owner"}
        lead.owner = row.get("owner")
        decision = next((d for r in routing.routers if (d := r.route(lead)) is not None), None)
        if decision is None:
            out.append((None,) * 6)
            continue
        made = routing.assign(lead, decision, at, None)
        routing.committed([made])
        out.append((made.router, made.team, made.to_owner, made.action, made.strategy, made.reason))
    return out


@settings(max_examples=40)
@given(
    rows=st.lists(ROW, max_size=40), gaps=st.lists(st.integers(0, 7200), min_size=40, max_size=40)
)
def test_route_frame_equals_the_engine_lead_by_lead(
    rows: list[dict[str, Any]], gaps: list[int]
) -> None:
    """Each row gets the router, team, owner, action, strategy and reason of the per-lead path."""
    moments = [T0 + timedelta(seconds=sum(gaps[: i + 1])) for i in range(len(rows))]
    frame = pd.DataFrame(rows, index=[f"r{i}" for i in range(len(rows))])
    result = Routing.from_dict(CONFIG).route_frame(frame, moments)
    assert list(result.index) == list(frame.index)
    got = [tuple(None if pd.isna(v) else v for v in row) for row in result.itertuples(index=False)]
    assert got == one_by_one(rows, moments)


def test_route_frame_takes_one_moment_or_an_at_column() -> None:
    """A single aware moment, or an 'at' column, gives the same result; a naive one is refused."""
    frame = pd.DataFrame([{"email": "a@acme.com"}, {"company": "Initech"}, {}])
    one = Routing.from_dict(CONFIG).route_frame(frame, T0)
    column = Routing.from_dict(CONFIG).route_frame(frame.assign(at=[T0] * 3))
    pd.testing.assert_frame_equal(one, column)
    assert list(one["router"]) == ["existing_account", "fallback", "fallback"]
    assert one["owner"].iloc[0] == "kim"
    with pytest.raises(InvalidTimeError):
        Routing.from_dict(CONFIG).route_frame(frame, datetime(2026, 11, 2))
    with pytest.raises(InvalidTimeError, match=r"given for 3 rows\. Fix: give one per row"):
        Routing.from_dict(CONFIG).route_frame(frame, [T0])


def test_route_frame_refuses_what_is_no_frame_of_leads_by_name() -> None:
    """Regression: None, or a frame with a column twice, failed with raw TypeError or
    AttributeError; a NaT among the moments with a raw ValueError."""
    routing = Routing.from_dict(CONFIG)
    with pytest.raises(InvalidArgumentError, match="expected a pandas DataFrame"):
        routing.route_frame(None, T0)  # type: ignore[arg-type]
    twice = pd.concat([pd.DataFrame({"employees": [10]})] * 2, axis=1)
    with pytest.raises(InvalidArgumentError, match="columns named twice: employees"):
        routing.route_frame(twice, T0)
    with pytest.raises(InvalidTimeError, match="cannot be read as a moment"):
        routing.route_frame(pd.DataFrame([{}, {}]), [T0, pd.NaT])


def test_route_frame_advances_the_teams_like_commits() -> None:
    """Routing a frame turns the rotations, so the next lead routed one by one continues it."""
    batch = Routing.from_dict(CONFIG)
    batch.route_frame(pd.DataFrame([{}] * 4), T0)
    single = Routing.from_dict(CONFIG)
    for _ in range(4):
        lead = Lead("x")
        decision = single.routers[-1].route(lead)
        single.committed([single.assign(lead, decision, T0, None)])
    assert batch.teams["inside"].rotation() == single.teams["inside"].rotation()


def test_empty_frame() -> None:
    """An empty frame routes nothing and keeps the columns."""
    result = Routing.from_dict(CONFIG).route_frame(pd.DataFrame(), T0)
    assert list(result.columns) == ["router", "team", "owner", "action", "strategy", "reason"]
    assert len(result) == 0


def test_route_frame_reads_an_iso_moment_and_refuses_missing_ones() -> None:
    """Regression: a string ``at`` was read character by character ("'2' has no
    timezone"), and NaT in an aware column routed rows at the year 1677."""
    frame = pd.DataFrame([{"company": "Initech"}, {}])
    text = Routing.from_dict(CONFIG).route_frame(frame, "2026-11-02T09:00:00+00:00")
    pd.testing.assert_frame_equal(text, Routing.from_dict(CONFIG).route_frame(frame, T0))
    with pytest.raises(InvalidTimeError, match="not an ISO 8601 moment"):
        Routing.from_dict(CONFIG).route_frame(frame, "yesterday")
    gaps = frame.assign(at=pd.to_datetime(["2026-11-02T09:00:00Z", None]))
    with pytest.raises(InvalidTimeError, match=r"at \(row 1\)"):
        Routing.from_dict(CONFIG).route_frame(gaps)
    with pytest.raises(InvalidTimeError, match="give the frame an 'at' column"):
        Routing.from_dict(CONFIG).route_frame(frame)


def test_a_blank_owner_cell_is_no_owner() -> None:
    """Regression: an owner of spaces was kept as a sticky owner named "   "."""
    frame = pd.DataFrame([{"owner": "   "}, {"owner": ""}])
    routed = Routing.from_dict(CONFIG).route_frame(frame, T0)
    assert list(routed["action"]) == ["routed", "routed"]
    assert all(owner.strip() for owner in routed["owner"])


def test_route_frame_keeps_an_owner_an_event_named_as_the_engine_does() -> None:
    """Regression: for a lead whose owner, a member of team ka, was named by
    sales_accepted before it qualified, the engine ran no router and kept team ka,
    while route_frame said region, team north, sticky. An outsider stays routed."""
    import leadlife

    routing = Routing.from_dict(CONFIG)
    engine = leadlife.Engine(
        plugins=[routing],
        plugin_manager=leadlife.get_plugin_manager(load_entrypoints=False),
        clock=leadlife.FixedClock(T0),
    )
    engine.ingest(
        {"id": "acc", "lead_id": "x", "type": "sales_accepted", "at": T0, "data": {"owner": "kim"}}
    )
    at = T0 + timedelta(minutes=1)
    form = {"phone": "+8613800138000", "asset_id": "p1"}
    lead = engine.ingest(
        {"id": "form", "lead_id": "x", "type": "form_submit", "at": at, "data": form}
    )
    made = lead.assignments[-1]
    engine_row = (made.router, made.team, made.to_owner, made.action, made.strategy, made.reason)
    frame = pd.DataFrame([{"phone": "+8613800138000", "phone_valid": True, "owner": "kim"}])
    frame_row = tuple(Routing.from_dict(CONFIG).route_frame(frame, at).iloc[0])
    assert engine_row[:3] == (None, "ka", "kim")
    assert frame_row[:5] == (None, "ka", "kim", None, None)
    assert frame_row[5] == "kim already owns the lead in team ka; no router is asked"
    outsider = frame.assign(owner="partner-rep")
    routed = Routing.from_dict(CONFIG).route_frame(outsider, at).iloc[0]
    assert (routed["router"], routed["team"], routed["owner"], routed["strategy"]) == (
        "region",
        "north",
        "partner-rep",
        "sticky",
    )


class _Geo:
    """A host's IpLookup that answers a team the configuration lacks, or fails."""

    def region(self, address: str) -> str | None:
        if address.startswith("81."):
            return "emea"
        if address.startswith("82."):
            raise RuntimeError("geo service down")
        return None


def test_route_frame_refuses_an_unknown_team_from_a_host_lookup_and_moves_nothing() -> None:
    """Regression: a team the configuration lacks crashed with a bare KeyError after
    the rows before it had turned the rotation; a raising lookup escaped raw."""
    from leadlife.errors import PluginError

    routing = Routing.from_dict(CONFIG, ip_lookup=_Geo())
    before = {name: team.rotation() for name, team in routing.teams.items()}
    for ip, error in (("81.2.69.160", LookupError), ("82.1.1.1", RuntimeError)):
        frame = pd.DataFrame([{"company": "x"}, {"ip": ip}], index=["first", "bad"])
        with pytest.raises(PluginError, match=r"router region") as caught:
            routing.route_frame(frame, T0)
        assert caught.value.plugin == "_Geo"
        assert isinstance(caught.value.error, error)
        assert {name: team.rotation() for name, team in routing.teams.items()} == before
    with pytest.raises(PluginError, match=r"named team 'emea' for row 'bad'"):
        routing.route_frame(pd.DataFrame([{"ip": "81.2.69.160"}], index=["bad"]), T0)


def test_an_ip_lookup_without_region_is_refused_at_load() -> None:
    """Regression: an object without region() failed only at the first lead's address."""
    with pytest.raises(InvalidArgumentError, match=r"ip_lookup: object has no region"):
        Routing.from_dict(CONFIG, ip_lookup=object())  # type: ignore[arg-type]


def test_route_frame_reads_a_column_of_iso_moments_and_names_a_bad_row() -> None:
    """Regression: an `at` column (or list) of ISO 8601 strings with offsets, what a
    CSV export holds, was refused ("is not a datetime"), naming no row."""
    frame = pd.DataFrame(
        {
            "company": ["Initech", "Globex"],
            "at": ["2026-11-02T09:00:00+08:00", "2026-11-02T09:05:00+08:00"],
        }
    )
    moments = [datetime.fromisoformat(text) for text in frame["at"]]
    expected = Routing.from_dict(CONFIG).route_frame(frame.drop(columns="at"), moments)
    pd.testing.assert_frame_equal(Routing.from_dict(CONFIG).route_frame(frame), expected)
    listed = Routing.from_dict(CONFIG).route_frame(frame, list(frame["at"]))
    pd.testing.assert_frame_equal(listed, expected)
    for bad, problem in (("2026-11-02T09:05:00", "timezone"), ("soon", "ISO 8601")):
        rows = frame.assign(at=["2026-11-02T09:00:00+08:00", bad])
        with pytest.raises(InvalidTimeError, match=rf"at \(row 1\).*{problem}"):
            Routing.from_dict(CONFIG).route_frame(rows)


def test_a_bad_moment_is_named_by_its_index_label_as_team_errors_are() -> None:
    """Regression: `at` errors named rows by position while a router's bad team named
    them by index label, so one frame's errors pointed at two different rows."""
    frame = pd.DataFrame({"company": ["Initech", "Globex"]}, index=["lead-7", "lead-9"])
    moments: list[Any] = [T0, "2026-11-02T09:05:00"]
    with pytest.raises(InvalidTimeError, match=r"at \(row 'lead-9'\).*timezone"):
        Routing.from_dict(CONFIG).route_frame(frame, moments)
    with pytest.raises(InvalidTimeError, match=r"at \(row 'lead-9'\).*timezone"):
        Routing.from_dict(CONFIG).route_frame(frame.assign(at=moments))
    gaps = frame.assign(at=pd.to_datetime(["2026-11-02T09:00:00Z", None]))
    with pytest.raises(InvalidTimeError, match=r"at \(row 'lead-9'\)"):
        Routing.from_dict(CONFIG).route_frame(gaps)
    with pytest.raises(InvalidTimeError, match=r"3 moments.*given for 2 rows"):
        Routing.from_dict(CONFIG).route_frame(frame, [T0, T0, T0])


class _StrictGeo:
    """A host's IpLookup that checks addresses with leadlife's own error type."""

    def region(self, address: str) -> str | None:
        raise InvalidArgumentError("address", f"{address!r} is not in the host's format", "fix it")


def test_route_frame_wraps_a_leadlife_error_raised_by_a_host_lookup() -> None:
    """Regression: a host IpLookup raising a leadlife error escaped unwrapped, as if
    route_frame itself had refused its input, and named no plugin."""
    from leadlife.errors import PluginError

    routing = Routing.from_dict(CONFIG, ip_lookup=_StrictGeo())
    before = {name: team.rotation() for name, team in routing.teams.items()}
    frame = pd.DataFrame([{"company": "x"}, {"ip": "82.1.1.1"}], index=["first", "bad"])
    with pytest.raises(PluginError, match=r"'_StrictGeo' failed in router region") as caught:
        routing.route_frame(frame, T0)
    assert isinstance(caught.value.error, InvalidArgumentError)
    assert caught.value.error.argument == "address"
    assert {name: team.rotation() for name, team in routing.teams.items()} == before
