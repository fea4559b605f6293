"""Notices: things the host should act on (reactivate a sleeper, remind an owner)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = ["Notice"]


@attrs.frozen(slots=True)
class Notice:
    """A message for the host's notification channels; the host decides how to send it."""

    kind: str
    lead_id: str
    at: datetime
    message: str
    data: Mapping[str, Any] = attrs.field(factory=dict)
