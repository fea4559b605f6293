"""Routing: who owns a lead once it is qualified, how fast they act, and what happens
when nobody does.

Register a :class:`Routing` built from a configuration (TOML or a dict) as a plugin:
its routers decide a team or an owner, the team's strategy picks a member, pool
events move leads between people, and follow-up timers remind and reassign at
``engine.tick``. See ``docs/routing.md``.
"""

from __future__ import annotations

from leadlife.routing._core import Routing, load_routing
from leadlife.routing.decision import RouteDecision, Router
from leadlife.routing.follow_up import FollowUp
from leadlife.routing.pool import POOL_EVENTS, pool_event
from leadlife.routing.priority import QueueEntry, SourceRate, SourceRates, priority, work_queue
from leadlife.routing.teams import Member, Team

__all__ = [
    "POOL_EVENTS",
    "FollowUp",
    "Member",
    "QueueEntry",
    "RouteDecision",
    "Router",
    "Routing",
    "SourceRate",
    "SourceRates",
    "Team",
    "load_routing",
    "pool_event",
    "priority",
    "work_queue",
]
