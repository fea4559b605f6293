"""The :class:`Routing` plugin: teams, built-in routers, assignment, pool and timers.

One object, registered as a plugin, answers two hooks: ``leadlife_register_routers``
(its built-in routers, in the configured order) and ``leadlife_routing`` (itself, so
the engine hands it every routing decision to assign within a team, every pool
event, and the follow-up timers at ``tick``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from numbers import Integral
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from leadlife.clock import aware_ts, microseconds, shifted, with_standard_zone
from leadlife.errors import (
    InvalidArgumentError,
    InvalidEventError,
    InvalidTimeError,
    LeadlifeError,
    PluginError,
    RoutingConfigError,
)
from leadlife.events import Event
from leadlife.lead import Assignment, Lead
from leadlife.notices import Notice
from leadlife.plugins.hookspecs import hookimpl
from leadlife.plugins.manager import is_leadlife_code
from leadlife.routing.config import RoutingModel
from leadlife.routing.decision import RouteDecision, Router
from leadlife.routing.follow_up import SAL_KEY, FollowUp, FollowUpTimers, call_connected
from leadlife.routing.frames import missing, route_rows, text
from leadlife.routing.pool import POOL_EVENTS, apply_pool_event
from leadlife.routing.priority import QueueEntry, SourceRates, work_queue
from leadlife.routing.teams import Member, Team
from leadlife.toml_files import model_keys, parse_toml, read_toml, rulebook_error

if TYPE_CHECKING:
    import pandas as pd

    from leadlife.routing.region import IpLookup

__all__ = ["Routing", "load_routing"]

_MINUTE = 60.0
_DOCS = "docs/routing.md"
_STRATEGY_PICKS = frozenset({"round_robin", "capacity"})


class Routing:
    """A validated routing configuration, ready to register as a plugin.

    >>> routing = Routing.from_dict({"teams": [{"id": "inside", "members": [{"id": "amy"}]}]})
    >>> sorted(routing.teams)
    ['inside']

    :param model: the validated configuration.
    :param source: where it came from, for error messages.
    :param ip_lookup: where the region router looks addresses up; by default a table
        of the regions' ``networks``.
    """

    def __init__(
        self,
        model: RoutingModel,
        *,
        source: str = "<dict>",
        ip_lookup: IpLookup | None = None,
    ):
        self.model = model
        self.source = source
        self.admins = frozenset(model.admins)
        teams: dict[str, Team] = {}
        members: dict[str, Member] = {}
        for index, spec in enumerate(model.teams):
            path = f"teams.{index}"
            if spec.id in teams:
                raise RoutingConfigError(
                    f"{path}.id",
                    f"team {spec.id!r} is defined twice",
                    "give teams unique ids",
                    source=source,
                )
            team = Team(spec, seed=model.seed, path=path, source=source)
            for place, member_id in enumerate(team.members):
                if member_id in members:
                    raise RoutingConfigError(
                        f"{path}.members.{place}.id",
                        f"{member_id!r} is already a member of team {members[member_id].team!r}",
                        "put each person in one team (pool operations and quotas are per team)",
                        source=source,
                    )
                members[member_id] = team.members[member_id]
            teams[spec.id] = team
        self.teams = teams
        self._members = members
        if ip_lookup is not None and not callable(getattr(ip_lookup, "region", None)):
            # Found here, not at the first lead with an address.
            raise InvalidArgumentError(
                "ip_lookup",
                f"{type(ip_lookup).__name__} has no region(address) method",
                "pass an object whose region(address) returns a team id or None",
            )
        self.routers: list[Router] = self._build_routers(ip_lookup)
        self.timers = FollowUpTimers(model.sla)
        self._retry = model.sla.pool_retry_minutes * _MINUTE
        window = model.sla.speed_to_lead_minutes
        self._first_touch = "" if window is None else f"; first touch due within {window:g} minutes"

    # -- loading -------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str = "<dict>", ip_lookup: IpLookup | None = None
    ) -> Routing:
        """Validate a routing configuration given as a mapping."""
        if not isinstance(data, Mapping):
            raise RoutingConfigError(
                "", f"expected a table, got {type(data).__name__}", "pass a dict", source=source
            )
        try:
            model = RoutingModel.model_validate(data)
        except ValidationError as exc:
            raise rulebook_error(
                exc, source, docs=_DOCS, error=RoutingConfigError, known_keys=_known_keys
            ) from None
        return cls(model, source=source, ip_lookup=ip_lookup)

    @classmethod
    def from_toml(
        cls, text: str, *, source: str = "<toml>", ip_lookup: IpLookup | None = None
    ) -> Routing:
        """Validate a routing configuration written in TOML."""
        data = parse_toml(text, source, RoutingConfigError)
        return cls.from_dict(data, source=source, ip_lookup=ip_lookup)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, ip_lookup: IpLookup | None = None) -> Routing:
        """Read and validate a TOML routing configuration file."""
        text, source = read_toml(path, RoutingConfigError)
        return cls.from_toml(text, source=source, ip_lookup=ip_lookup)

    def _build_routers(self, ip_lookup: IpLookup | None) -> list[Router]:
        from leadlife.routing.accounts import ExistingAccountRouter
        from leadlife.routing.business_line import BusinessLineRouter
        from leadlife.routing.fallback import FallbackRouter
        from leadlife.routing.region import RegionRouter

        spec, source = self.model.routers, self.source
        seen: set[str] = set()
        routers: list[Router] = []
        fallback_at: int | None = None
        for index, name in enumerate(spec.order):
            if name in seen:
                raise RoutingConfigError(
                    f"routers.order.{index}",
                    f"{name!r} is listed twice",
                    "list each router once",
                    source=source,
                )
            seen.add(name)
            if fallback_at is not None and getattr(spec, name) is not None:
                # The fallback decides every lead: a router after it would never be asked.
                raise RoutingConfigError(
                    f"routers.order.{index}",
                    f"{name!r} comes after 'fallback' (routers.order.{fallback_at}), which "
                    "decides every lead, so it would never run",
                    "list 'fallback' last in routers.order",
                    source=source,
                )
            path = f"routers.{name}"
            if name == "existing_account" and spec.existing_account is not None:
                accounts = spec.existing_account
                self._check_team(accounts.team, f"{path}.team")
                for place, account in enumerate(accounts.accounts):
                    if (
                        account.owner is not None
                        and account.owner not in self._members
                        and accounts.team is None
                    ):
                        raise RoutingConfigError(
                            f"{path}.accounts.{place}.owner",
                            f"owner {account.owner!r} of account {account.id!r} is a member "
                            "of no team",
                            f"add them to a team, or set {path}.team to the team recorded "
                            "for such owners",
                            source=source,
                        )
                routers.append(ExistingAccountRouter(accounts, path=path, source=source))
            elif name == "business_line" and spec.business_line is not None:
                line = spec.business_line
                self._check_team(line.key_account_team, f"{path}.key_account_team")
                self._check_team(line.long_tail_team, f"{path}.long_tail_team")
                routers.append(BusinessLineRouter(line, path=path, source=source))
            elif name == "region" and spec.region is not None:
                for place, entry in enumerate(spec.region.regions):
                    self._check_team(entry.team, f"{path}.regions.{place}.team")
                routers.append(
                    RegionRouter(spec.region, ip_lookup=ip_lookup, path=path, source=source)
                )
            elif name == "fallback" and spec.fallback is not None:
                self._check_team(spec.fallback.team, f"{path}.team")
                routers.append(FallbackRouter(spec.fallback))
                fallback_at = index
        for name in ("existing_account", "business_line", "region", "fallback"):
            if getattr(spec, name) is not None and name not in seen:
                raise RoutingConfigError(
                    "routers.order",
                    f"[routers.{name}] is configured but not in the order",
                    f"add {name!r} to routers.order, or remove [routers.{name}]",
                    source=source,
                )
        return routers

    def _check_team(self, team: str | None, path: str) -> None:
        if team is not None and team not in self.teams:
            raise RoutingConfigError(
                path,
                f"unknown team {team!r} (teams: {', '.join(sorted(self.teams))})",
                "name a team defined under [[teams]], or define it",
                source=self.source,
            )

    # -- the roster ----------------------------------------------------------------

    def team(self, team_id: str) -> Team | None:
        """The team with this id, or None."""
        return self.teams.get(team_id)

    def member(self, member_id: str) -> Member | None:
        """The member with this id (in whichever team), or None."""
        return self._members.get(member_id)

    # -- plugin hooks --------------------------------------------------------------

    @hookimpl
    def leadlife_register_routers(self, register: Callable[[Router], None]) -> None:
        """The configured built-in routers, in ``routers.order``."""
        for router in self.routers:
            register(router)

    @hookimpl
    def leadlife_routing(self) -> Routing:
        """This configuration assigns, runs the pool and the follow-up timers."""
        return self

    # -- assignment ----------------------------------------------------------------

    def assign(
        self, lead: Lead, decision: RouteDecision, at: datetime, event_id: str | None
    ) -> Assignment:
        """The assignment a router's decision leads to (nothing changes until it is applied).

        An owner in the decision wins; else a sticky team keeps a lead's current owner
        (one named by an event before the lead was routed); else the team's strategy
        picks. When nobody can take the lead it waits in the team's pool (``to_owner``
        None, action ``pooled``).
        """
        action, owner, team, reason, strategy = self._place(
            lead.owner, decision.team, decision.owner, decision.reason, at.timestamp()
        )
        return Assignment(
            at,
            action,
            lead.owner,
            owner,
            team,
            reason,
            router=decision.router,
            evidence=decision.evidence,
            strategy=strategy,
            event_id=event_id,
        )

    def _place(
        self,
        current: str | None,
        team_id: str | None,
        owner: str | None,
        reason: str,
        ts: float,
    ) -> tuple[str, str | None, str | None, str, str | None]:
        """``(action, owner, team, reason, strategy)`` of one decision: one rule for
        :meth:`assign` and :meth:`route_frame`."""
        if owner is not None:
            member = self._members.get(owner)
            return "routed", owner, member.team if member is not None else team_id, reason, None
        assert team_id is not None  # RouteDecision checks it has one of the two
        team = self.teams[team_id]
        if team.sticky and current is not None:
            return (
                "routed",
                current,
                team_id,
                f"{reason}; {current} already owns the lead (sticky)",
                "sticky",
            )
        member_id, why = team.choose(ts)
        if member_id is None:
            return "pooled", None, team_id, f"{reason}; {why}", None
        return "routed", member_id, team_id, f"{reason}; {why}", team.strategy

    def apply(
        self, lead: Lead, assignment: Assignment, notices: list[Notice], *, touch: bool = True
    ) -> None:
        """Put ``assignment`` on ``lead`` (owner, team, record, timers) with its notice.

        ``touch`` says whether the event behind an ``accepted`` assignment is one of
        ``sla.touch_events``: only then is accepting the lead its first touch.
        """
        previous = lead.owner
        owner = assignment.to_owner
        lead.owner = owner
        if assignment.team is not None:
            lead.team = assignment.team
        lead.assignments = (*lead.assignments, assignment)
        ts = assignment.at.timestamp()
        action = assignment.action
        if owner is None:
            # Waiting in the pool: the timer offers a pooled lead to the team again;
            # a returned lead waits to be claimed.
            lead.follow_up = self._follow_up(lead, ts) if action == "pooled" else None
            kind = "lead_pooled" if action == "pooled" else "returned_to_pool"
            message = (
                f"lead {lead.id} waits in team {lead.team}'s pool: {assignment.reason}"
                if action == "pooled"
                else f"lead {lead.id} is back in team {lead.team}'s pool and re-enters "
                f"nurture: {assignment.reason}"
            )
            team = None if lead.team is None else self.teams.get(lead.team)
            notices.append(
                Notice(
                    kind,
                    lead.id,
                    assignment.at,
                    message,
                    {
                        "to": None,
                        "team": lead.team,
                        "previous_owner": previous,
                        "escalate_to": sorted(team.managers) if team else [],
                        "reason": assignment.reason,
                    },
                )
            )
            return
        if owner == previous and lead.follow_up is not None:
            return  # sticky: the owner's timers run on
        if action == "accepted":
            # The owner's own act: no notice. It is their first touch when the host
            # counts its event as one (a late acceptance is dated after the event).
            lead.follow_up = self._follow_up(lead, ts, ts if touch else None)
        else:
            lead.follow_up = self._follow_up(lead, ts)
            notices.append(
                Notice(
                    "lead_assigned",
                    lead.id,
                    assignment.at,
                    f"lead {lead.id} is yours ({assignment.reason}){self._first_touch}",
                    {
                        "to": owner,
                        "team": lead.team,
                        "action": action,
                        "previous_owner": previous,
                        "reason": assignment.reason,
                    },
                )
            )

    @staticmethod
    def _follow_up(lead: Lead, ts: float, touched_ts: float | None = None) -> FollowUp:
        """Fresh timers for whoever holds ``lead`` from ``ts``, keeping what is per lead.

        The speed-to-lead windows and the call cadence are the new holder's own; the
        count of reassignments (``sla.max_reassignments`` is per lead) and the SAL
        reminder already sent in this stay in SAL are the lead's, whoever holds it.
        """
        state = lead.follow_up
        assignments = lead.assignments
        if state is None and len(assignments) <= 1:
            return FollowUp(ts, touched_ts)  # a lead's first holder: nothing to keep
        sal = (
            frozenset(key for key in state.sent if key.startswith(SAL_KEY))
            if state is not None and state.sent
            else frozenset()
        )
        # The record is the truth: it survives a return to the pool, which drops timers.
        reassigned = sum(1 for a in assignments if a.action == "reassigned")
        return FollowUp(ts, touched_ts, sent=sal, reassignments=reassigned)

    def undo(self, entries: list[Any]) -> None:
        """Take back the counts :meth:`committed` made with ``undo=entries``, newest first."""
        for team, *entry in reversed(entries):
            team.unrecord(*entry)
        entries.clear()

    def committed(self, assignments: Iterable[Assignment], undo: list[Any] | None = None) -> None:
        """Count stored assignments in their teams' quotas and rotations.

        With ``undo``, the counts can be taken back (:meth:`undo`): for assignments
        counted before their lead is stored, so the next choice sees them.
        """
        for assignment in assignments:
            self._count(
                assignment.to_owner,
                assignment.team,
                assignment.at.timestamp(),
                assignment.strategy,
                undo,
            )

    def _count(
        self,
        owner: str | None,
        team_id: str | None,
        ts: float,
        strategy: str | None,
        undo: list[Any] | None = None,
    ) -> None:
        if owner is None or team_id is None or strategy == "sticky":
            return
        team = self.teams.get(team_id)
        if team is not None:
            team.record(owner, ts, by_strategy=strategy in _STRATEGY_PICKS, undo=undo)

    # -- many leads at once --------------------------------------------------------

    def route_frame(
        self, frame: pd.DataFrame, at: datetime | str | Sequence[datetime | str] | None = None
    ) -> pd.DataFrame:
        """Route and assign many leads at once, one per row, in the frame's order.

        ``frame`` has the profile fields the routers read as columns (``account_id``,
        ``email``, ``email_valid``, ``company``, ``ip``, ``phone``, ``phone_valid``,
        ``registered_capital``, ``employees``, ``sme``; a missing value or column means
        the field is unknown) and, optionally, ``owner``: a current owner. An owner who
        is a member of a team holds the lead in that team, and no router is asked (the
        row has their team and owner, no router, action or strategy), as the engine
        asks none for a lead a team holds; an owner from outside the teams is routed
        and kept by a sticky team. ``at`` is when the leads are routed: one aware
        datetime, or one per row (a sequence, or an ``at`` column when ``at`` is None).

        The result, indexed like ``frame``, has the columns ``router``, ``team``,
        ``owner``, ``action``, ``strategy`` and ``reason``: for each row what the
        engine's assignment would record for that lead routed at that moment, in that
        order (all None where no router decides). The routers work per distinct value
        over the whole frame; the teams' rotations, credits and daily quotas advance as
        the rows are assigned, as the engine's commits advance them.
        """
        import numpy as np
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise InvalidArgumentError(
                "frame",
                f"expected a pandas DataFrame, got {type(frame).__name__}",
                "pass one row per lead, its profile fields as columns",
            )
        if not frame.columns.is_unique:
            twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise InvalidArgumentError(
                "frame",
                f"has columns named twice: {', '.join(twice)}",
                "give each profile field one column",
            )
        size = len(frame)
        moments = self._moments(frame, at, size)
        routers = np.full(size, None, dtype=object)
        teams = np.full(size, None, dtype=object)
        owners = np.full(size, None, dtype=object)
        reasons = np.full(size, None, dtype=object)
        pending = np.ones(size, dtype=bool)
        # A blank owner cell is no owner, not a sticky owner named "   ".
        holders: list[str | None] = (
            [
                _frame_owner(value, label)
                for label, value in zip(frame.index, frame["owner"].tolist(), strict=True)
            ]
            if "owner" in frame.columns
            else [None] * size
        )
        members = self._members
        kept = np.fromiter((h in members for h in holders), dtype=bool, count=size)
        for row in np.flatnonzero(kept).tolist():
            # The engine asks no router for a lead a team holds, and an owner who is a
            # member of a team holds the lead in that team (an event naming them
            # records it there): the row says so instead of routing it elsewhere.
            holder = holders[row]
            assert holder is not None
            home = members[holder].team
            owners[row], teams[row] = holder, home
            reasons[row] = f"{holder} already owns the lead in team {home}; no router is asked"
        pending[kept] = False
        for router in self.routers:
            rows = np.flatnonzero(pending)
            if rows.size == 0:
                break
            part = frame.iloc[rows]
            by_frame = getattr(router, "route_frame", None)
            try:
                decided = by_frame(part) if callable(by_frame) else route_rows(router, part)
            except Exception as exc:
                if isinstance(exc, LeadlifeError) and not _runs_host_code(router):
                    raise  # leadlife's own router, on this frame: its message stands
                # A host's router or IpLookup, even one raising a leadlife error of its
                # own. The engine records such a failure per lead and asks the next
                # router; a batch has no failure log, so it stops here, before any row
                # is assigned: no rotation or quota has moved.
                raise PluginError(_plugin_of(router), f"router {router.name}", None, exc) from exc
            why = decided["reason"].to_numpy(dtype=object)
            hit = np.fromiter((not missing(reason) for reason in why), dtype=bool, count=len(why))
            taken = rows[hit]
            # A string column may hold NaN for "none" (pandas infers str dtype): None here.
            chosen_teams = [text(v) for v in decided["team"].to_numpy(dtype=object)[hit]]
            chosen_owners = [text(v) for v in decided["owner"].to_numpy(dtype=object)[hit]]
            self._check_frame_teams(router, frame.index[taken], chosen_teams, chosen_owners)
            routers[taken] = router.name
            teams[taken] = chosen_teams
            owners[taken] = chosen_owners
            reasons[taken] = why[hit]
            pending[taken] = False
        actions = np.full(size, None, dtype=object)
        strategies = np.full(size, None, dtype=object)
        place, count = self._place, self._count
        for row in np.flatnonzero(~pending & ~kept).tolist():
            ts = moments[row]
            action, owner, team_id, reason, strategy = place(
                holders[row], teams[row], owners[row], reasons[row], ts
            )
            count(owner, team_id, ts, strategy)
            actions[row], owners[row], teams[row] = action, owner, team_id
            reasons[row], strategies[row] = reason, strategy
        columns = {
            "router": routers,
            "team": teams,
            "owner": owners,
            "action": actions,
            "strategy": strategies,
            "reason": reasons,
        }
        # object columns keep None as None (pandas would infer str and turn it into NaN)
        return pd.DataFrame(
            {
                name: pd.Series(values, index=frame.index, dtype=object)
                for name, values in columns.items()
            }
        )

    def _check_frame_teams(
        self,
        router: Router,
        labels: pd.Index,
        teams: list[str | None],
        owners: list[str | None],
    ) -> None:
        """Refuse a decision naming a team the configuration lacks (from a host's
        IpLookup: the configured routers' teams are checked at load)."""
        known = self.teams
        for label, team, owner in zip(labels, teams, owners, strict=True):
            if owner is None and team not in known:
                raise PluginError(
                    _plugin_of(router),
                    f"router {router.name}",
                    None,
                    # The engine's words for the same failure, and the row.
                    LookupError(
                        f"named team {team!r} for row {label!r}, which the routing "
                        f"configuration does not define (teams: {', '.join(sorted(known))})"
                    ),
                )

    @staticmethod
    def _moments(
        frame: pd.DataFrame, at: datetime | str | Sequence[datetime | str] | None, size: int
    ) -> list[float]:
        """Epoch seconds per row, each moment checked for a timezone; a bad one is
        named by the frame's index label, as the teams' errors name rows."""
        if isinstance(at, str):  # one ISO 8601 moment, not a sequence of characters
            at = _iso_moment(at, "at")
        if isinstance(at, datetime):
            return [aware_ts(at, "at")] * size
        values = frame["at"] if at is None and "at" in frame.columns else at
        if values is None:
            raise InvalidTimeError(
                "at", None, "is missing", "pass at=, or give the frame an 'at' column"
            )
        import pandas as pd

        if isinstance(values, pd.Series | pd.DatetimeIndex) and isinstance(
            values.dtype, pd.DatetimeTZDtype
        ):
            # Aware by its dtype: convert the whole column at once.
            if len(values) != size:
                raise InvalidTimeError(
                    "at", f"{len(values)} moments", f"given for {size} rows", "give one per row"
                )
            index = pd.DatetimeIndex(values)
            if index.hasnans:
                label = frame.index[int(index.isna().argmax())]
                raise InvalidTimeError(
                    f"at (row {label!r})", pd.NaT, "is not a moment", "give every row its time"
                )
            seconds = index.as_unit("ns").asi8 / 1e9
            return [float(x) for x in seconds.tolist()]
        listed = list(values)
        if len(listed) != size:
            raise InvalidTimeError(
                "at", f"{len(listed)} moments", f"given for {size} rows", "give one per row"
            )
        # A CSV export's column holds ISO 8601 text: read per row, as one `at` is read.
        moments: list[float] = []
        for label, moment in zip(frame.index, listed, strict=True):
            name = f"at (row {label!r})"
            moments.append(
                aware_ts(_iso_moment(moment, name) if isinstance(moment, str) else moment, name)
            )
        return moments

    # -- events --------------------------------------------------------------------

    def observe(
        self, lead: Lead, event: Event, ts: float, previous_owner: str | None, notices: list[Notice]
    ) -> Assignment | None:
        """Apply a pool event, an owner named by an event, and the owner's touches.

        Raises :class:`~leadlife.errors.NotPermittedError` (nothing applied) for a pool
        operation its actor may not do.
        """
        if event.type == "call_attempt":
            _check_connected(event)
        made: Assignment | None = None
        if event.type in POOL_EVENTS:
            made = apply_pool_event(self, lead, event)
        elif lead.owner != previous_owner and lead.owner is not None:
            # The rulebook set the owner from the event (sales_accepted's data.owner).
            owner = lead.owner
            member = self._members.get(owner)
            lead.owner = previous_owner
            # At its own moment, so the owner's calls after it count in whatever order
            # they arrive. After a later change of owner (a return to the pool, a
            # transfer) it names no one: in time order that change undid it, as a late
            # close after a reopening moves nothing. After a later routing of the then
            # ownerless lead (which an owner would have prevented), it takes the lead at
            # the lead's newest time, so assignments stay in time order.
            last = lead.assignments[-1] if lead.assignments else None
            # Compared as moments, and kept in a shared fixed-offset zone: times of one
            # named zone compare by wall clock, wrongly across a daylight-saving fold.
            at: datetime | None = with_standard_zone(event.at, ts)
            if last is not None and last.at.timestamp() > ts:
                newest = lead.last_event_ts
                at = (
                    None
                    if last.action in _OWNER_CHANGES
                    else (
                        last.at
                        if newest is None
                        else max(last.at, datetime.fromtimestamp(newest, UTC))
                    )
                )
            if at is not None:
                made = Assignment(
                    at,
                    "accepted",
                    previous_owner,
                    owner,
                    member.team if member is not None else lead.team,
                    f"{event.type} names {owner} as the owner",
                    by=owner,
                    event_id=event.id,
                )
        if made is not None:
            self.apply(lead, made, notices, touch=event.type in self.timers.touches)
        elif lead.follow_up is not None and lead.stage.is_open:
            reopened = _reopened_ts(lead, event)
            if reopened is not None:
                # The timers only paused while the lead was closed: left as they were,
                # every window and call due in that time would fire at once, dated
                # then. Nothing was owed while it was closed; its holder's timers start
                # again from the reopening, as from an assignment.
                lead.follow_up = self._follow_up(lead, reopened)
        self.timers.observe(lead, event, ts, notices)
        return made

    # -- time ----------------------------------------------------------------------

    def is_touch(self, event_type: str) -> bool:
        """Whether ``event_type`` counts as the owner touching the lead (``sla.touch_events``)."""
        return event_type in self.timers.touches

    def due_ts(self, lead: Lead) -> float | None:
        """When a follow-up timer (or a pool retry) of ``lead`` next fires."""
        if lead.owner is None:
            state = lead.follow_up
            if state is None or lead.team is None or not lead.stage.is_open:
                return None
            # On the microsecond grid of event times, as the follow-up timers are.
            return shifted(state.assigned_ts, microseconds(self._retry))
        return self.timers.due_ts(lead)

    def catch_up(self, lead: Lead, until_ts: float, notices: list[Notice]) -> list[Assignment]:
        """Fire every timer of ``lead`` due by ``until_ts``; the assignments they made."""
        made: list[Assignment] = []
        while True:
            due = self.due_ts(lead)
            if due is None or due > until_ts:
                return made
            at = datetime.fromtimestamp(due, UTC)
            if lead.owner is None:
                assignment = self._retry_pool(lead, at)
                if assignment is None:
                    lead.follow_up = self._follow_up(lead, due)
                    continue
            else:
                team = None if lead.team is None else self.teams.get(lead.team)
                managers = frozenset() if team is None else team.managers
                sent = len(notices)
                reassign = self.timers.fire(lead, until_ts, managers, notices)
                if not reassign or team is None:
                    # Two timers may fall due at one moment (a call attempt and the SAL
                    # reminder): go on while one fires, stop only when nothing did.
                    if len(notices) == sent and self.due_ts(lead) == due:
                        return made  # nothing moved; never spin
                    continue
                member_id, why = team.choose(due, exclude={lead.owner} if lead.owner else ())
                if member_id is None:
                    continue
                state = lead.follow_up
                breaches = state.breaches if state else 0
                assignment = Assignment(
                    at,
                    "reassigned",
                    lead.owner,
                    member_id,
                    team.id,
                    f"no first touch after {breaches} speed-to-lead windows; {why}",
                    strategy=team.strategy,
                )
            self.apply(lead, assignment, notices)
            made.append(assignment)

    def _retry_pool(self, lead: Lead, at: datetime) -> Assignment | None:
        team = None if lead.team is None else self.teams.get(lead.team)
        if team is None:
            return None
        member_id, why = team.choose(at.timestamp())
        if member_id is None:
            return None
        pooled = next((a for a in reversed(lead.assignments) if a.action == "pooled"), None)
        return Assignment(
            at,
            "routed",
            None,
            member_id,
            team.id,
            f"offered to the team again; {why}",
            router=None if pooled is None else pooled.router,
            strategy=team.strategy,
        )

    # -- work queues ---------------------------------------------------------------

    def source_rates(self, leads: Iterable[Lead]) -> SourceRates:
        """Lead → opportunity rate per source, learned from ``leads`` where enough exist."""
        return SourceRates.learn(leads, self.model.priority)

    def work_queue(self, leads: Iterable[Lead], **filters: Any) -> list[QueueEntry]:
        """Open leads ranked by score and source conversion rate (see ``work_queue``)."""
        unknown = sorted(set(filters) - _QUEUE_FILTERS)
        if unknown:
            raise InvalidArgumentError(
                unknown[0],
                "is no work-queue filter",
                f"pass only {', '.join(sorted(_QUEUE_FILTERS))}",
            )
        team = filters.get("team")
        if team is not None and team not in self.teams:
            # Owners may come from outside the teams (an event names one); teams may not.
            raise InvalidArgumentError(
                "team",
                f"{team!r} is not a team of the routing configuration",
                f"pass one of {', '.join(sorted(self.teams))}",
            )
        pool = list(leads)
        return work_queue(pool, self.source_rates(pool), **filters)


def _frame_owner(value: object, label: object) -> str | None:
    """A frame's owner cell read as the engine reads an event's owner: text without
    its padding (blank: none), a whole number as its digits; anything else (a float, a
    boolean, a record) is refused, naming the row, before any row is assigned."""
    if missing(value):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Integral) and not isinstance(value, bool):
        return str(int(value))
    raise InvalidArgumentError(
        f"owner (row {label!r})",
        f"{value!r} ({type(value).__name__}) is not a person id",
        "give owners as text (a column of whole numbers with gaps reads as floats: "
        "make it text or pandas' Int64), and leave the cell empty for none",
    )


def _iso_moment(text: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidTimeError(
            name,
            text,
            "is not an ISO 8601 moment",
            "give one with its UTC offset, e.g. '2026-11-05T09:00:00+08:00'",
        ) from None


# Assignments that change the owner of a lead that has one: a late event naming an
# owner from before them is undone by them.
_OWNER_CHANGES = frozenset({"returned", "transferred", "assigned", "reassigned", "accepted"})


def _check_connected(event: Event) -> None:
    """Refuse a ``call_attempt`` whose ``data.connected`` reads as no boolean
    (:func:`~leadlife.routing.follow_up.call_connected`)."""
    connected = event.data.get("connected")
    try:
        call_connected(connected)
    except ValueError:
        raise InvalidEventError(
            "data.connected",
            f"is {connected!r} ({type(connected).__name__}), not a boolean",
            'send true or false (1 or 0, "true" or "false" are read too), or leave '
            "it out when unknown",
            event_id=event.id,
        ) from None


def _host_lookup(router: Router) -> object | None:
    """A host's IpLookup inside a region router (None: the router uses its own table)."""
    lookup: object | None = getattr(router, "ip_lookup", None)
    if lookup is not None and getattr(router, "_table", None) is None:
        return lookup
    return None


def _plugin_of(router: Router) -> str:
    """Who to blame for a router's failure: a host's IpLookup inside a region router."""
    return type(_host_lookup(router) or router).__name__


def _runs_host_code(router: Router) -> bool:
    """Whether a failure of ``router`` may come from code outside leadlife."""
    lookup = _host_lookup(router)
    return not is_leadlife_code(router) or (lookup is not None and not is_leadlife_code(lookup))


def _reopened_ts(lead: Lead, event: Event) -> float | None:
    """When ``event`` reopened ``lead`` (None: it did not)."""
    # This event's stage changes are the newest entries of the history.
    for change in reversed(lead.history):
        if change.event_id != event.id:
            return None
        if not change.from_stage.is_open and change.to_stage.is_open:
            return change.at.timestamp()
    return None


_QUEUE_FILTERS = frozenset({"team", "owner", "unowned", "include_closed", "limit"})


def load_routing(
    source: Routing | Mapping[str, Any] | str | os.PathLike[str],
) -> Routing:
    """A :class:`Routing` from a Routing, a mapping, or a TOML file path."""
    if isinstance(source, Routing):
        return source
    if isinstance(source, Mapping):
        return Routing.from_dict(source)
    if isinstance(source, str | os.PathLike):
        return Routing.load(source)
    raise RoutingConfigError(
        "",
        f"cannot load a routing configuration from {type(source).__name__}",
        "pass a Routing, a dict, or the path of a TOML file",
    )


def _known_keys() -> set[str]:
    from leadlife.routing import config

    return model_keys(config)
