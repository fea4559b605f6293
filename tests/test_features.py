"""Model features: the batch frame from the event log and the live row of one lead agree."""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import leadlife
from leadlife.enrichment import Enricher
from leadlife.errors import FeatureSchemaError
from leadlife.events import Event
from leadlife.lead import Lead
from leadlife.ml.features import FeatureSpec, FeatureTrail, build_features, lead_features
from leadlife.plugins import LeadlifePluginManager, get_plugin_manager, hookimpl
from leadlife.scoring import ScoreResult
from tests.conftest import T0
from tests.strategies import event_payloads

AS_OF = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count()
SMALL = FeatureSpec(windows=(1, 7, 30), text_buckets=8, max_texts=3)


def event(
    kind: str,
    before: timedelta,
    lead: str = "u1",
    *,
    event_id: str | None = None,
    channel: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """An event dict ``before`` the as-of moment."""
    return {
        "id": event_id or f"f{next(_ids)}",
        "lead_id": lead,
        "type": kind,
        "at": AS_OF - before,
        "channel": channel,
        "data": data,
    }


def same(a: object, b: object) -> bool:
    """Equal and of the same kind (float, str or None), with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b and type(a) is type(b)


def assert_row_equal(live: dict[str, Any], batch: pd.Series) -> None:
    """The live row equals the batch row column by column, in the same order."""
    assert list(live) == list(batch.index)
    differ = {name: (live[name], batch[name]) for name in live if not same(live[name], batch[name])}
    assert differ == {}


class WindowKeeper:
    """A do-nothing scorer asking the engine to keep day buckets for ``window_days``."""

    name = "window-keeper"

    def __init__(self, window_days: int):
        self.window_days = window_days

    def score(self, lead: Lead, now: datetime) -> float:
        return 0.0

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        return ScoreResult(self.name, 0.0)


def engine_with(
    spec: FeatureSpec, pm: LeadlifePluginManager, *, keep_windows: bool = False
) -> leadlife.Engine:
    """An engine recording a FeatureTrail for ``spec`` (and keeping its windows, if asked)."""

    class Plugin:
        @hookimpl
        def leadlife_register_enrichers(self, register: Callable[[object], None]) -> None:
            register(FeatureTrail(spec))

        @hookimpl
        def leadlife_register_scorers(self, register: Callable[[object], None]) -> None:
            if keep_windows:
                register(WindowKeeper(spec.longest_window))

    return leadlife.Engine(plugins=[Plugin()], plugin_manager=pm, clock=leadlife.FixedClock(T0))


def live_and_batch(
    spec: FeatureSpec, events: Sequence[dict[str, Any]], engine: leadlife.Engine
) -> tuple[list[Lead], pd.DataFrame]:
    """The engine's leads after ``events``, and the batch frame of the same events."""
    report = engine.ingest_many(events)
    assert report.rejected == []
    leads = [engine.get(lead_id) for lead_id in sorted({e["lead_id"] for e in events})]
    return leads, build_features(events, leads, as_of=AS_OF, spec=spec)


# -- the spec ------------------------------------------------------------------------


def test_columns_are_counts_then_times_channels_profile_and_tokens() -> None:
    """spec.columns() lists counts per type and window, times, channels, profile, tokens."""
    spec = FeatureSpec(
        windows=(7, 1),
        event_types=("search", "download"),
        profile_fields=("city", "employees"),
        numeric_fields=("employees",),
        text_buckets=2,
    )
    assert spec.columns() == [
        "n.search.7d",
        "n.search.1d",
        "n.download.7d",
        "n.download.1d",
        "n.events",
        "days_since_last_activity",
        "days_since_first_seen",
        "first_channel",
        "last_channel",
        "city",
        "employees",
        "tok.0",
        "tok.1",
    ]
    assert spec.categorical_columns() == ["first_channel", "last_channel", "city"]
    assert spec.longest_window == 7


def test_default_spec_follows_the_default_rulebook() -> None:
    """The default spec counts the default vocabulary; sales and system events are passive."""
    spec = FeatureSpec()
    rulebook = leadlife.Rulebook.default()
    assert spec.event_types == tuple(rulebook.event_types)
    assert {"quote_sent", "company_verified", "deal_won"} <= set(spec.passive_types)
    assert "page_view" not in spec.passive_types
    assert spec.windows == (1, 7, 30, 180, 365)
    assert {"city", "industry", "inferred_industry", "company_enquiries"} <= set(spec.columns())
    assert FeatureSpec.from_rulebook(rulebook, windows=(3,)).windows == (3,)


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"windows": ()}, "windows"),
        ({"windows": (0, 7)}, "windows"),
        ({"windows": (7, 7)}, "windows"),
        ({"event_types": ("search", "search")}, "event_types"),
        ({"text_buckets": -1}, "text_buckets"),
        ({"profile_fields": ("n.events",)}, "n.events"),
    ],
)
def test_bad_specs_are_refused_naming_the_field(changes: dict[str, Any], column: str) -> None:
    """A spec with bad windows, repeated names or clashing columns fails when it is made."""
    with pytest.raises(FeatureSchemaError) as info:
        FeatureSpec(**changes)
    assert info.value.column == column


# -- the batch path --------------------------------------------------------------------


def test_windows_are_utc_days_ending_on_the_as_of_day_and_cut_at_as_of() -> None:
    """A d-day window counts events on the d UTC days ending on as_of's day, before as_of."""
    midnight = AS_OF.replace(hour=0)
    at = [
        AS_OF - timedelta(hours=1),  # today
        midnight,  # today, first instant
        midnight - timedelta(microseconds=1),  # yesterday
        midnight - timedelta(days=6),  # 7d window's first day
        midnight - timedelta(days=6, microseconds=1),  # just outside 7d
        AS_OF,  # not before as_of: ignored
        AS_OF + timedelta(days=1),
    ]
    events = [{"id": f"w{i}", "lead_id": "u1", "type": "search", "at": t} for i, t in enumerate(at)]
    row = build_features(events, as_of=AS_OF, spec=SMALL).loc["u1"]
    assert (row["n.search.1d"], row["n.search.7d"], row["n.search.30d"]) == (2.0, 4.0, 5.0)
    assert row["n.events"] == 5.0


def test_passive_and_unknown_types_count_in_totals_and_recency_as_documented() -> None:
    """Sales events count in totals but not activity; unknown types count in both, not per type."""
    events = [
        event("page_view", timedelta(days=5)),
        event("quote_sent", timedelta(days=1)),
        event("webinar_custom", timedelta(days=3)),
    ]
    row = build_features(events, as_of=AS_OF, spec=SMALL).loc["u1"]
    assert row["n.events"] == 3.0
    assert row["days_since_last_activity"] == 3.0
    assert row["days_since_first_seen"] == 5.0
    assert row["n.quote_sent.7d"] == 1.0
    assert not any("webinar_custom" in column for column in row.index)


def test_repeated_event_ids_count_once() -> None:
    """An event sent twice (same id) counts once, as the engine ingests it once."""
    first = event("download", timedelta(hours=2), event_id="dup")
    row = build_features([first, dict(first)], as_of=AS_OF, spec=SMALL).loc["u1"]
    assert row["n.download.1d"] == 1.0


def test_events_dicts_and_frames_give_the_same_features() -> None:
    """Events, event dicts and a DataFrame of the log (any timezone) build the same frame."""
    shanghai = timezone(timedelta(hours=8))
    dicts = [
        event("search", timedelta(days=2), channel="web", keyword="crm price"),
        event("chat_started", timedelta(hours=3), "u2", channel="wecom", text="Need a quote"),
        event("download", timedelta(days=40), "u2"),
    ]
    dicts[1]["at"] = dicts[1]["at"].astimezone(shanghai)
    from_dicts = build_features(dicts, as_of=AS_OF, spec=SMALL)
    from_events = build_features([Event.model_validate(d) for d in dicts], as_of=AS_OF, spec=SMALL)
    frame = pd.DataFrame(dicts)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    from_frame = build_features(frame, as_of=AS_OF, spec=SMALL)
    pd.testing.assert_frame_equal(from_dicts, from_events)
    pd.testing.assert_frame_equal(from_dicts, from_frame)
    assert list(from_dicts.index) == ["u1", "u2"]
    assert from_dicts.index.name == "lead_id"


def test_a_frame_of_iso_strings_reads_like_datetimes() -> None:
    """A log whose 'at' holds ISO 8601 strings with offsets builds the same frame."""
    dicts = [
        event("search", timedelta(days=2), keyword="crm"),
        event("page_view", timedelta(hours=30), "u2", channel="seo"),
    ]
    frame = pd.DataFrame(dicts)
    frame["at"] = [d["at"].astimezone(timezone(timedelta(hours=-5))).isoformat() for d in dicts]
    pd.testing.assert_frame_equal(
        build_features(frame, as_of=AS_OF, spec=SMALL),
        build_features(dicts, as_of=AS_OF, spec=SMALL),
    )


def test_an_empty_log_gives_an_empty_frame_with_every_column() -> None:
    """No events and no leads give no rows, with the spec's columns all the same."""
    frame = build_features([], as_of=AS_OF, spec=SMALL)
    assert frame.empty
    assert list(frame.columns) == SMALL.columns()
    assert frame.index.name == "lead_id"


def test_as_of_must_be_timezone_aware() -> None:
    """A naive as_of is refused rather than read in some local time."""
    with pytest.raises(leadlife.errors.InvalidTimeError):
        build_features([], as_of=datetime(2026, 11, 2))


@pytest.mark.parametrize("now", ["2026-11-02T09:00:00Z", None, datetime(2026, 11, 2)])
def test_a_live_row_needs_an_aware_now(now: Any) -> None:
    """lead_features refuses a now that is no aware datetime (text, None, a naive one)
    with InvalidTimeError naming it, as build_features refuses such an as_of."""
    lead = Lead("u1")
    lead.behaviour.record("search", AS_OF.timestamp() - 60, 30)
    with pytest.raises(leadlife.errors.InvalidTimeError) as caught:
        lead_features(lead, now, SMALL)
    assert caught.value.name == "now"
    assert lead_features(lead, pd.Timestamp(AS_OF), SMALL) == lead_features(lead, AS_OF, SMALL)


def test_frame_dtypes_are_float_and_object() -> None:
    """Numeric columns are float64 and categorical ones object columns of str or None."""
    frame = build_features([event("search", timedelta(days=1))], as_of=AS_OF, spec=SMALL)
    categorical = SMALL.categorical_columns()
    assert all(frame[c].dtype == object for c in categorical)
    numeric = [c for c in frame.columns if c not in categorical]
    assert all(frame[c].dtype == np.float64 for c in numeric)
    assert frame.loc["u1", "city"] is None
    assert math.isnan(frame.loc["u1", "employees"])


def test_frame_with_naive_or_missing_columns_is_refused() -> None:
    """A log without lead_id, or with naive 'at' moments, fails naming the column."""
    with pytest.raises(FeatureSchemaError, match="lead_id") as missing:
        build_features(pd.DataFrame({"type": ["search"], "at": [AS_OF]}), as_of=AS_OF)
    assert missing.value.missing == ("lead_id",)
    naive = pd.DataFrame({"lead_id": ["u1"], "type": ["search"], "at": [datetime(2026, 11, 1)]})
    with pytest.raises(FeatureSchemaError, match="timezone-aware") as info:
        build_features(naive, as_of=AS_OF)
    assert info.value.column == "at"


def test_profiles_come_from_a_frame_or_from_leads_alike() -> None:
    """Profiles as a frame or as leads give the same columns; leads without events get rows."""
    profiles = {
        "u1": {"city": "Shanghai", "employees": 120, "sme": True, "inferred_industry": "media"},
        "u9": {"city": "Beijing", "employees": "n/a", "company_enquiries": 3},
    }
    leads = [Lead(lead_id, profile=dict(p)) for lead_id, p in profiles.items()]
    frame = pd.DataFrame.from_dict(profiles, orient="index")
    events = [event("search", timedelta(days=1))]
    from_leads = build_features(events, leads, as_of=AS_OF)
    from_frame = build_features(events, frame, as_of=AS_OF)
    pd.testing.assert_frame_equal(from_leads, from_frame)
    assert list(from_leads.index) == ["u1", "u9"]
    assert from_leads.loc["u1", "sme"] == 1.0
    assert from_leads.loc["u1", "inferred_industry"] == "media"
    assert math.isnan(from_leads.loc["u9", "employees"])
    assert from_leads.loc["u9", "company_enquiries"] == 3.0
    assert from_leads.loc["u9", "n.events"] == 0.0
    assert math.isnan(from_leads.loc["u9", "days_since_first_seen"])


def test_channels_are_those_of_the_earliest_and_latest_event_naming_one() -> None:
    """first_channel and last_channel follow event time, skipping events without a channel."""
    events = [
        event("page_view", timedelta(days=1), channel="wecom"),
        event("page_view", timedelta(days=9), channel="seo"),
        event("page_view", timedelta(days=20)),
        event("page_view", timedelta(hours=1)),
    ]
    row = build_features(events, as_of=AS_OF, spec=SMALL).loc["u1"]
    assert (row["first_channel"], row["last_channel"]) == ("seo", "wecom")


def test_text_tokens_hash_the_last_texts_with_crc32() -> None:
    """Only the last max_texts texts count; words land in their CRC-32 bucket."""
    texts = ["old words", "alpha", "beta", "Alpha GAMMA"]
    events = [event("search", timedelta(days=10 - i), keyword=text) for i, text in enumerate(texts)]
    row = build_features(events, as_of=AS_OF, spec=SMALL).loc["u1"]
    expected = dict.fromkeys(range(8), 0.0)
    for word in ["alpha", "beta", "alpha", "gamma"]:
        expected[zlib.crc32(word.encode()) % 8] += 1.0
    assert {b: row[f"tok.{b}"] for b in range(8)} == expected
    assert "tok.0" not in build_features(events, as_of=AS_OF, spec=FeatureSpec(text_buckets=0))


@st.composite
def event_logs(draw: st.DrawFn, size: int = 30) -> list[dict[str, Any]]:
    """Events of a few leads over 400 days before AS_OF, some repeated (same id)."""
    events = []
    for number in range(draw(st.integers(0, size))):
        kind, data = draw(event_payloads())
        data = dict(data)
        text = draw(st.sampled_from([None, None, "Price please", "how MUCH is it", "demo"]))
        if text is not None:
            data["text"] = text
        before = timedelta(microseconds=draw(st.integers(1, 400 * 86_400 * 10**6)))
        events.append(
            {
                "id": f"e{number}",
                "lead_id": draw(st.sampled_from(["a", "b", "c"])),
                "type": kind,
                "at": AS_OF - before,
                "channel": draw(st.sampled_from([None, "web", "wecom", "seo", ""])),
                "data": data,
            }
        )
    for index in draw(st.lists(st.integers(0, max(len(events) - 1, 0)), max_size=5)):
        if events:
            events.insert(draw(st.integers(0, len(events))), dict(events[index]))
    return events


@given(
    events=event_logs(),
    later=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "z"]),
            st.sampled_from(["search", "deal_won", "page_view"]),
            st.integers(0, 40 * 86_400 * 10**6),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_events_at_or_after_as_of_change_nothing(
    events: list[dict[str, Any]], later: list[tuple[str, str, int, bool]]
) -> None:
    """Adding any events at or after as_of, even reusing ids, changes no feature."""
    before = build_features(events, as_of=AS_OF, spec=SMALL)
    extra = [
        {
            "id": f"e{n}" if reuse and n < len(events) else f"late{n}",
            "lead_id": lead,
            "type": kind,
            "at": AS_OF + timedelta(microseconds=offset),
            "channel": "late",
            "data": {"text": "late words", "keyword": "leak"},
        }
        for n, (lead, kind, offset, reuse) in enumerate(later)
    ]
    mixed = extra[::2] + events + extra[1::2]
    pd.testing.assert_frame_equal(build_features(mixed, as_of=AS_OF, spec=SMALL), before)


# -- the live path ---------------------------------------------------------------------


def test_feature_trail_answers_the_enricher_protocol() -> None:
    """FeatureTrail is an Enricher and keeps the spec's text settings."""
    trail = FeatureTrail(SMALL)
    assert isinstance(trail, Enricher)
    assert trail.name == "feature-trail"


def test_late_events_move_the_trail_like_the_batch_order(pm: LeadlifePluginManager) -> None:
    """Out-of-order events place channels and texts by event time, not arrival."""
    events = [
        event("search", timedelta(days=2), channel="web", keyword="second"),
        event("search", timedelta(days=1), channel="wecom", keyword="third"),
        event("search", timedelta(days=3), channel="seo", keyword="first"),
        event("search", timedelta(days=9), keyword="zeroth"),
    ]
    leads, frame = live_and_batch(SMALL, events, engine_with(SMALL, pm))
    profile = leads[0].profile
    assert (profile["first_channel"], profile["last_channel"]) == ("seo", "wecom")
    assert profile["recent_text"] == ("first", "second", "third")
    assert_row_equal(lead_features(leads[0], AS_OF, SMALL), frame.loc["u1"])


@given(events=event_logs())
def test_live_row_equals_batch_row(events: list[dict[str, Any]]) -> None:
    """A lead fed the log through the engine has the batch row, with windows within retention."""
    engine = engine_with(SMALL, get_plugin_manager(load_entrypoints=False))
    assert SMALL.longest_window <= engine.rulebook.retention_days
    leads, frame = live_and_batch(SMALL, events, engine)
    assert len(frame) == len(leads)
    for lead in leads:
        assert_row_equal(lead_features(lead, AS_OF, SMALL), frame.loc[lead.id])


@given(events=event_logs(size=20))
def test_live_row_equals_batch_row_when_the_engine_keeps_the_longest_window(
    events: list[dict[str, Any]],
) -> None:
    """With day buckets kept for spec.longest_window, every default column agrees."""
    spec = FeatureSpec(max_texts=3)
    engine = engine_with(spec, get_plugin_manager(load_entrypoints=False), keep_windows=True)
    leads, frame = live_and_batch(spec, events, engine)
    for lead in leads:
        assert_row_equal(lead_features(lead, AS_OF, spec), frame.loc[lead.id])


def test_windows_beyond_retention_are_undercounted_live(pm: LeadlifePluginManager) -> None:
    """Without longer retention, live counts of long windows fall short of the batch ones."""
    spec = FeatureSpec(windows=(30, 365), text_buckets=0)
    events = [event("page_view", timedelta(days=n, hours=1)) for n in range(100)]
    leads, frame = live_and_batch(spec, events, engine_with(spec, pm))
    live = lead_features(leads[0], AS_OF, spec)
    assert live["n.page_view.30d"] == frame.loc["u1", "n.page_view.30d"] == 30.0
    assert live["n.page_view.365d"] < frame.loc["u1", "n.page_view.365d"] == 100.0


def test_lead_without_events_has_zero_counts_and_unknown_times() -> None:
    """A lead that has seen nothing has zero counts, NaN recency and its profile fields."""
    row = lead_features(Lead("new", profile={"city": "Hangzhou"}), AS_OF, SMALL)
    assert row["n.events"] == 0.0
    assert math.isnan(row["days_since_last_activity"])  # type: ignore[arg-type]
    assert row["city"] == "Hangzhou"
    assert row["first_channel"] is None


@given(events=event_logs())
def test_profiles_rebuilt_from_the_log_equal_the_live_ones(events: list[dict[str, Any]]) -> None:
    """Without leads, profiles are rebuilt from the events: the live rows, events in time order."""
    in_order = sorted(events, key=lambda e: e["at"])
    engine = engine_with(SMALL, get_plugin_manager(load_entrypoints=False))
    assert engine.ingest_many(in_order).rejected == []
    frame = build_features(in_order, as_of=AS_OF, spec=SMALL)
    for lead_id in frame.index:
        assert_row_equal(lead_features(engine.get(lead_id), AS_OF, SMALL), frame.loc[lead_id])


def test_profile_fields_come_from_forms_and_verification_without_leads() -> None:
    """A form's contact and industry and a verified company reach the row from the log alone."""
    events = [
        event("form_submit", timedelta(days=3), phone="+8613800138000", industry="media"),
        event("company_verified", timedelta(days=2), company="Acme", industry="advertising"),
        event("form_submit", timedelta(days=1), lead="u2", email="ceo@acme.cn"),
    ]
    frame = build_features(events, as_of=AS_OF)
    assert frame.loc["u1", "industry"] == "advertising"  # the later event's value
    assert frame.loc["u1", "phone_valid"] == 1.0
    assert frame.loc["u1", "company_verified"] == 1.0
    assert frame.loc["u2", "email_valid"] == 1.0
    assert frame.loc["u2", "industry"] is None
    early = build_features(events, as_of=AS_OF - timedelta(days=2, hours=12))
    assert early.loc["u1", "industry"] == "media"  # point in time: before verification


def test_profiles_are_replayed_in_arrival_order_as_the_engine_saw_them() -> None:
    """Regression: profiles were replayed in time order, so back-filled forms overwrote live.

    The engine lets a late event fill only missing fields: a form back-filled after a
    newer page view keeps the first form's industry live, and the rebuilt row must too.
    """
    spec = FeatureSpec(windows=(7,), text_buckets=0, profile_fields=("industry",))
    log = [  # arrival order: the page view came in live, the forms were back-filled
        event("page_view", timedelta(hours=1), event_id="p"),
        event("form_submit", timedelta(days=3), event_id="f1", industry="retail"),
        event("form_submit", timedelta(days=2), event_id="f2", industry="saas"),
    ]
    engine = engine_with(spec, get_plugin_manager(load_entrypoints=False))
    assert engine.ingest_many(log).rejected == []
    live = lead_features(engine.get("u1"), AS_OF, spec)
    assert live["industry"] == "retail"
    for events in (log, pd.DataFrame(log)):
        assert build_features(events, as_of=AS_OF, spec=spec).loc["u1", "industry"] == "retail"


@given(events=event_logs(), order=st.randoms(use_true_random=False))
def test_profiles_rebuilt_from_a_log_in_any_order_equal_the_live_ones(
    events: list[dict[str, Any]], order: Any
) -> None:
    """Profiles rebuilt from a log in any arrival order (late events too) are the live ones."""
    order.shuffle(events)
    engine = engine_with(SMALL, get_plugin_manager(load_entrypoints=False))
    assert engine.ingest_many(events).rejected == []
    frame = build_features(events, as_of=AS_OF, spec=SMALL)
    for lead_id in frame.index:
        assert_row_equal(lead_features(engine.get(lead_id), AS_OF, SMALL), frame.loc[lead_id])


def test_a_frame_log_is_stripped_as_event_validation_strips() -> None:
    """Regression: padded lead ids, types and channels of a CSV export split leads and types."""
    spec = FeatureSpec(
        windows=(1, 7), event_types=("page_view", "search"), text_buckets=0, profile_fields=()
    )
    events = [
        event("page_view ", timedelta(days=2), lead="u1", channel=" sem"),
        event("search", timedelta(hours=2), lead=" u1", channel="web "),
    ]
    from_events = build_features(events, as_of=AS_OF, spec=spec)
    from_frame = build_features(pd.DataFrame(events), as_of=AS_OF, spec=spec)
    assert from_frame.index.tolist() == ["u1"]
    pd.testing.assert_frame_equal(from_frame, from_events)
    assert from_frame.loc["u1", "n.page_view.7d"] == 1.0
    assert from_frame.loc["u1", ["first_channel", "last_channel"]].tolist() == ["sem", "web"]


def test_frame_events_without_an_id_are_refused_naming_the_column() -> None:
    """Regression: rows without an id were taken for one repeated id and silently dropped."""
    log = pd.DataFrame(
        {
            "id": ["a", None, " ", np.nan],
            "lead_id": ["u1", "u1", "u2", "u2"],
            "type": "page_view",
            "at": pd.to_datetime([AS_OF - timedelta(hours=h) for h in (1, 2, 3, 4)], utc=True),
        }
    )
    with pytest.raises(FeatureSchemaError, match=r"3 events have no id") as caught:
        build_features(log, as_of=AS_OF, spec=SMALL)
    assert caught.value.column == "id"
    assert "unique id" in caught.value.fix
    counted = build_features(log.drop(columns="id"), as_of=AS_OF, spec=SMALL)
    assert counted["n.events"].tolist() == [2.0, 2.0]  # without ids, every row counts


@pytest.mark.parametrize("value", ["1e400", math.inf, -math.inf, "-inf"])
def test_non_finite_profile_numbers_are_unknown_on_both_paths(value: object) -> None:
    """Regression: a profile's "1e400" became inf, which only the live path could score."""
    spec = FeatureSpec(windows=(7,), text_buckets=0, profile_fields=("registered_capital",))
    lead = Lead("u1", profile={"registered_capital": value})
    live = lead_features(lead, AS_OF, spec)
    assert math.isnan(live["registered_capital"])
    for profiles in (
        [lead],
        pd.DataFrame({"registered_capital": [value]}, index=["u1"]),
        pd.DataFrame({"registered_capital": [float(value)]}, index=["u1"]),  # type: ignore[arg-type]
    ):
        frame = build_features([], profiles, as_of=AS_OF, spec=spec)
        assert math.isnan(frame.loc["u1", "registered_capital"])
