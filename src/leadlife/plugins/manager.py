"""Building the plugin manager and calling hooks one plugin at a time."""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import os
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from leadlife.errors import RegistrationError
from leadlife.plugins import hookspecs

__all__ = [
    "ASYNC_FIX",
    "ENTRY_POINT_GROUP",
    "WHOLE_HOOKS",
    "AlreadyRegisteredError",
    "LeadlifePluginManager",
    "call_each",
    "get_plugin_manager",
    "is_async",
    "is_leadlife_code",
]

WHOLE_HOOKS = frozenset({"leadlife_storage", "leadlife_rulebook", "leadlife_routing"})
"""The hooks pluggy calls as a whole (first answer wins); wrappers work on these."""

ENTRY_POINT_GROUP = "leadlife"
_HOOK_NAMES = sorted(name for name in vars(hookspecs) if name.startswith("leadlife_"))
# How close an undeclared name must be to a leadlife hook's to count as a misspelling
# of it: refused at registration, and the only case a "did you mean" is offered. Every
# hook shares the "leadlife_" prefix, so looser matches pair names that merely share
# it (leadlife_on_stage is no leadlife_storage).
_NEAR_MISS_CUTOFF = 0.85
# leadlife's own built-ins (modules in leadlife.plugins), registered under
# "leadlife.<module>": the answers of last resort.
_BUILT_IN_MODULES = ("default_storage", "default_rulebook", "default_scorer")
_BUILT_IN_MODULE_NAMES = frozenset(f"leadlife.plugins.{module}" for module in _BUILT_IN_MODULES)
log = logging.getLogger("leadlife.plugins")
trace_log = logging.getLogger("leadlife.hooks")


class AlreadyRegisteredError(RegistrationError, ValueError):
    """A plugin's name is taken, or the plugin (or one equal to it) is registered
    already; a ValueError too, as pluggy's own error was."""


class _NeedsInstanceError(RegistrationError):
    """A class registered whose hooks take self: only an instance of it can be."""


class LeadlifePluginManager(pluggy.PluginManager):
    """A pluggy manager that counts changes, so engines know when to re-collect."""

    def __init__(self) -> None:
        super().__init__("leadlife")
        self.generation = 0
        self._call_plans: dict[str, list[tuple[str, Callable[..., Any], tuple[str, ...]]]] = {}
        self.trace_hooks = _flag(os.environ.get("LEADLIFE_TRACE_HOOKS"))
        if self.trace_hooks:
            # pluggy traces the hooks called as a whole (storage, rulebook); call_each
            # logs the ones leadlife calls plugin by plugin.
            self.trace.root.setwriter(lambda message: trace_log.debug(message.rstrip()))
            self.enable_tracing()

    def register(self, plugin: object, name: str | None = None) -> str | None:
        # Before pluggy's register, so that a refused class leaves the manager as it was.
        self._refuse_classes(plugin, name)
        self._refuse_unmarked_hooks(plugin, name)
        self._refuse_taken(plugin, name)
        try:
            result = super().register(plugin, name)
        except pluggy.PluginValidationError as exc:
            raise RegistrationError(
                name or self.get_canonical_name(plugin),
                "register",
                f"{exc}. Fix: name the hook's arguments as its specification does "
                "(see leadlife.plugins.hookspecs), or take fewer of them",
            ) from exc
        self.generation += 1
        self._call_plans = {}  # a new dict: see call_plan
        try:
            self._refuse_wrappers(plugin)
            self._refuse_coroutines(plugin)
            self._refuse_unpassed_arguments(plugin)
            self._refuse_misspelt_hooks(plugin)
        except RegistrationError:
            self.unregister(plugin)
            raise
        return result

    def get_canonical_name(self, plugin: object) -> str:
        """The name of a plugin registered without one: a module's name, else its
        class's, numbered (``Counter#2``) when another plugin has it.

        pluggy's own default for an object is ``str(id(plugin))``, a number that would
        name the plugin in failure records and errors and change on every run.
        """
        name = getattr(plugin, "__name__", None)
        if isinstance(name, str) and name:
            return name
        base = type(plugin).__name__
        name, number = base, 1
        # Only names in use are skipped: a blocked class name still blocks its objects.
        while self.has_plugin(name):
            number += 1
            name = f"{base}#{number}"
        return name

    def _refuse_taken(self, plugin: object, name: str | None) -> None:
        """Refuse a name another plugin has, a plugin registered already, and one equal
        to a registered plugin, with what to do, instead of pluggy's bare ValueError
        (whose message lists every registered plugin).

        pluggy tells plugins apart by ``==``: an object equal to a registered one (two
        dataclass instances with the same fields) counts as registered already, so it
        is refused naming the plugin it equals.
        """
        if plugin is None:
            return  # pluggy ignores it
        registered = self.get_name(plugin)
        if registered is not None:
            raise AlreadyRegisteredError(
                name or registered,
                "register",
                f"this {type(plugin).__name__} object is registered already, as "
                f"{registered!r}. Fix: pass each plugin object once (to rename it, "
                "unregister it first)",
            )
        wanted = name or self.get_canonical_name(plugin)
        holder = self.get_plugin(wanted)
        if holder is not None:
            raise AlreadyRegisteredError(
                wanted,
                "register",
                f"the name {wanted!r} is taken by a {type(holder).__name__} object. Fix: "
                f"register this one under another name, or unregister the other first "
                f"(pm.unregister(name={wanted!r}))",
            )
        for other_name, other in self.list_name_plugin():
            if other is None:
                continue  # a blocked name
            try:
                equal = bool(other == plugin)
                problem = "compares equal (==) to"
            except Exception as exc:  # pluggy's own check would raise it, bare
                equal, problem = True, f"cannot be compared ({type(exc).__name__}) with"
            if equal:
                raise AlreadyRegisteredError(
                    wanted,
                    "register",
                    f"this {type(plugin).__name__} object {problem} plugin {other_name!r}, "
                    "and the plugin manager (pluggy's) tells plugins apart by ==. Fix: "
                    "have the class compare by identity (@dataclass(eq=False), "
                    "@attrs.define(eq=False)), or register one object",
                )

    def get_name(self, plugin: object) -> str | None:
        # By identity, not pluggy's ==: unregistering an object equal to a registered
        # one would remove that one's name and leave its hooks behind.
        for name, registered in self.list_name_plugin():
            if registered is plugin and plugin is not None:
                return name
        return None

    def is_registered(self, plugin: object) -> bool:
        return self.get_name(plugin) is not None

    def _refuse_classes(self, plugin: object, name: str | None) -> None:
        """Refuse a class whose hook implementations are instance methods.

        pluggy drops ``self`` from such a function's arguments and calls it on the
        class, so the hook's first argument would land in ``self`` and every call fail
        ("missing 1 required positional argument"). Static and class methods work on
        the class, so a class made only of those is accepted.
        """
        if not isinstance(plugin, type):
            return
        for attr in dir(plugin):
            if self.parse_hookimpl_opts(plugin, attr) is None:
                continue
            function = inspect.getattr_static(plugin, attr)
            if isinstance(function, staticmethod | classmethod) or not inspect.isfunction(function):
                continue
            parameters = list(inspect.signature(function).parameters)
            if parameters[:1] == ["self"]:
                raise _NeedsInstanceError(
                    name or self.get_canonical_name(plugin),
                    attr,
                    f"{plugin.__name__} is a class, and its {attr} takes self, which "
                    "only an instance supplies. Fix: register an instance of it "
                    f"({plugin.__name__}()), not the class",
                )

    def _refuse_unmarked_hooks(self, plugin: object, name: str | None) -> None:
        """Refuse a function named after a leadlife hook but not marked with
        ``@leadlife.hookimpl`` (or marked for another project): pluggy leaves it out
        without a word, and the hook would never be called."""
        if plugin is None:
            return
        for attr in _HOOK_NAMES:
            function = inspect.getattr_static(plugin, attr, None)
            if isinstance(function, staticmethod | classmethod):
                function = function.__func__
            if not callable(function) or self.parse_hookimpl_opts(plugin, attr) is not None:
                continue
            raise RegistrationError(
                name or self.get_canonical_name(plugin),
                attr,
                "is named after a leadlife hook but not marked as its implementation, so "
                "it would never be called. Fix: decorate it with @leadlife.hookimpl (the "
                "marker of the 'leadlife' project), or rename it if it is no hook",
            )

    def _refuse_misspelt_hooks(self, plugin: object) -> None:
        """Refuse at once an implementation whose name is nearly a leadlife hook's;
        other undeclared names wait for :meth:`check_hooks` (a host may declare them)."""
        for caller in self.get_hookcallers(plugin) or ():
            if caller.has_spec():
                continue
            meant = _hook_meant(caller.name)
            for impl in caller.get_hookimpls():
                if meant and impl.plugin is plugin and not impl.optionalhook:
                    raise RegistrationError(
                        impl.plugin_name,
                        caller.name,
                        f"no hook specification declares it; did you mean {meant!r}?",
                    )

    def check_hooks(self) -> None:
        """Refuse an implementation of a hook no specification declares (a misspelt
        name would never be called, without a word), as pluggy's ``check_pending``
        does, with the hook meant. Run when the engine collects the plugins, so hook
        specifications a host adds after registering a plugin count."""
        for caller_name in list(vars(self.hook)):
            if caller_name.startswith("_"):
                continue
            caller: pluggy.HookCaller = getattr(self.hook, caller_name)
            if caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                if not impl.optionalhook:
                    meant = _hook_suggested(caller.name)
                    raise RegistrationError(
                        impl.plugin_name,
                        caller.name,
                        "no hook specification declares it"
                        + (f"; did you mean {meant!r}?" if meant else "")
                        + " (leadlife's hooks are in leadlife.plugins.hookspecs; add your own "
                        "specifications before building the engine, and mark a hook of "
                        "another plugin system optionalhook=True)",
                    )

    def provide(self, hook_name: str) -> tuple[Any, str]:
        """Call a ``firstresult`` hook once: ``(answer, name of the plugin answering)``.

        leadlife's built-ins are asked only after every other implementation answered
        None: they are marked ``trylast`` themselves, and among ``trylast``
        implementations pluggy asks the plugin registered first first, so a host's
        storage or rulebook marked ``trylast`` would otherwise lose to them.

        A plugin whose implementation raises is named in a :class:`RegistrationError`.
        With hook wrappers, which may change the answer, the hook is called through
        pluggy (in the order above) and the wrappers' plugins are named.
        """
        caller: pluggy.HookCaller = getattr(self.hook, hook_name)
        impls = caller.get_hookimpls()
        # pluggy's list runs from the last asked to the first asked.
        impls = [
            *(impl for impl in impls if _is_built_in(impl.plugin)),
            *(impl for impl in impls if not _is_built_in(impl.plugin)),
        ]
        wrappers = [impl.plugin_name for impl in impls if impl.hookwrapper or impl.wrapper]
        if wrappers:
            names = ", ".join(repr(name) for name in reversed(wrappers))
            who = f"{names} (wrapping {hook_name})"
            # Wrappers (built-ins have none) stay at the end of the list, where pluggy
            # expects them; _hookexec keeps pluggy's tracing when it is on.
            firstresult = bool(caller.spec is not None and caller.spec.opts.get("firstresult"))
            try:
                return self._hookexec(hook_name, impls, {}, firstresult), who
            except Exception as exc:
                raise RegistrationError(who, hook_name, f"raised {exc!r}") from exc
        trace = self.trace_hooks
        for impl in reversed(impls):
            try:
                answer = impl.function()
            except Exception as exc:
                if trace:
                    trace_log.debug("%s[%s] raised %r", hook_name, impl.plugin_name, exc)
                raise RegistrationError(impl.plugin_name, hook_name, f"raised {exc!r}") from exc
            if trace:
                trace_log.debug("%s[%s] -> %r", hook_name, impl.plugin_name, answer)
            if answer is not None:
                return answer, impl.plugin_name
        return None, "?"

    def _refuse_wrappers(self, plugin: object) -> None:
        """Refuse hook wrappers on the hooks leadlife calls one plugin at a time.

        Those hooks are called implementation by implementation, so that one failing
        plugin is recorded and the others still run; a wrapper there would never run.
        """
        for caller in self.get_hookcallers(plugin) or ():
            if caller.name in WHOLE_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                    raise RegistrationError(
                        impl.plugin_name,
                        caller.name,
                        "is a hook wrapper, which leadlife does not run: it calls this hook "
                        "one plugin at a time, so that a failing plugin cannot stop the "
                        "others. Implement it as a plain hook",
                    )

    def _refuse_coroutines(self, plugin: object) -> None:
        """Refuse ``async def`` hook implementations.

        leadlife calls every hook and never awaits what it returns: an async
        implementation's body would never run, and a notification hook's every
        delivery would be lost without a failure recorded.
        """
        for caller in self.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and is_async(impl.function):
                    raise RegistrationError(
                        impl.plugin_name,
                        caller.name,
                        f"is an async def, which leadlife never awaits: {ASYNC_FIX}",
                    )

    def _refuse_unpassed_arguments(self, plugin: object) -> None:
        """Refuse arguments of a leadlife hook's implementation that are never filled.

        pluggy (and leadlife, calling one plugin at a time) passes only the arguments
        an implementation names without a default, by position: one with a default
        keeps it on every call (a misspelt ``chnage=None`` passes pluggy's check of
        the names and stays None), ``*args`` and ``**kwargs`` stay empty, and a
        keyword-only argument without a default fails every call.
        """
        for caller in self.get_hookcallers(plugin) or ():
            if caller.name not in _HOOK_NAMES:
                continue  # another plugin system's hook, or the host's own
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                problem = _unpassed_argument(impl.function, caller)
                if problem is not None:
                    raise RegistrationError(impl.plugin_name, caller.name, problem)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        result = super().unregister(plugin, name)
        self.generation += 1
        self._call_plans = {}  # a new dict: see call_plan
        return result

    def call_plan(self, hook_name: str) -> list[tuple[str, Callable[..., Any], tuple[str, ...]]]:
        """``(plugin name, function, argument names)`` of each implementation of
        ``hook_name``, in call order; kept until a plugin is registered or removed,
        as fan-out hooks are called many times per batch."""
        # The dict as it was before the implementations are read: a plugin another
        # thread registers meanwhile replaces it, so a plan read without that plugin
        # goes into the old dict, not into the one later calls read.
        plans = self._call_plans
        plan = plans.get(hook_name)
        if plan is None:
            caller: pluggy.HookCaller = getattr(self.hook, hook_name)
            plan = [
                (impl.plugin_name, impl.function, tuple(impl.argnames))
                for impl in reversed(caller.get_hookimpls())
            ]
            plans[hook_name] = plan
        return plan


ASYNC_FIX = (
    "it would never run. Fix: make it a plain def; to do async work, hand it to your "
    "event loop (asyncio.run_coroutine_threadsafe) and return"
)
"""What to do about an ``async def`` hook or protocol method, which leadlife refuses."""


def is_async(function: object) -> bool:
    """Whether calling ``function`` gives a coroutine or an async generator to await."""
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def _unpassed_argument(function: Callable[..., Any], caller: pluggy.HookCaller) -> str | None:
    """What is wrong with an argument of ``function`` that a call of the hook would
    never fill, or None."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: pluggy passes none
        return None
    spec = caller.spec
    accepted = ", ".join(spec.argnames) if spec is not None else ""
    takes = f"(its arguments: {accepted})" if accepted else "(it takes none)"
    for parameter in parameters:
        name, kind = parameter.name, parameter.kind
        if kind is inspect.Parameter.VAR_POSITIONAL or kind is inspect.Parameter.VAR_KEYWORD:
            stars = "*" if kind is inspect.Parameter.VAR_POSITIONAL else "**"
            return (
                f"takes '{stars}{name}', which is never filled: hook implementations get only "
                f"the arguments they name {takes}. Fix: name the arguments it needs"
            )
        if parameter.default is not inspect.Parameter.empty:
            if spec is not None and name not in spec.argnames:
                return (
                    f"takes {name!r}, which is no argument of this hook {takes}, and keeps "
                    "its default on every call. Fix: spell it as the hook's specification "
                    "does, or drop it"
                )
            return (
                f"gives its argument {name!r} a default, so it is never passed (hook "
                "implementations get only the arguments they name without a default). "
                "Fix: drop the default"
            )
        if kind is inspect.Parameter.KEYWORD_ONLY:
            return (
                f"takes {name!r} as keyword-only, and hook arguments are passed by "
                "position, so every call would fail. Fix: drop the '*' before it"
            )
    return None


def _default_plugins() -> list[tuple[str, object]]:
    # Imported when a manager is built: they import the engine's modules.
    return [
        (f"leadlife.{module}", importlib.import_module(f"leadlife.plugins.{module}"))
        for module in _BUILT_IN_MODULES
    ]


def _is_built_in(plugin: object) -> bool:
    """Whether ``plugin`` is one of leadlife's built-in plugin modules."""
    return isinstance(plugin, ModuleType) and plugin.__name__ in _BUILT_IN_MODULE_NAMES


def _hook_meant(name: str) -> str | None:
    """The leadlife hook an undeclared ``name`` is a misspelling of, if any."""
    prefix = "leadlife_"
    if not name.startswith(prefix):  # a misspelt prefix: compared whole
        close = difflib.get_close_matches(name, _HOOK_NAMES, n=1, cutoff=_NEAR_MISS_CUTOFF)
        return close[0] if close else None
    # Compared after the prefix every hook shares, which would make any two names
    # look alike (leadlife_stage is no leadlife_storage).
    rests = {hook[len(prefix) :]: hook for hook in _HOOK_NAMES}
    close = difflib.get_close_matches(
        name[len(prefix) :], list(rests), n=1, cutoff=_NEAR_MISS_CUTOFF
    )
    return rests[close[0]] if close else None


def _hook_suggested(name: str) -> str | None:
    """The leadlife hook worth suggesting for an undeclared ``name`` that is refused
    anyway: a near miss, or a close match of the part after the shared prefix
    (``leadlife_enrich`` for ``leadlife_enrich_event``, not ``leadlife_on_stage`` for
    ``leadlife_storage``)."""
    meant = _hook_meant(name)
    if meant is not None or not name.startswith("leadlife_"):
        return meant
    rest = name[len("leadlife_") :]
    shared = {hook: _shared_prefix(rest, hook[len("leadlife_") :]) for hook in _HOOK_NAMES}
    best = max(shared.values())
    winners = [hook for hook, length in shared.items() if length == best]
    shorter = min(len(rest), *(len(hook) - len("leadlife_") for hook in winners))
    if len(winners) == 1 and best >= 4 and best >= 0.6 * shorter:
        return winners[0]
    return None


def _shared_prefix(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def get_plugin_manager(*, load_entrypoints: bool = True) -> LeadlifePluginManager:
    """A fresh manager: hook specs, installed plugins (entry points), then the built-ins.

    ``LEADLIFE_PLUGINS`` restricts which entry points load: a comma-separated list of
    entry-point names (an empty value loads none). ``LEADLIFE_TRACE_HOOKS=1`` logs hook
    calls to the ``leadlife.hooks`` logger at DEBUG level: each call of the provider
    hooks (storage, rulebook, routing) and of the per-event and fan-out hooks.
    """
    pm = LeadlifePluginManager()
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        _load_entrypoints(pm)
    for name, plugin in _default_plugins():
        pm.register(plugin, name=name)
    # No check_hooks() here: register refused the misspellings of leadlife's hooks
    # already, and another undeclared name may be a hook the host declares on this
    # manager before building its engine, which checks then.
    return pm


def _flag(value: str | None) -> bool:
    """An on/off environment variable: unset, empty, 0, false, no and off are off."""
    return value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")


def _load_entrypoints(pm: LeadlifePluginManager) -> None:
    allowed_env = os.environ.get("LEADLIFE_PLUGINS")
    allowed = (
        None
        if allowed_env is None
        else {name for name in (n.strip() for n in allowed_env.split(",")) if name}
    )
    entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    if allowed:
        installed = {entry_point.name for entry_point in entry_points}
        unknown = sorted(allowed - installed)
        if unknown:
            # Not ignored: a storage plugin left out by a typo would send the host's
            # leads to the in-memory storage.
            raise RegistrationError(
                ", ".join(unknown),
                "LEADLIFE_PLUGINS",
                f"names no installed plugin (installed: {', '.join(sorted(installed)) or 'none'}). "
                "Fix the name, install the plugin, or leave it out of the allow-list",
            )
    by_name: dict[str, list[metadata.EntryPoint]] = {}
    for entry_point in entry_points:
        by_name.setdefault(entry_point.name, []).append(entry_point)
    for name, namesakes in by_name.items():
        if allowed is not None and name not in allowed:
            continue
        _refuse_namesakes(name, namesakes)
        entry_point = namesakes[0]
        if pm.is_blocked(name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:
            # Not skipped: a storage or channel plugin left out silently would send
            # the host's leads to the in-memory storage, or its notices nowhere.
            raise RegistrationError(
                entry_point.name,
                f"entry point {entry_point.value!r}",
                f"cannot be imported ({type(exc).__name__}: {exc}). Fix the installed "
                "package, uninstall it, or leave it out of the LEADLIFE_PLUGINS allow-list",
            ) from exc
        if plugin is None or not any(
            pm.parse_hookimpl_opts(plugin, attr) is not None for attr in dir(plugin)
        ):
            # pluggy would take it (None: ignore it) and it would do nothing: a package
            # whose hooks live in a submodule the entry point does not name, say.
            raise RegistrationError(
                entry_point.name,
                f"entry point {entry_point.value!r}",
                f"loads {plugin!r}, which implements no hook (no @leadlife.hookimpl "
                "function). Fix the entry point to name the module or object with the "
                "hooks, uninstall the package, or leave it out of the LEADLIFE_PLUGINS "
                "allow-list",
            )
        try:
            pm.register(plugin, name=entry_point.name)
        except AlreadyRegisteredError as exc:  # the same object under another name
            raise RegistrationError(
                entry_point.name,
                f"entry point {entry_point.value!r}",
                f"{exc.problem.partition('. Fix:')[0]}. Fix the installed packages: one "
                "plugin, one entry point",
            ) from exc
        except _NeedsInstanceError as exc:
            # Its user cannot register an instance: the package names the class. (Any
            # other refusal, of a class of static hooks too, says what is wrong itself.)
            raise RegistrationError(
                entry_point.name,
                f"entry point {entry_point.value!r}",
                f"names a class whose hooks need an instance ({exc.problem}). Fix the "
                "package to name an instance or a module, uninstall it, or leave it out of "
                "the LEADLIFE_PLUGINS allow-list",
            ) from exc


def _refuse_namesakes(name: str, entry_points: list[metadata.EntryPoint]) -> None:
    """Refuse an entry-point name more than one installed package declares.

    The name is the plugin's: only one of them could load, which one depending on the
    order of ``sys.path``, and the other would be left out without a word (for a
    storage plugin, the host's leads would go to the in-memory storage).
    """
    if len(entry_points) < 2:
        return
    origins: list[str] = []
    for entry_point in entry_points:
        dist = getattr(entry_point, "dist", None)
        origin = (
            f"{dist.name if dist is not None else 'an unknown package'} ({entry_point.value!r})"
        )
        if origin not in origins:  # the same package found twice is no clash
            origins.append(origin)
    if len(origins) > 1:
        raise RegistrationError(
            name,
            f"entry-point group {ENTRY_POINT_GROUP!r}",
            f"is declared by {len(origins)} installed packages: {', '.join(origins)}; "
            "a plugin name can belong to one only. Fix: uninstall all but one of them, "
            "or rename the entry point in one package's [project.entry-points.leadlife] "
            "(and in LEADLIFE_PLUGINS, if it lists it)",
        )


def call_each(
    pm: LeadlifePluginManager,
    hook_name: str,
    kwargs: dict[str, Any],
    plan: list[tuple[str, Callable[..., Any], tuple[str, ...]]] | None = None,
) -> Iterator[tuple[str, Any, BaseException | None]]:
    """Call each implementation of a hook on its own, in pluggy's order.

    Yields ``(plugin_name, result, error)``: one plugin raising does not stop the
    others, and the caller knows which plugin failed. ``plan``: the hook's
    :meth:`~LeadlifePluginManager.call_plan`, for a caller that read it already.
    """
    trace = pm.trace_hooks
    for plugin_name, function, argnames in pm.call_plan(hook_name) if plan is None else plan:
        started = time.perf_counter() if trace else 0.0
        try:
            result = function(*[kwargs[name] for name in argnames])
        except Exception as exc:
            if trace:
                trace_log.debug("%s[%s] raised %r", hook_name, plugin_name, exc)
            yield plugin_name, None, exc
            continue
        if trace:
            spent = (time.perf_counter() - started) * 1e6
            trace_log.debug("%s[%s] -> %r (%.1f µs)", hook_name, plugin_name, result, spent)
        yield plugin_name, result, None


def is_leadlife_code(obj: object) -> bool:
    """Whether ``obj`` (a plugin module or object) is leadlife's own code, which keeps
    to its contract of not changing the lead it is handed."""
    module = obj.__name__ if isinstance(obj, ModuleType) else type(obj).__module__
    return module == "leadlife" or module.startswith("leadlife.")
