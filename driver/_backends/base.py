"""What the asyncio and sync backends share: stream protocols, buffers, sockets, errors.

Both backends build their error messages here, so a timeout or a lost connection reads
the same from ``MongoClient`` and ``AsyncMongoClient``: it names the peer, what was being
done, and the timeout or how far it got. Example::

    >>> from driver._backends.base import format_peer, receive_timeout
    >>> format_peer("::1", 27017)
    '[::1]:27017'
    >>> str(receive_timeout("db.example:27017", 16, 0, 1.5))
    'timed out after 1.5s receiving 16 bytes from db.example:27017 (got 0)'
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Sequence
from typing import Any, Protocol

from driver.errors import AutoReconnect, ConfigurationError, NetworkTimeout

__all__ = [
    "AddrInfo",
    "AsyncStream",
    "Bytes",
    "ReceiveBuffer",
    "SyncStream",
    "check_server_hostname",
    "closed_error",
    "configure_tcp_socket",
    "connect_error",
    "format_peer",
    "format_sockaddr",
    "literal_addrinfo",
    "receive_eof",
    "receive_failed",
    "receive_timeout",
    "resolve_error",
    "send_failed",
    "send_timeout",
    "tls_error",
    "tls_timeout",
    "unix_socket_family",
]

Bytes = bytes | bytearray | memoryview
"""What ``send_all`` accepts."""

AddrInfo = tuple[int, int, int, str, Any]
"""One entry of :func:`socket.getaddrinfo`: family, type, proto, canonname, sockaddr."""

# PyMongo's keepalive ceilings: idle connections behind NATs and load balancers get
# dropped silently after a few minutes, so probe sooner than the OS default (often 2 h).
_KEEPALIVE_CEILINGS = (("TCP_KEEPIDLE", 120), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 9))

# Receive buffer sizes. A request/reply connection mostly holds one small reply, so
# start small enough for hundreds of pooled connections, read at least _MIN_READ at a
# time (fewer syscalls), and drop a buffer a large reply grew once it is empty again.
_INITIAL_BUFFER = 64 * 1024
_MIN_READ = 16 * 1024
_SHRINK_ABOVE = 1024 * 1024


class SyncStream(Protocol):
    """A connected byte stream, blocking (what :mod:`driver._backends.sync` returns)."""

    @property
    def peer(self) -> str:
        """The address as the caller named it: ``host:port``, ``[v6]:port`` or a path."""
        ...

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` ran, or an error closed the stream."""
        ...

    def send_all(self, data: Bytes, timeout: float | None) -> None:
        """Send every byte within ``timeout`` seconds (``None``: no limit)."""
        ...

    def receive_exactly(self, n: int, timeout: float | None) -> bytes:
        """Receive exactly ``n`` bytes within ``timeout`` seconds (``None``: no limit)."""
        ...

    def abort(self) -> None:
        """Break the stream now, from any thread: a blocked receive or send fails.

        For interrupting a connection another thread is using; :meth:`close` is still
        needed to free it.
        """
        ...

    def close(self) -> None:
        """Close the stream; closing twice is harmless."""
        ...


class AsyncStream(Protocol):
    """A connected byte stream, asyncio (what :mod:`driver._backends.asyncio` returns)."""

    @property
    def peer(self) -> str:
        """The address as the caller named it: ``host:port``, ``[v6]:port`` or a path."""
        ...

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` ran, or an error closed the stream."""
        ...

    async def send_all(self, data: Bytes, timeout: float | None) -> None:
        """Send every byte within ``timeout`` seconds (``None``: no limit)."""
        ...

    async def receive_exactly(self, n: int, timeout: float | None) -> bytes:
        """Receive exactly ``n`` bytes within ``timeout`` seconds (``None``: no limit)."""
        ...

    def abort(self) -> None:
        """Break the stream now, from any task: a pending receive or send fails.

        For interrupting a connection another task is using; :meth:`close` is still
        needed to free it.
        """
        ...

    async def close(self) -> None:
        """Close the stream; closing twice is harmless."""
        ...


class ReceiveBuffer:
    """Received bytes not yet consumed: one ``bytearray`` with a read and a write offset.

    The socket reads straight into :meth:`free_space` (no per-read ``bytes`` objects),
    and :meth:`take` copies exactly one reply out. The array is never resized in place
    (only replaced), so a memoryview that a transport still holds cannot break it.
    """

    __slots__ = ("_data", "_end", "_start")

    def __init__(self) -> None:
        self._data = bytearray(_INITIAL_BUFFER)
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    def take(self, n: int) -> bytes:
        """Remove and return the first ``n`` bytes; the caller checked ``len(self) >= n``."""
        start = self._start
        data = bytes(memoryview(self._data)[start : start + n])
        start += n
        if start == self._end:
            self._start = self._end = 0
            if len(self._data) > _SHRINK_ABOVE:
                self._data = bytearray(_INITIAL_BUFFER)
        else:
            self._start = start
        return data

    def reserve(self, n: int) -> None:
        """Make room for ``n`` unread bytes in a row, so a large reply is read in place."""
        if len(self._data) - self._start < n:
            self._relayout(n)

    def free_space(self) -> memoryview:
        """Writable space after the unread bytes (at least ``_MIN_READ`` bytes)."""
        if len(self._data) - self._end < _MIN_READ:
            self._relayout(len(self) + _MIN_READ)
        return memoryview(self._data)[self._end :]

    def advance(self, nbytes: int) -> None:
        """Record that ``nbytes`` were written into :meth:`free_space`."""
        self._end += nbytes

    def _relayout(self, capacity: int) -> None:
        unread = self._end - self._start
        if capacity <= len(self._data):
            # Same-length slice assignment moves bytes without resizing the array.
            self._data[:unread] = self._data[self._start : self._end]
        else:
            grown = bytearray(max(capacity, 2 * len(self._data)))
            grown[:unread] = memoryview(self._data)[self._start : self._end]
            self._data = grown
        self._start, self._end = 0, unread


# ------------------------------------------------------------------ addresses, sockets


def format_peer(host: str, port: int) -> str:
    """``host:port``, with IPv6 literals in brackets as in connection strings."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_sockaddr(sockaddr: Any) -> str:
    """A resolved socket address as ``ip:port`` (or the path of a Unix socket)."""
    if isinstance(sockaddr, tuple):
        return format_peer(str(sockaddr[0]), int(sockaddr[1]))
    return str(sockaddr)


def literal_addrinfo(host: str, port: int) -> list[AddrInfo] | None:
    """The one address of an IPv4/IPv6 literal, or ``None`` if ``host`` needs DNS.

    Skips the resolver for the common ``127.0.0.1`` / ``::1`` hosts; the async backend
    would otherwise hand each lookup to the event loop's executor thread.
    """
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        sockaddr: tuple[Any, ...] = (host, port) if family == socket.AF_INET else (host, port, 0, 0)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
    return None


def configure_tcp_socket(sock: socket.socket, *, keepalive: bool, nodelay: bool) -> None:
    """Apply ``TCP_NODELAY`` and keepalive (with PyMongo's ceilings on the timers)."""
    if nodelay:
        # Requests are written whole; Nagle would only hold the last segment back.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not keepalive:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, ceiling in _KEEPALIVE_CEILINGS:
        option = getattr(socket, name, None)
        if option is None:  # not on this platform
            continue
        try:
            if sock.getsockopt(socket.IPPROTO_TCP, option) > ceiling:
                sock.setsockopt(socket.IPPROTO_TCP, option, ceiling)
        except OSError:  # some sandboxes refuse these options; keepalive still works
            pass


def unix_socket_family() -> socket.AddressFamily:
    """``AF_UNIX``, or a :class:`ConfigurationError` where the platform lacks it."""
    family = getattr(socket, "AF_UNIX", None)
    if family is None:
        raise ConfigurationError("Unix domain sockets are not supported on this platform")
    return family  # type: ignore[no-any-return]


def check_server_hostname(
    ssl_context: ssl.SSLContext | None, server_hostname: str | None, peer: str
) -> None:
    """Refuse TLS with hostname checking but no name to check, before connecting."""
    if ssl_context is not None and ssl_context.check_hostname and not server_hostname:
        raise ConfigurationError(
            f"TLS to {peer} checks the server's hostname, so server_hostname is required"
        )


# ------------------------------------------------------------------ errors


def _seconds(timeout: float | None) -> str:
    return "no timeout" if timeout is None else f"{timeout:g}s"


def receive_timeout(peer: str, n: int, got: int, timeout: float | None) -> NetworkTimeout:
    """Receiving ``n`` bytes took longer than ``timeout``."""
    return NetworkTimeout(
        f"timed out after {_seconds(timeout)} receiving {n} bytes from {peer} (got {got})"
    )


def receive_eof(peer: str, n: int, got: int) -> AutoReconnect:
    """The peer closed the connection before ``n`` bytes arrived."""
    return AutoReconnect(f"connection closed by {peer} while receiving {n} bytes (got {got})")


def receive_failed(peer: str, n: int, error: BaseException) -> AutoReconnect:
    """Receiving failed with an OS or TLS error (reset, ...)."""
    return AutoReconnect(
        f"connection to {peer} failed while receiving {n} bytes: {_describe(error)}"
    )


def send_timeout(peer: str, n: int, timeout: float | None) -> NetworkTimeout:
    """Sending ``n`` bytes took longer than ``timeout``."""
    return NetworkTimeout(f"timed out after {_seconds(timeout)} sending {n} bytes to {peer}")


def send_failed(peer: str, n: int, error: BaseException) -> AutoReconnect:
    """Sending failed with an OS or TLS error (reset, broken pipe, ...)."""
    return AutoReconnect(f"connection to {peer} failed while sending {n} bytes: {_describe(error)}")


def closed_error(peer: str, doing: str) -> AutoReconnect:
    """The stream was already closed (by :meth:`close` or an earlier error)."""
    return AutoReconnect(f"connection to {peer} is closed (while {doing})")


def resolve_error(peer: str, host: str, error: BaseException) -> AutoReconnect:
    """DNS could not resolve ``host``."""
    return AutoReconnect(f"could not connect to {peer}: cannot resolve {host!r}: {error}")


def connect_error(
    peer: str, failures: Sequence[tuple[str, BaseException]], timeout: float | None
) -> AutoReconnect:
    """Every address of ``peer`` failed; ``failures`` pairs each address with its error.

    A :class:`NetworkTimeout` if every attempt timed out, otherwise an
    :class:`AutoReconnect` (e.g. ``[Errno 111] Connection refused``).
    """
    if failures and all(isinstance(error, TimeoutError) for _, error in failures):
        tried = ", ".join(address for address, _ in failures)
        return NetworkTimeout(
            f"timed out after {_seconds(timeout)} connecting to {peer} (tried {tried})"
        )
    if len(failures) == 1:
        return AutoReconnect(f"could not connect to {peer}: {_describe(failures[0][1])}")
    detail = "; ".join(f"{address}: {_describe(error)}" for address, error in failures)
    return AutoReconnect(f"could not connect to {peer}: {detail or 'no addresses'}")


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError) and error.errno:
        # asyncio words the same errno differently ("Connect call failed ..."): say it
        # the way the OS does, so both clients give one message.
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return str(error) or type(error).__name__


def tls_error(peer: str, error: BaseException) -> AutoReconnect:
    """The TLS handshake failed; certificate problems say why the certificate was refused."""
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or error.reason or str(error)
        return AutoReconnect(
            f"TLS handshake with {peer} failed: certificate verify failed: {reason}"
        )
    if isinstance(error, ssl.SSLError):
        return AutoReconnect(f"TLS handshake with {peer} failed: {error.reason or error}")
    return AutoReconnect(f"TLS handshake with {peer} failed: {_describe(error)}")


def tls_timeout(peer: str, timeout: float | None) -> NetworkTimeout:
    """The TLS handshake took longer than ``timeout``."""
    return NetworkTimeout(f"timed out after {_seconds(timeout)} in the TLS handshake with {peer}")
