"""The engine's per-event and time paths as a CRM backend meets them: batches handed
over in the wrong shape, timestamps as databases write them, and attribution from
events whose source is blank."""

from __future__ import annotations

from typing import Any

import pytest

import leadlife
from leadlife.errors import InvalidArgumentError, InvalidEventError
from leadlife.plugins import get_plugin_manager
from tests.conftest import T0
from tests.helpers import ev, hours


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


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-02 17:00:00+08",  # PostgreSQL's text of a timestamptz
        "2026-11-02T17:00:00.000000+08",
        " 2026-11-02T17:00:00+08:00 ",  # a padded CSV cell
        "2026-11-02T09:00:00Z\n",
    ],
)
def test_an_at_with_an_hours_offset_or_padding_is_read(at: str) -> None:
    """Regression: an offset of hours only (``+08``, as PostgreSQL writes a
    ``timestamptz``) and text with surrounding spaces were refused as "not a valid
    datetime", with a fix asking for the ISO 8601 text that had been sent."""
    run = engine()
    lead = run.ingest({"id": "e1", "lead_id": "u1", "type": "page_view", "at": at})
    assert lead.last_event_at == T0
    report = run.ingest_many([{"id": "e2", "lead_id": "u1", "type": "page_view", "at": at}])
    assert (report.accepted, report.rejected) == (1, [])


@pytest.mark.parametrize("at", ["2026-11-02 17:00:00", "20261102", " 1769000000 ", "2026-11-02T09"])
def test_an_at_python_reads_without_an_offset_is_still_refused(at: str) -> None:
    """Text Python's parser reads as a local time, or digits only, still has no offset."""
    run = engine()
    with pytest.raises(InvalidEventError) as caught:
        run.ingest({"id": "e1", "lead_id": "u1", "type": "page_view", "at": at})
    assert caught.value.field == "at"
    assert run.storage.get("u1") is None


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_source_leaves_the_attribution_as_it_was(blank: str) -> None:
    """Regression: an event whose source was blank (an empty utm_source, a CSV cell
    left empty) set ``latest_source`` to "", and, dated earliest, replaced the lead's
    first-touch source: the lead lost the source its work queue ranks it by."""
    run = engine()
    run.ingest({**ev("page_view", hours(1)), "source": "seo"})
    lead = run.ingest({**ev("page_view", hours(2)), "source": blank})
    assert (lead.profile["source"], lead.profile["latest_source"]) == ("seo", "seo")
    lead = run.ingest({**ev("page_view", hours(0)), "source": blank})  # late, and earliest
    assert (lead.profile["source"], lead.profile["latest_source"]) == ("seo", "seo")
    assert lead.event_count == 3


def test_the_first_source_given_names_a_lead_whose_first_events_had_a_blank_one() -> None:
    """A blank source counts as none: the first real one is the lead's first touch."""
    run = engine()
    run.ingest({**ev("page_view", hours(0)), "source": ""})
    lead = run.ingest({**ev("page_view", hours(1)), "source": "webinar"})
    assert (lead.profile["source"], lead.profile["latest_source"]) == ("webinar", "webinar")


@pytest.mark.parametrize("within", [7.5, 0, -1, True, "7", None, float("nan")])
def test_a_behaviour_window_of_no_whole_number_of_days_is_refused(within: Any) -> None:
    """Regression: ``behaviour.count`` read 7.5 days as eight, NaN as every day kept and
    0 or -1 as an empty window, and raised Python's TypeError for "7" (a query
    parameter) or None; the rulebook's own windows are whole days, 1 or more."""
    run = engine()
    run.ingest(ev("download", asset_id="a1"))
    behaviour = run.get("u1").behaviour
    with pytest.raises(InvalidArgumentError, match="whole number of days") as caught:
        behaviour.count("download", within, T0)
    assert caught.value.argument == "within_days"
    with pytest.raises(InvalidArgumentError, match="whole number of days") as caught:
        behaviour.windows(T0, days=(1, within))
    assert caught.value.argument == "days"


def test_behaviour_windows_take_their_days_as_a_tuple() -> None:
    """Regression: ``windows(now, days=7)`` raised Python's "'int' object is not
    iterable"; numpy's integers count as whole days."""
    np = pytest.importorskip("numpy")
    run = engine()
    run.ingest(ev("download", asset_id="a1"))
    behaviour = run.get("u1").behaviour
    with pytest.raises(InvalidArgumentError, match=r"days=\(7,\)") as caught:
        behaviour.windows(T0, days=7)  # type: ignore[arg-type]
    assert caught.value.argument == "days"
    assert behaviour.windows(T0, days=(np.int64(7),)) == {"download": {7: 1}}
    assert behaviour.count("download", np.int64(30), T0) == 1


def test_get_strips_an_id_as_event_validation_does() -> None:
    """An id ending in a separator U+001C-U+001F is kept by validation; get() keeps it too."""
    engine = leadlife.Engine()
    for lead_id in ("u1\x1f", "\x1cu2"):
        engine.ingest(
            {
                "id": f"e-{lead_id!r}",
                "lead_id": lead_id,
                "type": "page_view",
                "at": "2026-11-02T09:00:00+00:00",
            }
        )
        assert engine.get(lead_id).id == lead_id
        assert engine.get(f" {lead_id}\u3000").id == lead_id


def test_a_rejection_names_the_event_id_as_validation_reads_it() -> None:
    """Regression: a rejected event's ``Rejection.event_id`` was its id as sent
    (" e7\\n"), while the error and every other record used the stripped id ("e7")."""
    padded = {**ev("page_view"), "id": " e7\n", "at": "not a time"}
    blank = {**ev("page_view"), "id": "   ", "at": "not a time"}
    report = engine().ingest_many([padded, blank])
    assert [rejection.event_id for rejection in report.rejected] == ["e7", None]
    assert report.rejected[0].error.event_id == "e7"
