"""The notification channel protocol: the host sends the messages."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from leadlife.lead import Lead
from leadlife.notices import Notice

__all__ = ["Channel"]


@runtime_checkable
class Channel(Protocol):
    """Delivers notices (reactivation due, reminders) to people or systems."""

    name: str

    def send(self, notice: Notice, lead: Lead) -> None:
        """Deliver ``notice`` about ``lead``."""
        ...
