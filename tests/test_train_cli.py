"""`leadlife train` and `leadlife score --model`: train, save, report and score from the shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from threadpoolctl import threadpool_limits

from leadlife.cli import main
from leadlife.ml.encoding import clean_frame
from leadlife.ml.persistence import load_model, read_sidecar
from tests.test_training import leads


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One OpenMP thread: HistGradientBoosting's thread pool crawls on a shared 2-core machine."""
    with threadpool_limits(1):
        yield


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("train-cli")


@pytest.fixture(scope="module")
def data_csv(folder: Path) -> Path:
    """A CSV export of 800 synthetic leads with a Converted column."""
    path = folder / "leads.csv"
    leads().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(folder: Path, data_csv: Path) -> tuple[Result, Path]:
    """One `leadlife train` run with a report; the result and the model's name."""
    name = folder / "models" / "lead-scorer"
    result = run(
        "train",
        data_csv,
        "--label",
        "Converted",
        "--drop",
        "lead_id",
        "--estimator",
        "hist_gradient_boosting",
        "--min-positives",
        "50",
        "-o",
        name,
        "--report",
        folder / "report",
    )
    return result, name


def test_train_saves_a_model_and_a_report(folder: Path, trained: tuple[Result, Path]) -> None:
    """train fits on the CSV, saves version 1 with its sidecar, and writes the report files."""
    result, name = trained
    assert result.exit_code == 0, result.output
    model_file = name.parent / "lead-scorer.v1.joblib"
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Trained HistGradientBoostingClassifier on 720 leads in ")
    assert "holdout: 80 leads, " in lines[0]
    assert "ROC-AUC " in lines[0]
    assert lines[1].startswith(f"Wrote {folder / 'report'}: report.json, roc.png, ")
    assert lines[2] == f"Saved {model_file} (sidecar lead-scorer.v1.joblib.json)"
    sidecar = read_sidecar(model_file)
    assert sidecar["metrics"]["leads"] == 80
    assert [item["name"] for item in sidecar["features"]] == [
        "visits",
        "minutes",
        "city",
        "Do Not Email",
    ]
    report = json.loads((folder / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["metrics"]["roc_auc"] == pytest.approx(sidecar["metrics"]["roc_auc"])
    assert (folder / "report" / "gains.png").stat().st_size > 0


def test_train_reports_stages_on_stderr(trained: tuple[Result, Path]) -> None:
    """Progress goes to stderr, one stage per line, and stdout stays the summary."""
    result, _ = trained
    stages = [line.split()[0] for line in result.stderr.splitlines()]
    expected = ["Reading", "Cleaning", "Holding", "Checking", "Fitting", "Evaluating"]
    assert stages == [*expected, "Writing", "Saving"]
    assert all(line.endswith(" ...") for line in result.stderr.splitlines())


def test_score_with_the_model(folder: Path, data_csv: Path, trained: tuple[Result, Path]) -> None:
    """score --model writes the input columns plus probability, score, tag and reasons."""
    _, name = trained
    out = folder / "scored.csv"
    result = run("score", "--model", name, data_csv, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Scored 800 leads in ")
    assert "with model lead-scorer.v1.joblib; tags: high " in result.stdout
    scored = pd.read_csv(out, keep_default_na=False)
    source = pd.read_csv(data_csv, keep_default_na=False)
    assert list(scored.columns) == [*source.columns, "probability", "score", "tag", "reasons"]
    model = load_model(name)
    features = clean_frame(pd.read_csv(data_csv)).drop(columns=["lead_id", "Converted"])
    expected = model.predict_proba(features)[:, 1]
    np.testing.assert_allclose(scored["probability"], expected, atol=1e-6)
    np.testing.assert_allclose(scored["score"], 100 * expected, atol=1e-5)
    assert set(scored["tag"]) <= {"high", "medium", "low"}
    assert scored["reasons"].str.len().gt(0).all()


def test_chunks_do_not_change_the_scores(
    folder: Path, data_csv: Path, trained: tuple[Result, Path]
) -> None:
    """Scoring 37 rows at a time writes the same file as scoring all at once."""
    _, name = trained
    whole, chunked = folder / "whole.csv", folder / "chunked.csv"
    assert run("score", "--model", name, data_csv, "-o", whole).exit_code == 0
    result = run("score", "--model", name, data_csv, "-o", chunked, "--chunk-size", "37")
    assert result.exit_code == 0, result.output
    assert chunked.read_text(encoding="utf-8") == whole.read_text(encoding="utf-8")


def test_missing_and_malformed_columns(folder: Path, trained: tuple[Result, Path]) -> None:
    """A column the file lacks is empty, with a note; text in a numeric column is an error."""
    _, name = trained
    source = folder / "partial.csv"
    source.write_text("lead_id,visits,city\nA,3,Pune\nB,,Select\n", encoding="utf-8")
    out = folder / "partial-scored.csv"
    result = run("score", "--model", name, source, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Note: partial.csv has no column minutes, Do Not Email;")
    assert len(pd.read_csv(out)) == 2
    source.write_text("lead_id,visits,minutes\nA,3,10\nB,lots,5\n", encoding="utf-8")
    result = run("score", "--model", name, source, "-o", out)
    assert result.exit_code == 1
    assert "column 'visits', row 2: 'lots' is not a number" in result.output


def test_yes_no_beside_numbers_reads_alike_in_any_chunk(
    folder: Path, trained: tuple[Result, Path]
) -> None:
    """Regression: Yes/No in a numeric column was 1/0 only in a chunk holding nothing
    else, so a chunk with Yes beside a 1 failed and --chunk-size 1 scored it."""
    _, name = trained
    source = folder / "yes-no.csv"
    source.write_text(
        "lead_id,visits,minutes,Do Not Email\nA,3,10,Yes\nB,3,10,1\nC,3,10,no\nD,3,10,0\n",
        encoding="utf-8",
    )
    whole, single = folder / "yes-no-whole.csv", folder / "yes-no-single.csv"
    result = run("score", "--model", name, source, "-o", whole)
    assert result.exit_code == 0, result.output
    assert run("score", "--model", name, source, "-o", single, "--chunk-size", "1").exit_code == 0
    assert whole.read_text(encoding="utf-8") == single.read_text(encoding="utf-8")
    scores = pd.read_csv(whole, index_col="lead_id")["score"]
    assert scores["A"] == scores["B"]
    assert scores["C"] == scores["D"]


def test_retraining_writes_the_next_version(
    folder: Path, data_csv: Path, trained: tuple[Result, Path]
) -> None:
    """Training again under the same name saves version 2 beside version 1."""
    _, name = trained
    result = run(
        "train", data_csv, "--label", "Converted", "--drop", "lead_id", "--estimator",
        "hist_gradient_boosting", "--min-positives", "50", "--seed", "1", "-o", name,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Saved {name.parent / 'lead-scorer.v2.joblib'} " in result.stdout
    assert read_sidecar(name.parent / "lead-scorer.v2.joblib")["version"] == 2


def test_search_option(folder: Path, data_csv: Path) -> None:
    """--search tunes the classifier with a randomized search before evaluating it."""
    result = run(
        "train", data_csv, "--label", "Converted", "--drop", "lead_id", "--estimator",
        "hist_gradient_boosting", "--search", "--n-iter", "2", "--cv", "2",
        "--min-positives", "50", "-o", folder / "searched",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Searching 2 candidates x 2 folds" in result.stderr


def test_leaky_column_is_a_warning(folder: Path) -> None:
    """A column that gives the label away is named in a warning and in the summary."""
    frame = leads(400, seed=2)
    frame["Tags"] = np.where(frame["Converted"] == 1, "Closed", "Lost")
    path = folder / "leaky.csv"
    frame.to_csv(path, index=False)
    args = ["train", path, "--label", "Converted", "--drop", "lead_id", "--min-positives", "20"]
    result = run(*args, "--estimator", "hist_gradient_boosting", "-o", folder / "leaky")
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert "Tags" in warning
    assert (
        "Leakage: 'Tags': each alone nearly separates the label; consider --drop" in result.stdout
    )


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--min-positives", "5000"], "'Converted' has "),
        (["--label", "converted"], "no label column 'converted'"),
        (["--drop", "Tags"], "cannot drop 'Tags'"),
    ],
)
def test_train_errors_are_one_line(
    folder: Path, data_csv: Path, extra: list[str], words: str
) -> None:
    """Too few positives, an unknown label or drop column: one line, exit 1, nothing saved."""
    options = {"--label": "Converted", "--min-positives": "50"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        options[flag] = value
    args: list[str | Path] = ["train", data_csv, "-o", folder / "refused"]
    for flag, value in options.items():
        args += [flag, value]
    result = run(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = [line for line in result.stderr.splitlines() if not line.endswith(" ...")]
    assert line.startswith("Error: ")
    assert words in line
    assert not list(folder.glob("refused*"))


def test_train_usage_errors(folder: Path, data_csv: Path) -> None:
    """A missing file, a versioned -o and a missing --label are refused before training."""
    result = run("train", folder / "absent.csv", "--label", "Converted", "-o", folder / "m")
    assert result.exit_code == 1
    assert "absent.csv: cannot read the file (No such file or directory)" in result.output
    empty = folder / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = run("train", empty, "--label", "Converted", "-o", folder / "m")
    assert result.exit_code == 1
    assert "empty.csv: the file is empty; give a header row naming the columns" in result.output
    result = run("train", data_csv, "--label", "Converted", "-o", folder / "m.v3")
    assert result.exit_code == 2
    assert "names a version" in result.output
    result = run("train", data_csv, "-o", folder / "m")
    assert result.exit_code == 2
    assert "Missing option '--label'" in result.output


def test_score_needs_exactly_one_of_rules_and_model(
    folder: Path, data_csv: Path, trained: tuple[Result, Path]
) -> None:
    """--rules and --model exclude each other, one is required; rule-only options are refused."""
    _, name = trained
    out = folder / "never.csv"
    neither = run("score", data_csv, "-o", out)
    assert neither.exit_code == 2
    assert "give either --rules RULES.toml or --model MODEL" in neither.output
    both = run("score", "--rules", folder / "r.toml", "--model", name, data_csv, "-o", out)
    assert both.exit_code == 2
    now = run("score", "--model", name, data_csv, "-o", out, "--now", "2026-11-02T09:00:00Z")
    assert now.exit_code == 2
    assert "--now applies to --rules only" in now.output
    assert not out.exists()


def test_tampered_model_is_refused_by_score(
    folder: Path, data_csv: Path, trained: tuple[Result, Path]
) -> None:
    """score --model refuses a model file that no longer matches its sidecar, in one line."""
    _, name = trained
    model_file = name.parent / "lead-scorer.v1.joblib"
    copy = folder / "tampered" / "lead-scorer.v1.joblib"
    copy.parent.mkdir()
    copy.write_bytes(model_file.read_bytes() + b"\0")
    Path(f"{copy}.json").write_bytes(Path(f"{model_file}.json").read_bytes())
    out = folder / "tampered.csv"
    result = run("score", "--model", copy, data_csv, "-o", out)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: {copy}: sha256 ")
    assert "does not match the sidecar" in line
    assert not out.exists()


def test_score_names_a_model_file_that_is_not_there(
    folder: Path, data_csv: Path, trained: tuple[Result, Path]
) -> None:
    """Regression: a version that was never saved, or a .joblib path with a typo, was
    refused as a model file without a sidecar, whose origin cannot be checked."""
    _, name = trained
    out = folder / "never.csv"
    result = run("score", "--model", f"{name}.v9.joblib", data_csv, "-o", out)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: {name}.v9.joblib: no such file: no version 9 of 'lead-scorer'")
    assert "(saved versions: 1" in line
    assert "sidecar" not in line
    result = run("score", "--model", name.parent / "typo.joblib", data_csv, "-o", out)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: {name.parent / 'typo.joblib'}: no such file")
    assert "origin" not in line
    assert not out.exists()


def test_a_report_folder_that_cannot_be_written_saves_no_model(
    folder: Path, data_csv: Path
) -> None:
    """Regression: --report in a place that cannot be written failed after the model was
    saved, so the failed run left a version behind (and a rerun saved the next one)."""
    blocker = folder / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    name = folder / "unreported"
    args = ["train", data_csv, "--label", "Converted", "--min-positives", "50", "-o", name]
    result = run(*args, "--report", blocker / "report")
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()  # refused before reading the data
    assert line.startswith(f"Error: --report {blocker / 'report'}: cannot write the report there")
    assert not list(folder.glob("unreported*"))
    # Checked by creating the folder: a run that fails later leaves it as it was.
    result = run(*args, "--min-positives", "5000", "--report", folder / "new" / "report")
    assert result.exit_code == 1
    assert "needs at least 5000" in result.stderr
    assert not (folder / "new").exists()


def test_score_refuses_a_column_the_model_reads_named_twice(
    folder: Path, trained: tuple[Result, Path]
) -> None:
    """Regression: of two 'visits' columns the model silently read only the first (and the
    output called the second 'visits.1')."""
    _, name = trained
    source = folder / "twice.csv"
    source.write_text("visits,visits,city,note,note\n3,9,Pune,a,b\n", encoding="utf-8")
    out = folder / "twice-scored.csv"
    result = run("score", "--model", name, source, "-o", out)
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if not line.startswith("Note: ")]
    assert line.startswith(f"Error: {source}: the header names 'visits' more than once")
    assert not out.exists()


def test_a_model_that_cannot_be_saved_leaves_no_report(
    folder: Path, data_csv: Path, trained: tuple[Result, Path]
) -> None:
    """Regression: the report was written before the model was saved, so a failed save
    left a full report behind, and replaced an earlier run's report with it."""
    assert trained[0].exit_code == 0, trained[0].output
    blocker = folder / "not-a-folder"
    blocker.write_text("a file", encoding="utf-8")
    earlier = folder / "report" / "report.json"
    before, inode = earlier.read_bytes(), earlier.stat().st_ino
    args = ["train", data_csv, "--label", "Converted", "--drop", "lead_id"]
    args += ["--estimator", "hist_gradient_boosting", "--min-positives", "50", "--seed", "1"]
    for report in (folder / "report", folder / "fresh" / "report"):
        result = run(*args, "-o", blocker / "a", "--report", report)
        assert result.exit_code == 1
        [line] = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert line.startswith(f"Error: {blocker / 'a'}: cannot save there")
        assert "Wrote" not in result.stdout
    assert earlier.read_bytes() == before
    assert earlier.stat().st_ino == inode
    assert not list((folder / "report").glob(".*"))  # no temporary folder left either
    assert not (folder / "fresh").exists()
