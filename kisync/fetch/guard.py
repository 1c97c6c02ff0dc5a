"""The SSRF guard: sources may not reach loopback, private or otherwise internal addresses.

A source URL comes from config or from the admin API, and a redirect can come
from anyone. Without the guard, kisync could be made to fetch the operator's
internal services (cloud metadata at 169.254.169.254, an admin panel on
127.0.0.1) and hand their answers to the parser.

Two checks, because aiohttp takes two paths to an address:
- host names go through the connector's resolver, so ``GuardedResolver``
  filters every address the name resolves to (after DNS, so a name pointing at
  10.0.0.1 is caught too);
- IP literals skip the resolver, so ``AddressGuard.check_url`` looks at the
  URL's host before every request, the first and each redirect hop.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from kisync.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_HOW_TO_ALLOW = "set fetch.allow_private_networks: true to allow sources on private networks"
# RFC 6598 shared address space: carrier-grade NAT, internal to a provider.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# RFC 6052 NAT64 well-known prefix: the last 32 bits are the IPv4 address reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def refusal_reason(address: str | IPAddress) -> str | None:
    """Why ``address`` may not be fetched from (e.g. ``"loopback"``), or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"  # fail closed: what we cannot classify we do not connect to
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        # ::ffff:127.0.0.1 connects to 127.0.0.1: judge the address actually reached.
        reason = refusal_reason(embedded)
        return f"{reason} ({embedded} inside {ip})" if reason else None
    checks = [
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address("255.255.255.255"), "broadcast"),
        (ip in _CGNAT, "carrier-grade NAT (shared address space)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        # Whatever else IANA marks as not globally reachable (documentation ranges, 6to4 relays, …).
        (not ip.is_global, "not globally reachable"),
    ]
    return next((reason for hit, reason in checks if hit), None)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL host names literally, or None for a host name.

    Legacy IPv4 spellings (``127.1``, ``0x7f.1``, ``2130706433``) count as
    literals: socket libraries accept them, so must the guard.
    """
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class AddressGuard:
    """Decides whether an (address, port) may be connected to.

    ``allowed`` lets exact (address, port) pairs through although they are
    private: the tests' servers live on loopback. Production code never passes
    it; the operator's switch is ``fetch.allow_private_networks``.
    """

    def __init__(self, allowed: Iterable[tuple[str, int]] = ()) -> None:
        self._allowed = {(ipaddress.ip_address(address), port) for address, port in allowed}

    def check_address(self, address: str, port: int, *, host: str) -> None:
        """Raise FetchError when ``address`` (what ``host`` resolved to) is refused."""
        try:
            ip: IPAddress | str = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            ip = address
        if not isinstance(ip, str) and (ip, port) in self._allowed:
            return
        reason = refusal_reason(ip)
        if reason is None:
            return
        name = f"host {host} resolves to {address}, which" if host != address else f"address {address}"
        raise FetchError(f"{name} is {reason}: refused by the SSRF guard ({_HOW_TO_ALLOW})")

    def check_url(self, url: URL) -> None:
        """Check an IP-literal host before connecting; host names are checked by ``GuardedResolver``."""
        host = url.raw_host or ""
        ip = ip_literal(host)
        if ip is not None:
            self.check_address(str(ip), url.port or 0, host=host.strip("[]"))


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then refuses the lot if any address is refused.

    Refusing when *any* address is internal (not only when all are) closes the
    DNS trick of mixing a public and a private record and hoping the client
    tries the private one.
    """

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self._guard.check_address(result["host"], result["port"] or port, host=host)
        return results

    async def close(self) -> None:
        await self._inner.close()
