"""The in-memory event log keeps copies of its own of an unvalidated event's nested data."""

from __future__ import annotations

import leadlife
from leadlife.events import Event
from tests.conftest import T0


def _unvalidated() -> Event:
    # An Event built without validation keeps plain, mutable nested values.
    return Event.model_construct(
        id="raw-1", lead_id="u1", type="page_view", at=T0, channel=None, source=None,
        data={"tags": ["a"], "page": "/x"},
    )  # fmt: skip


def test_an_unvalidated_events_sender_cannot_rewrite_the_stored_log(
    engine: leadlife.Engine,
) -> None:
    event = _unvalidated()
    engine.ingest(event)
    event.data["tags"].append("changed by the sender")
    (read,) = engine.storage.events("u1")
    assert read.data == {"tags": ["a"], "page": "/x"}


def test_a_reader_cannot_rewrite_the_stored_log_of_an_unvalidated_event(
    engine: leadlife.Engine,
) -> None:
    engine.ingest(_unvalidated())
    (read,) = engine.storage.events("u1")
    read.data["tags"].append("changed by a reader")
    (again,) = engine.storage.events("u1")
    assert again.data["tags"] == ["a"]
