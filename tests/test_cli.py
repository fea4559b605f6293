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
