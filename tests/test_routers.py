"""The built-in routers, their name and network helpers, and their configuration checks."""

from __future__ import annotations

import ipaddress
import random
import subprocess
import sys
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadlife.errors import RoutingConfigError
from leadlife.lead import Lead
from leadlife.networks import (
    NetworkTable,
    find_overlaps,
    format_address,
    parse_address,
    parse_network,
)
from leadlife.routing.accounts import ExistingAccountRouter
from leadlife.routing.business_line import BusinessLineRouter, size_number
from leadlife.routing.config import (
    BusinessLineSpec,
    ExistingAccountSpec,
    FallbackSpec,
    RegionSpec,
)
from leadlife.routing.decision import RouteDecision, Router
from leadlife.routing.fallback import FallbackRouter
from leadlife.routing.names import normalize_company
from leadlife.routing.region import CidrTable, PhoneGeocoder, RegionRouter, geocode

ACCOUNTS = "routers.existing_account.accounts"
REGIONS = "routers.region.regions"


def lead(**profile: Any) -> Lead:
    """A lead whose profile is exactly ``profile``."""
    item = Lead("u1")
    item.profile.update(profile)
    return item


def fullwidth(text: str) -> str:
    """``text`` in full-width forms, as Chinese input methods type it."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in text)


def decided(decision: RouteDecision | str | None) -> RouteDecision:
    assert isinstance(decision, RouteDecision)
    return decision


# -- networks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.7", (4, 0xCB007107)),
        (" 203.0.113.7 ", (4, 0xCB007107)),
        ("203.0.113.7, 10.0.0.1", (4, 0xCB007107)),
        ("::ffff:203.0.113.7", (4, 0xCB007107)),
        ("2001:db8::1", (6, 0x20010DB8 << 96 | 1)),
        ("fe80::1%eth0", (6, 0xFE80 << 112 | 1)),
        ("203.0.113.256", None),
        ("010.0.0.1", None),
        ("not an ip", None),
        ("", None),
        ("1.2.3.4\x00", None),
        (7, None),
        (None, None),
    ],
)
def test_parse_address(text: Any, expected: tuple[int, int] | None) -> None:
    """Addresses parse as logged (forwarded-for lists, zones, mapped IPv4); junk gives None."""
    assert parse_address(text) == expected


def test_format_address_inverts_parse_address() -> None:
    """format_address writes back the address parse_address read."""
    for text in ("203.0.113.7", "2001:db8::1"):
        parsed = parse_address(text)
        assert parsed is not None
        assert format_address(*parsed) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.7", "203.0.113.7/32"),
        (" 203.0.113.0/24 ", "203.0.113.0/24"),
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("2001:db8::/32", "2001:db8::/32"),
    ],
)
def test_parse_network(text: str, expected: str) -> None:
    """Addresses become one-address networks; mapped IPv6 networks become IPv4 ones."""
    assert str(parse_network(text)) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.0.0.1/24", "host bits set"),
        ("10.0.0.0/33", "not an IP address or CIDR network"),
        ("acme", "not an IP address or CIDR network"),
        ("", "not an IP address"),
        (42, "not an IP address"),
    ],
)
def test_parse_network_says_what_is_wrong(text: Any, words: str) -> None:
    """A bad network raises ValueError with the value and what is wrong with it."""
    with pytest.raises(ValueError, match=words):
        parse_network(text)


def test_network_table_most_specific_wins() -> None:
    """An address gets the label of the narrowest network containing it, per IP version."""
    table = NetworkTable(
        [
            ("10.0.0.0/8", "wide"),
            ("10.1.0.0/16", "mid"),
            ("10.1.2.0/28", "narrow"),
            ("2001:db8::/32", "six"),
        ]
    )
    assert table.lookup("10.9.9.9") == "wide"
    assert table.lookup("10.1.9.9") == "mid"
    assert table.lookup("10.1.2.3") == "narrow"
    assert table.lookup("10.1.2.16") == "mid"
    assert table.lookup("11.0.0.0") is None
    assert table.lookup("2001:db8:5::1") == "six"
    assert table.lookup("::ffff:10.1.2.3") == "narrow"
    assert table.lookup("junk") is None
    assert len(table) == 4


def test_network_table_refuses_the_same_network_twice() -> None:
    """Two labels for one network are refused; an address is the same as its /32."""
    with pytest.raises(ValueError, match="listed twice"):
        NetworkTable([("10.0.0.7", "a"), ("10.0.0.7/32", "b")])


def test_find_overlaps_tells_identical_from_nested() -> None:
    """Overlaps are pairs of indexes, flagged identical or nested; disjoint ones are absent."""
    nets = [parse_network(n) for n in ("10.0.0.0/8", "10.1.0.0/16", "11.0.0.0/8", "10.0.0.0/8")]
    assert [tuple(o) for o in find_overlaps(nets)] == [
        (0, 1, False),
        (0, 3, True),
        (1, 3, False),
    ]


ipv4_networks = st.builds(
    lambda host, prefix: ipaddress.ip_network(f"10.0.{host >> 8}.{host & 255}/{prefix}", False),
    st.integers(0, 1023),
    st.integers(20, 32),
)


@given(nets=st.lists(ipv4_networks, max_size=12, unique=True), hosts=st.lists(st.integers(0, 4095)))
def test_network_table_equals_a_scan_for_the_longest_prefix(
    nets: list[ipaddress.IPv4Network], hosts: list[int]
) -> None:
    """For any distinct networks and addresses, the lookup is the longest-prefix scan's answer."""
    table = NetworkTable((net, index) for index, net in enumerate(nets))
    for host in hosts:
        address = ipaddress.ip_address(f"10.0.{host >> 8}.{host & 255}")
        covering = [(net.prefixlen, index) for index, net in enumerate(nets) if address in net]
        expected = max(covering)[1] if covering else None
        assert table.lookup(str(address)) == expected


@given(nets=st.lists(ipv4_networks, max_size=12))
def test_find_overlaps_equals_a_pairwise_check(nets: list[ipaddress.IPv4Network]) -> None:
    """find_overlaps lists exactly the pairs ipaddress says overlap."""
    expected = [
        (i, j, nets[i] == nets[j])
        for i in range(len(nets))
        for j in range(i + 1, len(nets))
        if nets[i].overlaps(nets[j])
    ]
    assert [tuple(o) for o in find_overlaps(nets)] == expected


# -- company names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ["Acme Media Co., Ltd.", "ACME MEDIA LTD", "acme media", " Acme  Media,  Inc. "],
        ["北京字节跳动科技有限公司", "北京字节跳动科技", "北京 字节跳动 科技 有限责任公司"],
        [f"字节跳动{fullwidth('(')}北京{fullwidth(')')}科技有限公司", "字节跳动(北京)科技"],
        ["海尔集团公司", "海尔集团", "海尔"],
        ["Müller GmbH & Co. KG", "MÜLLER GMBH"],
        ["Acme S.A.", "Acme SA", "acme"],
        [fullwidth("ACME Media"), "acme media"],
        [fullwidth("Acme Media Co., Ltd."), "Acme Media"],
        ["A.B.C. Media Pte. Ltd.", "ABC Media"],
    ],
)
def test_spellings_of_one_company_share_a_key(names: list[str]) -> None:
    """Case, full-width forms, punctuation, spacing and legal suffixes do not change the key."""
    assert len({normalize_company(name) for name in names}) == 1


def test_different_companies_keep_different_keys() -> None:
    """Words that are not legal forms stay: the name's own words tell companies apart."""
    keys = {normalize_company(n) for n in ("Acme Media", "Acme Print", "Notacme Media", "Acme")}
    assert len(keys) == 4


def test_a_branch_is_not_its_parent() -> None:
    """分公司 is kept: a branch's name does not reduce to its parent company's."""
    assert normalize_company("字节跳动上海分公司") == "字节跳动上海分公司"
    assert normalize_company("字节跳动上海分公司") != normalize_company("字节跳动")


@pytest.mark.parametrize("name", ["Ltd.", "Co., Ltd.", "有限公司", "  ", fullwidth("()"), "Inc"])
def test_a_name_of_only_suffixes_gives_the_empty_key(name: str) -> None:
    """A name with nothing but legal forms and punctuation gives "" (which callers skip)."""
    assert normalize_company(name) == ""


def test_normalize_company_is_cached() -> None:
    """normalize_company is an lru_cache: repeated names cost a dictionary look-up."""
    normalize_company("Cached Name Ltd")
    before = normalize_company.cache_info().hits
    normalize_company("Cached Name Ltd")
    assert normalize_company.cache_info().hits == before + 1


company_text = st.text(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list(" .,()&-_ltdcoincgmbh有限公司集团分、" + fullwidth("(),"))),
    ),
    max_size=30,
)


@given(name=company_text)
def test_normalize_company_is_idempotent(name: str) -> None:
    """Normalizing a key gives the key."""
    key = normalize_company(name)
    assert normalize_company(key) == key


@given(name=company_text, suffix=st.sampled_from([" Ltd.", " Co., Ltd.", "有限公司", " GmbH"]))
def test_a_legal_suffix_never_changes_the_key(name: str, suffix: str) -> None:
    """Adding a legal suffix to a name's key gives the same key."""
    key = normalize_company(name)
    assert normalize_company(key + suffix) == key


# -- existing accounts ------------------------------------------------------------------


def account_router(*accounts: dict[str, Any], **spec: Any) -> ExistingAccountRouter:
    return ExistingAccountRouter(
        ExistingAccountSpec.model_validate({"accounts": list(accounts), **spec})
    )


ACME = {
    "id": "acme",
    "owner": "rep01",
    "names": ["Acme Media Co., Ltd."],
    "domains": ["acme.com"],
    "networks": ["203.0.113.0/24"],
}
ACME_SH = {
    "id": "acme-sh",
    "parent": "acme",
    "names": ["Acme Media Shanghai"],
    "domains": ["sh.acme.com"],
    "networks": ["203.0.113.64/28"],
}
BETA = {
    "id": "beta",
    "owner": "rep02",
    "names": ["Beta Ads"],
    "domains": ["beta.cn"],
    "networks": ["198.51.100.0/24"],
}


@pytest.fixture(scope="module")
def accounts() -> ExistingAccountRouter:
    return account_router(ACME, ACME_SH, BETA, team="ka")


def test_existing_account_router_answers_the_router_protocol(
    accounts: ExistingAccountRouter,
) -> None:
    """The router has the protocol's name and route."""
    assert isinstance(accounts, Router)
    assert accounts.name == "existing_account"


@pytest.mark.parametrize(
    ("profile", "account", "matched_by", "value"),
    [
        ({"account_id": "beta"}, "beta", "account_id", "beta"),
        ({"email": "ann@acme.com", "email_valid": True}, "acme", "domain", "acme.com"),
        ({"company": "ACME MEDIA LTD"}, "acme", "name", "ACME MEDIA LTD"),
        ({"ip": "203.0.113.9"}, "acme", "ip", "203.0.113.9"),
    ],
)
def test_each_kind_of_evidence_finds_the_account(
    accounts: ExistingAccountRouter,
    profile: dict[str, Any],
    account: str,
    matched_by: str,
    value: str,
) -> None:
    """A linked id, an e-mail domain, a company name or an IP alone finds the account."""
    decision = decided(accounts.route(lead(**profile)))
    assert decision.router == "existing_account"
    assert decision.owner == {"acme": "rep01", "beta": "rep02"}[account]
    assert decision.team == "ka"
    assert decision.evidence["account"] == account
    assert decision.evidence["matched_by"] == matched_by
    assert decision.evidence["value"] == value
    assert decision.evidence["conflicts"] == []


def test_the_reason_names_the_evidence_the_account_and_the_owner(
    accounts: ExistingAccountRouter,
) -> None:
    """The reason reads like the brief: which domain, which account, which owner."""
    decision = decided(accounts.route(lead(email="ann@acme.com")))
    assert decision.reason == "e-mail domain acme.com belongs to account acme (owner rep01)"


@pytest.mark.parametrize(
    ("email", "account"),
    [
        ("ann@acme.com", "acme"),
        ("ann@mail.acme.com", "acme"),
        ("ann@sh.acme.com", "acme-sh"),
        ("ann@x.sh.acme.com", "acme-sh"),
        ("ann@notacme.com", None),
        ("ann@acme.com.cn", None),
        ("ann@ACME.COM", "acme"),
        ("ann@acme.com.", "acme"),
    ],
)
def test_domains_match_label_by_label_and_the_most_specific_wins(
    accounts: ExistingAccountRouter, email: str, account: str | None
) -> None:
    """A subdomain matches its listed parent domain; a look-alike domain does not."""
    decision = accounts.route(lead(email=email, email_valid=True))
    assert (None if decision is None else decision.evidence["account"]) == account


def test_a_sub_department_goes_to_its_customers_owner(accounts: ExistingAccountRouter) -> None:
    """An account without an owner uses its parent's, and the reason says so."""
    decision = decided(accounts.route(lead(email="li@sh.acme.com")))
    assert decision.owner == "rep01"
    assert decision.evidence["account"] == "acme-sh"
    assert decision.evidence["owner_account"] == "acme"
    assert "acme-sh, a department of acme (owner rep01)" in decision.reason


def test_owners_are_inherited_through_several_levels() -> None:
    """The nearest ancestor with an owner owns a department's leads; an own owner wins."""
    router = account_router(
        {"id": "top", "owner": "boss", "domains": ["top.com"]},
        {"id": "mid", "parent": "top", "domains": ["mid.top.com"]},
        {"id": "low", "parent": "mid", "domains": ["low.mid.top.com"]},
        {"id": "own", "parent": "mid", "owner": "solo", "domains": ["own.mid.top.com"]},
    )
    assert decided(router.route(lead(email="a@low.mid.top.com"))).owner == "boss"
    assert decided(router.route(lead(email="a@own.mid.top.com"))).owner == "solo"


def test_nested_networks_of_two_accounts_most_specific_wins(
    accounts: ExistingAccountRouter,
) -> None:
    """A branch's /28 inside its customer's /24 takes the branch's addresses only."""
    assert decided(accounts.route(lead(ip="203.0.113.70"))).evidence["account"] == "acme-sh"
    assert decided(accounts.route(lead(ip="203.0.113.80"))).evidence["account"] == "acme"
    assert accounts.route(lead(ip="192.0.2.1")) is None


@pytest.mark.parametrize(
    ("profile", "winner", "outranked"),
    [
        (
            {"account_id": "beta", "email": "ann@acme.com", "company": "Acme Media"},
            ("beta", "account_id"),
            [("acme", "domain"), ("acme", "name")],
        ),
        (
            {"email": "ann@beta.cn", "company": "Acme Media", "ip": "203.0.113.9"},
            ("beta", "domain"),
            [("acme", "name"), ("acme", "ip")],
        ),
        (
            {"company": "Beta Ads", "ip": "203.0.113.9"},
            ("beta", "name"),
            [("acme", "ip")],
        ),
        (
            {"email": "ann@sh.acme.com", "ip": "203.0.113.9"},
            ("acme-sh", "domain"),
            [("acme", "ip")],
        ),
    ],
)
def test_conflicting_evidence_the_higher_kind_decides_and_the_others_are_named(
    accounts: ExistingAccountRouter,
    profile: dict[str, Any],
    winner: tuple[str, str],
    outranked: list[tuple[str, str]],
) -> None:
    """account_id > domain > name > ip; outranked evidence is listed as conflicts."""
    decision = decided(accounts.route(lead(**profile)))
    assert (decision.evidence["account"], decision.evidence["matched_by"]) == winner
    conflicts = decision.evidence["conflicts"]
    assert [(c["account"], c["matched_by"]) for c in conflicts] == outranked
    assert "conflicts, outranked" in decision.reason
    for account, _ in outranked:
        assert f"points at account {account}" in decision.reason


def test_agreeing_evidence_is_no_conflict(accounts: ExistingAccountRouter) -> None:
    """Several kinds of evidence naming the same account give no conflicts."""
    decision = decided(
        accounts.route(
            lead(account_id="acme", email="a@acme.com", company="Acme", ip="203.0.113.1")
        )
    )
    assert decision.evidence["conflicts"] == []
    assert "conflicts" not in decision.reason


def test_no_team_configured_gives_an_owner_only_decision() -> None:
    """Without spec.team the decision carries the owner and no team."""
    decision = decided(account_router(ACME).route(lead(company="Acme Media")))
    assert (decision.owner, decision.team) == ("rep01", None)


def test_free_mail_addresses_and_unknown_leads_pass(accounts: ExistingAccountRouter) -> None:
    """A gmail address or a lead with no known evidence passes to the next router."""
    assert accounts.route(lead(email="acme@gmail.com", company="Unknown", ip="8.8.8.8")) is None
    assert accounts.route(lead()) is None


@pytest.mark.parametrize(
    "profile",
    [
        {"account_id": ["acme"]},
        {"account_id": None},
        {"account_id": True},
        {"account_id": "nobody"},
        {"email": 42},
        {"email": "ann@acme.com", "email_valid": False},
        {"email": "acme.com"},
        {"email": "ann@"},
        {"company": 123},
        {"company": "Ltd."},
        {"company": ""},
        {"ip": 3405803785},
        {"ip": "203.0.113"},
        {"ip": ["203.0.113.9"]},
    ],
)
def test_junk_profile_values_match_nothing(
    accounts: ExistingAccountRouter, profile: dict[str, Any]
) -> None:
    """Wrong types, invalid e-mails and suffix-only names are skipped, never raised on."""
    assert accounts.route(lead(**profile)) is None


def test_a_numeric_account_id_matches_its_text() -> None:
    """An integer account_id in the profile matches the account id written as text."""
    router = account_router({"id": "1042", "owner": "rep01"})
    assert decided(router.route(lead(account_id=1042))).owner == "rep01"


def test_repeats_within_one_account_are_harmless() -> None:
    """The same domain, name or network listed twice for one account is accepted."""
    router = account_router(
        {
            "id": "acme",
            "owner": "rep01",
            "domains": ["acme.com", "ACME.com"],
            "names": ["Acme", "Acme Ltd"],
            "networks": ["10.0.0.1", "10.0.0.1/32"],
        }
    )
    assert decided(router.route(lead(ip="10.0.0.1"))).owner == "rep01"


@pytest.mark.parametrize(
    ("accounts", "path", "words"),
    [
        (
            [{"id": "a", "owner": "r"}, {"id": "a", "owner": "s"}],
            f"{ACCOUNTS}.1.id",
            "defined twice",
        ),
        (
            [
                {"id": "a", "owner": "r", "domains": ["acme.com"]},
                {"id": "b", "owner": "s", "domains": ["x.com", "Acme.com"]},
            ],
            f"{ACCOUNTS}.1.domains.1",
            f"at {ACCOUNTS}.0.domains.0",
        ),
        (
            [{"id": "a", "owner": "r", "domains": ["gmail.com"]}],
            f"{ACCOUNTS}.0.domains.0",
            "free-mail",
        ),
        (
            [{"id": "a", "owner": "r", "domains": ["acme.com", "vip.qq.com"]}],
            f"{ACCOUNTS}.0.domains.1",
            "free-mail",
        ),
        (
            [{"id": "a", "owner": "r", "domains": ["163.com"]}],
            f"{ACCOUNTS}.0.domains.0",
            "free-mail",
        ),
        (
            [{"id": "a", "owner": "r", "domains": ["ann@acme.com"]}],
            f"{ACCOUNTS}.0.domains.0",
            "not an e-mail domain",
        ),
        (
            [{"id": "a", "owner": "r", "domains": ["com"]}],
            f"{ACCOUNTS}.0.domains.0",
            "not an e-mail domain",
        ),
        (
            [{"id": "a", "owner": "r", "domains": ["com.cn"]}],
            f"{ACCOUNTS}.0.domains.0",
            "registry suffix",
        ),
        (
            [{"id": "a", "owner": "r", "domains": ["-acme.com"]}],
            f"{ACCOUNTS}.0.domains.0",
            "not an e-mail domain",
        ),
        (
            [
                {"id": "a", "owner": "r", "names": ["Acme Media Co., Ltd."]},
                {"id": "b", "owner": "s", "names": ["ACME MEDIA"]},
            ],
            f"{ACCOUNTS}.1.names.0",
            "also a name of account 'a'",
        ),
        (
            [{"id": "a", "owner": "r", "names": ["Co., Ltd."]}],
            f"{ACCOUNTS}.0.names.0",
            "legal suffix",
        ),
        (
            [
                {"id": "a", "owner": "r", "networks": ["10.0.0.0/8"]},
                {"id": "b", "owner": "s", "networks": ["10.0.0.0/8"]},
            ],
            f"{ACCOUNTS}.1.networks.0",
            f"at {ACCOUNTS}.0.networks.0",
        ),
        (
            [
                {"id": "a", "owner": "r", "networks": ["10.0.0.7"]},
                {"id": "b", "owner": "s", "networks": ["10.0.0.7/32"]},
            ],
            f"{ACCOUNTS}.1.networks.0",
            "listed for account 'a'",
        ),
        (
            [{"id": "a", "owner": "r", "networks": ["10.0.0.1/8"]}],
            f"{ACCOUNTS}.0.networks.0",
            "host bits",
        ),
        (
            [{"id": "a", "owner": "r", "networks": ["office"]}],
            f"{ACCOUNTS}.0.networks.0",
            "not an IP address",
        ),
        (
            [{"id": "a", "owner": "r"}, {"id": "b", "parent": "nobody"}],
            f"{ACCOUNTS}.1.parent",
            "'nobody', which is not an account",
        ),
        (
            [{"id": "a", "owner": "r", "parent": "ghost"}],
            f"{ACCOUNTS}.0.parent",
            "not an account",
        ),
        (
            [{"id": "a", "parent": "b"}, {"id": "b", "parent": "a"}],
            f"{ACCOUNTS}.0.parent",
            "cycle (a -> b -> a)",
        ),
        (
            [{"id": "a", "owner": "r", "parent": "b"}, {"id": "b", "owner": "s", "parent": "a"}],
            f"{ACCOUNTS}.0.parent",
            "cycle",
        ),
        (
            [{"id": "a", "parent": "a"}],
            f"{ACCOUNTS}.0.parent",
            "cycle (a -> a)",
        ),
    ],
)
def test_bad_account_config_is_refused_with_its_path(
    accounts: list[dict[str, Any]], path: str, words: str
) -> None:
    """Duplicates across accounts, bad domains, names, networks and parents name their path."""
    spec = ExistingAccountSpec.model_validate({"accounts": accounts})
    with pytest.raises(RoutingConfigError) as info:
        ExistingAccountRouter(spec, source="routing.toml")
    assert info.value.path == path
    assert words in str(info.value)
    assert info.value.source == "routing.toml"
    assert info.value.fix


def test_account_errors_use_the_given_path() -> None:
    """The path prefix passed to the router is the one errors name."""
    spec = ExistingAccountSpec.model_validate({"accounts": [{"id": "a", "parent": "x"}]})
    with pytest.raises(RoutingConfigError) as info:
        ExistingAccountRouter(spec, path="custom")
    assert info.value.path == "custom.accounts.0.parent"


labels = st.sampled_from(["a", "b", "acme", "x-y", "cn", "io"])
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)


@given(
    listed=st.dictionaries(domains, st.sampled_from(["p", "q", "r"]), min_size=1, max_size=8),
    email=domains,
)
def test_domain_matching_equals_a_brute_force_check(listed: dict[str, str], email: str) -> None:
    """The account is the owner of the longest listed domain the address is in, label-wise."""
    router = account_router(
        *(
            {"id": f"{owner}{index}", "owner": owner, "domains": [domain]}
            for index, (domain, owner) in enumerate(listed.items())
        )
    )
    inside = [d for d in listed if email == d or email.endswith("." + d)]
    expected = None
    if inside:
        longest = max(inside, key=len)
        expected = f"{listed[longest]}{list(listed).index(longest)}"
    decision = router.route(lead(email=f"ann@{email}"))
    assert (None if decision is None else decision.evidence["account"]) == expected


# -- business line ----------------------------------------------------------------------


def business_line(**spec: Any) -> BusinessLineRouter:
    values = {
        "key_account_team": "ka",
        "long_tail_team": "tail",
        "min_registered_capital": 5_000_000,
        "min_employees": 200,
        **spec,
    }
    return BusinessLineRouter(BusinessLineSpec.model_validate(values))


@pytest.mark.parametrize(
    ("profile", "team"),
    [
        ({"registered_capital": 5_000_000}, "ka"),
        ({"registered_capital": 4_999_999.5}, "tail"),
        ({"employees": 200}, "ka"),
        ({"employees": 12}, "tail"),
        ({"registered_capital": 100, "employees": 500}, "ka"),
        ({"registered_capital": 9e9, "employees": 3}, "ka"),
        ({"registered_capital": "5000000"}, "ka"),
        ({"registered_capital": "5,000,000"}, "ka"),
        ({"employees": " 350 "}, "ka"),
        ({"registered_capital": "1e5"}, "tail"),
        ({"sme": True, "registered_capital": 9e9}, "tail"),
        ({"sme": True}, "tail"),
        ({"sme": False, "employees": 5}, "tail"),
        ({"sme": False, "employees": 500}, "ka"),
    ],
)
def test_business_line_splits_by_size(profile: dict[str, Any], team: str) -> None:
    """SME → long tail; capital or head count at a threshold → KA; known and below → long tail."""
    decision = decided(business_line().route(lead(**profile)))
    assert decision.team == team
    assert decision.evidence["segment"] == ("key_account" if team == "ka" else "long_tail")
    assert decision.router == "business_line"


@pytest.mark.parametrize(
    "profile",
    [
        {},
        {"sme": False},
        {"sme": "yes"},
        {"registered_capital": "lots"},
        {"registered_capital": -5},
        {"registered_capital": float("nan")},
        {"registered_capital": "inf"},
        {"registered_capital": True},
        {"employees": None},
        {"employees": [300]},
        {"registered_capital": 10**400},
    ],
)
def test_business_line_cannot_decide_without_size(profile: dict[str, Any]) -> None:
    """No usable size and no SME tag: None, the lead waits for enrichment or the next router."""
    assert business_line().route(lead(**profile)) is None


def test_only_configured_thresholds_count() -> None:
    """A head count says nothing when only a capital threshold is configured."""
    router = business_line(min_employees=None)
    assert router.route(lead(employees=10_000)) is None
    assert decided(router.route(lead(registered_capital=1))).team == "tail"


def test_the_long_tail_passes_without_a_long_tail_team() -> None:
    """With no long_tail_team, small companies pass to the next router; KA still decides."""
    router = business_line(long_tail_team=None)
    assert router.route(lead(sme=True)) is None
    assert router.route(lead(employees=3)) is None
    assert decided(router.route(lead(employees=3000))).team == "ka"


def test_business_line_reasons_name_the_value_and_threshold() -> None:
    """The reason states the size, the threshold and the team."""
    router = business_line()
    ka = decided(router.route(lead(registered_capital="8000000", employees=30)))
    assert ka.reason == ("registered capital 8,000,000 is at least 5,000,000: key-account team ka")
    tail = decided(router.route(lead(registered_capital=100_000, employees=30)))
    assert tail.reason == (
        "registered capital 100,000 is below 5,000,000 and 30 employees is below 200: "
        "long-tail team tail"
    )
    assert "SME" in decided(router.route(lead(sme=True))).reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5.0), ("5_000", 5000.0), (" 7.5 ", 7.5), ("", None), (b"5", None), (-1, None)],
)
def test_size_number(value: Any, expected: float | None) -> None:
    """Sizes are non-negative finite numbers or numeric strings; the rest is unknown."""
    assert size_number(value) == expected


# -- region -----------------------------------------------------------------------------


def region_router(*regions: dict[str, Any], **spec: Any) -> RegionRouter:
    return RegionRouter(RegionSpec.model_validate({"regions": list(regions), **spec}))


EAST = {"team": "east", "places": ["Jiangsu", "Shanghai"], "networks": ["10.1.0.0/16"]}
NORTH = {"team": "north", "places": ["Beijing", "Changzhou, Jiangsu"]}
WEST = {"team": "west", "places": ["San Francisco, CA", "Changzhou"]}
CHINA = {"team": "china", "places": ["CN"], "networks": ["10.2.0.0/16"]}
USA = {"team": "usa", "places": ["us"]}


def test_cidr_table_looks_up_the_team() -> None:
    """A CidrTable answers the team of the network containing an address."""
    table = CidrTable([("10.1.0.0/16", "east"), ("2001:db8::/32", "west")])
    assert table.region("10.1.200.3") == "east"
    assert table.match("10.1.200.3") == ("east", "10.1.0.0/16")
    assert table.region("2001:db8::9") == "west"
    assert table.region("10.3.0.1") is None
    assert table.region("nonsense") is None


@pytest.mark.parametrize(
    ("regions", "path", "words"),
    [
        (
            [{"team": "a", "networks": ["10.0.0.0/8"]}, {"team": "b", "networks": ["10.1.0.0/16"]}],
            f"{REGIONS}.1.networks.0",
            f"overlaps 10.0.0.0/8 at {REGIONS}.0.networks.0",
        ),
        (
            [{"team": "a", "networks": ["10.0.0.0/8", "10.0.0.0/8"]}],
            f"{REGIONS}.0.networks.1",
            f"same network as 10.0.0.0/8 at {REGIONS}.0.networks.0",
        ),
        (
            [{"team": "a", "networks": ["10.1.0.0/16"]}, {"team": "b", "networks": ["10.0.0.0/8"]}],
            f"{REGIONS}.1.networks.0",
            f"at {REGIONS}.0.networks.0",
        ),
        (
            [{"team": "a", "networks": ["10.0.0.1/8"]}],
            f"{REGIONS}.0.networks.0",
            "host bits",
        ),
        (
            [{"team": "a", "places": ["Beijing"]}, {"team": "b", "places": ["  beijing "]}],
            f"{REGIONS}.1.places.0",
            f"at {REGIONS}.0.places.0, for team 'a'",
        ),
        (
            [
                {"team": "a", "places": ["San Francisco, CA"]},
                {"team": "b", "places": ["san francisco,ca"]},
            ],
            f"{REGIONS}.1.places.0",
            "for team 'a'",
        ),
        (
            [{"team": "a", "places": ["Beijing", " , "]}],
            f"{REGIONS}.0.places.1",
            "empty",
        ),
    ],
)
def test_bad_region_config_is_refused_with_its_path(
    regions: list[dict[str, Any]], path: str, words: str
) -> None:
    """Overlapping networks, bad networks and places of two teams name their paths."""
    spec = RegionSpec.model_validate({"regions": regions})
    with pytest.raises(RoutingConfigError) as info:
        RegionRouter(spec)
    assert info.value.path == path
    assert words in str(info.value)


def test_a_place_listed_twice_for_one_team_is_harmless() -> None:
    """Only a place of two different teams is refused."""
    router = region_router({"team": "a", "places": ["Beijing", "BEIJING"]})
    assert decided(router.route(lead(phone="+861058001234", phone_valid=True))).team == "a"


@given(
    nets=st.lists(ipv4_networks, max_size=10, unique=True),
    hosts=st.lists(st.integers(0, 4095), max_size=20),
)
def test_cidr_table_equals_a_brute_force_scan(
    nets: list[ipaddress.IPv4Network], hosts: list[int]
) -> None:
    """Disjoint networks load and answer what a scan with ipaddress answers; overlaps fail."""
    entries = [(str(net), f"t{index}") for index, net in enumerate(nets)]
    overlapping = any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    if overlapping:
        with pytest.raises(RoutingConfigError):
            CidrTable(entries)
        return
    table = CidrTable(entries)
    for host in hosts:
        address = ipaddress.ip_address(f"10.0.{host >> 8}.{host & 255}")
        expected = next(
            (team for net, (_, team) in zip(nets, entries, strict=True) if address in net), None
        )
        assert table.region(str(address)) == expected


def test_region_router_answers_the_router_protocol() -> None:
    """The router has the protocol's name and route."""
    router = region_router(EAST)
    assert isinstance(router, Router)
    assert router.name == "region"


def test_ip_comes_before_the_phone() -> None:
    """A lead's IP in a region's network decides even when its phone points elsewhere."""
    router = region_router(EAST, NORTH)
    decision = decided(router.route(lead(ip="10.1.2.3", phone="+861058001234", phone_valid=True)))
    assert decision.team == "east"
    assert decision.evidence == {"matched_by": "ip", "value": "10.1.2.3", "network": "10.1.0.0/16"}
    assert decision.reason == "IP 10.1.2.3 is in 10.1.0.0/16, a network of team east"


def test_an_unknown_ip_falls_back_to_the_phone() -> None:
    """An IP in no network (or junk) leaves the decision to the phone number."""
    router = region_router(EAST, NORTH)
    for ip in ("8.8.8.8", "junk", 17):
        decision = decided(router.route(lead(ip=ip, phone="+861058001234", phone_valid=True)))
        assert (decision.team, decision.evidence["matched_by"]) == ("north", "phone")


@pytest.mark.parametrize(
    ("phone", "team", "place"),
    [
        ("+861058001234", "north", "Beijing"),  # the whole description
        ("+8651988001234", "north", "Changzhou, Jiangsu"),  # whole beats its parts
        ("+862584001234", "east", "Jiangsu"),  # Nanjing, Jiangsu: a component
        ("+14155552671", "west", "San Francisco, CA"),
        ("+12125550123", "usa", "us"),  # New York, NY: only the region code
        ("+8613800138000", "north", "Beijing"),  # a mobile number's prefix is placed too
        ("+8675512345678", "china", "CN"),  # Shenzhen, Guangdong: not listed, CN is
    ],
)
def test_phone_places_match_most_specific_first(phone: str, team: str, place: str) -> None:
    """Whole description, then its parts from the first, then the ISO region code."""
    router = region_router(EAST, NORTH, WEST, CHINA, USA)
    decision = decided(router.route(lead(phone=phone, phone_valid=True)))
    assert (decision.team, decision.evidence["place"]) == (team, place)
    assert decision.evidence["matched_by"] == "phone"


def test_the_first_component_beats_a_later_one() -> None:
    """ "Changzhou, Jiangsu" goes to the team of Changzhou rather than the team of Jiangsu."""
    router = region_router(EAST, {"team": "west", "places": ["Changzhou"]})
    decision = decided(router.route(lead(phone="+8651988001234", phone_valid=True)))
    assert decision.team == "west"
    assert decision.reason == (
        "phone +8651988001234 is from Changzhou, Jiangsu; place 'Changzhou' belongs to team west"
    )
    assert decision.evidence["description"] == "Changzhou, Jiangsu"
    assert decision.evidence["region_code"] == "CN"


def test_places_in_another_language() -> None:
    """With language "zh" places are matched as the geocoder writes them in Chinese."""
    router = region_router({"team": "north", "places": ["北京市"]}, language="zh")
    assert decided(router.route(lead(phone="+861058001234", phone_valid=True))).team == "north"


@pytest.mark.parametrize(
    "profile",
    [
        {"phone": "+861058001234"},
        {"phone": "+861058001234", "phone_valid": False},
        {"phone": "+861058001234", "phone_valid": "yes"},
        {"phone": 861058001234, "phone_valid": True},
        {"phone": "010 5800 1234", "phone_valid": True},
        {"phone": "+86abc", "phone_valid": True},
        {"phone": "+", "phone_valid": True},
        {"phone": "+4420794600001234567", "phone_valid": True},
        {"phone": "+8613800138000", "phone_valid": True, "ip": ["10.1.0.1"]},
        {},
    ],
)
def test_region_junk_and_unvalidated_phones_match_nothing(profile: dict[str, Any]) -> None:
    """Phones not marked valid, not in E.164, or of the wrong type are skipped without errors."""
    router = region_router(EAST, {"team": "x", "places": ["Guangdong"]})
    assert router.route(lead(**profile)) is None


def test_an_ip_lookup_replaces_the_networks() -> None:
    """A given IpLookup answers addresses; the spec's networks are still checked."""

    class Lookup:
        def region(self, address: str) -> str | None:
            return "far" if address.startswith("100.") else None

    spec = RegionSpec.model_validate({"regions": [EAST]})
    router = RegionRouter(spec, ip_lookup=Lookup())
    decision = decided(router.route(lead(ip="100.64.0.1")))
    assert (decision.team, decision.reason) == ("far", "IP 100.64.0.1 is in the region of team far")
    assert router.route(lead(ip="10.1.0.1")) is None  # the lookup, not the spec, answers
    bad = RegionSpec.model_validate({"regions": [{"team": "a", "networks": ["nope"]}]})
    with pytest.raises(RoutingConfigError):
        RegionRouter(bad, ip_lookup=Lookup())


def _valid_numbers(count_per_type: int, seed: int) -> list[str]:
    """Valid E.164 numbers of every region, many sharing their leading digits."""
    rng = random.Random(seed)
    kinds = (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
    )
    numbers: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            digits = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
            for _ in range(count_per_type):
                keep = rng.randint(len(str(example.country_code)), len(digits))
                tail = "".join(rng.choice("0123456789") for _ in range(len(digits) - keep))
                candidate = digits[:keep] + tail
                roll = rng.random()
                if roll < 0.15:
                    candidate += rng.choice("0123456789")
                elif roll < 0.3:
                    candidate = candidate[:-1]
                try:
                    number = phonenumbers.parse("+" + candidate)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number):
                    numbers.append("+" + candidate)
    return numbers


def test_the_phone_cache_answers_what_the_geocoder_answers() -> None:
    """Over valid numbers of every region, the prefix-keyed cache never changes an answer."""
    numbers = _valid_numbers(12, seed=7)
    numbers += ["+35318001234", "+3531800123456", "+5492982497123", "+5492982490123"]
    random.Random(1).shuffle(numbers)
    cached = PhoneGeocoder("en")
    mismatches = [n for n in numbers if cached(n) != geocode(n, "en")]
    assert mismatches == []
    keys = {cached.key(n) for n in numbers}
    assert len(numbers) > 5000
    assert len(keys) < 0.9 * len(numbers)  # the cache was hit, so the test means something


def test_the_cache_key_needs_the_length_and_the_mobile_token() -> None:
    """Nine leading digits alone would be wrong: an Irish toll-free number and an Argentine
    mobile share them with numbers placed elsewhere."""
    same_nine = [
        ("+35318001234", "+3531800123456"),  # Dublin 01 800 1234 / toll-free 1800 123 456
        ("+5492982497123", "+5492982490123"),  # mobile token 9 shifts the prefix a digit
    ]
    for first, second in same_nine:
        assert first[1:10] == second[1:10]
        assert geocode(first) != geocode(second)
        assert PhoneGeocoder.key(first) != PhoneGeocoder.key(second)


def test_the_phone_cache_is_bounded() -> None:
    """The cache keeps at most maxsize keys, dropping the oldest."""
    cached = PhoneGeocoder(maxsize=2)
    for number in ("+861058001234", "+14155552671", "+442079460000"):
        cached(number)
    assert len(cached._cache) == 2
    assert cached.key("+861058001234") not in cached._cache


def test_phonenumbers_is_imported_on_first_use_only() -> None:
    """Importing the routers does not load phonenumbers' metadata."""
    code = (
        "import sys, leadlife.routing.region, leadlife.routing.accounts, "
        "leadlife.routing.business_line, leadlife.routing.fallback, leadlife.networks; "
        "print('phonenumbers' in sys.modules, 'pandas' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


# -- fallback ---------------------------------------------------------------------------


def test_fallback_always_decides_its_team() -> None:
    """Any lead, even an empty one, goes to the fallback team's queue."""
    router = FallbackRouter(FallbackSpec(team="pool"))
    assert isinstance(router, Router)
    decision = router.route(lead())
    assert (decision.router, decision.team, decision.owner) == ("fallback", "pool", None)
    assert decision.reason == "no other router took the lead; team queue pool"
    with pytest.raises(TypeError):
        decision.evidence["shared"] = True  # type: ignore[index]  # one read-only decision
