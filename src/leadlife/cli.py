"""The ``leadlife`` console command."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import click

from leadlife import __version__

if TYPE_CHECKING:
    import pandas as pd

    from leadlife.scoring import ScoringRules

__all__ = ["main"]

# Top-level keys only a lifecycle rulebook has; its scoring rules sit under [scoring].
_LIFECYCLE_KEYS = frozenset(
    {"extends", "scoring", "bands", "timers", "qualification", "phone_region"}
)
_PROGRESS_BYTES = 4 * 1024 * 1024  # inputs smaller than this score too fast for a bar
_DECIMALS = 6  # scores are written rounded to this many decimal places
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadlife")
def main() -> None:
    """leadlife: a pluggable lead-lifecycle engine for B2B sales teams."""


@main.command()
@click.option("--leads", default=3000, show_default=True, help="How many synthetic leads.")
@click.option("--days", default=42, show_default=True, help="How many days of events.")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic world.")
def demo(leads: int, days: int, seed: int) -> None:
    """Run a seeded synthetic world through the engine; print the funnel and top leads."""
    from leadlife.demo import World, format_funnel, format_top_leads, run_demo

    world = World(leads=leads, days=days, seed=seed)
    click.echo(
        f"Synthetic world: {leads} leads, {days} days from {world.start:%Y-%m-%d}, seed {seed}"
    )
    result = run_demo(world)
    report = result.report
    click.echo(
        f"Ingested {report.accepted} events ({report.duplicates} duplicates, "
        f"{len(report.rejected)} rejected); {report.stage_changes} stage changes on ingest, "
        f"{result.tick_changes} from {result.ticks} daily ticks; "
        f"{result.notices} reactivation notices."
    )
    click.echo("")
    click.echo(format_funnel(result.engine))
    click.echo("")
    click.echo(format_top_leads(result.engine))


# -- leadlife score ---------------------------------------------------------------------


def _aware_moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--now``: an ISO 8601 date and time with its UTC offset; a naive one is refused."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date and time (e.g. 2026-11-02T09:00:00+00:00)"
        ) from None
    if moment.utcoffset() is None:
        raise click.BadParameter(
            f"{value!r} has no timezone; give its UTC offset, "
            f"e.g. {moment.isoformat()}+00:00 or {moment.isoformat()}Z"
        )
    return moment


@main.command()
@click.argument("leads", type=click.Path(dir_okay=False, path_type=Path), metavar="LEADS.csv")
@click.option(
    "--rules",
    "rules_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="RULES.toml",
    help="A scoring rulebook, or a lifecycle rulebook with a [scoring] table.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="SCORED.csv",
    help="Where to write the input columns plus the scores.",
)
@click.option(
    "--now",
    metavar="ISO8601",
    callback=_aware_moment,
    help="The moment to score at, with its UTC offset (default: the current time).",
)
@click.option(
    "--reasons",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="K",
    help="Add a 'reasons' column with each lead's K largest contributions.",
)
@click.option(
    "--contributions",
    is_flag=True,
    help="Add one 'points.<rule id>' column per rule.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    metavar="N",
    help="How many rows to read, score and write at a time.",
)
def score(
    leads: Path,
    rules_path: Path,
    output: Path,
    now: datetime | None,
    reasons: int,
    contributions: bool,
    chunk_size: int,
) -> None:
    """Score every lead of LEADS.csv with a rulebook's scoring rules.

    Each row is a lead snapshot: profile fields by name, and the counts and times the
    rules read (n.<event>, n.<event>.<d>d; last.<event> and last_activity in epoch
    seconds). A column the rules read but the file lacks counts as empty. Writes the
    input columns plus score, fit, engagement and grade (docs/cli.md).
    """
    import pandas  # noqa: F401 - imported here, so neither the timing nor --version pays it

    import leadlife.scoring.batch  # noqa: F401
    from leadlife.errors import RulebookError

    moment = datetime.now(UTC) if now is None else now
    try:
        rules = _load_scoring_rules(rules_path)
    except RulebookError as exc:
        raise click.ClickException(_one_line(str(exc))) from None
    started = time.perf_counter()
    rows, grades = _score_csv(leads, rules, output, moment, reasons, contributions, chunk_size)
    elapsed = time.perf_counter() - started
    rate = rows / elapsed if elapsed > 0 else 0.0
    order = [name for name, _ in rules.grades] + [rules.model.lowest_grade]
    counts = ", ".join(f"{grade} {grades.get(grade, 0):,}" for grade in dict.fromkeys(order))
    leads_word = "lead" if rows == 1 else "leads"
    click.echo(
        f"Scored {rows:,} {leads_word} in {elapsed:.2f} s ({rate:,.0f} leads/s) as of "
        f"{moment.isoformat()}; grades: {counts}; wrote {output}"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _load_scoring_rules(path: Path) -> ScoringRules:
    """The scoring rules of a scoring rulebook, or of a lifecycle rulebook's [scoring]."""
    from leadlife.errors import RulebookError
    from leadlife.rules import Rulebook
    from leadlife.scoring import ScoringRules
    from leadlife.toml_files import parse_toml, read_toml

    text, source = read_toml(path)
    data = parse_toml(text, source)
    lifecycle = _LIFECYCLE_KEYS & data.keys() or isinstance(data.get("event_types"), dict)
    if not lifecycle:
        return ScoringRules.from_dict(data, source=source)
    rulebook = Rulebook.from_dict(data, source=source)
    if rulebook.model.scoring is None:
        raise RulebookError(
            "scoring",
            "this lifecycle rulebook has no [scoring] table",
            'add one, or extends = "default" to use the default scoring rules',
            source=source,
        )
    return ScoringRules(rulebook.model.scoring, source=source)


def _score_csv(
    leads: Path,
    rules: ScoringRules,
    output: Path,
    now: datetime,
    reasons: int,
    contributions: bool,
    chunk_size: int,
) -> tuple[int, Counter[str]]:
    """Score ``leads`` chunk by chunk into ``output``; return the row count and grades.

    The output is written to a temporary file beside ``output`` and moved over it at
    the end, so a failure half-way leaves no half-written file behind.
    """
    from leadlife.scoring.batch import score_frame

    converters = _converters(rules)
    grades: Counter[str] = Counter()
    rows = 0
    stderr = sys.stderr
    try:
        size = leads.stat().st_size
        raw = open(leads, "rb")  # noqa: SIM115 - a with block closes it just below
    except OSError as exc:
        raise click.ClickException(f"{leads}: cannot read the file ({exc.strerror})") from None
    with raw:
        try:
            fd, part = tempfile.mkstemp(
                dir=output.parent, prefix=f".{output.name}.", suffix=".part"
            )
        except OSError as exc:
            raise click.ClickException(f"{output}: cannot write there ({exc.strerror})") from None
        try:
            with (
                open(fd, "w", encoding="utf-8", newline="") as handle,
                _progress(size, stderr) as bar,
            ):
                for number, chunk in enumerate(_chunks(raw, leads, chunk_size)):
                    if number == 0:
                        _warn_missing(chunk.columns, rules, leads)
                    frame = _snapshot(chunk, rules, converters, leads)
                    scored = score_frame(frame, rules, now, reasons=reasons)
                    out = _with_scores(chunk, scored, reasons, contributions)
                    out.to_csv(handle, header=number == 0, index=False, lineterminator="\n")
                    rows += len(chunk)
                    grades.update(scored["grade"].value_counts().to_dict())
                    bar.update(raw.tell() - bar.pos)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(part, 0o666 & ~umask)  # as if opened for writing, not mkstemp's 0600
            os.replace(part, output)
        except OSError as exc:
            raise click.ClickException(f"{output}: cannot write there ({exc.strerror})") from None
        finally:
            Path(part).unlink(missing_ok=True)
    return rows, grades


def _with_scores(
    chunk: pd.DataFrame, scored: pd.DataFrame, reasons: int, contributions: bool
) -> pd.DataFrame:
    """The chunk's columns as read, then the score columns (replacing any of that name)."""
    import pandas as pd

    numbers = ["score", "fit", "engagement"]
    if contributions:
        numbers += [column for column in scored.columns if column.startswith("points.")]
    # Rounded to a millionth of a point; adding 0.0 turns -0.0 into 0.0.
    added = scored[numbers].round(_DECIMALS) + 0.0
    added.insert(3, "grade", scored["grade"])
    if reasons:
        added.insert(4, "reasons", scored["reasons"])
    kept = chunk.drop(columns=[column for column in added.columns if column in chunk.columns])
    return pd.concat([kept, added], axis=1)


def _progress(size: int, stream: TextIO) -> Any:
    """A progress bar over the input's bytes, shown only on a terminal for large inputs."""
    hidden = size < _PROGRESS_BYTES or not stream.isatty()
    return click.progressbar(length=max(size, 1), label="Scoring", file=stream, hidden=hidden)


def _chunks(raw: BinaryIO, leads: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The CSV's rows as text, ``chunk_size`` at a time; a bad file is a one-line error."""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            # More fields than the header would otherwise be dropped, or made an index.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            reader = pd.read_csv(
                raw,
                chunksize=chunk_size,
                dtype=object,
                na_filter=False,
                index_col=False,
                encoding="utf-8",
            )
            yield from reader
    except UnicodeDecodeError:
        raise click.ClickException(f"{leads}: not UTF-8 text; save it as UTF-8") from None
    except pd.errors.ParserWarning:
        raise click.ClickException(
            f"{leads}: a row has more fields than the header has names; name every column"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise click.ClickException(f"{leads}: {_one_line(str(exc))}") from None


def _warn_missing(columns: pd.Index, rules: ScoringRules, leads: Path) -> None:
    missing = [column for column in rules.columns if column not in columns]
    if missing:
        names = ", ".join(missing[:6])
        if len(missing) > 6:
            names += f" and {len(missing) - 6} more"
        click.echo(
            f"Note: {leads.name} has no column {names}; the rules read them as empty.", err=True
        )


def _is_snapshot_number(column: str) -> bool:
    return column == "last_activity" or column.startswith(("n.", "last."))


# A profile column's converter: the string targets it must keep as text, and whether
# cells spelling true/false or a number become bools or numbers.
_Converter = tuple[frozenset[str], bool, bool]


def _converters(rules: ScoringRules) -> dict[str, _Converter]:
    """How to turn each profile column the rules read from CSV text into values.

    CSV cells are text, but ``equals`` and ``in`` compare with the rulebook's own
    values: ``equals = true`` must match the cell ``true``, ``in = [1, 2]`` the cell
    ``2``. Only columns compared with booleans or numbers are converted, and only
    cells that spell one; text targets stay text (``"01"`` is not ``1``).
    """
    from leadlife.scoring.model import FieldWhen

    targets: dict[str, list[Any]] = {}
    model = rules.model
    conditions: list[object] = [rule.when for rule in model.fit]
    conditions += [rule.when for rule in model.engagement]
    for when in conditions:
        if not isinstance(when, FieldWhen):
            continue
        values = [when.equals] if when.equals is not None else list(when.in_ or ())
        targets.setdefault(when.field, []).extend(values)
    converters: dict[str, _Converter] = {}
    for column in rules.columns:
        if _is_snapshot_number(column):
            continue
        values = targets.get(column, [])
        texts = frozenset(v for v in values if isinstance(v, str))
        booleans = any(isinstance(v, bool) for v in values)
        numbers = any(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        converters[column] = (texts, booleans, numbers)
    return converters


def _snapshot(
    chunk: pd.DataFrame, rules: ScoringRules, converters: dict[str, _Converter], leads: Path
) -> pd.DataFrame:
    """The snapshot frame the rules read, from a chunk of CSV text.

    Empty cells are missing values. Count and time columns become floats (a cell that
    is not a number is an error); profile columns stay text, see :func:`_converters`.
    """
    import pandas as pd

    data: dict[str, pd.Series] = {}
    for column in rules.columns:
        if column not in chunk.columns:
            continue
        if column in converters:
            data[column] = _profile(chunk[column], converters[column])
        else:
            data[column] = _numbers(chunk[column], column, leads)
    return pd.DataFrame(data, index=chunk.index)


def _numbers(text: pd.Series, column: str, leads: Path) -> pd.Series:
    """A count or time column as floats; an empty cell is NaN, anything else must parse."""
    import numpy as np
    import pandas as pd

    cells = text.to_numpy(dtype=object, copy=True)
    cells[cells == ""] = "nan"
    try:
        values = cells.astype(float)
    except ValueError:
        # The slow path, cell by cell: blanks are empty too, and the first bad cell is named.
        values = np.empty(len(cells))
        for position, cell in enumerate(cells):
            try:
                values[position] = float(cell) if cell.strip() else np.nan
            except ValueError:
                raise click.ClickException(
                    f"{leads}: column {column!r}, row {int(text.index[position]) + 1}: "
                    f"{cell!r} is not a number (counts, and times in epoch seconds)"
                ) from None
    return pd.Series(values, index=text.index, dtype=float)


def _profile(text: pd.Series, converter: _Converter) -> pd.Series:
    """A profile column as objects: text, or bools and numbers where rules compare them."""
    import numpy as np
    import pandas as pd

    texts, booleans, numbers = converter
    if not (booleans or numbers):
        cells = text.to_numpy(dtype=object, copy=True)
        cells[cells == ""] = None
        return pd.Series(cells, index=text.index, dtype=object)
    # Few distinct values in a column compared with literals: convert each once.
    codes, uniques = pd.factorize(text.to_numpy(dtype=object))
    table = np.empty(len(uniques), dtype=object)
    table[:] = [_literal(str(u), texts, booleans, numbers) for u in uniques]
    return pd.Series(table[codes], index=text.index, dtype=object)


def _literal(text: str, texts: frozenset[str], booleans: bool, numbers: bool) -> Any:
    """One CSV cell as the value the rules compare with; "" is missing."""
    if text == "":
        return None
    if text in texts:
        return text
    stripped = text.strip()
    if booleans and stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if numbers:
        if _INTEGER.fullmatch(stripped):
            return int(stripped)
        if _DECIMAL.fullmatch(stripped):
            return float(stripped)
    return text
