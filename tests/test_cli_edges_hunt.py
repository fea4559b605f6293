"""Edge cases of the ``leadlife`` command: the paths and files users give it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from leadlife.cli import main

RULES = """
grades = { A = 20, B = 10 }

[[fit]]
id = "media"
when = { field = "industry", equals = "media" }
points = 20
"""
LEADS = "lead_id,industry\nacme,media\nshop,retail\n"
ROUTING = """
[[teams]]
id = "inside"
members = [{ id = "rep1" }, { id = "rep2" }]

[routers.fallback]
team = "inside"
"""
NOW = "2026-11-02T09:00:00Z"


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args], prog_name="leadlife")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    (tmp_path / "routing.toml").write_text(ROUTING, encoding="utf-8")
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8")
    return tmp_path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("command", ["score", "route"])
def test_output_into_a_pipe_writes_into_it_and_keeps_it(files: Path, command: str) -> None:
    """Regression: -o naming a device or a pipe (-o /dev/null, a FIFO) renamed a
    finished file over it, replacing the device node itself (as root, /dev/null)."""
    fifo = files / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so opening it to write won't block
    try:
        if command == "score":
            args = ["score", "--rules", files / "rules.toml", "--now", NOW]
        else:
            args = ["route", "--routing", files / "routing.toml", "--at", NOW]
        result = run(*args, files / "leads.csv", "-o", fifo)
        assert result.exit_code == 0, result.output
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
        written = os.read(reader, 1 << 16).decode("utf-8")
    finally:
        os.close(reader)
    assert written.startswith("lead_id,industry,")
    assert len(written.splitlines()) == 3
    assert not [path.name for path in files.iterdir() if path.name.endswith(".part")]


def _training_csv(header: str) -> str:
    rows = [header]
    for number in range(200):
        visits = number % 7
        rows.append(
            f"{number},{visits},{'Pune' if number % 3 else 'Mumbai'},{visits},{int(visits > 3)}"
        )
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("lead_id,visits,city,visits,Converted", "the header names 'visits' more than once"),
        ("lead_id,visits,city,,Converted", "column 4 of the header has no name"),
    ],
)
def test_train_refuses_a_header_score_could_not_read_back(
    tmp_path: Path, header: str, said: str
) -> None:
    """Regression: train read a repeated or blank header name as pandas renames it
    ('visits.1', 'Unnamed: 3'), so the model learned a column that `score --model`,
    reading the header as written, refused or read as empty in the very same file."""
    data = tmp_path / "leads.csv"
    data.write_text(_training_csv(header), encoding="utf-8")
    model = tmp_path / "models" / "scorer"
    args = ["--label", "Converted", "--drop", "lead_id", "--min-positives", "5"]
    result = run("train", data, *args, "-o", model)
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert line.startswith(f"Error: {data}: {said}")
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("output", ["", ".", "..", "models/..", ".joblib"])
def test_train_refuses_an_output_that_names_no_model_before_training(
    tmp_path: Path, output: str
) -> None:
    """Regression: an -o naming a folder ('.', '' or '..') trained the whole model, then
    ended in a ValueError traceback from save_model."""
    data = tmp_path / "leads.csv"
    data.write_text(_training_csv("lead_id,visits,city,again,Converted"), encoding="utf-8")
    args = ["--label", "Converted", "--drop", "lead_id", "--min-positives", "5"]
    result = run("train", data, *args, "-o", output)
    assert result.exit_code == 2
    assert "Invalid value for '-o' / '--output'" in result.output
    assert "a folder, not a model" in result.output or "is a directory" in result.output
    assert "Reading" not in result.stderr  # refused before reading the data
