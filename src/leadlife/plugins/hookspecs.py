"""The hooks leadlife calls. Implement them with ``@leadlife.hookimpl``.

Hooks may gain arguments over time but never lose them; an implementation may
accept any subset of a hook's arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from leadlife.channels import Channel
    from leadlife.enrichment import Enricher
    from leadlife.events import Event
    from leadlife.lead import Lead, StageChange
    from leadlife.notices import Notice
    from leadlife.routing import Router, Routing
    from leadlife.rules import Rulebook
    from leadlife.scoring import Scorer
    from leadlife.storage import Storage

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("leadlife")
hookimpl = pluggy.HookimplMarker("leadlife")

# -- providers (one answer each) ------------------------------------------------------


@hookspec(firstresult=True)
def leadlife_storage() -> Storage | None:
    """Return the storage the engine keeps leads and events in.

    Called once per engine. Stops at the first non-None result; the built-in
    in-memory storage answers last.
    """


@hookspec(firstresult=True)
def leadlife_rulebook() -> Rulebook | Mapping[str, Any] | str | None:
    """Return the rulebook (a Rulebook, a dict, or a TOML file path) when the host gave none.

    Called once per engine. Stops at the first non-None result; the built-in
    default rulebook answers last.
    """


@hookspec(firstresult=True)
def leadlife_routing() -> Routing | None:
    """Return the routing configuration that assigns routed leads within teams.

    Called when the engine collects plugins. Stops at the first non-None result. It
    assigns each router decision to a team member, applies pool events (claim,
    assign, transfer, return) and runs the follow-up timers at ``tick``. Without
    one, a router's owner is taken as it is and a team-only decision leaves the
    lead in that team's pool.
    """


# -- registration (called once per engine, and again when plugins change) --------------


@hookspec
def leadlife_register_scorers(register: Callable[[Scorer], None], rulebook: Rulebook) -> None:
    """Register scorers with ``register(scorer)``.

    :param register: call it once per scorer; each needs a unique ``name``.
    :param rulebook: the engine's rulebook, for scorers configured by it.
    """


@hookspec
def leadlife_register_enrichers(register: Callable[[Enricher], None]) -> None:
    """Register enrichers with ``register(enricher)``; each runs before scoring.

    :param register: call it once per enricher; each needs a unique ``name``.
    """


@hookspec
def leadlife_register_routers(register: Callable[[Router], None]) -> None:
    """Register routers with ``register(router)``; asked in order for an owner.

    :param register: call it once per router; each needs a unique ``name``.
    """


@hookspec
def leadlife_register_channels(register: Callable[[Channel], None]) -> None:
    """Register notification channels with ``register(channel)``.

    :param register: call it once per channel; each needs a unique ``name``.
    """


# -- per event ------------------------------------------------------------------------


@hookspec
def leadlife_enrich_event(event: Event, lead: Lead) -> Mapping[str, Any] | None:
    """Return profile fields to set on ``lead`` because of ``event``, before scoring.

    :param event: the validated event being ingested.
    :param lead: the lead as it was before this event; treat it as read-only.

    A raising implementation is recorded as a failure and skipped; the event goes on.
    """


# -- fan-out (return nothing; every implementation is called) --------------------------


@hookspec
def leadlife_stage_changed(lead: Lead, change: StageChange) -> None:
    """Called after a stage change has been stored.

    :param lead: the lead as stored.
    :param change: the change, also the last matching entry of ``lead.history``.
    """


@hookspec
def leadlife_notify(notice: Notice, lead: Lead) -> None:
    """Called for every notice (reactivation due, reminders) after it has been stored.

    :param notice: what happened and when.
    :param lead: the lead as stored.
    """
