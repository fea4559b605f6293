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


def _writing(command: str, files: Path) -> list[object]:
    """The arguments of ``score`` or ``route`` on the fixture's files, before LEADS.csv."""
    if command == "score":
        return ["score", "--rules", files / "rules.toml", "--now", NOW]
    return ["route", "--routing", files / "routing.toml", "--at", NOW]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("command", ["score", "route"])
def test_output_into_a_pipe_writes_into_it_and_keeps_it(files: Path, command: str) -> None:
    """Regression: -o naming a device or a pipe (-o /dev/null, a FIFO) renamed a
    finished file over it, replacing the device node itself (as root, /dev/null)."""
    fifo = files / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so opening it to write won't block
    try:
        result = run(*_writing(command, files), files / "leads.csv", "-o", fifo)
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
    said = ("a folder, not a model", "is a directory", "names no file")
    assert any(words in result.output for words in said)
    assert "Reading" not in result.stderr  # refused before reading the data


@pytest.mark.parametrize(
    ("option", "args"),
    [
        ("-o", ["score", "--rules", "{rules}", "--now", NOW, "{leads}", "-o", ""]),
        ("--rules", ["score", "--rules", "", "--now", NOW, "{leads}", "-o", "{out}"]),
        ("--model", ["score", "--model", " ", "{leads}", "-o", "{out}"]),
        ("LEADS.csv", ["score", "--rules", "{rules}", "", "-o", "{out}"]),
        ("--routing", ["route", "--routing", "", "--at", NOW, "{leads}", "-o", "{out}"]),
        ("-o", ["train", "{leads}", "--label", "converted", "-o", ""]),
    ],
)
def test_an_empty_path_names_its_option(files: Path, option: str, args: list[str]) -> None:
    """Regression: an empty path (-o "", --rules "", a blank variable in a script)
    was read as ".", the current folder, and failed with ".: cannot write there (Is a
    directory)", naming neither the option nor the mistake."""
    places = {
        "{rules}": files / "rules.toml",
        "{leads}": files / "leads.csv",
        "{out}": files / "out.csv",
    }
    result = run(*(places.get(arg, arg) for arg in args))
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "names no file" in result.output
    assert not (files / "out.csv").exists()


@pytest.mark.parametrize("command", ["score", "route"])
def test_output_through_a_symlink_writes_the_file_it_names(files: Path, command: str) -> None:
    """Regression: -o naming a symbolic link replaced the link with a new file, so its
    target (the file other readers of the link see) kept the old output."""
    target = files / "shared" / "latest.csv"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    link = files / "latest.csv"
    link.symlink_to(target)
    result = run(*_writing(command, files), files / "leads.csv", "-o", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    written = target.read_text(encoding="utf-8")
    assert written.startswith("lead_id,industry,")
    assert written.count("\n") == 3  # the header and both leads
    assert [path.name for path in target.parent.iterdir()] == ["latest.csv"]  # no .part left


@pytest.mark.parametrize("text", ["", "# scoring rules, to do\n", 'name = "empty"\n'])
def test_score_refuses_a_rules_file_without_rules(files: Path, text: str) -> None:
    """Regression: an empty rules file (or one with only settings) was taken as a
    rulebook with no rules: every lead scored 0 and graded D, and the command
    reported success."""
    rules = files / "blank.toml"
    rules.write_text(text, encoding="utf-8")
    result = run(
        "score", "--rules", rules, "--now", NOW, files / "leads.csv", "-o", files / "o.csv"
    )
    assert result.exit_code == 1, result.output
    assert "holds no scoring rules" in result.output
    assert "[[fit]]" in result.output
    assert not (files / "o.csv").exists()
