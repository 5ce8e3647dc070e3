"""Connect-time outbound policy: httpx transports that connect only where it permits.

The policy itself (:mod:`consentline.domain.outbound`) is checked twice: at save by
:func:`~consentline.domain.outbound.check_url`, and here, at connect, by
:class:`GuardedTransport` and :class:`AsyncGuardedTransport`: the host is
resolved, EVERY address is checked, and the connection is opened to a checked
address, never to a second lookup of the name, so DNS rebinding cannot get past
it. TLS still verifies the certificate against the URL's host name (SNI and
``Host`` are the URL's). A refusal raises :class:`BlockedConnection` before any
packet is sent to the address.

The transports connect directly: ``HTTP(S)_PROXY`` variables are not used (a proxy
would resolve the name itself, out of the policy's sight).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import anyio.to_thread
import httpcore
import httpx

from consentline.domain.outbound import NOTHING, OutboundAllow, literal_address

__all__ = [
    "LIMITS",
    "AsyncGuardedTransport",
    "BlockedConnection",
    "GuardedTransport",
    "Resolver",
    "guarded_async_client",
    "guarded_client",
    "resolve_host",
]

# ``(host, port)`` -> the addresses to connect to, as strings (getaddrinfo's answer).
Resolver = Callable[[str, int], Sequence[str]]

LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class BlockedConnection(httpx.ConnectError):
    """The policy refused to connect: the host resolved to an address it blocks.

    A subclass of :class:`httpx.ConnectError`, so code that handles "could not
    connect" handles it too; nothing was sent to the address.
    """


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as connecting would)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _checked(host: str, port: int, allow: OutboundAllow, resolve: Resolver) -> list[str]:
    """The addresses to connect to for ``host``: all of them allowed, or an error."""
    if allow.permits_host(host):
        return [host]  # listed by name: trusted whatever it resolves to
    literal = literal_address(host)
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            found = list(resolve(host, port))
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(
                f"cannot resolve the host: {type(error).__name__}"
            ) from None
    if not found:
        raise httpcore.ConnectError("the host has no address")
    for text in found:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise BlockedConnection("the host resolved to something not an address") from None
        reason = allow.refuses(address)
        if reason is not None:
            raise BlockedConnection(f"destination not allowed: a {reason} address")
    return found


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, connecting only to addresses the policy allows."""

    def __init__(self, allow: OutboundAllow, resolve: Resolver) -> None:
        self._allow = allow
        self._resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in _checked(host, port, self._allow, self._resolve):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed  # try the next address, as socket.create_connection does
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedConnection("unix sockets are not an outbound destination")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    """The same for async clients (asyncio or trio, through anyio)."""

    def __init__(self, allow: OutboundAllow, resolve: Resolver) -> None:
        self._allow = allow
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await anyio.to_thread.run_sync(_checked, host, port, self._allow, self._resolve)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedConnection("unix sockets are not an outbound destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs milliseconds: once per process, not once per client.
    return httpx.create_ssl_context(trust_env=False)


def _ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    return _default_ssl_context() if verify else httpx.create_ssl_context(verify=False)


# httpx 0.28 builds its connection pool itself and takes no network backend (an open
# httpx pull request adds the argument); httpcore's pool does, as documented public
# API. So the transports below are httpx's own, with their pool rebuilt around the
# guarded backend: request and response handling, and the mapping of httpcore's
# errors to httpx's, stay httpx's.


def _pool_options(context: ssl.SSLContext, limits: httpx.Limits) -> dict[str, Any]:
    """What httpx would give its own httpcore pool (both transports share it)."""
    return {
        "ssl_context": context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, connecting only where ``allow`` and the policy permit."""

    def __init__(
        self,
        allow: OutboundAllow = NOTHING,
        *,
        resolve: Resolver = resolve_host,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = LIMITS,
    ) -> None:
        context = _ssl_context(verify)
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            **_pool_options(context, limits), network_backend=_GuardedBackend(allow, resolve)
        )


class AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    """The async twin of :class:`GuardedTransport`."""

    def __init__(
        self,
        allow: OutboundAllow = NOTHING,
        *,
        resolve: Resolver = resolve_host,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = LIMITS,
    ) -> None:
        context = _ssl_context(verify)
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            **_pool_options(context, limits),
            network_backend=_AsyncGuardedBackend(allow, resolve),
        )


def guarded_client(
    allow: OutboundAllow = NOTHING,
    *,
    timeout: float,
    resolve: Resolver = resolve_host,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """An :class:`httpx.Client` under the policy, never following redirects."""
    transport = GuardedTransport(allow, resolve=resolve, verify=verify)
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )


def guarded_async_client(
    allow: OutboundAllow = NOTHING,
    *,
    timeout: float,
    resolve: Resolver = resolve_host,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """An :class:`httpx.AsyncClient` under the policy, never following redirects."""
    transport = AsyncGuardedTransport(allow, resolve=resolve, verify=verify)
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )
