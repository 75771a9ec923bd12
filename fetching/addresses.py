"""The address policy: only http(s), and only public addresses unless the operator allowed
private networks. A URL is read by the parser the HTTP client connects with (urllib3's); one
that the standard library reads differently is refused, so no check can be judged on one
host while the connection goes to another."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import urllib.parse
from collections.abc import Iterable

import urllib3

from newsbeam.fetching.errors import FetchError, refused

# IANA special-purpose ranges that are not the public internet (beside what `ipaddress` already
# calls private, loopback, link-local, multicast or reserved).
_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8"))
# IPv6 ranges that only reach the IPv4 address they embed, and where it sits (bits from the right).
_EMBEDS_IPV4 = {
    ipaddress.ip_network("::ffff:0:0/96"): 0,  # IPv4-mapped
    ipaddress.ip_network("::ffff:0:0:0/96"): 0,  # IPv4-translated
    ipaddress.ip_network("::/96"): 0,  # IPv4-compatible
    ipaddress.ip_network("64:ff9b::/96"): 0,  # NAT64
    ipaddress.ip_network("2002::/16"): 80,  # 6to4
}


def is_public_address(address: str) -> bool:
    """True when the address, or the IPv4 address an IPv6 form embeds, is on the public internet."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in network for network in _BLOCKED if network.version == ip.version):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        for network, shift in _EMBEDS_IPV4.items():
            if ip in network:
                return is_public_address(str(ipaddress.IPv4Address((int(ip) >> shift) & 0xFFFFFFFF)))
    return ip.is_global and not ip.is_multicast


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a URL leads, as the HTTP client reads it."""

    scheme: str
    host: str  # lower-case; IDNA-encoded; an IPv6 address without brackets
    port: int

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.host, self.port


def _clip(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "..."


def _idna(host: str) -> str:
    """The host name as DNS sees it; refused when it cannot be one (a label over 63
    characters, a name over 253, characters IDNA does not allow)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        encoded = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise refused(f"not a valid host name: {_clip(host)}") from None
    if len(encoded.rstrip(".")) > 253 or any(len(label) > 63 for label in encoded.split(".")):
        raise refused(f"not a valid host name: {_clip(host)}")
    return encoded


def parse_target(url: str) -> Target:
    """The scheme, host and port of an http(s) URL. Refused (a final FetchError): another
    scheme, an invalid URL, a host name that cannot exist, and a URL that urllib3 (which
    connects) and the standard library (which other checks use) read as different hosts."""
    try:
        parsed = urllib3.util.parse_url(url)
        split = urllib.parse.urlsplit(url)
        split_host, split_port = split.hostname, split.port
    except (ValueError, urllib3.exceptions.LocationParseError):
        raise refused(f"not a valid URL: {_clip(url)}") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise refused(f"scheme '{_clip(scheme)}' is not http or https")
    host = (parsed.host or "").strip("[]").lower()
    if not host:
        raise refused("no host in the URL")
    host = _idna(host)
    if host != _idna((split_host or "").lower()) or parsed.port != split_port:
        raise refused(f"ambiguous URL, read as two different hosts: {_clip(url)}")
    return Target(scheme, host, parsed.port or (443 if scheme == "https" else 80))


class AddressPolicy:
    """Which addresses may be reached: public ones, every one with `allow_private`, and the
    `opened` endpoints ("http://127.0.0.1:8737": the `serve` folder's own server) exactly."""

    def __init__(self, allow_private: bool = False, opened: Iterable[str] = ()):
        self.allow_private = allow_private
        self.opened = frozenset(parse_target(url).endpoint for url in opened)

    def is_opened(self, target: Target) -> bool:
        return target.endpoint in self.opened

    def check_address(self, address: str, port: int) -> None:
        if self.allow_private or is_public_address(address) or (address, port) in self.opened:
            return
        raise refused(f"non-public address {address} (use --allow-private-network for local feeds)")

    def check_target(self, target: Target) -> None:
        """Every address the target's host resolves to (for a request that a proxy will make:
        judged here, before it leaves)."""
        if self.allow_private or self.is_opened(target):
            return
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"connection failed: cannot resolve {target.host}: {exc}") from None
        for info in infos:
            self.check_address(str(info[4][0]), target.port)
