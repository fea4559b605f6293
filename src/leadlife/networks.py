"""IP addresses and networks: parsing them, and finding the network an address is in.

Shared by the company-by-IP enricher and the routers. Standard library only.

- :func:`parse_address` reads an address as a web server logs it (an
  X-Forwarded-For list, an IPv6 zone, an IPv4-mapped IPv6 address).
- :func:`parse_network` reads an address or a CIDR network from configuration.
- :class:`NetworkTable` labels networks and looks up the **most specific** network
  containing an address with one binary search, however many networks it holds.
- :func:`find_overlaps` lists networks that share addresses, for callers that refuse
  them at load.
"""

from __future__ import annotations

import bisect
import socket
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Generic, NamedTuple, TypeAlias, TypeVar

__all__ = [
    "Network",
    "NetworkTable",
    "Overlap",
    "find_overlaps",
    "format_address",
    "parse_address",
    "parse_network",
]

T = TypeVar("T")

Network: TypeAlias = IPv4Network | IPv6Network


def parse_address(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` of an address, or None if it is not one.

    Takes the first entry of a comma-separated X-Forwarded-For list, drops an IPv6
    zone (``fe80::1%eth0``) and reads an IPv4-mapped IPv6 address (``::ffff:1.2.3.4``)
    as the IPv4 address. Never raises; a value that is not a string gives None.
    """
    if not isinstance(text, str):
        return None
    text = text.split(",", 1)[0].strip()
    # inet_pton is strict (no leading zeros, no short forms) and ~10x faster than
    # ipaddress, which matters on the per-event path.
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        pass
    try:
        number = int.from_bytes(socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0]), "big")
    except (OSError, ValueError):  # ValueError: an embedded NUL character
        return None
    if number >> 32 == 0xFFFF:
        return 4, number & 0xFFFFFFFF
    return 6, number


def format_address(version: int, number: int) -> str:
    """The text of the address :func:`parse_address` read as ``(version, number)``."""
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, number.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, number.to_bytes(16, "big"))


def parse_network(text: str) -> Network:
    """The network of an address (``203.0.113.7``: a /32) or CIDR (``203.0.113.0/24``).

    Surrounding spaces are ignored; an IPv4-mapped IPv6 network (``::ffff:10.0.0.0/104``)
    becomes the IPv4 network, as :func:`parse_address` reads such addresses. Raises
    ValueError saying what is wrong: not a string, not an address or network, or
    host bits set (``10.0.0.1/24``: write ``10.0.0.0/24``).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not an IP address or CIDR network")
    try:
        network = ip_network(text.strip())
    except ValueError as exc:
        if "host bits" in str(exc):
            raise ValueError(
                f"{text!r} has host bits set (the network address of "
                f"{ip_network(text.strip(), strict=False)} ends in zeros)"
            ) from None
        raise ValueError(f"{text!r} is not an IP address or CIDR network ({exc})") from None
    if isinstance(network, IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


class Overlap(NamedTuple):
    """Two entries (by index) whose networks share addresses; ``first < second``."""

    first: int
    second: int
    identical: bool
    """The same network twice; otherwise one nests inside the other."""


def find_overlaps(networks: Sequence[Network]) -> list[Overlap]:
    """Every pair of networks that share an address, ordered by the pair's indexes.

    CIDR networks either nest or are disjoint, so a pair overlaps exactly when one
    contains the other; ``identical`` tells the same network listed twice apart from
    nesting.
    """
    found: list[Overlap] = []
    order = sorted(
        range(len(networks)),
        key=lambda i: (
            networks[i].version,
            int(networks[i].network_address),
            networks[i].prefixlen,
            i,
        ),
    )
    # The open networks, widest at the bottom: all of them contain the current one.
    stack: list[int] = []
    for index in order:
        net = networks[index]
        start = int(net.network_address)
        while stack and (
            networks[stack[-1]].version != net.version
            or int(networks[stack[-1]].broadcast_address) < start
        ):
            stack.pop()
        for other in stack:
            first, second = sorted((other, index))
            found.append(Overlap(first, second, networks[other] == net))
        stack.append(index)
    found.sort()
    return found


class _Ranges(NamedTuple, Generic[T]):
    firsts: list[int]
    lasts: list[int]
    labels: list[T]


class NetworkTable(Generic[T]):
    """Networks with a label each; :meth:`lookup` gives the label of the most specific one.

    Networks nest (a branch office's /28 inside its ISP's /16): an address gets the
    label of the longest-prefix network that contains it. They are flattened into
    disjoint integer ranges, one sorted list per IP version, so a lookup is one
    binary search.

    :param entries: ``(network, label)`` pairs; a network may be given as text
        (see :func:`parse_network`, whose ValueError passes through).
    :raises ValueError: the same network listed twice, since the table could not tell
        which label is meant. Use :func:`find_overlaps` first to report such entries
        in your own terms (or merge them).
    """

    def __init__(self, entries: Iterable[tuple[Network | str, T]]):
        pairs = [
            (parse_network(net) if isinstance(net, str) else net, label) for net, label in entries
        ]
        self.networks: tuple[Network, ...] = tuple(net for net, _ in pairs)
        """The networks, in the order given."""
        for overlap in find_overlaps(self.networks):
            if overlap.identical:
                raise ValueError(
                    f"network {self.networks[overlap.first]} is listed twice "
                    f"(entries {overlap.first} and {overlap.second})"
                )
        by_version: dict[int, list[tuple[int, int, int, T]]] = {4: [], 6: []}
        for net, label in pairs:
            by_version[net.version].append(
                (int(net.network_address), net.prefixlen, int(net.broadcast_address), label)
            )
        self._ranges: dict[int, _Ranges[T]] = {
            version: _flatten(sorted(listed, key=lambda n: (n[0], n[1])))
            for version, listed in by_version.items()
        }

    def __len__(self) -> int:
        return len(self.networks)

    def __repr__(self) -> str:
        return f"NetworkTable({len(self.networks)} networks)"

    def lookup(self, address: str) -> T | None:
        """The label of the most specific network containing ``address``, or None.

        None too when ``address`` is not an address (see :func:`parse_address`).
        """
        parsed = parse_address(address)
        return None if parsed is None else self.lookup_number(*parsed)

    def lookup_number(self, version: int, number: int) -> T | None:
        """:meth:`lookup` for an address already parsed by :func:`parse_address`."""
        ranges = self._ranges.get(version)
        if ranges is None:
            return None
        position = bisect.bisect_right(ranges.firsts, number) - 1
        if position < 0 or number > ranges.lasts[position]:
            return None
        return ranges.labels[position]


def _flatten(networks: list[tuple[int, int, int, T]]) -> _Ranges[T]:
    """Disjoint ranges, each labelled with the label of its most specific network.

    ``networks`` are ``(first, prefix length, last, label)`` sorted by first address,
    then prefix length (wider first). CIDR networks either nest or are disjoint, so a
    stack of the open networks is enough: its top is the most specific one covering
    the current address.
    """
    ranges: _Ranges[T] = _Ranges([], [], [])
    stack: list[tuple[int, int, int, T]] = []
    position = 0

    def emit(first: int, last: int, label: T) -> None:
        if first <= last:
            ranges.firsts.append(first)
            ranges.lasts.append(last)
            ranges.labels.append(label)

    for network in networks:
        first = network[0]
        while stack and stack[-1][2] < first:
            top = stack.pop()
            emit(position, top[2], top[3])
            position = top[2] + 1
        if stack:
            emit(position, first - 1, stack[-1][3])
        stack.append(network)
        position = first
    while stack:
        top = stack.pop()
        emit(position, top[2], top[3])
        position = top[2] + 1
    return ranges
