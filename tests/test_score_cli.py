"""`leadlife score`: a CSV of lead snapshots scored by a rulebook, chunk by chunk."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner, Result

import leadlife
from leadlife.cli import main
from leadlife.scoring import RuleScorer, ScoringRules
from leadlife.scoring.batch import lead_frame, score_frame
from tests.conftest import T0
from tests.helpers import days, ev

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "scoring"
NOW = T0 + days(40)
NOW_TEXT = NOW.isoformat()

RULES: dict[str, Any] = {
    "name": "csv",
    "half_life_days": 20,
    "decay_floor": 0.25,
    "total_cap": 90,
    "grades": {"A": 30, "B": 10},
    "fit": [
        {
            "id": "industry",
            "when": {"field": "industry", "in": ["advertising", "media"]},
            "points": 20,
        },
        {"id": "verified", "when": {"field": "verified", "equals": True}, "points": 10},
        {"id": "tier", "when": {"field": "tier", "in": [1, 2]}, "points": 5},
        {"id": "code", "when": {"field": "code", "equals": "01"}, "points": 3},
        {"id": "big", "when": {"field": "employees", "min": 100}, "points": 7},
        {"id": "free_mail", "when": {"field": "email", "matches": "free_mail"}, "points": -15},
        {"id": "cn", "when": {"field": "email", "matches": r"\.cn$"}, "points": 2},
        {"id": "phone", "when": {"field": "phone", "exists": True}, "points": 4},
    ],
    "engagement": [
        {"id": "download", "when": {"event": "download"}, "points": 10, "max_points": 30},
        {
            "id": "burst",
            "when": {"event": "download", "min_count": 2, "within_days": 7},
            "points": 15,
            "fires": "once",
        },
        {"id": "live", "when": {"event": "livestream_watched"}, "points": 30, "decays": False},
        {"id": "silent", "when": {"inactive_days": 14}, "points": -20},
    ],
    "weighted": [
        {"id": "city", "field": "city", "values": {"shanghai": 10, "chengdu": 5}, "weight": 0.5},
        {"id": "revenue", "field": "revenue", "weight": 0.001, "max_points": 8},
        {"id": "views", "event": "page_view", "within_days": 30, "weight": 1, "axis": "engagement"},
    ],
}


def lead(lead_id: str, *events: tuple[str, float], **profile: Any) -> leadlife.Lead:
    """A lead with ``profile`` that did each ``(event type, day offset from T0)``."""
    made = leadlife.Lead(lead_id, profile=dict(profile))
    for kind, offset in events:
        ts = (T0 + days(offset)).timestamp()
        made.behaviour.record(kind, ts, 60)
        made.first_seen_ts = min(ts, made.first_seen_ts or ts)
        made.last_activity_ts = max(ts, made.last_activity_ts or ts)
    return made


LEADS = [
    lead(
        "agency",
        ("download", 36),
        ("download", 38),
        ("livestream_watched", 39),
        ("page_view", 39),
        industry="advertising",
        verified=True,
        tier=1,
        code="01",
        employees=450,
        email="cmo@agency.cn",
        phone="+8613800138000",
        city="shanghai",
        revenue=20_000,
    ),
    lead(
        "stale",
        ("download", 1),
        ("page_view", 2),
        industry="media",
        verified=False,
        tier=3,
        code="1",
        employees=12,
        email="boss@gmail.com",
        city="chengdu",
        revenue=900.5,
    ),
    lead("quiet", email="someone@qq.com", tier=2, city="lhasa"),
    lead("blank"),
]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["score", *args])


def write_rules(path: Path, rules: dict[str, Any]) -> Path:
    """``rules`` written as a TOML file (scalars, lists and tables of scalars)."""
    path.write_text(_toml(rules), encoding="utf-8")
    return path


def score_with_rules(tmp_path: Path, source: Path) -> tuple[Result, Path]:
    """``source`` scored with RULES as of NOW into ``tmp_path/scored.csv``."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    return run("--rules", str(rules_path), str(source), "-o", str(out), "--now", NOW_TEXT), out


def _toml(rules: dict[str, Any]) -> str:
    lines = []
    for key, value in rules.items():
        if not isinstance(value, list):
            lines.append(f"{key} = {_value(value)}")
    for key, value in rules.items():
        if isinstance(value, list):
            for item in value:
                lines.append(f"[[{key}]]")
                lines.extend(f"{k} = {_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_value(v)}' for k, v in value.items()) + " }"
    return repr(value)


def read_scored(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"grade": str}, keep_default_na=False, index_col="lead_id")


@pytest.fixture
def snapshot_csv(tmp_path: Path) -> Path:
    """The snapshots of LEADS under RULES at NOW, written as pandas writes a frame."""
    rules = ScoringRules.from_dict(RULES)
    path = tmp_path / "leads.csv"
    lead_frame(LEADS, rules, NOW).to_csv(path)
    return path


def test_scores_equal_the_rule_scorer(tmp_path: Path, snapshot_csv: Path) -> None:
    """Every row's score, fit, engagement and grade equal RuleScorer's for the same lead."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    result = run("--rules", str(rules_path), str(snapshot_csv), "-o", str(out), "--now", NOW_TEXT)
    assert result.exit_code == 0, result.output
    scored = read_scored(out)
    scorer = RuleScorer(RULES)
    assert list(scored.index) == [made.id for made in LEADS]
    for made in LEADS:
        expected = scorer.explain(made, NOW)
        row = scored.loc[made.id]
        assert math.isclose(row["score"], expected.value, abs_tol=1e-6), made.id
        assert math.isclose(row["fit"], expected.fit or 0.0, abs_tol=1e-6), made.id
        assert math.isclose(row["engagement"], expected.engagement or 0.0, abs_tol=1e-6)
        assert row["grade"] == expected.grade, made.id
    # the cap, a boolean, an integer category and a text code all reached the scores
    agency = {c.rule: c.points for c in scorer.explain(LEADS[0], NOW).contributions}
    assert {"total_cap", "verified", "tier", "code"} <= agency.keys()
    assert scored.loc["agency", "score"] == 90


def test_scores_equal_score_frame(tmp_path: Path, snapshot_csv: Path) -> None:
    """The CSV path gives score_frame's numbers on the same snapshots, rounded to 1e-6."""
    rules = ScoringRules.from_dict(RULES)
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    args = ["--rules", str(rules_path), str(snapshot_csv), "-o", str(out), "--now", NOW_TEXT]
    result = run(*args, "--contributions")
    assert result.exit_code == 0, result.output
    scored = read_scored(out)
    expected = score_frame(lead_frame(LEADS, rules, NOW), rules, NOW)
    points = [column for column in expected.columns if column.startswith("points.")]
    assert points
    assert set(points) <= set(scored.columns)
    for column in ["score", "fit", "engagement", *points]:
        assert scored[column].to_numpy() == pytest.approx(expected[column].to_numpy(), abs=1e-6)
    assert list(scored["grade"]) == list(expected["grade"])


def test_input_columns_are_kept_verbatim(tmp_path: Path) -> None:
    """The input columns come out as they went in, in order, followed by the score columns."""
    source = tmp_path / "leads.csv"
    source.write_text(
        'lead_id,note,n.download,industry\nu1,"hello, world",3,media\nu2,NA,,\n', encoding="utf-8"
    )
    result, out = score_with_rules(tmp_path, source)
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "lead_id,note,n.download,industry,score,fit,engagement,grade"
    assert lines[1].startswith('u1,"hello, world",3,media,')
    assert lines[2].startswith("u2,NA,,,")


def test_a_one_column_file_keeps_its_empty_cells_as_rows(tmp_path: Path) -> None:
    """Regression: in a file of one column an empty cell is a blank line, which pandas
    skipped, so the output had fewer rows than the input and the lead was lost."""
    source = tmp_path / "leads.csv"
    source.write_text("email\na@qq.com\n\nb@corp.cn\n", encoding="utf-8")
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    for size in ("1", "2", "50"):
        args = ["--rules", str(rules_path), str(source), "-o", str(out), "--now", NOW_TEXT]
        result = run(*args, "--chunk-size", size)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Scored 3 leads in ")
        lines = out.read_text(encoding="utf-8").splitlines()
        assert [line.split(",")[0] for line in lines] == ["email", "a@qq.com", "", "b@corp.cn"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("size", ["1", "2", "3", "50"])
def test_a_one_column_files_trailing_blank_lines_are_not_leads(
    tmp_path: Path, newline: str, size: str
) -> None:
    """Regression: blank lines at the end of a one-column file (an editor's, an
    `echo >>`'s) became leads scored as empty; interior empty cells stay rows."""
    source = tmp_path / "leads.csv"
    text = newline.join(["email", "a@qq.com", "", "b@corp.cn", "", "", ""])
    source.write_bytes(text.encode("utf-8"))
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    args = ["--rules", str(rules_path), str(source), "-o", str(out), "--now", NOW_TEXT]
    result = run(*args, "--chunk-size", size)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Scored 3 leads in ")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in lines] == ["email", "a@qq.com", "", "b@corp.cn"]


def test_a_one_column_files_last_quoted_empty_cell_stays_a_lead(tmp_path: Path) -> None:
    """A quoted empty cell, as pandas writes one, is a row even at the end of the file."""
    source = tmp_path / "leads.csv"
    source.write_text('email\na@qq.com\n""\n\n', encoding="utf-8")
    result, _ = score_with_rules(tmp_path, source)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Scored 2 leads in ")


def test_header_names_are_written_back_as_read(tmp_path: Path) -> None:
    """Regression: a repeated name came out as 'note.1' and a blank one as 'Unnamed: 3'."""
    source = tmp_path / "leads.csv"
    source.write_text("lead_id,note,note,,industry,score\nu1,a,b,c,media,7\n", encoding="utf-8")
    result, out = score_with_rules(tmp_path, source)
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "lead_id,note,note,,industry,score,fit,engagement,grade"
    assert lines[1].startswith("u1,a,b,c,media,20.0,20.0,")


def test_a_column_the_rules_read_named_twice_is_refused(tmp_path: Path) -> None:
    """Regression: of two 'industry' columns the rules silently read only the first."""
    source = tmp_path / "leads.csv"
    source.write_text("industry,industry,note,note\nretail,media,a,b\n", encoding="utf-8")
    result, out = score_with_rules(tmp_path, source)
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if not line.startswith("Note: ")]
    assert line == (
        f"Error: {source}: the header names 'industry' more than once, and the rules read "
        "columns by name; rename or remove the other columns of that name"
    )
    assert not out.exists()


def test_reasons_column(tmp_path: Path, snapshot_csv: Path) -> None:
    """--reasons K adds score_frame's reasons text; without it there is no reasons column."""
    rules = ScoringRules.from_dict(RULES)
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    base = ["--rules", str(rules_path), str(snapshot_csv), "-o", str(out), "--now", NOW_TEXT]
    assert run(*base).exit_code == 0
    assert "reasons" not in read_scored(out).columns
    result = run(*base, "--reasons", "2")
    assert result.exit_code == 0, result.output
    scored = read_scored(out)
    expected = score_frame(lead_frame(LEADS, rules, NOW), rules, NOW, reasons=2)
    assert list(scored["reasons"]) == list(expected["reasons"])
    assert scored.loc["agency", "reasons"].count(",") == 1  # two reasons
    assert scored.loc["blank", "reasons"] == ""
    assert "points.download" not in scored.columns


def test_reasons_round_as_the_written_contributions(tmp_path: Path) -> None:
    """Regression: reasons were rounded at 9 decimals and the written columns at 6, so a
    download decayed to 2e-07 was listed as 'download +2e-07' beside a points.download
    of 0.0, and two leads of the same zero engagement were explained differently."""
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(
        'half_life_days = 20\n[[fit]]\nid = "industry"\n'
        'when = { field = "industry", equals = "media" }\npoints = 20\n'
        '[[engagement]]\nid = "download"\nwhen = { event = "download" }\npoints = 10\n',
        encoding="utf-8",
    )
    source = tmp_path / "leads.csv"
    source.write_text(
        "industry,n.download,last.download\nmedia,1,1723031266\nmedia,0,\n", encoding="utf-8"
    )
    out = tmp_path / "scored.csv"
    args = ["--rules", str(rules_path), str(source), "-o", str(out), "--reasons", "3"]
    result = run(*args, "--contributions", "--now", "2026-01-01T00:00:00+00:00")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(scored["points.download"]) == ["0.0", "0.0"]
    assert list(scored["reasons"]) == ["industry +20", "industry +20"]


def test_reasons_leave_out_contributions_that_round_to_zero(tmp_path: Path) -> None:
    """Regression: a download decayed to 7.4e-208 points was listed as a reason,
    'download +7.40638e-208', though the engagement column reads 0.0."""
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(
        'half_life_days = 30\n[[fit]]\nid = "media"\n'
        'when = { field = "industry", equals = "media" }\npoints = 20\n'
        '[[engagement]]\nid = "download"\nwhen = { event = "download" }\npoints = 5\n',
        encoding="utf-8",
    )
    source = tmp_path / "leads.csv"
    source.write_text(
        "industry,n.download,last.download\nmedia,3,0\nmedia,3,-1000000000000\n",
        encoding="utf-8",
    )
    out = tmp_path / "scored.csv"
    args = ["--rules", str(rules_path), str(source), "-o", str(out), "--reasons", "3"]
    result = run(*args, "--now", "2026-11-02T09:00:00Z")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(scored["engagement"]) == ["0.0", "0.0"]
    assert list(scored["reasons"]) == ["media +20", "media +20"]


def test_chunk_size_does_not_change_the_output(tmp_path: Path, snapshot_csv: Path) -> None:
    """Scoring one row at a time writes the same file as scoring all rows at once."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    whole, single = tmp_path / "whole.csv", tmp_path / "single.csv"
    base = ["--rules", str(rules_path), str(snapshot_csv), "--now", NOW_TEXT, "--reasons", "3"]
    assert run(*base, "-o", str(whole)).exit_code == 0
    assert run(*base, "-o", str(single), "--chunk-size", "1").exit_code == 0
    assert whole.read_bytes() == single.read_bytes()


def test_summary_line(tmp_path: Path, snapshot_csv: Path) -> None:
    """The command prints one line: rows, time, leads per second and grade counts."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    result = run("--rules", str(rules_path), str(snapshot_csv), "-o", str(out), "--now", NOW_TEXT)
    assert result.exit_code == 0, result.output
    grades = read_scored(out)["grade"].value_counts()
    [line] = result.stdout.splitlines()
    assert line.startswith("Scored 4 leads in ")
    assert " leads/s) as of 2026-12-12T09:00:00+00:00; " in line
    assert f"grades: A {grades.get('A', 0)}, B {grades.get('B', 0)}, D {grades.get('D', 0)}" in line
    assert line.endswith(f"wrote {out}")


def test_example_files(tmp_path: Path) -> None:
    """The example rulebook scores the example leads; the total cap holds the hottest at 150."""
    out = tmp_path / "scored.csv"
    result = run(
        "--rules",
        str(EXAMPLES / "rules.toml"),
        str(EXAMPLES / "leads.csv"),
        "-o",
        str(out),
        "--now",
        "2026-11-02T09:00:00Z",
        "--reasons",
        "3",
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # every column the rules read is there
    scored = read_scored(out)
    assert scored.loc["hotshop", "score"] == 150
    assert scored.loc["newcomer", "score"] == -15
    assert list(scored["grade"]) == ["A", "A", "A", "C", "D", "D"]
    assert scored.loc["brightads", "reasons"].startswith("target_industry +20, silent_month -20")


def test_missing_columns_count_as_empty(tmp_path: Path) -> None:
    """A CSV without the rules' columns scores them as empty and says which were missing."""
    source = tmp_path / "leads.csv"
    source.write_text("lead_id,industry\nu1,media\nu2,\n", encoding="utf-8")
    result, out = score_with_rules(tmp_path, source)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Note: leads.csv has no column verified, tier, code, ")
    scored = read_scored(out)
    assert list(scored["score"]) == [20.0, 0.0]
    assert list(scored["grade"]) == ["B", "D"]


def test_text_cells_meet_typed_rule_values(tmp_path: Path) -> None:
    """Cells spelling true or a number match equals/in values of that type; text stays text."""
    source = tmp_path / "leads.csv"
    source.write_text(
        "lead_id,verified,tier,code\na,true,1,01\nb,TRUE,2.0,1\nc,false,3,01\nd,yes,x, 01\n",
        encoding="utf-8",
    )
    result, out = score_with_rules(tmp_path, source)
    assert result.exit_code == 0, result.output
    fit = read_scored(out)["fit"].to_dict()
    # verified +10 (equals true), tier +5 (in [1, 2]), code +3 (equals "01", as text)
    assert fit == {"a": 18.0, "b": 15.0, "c": 3.0, "d": 0.0}


def test_rescoring_a_scored_file_replaces_its_scores(tmp_path: Path, snapshot_csv: Path) -> None:
    """Scoring an output again, at another moment, replaces the score columns in place."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    args = ["--rules", str(rules_path), "--reasons", "1"]
    assert run(*args, str(snapshot_csv), "-o", str(first), "--now", NOW_TEXT).exit_code == 0
    later = (NOW + timedelta(days=30)).isoformat()
    assert run(*args, str(first), "-o", str(second), "--now", later).exit_code == 0
    before, after = read_scored(first), read_scored(second)
    assert list(after.columns) == list(before.columns)
    assert after.loc["agency", "engagement"] < before.loc["agency", "engagement"]  # staler


def test_rescoring_without_reasons_drops_the_old_ones(tmp_path: Path, snapshot_csv: Path) -> None:
    """Regression: a file scored with reasons and contributions, scored again at
    another moment without them, kept its old reasons and points.* columns beside
    the new scores, which they no longer add up to."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    rules = ["--rules", str(rules_path)]
    detailed = [*rules, "--reasons", "2", "--contributions"]
    assert run(*detailed, str(snapshot_csv), "-o", str(first), "--now", NOW_TEXT).exit_code == 0
    assert any(column.startswith("points.") for column in read_scored(first).columns)
    later = (NOW + timedelta(days=30)).isoformat()
    assert run(*rules, str(first), "-o", str(second), "--now", later).exit_code == 0
    after = read_scored(second)
    assert "reasons" not in after.columns
    assert not [column for column in after.columns if column.startswith("points.")]
    inputs = list(pd.read_csv(snapshot_csv, index_col="lead_id").columns)
    assert list(after.columns) == [*inputs, "score", "fit", "engagement", "grade"]


def test_lifecycle_rulebook_with_scoring_table(tmp_path: Path) -> None:
    """A lifecycle rulebook's [scoring] table (extended from the default) scores the CSV."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    engine.ingest(ev("form_submit", lead="buyer", email="cfo@gmail.com", asset_id="a1"))
    engine.ingest(ev("company_verified", days(1), lead="buyer", company="Acme", industry="media"))
    engine.ingest(ev("livestream_watched", days(2), lead="buyer"))
    engine.ingest(ev("download", days(3), lead="reader"))
    book = tmp_path / "lifecycle.toml"
    book.write_text(
        'extends = "default"\n\n[bands]\nscorer = "rules"\n\n[scoring]\ntotal_cap = 30\n',
        encoding="utf-8",
    )
    scoring = leadlife.load_rulebook(book).model.scoring
    assert scoring is not None
    rules = ScoringRules(scoring)
    now = T0 + days(10)
    leads = list(engine.storage.leads())
    source, out = tmp_path / "leads.csv", tmp_path / "scored.csv"
    lead_frame(leads, rules, now).to_csv(source)
    result = run("--rules", str(book), str(source), "-o", str(out), "--now", now.isoformat())
    assert result.exit_code == 0, result.output
    scored = read_scored(out)
    scorer = RuleScorer(rules)
    for made in leads:
        assert math.isclose(scored.loc[made.id, "score"], scorer.score(made, now), abs_tol=1e-6)
    assert scored.loc["buyer", "score"] == 30  # the override's cap
    assert scored.loc["buyer", "fit"] == 15 + 10 - 10  # industry, verified, free mail


def test_lifecycle_rulebook_without_extends(tmp_path: Path) -> None:
    """A lifecycle rulebook that is not extended from the default is read for its [scoring]."""
    book = tmp_path / "lifecycle.toml"
    book.write_text(
        "[bands]\nwarm = 5\n\n"
        '[[scoring.fit]]\nwhen = { field = "industry", equals = "media" }\npoints = 12\n',
        encoding="utf-8",
    )
    source, out = tmp_path / "leads.csv", tmp_path / "scored.csv"
    source.write_text("lead_id,industry\nu1,media\nu2,retail\n", encoding="utf-8")
    result = run("--rules", str(book), str(source), "-o", str(out), "--now", NOW_TEXT)
    assert result.exit_code == 0, result.output
    assert list(read_scored(out)["score"]) == [12.0, 0.0]


def test_lifecycle_rulebook_without_scoring_is_refused(tmp_path: Path) -> None:
    """A lifecycle rulebook with no [scoring] table is a one-line error naming `scoring`."""
    book = tmp_path / "lifecycle.toml"
    book.write_text("[bands]\nwarm = 5\n", encoding="utf-8")
    source = tmp_path / "leads.csv"
    source.write_text("lead_id\nu1\n", encoding="utf-8")
    result = run("--rules", str(book), str(source), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: rulebook {book}: scoring: this lifecycle rulebook has no [scoring] table. "
        'Fix: add one, or extends = "default" to use the default scoring rules\n'
    )


def test_naive_now_is_refused(tmp_path: Path, snapshot_csv: Path) -> None:
    """A --now without a UTC offset is a usage error and nothing is written."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    args = ["--rules", str(rules_path), str(snapshot_csv), "-o", str(out)]
    result = run(*args, "--now", "2026-11-02T09:00:00")
    assert result.exit_code == 2
    assert "Invalid value for '--now': '2026-11-02T09:00:00' has no timezone" in result.output
    assert not out.exists()
    result = run(*args, "--now", "next tuesday")
    assert result.exit_code == 2
    assert "is not an ISO 8601 date and time" in result.output


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_now_outside_the_engines_years_is_refused(
    tmp_path: Path, snapshot_csv: Path, moment: str
) -> None:
    """Regression: --now 9999-12-31T23:59:59Z was taken, though route refuses such a moment
    and the engine keeps time in 1900-2999 only."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    result = run("--rules", str(rules_path), str(snapshot_csv), "-o", str(out), "--now", moment)
    assert result.exit_code == 2
    assert f"Invalid value for '--now': {moment!r} is outside the years 1900 to 2999" in (
        result.output
    )
    assert not out.exists()


def test_now_defaults_to_the_current_time(tmp_path: Path, snapshot_csv: Path) -> None:
    """Without --now the leads are scored as of the current UTC time."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    before = datetime.now(UTC)
    result = run("--rules", str(rules_path), str(snapshot_csv), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    moment = datetime.fromisoformat(result.stdout.split(" as of ")[1].split(";")[0])
    assert before <= moment <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("rules_text", "words"),
    [
        ('[[fit]]\nwhen = { field = "a", exists = true }\npoints = "lots"\n', "fit.0.points"),
        ('[[engagement]]\nwhen = { evnt = "x" }\npoints = 1\n', "engagement.0.when"),
        ("typo = 1\n", "unknown key 'typo'"),
        ("half_life_days = [\n", "not valid TOML"),
        ('[[scoring.fit]]\nwhen = { field = "a", exists = true }\npoints = "x"\n', "scoring.fit.0"),
    ],
)
def test_bad_rulebook_is_a_one_line_error(
    tmp_path: Path, snapshot_csv: Path, rules_text: str, words: str
) -> None:
    """A rulebook that does not load gives one line naming what is wrong, and exit code 1."""
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(rules_text, encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = run("--rules", str(rules_path), str(snapshot_csv), "-o", str(out), "--now", NOW_TEXT)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # no traceback
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: rulebook {rules_path}: ")
    assert words in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("typo", "hint"),
    [
        # Regression: these were answered with keys a fit rule's when refuses in turn
        # (not, any, within_days, min_count), whose error then said to remove them.
        ('not_in = ["media"]', None),
        ("any_of = []", None),
        ("within = 7", None),
        ("event_count = 2", None),
        ("equal = 1", "equals"),
        ('mathces = "free_mail"', "matches"),
    ],
)
def test_a_fit_rules_typo_is_answered_with_a_key_a_fit_rule_takes(
    tmp_path: Path, snapshot_csv: Path, typo: str, hint: str | None
) -> None:
    """The "did you mean" of a misspelt key of a fit rule's when names only field-test keys."""
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(
        f'[[fit]]\nid = "a"\nwhen = {{ field = "industry", {typo} }}\npoints = 5\n',
        encoding="utf-8",
    )
    out = tmp_path / "scored.csv"
    result = run("--rules", str(rules_path), str(snapshot_csv), "-o", str(out), "--now", NOW_TEXT)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert f"fit.0.when.{typo.split()[0]}: unknown key" in line
    if hint is None:
        assert "did you mean" not in line
    else:
        assert f"did you mean {hint!r}?" in line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read the file (No such file or directory)"),
        ("", "the file is empty; give a header row naming the columns"),
        ("\n\n", "the file is empty; give a header row"),
        ("lead_id,n.download\nu1,2\nu2,two\n", "column 'n.download', row 2: 'two' is not a number"),
        # Regression: float() read these, and they scored as empty, capped or undecayed.
        ("lead_id,n.download\nu1,nan\n", "'nan' is not a count (0 or more)"),
        ("lead_id,n.download\nu1,2\nu2,inf\n", "row 2: 'inf' is not a count"),
        ("lead_id,n.download\nu1,1e400\n", "'1e400' is not a count"),
        ("lead_id,n.download\nu1, -5\n", "' -5' is not a count"),
        ("lead_id,last.download\nu1,inf\n", "'inf' is not a time in epoch seconds"),
        ("lead_id\nu1,2\n", "a row has more fields than the header has names"),
        ('lead_id\n"u1\n', "EOF inside string"),
        (b"lead_id\n\xff\n", "not UTF-8 text"),
        ("lead_id;n.download\nu1;2\n", "looks separated by ';'; save the file comma-separated"),
    ],
)
def test_bad_leads_file_is_a_one_line_error(
    tmp_path: Path, content: str | bytes | None, words: str
) -> None:
    """A missing or malformed CSV gives one line naming the file, and leaves no output."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    source = tmp_path / "leads.csv"
    if isinstance(content, str):
        source.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        source.write_bytes(content)
    out = tmp_path / "scored.csv"
    result = run("--rules", str(rules_path), str(source), "-o", str(out), "--now", NOW_TEXT)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if not line.startswith("Note: ")]
    assert line.startswith(f"Error: {source}: ")
    assert words in line
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["rules.toml", *(["leads.csv"] if content is not None else [])]
    )


def test_a_terminated_run_leaves_no_partial_file(tmp_path: Path) -> None:
    """Regression: SIGTERM (timeout, a cancelled CI job) killed the command without
    unwinding, and the hidden .part file of the output stayed beside it."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    source = tmp_path / "leads.csv"
    source.write_text(
        "industry,n.download,last.download\n" + "media,3,1793523600\n" * 1_000_000,
        encoding="utf-8",
    )
    out = tmp_path / "scored.csv"
    args = ["--rules", str(rules_path), str(source), "-o", str(out), "--now", NOW_TEXT]
    env = {**os.environ, "PYTHONPATH": str(Path(leadlife.__file__).parents[1])}
    command = [sys.executable, "-m", "leadlife", "score", *args, "--chunk-size", "100"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".scored.csv.*.part")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)  # well into the writing
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert b"Traceback" not in stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["leads.csv", "rules.toml"]


def test_version_does_not_import_pandas() -> None:
    """The console command's module loads without pandas, so `leadlife --version` stays light."""
    code = "import sys, leadlife.cli; print('pandas' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_boolean_cells_count_for_numeric_rules(tmp_path: Path) -> None:
    """Regression: a lead frame written to CSV spells booleans True/False, which
    min/max conditions and numeric weighted rules read as missing (0 points where
    the engine gave 15)."""
    rules = {
        "fit": [{"id": "verified", "when": {"field": "company_verified", "min": 1}, "points": 10}],
        "weighted": [{"id": "sme", "field": "sme", "weight": 5}],
    }
    scorer = RuleScorer(ScoringRules.from_dict(rules))
    leads = [lead("yes", company_verified=True, sme=True), lead("no", sme=False)]
    frame = lead_frame(leads, scorer.rules, NOW)
    frame.to_csv(tmp_path / "leads.csv")
    out = tmp_path / "scored.csv"
    result = run(
        str(tmp_path / "leads.csv"),
        "--rules",
        str(write_rules(tmp_path / "rules.toml", rules)),
        "-o",
        str(out),
        "--now",
        NOW.isoformat(),
    )
    assert result.exit_code == 0, result.output
    scored = read_scored(out)
    assert scored.loc["yes", "score"] == scorer.score(leads[0], NOW) == 15.0
    assert scored.loc["no", "score"] == scorer.score(leads[1], NOW) == 0.0


def test_sigterm_is_caught_only_where_its_default_action_would_kill() -> None:
    """Regression: the SIGTERM handler replaced an inherited SIG_IGN (a run told to
    ignore SIGTERM died with 143) and a host's own handler, for the length of a write."""
    from leadlife.cli import _sigterm_as_exit

    def host(signum: int, frame: object) -> None:
        """A host's graceful shutdown."""

    saved = signal.getsignal(signal.SIGTERM)
    try:
        for disposition in (signal.SIG_IGN, host):
            signal.signal(signal.SIGTERM, disposition)
            with _sigterm_as_exit():
                assert signal.getsignal(signal.SIGTERM) is disposition
            assert signal.getsignal(signal.SIGTERM) is disposition
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with _sigterm_as_exit():
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            with pytest.raises(SystemExit) as stopped:
                signal.raise_signal(signal.SIGTERM)
            assert stopped.value.code == 128 + signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, saved)


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
def test_a_pipe_as_input_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    """Regression: a LEADS.csv that is a pipe (`<(...)`, /dev/stdin) cannot be read
    twice, and the failed seek was reported as 'SCORED.csv: cannot write there (None)'."""
    rules_path = write_rules(tmp_path / "rules.toml", RULES)
    out = tmp_path / "scored.csv"
    read, write = os.pipe()
    try:
        os.write(write, b"industry\nmedia\n")
        os.close(write)
        source = f"/dev/fd/{read}"
        result = run("--rules", str(rules_path), source, "-o", str(out), "--now", NOW_TEXT)
    finally:
        os.close(read)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line == (
        f"Error: {source}: cannot be read twice (a pipe or other stream); save it as a file first"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["rules.toml"]
