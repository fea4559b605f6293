"""The engine's per-event and time paths as a CRM backend meets them: batches handed
over in the wrong shape, timestamps as databases write them, and attribution from
events whose source is blank."""

from __future__ import annotations

from typing import Any

import pytest

import leadlife
from leadlife.errors import InvalidEventError
from leadlife.plugins import get_plugin_manager
from tests.conftest import T0
from tests.helpers import ev


def engine() -> leadlife.Engine:
    """An engine on the default rulebook with only the built-ins."""
    return leadlife.Engine(
        clock=leadlife.FixedClock(T0),
        plugin_manager=get_plugin_manager(load_entrypoints=False),
    )


@pytest.mark.parametrize(
    "events",
    [
        '[{"id": "e1", "lead_id": "u1", "type": "page_view", "at": "2026-11-02T09:00:00Z"}]',
        b'{"id": "e1"}',
        bytearray(b'{"id": "e1"}'),
    ],
)
def test_ingest_many_refuses_text_in_place_of_events(events: Any) -> None:
    """Regression: a JSON body or a file's text handed to ``ingest_many`` unparsed was
    read as an iterable of its characters, each one rejected: a report of dozens of
    refused "events" instead of one error saying what to pass."""
    with pytest.raises(InvalidEventError, match="expected an iterable of events") as caught:
        engine().ingest_many(events)
    assert caught.value.field == "<events>"
    assert "parse" in caught.value.fix


def test_ingest_many_refuses_a_data_frame_in_place_of_its_rows() -> None:
    """Regression: a DataFrame of events was iterated as Python iterates one, over its
    column names, so every column was rejected as "an event" and no row was read."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([ev("page_view"), ev("download", asset_id="a1")])
    with pytest.raises(InvalidEventError, match="DataFrame") as caught:
        engine().ingest_many(frame)
    assert caught.value.field == "<events>"
    assert "to_dict('records')" in caught.value.fix
