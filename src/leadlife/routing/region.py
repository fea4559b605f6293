"""The region router: regional teams by IP address first, then by phone number prefix.

- **IP**: the profile's ``ip`` is looked up by an :class:`IpLookup`, by default a
  :class:`CidrTable` of the regions' ``networks``.
- **Phone**: a phone number the profile marked valid (E.164, ``+8651988001234``) is
  placed by the ``phonenumbers`` library's offline geocoder, e.g. ``"Changzhou,
  Jiangsu"`` (region code ``CN``), and matched against the regions' ``places``.

``phonenumbers`` carries megabytes of metadata; it is imported on the first phone
number, not with this module.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from leadlife.errors import InvalidArgumentError, RoutingConfigError
from leadlife.lead import Lead
from leadlife.networks import Network, NetworkTable, find_overlaps, parse_network
from leadlife.routing.config import RegionSpec
from leadlife.routing.decision import RouteDecision
from leadlife.routing.frames import decisions_frame, distinct, true_mask
from leadlife.values import FrozenDict

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = ["CidrTable", "IpLookup", "PhoneGeocoder", "RegionRouter", "geocode", "place_key"]


@runtime_checkable
class IpLookup(Protocol):
    """Where an IP address is: the id of the regional team that covers it.

    Return None for an address you do not know (or that is not an address) and the
    lead goes on to its phone number. Never raise on junk input.
    """

    def region(self, address: str) -> str | None:
        """The team id of ``address``, or None."""
        ...


class CidrTable:
    """An :class:`IpLookup` over CIDR networks, each covering one team.

    :param entries: ``(network, team)`` pairs; a network is an address or a CIDR.
    :param paths: the configuration path of each entry, for errors (by default
        ``networks.<index>``).
    :param source: the file the configuration came from.
    :raises RoutingConfigError: at the entry's path, for a network that does not
        parse, and for two networks that share an address (the same network twice,
        or one inside the other: each address must have one region), naming both
        entries' paths.
    """

    def __init__(
        self,
        entries: Iterable[tuple[str, str]],
        *,
        paths: Sequence[str] | None = None,
        source: str = "<dict>",
    ):
        pairs = list(entries)
        where = list(paths) if paths is not None else [f"networks.{i}" for i in range(len(pairs))]
        if len(where) != len(pairs):
            raise ValueError(f"{len(pairs)} networks but {len(where)} paths")
        networks: list[Network] = []
        for (raw, _), path in zip(pairs, where, strict=True):
            try:
                networks.append(parse_network(raw))
            except ValueError as exc:
                raise RoutingConfigError(
                    path,
                    str(exc),
                    "write an address (203.0.113.7) or a CIDR network (203.0.113.0/24)",
                    source=source,
                ) from None
        for overlap in find_overlaps(networks):
            first, second = overlap.first, overlap.second
            how = "is the same network as" if overlap.identical else "overlaps"
            raise RoutingConfigError(
                where[second],
                f"network {networks[second]} (team {pairs[second][1]!r}) {how} "
                f"{networks[first]} at {where[first]} (team {pairs[first][1]!r})",
                "give each address one region: remove one of them, or split the wider "
                "network around the narrower one",
                source=source,
            )
        self._table: NetworkTable[tuple[str, str]] = NetworkTable(
            (net, (team, str(net))) for net, (_, team) in zip(networks, pairs, strict=True)
        )

    @classmethod
    def from_spec(
        cls, spec: RegionSpec, *, path: str = "routers.region", source: str = "<dict>"
    ) -> CidrTable:
        """The table of every region's ``networks``, with their configuration paths."""
        entries = [
            (network, entry.team, f"{path}.regions.{i}.networks.{j}")
            for i, entry in enumerate(spec.regions)
            for j, network in enumerate(entry.networks)
        ]
        return cls(
            [(network, team) for network, team, _ in entries],
            paths=[where for _, _, where in entries],
            source=source,
        )

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"CidrTable({len(self._table)} networks)"

    def match(self, address: str) -> tuple[str, str] | None:
        """``(team, network)`` of the network containing ``address``, or None."""
        return self._table.lookup(address)

    def region(self, address: str) -> str | None:
        """The team whose network contains ``address``, or None."""
        hit = self._table.lookup(address)
        return None if hit is None else hit[0]


# -- phone numbers ---------------------------------------------------------------------


def geocode(e164: str, language: str = "en") -> tuple[str, str | None] | None:
    """``(description, region code)`` of a phone number, uncached; None if it does not parse.

    The description is the geocoder's place (``"Beijing"``, ``"Changzhou, Jiangsu"``,
    ``"San Francisco, CA"``; the country's name for numbers without a place, such as
    toll-free ones; ``""`` for numbers that are not valid); the region code is ISO
    3166 (``"CN"``), None if the country code is unknown.
    """
    import phonenumbers  # heavy metadata; loaded only when a phone number is placed
    from phonenumbers import geocoder

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return (
        geocoder.description_for_number(number, language),
        phonenumbers.region_code_for_number(number),
    )


@cache
def geocoder_languages() -> frozenset[str]:
    """The languages the phone geocoder has place names in (``"en"``, ``"zh"``,
    ``"zh_Hant"``...), as the installed ``phonenumbers`` data holds them."""
    from phonenumbers.geodata import GEOCODE_DATA

    languages: set[str] = set()
    for names in GEOCODE_DATA.values():
        languages.update(names)
    return frozenset(languages)


def _unknown_language(language: object) -> str | None:
    """What is wrong with ``language`` as the geocoder's, or None if it has it."""
    # The geocoder answers in English for a language it lacks, without a word:
    # places written in that language would then never match.
    if language == "en":
        return None  # the default, in every version of the data; no need to load it
    if isinstance(language, str) and language in geocoder_languages():
        return None
    return (
        f"the phone geocoder has no place names in {language!r}, and would name every "
        "place in English"
    )


def _languages_fix() -> str:
    return "give one of " + ", ".join(repr(code) for code in sorted(geocoder_languages()))


@cache
def _key_widths() -> tuple[int, dict[str, int]]:
    """The digits a cache key keeps: the geocoder's longest prefix, and per country code
    with a mobile token (Argentina's 9) that many more, since the geocoder drops the
    token before matching prefixes."""
    import phonenumbers
    from phonenumbers import geodata

    longest = int(geodata.GEOCODE_LONGEST_PREFIX)
    wider = {
        str(code): longest + len(token)
        for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        if (token := phonenumbers.country_mobile_token(code))
    }
    return longest, wider


class PhoneGeocoder:
    """:func:`geocode` with a cache keyed by number prefix, for valid E.164 numbers.

    The geocoder looks up prefixes of at most ``GEOCODE_LONGEST_PREFIX`` digits, so
    numbers that share them share a place, with two exceptions the key covers: the
    number's length (it decides the number type: ``+353 1800…`` is a Dublin number
    with 9 national digits and a toll-free one, placed only in "Ireland", with 10)
    and a mobile token the geocoder removes first (``+54 9…``, which shifts the
    prefix by a digit). The key is therefore ``(first digits, length)``; the tests
    compare cached and uncached answers over many numbers of every region.

    The cache holds at most ``maxsize`` keys, dropping the oldest first. Valid
    numbers only: an invalid number may share a key with a valid one and get its
    place.

    :param language: language of the place names (``"en"``, ``"zh"``...).
    :param maxsize: keys kept.
    """

    def __init__(self, language: str = "en", *, maxsize: int = 65_536):
        problem = _unknown_language(language)
        if problem is not None:
            raise InvalidArgumentError("language", problem, _languages_fix())
        self.language = language
        self.maxsize = maxsize
        self._cache: dict[tuple[str, int], tuple[str, str | None] | None] = {}

    def __repr__(self) -> str:
        return f"PhoneGeocoder(language={self.language!r}, cached={len(self._cache)})"

    @staticmethod
    def key(e164: str) -> tuple[str, int] | None:
        """The cache key of an E.164 number, or None if it is not written in E.164."""
        digits = e164[1:]
        # Up to 20 digits: a 3-digit country code and the 17 national digits the
        # metadata allows (German numbers exceed E.164's 15).
        if not (e164.startswith("+") and 2 <= len(digits) <= 20 and digits.isascii()):
            return None
        if not digits.isdigit():
            return None
        longest, wider = _key_widths()
        # Country calling codes are prefix-free, so at most one of these matches.
        width = wider.get(digits[:1]) or wider.get(digits[:2]) or wider.get(digits[:3]) or longest
        return digits[:width], len(digits)

    def __call__(self, e164: str) -> tuple[str, str | None] | None:
        """``(description, region code)`` of a valid E.164 number, cached; else None."""
        key = self.key(e164)
        if key is None:
            return None
        cache = self._cache
        try:
            return cache[key]
        except KeyError:
            pass
        found = geocode(e164, self.language)
        if len(cache) >= self.maxsize:
            del cache[next(iter(cache))]
        cache[key] = found
        return found


def place_key(text: str) -> str:
    """A place as compared: NFKC, case-folded, single spaces, ``", "`` between parts
    (empty parts dropped: ``"Beijing,"`` is ``"beijing"``)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    parts = (" ".join(part.split()) for part in text.split(","))
    return ", ".join(part for part in parts if part)


# -- the router ------------------------------------------------------------------------


class RegionRouter:
    """Routes a lead to the regional team of its IP address, else of its phone number.

    **IP first**: ``ip_lookup`` (by default a :class:`CidrTable` of the regions'
    ``networks``; one you pass replaces it, the networks are still checked) is asked
    for the profile's ``ip``; it answers a team id.

    **Then the phone**, if the profile marks it valid (``phone_valid`` True): the
    geocoder's description of the number is compared with every region's ``places``
    (case, width and spacing ignored) in this order, the most specific first:

    1. the whole description (``"San Francisco, CA"``, ``"Beijing"``);
    2. each comma-separated part, first to last (``"Changzhou"``, then ``"Jiangsu"``);
    3. the ISO region code of the number (``"CN"``, ``"US"``).

    A two-letter place is compared at steps 2 and 3 alike: ``"CA"`` matches
    ``"San Francisco, CA"`` before it matches a Canadian number. List provinces or
    states (``"ON"``, ``"BC"``) to tell such places apart.

    :param spec: the regions, and the language of the geocoder's place names.
    :param ip_lookup: where addresses are looked up instead of the spec's networks.
    :param path: where ``spec`` sits in the routing configuration, for errors.
    :param source: the file the configuration came from.
    :raises RoutingConfigError: at the entry's path, for an empty place, a place
        listed for two teams, and the networks :class:`CidrTable` refuses.
    """

    name = "region"

    def __init__(
        self,
        spec: RegionSpec,
        *,
        ip_lookup: IpLookup | None = None,
        path: str = "routers.region",
        source: str = "<dict>",
    ):
        self.spec = spec
        places: dict[str, tuple[str, str, str]] = {}
        """place key -> (team, place as written, path)."""
        for i, entry in enumerate(spec.regions):
            if not entry.places and not entry.networks and ip_lookup is None:
                # With a host's ip_lookup, which answers teams itself, such an entry
                # may only name a team that lookup gives.
                raise RoutingConfigError(
                    f"{path}.regions.{i}",
                    f"the region of team {entry.team!r} lists no places and no networks, "
                    "so the region router would never send it a lead",
                    "list its places as the phone geocoder names them ('Beijing', 'US') "
                    "or its networks ('10.1.0.0/16'), or remove the entry",
                    source=source,
                )
            for j, place in enumerate(entry.places):
                where = f"{path}.regions.{i}.places.{j}"
                key = place_key(place)
                if not key.replace(",", "").strip():
                    raise RoutingConfigError(
                        where,
                        f"place {place!r} is empty",
                        "write a place as the geocoder names it ('Beijing', 'Jiangsu') "
                        "or an ISO country code ('US')",
                        source=source,
                    )
                team, written, at = places.setdefault(key, (entry.team, place, where))
                if team != entry.team:
                    raise RoutingConfigError(
                        where,
                        f"place {place!r} is listed for team {entry.team!r} and, as "
                        f"{written!r} at {at}, for team {team!r}",
                        "give each place one team; list a more specific place "
                        "('Suzhou, Jiangsu') for the other",
                        source=source,
                    )
        self._places = places
        problem = _unknown_language(spec.language)
        if problem is not None:
            raise RoutingConfigError(f"{path}.language", problem, _languages_fix(), source=source)
        table = CidrTable.from_spec(spec, path=path, source=source)
        self._table: CidrTable | None = table if ip_lookup is None else None
        self.ip_lookup: IpLookup = table if ip_lookup is None else ip_lookup
        self._use_ip = ip_lookup is not None or len(table) > 0
        self._geocoder = PhoneGeocoder(spec.language)

    def __repr__(self) -> str:
        return f"RegionRouter({len(self.spec.regions)} regions, {len(self._places)} places)"

    def place(self, description: str, region_code: str | None) -> tuple[str, str] | None:
        """``(team, place as written)`` for a geocoder answer, the most specific first."""
        places = self._places
        whole = place_key(description) if description else ""
        if whole:
            hit = places.get(whole)
            if hit is not None:
                return hit[0], hit[1]
            if "," in whole:
                for part in whole.split(", "):
                    hit = places.get(part)
                    if hit is not None:
                        return hit[0], hit[1]
        if region_code:
            hit = places.get(region_code.casefold())
            if hit is not None:
                return hit[0], hit[1]
        return None

    def route(self, lead: Lead) -> RouteDecision | None:
        """The regional team of the lead's IP address, else of its phone number, else None."""
        profile = lead.profile
        ip = profile.get("ip")
        if self._use_ip and isinstance(ip, str) and ip:
            decision = self._by_ip(ip)
            if decision is not None:
                return decision
        phone = profile.get("phone")
        if isinstance(phone, str) and profile.get("phone_valid") is True and self._places:
            return self._by_phone(phone)
        return None

    def route_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The decisions for many leads at once: one row per row of ``frame`` (same index),
        columns ``team``, ``owner``, ``reason`` (object; None where the router passes).

        Row *i* is what :meth:`route` decides for a lead whose profile is the row's
        record (``frame.to_dict("records")``: numpy scalars read as Python ones), a
        None, NaN or ``pd.NA`` cell (or a missing column) counting as an absent key.
        Each distinct address and phone number is looked up once.
        """
        import numpy as np

        rows = len(frame)
        team = np.full(rows, None, dtype=object)
        reason = np.full(rows, None, dtype=object)
        open_ = np.ones(rows, dtype=bool)
        if self._use_ip and "ip" in frame.columns:
            ips = frame["ip"].to_numpy(dtype=object)
            open_[_fill(team, reason, np.arange(rows), ips, self._ip)] = False
        if self._places and "phone" in frame.columns:
            where = np.flatnonzero(true_mask(frame, "phone_valid") & open_)
            phones = frame["phone"].to_numpy(dtype=object)[where]
            _fill(team, reason, where, phones, self._phone)
        return decisions_frame(frame.index, team, reason)

    def _by_ip(self, ip: str) -> RouteDecision | None:
        found = self._ip_match(ip)
        if found is None:
            return None
        team, network = found
        evidence: dict[str, Any] = {"matched_by": "ip", "value": ip}
        if network is not None:
            evidence["network"] = network
        reason = _ip_reason(ip, team, network)
        # Read-only: the lead keeps it (see ExistingAccountRouter.route).
        return RouteDecision(
            router=self.name, reason=reason, team=team, evidence=FrozenDict(evidence)
        )

    def _ip_match(self, ip: str) -> tuple[str, str | None] | None:
        """``(team, network)`` of an address (network None from a custom lookup), or None."""
        if self._table is not None:
            return self._table.match(ip)
        found = self.ip_lookup.region(ip)
        return (found, None) if found else None

    def _ip(self, ip: str) -> tuple[str, str] | None:
        """``(team, reason)`` of a non-empty address, or None."""
        found = self._ip_match(ip)
        return None if found is None else (found[0], _ip_reason(ip, *found))

    def _phone_match(self, phone: str) -> tuple[str, str, str, str | None] | None:
        """``(team, place, description, region code)`` of a valid number, or None."""
        found = self._geocoder(phone)
        if found is None:
            return None
        description, region_code = found
        hit = self.place(description, region_code)
        if hit is None:
            return None
        return hit[0], hit[1], description, region_code

    def _phone(self, phone: str) -> tuple[str, str] | None:
        """``(team, reason)`` of a valid number, or None."""
        found = self._phone_match(phone)
        return None if found is None else (found[0], _phone_reason(phone, *found))

    def _by_phone(self, phone: str) -> RouteDecision | None:
        found = self._phone_match(phone)
        if found is None:
            return None
        team, place, description, region_code = found
        return RouteDecision(
            router=self.name,
            reason=_phone_reason(phone, team, place, description, region_code),
            team=team,
            evidence=FrozenDict(  # read-only: the lead keeps it (see ExistingAccountRouter.route)
                matched_by="phone",
                value=phone,
                place=place,
                description=description,
                region_code=region_code,
            ),
        )


def _ip_reason(ip: str, team: str, network: str | None) -> str:
    if network is None:
        return f"IP {ip} is in the region of team {team}"
    return f"IP {ip} is in {network}, a network of team {team}"


def _phone_reason(
    phone: str, team: str, place: str, description: str, region_code: str | None
) -> str:
    where = description or region_code
    return f"phone {phone} is from {where}; place {place!r} belongs to team {team}"


def _fill(
    team: npt.NDArray[np.object_],
    reason: npt.NDArray[np.object_],
    rows: npt.NDArray[np.intp],
    values: npt.NDArray[np.object_],
    answer: Callable[[str], tuple[str, str] | None],
) -> npt.NDArray[np.intp]:
    """Set ``team`` and ``reason`` at ``rows`` from ``answer`` of each distinct non-empty
    string in ``values`` (the cells of those rows), and give the rows it set; other
    values decide nothing."""
    import numpy as np

    codes, uniques = distinct(values)
    teams = np.full(len(uniques) + 1, None, dtype=object)  # the last one for code -1
    reasons = np.full(len(uniques) + 1, None, dtype=object)
    hits = np.zeros(len(uniques) + 1, dtype=bool)
    for i, value in enumerate(uniques):
        found = answer(value) if isinstance(value, str) and value else None
        if found is not None:
            teams[i], reasons[i] = found
            hits[i] = True
    decided = np.flatnonzero(hits[codes])
    at = rows[decided]
    team[at] = teams[codes[decided]]
    reason[at] = reasons[codes[decided]]
    return at
