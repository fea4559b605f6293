"""The ``leadlife`` console command."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import click

from leadlife import __version__
from leadlife.demo.world import START as WORLD_START

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


class _Path(click.Path):
    """A path option or argument that refuses an empty value.

    Left to itself, ``Path("")`` reads as ``.``, the current directory, and the
    error then named neither the option nor what to give.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail(
                f"{value!r} names no file (an empty path reads as the current folder)", param, ctx
            )
        return super().convert(value, param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadlife")
def main() -> None:
    """leadlife: a pluggable lead-lifecycle engine for B2B sales teams."""


_AT_LEAST_ONE = click.IntRange(min=1)
# The engine keeps time in 1900-2999, and the demo's world ticks daily to its end.
_DEMO_DAYS = click.IntRange(min=1, max=(datetime(2999, 1, 1, tzinfo=UTC) - WORLD_START).days)


@main.command()
@click.option(
    "--leads", default=3000, show_default=True, type=_AT_LEAST_ONE, help="How many synthetic leads."
)
@click.option(
    "--days", default=42, show_default=True, type=_DEMO_DAYS, help="How many days of events."
)
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic world.")
def demo(leads: int, days: int, seed: int) -> None:
    """Run a seeded synthetic world through the engine; print the funnel, the top leads
    and who owns them."""
    from leadlife.demo import World, format_funnel, format_routing, format_top_leads, run_demo

    world = World(leads=leads, days=days, seed=seed)
    click.echo(
        f"Synthetic world: {leads} leads, {days} days from {world.start:%Y-%m-%d}, seed {seed}"
    )
    result = run_demo(world)
    report = result.report
    click.echo(
        # A story may start too late to fit the world's days: some leads send nothing.
        f"Ingested {report.accepted} events of {len(result.engine.storage)} leads "
        f"({report.duplicates} duplicates, "
        f"{len(report.rejected)} rejected); {report.stage_changes} stage changes on ingest, "
        # Daily while events come in, then once at the world's end: not one per day.
        f"{result.tick_changes} from {result.ticks} ticks; "
        f"{sum(result.notices_by_kind.values())} notices."
    )
    click.echo("")
    click.echo(format_funnel(result.engine))
    click.echo("")
    click.echo(format_top_leads(result.engine))
    click.echo("")
    click.echo(format_routing(result.engine))


# -- leadlife score ---------------------------------------------------------------------


def _phone_region(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--phone-region``: a region the phone metadata knows, in any case."""
    if value is None:
        return None
    from leadlife.profile import phone_region_code

    try:
        return phone_region_code(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _aware_moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--now``, ``--at``: an ISO 8601 date and time with its UTC offset, in the years
    the engine keeps time in; a naive one is refused."""
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
    from leadlife.clock import EARLIEST_TS, LATEST_TS

    # Checked here, whatever the file holds: routing would fail on the first row
    # (a header-only file not at all), and the rule scorer has no such limit.
    try:
        ts = moment.timestamp()
    except (OverflowError, ValueError):  # a year 0 or 10000 in UTC
        ts = float("nan")
    if not EARLIEST_TS <= ts < LATEST_TS:
        raise click.BadParameter(
            f"{value!r} is outside the years 1900 to 2999 (UTC) the engine keeps time in; "
            "give the moment you mean"
        )
    return moment


@main.command()
@click.argument("leads", type=_Path(dir_okay=False, path_type=Path), metavar="LEADS.csv")
@click.option(
    "--rules",
    "rules_path",
    type=_Path(dir_okay=False, path_type=Path),
    metavar="RULES.toml",
    help="A scoring rulebook, or a lifecycle rulebook with a [scoring] table.",
)
@click.option(
    "--model",
    "model_path",
    type=_Path(path_type=Path),
    metavar="MODEL",
    help="A model saved by `leadlife train` (its name for the newest version, or a "
    ".joblib file); instead of --rules.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=_Path(dir_okay=False, path_type=Path),
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
    default=None,
    metavar="K",
    help="Add a 'reasons' column with each lead's K largest contributions (0: none; "
    "default: none with --rules, the model's 3 with --model).",
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
    rules_path: Path | None,
    model_path: Path | None,
    output: Path,
    now: datetime | None,
    reasons: int | None,
    contributions: bool,
    chunk_size: int,
) -> None:
    """Score every lead of LEADS.csv with a rulebook's scoring rules, or with a model.

    With --rules, each row is a lead snapshot: profile fields by name, and the counts
    and times the rules read (n.<event>, n.<event>.<d>d; last.<event> and
    last_activity in epoch seconds). A column the rules read but the file lacks counts
    as empty. Writes the input columns plus score, fit, engagement and grade.

    With --model, each row holds the columns the model was trained on; writes the
    input columns plus probability, score, tag and reasons (docs/cli.md).
    """
    if (rules_path is None) == (model_path is None):
        raise click.UsageError("give either --rules RULES.toml or --model MODEL (one of them)")
    if model_path is not None:
        for given, name in ((now is not None, "--now"), (contributions, "--contributions")):
            if given:
                raise click.UsageError(f"{name} applies to --rules only, not to --model")
        _score_with_model(leads, model_path, output, reasons, chunk_size)
        return
    assert rules_path is not None
    import pandas  # noqa: F401 - imported here, so neither the timing nor --version pays it

    import leadlife.scoring.batch  # noqa: F401
    from leadlife.errors import RulebookError

    moment = datetime.now(UTC) if now is None else now
    try:
        rules = _load_scoring_rules(rules_path)
    except RulebookError as exc:
        raise click.ClickException(_one_line(str(exc))) from None
    started = time.perf_counter()
    rows, grades = _score_csv(leads, rules, output, moment, reasons or 0, contributions, chunk_size)
    elapsed = time.perf_counter() - started
    rate = rows / elapsed if elapsed > 0 else 0.0
    order = [name for name, _ in rules.grades] + [rules.model.lowest_grade]
    counts = ", ".join(f"{grade} {grades.get(grade, 0):,}" for grade in dict.fromkeys(order))
    leads_word = "lead" if rows == 1 else "leads"
    click.echo(
        f"Scored {rows:,} {leads_word} in {elapsed:.2f} s ({rate:,.0f} leads/s) as of "
        f"{moment.isoformat()}; grades: {counts}; wrote {output}"
    )


@main.command()
@click.argument("leads", type=_Path(dir_okay=False, path_type=Path), metavar="LEADS.csv")
@click.option(
    "--routing",
    "routing_path",
    required=True,
    type=_Path(dir_okay=False, path_type=Path),
    metavar="ROUTING.toml",
    help="The routing configuration: teams, routers, timers (docs/routing.md).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=_Path(dir_okay=False, path_type=Path),
    metavar="ROUTED.csv",
    help="Where to write the input columns plus router, team, owner, action, strategy, reason.",
)
@click.option(
    "--at",
    metavar="ISO8601",
    callback=_aware_moment,
    help="When the leads are routed, with its UTC offset (default: the current time); "
    "absences and daily quotas are read at that moment.",
)
@click.option(
    "--phone-region",
    metavar="CC",
    callback=_phone_region,
    help="ISO 3166 region for phone numbers written without +country (e.g. CN).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    metavar="N",
    help="How many rows to read, route and write at a time.",
)
def route(
    leads: Path,
    routing_path: Path,
    output: Path,
    at: datetime | None,
    phone_region: str | None,
    chunk_size: int,
) -> None:
    """Route and assign every lead of LEADS.csv, in file order, by a routing configuration.

    Each row is a lead: the profile fields the routers read by name (account_id,
    email, company, ip, phone, registered_capital, employees, sme) and, optionally, a
    current owner. Phone numbers and e-mail addresses are checked as the engine checks
    them; an empty cell is an unknown field. The teams' rotations and quotas run on
    from row to row, as if the leads had qualified one after the other at --at.
    """
    import pandas

    from leadlife.errors import RoutingConfigError
    from leadlife.routing import Routing

    try:
        routing = Routing.load(routing_path)
    except RoutingConfigError as exc:
        raise click.ClickException(_one_line(str(exc))) from None
    moment = datetime.now(UTC) if at is None else at
    routers: Counter[str] = Counter()

    def route_chunk(number: int, chunk: pd.DataFrame) -> pd.DataFrame:
        if number == 0:
            _refuse_twice(chunk.columns, _ROUTING_READS, leads, "routing reads")
        # The routers see the uniquely named columns: a blank name is no profile field,
        # and another repeated one (not a field routing reads) only passes through.
        counts = Counter(chunk.columns)
        unique = [i for i, name in enumerate(chunk.columns) if name and counts[name] == 1]
        profiles = chunk.iloc[:, unique]
        routed = routing.route_frame(_routing_frame(profiles, phone_region), moment)
        routers.update(name for name in routed["router"] if name is not None)
        kept = chunk.drop(columns=[c for c in routed.columns if c in chunk.columns])
        return pandas.concat([kept, routed.fillna("")], axis=1)

    started = time.perf_counter()
    rows = _write_scored(leads, output, chunk_size, route_chunk, label="Routing")
    elapsed = time.perf_counter() - started
    rate = rows / elapsed if elapsed > 0 else 0.0
    decided = ", ".join(f"{name} {count:,}" for name, count in routers.most_common())
    click.echo(
        f"Routed {rows:,} {'lead' if rows == 1 else 'leads'} in {elapsed:.2f} s "
        f"({rate:,.0f} leads/s) as of {moment.isoformat()}; decided by: "
        f"{decided or 'no router'}; wrote {output}"
    )


# The columns route_frame reads by name: the profile fields its routers read, the
# current owner and the moment.
_ROUTING_READS = (
    "account_id",
    "email",
    "email_valid",
    "company",
    "ip",
    "phone",
    "phone_valid",
    "registered_capital",
    "employees",
    "sme",
    "owner",
    "at",
)
_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _routing_frame(chunk: pd.DataFrame, phone_region: str | None) -> pd.DataFrame:
    """A CSV chunk (all text) as route_frame reads profiles: flags as booleans, empty
    cells unknown, contact fields checked."""
    from leadlife.routing.frames import normalize_contacts

    frame = chunk.replace("", None)
    for name in ("sme", "phone_valid", "email_valid"):
        if name in frame.columns:
            frame[name] = [
                None if value is None else _FLAGS.get(str(value).strip().lower())
                for value in frame[name]
            ]
    return normalize_contacts(frame, phone_region)


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
        rules = ScoringRules.from_dict(data, source=source)
    else:
        rulebook = Rulebook.from_dict(data, source=source)
        if rulebook.model.scoring is None:
            raise RulebookError(
                "scoring",
                "this lifecycle rulebook has no [scoring] table",
                'add one, or extends = "default" to use the default scoring rules',
                source=source,
            )
        rules = ScoringRules(rulebook.model.scoring, source=source)
    if not rules.rules:
        # Every lead would score 0 and grade lowest: a file left empty, or rules
        # under a misspelt table, rather than anything meant.
        raise RulebookError(
            "",
            "holds no scoring rules" + (" (the file is empty)" if not data else ""),
            "add [[fit]], [[engagement]] or [[weighted]] rules (docs/scoring.md), or give "
            "a rulebook that has them",
            source=source,
        )
    return rules


def _score_csv(
    leads: Path,
    rules: ScoringRules,
    output: Path,
    now: datetime,
    reasons: int,
    contributions: bool,
    chunk_size: int,
) -> tuple[int, Counter[str]]:
    """Score ``leads`` chunk by chunk into ``output``; return the row count and grades."""
    from leadlife.scoring.batch import score_frame

    converters = _converters(rules)
    grades: Counter[str] = Counter()

    def score_chunk(number: int, chunk: pd.DataFrame) -> pd.DataFrame:
        if number == 0:
            _refuse_twice(chunk.columns, rules.columns, leads, "the rules read")
            _warn_missing(chunk.columns, rules, leads)
        frame = _snapshot(chunk, rules, converters, leads)
        scored = score_frame(frame, rules, now, reasons=reasons, decimals=_DECIMALS)
        grades.update(scored["grade"].value_counts().to_dict())
        return _with_scores(chunk, scored, reasons, contributions)

    rows = _write_scored(leads, output, chunk_size, score_chunk)
    return rows, grades


def _write_scored(
    leads: Path,
    output: Path,
    chunk_size: int,
    score_chunk: Callable[[int, pd.DataFrame], pd.DataFrame],
    *,
    label: str = "Scoring",
) -> int:
    """Read ``leads`` a chunk at a time, write ``score_chunk(number, chunk)`` of each.

    ``label`` names the work on the progress bar.

    The output is written to a temporary file beside ``output`` and moved over it at
    the end, so a failure half-way leaves no half-written file behind. Returns the
    number of rows.
    """
    rows = 0
    stderr = sys.stderr
    try:
        size = leads.stat().st_size
        raw = open(leads, "rb")  # noqa: SIM115 - a with block closes it just below
    except OSError as exc:
        raise click.ClickException(f"{leads}: cannot read the file ({exc.strerror})") from None
    if not raw.seekable():
        # The header is read first and the rows after it: a pipe can be read only once.
        raw.close()
        raise click.ClickException(
            f"{leads}: cannot be read twice (a pipe or other stream); save it as a file first"
        )

    def write(handle: TextIO) -> None:
        nonlocal rows
        with _progress(size, stderr, label) as bar:
            for number, chunk in enumerate(_chunks(raw, leads, chunk_size)):
                out = score_chunk(number, chunk)
                out.to_csv(handle, header=number == 0, index=False, lineterminator="\n")
                rows += len(chunk)
                bar.update(raw.tell() - bar.pos)

    # Through a symbolic link, to the file it names: replacing the link itself would
    # leave its target unchanged, the file other readers of the link still see.
    target = Path(os.path.realpath(output)) if output.is_symlink() else output
    with raw, _sigterm_as_exit():
        if target.exists() and not target.is_file():
            # A device or a pipe (-o /dev/null, a FIFO) is written into as it is:
            # renaming a finished file over it would replace the device itself.
            try:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    write(handle)
            except OSError as exc:
                raise click.ClickException(
                    f"{output}: cannot write there ({exc.strerror})"
                ) from None
            return rows
        try:
            fd, part = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
        except OSError as exc:
            raise click.ClickException(f"{output}: cannot write there ({exc.strerror})") from None
        try:
            with open(fd, "w", encoding="utf-8", newline="") as handle:
                write(handle)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(part, 0o666 & ~umask)  # as if opened for writing, not mkstemp's 0600
            os.replace(part, target)
        except OSError as exc:
            raise click.ClickException(f"{output}: cannot write there ({exc.strerror})") from None
        finally:
            Path(part).unlink(missing_ok=True)
    return rows


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM (a timeout, a cancelled CI job) ends the command as an exception does.

    Its default action kills the interpreter without unwinding, so the ``finally``
    that removes the partial output would not run; here it raises SystemExit(143),
    the status a shell reports for SIGTERM. Only the default action is replaced, and
    put back after: an inherited SIG_IGN means the run must not stop, and a host's own
    handler is the host's to honour, so either is left alone.
    """
    import signal

    terminate = signal.SIGTERM

    def exit_on_term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if signal.getsignal(terminate) is not signal.SIG_DFL:
        yield
        return
    try:
        signal.signal(terminate, exit_on_term)
    except ValueError:  # not the main thread (an embedding host): leave it alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(terminate, signal.SIG_DFL)


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
    # A scored file's old reasons and contributions belong to its old scores: they go
    # whether or not this run writes new ones.
    stale = {*added.columns, "reasons"}
    kept = chunk.drop(
        columns=[
            column for column in chunk.columns if column in stale or column.startswith("points.")
        ]
    )
    return pd.concat([kept, added], axis=1)


def _progress(size: int, stream: TextIO, label: str) -> Any:
    """A progress bar over the input's bytes, shown only on a terminal for large inputs."""
    hidden = size < _PROGRESS_BYTES or not stream.isatty()
    return click.progressbar(length=max(size, 1), label=label, file=stream, hidden=hidden)


def _chunks(raw: BinaryIO, leads: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The CSV's rows as text, ``chunk_size`` at a time; a bad file is a one-line error.

    The columns are named as the header names them, a repeated or blank name too
    (pandas would read them as ``x.1`` and ``Unnamed: 2``), so they are written back
    as they were read. Every row is a lead: in a file of one column an empty cell is
    a blank line, which stays a row there (elsewhere a blank line is skipped); blank
    lines before the header and after the last line are not rows, in one column too.
    """
    import pandas as pd

    text: dict[str, Any] = {
        "dtype": object,
        "na_filter": False,
        "index_col": False,
        "encoding": "utf-8",
    }
    try:
        with warnings.catch_warnings():
            # More fields than the header would otherwise be dropped, or made an index.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            header = pd.read_csv(raw, header=None, nrows=1, **text)
            names = ["" if name is None else str(name) for name in header.iloc[0].tolist()]
            one_column = len(names) == 1
            if one_column and (separator := _other_separator(names[0])) is not None:
                raise click.ClickException(
                    f"{leads}: the header is one column, {names[0]!r}, which looks "
                    f"separated by {separator!r}; save the file comma-separated"
                )
            raw.seek(0)
            # Blank lines at the end of the file are not rows, in one column either.
            trailing = _trailing_blank_lines(raw) if one_column else 0
            reader = pd.read_csv(
                raw,
                chunksize=chunk_size,
                header=0,
                names=range(len(names)),
                skip_blank_lines=not one_column,
                # Only blank lines before the header are not rows, in one column too.
                skiprows=_leading_blank_lines(raw) if one_column else None,
                **text,
            )
            held: pd.DataFrame | None = None
            for chunk in reader:
                chunk.columns = pd.Index(names, dtype=object)
                if trailing:
                    # The last ``trailing`` rows of the file are held back, then dropped.
                    if held is not None:
                        chunk = pd.concat([held, chunk])
                    cut = max(len(chunk) - trailing, 0)
                    held, chunk = chunk.iloc[cut:], chunk.iloc[:cut]
                yield chunk
    except UnicodeDecodeError:
        raise click.ClickException(f"{leads}: not UTF-8 text; save it as UTF-8") from None
    except pd.errors.ParserWarning:
        raise click.ClickException(
            f"{leads}: a row has more fields than the header has names; name every column"
        ) from None
    except pd.errors.EmptyDataError:
        raise click.ClickException(f"{leads}: {_EMPTY_CSV}") from None
    except pd.errors.ParserError as exc:
        if re.search(r"Expected \d+ fields? in line \d+, saw \d+", str(exc)):
            raise click.ClickException(
                f"{leads}: a row has more fields than the header has names; name every column"
            ) from None
        raise click.ClickException(f"{leads}: {_one_line(str(exc))}") from None


def _other_separator(name: str) -> str | None:
    """The separator a one-column header seems to be split by instead of commas: a
    spreadsheet saved with semicolons (as many locales do) or tabs, read as one
    column, would route or score every lead as if it had no fields."""
    return next((sep for sep in (";", "\t", "|") if sep in name), None)


# pandas says "No columns to parse from file", which names no fix.
_EMPTY_CSV = "the file is empty; give a header row naming the columns, then a row per lead"


def _leading_blank_lines(raw: BinaryIO) -> int:
    """How many empty lines come before the CSV's header (``raw`` is left at the start)."""
    start = raw.read(64 * 1024).removeprefix(b"\xef\xbb\xbf")
    raw.seek(0)
    blank = start[: len(start) - len(start.lstrip(b"\r\n"))]
    return blank.count(b"\n")


def _trailing_blank_lines(raw: BinaryIO) -> int:
    """How many empty lines end the CSV, after its last line (``raw`` is left at the
    start); 0 for a file of nothing but line breaks, whose header is missing anyway."""
    end = raw.seek(0, os.SEEK_END)
    tail = b""
    position = end
    while position > 0:
        step = min(64 * 1024, position)
        position -= step
        raw.seek(position)
        tail = raw.read(step) + tail
        if tail.strip(b"\r\n"):
            break
    raw.seek(0)
    body = tail.rstrip(b"\r\n")
    if not body.removeprefix(b"\xef\xbb\xbf"):
        return 0
    breaks = tail[len(body) :]
    # The first line break ends the last line; each one after it is an empty line.
    lines = breaks.count(b"\n") or breaks.count(b"\r")
    return max(lines - 1, 0)


def _refuse_twice(columns: pd.Index, read: Iterable[str], leads: Path, reader: str) -> None:
    """A one-line error when a column that ``reader`` reads by name is named twice: which
    one it means cannot be told, and reading only the first would pass silently."""
    counts = Counter(columns)
    twice = [name for name in dict.fromkeys(read) if counts[name] > 1]
    if twice:
        names = ", ".join(repr(name) for name in twice)
        raise click.ClickException(
            f"{leads}: the header names {names} more than once, and {reader} columns by "
            "name; rename or remove the other columns of that name"
        )


def _warn_missing(columns: pd.Index, rules: ScoringRules, leads: Path) -> None:
    _note_missing(list(rules.columns), columns, leads, "the rules read")


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
    cells that spell one; text targets stay text (``"01"`` is not ``1``). Columns
    that ``min``/``max`` conditions or numeric weighted rules read take ``true`` and
    ``false`` as booleans (1 and 0 to those rules), as the engine reads them.
    """
    from leadlife.scoring.model import FieldWhen

    targets: dict[str, list[Any]] = {}
    model = rules.model
    conditions: list[object] = [rule.when for rule in model.fit]
    conditions += [rule.when for rule in model.engagement]
    # Numeric rules count booleans as 0 and 1, as the engine does: a lead frame
    # written to CSV spells them True and False.
    numeric = {rule.field for rule in model.weighted if rule.field and rule.values is None}
    for when in conditions:
        if not isinstance(when, FieldWhen):
            continue
        if when.min is not None or when.max is not None:
            numeric.add(when.field)
        values = [when.equals] if when.equals is not None else list(when.in_ or ())
        targets.setdefault(when.field, []).extend(values)
    converters: dict[str, _Converter] = {}
    for column in rules.columns:
        if _is_snapshot_number(column):
            continue
        values = targets.get(column, [])
        texts = frozenset(v for v in values if isinstance(v, str))
        booleans = column in numeric or any(isinstance(v, bool) for v in values)
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
    """A count or time column as floats; an empty cell is NaN, anything else must parse.

    ``float`` also reads "nan", "inf" and "1e400", which no count or time is, and no
    count is negative: those are refused like any other bad cell.
    """
    import numpy as np
    import pandas as pd

    cells = text.to_numpy(dtype=object, copy=True)
    empty = cells == ""
    cells[empty] = "nan"
    try:
        values = cells.astype(float)
    except ValueError:
        # The slow path, cell by cell: blanks are empty too, and the first bad cell is named.
        values = np.empty(len(cells))
        for position, cell in enumerate(cells):
            if not cell.strip():
                values[position] = np.nan
                empty[position] = True
                continue
            try:
                values[position] = float(cell)
            except ValueError:
                raise click.ClickException(
                    f"{leads}: column {column!r}, row {int(text.index[position]) + 1}: "
                    f"{cell!r} is not a number (counts, and times in epoch seconds)"
                ) from None
    bad = ~(np.isfinite(values) | empty)
    if column.startswith("n."):
        bad |= values < 0
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        wanted = "count (0 or more)" if column.startswith("n.") else "time in epoch seconds"
        raise click.ClickException(
            f"{leads}: column {column!r}, row {int(text.index[position]) + 1}: "
            f"{text.iloc[position]!r} is not a {wanted}"
        )
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


# -- leadlife score --model -------------------------------------------------------------


def _score_with_model(
    leads: Path, model_path: Path, output: Path, reasons: int | None, chunk_size: int
) -> None:
    """``leadlife score --model``: every row scored by a saved model, chunk by chunk.

    ``reasons`` None keeps the model's ``top``; 0 leaves the reasons out (and skips
    explaining)."""
    import pandas  # noqa: F401 - imported here, so neither the timing nor --version pays it

    from leadlife.errors import ModelError
    from leadlife.ml.persistence import load_model, read_sidecar, resolve_model

    try:
        model_file = resolve_model(model_path)
        model = load_model(model_file)
        schema = read_sidecar(model_file)["features"]
    except (ModelError, ValueError) as exc:
        raise click.ClickException(_one_line(str(exc))) from None
    if not hasattr(model, "score_frame") or schema is None:
        raise click.ClickException(
            f"{model_file}: a {type(model).__name__} fitted without column names cannot "
            "score a CSV; train it with `leadlife train` or leadlife.ml.train"
        )
    explain = reasons != 0
    if reasons and "top" in model.get_params(deep=False):
        model.set_params(top=reasons)
    features = [(str(item["name"]), item["kind"]) for item in schema]
    tags: Counter[str] = Counter()

    def score_chunk(number: int, chunk: pd.DataFrame) -> pd.DataFrame:
        if number == 0:
            names = [name for name, _ in features]
            _refuse_twice(chunk.columns, names, leads, "the model reads")
            _note_missing(names, chunk.columns, leads, "the model reads")
        frame = _model_frame(chunk, features, leads)
        try:
            scored = model.score_frame(frame, reasons=explain)
        except ModelError as exc:
            raise click.ClickException(f"{leads}: {_one_line(str(exc))}") from None
        tags.update(scored["tag"].value_counts().to_dict())
        return _with_model_scores(chunk, scored)

    started = time.perf_counter()
    rows = _write_scored(leads, output, chunk_size, score_chunk)
    elapsed = time.perf_counter() - started
    rate = rows / elapsed if elapsed > 0 else 0.0
    counts = ", ".join(f"{tag} {tags.get(tag, 0):,}" for tag in ("high", "medium", "low"))
    leads_word = "lead" if rows == 1 else "leads"
    click.echo(
        f"Scored {rows:,} {leads_word} in {elapsed:.2f} s ({rate:,.0f} leads/s) with model "
        f"{model_file.name}; tags: {counts}; wrote {output}"
    )


def _note_missing(wanted: list[str], columns: pd.Index, leads: Path, reader: str) -> None:
    missing = [column for column in wanted if column not in columns]
    if missing:
        names = ", ".join(missing[:6])
        if len(missing) > 6:
            names += f" and {len(missing) - 6} more"
        click.echo(f"Note: {leads.name} has no column {names}; {reader} them as empty.", err=True)


# The cells pandas.read_csv reads as missing by default (its na_values), which is how
# `leadlife train` and train("file.csv") read their data; matched exactly, as there.
_READ_CSV_MISSING = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)


def _model_frame(
    chunk: pd.DataFrame, features: list[tuple[str, str | None]], leads: Path
) -> pd.DataFrame:
    """The model's columns from a chunk of CSV text, cleaned as training cleaned them.

    Cells read as missing by pandas.read_csv's defaults (``NA``, ``N/A``, ``null``,
    ``#N/A``, ...) are missing, as when training read the file; then cells go through
    clean_frame (placeholders and blanks are missing, Yes/No are 1/0, numbers are
    numbers). Then each column takes the kind it had in training,
    whatever this chunk happens to hold: a numeric column must parse (else an error
    names the column and row), a categorical column stays text.
    """
    import numpy as np
    import pandas as pd

    from leadlife.ml.encoding import clean_frame

    present = [name for name, _ in features if name in chunk.columns]
    text = chunk[present]
    # Training reads its CSV with pandas' default missing markers; so does scoring.
    cleaned = clean_frame(text.mask(text.isin(_READ_CSV_MISSING)))
    data: dict[str, pd.Series] = {}
    for name, kind in features:
        if name not in chunk.columns:
            missing = np.nan if kind == "numeric" else None
            data[name] = pd.Series(
                missing, index=chunk.index, dtype=float if kind == "numeric" else object
            )
        elif kind == "numeric":
            data[name] = _as_numbers(cleaned[name], text[name], name, leads)
        elif kind == "categorical" and pd.api.types.is_numeric_dtype(cleaned[name]):
            # Text that only looks numeric in this chunk: keep it as the text it was.
            kept = text[name].map(str.strip).where(cleaned[name].notna(), None)
            data[name] = kept.astype(object)
        else:
            data[name] = cleaned[name]
    return pd.DataFrame(data, index=chunk.index)


def _as_numbers(cleaned: pd.Series, text: pd.Series, column: str, leads: Path) -> pd.Series:
    import pandas as pd

    from leadlife.ml.encoding import _NO, _YES

    if pd.api.types.is_bool_dtype(cleaned) or pd.api.types.is_numeric_dtype(cleaned):
        return cleaned.astype(float)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    bad = numbers.isna() & cleaned.notna()
    if bad.any():
        # clean_frame reads Yes/No as 1/0 only in a column of nothing else; a chunk
        # holding them beside numbers must read as one holding them alone does (and
        # as the encoder reads such a cell of a numeric column).
        words = cleaned[bad].map(lambda cell: str(cell).casefold())
        flags = words.map(lambda word: 1.0 if word in _YES else 0.0 if word in _NO else None)
        numbers = numbers.where(~bad, flags.astype(float))
        bad = numbers.isna() & cleaned.notna()
    if bad.any():
        row = bad.idxmax()
        raise click.ClickException(
            f"{leads}: column {column!r}, row {int(row) + 1}: {text[row]!r} is not a number, "
            "and the model was trained on numbers in this column"
        )
    return numbers.astype(float)


def _with_model_scores(chunk: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """The chunk's columns as read, then probability, score, tag and reasons."""
    import pandas as pd

    # Rounded to a millionth; adding 0.0 turns -0.0 into 0.0.
    added = scored[["probability", "score"]].round(_DECIMALS) + 0.0
    added["tag"] = scored["tag"]
    if "reasons" in scored.columns:
        added["reasons"] = scored["reasons"]
    # A rescored file's old reasons would belong to its old scores: they go too.
    replaced = [*added.columns, "reasons"]
    kept = chunk.drop(columns=[column for column in replaced if column in chunk.columns])
    return pd.concat([kept, added], axis=1)


# -- leadlife train ---------------------------------------------------------------------


@main.command("train")
@click.argument("data", type=_Path(dir_okay=False, path_type=Path), metavar="DATA.csv")
@click.option(
    "--label", required=True, metavar="COLUMN", help="The 0/1 (or Yes/No, Y/N) conversion column."
)
@click.option(
    "--estimator",
    type=click.Choice(["random_forest", "hist_gradient_boosting"]),
    default="random_forest",
    show_default=True,
    help="The kind of classifier.",
)
@click.option(
    "--drop",
    multiple=True,
    metavar="COLUMN",
    help="Leave a column out (repeat for several): ids, columns filled in after contact.",
)
@click.option("--search", is_flag=True, help="Tune the classifier with a randomized search.")
@click.option(
    "--n-iter",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    metavar="N",
    help="How many candidates the search tries.",
)
@click.option(
    "--cv",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    metavar="K",
    help="How many folds the search cross-validates on.",
)
@click.option(
    "--min-positives",
    type=click.IntRange(min=1),
    default=120,
    show_default=True,
    metavar="N",
    help="Refuse to train on fewer positive labels.",
)
@click.option(
    "--test-size",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    metavar="SHARE",
    help="The share of leads held out for evaluation.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    metavar="N",
    help="Seed of the holdout split, the classifier and the search.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=_Path(dir_okay=False, path_type=Path),
    metavar="MODEL",
    help="The model's name: writes MODEL.v<N>.joblib and its .json sidecar, N the next version.",
)
@click.option(
    "--report",
    "report_dir",
    type=_Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write the holdout evaluation there: report.json and PNG plots.",
)
def train_command(
    data: Path,
    label: str,
    estimator: str,
    drop: tuple[str, ...],
    search: bool,
    n_iter: int,
    cv: int,
    min_positives: int,
    test_size: float,
    seed: int,
    output: Path,
    report_dir: Path | None,
) -> None:
    """Train a lead-scoring model on DATA.csv and save it as the next version of MODEL.

    One row per lead; LABEL names the conversion column. The leads are cleaned, a
    stratified share is held out, the classifier is fitted (and tuned with --search)
    on the rest and evaluated on the holdout. Stages are reported on stderr, column
    leakage as warnings (docs/training.md).
    """
    if re.search(r"\.v\d+(\.joblib)?$", output.name):
        raise click.BadParameter(
            f"{output.name!r} names a version; give the model's name (versions are "
            "numbered for you)",
            param_hint="'-o' / '--output'",
        )
    if output.name.removesuffix(".joblib") in ("", ".", ".."):
        # Checked before minutes of fitting: save_model would refuse it only then.
        raise click.BadParameter(
            f"{str(output)!r} names a folder, not a model; give the model's name, "
            "e.g. models/lead-scorer",
            param_hint="'-o' / '--output'",
        )
    from leadlife.errors import ModelError
    from leadlife.ml.persistence import save_model
    from leadlife.ml.training import train

    def stage(message: str) -> None:
        click.echo(f"{message} ...", err=True)

    # Before minutes of fitting, and before anything is saved: a report that cannot
    # be written fails the run, which must then leave no model behind.
    created = [] if report_dir is None else _writable_folder(report_dir)
    try:
        started = time.perf_counter()
        stage(f"Reading {data}")
        frame = _readable(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = train(
                    frame,
                    label,
                    estimator=estimator,
                    test_size=test_size,
                    search=search,
                    n_iter=n_iter,
                    cv=cv,
                    min_positives=min_positives,
                    random_state=seed,
                    drop=drop,
                    progress=stage,
                )
            except (ModelError, ValueError) as exc:
                raise click.ClickException(_one_line(str(exc))) from None
            finally:
                _echo_warnings(caught)
        elapsed = time.perf_counter() - started
        inner = type(getattr(result.model, "estimator_", result.model)).__name__
        click.echo(
            f"Trained {inner} on {result.train_rows:,} leads in {elapsed:.1f} s; "
            f"holdout: {result.report.summary()}"
        )
        if result.leaks:
            names = ", ".join(repr(getattr(leak, "column", leak)) for leak in result.leaks)
            click.echo(f"Leakage: {names}: each alone nearly separates the label; consider --drop")
    except BaseException:
        _remove_empty(created)  # a failed run leaves no empty report folder either
        raise
    # The report is written into a temporary folder inside report_dir and moved into
    # place only once the model is saved: a failed run saves neither, and leaves an
    # earlier run's report as it was.
    part: Path | None = None
    try:
        if report_dir is not None:
            stage(f"Writing the report to {report_dir}")
            try:
                part = Path(tempfile.mkdtemp(dir=report_dir, prefix=".report.", suffix=".part"))
                written = result.report.write(part)
            except OSError as exc:
                raise click.ClickException(_report_error(report_dir, exc)) from None
        stage("Saving the model")
        try:
            model_file = save_model(result, output)
        except OSError as exc:
            raise click.ClickException(f"{output}: cannot save there ({exc.strerror})") from None
        if report_dir is not None and part is not None:
            try:
                for path in written:
                    os.replace(path, report_dir / path.name)
            except OSError as exc:
                raise click.ClickException(_report_error(report_dir, exc)) from None
            click.echo(f"Wrote {report_dir}: {', '.join(path.name for path in written)}")
    except BaseException:
        if part is not None:
            shutil.rmtree(part, ignore_errors=True)
        _remove_empty(created)
        raise
    if part is not None:
        shutil.rmtree(part, ignore_errors=True)
    click.echo(f"Saved {model_file} (sidecar {model_file.name}.json)")


def _report_error(report_dir: Path, exc: OSError) -> str:
    return (
        f"--report {report_dir}: cannot write the report there ({exc.strerror}); "
        "give a folder you can write to"
    )


def _writable_folder(report_dir: Path) -> list[Path]:
    """Create ``report_dir`` and check a file can be written in it, or a one-line error.

    Returns the folders it created, outermost first."""
    created = [folder for folder in (report_dir, *report_dir.parents) if not folder.exists()]
    created.reverse()
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=report_dir):
            pass
    except OSError as exc:
        _remove_empty(created)
        raise click.ClickException(_report_error(report_dir, exc)) from None
    return created


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        # Not created after all, or something was put there since: it stays.
        with contextlib.suppress(OSError):
            folder.rmdir()


def _readable(data: Path) -> Any:
    """The training CSV as a frame, or a one-line error naming the file."""
    import pandas as pd

    from leadlife.errors import FeatureSchemaError
    from leadlife.ml.training import read_training_csv

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return read_training_csv(data, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{data}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{data}: not UTF-8 text; save it as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise click.ClickException(f"{data}: {_EMPTY_CSV}") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise click.ClickException(f"{data}: {_one_line(str(exc))}") from None
    except FeatureSchemaError as exc:  # a blank or repeated header name
        raise click.ClickException(f"{data}: {exc}") from None


def _echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Warnings raised while training, one line each on stderr."""
    for warning in caught:
        category = warning.category.__name__
        prefix = "" if category == "LeakageWarning" else f"{category}: "
        click.echo(f"Warning: {prefix}{_one_line(str(warning.message))}", err=True)
