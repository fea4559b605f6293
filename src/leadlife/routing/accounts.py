"""The existing-account router: leads of known customers go to the account's owner.

A lead is recognised as a customer's by four kinds of evidence, in this precedence:

1. ``account_id``: the profile's linked account id is an account's ``id``;
2. ``domain``: the domain of the profile's ``email`` (unless ``email_valid`` is
   False) is one of an account's ``domains`` or a subdomain of one, label by label
   (``sh.acme.com`` is in ``acme.com``, ``notacme.com`` is not); the most specific
   listed domain wins. Free-mail providers' domains cannot be listed, so a gmail.com
   or qq.com address never identifies an account;
3. ``name``: the profile's ``company``, normalized
   (:func:`~leadlife.routing.names.normalize_company`), is an account's name;
4. ``ip``: the profile's ``ip`` is in one of an account's ``networks``; the most
   specific network wins.

When kinds of evidence point at different accounts, the higher kind decides and the
decision names the others as ``conflicts``, so a person can check the data. Nested
domains and networks of different accounts are allowed on purpose (a branch office's
/28 inside the headquarters' /16, ``sh.acme.com`` for the Shanghai department of
``acme.com``): the most specific entry is the answer, not a conflict.

Sub-departments are accounts with a ``parent``; one without an ``owner`` of its own
uses the nearest ancestor's owner, so its leads go to the customer's owner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, NoReturn, TypeAlias

from leadlife.errors import RoutingConfigError
from leadlife.lead import Lead
from leadlife.networks import Network, NetworkTable, find_overlaps, parse_network
from leadlife.routing.config import AccountSpec, ExistingAccountSpec
from leadlife.routing.decision import RouteDecision
from leadlife.routing.names import normalize_company
from leadlife.scoring.model import FREE_MAIL_DOMAINS
from leadlife.values import FrozenDict, FrozenList

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = ["FREE_MAIL_PROVIDERS", "AccountMatch", "ExistingAccountRouter", "MatchedBy"]

MatchedBy: TypeAlias = Literal["account_id", "domain", "name", "ip"]

FREE_MAIL_PROVIDERS: Final = FREE_MAIL_DOMAINS
"""Domains (and their subdomains) an account may not list: anyone can have an address
there. The same list the scoring rules' ``free_mail`` test reads."""

_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
# Second-level labels of country registries (com.cn, co.uk, org.cn): never one company's.
_REGISTRY_LABELS = frozenset({"ac", "co", "com", "edu", "go", "gov", "ne", "net", "or", "org"})
_KIND_WORDS: Final[dict[MatchedBy, str]] = {
    "account_id": "linked account id",
    "domain": "e-mail domain",
    "name": "company name",
    "ip": "IP address",
}


class AccountMatch(NamedTuple):
    """One kind of evidence naming an account."""

    matched_by: MatchedBy
    value: str
    """The lead's value: the account id, the e-mail's domain, the company, the IP."""
    match: str
    """The entry it matched: the id, the listed domain, the name's key, the network."""
    account: str


class ExistingAccountRouter:
    """Routes leads of existing customer accounts to the account's owner.

    See the module docstring for the evidence and its precedence. Everything is
    checked and indexed when the router is built; :meth:`route` is a few dictionary
    look-ups and one binary search. :meth:`route_frame` decides a whole DataFrame of
    profiles, looking each distinct value up once.

    :param spec: the accounts and the team recorded with their owners.
    :param path: where ``spec`` sits in the routing configuration, for errors.
    :param source: the file the configuration came from, for errors.
    :raises RoutingConfigError: naming the path of the offending entry, for an
        account id listed twice; a domain, normalized name or network (the identical
        one) on two accounts; a domain that is not a domain, is a registry suffix
        (``com.cn``) or a free-mail provider's (or a subdomain of one); a name that
        is only a legal suffix; a network that does not parse; a ``parent`` that
        does not exist; a cycle of parents. Repeats within one account are accepted.
    """

    name = "existing_account"

    def __init__(
        self,
        spec: ExistingAccountSpec,
        *,
        path: str = "routers.existing_account",
        source: str = "<dict>",
    ):
        self.spec = spec
        self._path = f"{path}.accounts"
        self._source = source
        self._team = spec.team or None
        accounts: dict[str, tuple[int, AccountSpec]] = {}
        for index, account in enumerate(spec.accounts):
            if account.id in accounts:
                self._fail(
                    f"{index}.id",
                    f"account {account.id!r} is defined twice (also at "
                    f"{self._path}.{accounts[account.id][0]})",
                    "give each account one entry, with all its domains, names and networks",
                )
            accounts[account.id] = (index, account)
        self._check_parents(accounts)
        self._owners: dict[str, tuple[str, str]] = {
            account_id: self._owner(account_id, accounts) for account_id in accounts
        }
        """account id -> (owner, the account the owner comes from)."""
        self._domains: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._index_domains_and_names(accounts)
        self._networks: NetworkTable[tuple[str, str]] = self._index_networks(accounts)

    def __repr__(self) -> str:
        return f"ExistingAccountRouter({len(self._owners)} accounts)"

    # -- loading -------------------------------------------------------------------

    def _fail(self, where: str, problem: str, fix: str) -> NoReturn:
        raise RoutingConfigError(f"{self._path}.{where}", problem, fix, source=self._source)

    def _check_parents(self, accounts: Mapping[str, tuple[int, AccountSpec]]) -> None:
        """Every ``parent`` is an account, and following parents never comes back."""
        for account_id, (index, account) in accounts.items():
            chain = [account_id]
            parent = account.parent
            while parent is not None:
                if parent not in accounts:
                    link = chain[-1]
                    self._fail(
                        f"{accounts[link][0]}.parent",
                        f"account {link!r} has parent {parent!r}, which is not an account",
                        "add the parent account, or fix the id",
                    )
                if parent in chain:
                    cycle = " -> ".join([*chain[chain.index(parent) :], parent])
                    self._fail(
                        f"{index}.parent",
                        f"the parents of account {account_id!r} form a cycle ({cycle})",
                        "break the cycle: the top account of a customer has no parent",
                    )
                chain.append(parent)
                parent = accounts[parent][1].parent

    @staticmethod
    def _owner(account_id: str, accounts: Mapping[str, tuple[int, AccountSpec]]) -> tuple[str, str]:
        """``(owner, account it comes from)``: the nearest owner up the parents."""
        account = accounts[account_id][1]
        # The spec guarantees an owner or a parent; _check_parents that parents end.
        while account.owner is None:
            account = accounts[account.parent][1]  # type: ignore[index]  # see above
        return account.owner, account.id

    def _index_domains_and_names(self, accounts: Mapping[str, tuple[int, AccountSpec]]) -> None:
        domain_at: dict[str, str] = {}
        name_at: dict[str, str] = {}
        for account_id, (index, account) in accounts.items():
            for place, raw in enumerate(account.domains):
                where = f"{index}.domains.{place}"
                domain = _domain(raw)
                if domain is None:
                    self._fail(
                        where,
                        f"{raw!r} is not an e-mail domain",
                        "write the part after the @, e.g. 'acme.com' (IDNs in punycode, xn--)",
                    )
                if domain.partition(".")[0] in _REGISTRY_LABELS and domain.count(".") == 1:
                    self._fail(
                        where,
                        f"{raw!r} is a registry suffix, shared by every company under it",
                        "write the company's own domain, e.g. 'acme.com.cn'",
                    )
                if _free_mail(domain):
                    self._fail(
                        where,
                        f"{raw!r} is a free-mail provider's domain: anyone can have an "
                        "address there, so it does not identify a customer",
                        "remove it; match this customer by its own domain, name or network",
                    )
                owner = self._domains.setdefault(domain, account_id)
                if owner != account_id:
                    self._fail(
                        where,
                        f"domain {domain!r} is listed for account {owner!r} (at "
                        f"{self._path}.{domain_at[domain]}) and {account_id!r}",
                        "keep it on one account; list a subdomain (sh.acme.com) for a department",
                    )
                domain_at.setdefault(domain, where)
            for place, raw in enumerate(account.names):
                where = f"{index}.names.{place}"
                key = normalize_company(raw)
                if not key:
                    self._fail(
                        where,
                        f"company name {raw!r} is only punctuation or a legal suffix",
                        "write the company's name, e.g. 'Acme Media Co., Ltd.'",
                    )
                owner = self._names.setdefault(key, account_id)
                if owner != account_id:
                    self._fail(
                        where,
                        f"company name {raw!r} (key {key!r}) is also a name of account "
                        f"{owner!r} (at {self._path}.{name_at[key]})",
                        "keep the name on one account; name departments distinctly",
                    )
                name_at.setdefault(key, where)

    def _index_networks(
        self, accounts: Mapping[str, tuple[int, AccountSpec]]
    ) -> NetworkTable[tuple[str, str]]:
        networks: list[Network] = []
        labels: list[tuple[str, str]] = []
        wheres: list[str] = []
        for account_id, (index, account) in accounts.items():
            for place, raw in enumerate(account.networks):
                where = f"{index}.networks.{place}"
                try:
                    network = parse_network(raw)
                except ValueError as exc:
                    self._fail(
                        where,
                        str(exc),
                        "write an address (203.0.113.7) or a network (203.0.113.0/24)",
                    )
                networks.append(network)
                labels.append((account_id, str(network)))
                wheres.append(where)
        dropped: set[int] = set()
        for overlap in find_overlaps(networks):
            if not overlap.identical:
                continue  # nested networks: the most specific one answers
            first, second = labels[overlap.first][0], labels[overlap.second][0]
            if first == second:
                dropped.add(overlap.second)  # listed twice for one account: harmless
                continue
            self._fail(
                wheres[overlap.second],
                f"network {networks[overlap.second]} is listed for account {first!r} (at "
                f"{self._path}.{wheres[overlap.first]}) and {second!r}",
                "keep it on one account; a department's smaller network may sit inside "
                "its customer's",
            )
        return NetworkTable(
            (net, label)
            for position, (net, label) in enumerate(zip(networks, labels, strict=True))
            if position not in dropped
        )

    # -- routing -------------------------------------------------------------------

    def matches(self, lead: Lead) -> list[AccountMatch]:
        """Every kind of evidence that names an account, highest precedence first.

        At most one match per kind (the most specific domain or network). Junk profile
        values match nothing.
        """
        profile = lead.profile
        found: list[AccountMatch] = []
        if (match := self._account_id_match(profile.get("account_id"))) is not None:
            found.append(match)
        email = profile.get("email")
        if (
            isinstance(email, str)
            and profile.get("email_valid") is not False
            and (domain := _email_domain(email)) is not None
            and (match := self._email_domain_match(domain)) is not None
        ):
            found.append(match)
        company = profile.get("company")
        if isinstance(company, str) and (match := self._name_match(company)) is not None:
            found.append(match)
        ip = profile.get("ip")
        if isinstance(ip, str) and (match := self._ip_match(ip)) is not None:
            found.append(match)
        return found

    def _account_id_match(self, account_id: object) -> AccountMatch | None:
        """The ``account_id`` evidence of a profile value (text, or an integer), if any."""
        if isinstance(account_id, int) and not isinstance(account_id, bool):
            account_id = str(account_id)
        if isinstance(account_id, str) and (key := account_id.strip()) in self._owners:
            return AccountMatch("account_id", key, key, key)
        return None

    def _email_domain_match(self, domain: str) -> AccountMatch | None:
        """The ``domain`` evidence of an e-mail's domain, if any."""
        match = self._domain_match(domain)
        if match is None:
            return None
        return AccountMatch("domain", domain, match, self._domains[match])

    def _name_match(self, company: str) -> AccountMatch | None:
        """The ``name`` evidence of a company, if any."""
        key = normalize_company(company)
        owner = self._names.get(key) if key else None
        return None if owner is None else AccountMatch("name", company, key, owner)

    def _ip_match(self, ip: str) -> AccountMatch | None:
        """The ``ip`` evidence of an address, if any."""
        hit = self._networks.lookup(ip)
        return None if hit is None else AccountMatch("ip", ip, hit[1], hit[0])

    def _domain_match(self, domain: str) -> str | None:
        """The most specific listed domain ``domain`` is, or is a subdomain of."""
        domains = self._domains
        while True:
            if domain in domains:
                return domain
            dot = domain.find(".")
            if dot < 0:
                return None
            domain = domain[dot + 1 :]

    def _decide(self, found: Sequence[AccountMatch]) -> _Decided:
        """The owner, reason and conflicts for the (non-empty) matches of one lead."""
        account = found[0].account
        owner, owner_account = self._owners[account]
        outranked = [match for match in found[1:] if match.account != account]
        via = "" if owner_account == account else f", a department of {owner_account}"
        reason = (
            f"{_KIND_WORDS[found[0].matched_by]} {found[0].value} belongs to account "
            f"{account}{via} (owner {owner})"
        )
        if outranked:
            others = "; ".join(
                f"{_KIND_WORDS[k]} {v} points at account {other}" for k, v, _, other in outranked
            )
            reason = f"{reason}; conflicts, outranked: {others}"
        return _Decided(owner, owner_account, reason, outranked)

    def route(self, lead: Lead) -> RouteDecision | None:
        """The account owner's decision for a lead of a known account, else None."""
        found = self.matches(lead)
        if not found:
            return None
        kind, value, listed, account = found[0]
        owner, owner_account, reason, outranked = self._decide(found)
        # Read-only, as a host router's evidence is made: the lead keeps it, and a
        # lead read from the engine shares it with the stored one.
        conflicts = FrozenList(
            FrozenDict(account=other, matched_by=k, value=v, match=m)
            for k, v, m, other in outranked
        )
        evidence: dict[str, Any] = {
            "account": account,
            "matched_by": kind,
            "value": value,
            "match": listed,
            "conflicts": conflicts,
        }
        if owner_account != account:
            evidence["owner_account"] = owner_account
        return RouteDecision(
            router=self.name,
            reason=reason,
            team=self._team,
            owner=owner,
            evidence=FrozenDict(evidence),
        )

    def route_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The decisions for many leads at once: one row per row of ``frame`` (same index),
        columns ``team``, ``owner``, ``reason`` (object; None where the router passes).

        Row *i* is what :meth:`route` decides for a lead whose profile holds the row's
        values (the columns ``account_id``, ``email``, ``email_valid``, ``company``
        and ``ip``; a missing column, None, NaN or ``pd.NA`` is an absent key). Each
        distinct value is looked up once, so a million rows take seconds.
        """
        import numpy as np
        import pandas as pd

        rows = len(frame)

        def column(name: str) -> npt.NDArray[np.object_] | None:
            if name not in frame.columns:
                return None
            return frame[name].to_numpy(dtype=object)  # type: ignore[no-any-return]

        # Per kind, in precedence order: the matches, and each row's position in them.
        kinds: list[tuple[list[AccountMatch], npt.NDArray[np.intp]]] = []
        if (values := column("account_id")) is not None:
            codes, distinct = _distinct(values, _is_account_id_type)
            kinds.append(_positions(codes, [self._account_id_match(v) for v in distinct]))
        if (values := column("email")) is not None:
            codes, distinct = _distinct(values, _is_str_type)
            by_domain: dict[str, AccountMatch | None] = {}
            found: list[AccountMatch | None] = []
            for email in distinct:
                domain = _email_domain(email)
                if domain is None:
                    found.append(None)
                    continue
                if domain not in by_domain:
                    by_domain[domain] = self._email_domain_match(domain)
                found.append(by_domain[domain])
            matches, positions = _positions(codes, found)
            if (valid := column("email_valid")) is not None:
                codes, distinct = _distinct(valid, _is_bool_type)
                # Only booleans are distinct here; numpy's False counts as False, as the
                # per-row path reads a row's values as Python ones.
                invalid = np.array([not v for v in distinct] + [False], dtype=bool)[codes]
                positions[invalid] = -1
            kinds.append((matches, positions))
        if (values := column("company")) is not None:
            codes, distinct = _distinct(values, _is_str_type)
            kinds.append(_positions(codes, [self._name_match(v) for v in distinct]))
        if (values := column("ip")) is not None:
            codes, distinct = _distinct(values, _is_str_type)
            kinds.append(_positions(codes, [self._ip_match(v) for v in distinct]))

        teams = np.full(rows, None, dtype=object)
        owners = np.full(rows, None, dtype=object)
        reasons = np.full(rows, None, dtype=object)
        if kinds:
            decided = np.flatnonzero(np.logical_or.reduce([p >= 0 for _, p in kinds]))
            tables = [matches for matches, _ in kinds]
            fields: dict[tuple[int, ...], tuple[str, str]] = {}
            decided_owners: list[str] = []
            decided_reasons: list[str] = []
            for combination in zip(*(p[decided].tolist() for _, p in kinds), strict=True):
                if (owner_reason := fields.get(combination)) is None:
                    decision = self._decide(
                        [table[i] for table, i in zip(tables, combination, strict=True) if i >= 0]
                    )
                    owner_reason = fields[combination] = (decision.owner, decision.reason)
                decided_owners.append(owner_reason[0])
                decided_reasons.append(owner_reason[1])
            teams[decided] = self._team
            owners[decided] = decided_owners
            reasons[decided] = decided_reasons
        return pd.DataFrame(
            {"team": teams, "owner": owners, "reason": reasons}, index=frame.index, dtype=object
        )


class _Decided(NamedTuple):
    """What the matches of one lead decide (see :meth:`ExistingAccountRouter._decide`)."""

    owner: str
    owner_account: str
    """The account the owner comes from: the matched account or its nearest ancestor."""
    reason: str
    outranked: list[AccountMatch]


def _email_domain(email: str) -> str | None:
    """The domain of an e-mail address, lower-cased without a trailing dot, if it has one."""
    domain = email.rpartition("@")[2].strip().rstrip(".").lower()
    return domain if domain and "@" in email else None


def _is_str_type(kind: type) -> bool:
    return issubclass(kind, str)


def _is_bool_type(kind: type) -> bool:
    # numpy.bool_ is no subclass of bool: a numpy check's result stored in an object
    # column (frame.loc[i, "email_valid"] = np.False_) is still a boolean.
    import numpy as np

    return kind is bool or issubclass(kind, np.bool_)


def _is_account_id_type(kind: type) -> bool:
    return issubclass(kind, str) or (issubclass(kind, int) and not issubclass(kind, bool))


def _distinct(
    values: npt.NDArray[np.object_], accept: Callable[[type], bool]
) -> tuple[npt.NDArray[np.intp], list[Any]]:
    """Each value's position among the distinct ``values`` of accepted types (-1: others).

    Values are told apart by type as well as by value: pandas holds ``1``, ``1.0`` and
    ``True`` equal, where a profile's ``1`` and ``True`` differ.
    """
    import numpy as np
    import pandas as pd

    codes = np.full(len(values), -1, dtype=np.intp)
    distinct: list[Any] = []
    type_codes, types = pd.factorize(
        np.fromiter(map(type, values), dtype=object, count=len(values))
    )
    for type_code, kind in enumerate(types):
        if not accept(kind):
            continue
        rows = np.flatnonzero(type_codes == type_code)
        sub_codes, sub_distinct = pd.factorize(values[rows])
        codes[rows] = np.where(sub_codes >= 0, sub_codes + len(distinct), -1)
        distinct.extend(sub_distinct.tolist())
    return codes, distinct


def _positions(
    codes: npt.NDArray[np.intp], found: list[AccountMatch | None]
) -> tuple[list[AccountMatch], npt.NDArray[np.intp]]:
    """The matches among ``found`` (one per distinct value) and each row's position in them."""
    import numpy as np

    matches: list[AccountMatch] = []
    lookup: list[int] = []
    for match in found:
        if match is None:
            lookup.append(-1)
        else:
            lookup.append(len(matches))
            matches.append(match)
    lookup.append(-1)  # code -1 (a value of another type) indexes this last entry
    return matches, np.array(lookup, dtype=np.intp)[codes]


def _domain(raw: str) -> str | None:
    """A listed domain, lower-cased without a trailing dot, or None if it is not one."""
    domain = raw.strip().lower().rstrip(".")
    if len(domain) > 253 or "." not in domain or not _DOMAIN.fullmatch(domain):
        return None
    return domain


def _free_mail(domain: str) -> bool:
    """True for a free-mail provider's domain or any subdomain of one."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in FREE_MAIL_PROVIDERS for i in range(len(labels)))
