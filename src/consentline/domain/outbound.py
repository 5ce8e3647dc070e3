"""Where consentline may send HTTP requests: one policy for every outbound URL.

consentline calls out to URLs that tenant admins choose: a provider's
``upstream_base_url`` (the Twilio-compatible gateway forwards sends there with the
stored credentials; reply delivery sends through it) and outbound webhook
subscriptions. Without a policy, an admin could point them at the installation's
own network (``127.0.0.1``, ``10.0.0.0/8``, ``169.254.169.254`` ...) and use
consentline to reach it. So, by default, only globally routable addresses are
allowed, twice over:

* **at save** (:func:`check_url`): the URL must be http(s), without credentials,
  and a literal IP address (any notation, ``http://2130706433/`` included) or a
  name such as ``localhost`` that is not public is refused with
  :class:`BlockedDestination` (422, naming the field). Other names are not looked
  up at save (DNS may change, or be down);
* **at connect** (:mod:`consentline.providers.transport`): the
  host is resolved, EVERY address is checked, and the connection is opened to a
  checked address, never to a second lookup of the name, so DNS rebinding cannot
  get past it. TLS still verifies the certificate against the URL's host name
  (SNI and ``Host`` are the URL's). A refusal raises :class:`BlockedConnection`
  before any packet is sent to the address.

Refused: unspecified, loopback, link-local (which holds the cloud metadata
address ``169.254.169.254``), multicast, private (RFC 1918, ``fc00::/7``, and the
other special-purpose ranges the stdlib lists), shared address space (CGNAT,
``100.64.0.0/10``), reserved and every other address the stdlib ``ipaddress``
module says is not global; IPv4 embedded in IPv6 (``::ffff:127.0.0.1``, 6to4,
NAT64 ``64:ff9b::/96``) is judged by its IPv4 address.

An installation (tests, an on-premises relay) allows more with
``CONSENTLINE_OUTBOUND_ALLOW``: comma-separated host names and IP addresses or
CIDR ranges (``127.0.0.0/8,sms-relay.corp``), parsed by
:meth:`OutboundAllow.parse` in :mod:`consentline.settings` and passed to whatever
saves or sends. A listed name is allowed whatever it resolves to; a listed range
lets its addresses through.

This module is the policy alone (standard library only): what a URL may be, which
addresses are refused and what an installation allows. The connect-time
transports that apply it to every connection are in
:mod:`consentline.providers.transport`.

>>> allow = OutboundAllow.parse("127.0.0.0/8")
>>> check_url("http://127.0.0.1:8080/hooks", field="url", allow=allow)
'http://127.0.0.1:8080/hooks'
>>> check_url("http://169.254.169.254/latest", field="url", allow=allow)
Traceback (most recent call last):
...
consentline.domain.errors.BlockedDestination: url points at a non-public address (link-local); ...
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

from consentline.domain.errors import BlockedDestination, InvalidInput

__all__ = [
    "ENV",
    "MAX_URL",
    "NOTHING",
    "Address",
    "BlockedDestination",
    "OutboundAllow",
    "blocked_reason",
    "check_url",
    "literal_address",
]

ENV: Final = "CONSENTLINE_OUTBOUND_ALLOW"
MAX_URL: Final = 2048

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
# Names that mean this machine, or a cloud metadata service, wherever they resolve.
_LOCAL_NAMES: Final = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
)
_METADATA_NAMES: Final = frozenset({"metadata.google.internal", "metadata"})
_LABEL: Final = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_LEGACY_IPV4: Final = re.compile(r"[0-9][0-9a-fx.]*")
# Characters no URL holds as such (RFC 3986): controls, space and backslash. Parsers
# disagree about them (WHATWG reads "\\" as "/", some strip tabs), so they are
# refused rather than guessed at: what is checked must be what is connected to.
_NOT_IN_URLS: Final = re.compile(r"[\x00-\x20\x7f\\]")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_CHECKS: Final[tuple[tuple[str, Callable[[Address], bool]], ...]] = (
    ("unspecified", lambda a: a.is_unspecified),
    ("loopback", lambda a: a.is_loopback),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("shared (CGNAT)", lambda a: a in _CGNAT),
    ("private", lambda a: a.is_private),
    ("reserved", lambda a: a.is_reserved),
    ("site-local", lambda a: isinstance(a, ipaddress.IPv6Address) and a.is_site_local),
    ("non-global", lambda a: not a.is_global),
)


def blocked_reason(address: Address) -> str | None:
    """Why ``address`` is refused by default (``"loopback"``, ``"private"`` ...), or None.

    >>> blocked_reason(ipaddress.ip_address("::ffff:10.0.0.1")), blocked_reason(
    ...     ipaddress.ip_address("8.8.8.8"))
    ('private', None)
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return blocked_reason(embedded)
    for reason, test in _CHECKS:
        if test(address):
            return reason
    return None


def _normal_host(host: str) -> str:
    return host.lower().removesuffix(".")


def _host_name(text: str) -> str | None:
    """``text`` as a lower-case ASCII host name (IDNA for other scripts), or None."""
    try:
        name = _normal_host(text.strip()).encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():
        return None  # "300.1.2.3" is no name (no top-level domain is numeric) nor address
    return name


def literal_address(host: str) -> Address | None:
    """The address a host written as an IP address stands for (legacy forms too)."""
    bare = host.removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    # ``127.1``, ``2130706433``, ``0x7f.0.0.1``: what the C resolver accepts as IPv4.
    if _LEGACY_IPV4.fullmatch(bare.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class OutboundAllow:
    """The installation's exceptions to the policy: ranges and host names.

    >>> allow = OutboundAllow.parse("127.0.0.0/8, ::1, relay.corp.")
    >>> str(allow)
    '127.0.0.0/8,::1/128,relay.corp'
    >>> allow.permits_address(ipaddress.ip_address("::ffff:127.0.0.2"))
    True
    """

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> OutboundAllow:
        """Comma-separated host names, IP addresses and CIDR ranges; ValueError naming
        the first entry that is none of these."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                continue
            try:
                networks.append(
                    ipaddress.ip_network(item.removeprefix("[").removesuffix("]"), strict=False)
                )
                continue
            except ValueError:
                pass
            name = _host_name(item)
            if name is None or literal_address(name) is not None:
                raise ValueError(f"{item!r} is not a host name, an IP address or a CIDR range")
            hosts.add(name)
        return cls(tuple(dict.fromkeys(networks)), frozenset(hosts))

    def permits_host(self, host: str) -> bool:
        """Is ``host`` (a name from a URL) listed by name?"""
        return bool(self.hosts) and _normal_host(host) in self.hosts

    def permits_address(self, address: Address) -> bool:
        """Is ``address`` (or the IPv4 address inside it) in a listed range?"""
        candidates: list[Address] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                candidates.append(embedded)
        return any(
            a in net for a in candidates for net in self.networks if a.version == net.version
        )

    def refuses(self, address: Address) -> str | None:
        """Why connecting to ``address`` is refused, or None if it is allowed."""
        return None if self.permits_address(address) else blocked_reason(address)

    def __str__(self) -> str:
        return ",".join([*(str(n) for n in self.networks), *sorted(self.hosts)])


NOTHING: Final = OutboundAllow()  # the default: no exception to the policy


def check_url(url: object, *, field: str, allow: OutboundAllow, base: bool = False) -> str:
    """``url`` if it is an http(s) URL consentline may send to, else a typed 422.

    :class:`~consentline.domain.errors.InvalidInput` (naming ``field``) for a URL that
    is not one (see :func:`check_url_shape`); :class:`BlockedDestination` for a host
    that is an address the policy refuses or a local name. Whatever passes is read
    the same way by httpx, which connects (a test holds the two parsers to that), and
    the connect-time transports check the addresses again.
    """
    parts = check_url_shape(url, field=field, base=base)
    assert parts.hostname is not None  # check_url_shape insists on a host
    _check_host(parts.hostname, field=field, allow=allow)
    return str(url)  # as given: a str, or check_url_shape had refused it


def check_url_shape(url: object, *, field: str, base: bool = False) -> SplitResult:
    """The one reading of an http(s) URL: its parts, or :class:`InvalidInput`.

    Refused: anything unparsable, a control character, space or backslash in it, a
    scheme other than http(s), no host, a bad port, user:password in it, a
    ``#fragment``, and with ``base`` a ``?query``. Where the URL points is not
    judged here (:func:`check_url` does that for URLs consentline calls; the
    installation's own public URL may well be private).
    """
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        raise InvalidInput(
            f"{field} must be an http(s) URL of at most {MAX_URL} characters", field=field
        )
    try:
        url.encode("utf-8")  # a lone surrogate cannot be sent
        if _NOT_IN_URLS.search(url):
            raise ValueError("a character no URL holds")
        parts = urlsplit(url)
        host = parts.hostname  # lower case, without the brackets of an IPv6 address
    except ValueError:  # UnicodeError included
        raise InvalidInput(f"{field} is not a valid URL", field=field) from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput(
            f"{field} must start with http:// or https:// and name a host", field=field
        )
    port = _port(parts.netloc)
    if port is None:
        raise InvalidInput(f"{field} is not a valid URL", field=field)
    if port and not 0 < int(port) < 65536:
        raise InvalidInput(f"{field} has a port out of range", field=field)
    if "@" in parts.netloc:
        raise InvalidInput(f"{field} must not carry credentials (user:password@)", field=field)
    if "#" in url:
        raise InvalidInput(f"{field} must not have a #fragment", field=field)
    if base and parts.query:
        raise InvalidInput(f"{field} is a base URL: it must not have a ?query", field=field)
    return parts


def _port(netloc: str) -> str | None:
    """The port digits of ``host[:port]`` ("" for none), or None if they are not digits."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # "[v6]" or "[v6]:port", nothing else after the bracket
        after_host = hostport.partition("]")[2]
        if after_host and not after_host.startswith(":"):
            return None
    elif "[" in hostport or "]" in hostport:
        return None
    else:
        after_host = hostport
    digits = after_host.rpartition(":")[2] if ":" in after_host else ""
    return digits if not digits or (digits.isascii() and digits.isdigit()) else None


def _check_host(host: str, *, field: str, allow: OutboundAllow) -> None:
    if allow.permits_host(host):
        return
    if "%" in host:
        raise InvalidInput(f"{field} has a host with % escapes or a zone id", field=field)
    address = literal_address(host)
    if address is None:
        name = _host_name(host)
        if name is None:
            raise InvalidInput(f"{field} does not name a valid host", field=field)
        if name in _LOCAL_NAMES or name.endswith(".localhost"):
            reason = "loopback"
        elif name in _METADATA_NAMES:
            reason = "metadata service"
        else:
            return  # a public-looking name: its addresses are checked at connect time
    else:
        found = allow.refuses(address)
        if found is None:
            return
        reason = found
    raise BlockedDestination(
        f"{field} points at a non-public address ({reason}); outbound requests go to "
        f"public hosts only (an installation can allow more with {ENV})",
        field=field,
        reason=reason,
    )
