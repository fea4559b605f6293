"""Inferred profile fields: industry from text, company from IP, enquiries per company."""

from __future__ import annotations

import copy
import ipaddress
import pickle
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split

import leadlife
from leadlife.errors import FeatureSchemaError, ModelError
from leadlife.events import Event
from leadlife.lead import Lead
from leadlife.ml.inferred import (
    COMPANY_ENQUIRIES,
    INFERRED_COMPANY,
    INFERRED_COMPANY_MATCH,
    INFERRED_INDUSTRY,
    INFERRED_INDUSTRY_CONFIDENCE,
    INFERRED_INDUSTRY_TERMS,
    CompanyByIP,
    CompanyEnquiries,
    IndustryInferrer,
    InferredProfile,
    IPMatch,
    normalize_company,
    normalize_text,
)
from leadlife.plugins import LeadlifePluginManager
from tests.conftest import T0
from tests.helpers import ev, hours

# -- synthetic customers ---------------------------------------------------------------
# Each industry has its own keywords, page titles and URLs in English and Chinese; every
# customer also searches generic terms and now and then another industry's, as real
# customers do.

INDUSTRY_TERMS = {
    "advertising": [
        "banner ad template", "social media campaign", "brand poster", "billboard mockup",
        "ad creative", "product photography", "motion graphics", "logo design", "promo video",
        "advertising agency case study", "/cases/agency-rebrand", "creative brief",
        "广告设计", "海报模板", "品牌推广", "宣传视频", "营销活动", "创意素材", "广告公司案例",
        "朋友圈广告", "户外广告牌", "电商主图",
    ],
    "education": [
        "online course", "lecture slides", "classroom", "student worksheet", "e-learning",
        "school brochure", "university campus photo", "teacher training", "exam",
        "curriculum", "/solutions/education-k12", "textbook illustration",
        "在线课程", "课件模板", "教育培训", "学生", "考试", "教师", "校园宣传", "课堂",
        "教学视频", "幼儿园",
    ],
    "manufacturing": [
        "factory", "industrial equipment", "production line", "cnc machine", "supply chain",
        "product manual", "safety signage", "warehouse", "engineering drawing",
        "quality inspection", "/industries/manufacturing-plant", "machinery catalog",
        "工厂", "生产线", "机械设备", "工业", "供应链", "产品手册", "仓库", "质检",
        "安全标识", "制造业",
    ],
    "healthcare": [
        "hospital", "medical illustration", "clinic", "doctor", "patient brochure",
        "pharmacy", "health checkup", "dental", "nursing", "medical device",
        "/cases/hospital-campaign", "anatomy",
        "医院", "医疗", "诊所", "医生", "患者", "药店", "体检", "牙科", "护理",
        "医疗器械", "健康科普",
    ],
}  # fmt: skip
GENERIC_TERMS = [
    "pricing", "free download", "business template", "ppt template", "icons", "stock photo",
    "vector", "background", "infographic", "font", "/pricing", "/download", "enterprise plan",
    "价格", "免费下载", "商用授权", "模板", "背景图", "图标", "字体", "企业会员", "高清图片",
]  # fmt: skip
INDUSTRIES = sorted(INDUSTRY_TERMS)


def customer_text(rng: random.Random, industry: str, n_terms: int) -> str:
    """Search keywords and viewed pages of one customer: 55% its own, 15% another's."""
    terms = []
    for _ in range(n_terms):
        draw = rng.random()
        if draw < 0.55:
            terms.append(rng.choice(INDUSTRY_TERMS[industry]))
        elif draw < 0.70:
            other = rng.choice([name for name in INDUSTRIES if name != industry])
            terms.append(rng.choice(INDUSTRY_TERMS[other]))
        else:
            terms.append(rng.choice(GENERIC_TERMS))
    return "\n".join(terms)


def customers(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` customers spread evenly over the industries, 3 to 10 terms each."""
    rng = random.Random(seed)
    labels = [INDUSTRIES[i % len(INDUSTRIES)] for i in range(n)]
    return [customer_text(rng, label, rng.randint(3, 10)) for label in labels], labels


@pytest.fixture(scope="module")
def split() -> tuple[list[str], list[str], list[str], list[str]]:
    """160 customers, three quarters to fit on and a stratified quarter held out."""
    texts, labels = customers(160, seed=7)
    fit_x, test_x, fit_y, test_y = train_test_split(
        texts, labels, test_size=0.25, stratify=labels, random_state=0
    )
    return fit_x, test_x, fit_y, test_y


@pytest.fixture(scope="module")
def fitted(split: tuple[list[str], list[str], list[str], list[str]]) -> IndustryInferrer:
    fit_x, _, fit_y, _ = split
    return IndustryInferrer().fit(fit_x, fit_y)


@pytest.fixture
def inferrer(fitted: IndustryInferrer) -> IndustryInferrer:
    """A private copy of the fitted model, free to reconfigure."""
    return copy.deepcopy(fitted)


def event(kind: str, lead: str = "u1", **data: Any) -> Event:
    return leadlife.Event.model_validate(ev(kind, lead=lead, **data))


# -- IndustryInferrer: fitting and batch prediction -------------------------------------


def test_held_out_customers_are_classified_above_the_measured_floor(
    fitted: IndustryInferrer, split: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    """On held-out customers accuracy is at least 0.75 and the mean confidence tracks it."""
    _, test_x, _, test_y = split
    accuracy = fitted.score(test_x, test_y)
    # Over 20 random splits of such customers accuracy ranged 0.80-0.95 (mean 0.87).
    assert accuracy >= 0.75
    mean_confidence = fitted.predict_proba(test_x).max(axis=1).mean()
    assert abs(mean_confidence - accuracy) < 0.1
    frame = fitted.predict_with_confidence(test_x)
    confident = frame["industry"].notna().to_numpy()
    assert confident.mean() >= 0.8
    right = frame["industry"].to_numpy()[confident] == np.asarray(test_y, dtype=object)[confident]
    assert right.mean() >= accuracy


def test_fit_records_the_method_it_picked_and_its_calibration(fitted: IndustryInferrer) -> None:
    """Fitting keeps the classes, the cross-validated loss of each method and the chosen one."""
    assert list(fitted.classes_) == INDUSTRIES
    assert set(fitted.cv_log_loss_) == {"centroid", "logistic"}
    assert fitted.method_ == min(fitted.cv_log_loss_, key=fitted.cv_log_loss_.__getitem__)
    assert fitted.temperature_ > 0
    assert fitted.n_customers_ == 120


@pytest.mark.parametrize("method", ["centroid", "logistic"])
def test_each_method_can_be_forced(
    method: str, split: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    """A fixed method is fitted without the other, and still beats chance by far."""
    fit_x, test_x, fit_y, test_y = split
    model = IndustryInferrer(method=method, cv=3).fit(fit_x, fit_y)  # type: ignore[arg-type]
    assert model.method_ == method
    assert set(model.cv_log_loss_) == {method}
    assert model.score(test_x, test_y) >= 0.7


@pytest.mark.parametrize(
    ("text", "industry"),
    [
        ("医院 体检 牙科", "healthcare"),
        ("课件模板\n在线课程", "education"),
        ("生产线 工厂 质检", "manufacturing"),
        ("海报模板 品牌推广", "advertising"),
        ("cnc machine warehouse", "manufacturing"),
        ("https://example.com/cases/hospital-campaign?x_field_1=tbbanner", "healthcare"),
    ],
)
def test_chinese_and_english_keywords_are_recognised(
    fitted: IndustryInferrer, text: str, industry: str
) -> None:
    """Chinese keywords (no word segmentation), English keywords and URL paths all point home."""
    assert fitted.predict([text])[0] == industry
    assert fitted.infer(text)[0] == industry


def test_full_width_and_case_variants_read_the_same(fitted: IndustryInferrer) -> None:
    """Full-width letters, upper case and punctuation do not change the inference."""
    # "CNC Machine, Warehouse!" typed with a Chinese input method (full-width forms)
    full_width = "\uff23\uff2e\uff23\u3000Machine\uff0cWarehouse\uff01"
    assert normalize_text(full_width) == "cnc machine warehouse"
    assert fitted.infer(full_width) == fitted.infer("cnc machine warehouse")


def test_urls_lose_host_and_query() -> None:
    """A URL's host and channel-tag query are dropped; its path words stay."""
    assert normalize_text("https://www.example.com/cases/hospital-campaign?x_field_1=tb") == (
        "cases hospital campaign"
    )
    once = normalize_text("A/B 测试\uff0cTest")
    assert once == "a b 测试 test"
    assert normalize_text(once) == once


def test_text_without_known_ngrams_infers_nothing(fitted: IndustryInferrer) -> None:
    """Empty text, or text of unseen characters only, gets no industry and confidence 0."""
    frame = fitted.predict_with_confidence(["", "€€€", None])
    assert frame["industry"].isna().all()
    assert frame["confidence"].tolist() == [0.0, 0.0, 0.0]
    assert fitted.infer("") == (None, 0.0)


def test_below_min_confidence_nothing_is_inferred(inferrer: IndustryInferrer) -> None:
    """A confidence under min_confidence gives None; the same text passes a lower bar."""
    text = "pricing 价格 hospital factory"
    _, confidence = inferrer.set_params(min_confidence=0.0).infer(text)
    assert 0.0 < confidence < 1.0
    inferrer.set_params(min_confidence=confidence + 1e-6)
    industry, again = inferrer.infer(text)
    assert industry is None
    assert again == pytest.approx(confidence)
    assert inferrer.predict_with_confidence([text])["industry"].tolist() == [None]
    assert inferrer.predict([text])[0] in INDUSTRIES  # predict always answers


text_terms = st.lists(
    st.sampled_from([t for terms in INDUSTRY_TERMS.values() for t in terms] + GENERIC_TERMS),
    max_size=12,
)


@given(terms=text_terms)
def test_single_text_path_equals_the_batch_path(fitted: IndustryInferrer, terms: list[str]) -> None:
    """infer(text) gives the industry and confidence predict_with_confidence gives for it."""
    text = "\n".join(terms)
    industry, confidence = fitted.infer(text)
    row = fitted.predict_with_confidence([text]).iloc[0]
    assert industry == row["industry"]
    assert confidence == pytest.approx(row["confidence"], abs=1e-9)


def test_batch_vectors_equal_the_fitted_vectorizer(
    fitted: IndustryInferrer, split: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    """Probabilities are the softmax of the vectorizer's TF-IDF times the weights."""
    _, test_x, _, _ = split
    matrix = fitted.vectorizer_.transform(test_x)
    scores = (matrix @ fitted.coef_.T + fitted.intercept_) / fitted.temperature_
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fitted.predict_proba(test_x), expected, atol=1e-12)


def test_frames_are_accepted_and_keep_their_index(fitted: IndustryInferrer) -> None:
    """A DataFrame's text columns are joined per row; the result keeps the input's index."""
    frame = pd.DataFrame(
        {"keywords": ["医院", None, "工厂"], "titles": [["体检", "牙科"], "课件模板", None]},
        index=["a", "b", "c"],
    )
    out = fitted.predict_with_confidence(frame)
    assert list(out.index) == ["a", "b", "c"]
    assert out["industry"].tolist() == ["healthcare", "education", "manufacturing"]
    assert out["confidence"].dtype == np.float64


def test_estimator_contract_clone_pickle_and_not_fitted(fitted: IndustryInferrer) -> None:
    """get_params/clone keep the settings only; a pickled model predicts the same."""
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params()
    assert not hasattr(fresh, "classes_")
    with pytest.raises(NotFittedError):
        fresh.infer("医院")
    with pytest.raises(NotFittedError):
        fresh.predict(["医院"])
    texts = ["医院 体检", "cnc machine", ""]
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(
        restored.predict_with_confidence(texts), fitted.predict_with_confidence(texts)
    )


@pytest.mark.parametrize(
    ("texts", "industries", "error", "message"),
    [
        (["a", "b", "c", "d"], ["x", "x", None, "y"], FeatureSchemaError, "row 2"),
        (["a", "b"], ["x"], FeatureSchemaError, "2 texts but 1 industries"),
        (["医院", "诊所", "医生"], ["health"] * 3, ModelError, "at least two"),
        (["医院", "诊所", "工厂"], ["health", "health", "factory"], ModelError, "'factory'"),
        (["医院", "诊所", "", "工厂"], ["h", "h", "f", "f"], ModelError, "'f'"),
        ("医院", ["health"], FeatureSchemaError, "single string"),
    ],
)
def test_bad_training_data_is_refused_with_the_culprit(
    texts: list[str], industries: list[str], error: type[Exception], message: str
) -> None:
    """Missing industries, too few customers per industry and bad shapes name what is wrong."""
    with pytest.raises(error, match=message):
        IndustryInferrer().fit(texts, industries)


def test_unknown_method_is_refused() -> None:
    """A method other than auto, centroid and logistic fails before fitting."""
    with pytest.raises(ModelError, match="'cosine' is not a method"):
        IndustryInferrer(method="cosine").fit(["a", "b", "c", "d"], ["x", "x", "y", "y"])  # type: ignore[arg-type]


# -- IndustryInferrer as an enricher ----------------------------------------------------


def test_enricher_accumulates_terms_and_sets_the_inferred_industry(
    inferrer: IndustryInferrer,
) -> None:
    """Searches and page views add their words to the lead's terms and set the inference."""
    lead = Lead("u1", profile={"industry": "retail"})
    first = inferrer.enrich(event("search", keyword="医院"), lead)
    assert first is not None
    assert first[INFERRED_INDUSTRY_TERMS] == "医院"
    assert first[INFERRED_INDUSTRY] == "healthcare"
    assert 0.5 <= first[INFERRED_INDUSTRY_CONFIDENCE] <= 1.0
    assert "industry" not in first
    lead.profile.update(first)
    view = event(
        "page_view",
        url="https://example.com/cases/hospital-campaign?x_field_1=tbbanner",
        title="Dental Clinic Poster",
        page="case_study",
    )
    second = inferrer.enrich(view, lead)
    assert second is not None
    assert second[INFERRED_INDUSTRY_TERMS].split("\n") == [
        "医院",
        "dental clinic poster",
        "case study",
        "cases hospital campaign",
    ]
    assert lead.profile["industry"] == "retail"


def test_enricher_ignores_other_events_and_empty_fields(inferrer: IndustryInferrer) -> None:
    """Events without text fields, or with empty ones, leave the profile alone."""
    lead = Lead("u1")
    assert inferrer.enrich(event("download", asset_id="a1"), lead) is None
    assert inferrer.enrich(event("search", keyword="  "), lead) is None
    assert inferrer.enrich(event("search", keyword=42), lead) is None


def test_terms_are_bounded_distinct_and_newest_last(inferrer: IndustryInferrer) -> None:
    """The profile keeps the newest max_terms distinct terms; a repeated term moves last."""
    inferrer.set_params(max_terms=3)
    lead = Lead("u1")
    for keyword in ["医院", "诊所", "医生", "体检", "诊所"]:
        result = inferrer.enrich(event("search", keyword=keyword), lead)
        assert result is not None
        lead.profile.update(result)
    assert lead.profile[INFERRED_INDUSTRY_TERMS] == "医生\n体检\n诊所"
    assert inferrer.enrich(event("search", keyword="诊所"), lead) is None


def test_reordering_known_terms_does_not_reinfer(inferrer: IndustryInferrer) -> None:
    """Searching a term the lead already has only moves it; the inference is not redone."""
    lead = Lead("u1")
    for keyword in ["医院", "诊所"]:
        lead.profile.update(inferrer.enrich(event("search", keyword=keyword), lead) or {})
    result = inferrer.enrich(event("search", keyword="医院"), lead)
    assert result == {INFERRED_INDUSTRY_TERMS: "诊所\n医院"}


def test_a_falling_confidence_clears_the_inference(inferrer: IndustryInferrer) -> None:
    """When new terms make the lead ambiguous, the inferred industry is reset to None."""
    lead = Lead("u1")
    lead.profile.update(inferrer.enrich(event("search", keyword="医院 体检"), lead) or {})
    assert lead.profile[INFERRED_INDUSTRY] == "healthcare"
    mixed = "工厂 生产线 海报模板 品牌推广"
    assert inferrer.infer("医院 体检\n" + mixed)[0] is None
    result = inferrer.enrich(event("search", keyword=mixed), lead)
    assert result is not None
    assert result[INFERRED_INDUSTRY] is None
    assert result[INFERRED_INDUSTRY_CONFIDENCE] is None


def test_text_fields_are_configurable(inferrer: IndustryInferrer) -> None:
    """text_fields maps the host's own event types to the data fields holding text."""
    inferrer.set_params(text_fields={"asset_viewed": ["asset_title"]})
    lead = Lead("u1")
    assert inferrer.enrich(event("search", keyword="医院"), lead) is None
    result = inferrer.enrich(event("asset_viewed", asset_title="医院 体检"), lead)
    assert result is not None
    assert result[INFERRED_INDUSTRY] == "healthcare"


# -- CompanyByIP -------------------------------------------------------------------------

CUSTOMER_IPS = pd.DataFrame(
    {
        "ip": [
            "203.0.113.0/24",
            "203.0.113.64/28",
            "203.0.113.70",
            "198.51.100.7",
            "2001:db8:1::/48",
            "2001:db8:1:2::/64",
            "192.0.2.0/24",
            "192.0.2.0/24",
            "100.64.0.0/16",
            "100.64.0.0/16",
        ],
        "company": [
            "Acme Media",
            "Beta Ads",
            "Gamma Studio",
            "Delta Print",
            "Epsilon Labs",
            "Zeta Clinic",
            "Eta Agency",
            "Theta School",
            "Iota Group",
            " iota   GROUP ",
        ],
    }
)


@pytest.fixture(scope="module")
def ip_model() -> CompanyByIP:
    return CompanyByIP().fit(CUSTOMER_IPS)


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.9", IPMatch("Acme Media", "network", "203.0.113.0/24")),
        ("203.0.113.65", IPMatch("Beta Ads", "network", "203.0.113.64/28")),
        ("203.0.113.70", IPMatch("Gamma Studio", "exact", "203.0.113.70/32")),
        ("203.0.113.80", IPMatch("Acme Media", "network", "203.0.113.0/24")),
        ("198.51.100.7", IPMatch("Delta Print", "exact", "198.51.100.7/32")),
        ("198.51.100.8", None),
        ("2001:db8:1:ffff::1", IPMatch("Epsilon Labs", "network", "2001:db8:1::/48")),
        ("2001:db8:1:2::99", IPMatch("Zeta Clinic", "network", "2001:db8:1:2::/64")),
        ("::ffff:198.51.100.7", IPMatch("Delta Print", "exact", "198.51.100.7/32")),
        ("198.51.100.7, 10.0.0.1", IPMatch("Delta Print", "exact", "198.51.100.7/32")),
        ("fe80::1%eth0", None),
        ("192.0.2.5", None),
        ("100.64.3.4", IPMatch("Iota Group", "network", "100.64.0.0/16")),
        ("not an ip", None),
        ("999.1.1.1", None),
    ],
)
def test_company_lookup(ip_model: CompanyByIP, ip: str, expected: IPMatch | None) -> None:
    """The most specific network wins; IPv6, mapped IPv4 and forwarded-for lists work."""
    assert ip_model.lookup(ip) == expected


def test_equally_specific_claims_of_two_companies_infer_nothing(ip_model: CompanyByIP) -> None:
    """A network claimed by two companies is ambiguous; one company spelled two ways is not."""
    assert ip_model.ambiguous_ == (("192.0.2.0/24", ("Eta Agency", "Theta School")),)
    assert ip_model.n_networks_ == 8


def test_batch_prediction_keeps_the_index(ip_model: CompanyByIP) -> None:
    """predict gives companies (None for no match); predict_with_match adds how it matched."""
    ips = pd.Series(["203.0.113.70", "8.8.8.8", "2001:db8:1::5"], index=["x", "y", "z"])
    assert ip_model.predict(ips).tolist() == ["Gamma Studio", None, "Epsilon Labs"]
    frame = ip_model.predict_with_match(ips)
    assert list(frame.index) == ["x", "y", "z"]
    assert frame["match"].tolist() == ["exact", None, "network"]


def test_ip_model_pickles_and_clones(ip_model: CompanyByIP) -> None:
    """A pickled model answers the same; a clone keeps the column names and nothing learned."""
    restored = pickle.loads(pickle.dumps(ip_model))
    ips = ["203.0.113.65", "2001:db8:1:2::99", "192.0.2.5", "8.8.8.8"]
    assert restored.predict(ips).tolist() == ip_model.predict(ips).tolist()
    fresh = clone(CompanyByIP(ip_column="address"))
    assert fresh.get_params() == {"ip_column": "address", "company_column": "company"}
    with pytest.raises(NotFittedError):
        fresh.lookup("203.0.113.65")


def test_fit_from_two_sequences() -> None:
    """fit(ips, companies) is the same as a frame with ip and company columns."""
    model = CompanyByIP().fit(["10.1.0.0/16", "10.1.2.3"], ["Big", "Small"])
    assert model.predict(["10.1.2.3", "10.1.9.9"]).tolist() == ["Small", "Big"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"ip": ["10.0.0.1", "10.0.0.300"], "company": ["A", "B"]}), "row 1"),
        (pd.DataFrame({"ip": ["10.0.0.0/33"], "company": ["A"]}), "'10.0.0.0/33'"),
        (pd.DataFrame({"ip": ["10.0.0.1/24"], "company": ["A"]}), "host bits"),
        (pd.DataFrame({"ip": [None], "company": ["A"]}), "row 0: ip is None"),
        (pd.DataFrame({"ip": ["10.0.0.1"], "company": ["  "]}), "every address needs"),
        (pd.DataFrame({"ip": ["10.0.0.1"], "name": ["A"]}), "no column 'company'"),
        (pd.DataFrame({"ip": ["x"], "company": ["A"]}, index=["cust-9"]), "row 'cust-9'"),
    ],
)
def test_bad_ip_data_names_the_row_and_the_value(frame: pd.DataFrame, message: str) -> None:
    """A malformed address, network or company fails the fit, naming the row and the value."""
    with pytest.raises(FeatureSchemaError, match=message) as info:
        CompanyByIP().fit(frame)
    assert info.value.column in {"ip", "company", None}


def test_fit_needs_companies_for_bare_addresses() -> None:
    """Addresses without companies (and no frame) are refused with the fix."""
    with pytest.raises(FeatureSchemaError, match="without companies"):
        CompanyByIP().fit(["10.0.0.1"])


networks = st.lists(
    st.tuples(st.integers(0, 255), st.integers(24, 32), st.sampled_from(["Acme", "Beta", "Gamma"])),
    min_size=1,
    max_size=12,
)


@given(entries=networks)
def test_lookup_equals_a_linear_scan_of_the_most_specific_network(
    entries: list[tuple[int, int, str]],
) -> None:
    """For every address the binary search answers what a scan for the longest prefix answers."""
    rows = [
        (ipaddress.ip_network(f"10.0.0.{host}/{prefix}", strict=False), company)
        for host, prefix, company in entries
    ]
    model = CompanyByIP().fit([str(net) for net, _ in rows], [company for _, company in rows])
    for last in range(256):
        address = ipaddress.ip_address(f"10.0.0.{last}")
        covering = [(net.prefixlen, company) for net, company in rows if address in net]
        expected = None
        if covering:
            longest = max(prefix for prefix, _ in covering)
            owners = {company for prefix, company in covering if prefix == longest}
            expected = owners.pop() if len(owners) == 1 else None
        assert model.predict([str(address)])[0] == expected


def test_company_enricher_sets_inferred_company_from_event_or_profile(
    ip_model: CompanyByIP,
) -> None:
    """data.ip (else the profile's ip) sets inferred_company and how it matched, once."""
    lead = Lead("u1", profile={"company": "Stated Ltd"})
    result = ip_model.enrich(event("page_view", ip="203.0.113.70"), lead)
    assert result == {INFERRED_COMPANY: "Gamma Studio", INFERRED_COMPANY_MATCH: "exact"}
    lead.profile.update(result)
    assert ip_model.enrich(event("page_view", ip="203.0.113.70"), lead) is None
    assert ip_model.enrich(event("page_view", ip="8.8.8.8"), lead) is None  # keeps the inference
    assert lead.profile["company"] == "Stated Ltd"
    from_profile = Lead("u2", profile={"ip": "2001:db8:1:2::1"})
    assert ip_model.enrich(event("download", lead="u2"), from_profile) == {
        INFERRED_COMPANY: "Zeta Clinic",
        INFERRED_COMPANY_MATCH: "network",
    }


def test_a_malformed_event_ip_is_ignored_and_counted(pm: LeadlifePluginManager) -> None:
    """A bad data.ip sets nothing and is counted; the event itself is applied."""
    model = CompanyByIP().fit(CUSTOMER_IPS)
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    engine.plugin_manager.register(InferredProfile(company=model))
    report = engine.ingest_many(
        [ev("page_view", ip="300.1.2.3"), ev("search", hours(1), keyword="x", ip=7)]
    )
    assert (report.accepted, report.failures) == (2, [])
    lead = engine.get("u1")
    assert lead.event_count == 2
    assert INFERRED_COMPANY not in lead.profile
    assert model.invalid_ips == 2


# -- CompanyEnquiries --------------------------------------------------------------------


def ingest_all(
    enquiries: CompanyEnquiries, events: list[Event], leads: dict[str, Lead] | None = None
) -> dict[str, Lead]:
    """Run events through the counter the way the engine does, applying what it returns."""
    leads = {} if leads is None else leads
    for item in events:
        lead = leads.setdefault(item.lead_id, Lead(item.lead_id))
        if isinstance(item.data.get("company"), str):
            lead.profile["company"] = item.data["company"]
        lead.profile.update(enquiries.enrich(item, lead) or {})
        lead.behaviour.record(item.type, item.at.timestamp(), 400)
    return leads


def test_distinct_enquiring_leads_are_counted_per_company() -> None:
    """Two leads of one company count 2 however often they enquire; spellings are merged."""
    counter = CompanyEnquiries()
    leads = ingest_all(
        counter,
        [
            event("form_submit", "a", company="Acme Media"),
            event("chat_started", "a"),
            event("chat_started", "a"),
            event("demo_requested", "b", company="  ACME   media "),
            event("form_submit", "c", company="Other Co"),
            event("page_view", "d", company="acme media"),
        ],
    )
    assert counter.count("Acme Media") == 2
    assert counter.counts() == {"acme media": 2, "other co": 1}
    assert leads["b"].profile[COMPANY_ENQUIRIES] == 2
    assert leads["d"].profile[COMPANY_ENQUIRIES] == 2  # did not enquire; its company did
    assert leads["a"].profile[COMPANY_ENQUIRIES] == 1  # catches up at its next event
    ingest_all(counter, [event("page_view", "a")], leads)
    assert leads["a"].profile[COMPANY_ENQUIRIES] == 2


def test_an_anonymous_enquiry_counts_once_the_company_is_known() -> None:
    """A lead that enquired before naming its company is counted when it does."""
    counter = CompanyEnquiries()
    leads = ingest_all(counter, [event("chat_started", "a")])
    assert COMPANY_ENQUIRIES not in leads["a"].profile
    ingest_all(counter, [event("page_view", "a", company="Acme")], leads)
    assert counter.count("acme") == 1
    assert leads["a"].profile[COMPANY_ENQUIRIES] == 1


def test_inferred_company_is_used_and_a_stated_one_beats_it() -> None:
    """Without a stated company the inferred one counts; stating one moves the lead."""
    counter = CompanyEnquiries()
    lead = Lead("a", profile={INFERRED_COMPANY: "Gamma Studio"})
    leads = ingest_all(counter, [event("chat_started", "a")], {"a": lead})
    assert counter.count("gamma studio") == 1
    ingest_all(counter, [event("form_submit", "a", company="Delta Print")], leads)
    assert counter.counts() == {"delta print": 1}


def test_same_event_ip_places_the_enquiry_with_ip_lookup(ip_model: CompanyByIP) -> None:
    """With ip_lookup an enquiry's own IP names the company at once."""
    counter = CompanyEnquiries(ip_lookup=ip_model)
    leads = ingest_all(counter, [event("chat_started", "a", ip="203.0.113.70")])
    assert leads["a"].profile[COMPANY_ENQUIRIES] == 1
    assert counter.count("Gamma Studio") == 1


def test_rebuilds_reproduce_the_live_counts(ip_model: CompanyByIP) -> None:
    """Rebuilding from stored leads or from the event log gives the counts seen live."""
    log = [
        event("chat_started", "a", ip="203.0.113.70"),
        event("form_submit", "b", company="gamma studio"),
        event("chat_started", "c"),
        event("page_view", "c", company="Other"),
        event("chat_started", "d", ip="8.8.8.8"),
        event("page_view", "e", company="Gamma Studio"),
    ]
    live = CompanyEnquiries(ip_lookup=ip_model)
    leads = ingest_all(live, log)
    for item in log:
        ip = item.data.get("ip")
        if isinstance(ip, str) and (match := ip_model.lookup(ip)):
            leads[item.lead_id].profile[INFERRED_COMPANY] = match.company
    from_leads = CompanyEnquiries().rebuild_from_leads(leads.values())
    from_log = CompanyEnquiries(ip_lookup=ip_model).rebuild(log)
    assert live.counts() == from_leads.counts() == from_log.counts()
    assert live.counts() == {"gamma studio": 2, "other": 1}
    assert repr(from_log) == (
        "CompanyEnquiries(enquiry_types=('form_submit', 'chat_started', 'demo_requested'), "
        "companies=2, enquiring_leads=4)"
    )


enquiry_logs = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(["form_submit", "chat_started", "page_view", "download"]),
        st.sampled_from([None, "Acme", " ACME ", "Beta", "Gamma"]),
    ),
    max_size=25,
)


@given(log=enquiry_logs)
def test_live_counts_equal_a_recount_from_scratch(log: list[tuple[str, str, str | None]]) -> None:
    """Live counts, a rebuild from the log, and a recount by latest company all agree."""
    events = [
        event(kind, lead, **({} if company is None else {"company": company}))
        for lead, kind, company in log
    ]
    live = CompanyEnquiries()
    ingest_all(live, events)
    latest: dict[str, str] = {}
    enquired = set()
    for lead, kind, company in log:
        if company is not None:
            latest[lead] = normalize_company(company)
        if kind in ("form_submit", "chat_started"):
            enquired.add(lead)
    expected: dict[str, int] = {}
    for lead in enquired & set(latest):
        expected[latest[lead]] = expected.get(latest[lead], 0) + 1
    assert live.counts() == expected
    assert CompanyEnquiries().rebuild(events + events).counts() == expected


def test_normalize_company() -> None:
    """Company keys ignore case, repeated spaces and full-width forms."""
    full_width = "  \uff21\uff23\uff2d\uff25   Media "  # "ACME" in full-width forms
    assert normalize_company(full_width) == normalize_company("acme media")


# -- through the engine ------------------------------------------------------------------


def make_engine(
    pm: LeadlifePluginManager, fitted: IndustryInferrer
) -> tuple[leadlife.Engine, CompanyEnquiries]:
    enquiries = CompanyEnquiries()
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    engine.plugin_manager.register(
        InferredProfile(
            industry=copy.deepcopy(fitted),
            company=CompanyByIP().fit(CUSTOMER_IPS),
            enquiries=enquiries,
        )
    )
    return engine, enquiries


def test_one_line_registers_all_three(pm: LeadlifePluginManager, fitted: IndustryInferrer) -> None:
    """InferredProfile registers the industry, company and enquiry enrichers it was given."""
    engine, enquiries = make_engine(pm, fitted)
    engine.ingest(ev("page_view"))
    names = [enricher.name for _, enricher in engine.enrichers]
    assert names == ["inferred_industry", "inferred_company", "company_enquiries"]
    assert enquiries.ip_lookup is not None  # wired to the company enricher


def test_profile_fields_are_set_after_ingest(
    pm: LeadlifePluginManager, fitted: IndustryInferrer
) -> None:
    """Searches, views and enquiries through a real engine fill every inferred field."""
    engine, enquiries = make_engine(pm, fitted)
    report = engine.ingest_many(
        [
            ev("page_view", lead="u1", ip="203.0.113.66", title="Hospital campaign"),
            ev("search", hours(1), lead="u1", keyword="体检 牙科"),
            ev("form_submit", hours(2), lead="u1", industry="retail", phone="+8613800138000"),
            ev("chat_started", hours(3), lead="u2", ip="203.0.113.99"),
            ev("page_view", hours(4), lead="u1", ip="203.0.113.66"),
        ]
    )
    assert (report.accepted, report.failures) == (5, [])
    lead = engine.get("u1")
    assert lead.profile["industry"] == "retail"  # stated by the lead, never overwritten
    assert lead.profile[INFERRED_INDUSTRY] == "healthcare"
    assert lead.profile[INFERRED_INDUSTRY_CONFIDENCE] >= 0.5
    assert lead.profile[INFERRED_COMPANY] == "Beta Ads"
    assert lead.profile[INFERRED_COMPANY_MATCH] == "network"
    assert lead.profile[COMPANY_ENQUIRIES] == 1
    assert engine.get("u2").profile[COMPANY_ENQUIRIES] == 1
    assert enquiries.count("beta ads") == 1  # u2 is at Acme Media's /24, outside the /28
    assert enquiries.count("acme media") == 1


def test_duplicate_events_do_not_count_twice(
    pm: LeadlifePluginManager, fitted: IndustryInferrer
) -> None:
    """Sending an enquiry again (same id) or a second enquiry of the same lead counts once."""
    engine, enquiries = make_engine(pm, fitted)
    chat = ev("chat_started", lead="u1", event_id="chat-1", ip="198.51.100.7")
    report = engine.ingest_many(
        [chat, chat, ev("demo_requested", hours(1), lead="u1", ip="198.51.100.7")]
    )
    assert (report.accepted, report.duplicates) == (2, 1)
    assert enquiries.count("Delta Print") == 1
    assert engine.get("u1").profile[COMPANY_ENQUIRIES] == 1


def test_a_failing_enricher_loses_no_event(pm: LeadlifePluginManager) -> None:
    """An unfitted model raises; the failure is recorded and the others still enrich."""
    engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
    engine.plugin_manager.register(
        InferredProfile(industry=IndustryInferrer(), company=CompanyByIP().fit(CUSTOMER_IPS))
    )
    report = engine.ingest_many([ev("search", keyword="医院", ip="198.51.100.7")])
    assert report.accepted == 1
    assert [(f.hook, f.error_type) for f in report.failures] == [
        ("enricher inferred_industry", "NotFittedError")
    ]
    lead = engine.get("u1")
    assert lead.profile[INFERRED_COMPANY] == "Delta Print"
    assert lead.behaviour.total("search") == 1


def test_the_plugin_registers_only_what_it_was_given() -> None:
    """Enrichers left out are not registered; the repr says which are there."""
    registered: list[object] = []
    register: Callable[[object], None] = registered.append
    plugin = InferredProfile(enquiries=CompanyEnquiries())
    plugin.leadlife_register_enrichers(register)
    assert [type(item).__name__ for item in registered] == ["CompanyEnquiries"]
    assert repr(plugin) == "InferredProfile(enquiries)"


def test_a_late_enquiry_does_not_move_a_lead_to_its_older_company() -> None:
    """Regression: a late, older form naming another company moved the live count to
    it, though the profile kept the newer company; rebuild(events) took the log's
    order, not event time."""
    engine = leadlife.Engine(clock=leadlife.FixedClock(T0))
    enquiries = CompanyEnquiries()
    engine.plugin_manager.register(InferredProfile(enquiries=enquiries))
    engine.ingest(ev("form_submit", hours(24), company="Acme", event_id="new"))
    engine.ingest(ev("form_submit", company="Beta", event_id="old"))  # arrives late
    assert engine.get("u1").profile["company"] == "Acme"
    assert enquiries.counts() == {"acme": 1}
    assert CompanyEnquiries().rebuild_from_leads(engine.storage.leads()).counts() == {"acme": 1}
    assert CompanyEnquiries().rebuild(engine.storage.events()).counts() == {"acme": 1}
