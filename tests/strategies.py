"""Hypothesis strategies for events of the default vocabulary."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

PHONES = ["+8613800138000", "+8613912345678", "12345", "+1 650 253 0000"]

_DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "page_view": st.fixed_dictionaries({"page": st.sampled_from(["pricing", "careers", "blog"])}),
    "search": st.fixed_dictionaries({"keyword": st.sampled_from(["crm", "media"])}),
    "download": st.fixed_dictionaries({"asset_id": st.sampled_from(["a1", "a2"])}),
    "favorite": st.fixed_dictionaries({"asset_id": st.just("a1")}),
    "form_submit": st.fixed_dictionaries(
        {},
        optional={
            "phone": st.sampled_from(PHONES),
            "email": st.sampled_from(["ann@example.com", "not-an-email"]),
            "asset_id": st.just("p1"),
            "company": st.just("Acme"),
        },
    ),
    "company_verified": st.fixed_dictionaries(
        {"company": st.just("Acme"), "industry": st.sampled_from(["media", "retail"])}
    ),
    "chat_started": st.fixed_dictionaries({"channel": st.just("wecom")}),
    "chat_replied": st.just({}),
    "quote_sent": st.fixed_dictionaries({"amount": st.integers(1, 10**5)}),
    "price_objection": st.just({}),
    "sales_accepted": st.fixed_dictionaries({"owner": st.sampled_from(["r1", "r2"])}),
    "call_attempt": st.fixed_dictionaries({"connected": st.booleans()}),
    "email_opened": st.fixed_dictionaries({"campaign": st.just("n")}),
    "livestream_watched": st.fixed_dictionaries({"event_id": st.just("l")}),
    "offline_event_attended": st.fixed_dictionaries({"event_id": st.just("o")}),
    "deal_won": st.fixed_dictionaries({"amount": st.just(100)}),
    "deal_lost": st.fixed_dictionaries({"reason": st.just("price")}),
    "disqualified": st.fixed_dictionaries({"reason": st.just("spam")}),
    "reopened": st.fixed_dictionaries({"reason": st.just("came back")}),
    "unknown_thing": st.just({}),
}

EVENT_TYPES = sorted(_DATA)


@st.composite
def event_payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``(type, data)`` of a default-vocabulary event (closing ones rarer)."""
    kind = draw(
        st.one_of(
            st.sampled_from([k for k in EVENT_TYPES if k not in _RARE]),
            st.sampled_from(sorted(_RARE)),
        )
    )
    return kind, draw(_DATA[kind])


_RARE = {"deal_won", "deal_lost", "disqualified", "reopened"}
