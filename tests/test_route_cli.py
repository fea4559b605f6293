"""`leadlife route`: a CSV of leads routed and assigned by a routing configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from leadlife.cli import main
from leadlife.routing import Routing
from leadlife.routing.frames import normalize_contacts

ROUTING = """
[[teams]]
id = "ka"
members = [{ id = "kim" }, { id = "kai" }]
[[teams]]
id = "north"
members = [{ id = "nia" }]
[[teams]]
id = "inside"
members = [{ id = "ian" }, { id = "ivy" }]
[[routers.existing_account.accounts]]
id = "acme"
owner = "kim"
domains = ["acme.com"]
[routers.business_line]
key_account_team = "ka"
min_employees = 500
[routers.region]
regions = [{ team = "north", places = ["Beijing"] }]
[routers.fallback]
team = "inside"
"""
CSV = (
    "id,email,company,employees,phone,sme\n"
    "u1,li@ACME.com,,,,\n"
    "u2,,Big Co,5000,,false\n"
    "u3,x@gmail.com,Small,10,13800138000,\n"
    "u4,,,,,\n"
    "u5,,Huge,9000,,yes\n"
)
AT = "2026-11-02T09:00:00+08:00"


def run(tmp_path: Path, *extra: str, csv: str = CSV, routing: str = ROUTING) -> tuple[int, str]:
    (tmp_path / "routing.toml").write_text(routing, encoding="utf-8")
    (tmp_path / "leads.csv").write_text(csv, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "route",
            str(tmp_path / "leads.csv"),
            "--routing",
            str(tmp_path / "routing.toml"),
            "-o",
            str(tmp_path / "routed.csv"),
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_route_writes_each_lead_with_its_team_owner_and_reason(tmp_path: Path) -> None:
    """Every row gets the team, owner, router, action, strategy and reason; input columns stay."""
    code, output = run(tmp_path, "--at", AT, "--phone-region", "CN")
    assert code == 0, output
    assert "Routed 5 leads" in output
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=object, keep_default_na=False)
    assert list(routed.columns[:6]) == ["id", "email", "company", "employees", "phone", "sme"]
    assert list(routed["router"]) == [
        "existing_account",
        "business_line",
        "region",
        "fallback",
        "fallback",
    ]
    assert list(routed["team"]) == ["ka", "ka", "north", "inside", "inside"]
    assert routed["owner"][0] == "kim"
    assert routed["phone"][2] == "13800138000"  # the input as it was
    assert "Beijing" in routed["reason"][2]


def test_route_help_lists_the_written_columns_in_their_order(tmp_path: Path) -> None:
    """The -o option's help names the columns added to the input in the order written."""
    code, output = run(tmp_path, "--at", AT)
    assert code == 0, output
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=object, keep_default_na=False)
    added = list(routed.columns[6:])
    assert added == ["router", "team", "owner", "action", "strategy", "reason"]
    shown = CliRunner().invoke(main, ["route", "--help"], terminal_width=1000).output
    assert f"Where to write the input columns plus {', '.join(added)}." in shown


def test_route_matches_route_frame_on_the_checked_profiles(tmp_path: Path) -> None:
    """The command gives what route_frame gives on the same leads, contacts checked."""
    code, output = run(tmp_path, "--at", AT, "--phone-region", "CN")
    assert code == 0, output
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=object, keep_default_na=False)
    frame = pd.DataFrame(
        [
            {"email": "li@ACME.com"},
            {"company": "Big Co", "employees": "5000", "sme": False},
            {"email": "x@gmail.com", "company": "Small", "employees": "10", "phone": "13800138000"},
            {},
            {"company": "Huge", "employees": "9000", "sme": True},
        ]
    )
    expected = Routing.from_toml(ROUTING).route_frame(
        normalize_contacts(frame, "CN"), pd.Timestamp(AT).to_pydatetime()
    )
    assert list(routed["owner"]) == [v or "" for v in expected["owner"]]
    assert list(routed["reason"]) == [v or "" for v in expected["reason"]]


def test_route_reports_a_bad_configuration_in_one_line(tmp_path: Path) -> None:
    """A routing configuration naming an unknown team fails with its key path, and no output."""
    code, output = run(tmp_path, routing=ROUTING.replace('team = "inside"', 'team = "insdie"'))
    assert code != 0
    assert "routers.fallback.team" in output
    assert "\n" not in output.strip()
    assert not (tmp_path / "routed.csv").exists()


def test_route_refuses_a_naive_moment(tmp_path: Path) -> None:
    """--at without a timezone is refused before anything is read."""
    code, output = run(tmp_path, "--at", "2026-11-02T09:00:00")
    assert code != 0
    assert "no timezone" in output


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59Z", "1900-01-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00"]
)
@pytest.mark.parametrize("csv", [CSV, "id,email\n"])
def test_route_refuses_a_moment_outside_the_engines_years(
    tmp_path: Path, moment: str, csv: str
) -> None:
    """Regression: an --at outside 1900-2999 (UTC) ended in a traceback on the first row,
    and was taken without a word for a header-only file."""
    code, output = run(tmp_path, "--at", moment, csv=csv)
    assert code == 2
    [line] = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert f"Invalid value for '--at': {moment!r} is outside the years 1900 to 2999" in line
    assert "Traceback" not in output
    assert not (tmp_path / "routed.csv").exists()


def test_route_keeps_the_empty_cells_of_a_one_column_file(tmp_path: Path) -> None:
    """Regression: a one-column file's empty cell is a blank line, which was skipped:
    2 of 3 leads were routed and written."""
    code, output = run(tmp_path, "--at", AT, csv="phone\n13800138000\n\n13800138000\n")
    assert code == 0, output
    assert output.startswith("Routed 3 leads in ")
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=object, keep_default_na=False)
    assert list(routed["phone"]) == ["13800138000", "", "13800138000"]


@pytest.mark.parametrize("separator", [";", "\t"])
def test_route_refuses_a_file_separated_by_other_than_commas(
    tmp_path: Path, separator: str
) -> None:
    """Regression: a file saved with semicolons (or tabs) was read as one column, and
    every lead went to the fallback team as if it had no fields."""
    rows = [["lead_id", "email", "company"], ["u1", "li@acme.com", "Acme"]]
    csv = "".join(separator.join(row) + "\n" for row in rows)
    code, output = run(tmp_path, "--at", AT, csv=csv)
    assert code == 1
    assert f"which looks separated by {separator!r}; save the file comma-separated" in output
    assert not (tmp_path / "routed.csv").exists()


def test_route_keeps_blank_names_and_refuses_repeated_ones(tmp_path: Path) -> None:
    """Regression: a blank header name came out as 'Unnamed: 1', and a repeated one as
    'x.1'; a repeated profile field routing reads is refused, in one line naming it."""
    code, output = run(tmp_path, "--at", AT, csv="id,,company\nu1,x,Big Co\n")
    assert code == 0, output
    lines = (tmp_path / "routed.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,,company,router,team,owner,action,strategy,reason"
    code, output = run(tmp_path, "--at", AT, csv="id,company,company\nu1,A,B\n")
    assert code == 1
    [line] = output.splitlines()
    assert line.endswith(
        "the header names 'company' more than once, and routing reads columns by name; "
        "rename or remove the other columns of that name"
    )


def test_route_refuses_a_phone_region_the_metadata_does_not_know(tmp_path: Path) -> None:
    """Regression: --phone-region XX ran, and every national number went unrouted by
    region; the rulebook refuses such a region, and so does the command."""
    code, output = run(tmp_path, "--at", AT, "--phone-region", "XX")
    assert code == 2
    assert "unknown region 'XX'" in output
    assert not (tmp_path / "routed.csv").exists()
    code, output = run(tmp_path, "--at", AT, "--phone-region", "cn")
    assert code == 0, output
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=object, keep_default_na=False)
    assert routed["router"][2] == "region"


def test_route_labels_its_progress_bar_routing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a large file routed on a terminal showed a bar labelled "Scoring"."""
    labels: list[str | None] = []
    progressbar = click.progressbar

    def recording(*args: Any, **kwargs: Any) -> Any:
        labels.append(kwargs.get("label"))
        return progressbar(*args, **kwargs)

    monkeypatch.setattr(click, "progressbar", recording)
    code, output = run(tmp_path, "--at", AT)
    assert code == 0, output
    assert labels == ["Routing"]


@pytest.mark.parametrize(
    "csv",
    [
        "id,email,company,,\nu1,li@acme.com,Big Co,,\n",  # a spreadsheet's trailing commas
        "id,email,company,note,note\nu1,li@acme.com,Big Co,a,b\n",
    ],
)
def test_route_passes_blank_and_unread_repeated_columns_through(tmp_path: Path, csv: str) -> None:
    """Regression: two blank header names, or a repeated column no router reads, were
    refused as if routing read them, though `score` takes such a file."""
    code, output = run(tmp_path, "--at", AT, csv=csv)
    assert code == 0, output
    assert output.startswith("Routed 1 lead in ")
    lines = (tmp_path / "routed.csv").read_text(encoding="utf-8").splitlines()
    header = csv.splitlines()[0]
    assert lines[0] == header + ",router,team,owner,action,strategy,reason"
    assert lines[1].startswith(csv.splitlines()[1] + ",existing_account,ka,kim,")


@pytest.mark.parametrize("name", ["email", "owner", "sme"])
def test_route_refuses_a_repeated_column_it_reads(tmp_path: Path, name: str) -> None:
    """A profile field routing reads, named twice, is still refused in one line."""
    code, output = run(tmp_path, "--at", AT, csv=f"id,{name},{name}\nu1,a,b\n")
    assert code == 1
    [line] = output.splitlines()
    assert f"the header names {name!r} more than once, and routing reads" in line


def test_route_drops_a_one_column_files_trailing_blank_lines(tmp_path: Path) -> None:
    """Regression: two stray newlines at the end of a one-column file were routed as
    leads, given owners, and used up the rotation's turns."""
    code, output = run(tmp_path, "--at", AT, csv="email\nli@acme.com\n\nx@gmail.com\n\n\n")
    assert code == 0, output
    assert output.startswith("Routed 3 leads in ")
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=object, keep_default_na=False)
    assert list(routed["email"]) == ["li@acme.com", "", "x@gmail.com"]
