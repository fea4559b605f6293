"""The :class:`Engine`: one event, one direction, one write.

validate → catch up time rules → enrich → record → score → stage rules → route →
store → notify. Every step's logic lives elsewhere (rules, scorers, plugins); the
engine only runs the pipeline, isolates plugin failures, and writes each lead once.
"""

from __future__ import annotations

import heapq
import logging
import math
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from numbers import Integral
from types import MappingProxyType
from typing import Any

from leadlife.channels import Channel
from leadlife.clock import (
    EARLIEST_TS,
    LATEST_DUE_TS,
    LATEST_TS,
    Clock,
    aware_ts,
    epoch_seconds,
    require_aware,
    system_clock,
    with_standard_zone,
)
from leadlife.enrichment import Enricher
from leadlife.errors import (
    IngestInterrupted,
    InvalidArgumentError,
    InvalidEventError,
    LeadlifeError,
    LeadNotFoundError,
    ProcessingError,
    ReentrantIngestError,
    RegistrationError,
    RulebookError,
    StorageError,
)
from leadlife.events import ID_SPACE, Event, parse_event, reported_id
from leadlife.lead import NO_EVIDENCE, Assignment, Lead, StageChange
from leadlife.notices import Notice
from leadlife.plugins.manager import (
    ASYNC_FIX,
    LeadlifePluginManager,
    call_each,
    get_plugin_manager,
    is_async,
)
from leadlife.plugins.manager import is_leadlife_code as _is_ours
from leadlife.profile import CONTACT_FIELDS, set_profile_field
from leadlife.reports import IngestReport, PluginFailure, Rejection, TickError, TickReport
from leadlife.routing import RouteDecision, Router, Routing
from leadlife.routing.pool import POOL_EVENTS, pool_event
from leadlife.rules import Rulebook, load_rulebook
from leadlife.scoring.protocol import Scorer, ScoreResult
from leadlife.stages import Stage
from leadlife.storage import Storage
from leadlife.values import FIX as VALUE_FIX
from leadlife.values import FrozenDict, UnsupportedValue, plain_value, plain_values

__all__ = ["Engine"]

log = logging.getLogger("leadlife.engine")
trace_log = logging.getLogger("leadlife.hooks")
EventInput = Event | Mapping[str, Any]
_NOTHING: Mapping[str, Any] = MappingProxyType({})  # no enricher set a field
_isfinite = math.isfinite


class Engine:
    """The lead-lifecycle engine.

    :param rulebook: a :class:`~leadlife.rules.Rulebook`, a dict, or a TOML path;
        by default the ``leadlife_rulebook`` hook answers (the built-in rulebook last).
    :param plugins: plugin objects or modules to register on this engine's manager.
    :param clock: a callable returning an aware ``datetime``: "now" for ``tick``
        without ``now``, pool operations without ``at``, and ``explain`` of a lead
        never scored. Events carry their own time.
    :param plugin_manager: a manager to use instead of a fresh
        :func:`~leadlife.plugins.get_plugin_manager`.
    :param failure_log_size: how many plugin failures ``engine.failures`` keeps (None: all).
    :param max_clock_skew: refuse an event dated more than this ahead of the clock (a
        sender whose clock runs fast would make every later event of its lead late);
        None, the default, takes any time the engine keeps time in.
    """

    def __init__(
        self,
        rulebook: Rulebook | Mapping[str, Any] | str | None = None,
        plugins: Iterable[object] | None = (),
        clock: Clock | None = None,
        *,
        plugin_manager: LeadlifePluginManager | None = None,
        failure_log_size: int | None = 10_000,
        max_clock_skew: timedelta | None = None,
    ):
        # Checked before any plugin is registered: a refused engine changes no manager.
        if clock is not None and not callable(clock):
            raise InvalidArgumentError(
                "clock",
                f"{clock!r} is not a clock",
                "pass a callable returning an aware datetime, e.g. leadlife.FixedClock(moment)",
            )
        if failure_log_size is not None and (
            not isinstance(failure_log_size, Integral)
            or isinstance(failure_log_size, bool)
            or not 0 <= failure_log_size <= sys.maxsize
        ):
            raise InvalidArgumentError(
                "failure_log_size",
                f"{failure_log_size!r} is no size",
                "pass a whole number, 0 or more (None keeps every failure)",
            )
        if max_clock_skew is not None and (
            not isinstance(max_clock_skew, timedelta) or max_clock_skew < timedelta(0)
        ):
            raise InvalidArgumentError(
                "max_clock_skew",
                f"{max_clock_skew!r} is no tolerance",
                "pass a timedelta of 0 or more, e.g. timedelta(minutes=5) (None takes any time)",
            )
        if plugins is None:
            plugins = ()
        elif isinstance(plugins, str | bytes) or not isinstance(plugins, Iterable):
            raise InvalidArgumentError(
                "plugins",
                f"expected plugin objects, got a {type(plugins).__name__}",
                "pass a list of plugin objects (or modules)",
            )
        if plugin_manager is not None and not isinstance(plugin_manager, LeadlifePluginManager):
            raise InvalidArgumentError(
                "plugin_manager",
                f"{plugin_manager!r} is not a plugin manager",
                "pass one from leadlife.get_plugin_manager(), or leave it out",
            )
        self.max_clock_skew = max_clock_skew
        self._max_skew_s = None if max_clock_skew is None else max_clock_skew.total_seconds()
        pm = get_plugin_manager() if plugin_manager is None else plugin_manager
        registered: list[object] = []
        try:
            for plugin in plugins:
                name = _plugin_name(pm, plugin)
                if plugin is None:  # pluggy ignores None: the plugin meant would be missing
                    raise _no_hooks(name, plugin)
                # Refuses a plugin registered already (or equal to one) itself.
                pm.register(plugin, name=name)
                if not pm.get_hookcallers(plugin):
                    pm.unregister(plugin)
                    raise _no_hooks(name, plugin)
                registered.append(plugin)
            self._build(pm, rulebook, clock, failure_log_size)
        except BaseException:
            # A refused engine leaves the host's manager as it found it.
            for plugin in registered:
                pm.unregister(plugin)
            raise

    def _build(
        self,
        pm: LeadlifePluginManager,
        rulebook: Rulebook | Mapping[str, Any] | str | None,
        clock: Clock | None,
        failure_log_size: int | None,
    ) -> None:
        self.plugin_manager = pm
        self.clock: Clock = system_clock if clock is None else clock
        if rulebook is None:
            answer, plugin = pm.provide("leadlife_rulebook")
            try:
                self.rulebook = load_rulebook(answer)
            except RulebookError as exc:
                raise RegistrationError(
                    plugin, "leadlife_rulebook", f"returned a rulebook that cannot be used: {exc}"
                ) from exc
        else:
            self.rulebook = load_rulebook(rulebook)
        storage, plugin = pm.provide("leadlife_storage")
        if storage is None:
            raise _no_storage(pm)
        # A class answers the protocol's attribute checks too: it must be an instance.
        if not isinstance(storage, Storage) or isinstance(storage, type):
            raise RegistrationError(
                plugin,
                "leadlife_storage",
                f"returned {storage!r}, which is not a Storage"
                + (" (a class: return an instance of it)" if isinstance(storage, type) else ""),
            )
        self.storage: Storage = storage
        self.failures: deque[PluginFailure] = _FailureLog(
            maxlen=None if failure_log_size is None else int(failure_log_size)
        )
        self.scorers: dict[str, Scorer] = {}
        self.enrichers: list[tuple[str, Enricher]] = []
        self.routers: list[tuple[str, Router]] = []
        self.channels: list[tuple[str, Channel]] = []
        self.routing: Routing | None = None
        # (name, plugin, score, score_event or None, is leadlife's own) per scorer,
        # read on every event
        self._scoring: list[
            tuple[
                str,
                str,
                Callable[[Lead, datetime], float],
                Callable[[Lead, Event, float, datetime], float] | None,
                Callable[[Lead, float], float] | None,
                bool,
            ]
        ] = []
        self._enrich_hooks = False
        # Whether code from outside leadlife sees the lead before the commit (in
        # enrichment) or after it (stage hooks, channels): it is handed a fork.
        self._enrich_view = False
        self._fan_out_view = False
        self._routing_providers: list[Any] | None = None  # pluggy HookImpls
        self._counters: dict[str, dict[str, dict[str, Any]]] = {}
        self._retention_days = self.rulebook.retention_days
        self._generation = -1
        # Writes (ingest, tick, pool operations) take it per event and per lead, so
        # threads interleave between them; reentrant, for hooks that run after a
        # commit and send events. ``_applying``: leads with an event before its commit.
        self._lock = threading.RLock()
        self._applying: set[str] = set()
        # Fan-outs in commit order, delivered outside the lock by one thread at a time.
        self._outbox: deque[
            tuple[Lead, list[StageChange], list[Notice], str | None, list[PluginFailure]]
        ] = deque()
        self._delivering = False
        self._sync()

    # -- plugins -------------------------------------------------------------------

    def _sync(self) -> None:
        """Re-collect registered scorers, enrichers, routers and channels if plugins changed."""
        pm = self.plugin_manager
        generation = pm.generation
        if generation == self._generation:
            return
        # Read before collecting: a plugin another thread registers meanwhile moves it
        # on, so the next event collects again instead of never seeing that plugin.
        pm.check_hooks()
        collected = self._collect("leadlife_register_scorers", Scorer)
        scorers: dict[str, Scorer] = {scorer.name: scorer for _, scorer in collected}
        owners = {scorer.name: plugin for plugin, scorer in collected}
        if self.rulebook.scorer_name not in scorers:
            raise RulebookError(
                "bands.scorer",
                f"no scorer named {self.rulebook.scorer_name!r} is registered "
                f"(registered: {', '.join(sorted(scorers)) or 'none'})",
                "name a registered scorer, or register one with leadlife_register_scorers",
                source=self.rulebook.source,
            )
        self.scorers = scorers
        counters: dict[str, dict[str, dict[str, Any]]] = {}
        retention_days = self.rulebook.retention_days
        for name, scorer in scorers.items():
            wanted = getattr(scorer, "counters", None)
            try:
                if callable(wanted):
                    for kind, keys in wanted().items():
                        counters.setdefault(kind, {}).update(keys)
                # Scorers reading longer windows than the rulebook's (a model's 365-day
                # counts) say so with ``window_days``; day buckets are kept that long.
                retention_days = max(retention_days, int(getattr(scorer, "window_days", 0) or 0))
            except Exception as exc:
                raise RegistrationError(
                    owners[name],
                    "leadlife_register_scorers",
                    f"scorer {name!r} has unusable counters() or window_days: {exc!r}; "
                    "counters() returns {event type: {key: data to match}}, "
                    "window_days a whole number of days",
                ) from exc
        self._counters = counters
        self._retention_days = retention_days
        self._scoring = [
            (
                name,
                owners[name],
                scorer.score,
                update if callable(update := getattr(scorer, "score_event", None)) else None,
                # leadlife's own scorers may take ``now`` in epoch seconds, as the
                # engine has it
                getattr(scorer, "score_ts", None) if _is_ours(scorer) else None,
                _is_ours(scorer),
            )
            for name, scorer in scorers.items()
        ]
        # Merged so that the plugin pluggy asks first wins a field, as for routers and
        # storage: the host's own, registered after the installed ones (or tryfirst).
        self.enrichers = _last_called_first(self._collect("leadlife_register_enrichers", Enricher))
        self.routers = self._collect("leadlife_register_routers", Router)
        self.channels = self._collect("leadlife_register_channels", Channel)
        hook = pm.hook
        self._enrich_view = not all(
            _is_ours(enricher) for _, enricher in self.enrichers
        ) or not all(_is_ours(impl.plugin) for impl in hook.leadlife_enrich_event.get_hookimpls())
        self._fan_out_view = not all(_is_ours(channel) for _, channel in self.channels) or not all(
            _is_ours(impl.plugin)
            for impl in (
                *hook.leadlife_stage_changed.get_hookimpls(),
                *hook.leadlife_notify.get_hookimpls(),
            )
        )
        # Asked again only when its implementations changed: the routing holds the
        # teams' turns, credits and quotas, which a fresh answer would start over.
        providers = hook.leadlife_routing.get_hookimpls()  # new objects when re-registered
        known = self._routing_providers
        if (
            known is None
            or len(known) != len(providers)
            or any(a is not b for a, b in zip(known, providers, strict=True))
        ):
            routing, plugin = pm.provide("leadlife_routing")
            if routing is not None and not isinstance(routing, Routing):
                raise RegistrationError(
                    plugin,
                    "leadlife_routing",
                    f"returned {routing!r}, which is not a Routing",
                )
            self.routing = routing
            self._routing_providers = providers
            if routing is not None:
                self._warn_undeclared_touches(routing)
        self._enrich_hooks = bool(pm.hook.leadlife_enrich_event.get_hookimpls())
        self._generation = generation

    def _warn_undeclared_touches(self, routing: Routing) -> None:
        """Log the touch event types the rulebook does not declare: most likely a
        misspelling, with which an owner's calls would never count as touches and
        every speed-to-lead window would be missed."""
        rulebook = self.rulebook
        undeclared = sorted(
            kind
            for kind in routing.timers.touches
            if kind not in rulebook.event_types and kind not in POOL_EVENTS
        )
        if undeclared:
            log.warning(
                "sla.touch_events lists %s, which the rulebook does not declare: %s. "
                "Fix: check the spelling against the event types you send, or declare "
                "them under [event_types]",
                ", ".join(repr(kind) for kind in undeclared),
                "a strict rulebook refuses such events, so they never touch a lead"
                if rulebook.strict
                else "events of those types are accepted, and count as touches only "
                "under exactly that name",
            )

    def _collect(self, hook: str, protocol: type[object]) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        for impl in reversed(getattr(self.plugin_manager.hook, hook).get_hookimpls()):
            registered: list[object] = []
            kwargs = {"register": registered.append, "rulebook": self.rulebook}
            try:
                returned = impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as exc:
                raise RegistrationError(impl.plugin_name, hook, f"raised {exc!r}") from exc
            if returned is not None:
                raise RegistrationError(
                    impl.plugin_name,
                    hook,
                    f"returned {returned!r}, which registers nothing: call register(obj) "
                    "for each one instead",
                )
            if self.plugin_manager.trace_hooks:
                trace_log.debug("%s[%s] registered %r", hook, impl.plugin_name, registered)
            kind = protocol.__name__.lower()
            for obj in registered:
                name = getattr(obj, "name", None)
                if isinstance(obj, type):
                    # A class answers the protocol's attribute checks, then fails on use.
                    raise RegistrationError(
                        impl.plugin_name,
                        hook,
                        f"registered the class {obj.__qualname__}: register an instance of it",
                    )
                if not isinstance(obj, protocol) or not isinstance(name, str):
                    raise RegistrationError(
                        impl.plugin_name,
                        hook,
                        f"registered {obj!r}, which does not answer the "
                        f"{protocol.__name__} protocol (a 'name' and its methods)",
                    )
                for method in _PROTOCOL_METHODS.get(protocol, ()):
                    try:
                        function = getattr(obj, method, None)
                    except Exception:  # a property that fails says nothing of async
                        function = None
                    if is_async(function):
                        # Called and never awaited, it would never run: a channel's
                        # notices would all be lost, with no failure recorded.
                        raise RegistrationError(
                            impl.plugin_name,
                            hook,
                            f"registered {kind} {name!r}, whose {method} is an async def, "
                            f"which leadlife never awaits: {ASYNC_FIX}",
                        )
                clash = next((p for p, other in found if other.name == name), None)
                if clash is not None:
                    # The plugin to rename is not leadlife's own, whichever came first.
                    ours = _is_ours(impl.plugin)
                    culprit, other = (
                        (clash, impl.plugin_name) if ours else (impl.plugin_name, clash)
                    )
                    raise RegistrationError(
                        culprit,
                        hook,
                        f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} named {name!r} is "
                        f"already registered by {other!r}; give it another name",
                    )
                found.append((impl.plugin_name, obj))
        return found

    def _failed(
        self,
        failures: list[PluginFailure],
        plugin: str,
        hook: str,
        error: BaseException | str,
        event_id: str | None,
        lead_id: str | None,
    ) -> None:
        text = error if isinstance(error, str) else _message(error)
        failure = PluginFailure(
            plugin=plugin,
            hook=hook,
            event_id=event_id,
            lead_id=lead_id,
            error=text,
            error_type=type(error).__name__ if isinstance(error, BaseException) else "contract",
        )
        failures.append(failure)
        self.failures.append(failure)
        log.warning(
            "plugin %s failed in %s for event %s (lead %s): %s",
            plugin,
            hook,
            event_id,
            lead_id,
            failure.error,
        )

    # -- ingest --------------------------------------------------------------------

    def ingest(self, event: EventInput) -> Lead:
        """Apply one event and return the lead in its new state.

        The lead returned is the caller's to keep: later events do not change it,
        and what the caller changes in it reaches neither the store nor the engine.

        Raises :class:`~leadlife.errors.InvalidEventError` for bad input and
        :class:`~leadlife.errors.StorageError` when the event could not be stored;
        in both cases nothing changed. Sending an event id again changes nothing.
        """
        try:
            lead, _, _ = self._ingest(event, [])
        except LeadlifeError:
            raise
        except Exception as exc:
            raise ProcessingError(exc, event_id=_event_id(event)) from exc
        # A fork: the stored lead shares its containers with the engine's working
        # copy, which a caller changing its lead's profile would change in the store.
        return lead.fork()

    def ingest_many(self, events: Iterable[EventInput]) -> IngestReport:
        """Apply many events; bad ones are rejected one by one with their reason."""
        if isinstance(events, Mapping | Event) or not isinstance(events, Iterable):
            raise InvalidEventError(
                "<events>",
                f"expected an iterable of events, got {type(events).__name__}",
                "pass a list (or any iterable) of events; ingest() takes one",
            )
        if isinstance(events, str | bytes | bytearray | memoryview):
            # Iterable, but of characters: each would be rejected as an event.
            raise InvalidEventError(
                "<events>",
                f"expected an iterable of events, got {type(events).__name__} (text, not events)",
                "parse the text first (json.loads of a JSON array, one json.loads per line "
                "of JSON Lines) and pass the list of events",
            )
        if _is_data_frame(events):
            # Iterating a frame gives its column names, not its rows.
            raise InvalidEventError(
                "<events>",
                f"expected an iterable of events, got a {type(events).__name__}, whose "
                "iteration gives its column names",
                "pass its rows as mappings: frame.to_dict('records')",
            )
        report = IngestReport()
        failures = report.failures
        ingest = self._ingest
        accepted = duplicates = stage_changes = 0
        index = -1
        try:
            source = iter(events)
        except Exception as exc:
            raise IngestInterrupted(0, report, exc) from exc
        while True:
            # next() by hand, not a for loop: an iterable failing half-way (a file
            # read lazily, say) must not take the report of what was applied with it.
            try:
                raw = next(source)
            except StopIteration:
                break
            except Exception as exc:
                report.accepted = accepted
                report.duplicates = duplicates
                report.stage_changes = stage_changes
                raise IngestInterrupted(index + 1, report, exc) from exc
            index += 1
            recorded = len(failures)
            try:
                # Only the counts: a lead held here could not take its next event's
                # state in place (see MemoryStorage).
                changes, duplicate = ingest(raw, failures)[1:]
            except LeadlifeError as exc:
                # The report's failures are those of applied events (engine.failures
                # keeps every one); a resent event would be counted twice.
                _drop_rejected(failures, recorded)
                event_id = _event_id(raw)
                report.rejected.append(Rejection(index, event_id, str(exc), _caught(exc)))
                continue
            except Exception as exc:
                # Raised before the storage commit (after it come only the teams'
                # bookkeeping and the fan-out, which records plugin failures), so the
                # event is rejected whole; one event no check foresaw must not end the
                # batch.
                _drop_rejected(failures, recorded)
                event_id = _event_id(raw)
                error = ProcessingError(exc, event_id=event_id)
                error.__cause__ = exc
                log.warning("event %r rejected: %s", event_id, error)
                report.rejected.append(Rejection(index, event_id, str(error), _caught(error)))
                continue
            if duplicate:
                duplicates += 1
            else:
                accepted += 1
                stage_changes += changes
        report.accepted = accepted
        report.duplicates = duplicates
        report.stage_changes = stage_changes
        return report

    def _ingest(self, raw: EventInput, failures: list[PluginFailure]) -> tuple[Lead, int, bool]:
        event = parse_event(raw)  # outside the lock: validation reads no engine state
        outbox = self._outbox
        try:
            with self._lock:
                lead, changes, notices, duplicate = self._apply(event, failures)
                if changes or notices:
                    outbox.append((lead, changes, notices, event.id, failures))
        finally:
            # The outbox, not only this event's fan-out: an event a hook before the
            # commit sent for another lead waits there for this one (see _deliver),
            # stored or not.
            if outbox:
                self._deliver()
        return lead, len(changes), duplicate

    def _apply(
        self, event: Event, failures: list[PluginFailure]
    ) -> tuple[Lead, list[StageChange], list[Notice], bool]:
        """The event's pipeline up to its commit, under the engine's lock:
        ``(lead, stage changes, notices, whether the id was seen already)``."""
        if self.plugin_manager.generation != self._generation:  # _sync's own test, inline
            self._sync()
        applying, lead_id = self._applying, event.lead_id
        if lead_id in applying:
            raise ReentrantIngestError(lead_id, event.id)
        applying.add(lead_id)
        counted: list[Any] = []  # teams' counts of the catch-up, undone if the event fails
        caught_up = 0
        try:
            storage = self.storage
            try:
                stored = storage.get(lead_id)
            except Exception as exc:
                raise self._storage_error("Storage.get", event.id, exc) from exc
            if stored is not None and (type(stored) is not Lead or stored.id != lead_id):
                stored = self._checked_lead(stored, lead_id, event.id)
            try:
                seen = storage.has_event(event.id)
            except Exception as exc:
                raise self._storage_error("Storage.has_event", event.id, exc) from exc
            if seen:
                if stored is None or not self._is_own_event(event):
                    raise InvalidEventError(
                        "id",
                        f"already used by an event of another lead, not {event.lead_id!r}",
                        "give every event a unique id (ids are global, not per lead)",
                        event_id=event.id,
                    )
                # A resent id changes nothing, whatever the rest of the event says: it is
                # checked only once it is known to be new.
                return stored, [], [], True
            try:
                ts = epoch_seconds(event.at)
            except Exception as exc:  # a host's tzinfo with an offset of 24 h or more, say
                raise InvalidEventError(
                    "at",
                    f"cannot be read as a moment ({type(exc).__name__}: {exc})",
                    "send an ISO 8601 time with an offset under 24 hours, or an aware datetime",
                    event_id=event.id,
                ) from None
            if not EARLIEST_TS <= ts < LATEST_TS:
                raise InvalidEventError(
                    "at",
                    f"{event.at.isoformat()} is outside the years 1900 to 2999 (in UTC) the engine "
                    "keeps time in (its time rules add days, its reports turn it into UTC)",
                    "send the time the event happened; leave out placeholder dates",
                    event_id=event.id,
                )
            if self._max_skew_s is not None:
                self._check_skew(event, ts)
            rulebook = self.rulebook
            rulebook.check(event)
            lead = Lead(event.lead_id) if stored is None else stored.working_copy()
            del stored  # held here, the stored lead could not take the new state in place
            changes: list[StageChange] = []
            notices: list[Notice] = []
            assignments: list[Assignment] = []
            due = lead.next_check_ts
            if due is not None and due <= ts:
                # What fell due by the event's moment. A lead acting at the very moment it
                # would turn idle or asleep, or an owner calling at the end of the window,
                # acted in time: for them, only what fell due before it.
                until = ts
                if rulebook.is_activity(event.type) or (
                    self.routing is not None and self.routing.is_touch(event.type)
                ):
                    until = math.nextafter(ts, -math.inf)
                if due <= until:
                    self._catch_up(
                        lead, until, changes, notices, assignments, failures, event, counted
                    )
            caught_up = len(assignments)  # counted in their teams as they were made
            enrichment: Mapping[str, Any]
            ordered: Mapping[str, Any]
            if self.enrichers or self._enrich_hooks:
                last = lead.last_event_ts
                enrichment, ordered = self._enrich(
                    event, lead, failures, late=last is not None and ts < last
                )
            else:
                enrichment = ordered = _NOTHING
            owner_before = lead.owner
            rulebook.record(lead, event, enrichment, ts, self._counters, self._retention_days)
            if ordered:
                # These enrichers order their fields by event time themselves: a late event
                # moves them too (record() lets a late event fill only missing fields).
                profile, region = lead.profile, rulebook.phone_region
                for name, value in ordered.items():
                    set_profile_field(profile, name, value, region)
                enrichment = {**enrichment, **ordered}
            last = lead.last_event_ts
            # Read by other rules (the host changed its rulebook), the lead's last
            # scores and reading of the ladder say nothing of what these rules decide.
            reread = lead.rulebook_digest != rulebook.digest
            if last is None or last <= ts:
                now = event.at
                self._score(lead, now, event, failures, incremental=not reread, now_ts=ts)
                lead.scored_ts = ts
            else:
                now = datetime.fromtimestamp(last, UTC)
                self._score(lead, now, event, failures, incremental=not reread)
                lead.scored_ts = last
            moved = rulebook.evaluate(
                lead, event, enriched=enrichment, force=reread or bool(changes), ts=ts
            )
            if changes:
                changes.extend(moved)
            else:
                changes = moved  # a new list of evaluate's own: no copy needed
            lead.rulebook_digest = rulebook.digest
            routing = self.routing
            if routing is not None:
                made = routing.observe(lead, event, ts, owner_before, notices)
                if made is not None:
                    assignments.append(made)
            elif event.type in POOL_EVENTS:
                raise InvalidEventError(
                    "type",
                    f"{event.type} is a pool operation, and no routing configuration is registered",
                    "register a leadlife.routing.Routing as a plugin (docs/routing.md)",
                    event_id=event.id,
                )
            if (
                lead.team is None
                and self.routers
                and lead.stage.is_qualified
                and (lead.owner is None or (routing is not None and not _routed(lead)))
            ):
                made = self._route(lead, now, event.id, failures, notices)
                if made is not None:
                    assignments.append(made)
            lead.next_check_ts = rulebook.due_ts(lead)  # self._schedule, on locals
            if routing is not None:
                self._schedule_follow_up(lead, routing)
            try:
                storage.commit(lead, event, changes)  # self._commit, inline: per event
            except Exception as exc:
                raise self._storage_error("Storage.commit", event.id, exc) from exc
        except BaseException:
            if counted and self.routing is not None:
                self.routing.undo(counted)  # the event moves nothing, teams included
            raise
        finally:
            applying.discard(lead_id)
        if len(assignments) > caught_up and routing is not None:
            routing.committed(assignments[caught_up:])
        return lead, changes, notices, False

    def _check_skew(self, event: Event, ts: float) -> None:
        """Refuse ``event`` (at ``ts``) if it is dated further ahead of the clock than
        ``max_clock_skew`` allows."""
        skew = self._max_skew_s
        assert skew is not None
        now = self.clock()
        now_ts = aware_ts(now, "now", latest=LATEST_DUE_TS)
        if ts > now_ts + skew:
            ahead = timedelta(seconds=round(ts - now_ts))
            raise InvalidEventError(
                "at",
                f"{event.at.isoformat()} is {ahead} ahead of the engine's clock "
                f"({now.isoformat()}), more than max_clock_skew ({self.max_clock_skew}) allows",
                "send the time the event happened (check the sending system's clock), or "
                "build the engine with a larger max_clock_skew",
                event_id=event.id,
            )

    def _enrich(
        self, event: Event, lead: Lead, failures: list[PluginFailure], *, late: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The profile fields enrichers set: ``(fields, fields applied even when late)``.

        On an event in time order every result is merged in order, a later one
        winning. On a late event, a result is one fact (a verified company is its
        name, industry and flag together): it fills the profile only when none of
        its fields is set yet, else the lead would mix it with newer ones; and the
        results of enrichers that order their fields by time themselves
        (``applies_late``) are kept apart, to be applied whatever the profile holds.
        """
        merged: dict[str, Any] = {}
        ordered: dict[str, Any] = {}
        profile = lead.profile if late else None
        for plugin, enricher in self.enrichers:
            try:
                # What a plugin from outside leadlife changes in the lead, failing or
                # not, is its own: a fork each, so the next one does not read it either.
                result = enricher.enrich(event, lead if _is_ours(enricher) else lead.fork())
            except Exception as exc:
                self._failed(failures, plugin, f"enricher {enricher.name}", exc, event.id, lead.id)
                continue
            applies_late = late and getattr(enricher, "applies_late", False) is True
            self._merge_enrichment(
                ordered if applies_late else merged,
                result,
                plugin,
                f"enricher {enricher.name}",
                event,
                failures,
                None if applies_late else profile,
            )
        # As in _fan_out: a plugin registered since the last collection gets a fork.
        views = self._enrich_view or self.plugin_manager.generation != self._generation
        answers = list(self._call_each("leadlife_enrich_event", {"event": event}, lead, views))
        # Merged from the last called to the first: the first called (the plugin
        # registered last, or tryfirst) wins a field, as among the enrichers.
        for plugin, result, error in reversed(answers):
            if error is not None:
                self._failed(failures, plugin, "leadlife_enrich_event", error, event.id, lead.id)
                continue
            self._merge_enrichment(
                merged, result, plugin, "leadlife_enrich_event", event, failures, profile
            )
        for fields in (merged, ordered):
            for name in _DERIVED_FIELDS.intersection(fields):
                # Applied after every contact field, whatever the order of keys and
                # plugins: a phone's own check would set its flag again.
                fields[name] = fields.pop(name)
        return merged, ordered

    def _merge_enrichment(
        self,
        merged: dict[str, Any],
        result: object,
        plugin: str,
        hook: str,
        event: Event,
        failures: list[PluginFailure],
        late_profile: Mapping[str, Any] | None = None,
    ) -> None:
        """Add one plugin's ``result`` to ``merged``; with ``late_profile`` (a late
        event's lead profile), only when none of its fields is set there."""
        if result is None:
            return
        problem = None
        try:
            if not isinstance(result, Mapping):
                problem = f"returned {type(result).__name__}; expected a mapping of profile fields"
            elif (
                bad_key := next((k for k in result if not isinstance(k, str)), _NO_KEY)
            ) is not _NO_KEY:
                problem = (
                    f"returned a mapping with the {type(bad_key).__name__} key {bad_key!r}; "
                    "profile field names are text: return them as str keys"
                )
            elif claimed := sorted(
                name for name in _DERIVED_FIELDS.intersection(result) if result[name] is not False
            ):
                # A lookup may say a contact is dead (False); that one is valid, the
                # engine's own check says (else an invalid number would qualify).
                problem = (
                    f"returned {', '.join(f'{name}={result[name]!r}' for name in claimed)}: "
                    "the engine checks the contact field itself; return the phone or email, "
                    "or False to mark it invalid"
                )
            else:
                # The profile holds what events' data may hold (see leadlife.values).
                fields = plain_values(dict(result))
        except UnsupportedValue as exc:
            problem = f"returned field {exc}; {VALUE_FIX}"
        except Exception as exc:  # a mapping that cannot even be read
            problem = f"returned a mapping that cannot be read ({_described(exc)})"
        if problem is not None:
            self._failed(failures, plugin, hook, problem, event.id, event.lead_id)
            return
        if late_profile is not None and any(name in late_profile for name in fields):
            return
        merged.update(fields)

    def _score(
        self,
        lead: Lead,
        now: datetime,
        event: Event | None,
        failures: list[PluginFailure],
        *,
        incremental: bool = True,
        now_ts: float | None = None,
    ) -> None:
        """Refresh every scorer's score of ``lead``; a failing scorer keeps its old score.

        With an event (and ``incremental``), scorers that have ``score_event`` update
        their previous score from the event alone instead of rescoring the whole lead.
        ``now_ts`` is ``now`` in epoch seconds, when the caller has it already.
        """
        scores = lead.scores
        if event is None:
            incremental = False
        for name, plugin, score, update, score_ts, ours in self._scoring:
            seen = lead
            if not ours:
                # What a scorer from outside leadlife changes in the lead, failing or
                # not, is its own (its score is its answer): a fork each, so the next
                # scorer does not read it either. It sees the scores so far.
                seen = lead.fork()
                seen.scores = scores.copy()
                seen.score = scores.get(self.rulebook.scorer_name, lead.score)
            try:
                if (
                    incremental
                    and update is not None
                    and (previous := scores.get(name)) is not None
                ):
                    answer = update(seen, event, previous, now)  # type: ignore[arg-type]
                elif score_ts is not None:
                    # score(seen, now) without its conversion of ``now``, which the
                    # caller did once for every scorer
                    answer = score_ts(seen, epoch_seconds(now) if now_ts is None else now_ts)
                else:
                    answer = score(seen, now)
                if type(answer) is float:
                    value = answer
                elif isinstance(answer, _NOT_SCORES) or type(answer).__name__ in _NUMPY_BOOLS:
                    # float() would read "7", b"9" and True as scores
                    raise TypeError(f"returned {answer!r}; a score is a number")
                else:
                    value = float(answer)
            except Exception as exc:
                event_id = None if event is None else event.id
                self._failed(failures, plugin, f"scorer {name}", exc, event_id, lead.id)
                continue
            if not _isfinite(value):
                self._failed(
                    failures,
                    plugin,
                    f"scorer {name}",
                    f"returned {value}; scores must be finite",
                    None if event is None else event.id,
                    lead.id,
                )
                continue
            scores[name] = value
        if len(scores) > len(self._scoring):
            # A scorer unregistered since: its last score would be kept for ever.
            for name in [name for name in scores if name not in self.scorers]:
                del scores[name]
        lead.score = scores.get(self.rulebook.scorer_name, lead.score)

    def _route(
        self,
        lead: Lead,
        at: datetime,
        event_id: str | None,
        failures: list[PluginFailure],
        notices: list[Notice],
    ) -> Assignment | None:
        """Ask the routers in order; the first decision is assigned and put on the lead."""
        routing = self.routing
        # Kept in a shared fixed-offset zone, as stage changes are: times of one named
        # zone compare by wall clock, wrongly across a daylight-saving fold.
        at = with_standard_zone(at, epoch_seconds(at))
        for plugin, router in self.routers:
            hook = f"router {router.name}"
            ours = _is_ours(router)
            try:
                answer = router.route(lead if ours else lead.fork())
            except Exception as exc:
                self._failed(failures, plugin, hook, exc, event_id, lead.id)
                continue
            if answer is None or (isinstance(answer, str) and not answer.strip()):
                continue
            if isinstance(answer, str):
                decision = RouteDecision(
                    router.name, f"router {router.name} chose {answer}", owner=answer
                )
            elif isinstance(answer, RouteDecision):
                decision = answer
                if not ours:
                    try:
                        settled, dropped = _settled_decision(decision)
                    except Exception as exc:  # a decision whose fields cannot be read
                        settled, dropped = (
                            f"returned a RouteDecision that cannot be read ({_described(exc)})",
                            None,
                        )
                    if dropped:
                        # The decision stands: only the evidence it cannot keep is left out.
                        self._failed(failures, plugin, hook, dropped, event_id, lead.id)
                    if isinstance(settled, str):
                        self._failed(failures, plugin, hook, settled, event_id, lead.id)
                        continue
                    decision = settled
            else:
                self._failed(
                    failures,
                    plugin,
                    hook,
                    f"returned {type(answer).__name__}; expected a RouteDecision, "
                    "an owner id or None",
                    event_id,
                    lead.id,
                )
                continue
            if routing is None:
                assignment = Assignment(
                    at,
                    "routed",
                    lead.owner,
                    decision.owner or lead.owner,
                    decision.team,
                    decision.reason,
                    router=decision.router,
                    event_id=event_id,
                    evidence=decision.evidence,
                )
                lead.owner = assignment.to_owner
                lead.team = assignment.team
                lead.assignments = (*lead.assignments, assignment)
                return assignment
            if decision.owner is None and routing.team(decision.team or "") is None:
                self._failed(
                    failures,
                    plugin,
                    hook,
                    f"named team {decision.team!r}, which the routing configuration "
                    f"does not define (teams: {', '.join(sorted(routing.teams))})",
                    event_id,
                    lead.id,
                )
                continue
            assignment = routing.assign(lead, decision, at, event_id)
            routing.apply(lead, assignment, notices)
            return assignment
        return None

    def _catch_up(
        self,
        lead: Lead,
        until_ts: float,
        changes: list[StageChange],
        notices: list[Notice],
        assignments: list[Assignment],
        failures: list[PluginFailure],
        event: Event | None = None,
        counted: list[Any] | None = None,
    ) -> None:
        """Time rules due by ``until_ts``, in time order: follow-up timers, then the
        rulebook's demotions and sleep; at the same moment the timers go first (they
        remind about the stage the lead was in). A lead about to cool is rescored as
        of that moment first (``event``: the event catching the lead up, if any).

        The reassignments the timers make are counted in their teams as they are
        made, so each next one is chosen as a timely tick would choose it; what it
        takes to undo the counts goes to ``counted``, for a caller whose write fails.
        """
        routing, rulebook = self.routing, self.rulebook

        def rescore(ts: float) -> None:
            newest = lead.last_event_ts
            if newest is not None and newest > ts:
                ts = newest  # never as of a moment before the lead's newest event
            if lead.scored_ts != ts:
                at = datetime.fromtimestamp(ts, UTC)
                self._score(lead, at, event, failures, incremental=False)
                lead.scored_ts = ts

        if routing is None:
            rulebook.catch_up(lead, until_ts, changes, notices, rescore=rescore)
            return
        # One moment at a time: a reminder due after the lead left a stage must see
        # that it left, and a demotion due after a reassignment must follow it.
        while True:
            follow = routing.due_ts(lead)
            rule = rulebook.due_ts(lead)
            done = (len(changes), len(notices), len(assignments))
            if follow is not None and follow <= until_ts and (rule is None or follow <= rule):
                made = routing.catch_up(lead, follow, notices)
                if made:
                    routing.committed(made, counted)
                assignments.extend(made)
            elif rule is not None and rule <= until_ts:
                rulebook.catch_up(lead, rule, changes, notices, rescore=rescore)
            else:
                return
            if (len(changes), len(notices), len(assignments)) == done and (
                routing.due_ts(lead),
                rulebook.due_ts(lead),
            ) == (follow, rule):
                return  # nothing was due after all; never spin

    def _schedule(self, lead: Lead) -> None:
        self.rulebook.schedule(lead)
        if self.routing is not None:
            self._schedule_follow_up(lead, self.routing)

    @staticmethod
    def _schedule_follow_up(lead: Lead, routing: Routing) -> None:
        """Bring ``lead.next_check_ts`` forward to its next follow-up timer, if sooner."""
        due = routing.due_ts(lead)
        if due is not None:
            current = lead.next_check_ts
            lead.next_check_ts = due if current is None else min(current, due)

    def _commit(
        self,
        lead: Lead,
        event: Event | None,
        changes: list[StageChange],
        *,
        outcome: str | None = None,
    ) -> None:
        """Store ``lead`` (with ``event``); ``outcome`` says what a failed write left."""
        try:
            self.storage.commit(lead, event, changes)
        except Exception as exc:
            event_id = None if event is None else event.id
            raise self._storage_error("Storage.commit", event_id, exc, outcome) from exc

    def _working_copy(self, lead_id: str) -> Lead | None:
        """A working copy of the stored lead (None: not stored), outside events."""
        stored = self._stored(lead_id)
        # Not held here once copied: the stored lead can take the new state in place.
        return None if stored is None else stored.working_copy()

    def _stored(self, lead_id: str) -> Lead | None:
        """The storage's lead ``lead_id`` (None: not stored), outside events; a failing
        or wrong answer is a StorageError. _apply does the same inline, per event."""
        try:
            stored = self.storage.get(lead_id)
        except Exception as exc:
            raise self._storage_error("Storage.get", None, exc) from exc
        if stored is not None and (type(stored) is not Lead or stored.id != lead_id):
            stored = self._checked_lead(stored, lead_id, None)
        return stored

    def _checked_lead(self, lead: object, lead_id: str, event_id: str | None) -> Lead:
        """``lead`` if the storage's ``get(lead_id)`` answered that Lead, else a StorageError."""
        if not isinstance(lead, Lead):
            wrong_type = TypeError(
                f"returned {type(lead).__name__} {lead!r}; expected a Lead or None"
            )
            raise self._storage_error("Storage.get", event_id, wrong_type)
        if lead.id != lead_id:
            # A case-insensitive collation or a trimmed key finds another lead: applying
            # the event to it would merge two leads.
            wrong_lead = LookupError(
                f"asked for lead {lead_id!r}, returned lead {lead.id!r}; "
                "look leads up by their exact id (a case- and space-sensitive key)"
            )
            raise self._storage_error("Storage.get", event_id, wrong_lead)
        return lead

    def _storage_error(
        self, operation: str, event_id: str | None, exc: Exception, outcome: str | None = None
    ) -> StorageError:
        return StorageError(type(self.storage).__name__, operation, event_id, exc, outcome=outcome)

    def _is_own_event(self, event: Event) -> bool:
        """Whether the stored event with ``event.id`` is one of ``event.lead_id``'s.

        Asked only of resent ids. Storages may answer it directly with an
        ``event_lead(event_id)`` method; otherwise the lead's event log is read.
        """
        storage = self.storage
        event_lead = getattr(storage, "event_lead", None)
        operation = "Storage.events" if event_lead is None else "Storage.event_lead"
        try:
            if event_lead is not None:
                return bool(event_lead(event.id) == event.lead_id)
            return any(logged.id == event.id for logged in storage.events(event.lead_id))
        except Exception as exc:
            raise self._storage_error(operation, event.id, exc) from exc

    def _deliver(self) -> None:
        """Fan out what commits left in the outbox, in commit order, outside the lock.

        Outside it, a hook may hand an event to another thread and wait for it; in
        commit order, one lead's stage changes reach the hooks in the order they
        happened whichever threads sent its events. One thread delivers at a time: a
        thread finding another delivering leaves its fan-out to that one, to come
        after the hook running (an event a hook sends is fanned out after the hook,
        as if sent after the event it hooks).
        """
        lock, outbox = self._lock, self._outbox
        with lock:
            # A lead being applied means this thread holds the lock in a pipeline
            # before its commit (an enrichment hook sent an event of another lead):
            # delivered here, the fan-out would run under the lock. That call
            # delivers it once it has released the lock.
            if self._delivering or self._applying:
                return
            self._delivering = True
        try:
            while True:
                with lock:
                    if not outbox:
                        self._delivering = False
                        return
                    lead, changes, notices, event_id, failures = outbox.popleft()
                self._fan_out(lead, changes, notices, event_id, failures)
        except BaseException:
            with lock:
                self._delivering = False
            raise

    def _fan_out(
        self,
        lead: Lead,
        changes: list[StageChange],
        notices: list[Notice],
        event_id: str | None,
        failures: list[PluginFailure],
    ) -> None:
        # Stored already: what a hook or channel from outside leadlife changes in the
        # lead must reach neither the store without a commit nor the next plugin.
        # The hooks are read live, so a plugin registered since the engine last
        # collected them (by a hook of this event, or another thread) may be among
        # them, from outside leadlife: forks, until the next collection says. Read
        # before each call: one may come while this fan-out runs.
        fan_out_view, pm = self._fan_out_view, self.plugin_manager
        for change in changes:
            views = fan_out_view or pm.generation != self._generation
            for plugin, _, error in self._call_each(
                "leadlife_stage_changed", {"change": change}, lead, views
            ):
                if error is not None:
                    self._failed(
                        failures, plugin, "leadlife_stage_changed", error, event_id, lead.id
                    )
        for notice in notices:
            for plugin, channel in self.channels:
                try:
                    channel.send(notice, lead if _is_ours(channel) else lead.fork())
                except Exception as exc:
                    self._failed(
                        failures, plugin, f"channel {channel.name}", exc, event_id, lead.id
                    )
            views = fan_out_view or pm.generation != self._generation
            for plugin, _, error in self._call_each(
                "leadlife_notify", {"notice": notice}, lead, views
            ):
                if error is not None:
                    self._failed(failures, plugin, "leadlife_notify", error, event_id, lead.id)

    def _call_each(
        self, hook: str, kwargs: dict[str, Any], lead: Lead, views: bool
    ) -> Iterator[tuple[str, Any, BaseException | None]]:
        """:func:`call_each` with ``lead`` among the arguments; with ``views``, each
        implementation is handed a fork of its own, so what one changes in it, failing
        or not, reaches neither the engine's lead nor the next implementation."""
        pm = self.plugin_manager
        if not views:
            kwargs["lead"] = lead
            return call_each(pm, hook, kwargs)
        # One read of the implementations, counted and called: a plugin another
        # thread registers between two reads would share the last fork with another.
        plan = pm.call_plan(hook)
        left = len(plan)
        if left:
            kwargs["lead"] = lead.fork()
        if left <= 1:  # the common case: no fork to renew, no generator of ours
            return call_each(pm, hook, kwargs, plan)
        return self._renewing(call_each(pm, hook, kwargs, plan), kwargs, lead, left)

    @staticmethod
    def _renewing(
        answers: Iterator[tuple[str, Any, BaseException | None]],
        kwargs: dict[str, Any],
        lead: Lead,
        left: int,
    ) -> Iterator[tuple[str, Any, BaseException | None]]:
        # call_each reads its arguments as it calls each implementation in turn, so
        # the next fork is put in place before it is resumed.
        for answer in answers:
            left -= 1
            if left:
                kwargs["lead"] = lead.fork()
            yield answer

    # -- pool operations -----------------------------------------------------------

    def claim(
        self, lead_id: str, member: str, *, at: datetime | None = None, event_id: str | None = None
    ) -> Lead:
        """``member`` takes an unowned lead from the pool (a ``lead_claimed`` event)."""
        return self._pool("claim", lead_id, at, event_id, member=member)

    def assign(
        self,
        lead_id: str,
        member: str,
        *,
        by: str,
        reason: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Lead:
        """A manager ``by`` gives the lead to ``member`` (a ``lead_assigned`` event)."""
        return self._pool("assign", lead_id, at, event_id, member=member, by=by, reason=reason)

    def transfer(
        self,
        lead_id: str,
        to: str,
        *,
        by: str,
        reason: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Lead:
        """The owner or a manager ``by`` hands the lead to ``to``, saying why."""
        return self._pool("transfer", lead_id, at, event_id, to=to, by=by, reason=reason)

    def return_to_pool(
        self,
        lead_id: str,
        *,
        by: str,
        reason: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Lead:
        """The owner or a manager ``by`` puts the lead back in its team's pool (nurture)."""
        return self._pool("return", lead_id, at, event_id, by=by, reason=reason)

    def _pool(
        self, action: str, lead_id: str, at: datetime | None, event_id: str | None, **data: Any
    ) -> Lead:
        """Pool operations are events: validated, logged, idempotent on their id."""
        # A pool operation on an unknown lead is a mistake, not a new lead. The stored
        # id, not the one given, goes into the event (and its id, for resends).
        lead_id = self.get(lead_id).id
        moment = require_aware(self.clock() if at is None else at, "at")
        return self.ingest(pool_event(action, lead_id, moment, event_id=event_id, **data))

    def work_queue(self, **filters: Any) -> list[Any]:
        """Open leads ranked by score and their source's conversion rate.

        Needs a routing configuration (``leadlife_routing``); ``filters`` are those of
        :func:`leadlife.routing.work_queue` (``team``, ``owner``, ``limit``...).
        """
        if self.routing is None:
            raise LeadlifeError(
                "work queues need a routing configuration: register a "
                "leadlife.routing.Routing as a plugin"
            )
        return self.routing.work_queue(self._stored_leads(), **filters)

    # -- time ----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        """Apply the time rules due at ``now`` (SAL idle, cooling, sleep, and a routing's
        follow-up timers), each stamped with its own due time; return what changed."""
        with self._lock:
            self._sync()
        # Past 2999 too: rules due after the last events of the range must be able to
        # apply (an SAL idle from 2999-12-30 falls due in 3000).
        now = require_aware(self.clock() if now is None else now, "now", latest=LATEST_DUE_TS)
        all_changes: list[StageChange] = []
        all_notices: list[Notice] = []
        failures: list[PluginFailure] = []
        errors: list[TickError] = []
        try:
            with self._lock:
                due = self.storage.due(now)
                if isinstance(due, str | bytes):  # not one-character ids
                    raise TypeError(f"returned {due!r}; expected a list of the due leads' ids")
                if not isinstance(due, list):
                    due = list(due)  # an iterable of lead ids; None or a number raises here
                if not all(isinstance(lead_id, str) for lead_id in due):
                    raise TypeError(f"returned {due!r}; expected the due leads' ids")
        except Exception as exc:
            raise self._storage_error("Storage.due", None, exc) from exc
        now_ts = now.timestamp()
        # Without routing, leads' time rules are independent: each lead catches up to
        # now at once. Routing's teams are shared (quotas, turns): then every lead's
        # rules run in time order across leads, one due moment at a time, so a late
        # tick routes as timely ticks would have.
        steps: list[tuple[float, str]] = [(now_ts, lead_id) for lead_id in due]
        if self.routing is not None and len(due) > 1:
            with self._lock:
                steps = self._first_steps(due, now_ts, errors)
        heapq.heapify(steps)
        while steps:
            until_ts, lead_id = heapq.heappop(steps)
            try:
                changes, notices, next_ts = self._tick_lead(lead_id, now, until_ts, failures)
            except Exception as exc:
                # One lead that cannot move must not stop the others; it stays due.
                if isinstance(exc, LeadlifeError):
                    error: LeadlifeError = exc
                else:
                    error = ProcessingError(exc, lead_id=lead_id)
                    error.__cause__ = exc
                errors.append(TickError(lead_id, str(error), _caught(error)))
                log.warning("tick skipped lead %s: %s", lead_id, error)
                continue
            all_changes.extend(changes)
            all_notices.extend(notices)
            if next_ts is not None and until_ts < next_ts <= now_ts:
                heapq.heappush(steps, (next_ts, lead_id))
        return TickReport(
            now, tuple(all_changes), tuple(all_notices), tuple(failures), tuple(errors)
        )

    def reschedule(self) -> int:
        """Compute anew when each stored lead's time rules next apply; return how many
        leads got another next check.

        Call it once after changing the rulebook or the routing configuration of
        leads kept in the host's storage: their next checks were computed under the
        old rules, so a shortened timer (30 days of sleep instead of 90) would fall
        due only at the old moment. The next ``tick`` then applies what is due,
        stamped with its own due time. Only the schedule moves: stages, scores and
        owners change as the rules say, at that tick or the lead's next event (so a
        Warm or Hot lead's cooling moment is reckoned from its stored score, until an
        event rescores it). It reads every stored lead: a job for a maintenance
        window, not for each tick.
        """
        with self._lock:
            self._sync()
        moved = 0
        for lead_id in [lead.id for lead in self._stored_leads()]:
            with self._lock:
                lead = self._working_copy(lead_id)
                if lead is None:
                    continue
                before = lead.next_check_ts
                self._schedule(lead)
                if lead.next_check_ts != before:
                    self._commit(
                        lead,
                        None,
                        [],
                        outcome=f"the next check of lead {lead_id!r} did not move (those of "
                        f"the {moved} leads before it did); call reschedule() again",
                    )
                    moved += 1
        return moved

    def _first_steps(
        self, due: list[str], now_ts: float, errors: list[TickError]
    ) -> list[tuple[float, str]]:
        """``(next check, lead id)`` of each due lead, to run them in time order."""
        steps: list[tuple[float, str]] = []
        for lead_id in due:
            try:
                lead = self._stored(lead_id)
            except StorageError as error:
                errors.append(TickError(lead_id, str(error), _caught(error)))
                continue
            if lead is not None and lead.next_check_ts is not None:
                steps.append((min(lead.next_check_ts, now_ts), lead_id))
        return steps

    def _tick_lead(
        self, lead_id: str, now: datetime, until_ts: float, failures: list[PluginFailure]
    ) -> tuple[list[StageChange], list[Notice], float | None]:
        """Apply ``lead_id``'s time rules due by ``until_ts`` (at most ``now``); return
        the changes, the notices and the lead's next check."""
        changes: list[StageChange] = []
        notices: list[Notice] = []
        with self._lock:
            lead = self._working_copy(lead_id)
            if lead is None:
                return changes, notices, None
            due = lead.next_check_ts
            if due is None or due > until_ts:
                # An event another thread sent since the tick listed its due leads
                # applied what was due: ticked anyway, the lead would be rescored as
                # of now, which no tick run after that event does.
                return changes, notices, due
            assignments: list[Assignment] = []
            applying = self._applying
            if lead_id in applying:  # a tick from a hook of this lead's event, before its commit
                raise ReentrantIngestError(lead_id, None)
            applying.add(lead_id)
            counted: list[Any] = []  # the teams' counts of its reassignments, made at once
            try:
                self._tick_steps(
                    lead, now, until_ts, changes, notices, assignments, failures, counted
                )
                # With routing a tick writes a lead once per moment one of its rules
                # fell due: the moments before this one are stored, their notices sent.
                self._commit(
                    lead,
                    None,
                    changes,
                    outcome=None
                    if self.routing is None
                    else (
                        f"this due moment of lead {lead_id!r} was not stored (any earlier one "
                        "of this tick was); it stays due, and the next tick goes on from it"
                    ),
                )
            except BaseException:
                if counted and self.routing is not None:
                    self.routing.undo(counted)  # not stored: the teams move back too
                raise
            finally:
                applying.discard(lead_id)
            if changes or notices:
                self._outbox.append((lead, changes, notices, None, failures))
        if self._outbox:  # with what a hook before this commit sent for another lead
            self._deliver()
        return changes, notices, lead.next_check_ts

    def _tick_steps(
        self,
        lead: Lead,
        now: datetime,
        until_ts: float,
        changes: list[StageChange],
        notices: list[Notice],
        assignments: list[Assignment],
        failures: list[PluginFailure],
        counted: list[Any],
    ) -> None:
        """The time rules of one tick step on the working copy ``lead``."""
        self._catch_up(lead, until_ts, changes, notices, assignments, failures, None, counted)
        self._schedule(lead)
        now_ts = now.timestamp()
        due = lead.next_check_ts
        if due is None or due > now_ts:
            # The lead's last step of this tick. Scores may depend on time (decay,
            # windows); refresh them for the leads touched. A lower score can make a
            # cooler band due already: apply it now, not at the next tick. Never as of
            # a moment before the lead's newest event (a tick behind its events).
            newest = lead.last_event_ts
            scored, scored_ts = now, now_ts
            if newest is not None and newest > now_ts:
                scored, scored_ts = datetime.fromtimestamp(newest, UTC), newest
            for _ in range(_RESCORE_ROUNDS):
                self._score(lead, scored, None, failures)
                lead.scored_ts = scored_ts
                self._schedule(lead)
                due = lead.next_check_ts
                if due is None or due > now_ts:
                    break
                done = len(changes) + len(notices)
                self._catch_up(lead, now_ts, changes, notices, assignments, failures, None, counted)
                self._schedule(lead)
                if len(changes) + len(notices) == done:
                    break
            if lead.scored_ts != scored_ts:
                # Catching up rescored the lead as of an earlier moment: the tick
                # leaves its scores as of now.
                self._score(lead, scored, None, failures)
                lead.scored_ts = scored_ts
                self._schedule(lead)

    # -- reading -------------------------------------------------------------------

    def get(self, lead_id: str) -> Lead:
        """A copy of the stored lead, the caller's to keep and change (see :meth:`ingest`);
        raises :class:`~leadlife.errors.LeadNotFoundError`."""
        if not isinstance(lead_id, str):
            raise InvalidArgumentError(
                "lead_id", f"{lead_id!r} is not a lead id", "pass the lead's id, a string"
            )
        # Read as an event's lead_id is (surrounding whitespace dropped): the id from a
        # URL or a form that made the lead finds it here too.
        lead_id = lead_id.strip(ID_SPACE)
        lead = self._stored(lead_id)
        if lead is None:
            raise LeadNotFoundError(lead_id)
        # A fork, as ingest returns: what the caller changes in it stays the caller's.
        return lead.fork()

    def funnel(self) -> dict[Stage, int]:
        """How many stored leads stand in each stage."""
        counts = dict.fromkeys(Stage, 0)
        for lead in self._stored_leads():
            counts[lead.stage] += 1
        return counts

    def _stored_leads(self) -> Iterator[Lead]:
        """Every stored lead; a failing ``Storage.leads`` raises :class:`StorageError`."""
        try:
            leads = iter(self.storage.leads())
        except Exception as exc:
            raise self._storage_error("Storage.leads", None, exc) from exc
        while True:
            # Storages may read lazily (a database cursor): each step can fail.
            try:
                lead = next(leads)
            except StopIteration:
                return
            except Exception as exc:
                raise self._storage_error("Storage.leads", None, exc) from exc
            yield lead

    def _check_scorer(self, name: object) -> None:
        """Raise :class:`~leadlife.errors.InvalidArgumentError` unless a scorer is
        registered as ``name``."""
        if not isinstance(name, str) or name not in self.scorers:
            raise InvalidArgumentError(
                "scorer",
                f"no scorer named {name!r}",
                f"give one of the registered scorers: {', '.join(sorted(self.scorers))}",
            )

    def explain(self, lead_id: str, scorer: str | None = None) -> ScoreResult:
        """The score of ``lead_id`` by ``scorer`` (the band scorer by default), explained."""
        lead = self.get(lead_id)
        # Only None means the band scorer: "" (a blank query parameter) names no scorer.
        name = self.rulebook.scorer_name if scorer is None else scorer
        self._check_scorer(name)
        # As of the moment its stored scores were computed, so the two agree.
        return lead.explain(self.scorers[name], lead.scored_at or self.clock())


def _event_id(raw: object) -> str | None:
    """The id of an inbound event, if it has a usable one, for a report."""
    if isinstance(raw, Event):
        return raw.id
    return reported_id(raw) if isinstance(raw, Mapping) else None


def _is_data_frame(value: object) -> bool:
    """Whether ``value`` is a table of columns (a pandas or polars ``DataFrame``), told
    without importing either: iterated, such a frame gives its column names."""
    return any(kind.__name__ == "DataFrame" for kind in type(value).__mro__) and hasattr(
        value, "columns"
    )


def _caught(error: LeadlifeError) -> LeadlifeError:
    """``error`` and the errors it chains, without tracebacks, to be kept in a report.

    A traceback's frames link to their callers, the frame that caught the error
    among them, and that frame's locals hold the report and the caller's whole
    batch. Kept, the traceback makes a cycle that only the cyclic collector frees
    (never while a host pauses it), so a batch with one rejected event would stay
    in memory until then. The error keeps its type, message, fields and causes.
    """
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        chained = pending.pop()
        if id(chained) in seen:
            continue
        seen.add(id(chained))
        chained.__traceback__ = None
        wrapped = getattr(chained, "error", None)  # a PluginError's or ProcessingError's
        pending.extend(
            e
            for e in (chained.__cause__, chained.__context__, wrapped)
            if isinstance(e, BaseException)
        )
    return error


class _FailureLog(deque[PluginFailure]):
    """``engine.failures``: a deque that is gone through as it was when the going
    through began, so a host thread reading it while other threads record failures
    never meets Python's "deque mutated during iteration"."""

    __slots__ = ()

    def __iter__(self) -> Iterator[PluginFailure]:
        # Copied at once (no Python code runs while the copy is taken): the
        # recording threads never change it half-way.
        return iter(tuple(deque.__iter__(self)))

    def __reversed__(self) -> Iterator[PluginFailure]:
        return reversed(tuple(deque.__iter__(self)))


# Rescoring and re-applying due rules at the end of a tick settles in one round for
# any sane scorer; the bound keeps one that swings on every call from spinning.
_RESCORE_ROUNDS = 3


def _no_storage(pm: LeadlifePluginManager) -> RegistrationError:
    """The error of an engine no plugin gives a storage."""
    # In the order they were asked: pluggy lists the last asked first.
    declined = [impl.plugin_name for impl in pm.hook.leadlife_storage.get_hookimpls()][::-1]
    who = ", ".join(repr(name) for name in declined)
    return RegistrationError(
        ", ".join(declined) or "(none)",
        "leadlife_storage",
        "no plugin provides a storage ("
        + (f"{who} returned None" if declined else "no plugin implements the hook")
        + "). Fix: register a plugin whose leadlife_storage returns a Storage, or keep "
        "the built-in 'leadlife.default_storage' registered (in-memory storage)",
    )


_FAN_OUT_HOOKS = frozenset({"leadlife_stage_changed", "leadlife_notify"})


def _drop_rejected(failures: list[PluginFailure], recorded: int) -> None:
    """Drop the failures a rejected event recorded past ``recorded``: all before its
    commit. A fan-out of an earlier event of the batch, delivered meanwhile by the
    thread delivering, adds its failures to the same list, and they stay. By index
    from the end: that thread only appends, so the indices looked at stay valid."""
    for index in range(len(failures) - 1, recorded - 1, -1):
        hook = failures[index].hook
        if hook not in _FAN_OUT_HOOKS and not hook.startswith("channel "):
            del failures[index]


def _routed(lead: Lead) -> bool:
    """Whether a router already placed the lead (with an owner outside every team)."""
    return any(a.router is not None for a in lead.assignments)


def _no_hooks(name: str, plugin: object) -> RegistrationError:
    """The error for a plugin that implements no hook: registered, it would do nothing
    without a word (None, a plugin's name, a routing configuration's dict in place of
    its Routing)."""
    return RegistrationError(
        name,
        "register",
        f"{plugin!r} implements no hook; pass objects with @leadlife.hookimpl methods "
        "(a routing configuration as leadlife.routing.Routing.from_dict(...))",
    )


def _plugin_name(pm: LeadlifePluginManager, plugin: object) -> str:
    """A readable, unique name for a plugin object, for failure records and tracing."""
    base = getattr(plugin, "__name__", None) or type(plugin).__name__
    name, number = base, 1
    while pm.has_plugin(name) or pm.is_blocked(name):
        number += 1
        name = f"{base}#{number}"
    return name


# The methods of each protocol the engine calls, none of which it awaits.
_PROTOCOL_METHODS: dict[type[object], tuple[str, ...]] = {
    Scorer: ("score", "score_event", "explain"),
    Enricher: ("enrich",),
    Router: ("route",),
    Channel: ("send",),
}
_NO_KEY = object()  # no key of an enrichment result is other than text
_DERIVED_FIELDS = frozenset(f"{name}_valid" for name in CONTACT_FIELDS)
# What float() reads, but no scorer means as a score.
_NOT_SCORES = (str, bytes, bytearray, bool)
_NUMPY_BOOLS = frozenset({"bool_", "bool"})  # numpy's, which are no Python bool


def _settled_decision(decision: RouteDecision) -> tuple[RouteDecision | str, str | None]:
    """A router's decision as the lead may keep it, or what is wrong with it; and
    what was left out of its evidence, if anything.

    Ids are text (a CRM's numeric user id is read as its digits). The evidence is
    made read-only, so the router cannot change a stored lead later; a value it
    cannot keep (a host's own object) is left out, and the decision stands.
    """
    ids: dict[str, str | None] = {}
    for field in ("owner", "team"):
        value = getattr(decision, field)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            return (
                f"returned a RouteDecision whose {field} is {value!r}; "
                f"an {field} is a non-blank id (text) or None"
            ), None
        ids[field] = value
    router, reason = decision.router, decision.reason
    if not isinstance(router, str) or not isinstance(reason, str):
        return "returned a RouteDecision whose router or reason is not text", None
    evidence = decision.evidence
    dropped = None
    if evidence is not NO_EVIDENCE:
        if not isinstance(evidence, Mapping):
            dropped = (
                f"returned evidence of type {type(evidence).__name__}, not a mapping; left out"
            )
            evidence = NO_EVIDENCE
        else:
            kept: dict[str, Any] = {}
            left_out = []
            for key, value in evidence.items():
                try:
                    if not isinstance(key, str):
                        raise UnsupportedValue(repr(key), "a key that is not text")
                    kept[key] = plain_value(value, key)
                except UnsupportedValue:
                    left_out.append(repr(key) if not isinstance(key, str) else key)
            if left_out:
                dropped = (
                    f"returned evidence it cannot keep ({', '.join(left_out)}: not plain "
                    f"values); left out, the decision stands. {VALUE_FIX}"
                )
            evidence = FrozenDict(kept)
    # The base class: a host's subclass may take other constructor arguments.
    return RouteDecision(router, reason, ids["team"], ids["owner"], evidence), dropped


def _message(error: BaseException) -> str:
    """``str(error)``, or a stand-in when even that fails (an API client's error
    whose message reads a reply that never came)."""
    try:
        return str(error)
    except Exception:
        return f"{type(error).__name__} (its message could not be read)"


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {_message(error)}"


def _last_called_first(found: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``found`` (in pluggy's call order) with the plugins' order reversed, each
    plugin's own objects still in the order it registered them: merged in this
    order, the plugin pluggy calls first wins."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for plugin, obj in found:
        groups.setdefault(plugin, []).append((plugin, obj))
    return [entry for group in reversed(groups.values()) for entry in group]
