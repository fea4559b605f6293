"""The ``leadlife`` console command."""

from __future__ import annotations

from click.testing import CliRunner

import leadlife
from leadlife.cli import main


def test_version() -> None:
    """`leadlife --version` prints the package version."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert leadlife.__version__ in result.output


def test_demo_prints_a_funnel() -> None:
    """`leadlife demo` runs a small seeded world and prints every stage with its counts."""
    result = CliRunner().invoke(main, ["demo", "--leads", "300", "--days", "21", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "300 leads, 21 days" in result.output
    for stage in leadlife.Stage:
        assert stage.name in result.output
    assert "0 rejected" in result.output


def test_demo_is_deterministic() -> None:
    """The same seed prints the same funnel twice."""
    args = ["demo", "--leads", "200", "--days", "14", "--seed", "9"]
    first = CliRunner().invoke(main, args).output
    assert first == CliRunner().invoke(main, args).output


def test_demo_bands_follow_the_rule_scorer() -> None:
    """The demo's engine places leads in bands by the rule scorer named "rules"."""
    from leadlife.demo import World, run_demo

    engine = run_demo(World(leads=200, days=14, seed=3)).engine
    assert engine.rulebook.scorer_name == "rules"
    leads = list(engine.storage.leads())
    assert leads
    assert all(lead.score == lead.scores["rules"] for lead in leads)


def test_demo_prints_the_top_open_leads() -> None:
    """After the funnel, the demo lists the 10 best-scored open leads with grade and reasons."""
    from leadlife.demo import World, run_demo

    args = ["demo", "--leads", "300", "--days", "21", "--seed", "5"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("Top 10 open leads by score (scorer 'rules')")
    assert lines[start - 1] == ""
    assert lines[start + 1].split() == ["lead", "stage", "score", "grade", "top", "reasons"]
    rows = lines[start + 3 :]
    assert len(rows) == 10

    engine = run_demo(World(leads=300, days=21, seed=5)).engine
    open_leads = [lead for lead in engine.storage.leads() if lead.stage.is_open]
    best = sorted(open_leads, key=lambda lead: (-lead.scores["rules"], lead.id))[:10]
    for row, lead in zip(rows, best, strict=True):
        lead_id, stage, score, grade, reasons = row.split(maxsplit=4)
        why = engine.explain(lead.id, "rules")
        assert (lead_id, stage) == (lead.id, lead.stage.name)
        assert float(score) == round(lead.scores["rules"], 1)
        assert grade == why.grade
        expected = [f"{c.rule} {round(c.points, 1):+g}" for c in why.contributions[:3]]
        assert reasons.split(", ") == expected
