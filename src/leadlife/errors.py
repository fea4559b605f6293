"""The exceptions leadlife raises, all rooted at :class:`LeadlifeError`.

Every error keeps the values it talks about as attributes, so a host can react to
them in code, and says in its message what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadlife.reports import IngestReport
    from leadlife.stages import Stage

__all__ = [
    "FeatureSchemaError",
    "IngestInterrupted",
    "InsufficientDataError",
    "InvalidArgumentError",
    "InvalidEventError",
    "InvalidTimeError",
    "LeadNotFoundError",
    "LeadlifeError",
    "ModelError",
    "ModelIntegrityError",
    "ModelVersionError",
    "NotPermittedError",
    "PluginError",
    "ProcessingError",
    "ReentrantIngestError",
    "RegistrationError",
    "RoutingConfigError",
    "RulebookError",
    "StageGraphError",
    "StorageError",
    "TransitionNotAllowed",
]


class LeadlifeError(Exception):
    """Base class of every error leadlife raises on purpose.

    Errors pickle and copy with their attributes (reports keep them; worker
    processes and task queues send them on), whatever their own arguments.
    """

    def __reduce__(self) -> tuple[object, ...]:
        # Exception pickles as cls(*args), but these take their values, not the
        # message: rebuild from the message and the attributes instead.
        return _restore, (type(self), self.args, dict(self.__dict__))


def _detail(error: BaseException) -> str:
    """``str(error)``, which for an odd value can fail too."""
    try:
        return str(error)
    except Exception:
        return "(no message)"


def _restore(
    cls: type[LeadlifeError], args: tuple[object, ...], state: dict[str, object]
) -> LeadlifeError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidEventError(LeadlifeError, ValueError):
    """An inbound event failed validation; nothing was applied.

    ``field`` is the dotted path of the offending field (``"at"``, ``"data.reason"``),
    ``fix`` says what a valid value looks like.
    """

    def __init__(self, field: str, problem: str, fix: str, *, event_id: str | None = None):
        self.field = field
        self.problem = problem
        self.fix = fix
        self.event_id = event_id
        where = f"event {event_id!r}: " if event_id else "event: "
        super().__init__(f"{where}{field}: {problem}. Fix: {fix}")


class InvalidArgumentError(LeadlifeError, ValueError):
    """An argument given to a leadlife function, method or constructor is of the wrong
    kind or value (the engine's clock, a window's days, a work queue's filter, a
    training run's holdout share...).

    ``argument`` names it, ``fix`` says what to pass instead.
    """

    def __init__(self, argument: str, problem: str, fix: str):
        self.argument = argument
        self.problem = problem
        self.fix = fix
        super().__init__(f"{argument}: {problem}. Fix: {fix}")


class InvalidTimeError(LeadlifeError, ValueError):
    """A moment given to the engine (``now``, a clock reading, a pool operation's
    ``at``) has no timezone, has an offset that cannot be read, is not a moment at
    all, or lies outside the years the engine keeps time in (see docs/time.md).

    ``name`` is the argument, ``value`` what was given.
    """

    def __init__(
        self,
        name: str,
        value: object,
        problem: str = "has no timezone",
        fix: str = "pass an aware datetime, e.g. datetime.now(UTC) or "
        "datetime(2026, 11, 2, tzinfo=UTC)",
    ):
        self.name = name
        self.value = value
        super().__init__(f"{name}: {value!r} {problem}. Fix: {fix}")


class RegistrationError(LeadlifeError, TypeError):
    """A plugin registered something that does not answer its protocol."""

    def __init__(self, plugin: str, hook: str, problem: str):
        self.plugin = plugin
        self.hook = hook
        self.problem = problem
        super().__init__(f"plugin {plugin!r} in {hook}: {problem}")


class RulebookError(LeadlifeError, ValueError):
    """A rulebook could not be loaded; the engine keeps the rulebook it had.

    ``path`` is the dotted path inside the rulebook (``"qualification.SQL.when.all.1"``),
    ``source`` the file or ``"<dict>"`` it came from.
    """

    def __init__(self, path: str, problem: str, fix: str, *, source: str = "<dict>"):
        self.path = path
        self.problem = problem
        self.fix = fix
        self.source = source
        location = f"{source}: {path}" if path else source
        super().__init__(f"rulebook {location}: {problem}. Fix: {fix}")


class RoutingConfigError(RulebookError):
    """A routing configuration (teams, routers, SLA timers) could not be loaded.

    Same attributes as :class:`RulebookError`: ``path`` is the dotted key inside the
    configuration (``"teams.1.members.0.capacity"``), ``source`` the file it came from.
    """

    def __init__(self, path: str, problem: str, fix: str, *, source: str = "<dict>"):
        super().__init__(path, problem, fix, source=source)
        location = f"{source}: {path}" if path else source
        self.args = (f"routing config {location}: {problem}. Fix: {fix}",)


class StageGraphError(LeadlifeError, ValueError):
    """A stage transition table is inconsistent (unreachable stage, trap, unknown stage)."""

    def __init__(self, problem: str, stages: Iterable[Stage] = ()):
        self.stages = tuple(stages)
        super().__init__(f"stage graph: {problem}")


class TransitionNotAllowed(LeadlifeError):
    """A lead was asked to move to a stage the transition table does not allow."""

    def __init__(
        self,
        lead_id: str,
        current: Stage,
        target: Stage,
        allowed: Iterable[Stage],
        note: str = "",
    ):
        self.lead_id = lead_id
        self.current = current
        self.target = target
        self.allowed = tuple(allowed)
        names = ", ".join(s.name for s in self.allowed) or "none"
        extra = f" ({note})" if note else ""
        super().__init__(
            f"lead {lead_id!r} cannot move from {current.name} to {target.name}{extra}; "
            f"allowed targets from {current.name}: {names}"
        )


class NotPermittedError(InvalidEventError):
    """A pool operation (claim, assign, transfer, return) that its actor may not do.

    ``action`` is the operation, ``actor`` who asked, ``lead_id`` the lead; nothing
    was applied.
    """

    def __init__(
        self,
        action: str,
        actor: str,
        lead_id: str,
        problem: str,
        fix: str,
        *,
        field: str = "data.by",
        event_id: str | None = None,
    ):
        self.action = action
        self.actor = actor
        self.lead_id = lead_id
        super().__init__(
            field, f"{actor!r} may not {action} lead {lead_id!r}: {problem}", fix, event_id=event_id
        )


class PluginError(LeadlifeError):
    """A plugin failed in a way that forced the whole event to be rejected."""

    def __init__(
        self,
        plugin: str,
        hook: str,
        event_id: str | None,
        error: BaseException,
        *,
        outcome: str | None = None,
    ):
        self.plugin = plugin
        self.hook = hook
        self.event_id = event_id
        self.error = error
        subject = "" if event_id is None else f" for event {event_id!r}"
        if outcome is None:
            outcome = (
                "nothing was applied"
                if event_id is None
                else "the event was not applied and can be sent again"
            )
        super().__init__(
            f"plugin {plugin!r} failed in {hook}{subject}: "
            f"{type(error).__name__}: {error}. Fix the plugin or unregister it; {outcome}."
        )


class ProcessingError(LeadlifeError):
    """Applying an event, or a lead's time rules, failed in a way no check foresaw
    (``error``: a value of a kind no rule reads, say); nothing was applied.

    ``ingest_many`` and ``tick`` report it for the one event or lead and go on.
    """

    def __init__(
        self, error: BaseException, *, event_id: str | None = None, lead_id: str | None = None
    ):
        self.error = error
        self.event_id = event_id
        self.lead_id = lead_id
        if lead_id is None or event_id is not None:
            subject, outcome = f"event {event_id!r}", "the event was not applied"
        else:
            subject, outcome = f"the time rules of lead {lead_id!r}", "nothing was applied"
        detail = _detail(error)
        super().__init__(
            f"{subject} failed: {type(error).__name__}: {detail}; {outcome}. Fix: check its "
            "data values (text, numbers, booleans, lists of them); if they are ordinary, "
            "this is a bug in leadlife or a plugin: report it with the event"
        )


class IngestInterrupted(LeadlifeError):
    """The events given to ``ingest_many`` could not be read to the end: taking the
    next one from the iterable raised ``error`` (also the ``__cause__``).

    The ``index`` events before it were handled one by one, as always: ``report``
    says which were applied, duplicates or rejected. Sending the rest again from
    ``index`` (or all of them: a resent id changes nothing) picks up where it stopped.
    """

    def __init__(self, index: int, report: IngestReport, error: BaseException):
        self.index = index
        self.report = report
        self.error = error
        detail = _detail(error)
        super().__init__(
            f"reading event {index} from the iterable failed: {type(error).__name__}: "
            f"{detail}. The {index} events before it were handled ({report.accepted} "
            f"applied, {report.duplicates} duplicates, {len(report.rejected)} rejected: see "
            "this error's report). Fix the source of the events, then send them again "
            f"from index {index} (resent ids change nothing)"
        )


class ReentrantIngestError(LeadlifeError):
    """An event for a lead was sent while an earlier event of that lead was being
    applied (from a plugin's hook before its commit); nothing of it was applied, so
    it can be sent again."""

    def __init__(self, lead_id: str, event_id: str | None):
        self.lead_id = lead_id
        self.event_id = event_id
        super().__init__(
            f"event {event_id!r} for lead {lead_id!r} arrived while an earlier event of "
            "that lead was being applied, from a plugin hook that runs before the commit "
            "(enrichment, a scorer or a router); the outer event would overwrite it. "
            "Fix: return the fields from the hook, or send the event once the outer "
            "ingest has returned (leadlife_stage_changed runs after the commit)"
        )


class StorageError(PluginError):
    """The storage plugin failed to read or write (``hook`` names the operation); the
    event, or the lead's tick, was not applied."""


class LeadNotFoundError(LeadlifeError, KeyError):
    """No lead with this id is stored."""

    def __init__(self, lead_id: str):
        self.lead_id = lead_id
        super().__init__(f"no lead with id {lead_id!r}; ingest an event for it first")

    def __str__(self) -> str:
        return str(self.args[0])


class ModelError(LeadlifeError):
    """Base class of the errors of the machine-learning scorer: training, loading, scoring."""


class InsufficientDataError(ModelError, ValueError):
    """Too little labelled data to train a model worth trusting; nothing was trained.

    ``positives`` is how many positive labels the data has, ``required`` how many
    training asks for.
    """

    def __init__(self, positives: int, required: int, label: str):
        self.positives = positives
        self.required = required
        self.label = label
        super().__init__(
            f"{label!r} has {positives} positive labels; training needs at least {required}. "
            "Fix: collect more converted leads (keep scoring with the rule scorer meanwhile), "
            "or lower min_positives if you accept a less reliable model"
        )


class ModelIntegrityError(ModelError):
    """A model file does not match its sidecar (hash, missing file); it was not unpickled."""

    def __init__(self, path: str, problem: str, fix: str):
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}. Fix: {fix}")


class ModelVersionError(ModelError):
    """A model file was written by an incompatible leadlife, scikit-learn or numpy version."""

    def __init__(self, path: str, package: str, saved: str, running: str):
        self.path = path
        self.package = package
        self.saved = saved
        self.running = running
        super().__init__(
            f"{path}: saved with {package} {saved}, running {running} (different major "
            f"version). Fix: retrain the model with {package} {running}, or install "
            f"{package} {saved.split('.')[0]}.x to load it"
        )


class FeatureSchemaError(ModelError, ValueError):
    """The features given to a model differ from the ones it was trained on.

    ``missing`` and ``unexpected`` name the columns; ``column`` is set when one
    column has the wrong kind.
    """

    def __init__(
        self,
        problem: str,
        fix: str,
        *,
        missing: Iterable[str] = (),
        unexpected: Iterable[str] = (),
        column: str | None = None,
    ):
        self.problem = problem
        self.fix = fix
        self.missing = tuple(missing)
        self.unexpected = tuple(unexpected)
        self.column = column
        super().__init__(f"{problem}. Fix: {fix}")
