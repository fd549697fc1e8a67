"""Blocking I/O primitives for the generated sync shells in ``driver/_sync/``.

The twin of :mod:`driver._backends.asyncio`: the same names and signatures, without
``async``, so code written against that module becomes valid code against this one
once ``tools/unasync.py`` strips ``await`` and renames the module. Locks and friends
wrap :mod:`threading`; streams are blocking sockets with ``settimeout``. Everything
here is thread-safe except a :class:`Stream`, which one thread uses at a time (a
pooled connection is checked out to one caller).

Timeouts are in seconds; ``None`` waits forever, and zero or less gives up at once
without waiting. Example::

    >>> from driver._backends.sync import Condition, Event, Semaphore
    >>> Event().wait(timeout=0.01)
    False
    >>> condition = Condition()
    >>> with condition:
    ...     condition.wait(timeout=0.01)
    False
    >>> semaphore = Semaphore(1)
    >>> semaphore.acquire(timeout=0), semaphore.acquire(timeout=0)
    (True, False)
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from driver._backends import base
from driver._backends.base import SyncStream as Stream

__all__ = [
    "Condition",
    "Event",
    "Lock",
    "Semaphore",
    "Stream",
    "monotonic",
    "open_stream",
    "open_unix_stream",
    "resolve_srv",
    "sleep",
    "spawn",
]

monotonic = time.monotonic
"""Seconds from a clock that never goes back (the same clock in both backends)."""


def sleep(seconds: float) -> None:
    """Block the calling thread for ``seconds`` (zero or less returns at once)."""
    time.sleep(max(seconds, 0.0))


def spawn(target: Callable[..., Any], *args: object, name: str) -> None:
    """Run ``target(*args)`` in the background: a daemon thread.

    The asyncio backend starts a task instead. The target must end by itself (when
    what it serves is closed); daemon, so it never keeps the interpreter alive.
    """
    threading.Thread(target=target, args=args, name=name, daemon=True).start()


class Lock:
    """A mutual-exclusion lock: ``with lock:``. Not reentrant."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()

    def acquire(self) -> None:
        """Wait until the lock is free, then take it."""
        self._lock.acquire()

    def release(self) -> None:
        """Release the lock (``RuntimeError`` if it is not held)."""
        self._lock.release()

    def locked(self) -> bool:
        """Whether someone holds the lock."""
        return self._lock.locked()


class Condition:
    """A condition variable over a :class:`Lock` (a new one if none is given).

    ``with condition:`` takes the lock; :meth:`wait` and the ``notify`` methods need it
    held (``RuntimeError`` otherwise), as with :class:`threading.Condition`.
    """

    __slots__ = ("_condition", "_lock")

    def __init__(self, lock: Lock | None = None) -> None:
        self._lock = lock if lock is not None else Lock()
        self._condition = threading.Condition(self._lock._lock)

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock until notified or ``timeout`` passes, then take it back.

        True if notified, False on timeout. Spurious wake-ups are possible: check the
        state again, or use :meth:`wait_for`.
        """
        if timeout is not None and timeout <= 0:
            if not self._lock.locked():
                raise RuntimeError("cannot wait on un-acquired lock")
            return False
        return self._condition.wait(timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait until ``predicate()`` is true or ``timeout`` passes; its last value."""
        deadline = None if timeout is None else monotonic() + timeout
        result = predicate()
        while not result:
            remaining = None
            if deadline is not None:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
            self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters."""
        self._condition.notify(n)

    def notify_all(self) -> None:
        """Wake every waiter."""
        self._condition.notify_all()


class Event:
    """A flag that tasks can wait for: :meth:`set`, :meth:`clear`, :meth:`wait`."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._event.is_set()

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        self._event.set()

    def clear(self) -> None:
        """Reset the flag."""
        self._event.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set or ``timeout`` passes: True if it was set."""
        if timeout is not None and timeout <= 0:
            return self._event.is_set()
        return self._event.wait(timeout)


class Semaphore:
    """A bounded semaphore: releasing more than was acquired raises ``ValueError``."""

    __slots__ = ("_semaphore",)

    def __init__(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"Semaphore value must be >= 0, not {value}")
        self._semaphore = threading.BoundedSemaphore(value)

    def __enter__(self) -> None:
        self._semaphore.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._semaphore.release()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a permit, waiting up to ``timeout``: True if taken, False on timeout."""
        if timeout is None:
            return self._semaphore.acquire()
        if timeout <= 0:
            return self._semaphore.acquire(blocking=False)
        return self._semaphore.acquire(timeout=timeout)

    def release(self) -> None:
        """Give a permit back."""
        self._semaphore.release()


# ------------------------------------------------------------------ streams


class _SocketStream:
    """A :class:`Stream` over a blocking socket (plain or TLS).

    After a receive timeout the stream stays open and consistent (bytes that arrived
    stay buffered for the next call); any other error closes it.
    """

    __slots__ = ("_aborted", "_buffer", "_closed", "_peer", "_sock")

    def __init__(self, sock: socket.socket, peer: str) -> None:
        self._sock = sock
        self._peer = peer
        self._buffer = base.ReceiveBuffer()
        self._closed = False
        self._aborted = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self._peer} {state}>"

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def is_closed(self) -> bool:
        return self._closed or self._aborted

    def send_all(self, data: base.Bytes, timeout: float | None) -> None:
        if self._closed:
            raise base.closed_error(self._peer, f"sending {len(data)} bytes")
        if timeout is not None and timeout <= 0:
            raise base.send_timeout(self._peer, len(data), timeout)
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except TimeoutError as exc:
            # Part of a message may have gone out: nothing sane can follow it.
            self.close()
            raise base.send_timeout(self._peer, len(data), timeout) from exc
        except OSError as exc:
            self.close()
            raise base.send_failed(self._peer, len(data), exc) from exc

    def receive_exactly(self, n: int, timeout: float | None) -> bytes:
        buffer = self._buffer
        if len(buffer) >= n:
            return buffer.take(n)
        if self._closed:
            raise base.closed_error(self._peer, f"receiving {n} bytes")
        if timeout is not None and timeout <= 0:
            raise base.receive_timeout(self._peer, n, len(buffer), timeout)
        # settimeout bounds each recv; the deadline bounds the whole call.
        deadline = None if timeout is None else monotonic() + timeout
        sock = self._sock
        buffer.reserve(n)
        try:
            sock.settimeout(timeout)
            while True:
                received = sock.recv_into(buffer.free_space())
                if not received:
                    self.close()
                    raise base.receive_eof(self._peer, n, len(buffer))
                buffer.advance(received)
                if len(buffer) >= n:
                    return buffer.take(n)
                if deadline is not None:
                    remaining = deadline - monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    sock.settimeout(remaining)
        except TimeoutError as exc:
            raise base.receive_timeout(self._peer, n, len(buffer), timeout) from exc
        except OSError as exc:
            self.close()
            raise base.receive_failed(self._peer, n, exc) from exc

    def abort(self) -> None:
        # shutdown(), not close(): another thread may be blocked in recv() on this
        # socket; shutdown wakes it with an error, while closing the descriptor under
        # it could let a new socket take the same number. close() still frees it.
        self._aborted = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()


def open_stream(
    host: str,
    port: int,
    *,
    timeout: float | None,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    keepalive: bool = True,
    nodelay: bool = True,
) -> Stream:
    """Connect to ``host:port`` over TCP, with TLS if ``ssl_context`` is given.

    ``host`` is resolved with :func:`socket.getaddrinfo` (IPv4 and IPv6) and each
    address is tried in turn. ``timeout`` bounds each address's connect and then the
    TLS handshake (name resolution is not bounded). TLS checks the certificate and
    hostname as ``ssl_context`` says, against ``server_hostname`` (default ``host``).

    Raises :class:`~driver.errors.AutoReconnect` naming the peer and each failure
    (``NetworkTimeout`` if every attempt timed out); a refused certificate says
    ``certificate verify failed: <reason>`` and keeps the ``ssl`` error as
    ``__cause__``.
    """
    peer = base.format_peer(host, port)
    if timeout is not None and timeout <= 0:
        raise base.connect_error(peer, [(peer, TimeoutError())], timeout)
    infos: Sequence[base.AddrInfo] | None = base.literal_addrinfo(host, port)
    if infos is None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:  # socket.gaierror
            raise base.resolve_error(peer, host, exc) from exc
    failures: list[tuple[str, BaseException]] = []
    for family, kind, proto, _, sockaddr in infos:
        address = base.format_sockaddr(sockaddr)
        try:
            sock = socket.socket(family, kind, proto)
        except OSError as exc:  # e.g. IPv6 disabled on this host
            failures.append((address, exc))
            continue
        try:
            base.configure_tcp_socket(sock, keepalive=keepalive, nodelay=nodelay)
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            failures.append((address, exc))
            continue
        except BaseException:
            sock.close()
            raise
        return _start(sock, peer, timeout, ssl_context, server_hostname or host)
    cause = failures[-1][1] if failures else None
    raise base.connect_error(peer, failures, timeout) from cause


def open_unix_stream(
    path: str,
    *,
    timeout: float | None,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> Stream:
    """Connect to the Unix domain socket at ``path`` (TLS as in :func:`open_stream`)."""
    family = base.unix_socket_family()
    base.check_server_hostname(ssl_context, server_hostname, path)
    if timeout is not None and timeout <= 0:
        raise base.connect_error(path, [(path, TimeoutError())], timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise base.connect_error(path, [(path, exc)], timeout) from exc
    except BaseException:
        sock.close()
        raise
    return _start(sock, path, timeout, ssl_context, server_hostname)


def _start(
    sock: socket.socket,
    peer: str,
    timeout: float | None,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str | None,
) -> Stream:
    """Wrap a connected socket in a stream, after the TLS handshake if asked for."""
    if ssl_context is None:
        return _SocketStream(sock, peer)
    # wrap_socket takes over the file descriptor: from then on close the wrapper.
    owner = sock
    try:
        owner = ssl_context.wrap_socket(
            sock, server_hostname=server_hostname or None, do_handshake_on_connect=False
        )
        owner.settimeout(timeout)
        owner.do_handshake()
    except TimeoutError as exc:
        owner.close()
        raise base.tls_timeout(peer, timeout) from exc
    except OSError as exc:  # ssl.SSLError, resets and EOFs during the handshake
        owner.close()
        raise base.tls_error(peer, exc) from exc
    except BaseException:
        owner.close()
        raise
    return _SocketStream(owner, peer)


if TYPE_CHECKING:  # mypy checks that the stream class fits the protocol callers see

    def _conforms(stream: _SocketStream) -> Stream:
        return stream


def resolve_srv(name: str, timeout: float | None) -> list[tuple[str, int]]:
    """``(target, port)`` of every SRV record of ``name`` (none if it has none).

    dnspython's blocking resolver (the asyncio backend uses its asyncio one). Other
    DNS failures raise dnspython's own errors.
    """
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "SRV", lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return [(str(record.target), int(record.port)) for record in answer]
