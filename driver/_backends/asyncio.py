"""asyncio I/O primitives for the async shells in ``driver/_async/``.

The twin of :mod:`driver._backends.sync`: the same names and signatures, with ``async``
where the sync side blocks. ``tools/unasync.py`` turns code written against this module
into code against that one. Everything here belongs to the running event loop and is
not thread-safe (as with :mod:`asyncio` itself).

Waiting with a timeout never starts a task or cancels one: a waiter is a future that
either a wake-up or a ``loop.call_later`` timer resolves, whichever comes first. That
is cheaper than ``asyncio.wait_for`` (a task per wait on 3.10 and 3.11) and leaves
cancellation to the caller. Timeouts are in seconds; ``None`` waits forever, and zero
or less gives up at once without waiting.

Streams are an :class:`asyncio.BufferedProtocol` reading into one
:class:`~driver._backends.base.ReceiveBuffer` per connection. Measured on loopback
(100-byte requests, 200-byte replies, a timeout on every call), it used 1.5 to 3 times
less client CPU per round trip than ``asyncio.open_connection`` streams under
``asyncio.wait_for`` or ``asyncio.timeout``, and less than ``loop.sock_*`` calls,
which register the socket with the selector on every wait; for 1 MB replies, reading
straight into one buffer halved the CPU again.

Example::

    >>> import asyncio
    >>> from driver._backends.asyncio import Condition, Event
    >>> asyncio.run(Event().wait(timeout=0.01))
    False
    >>> async def wait_briefly() -> bool:
    ...     condition = Condition()
    ...     async with condition:
    ...         return await condition.wait(timeout=0.01)
    >>> asyncio.run(wait_briefly())
    False
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from driver._backends import base
from driver._backends.base import AsyncStream as Stream

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

# Stop reading from a socket nobody is receiving from once this much is buffered, so a
# peer that keeps sending cannot fill memory; the next receive resumes reading.
_PAUSE_READING_ABOVE = 4 * 1024 * 1024
# How long close() waits for the transport to report the socket closed.
_CLOSE_WAIT = 5.0


async def sleep(seconds: float) -> None:
    """Suspend the calling task for ``seconds`` (zero or less just yields)."""
    await asyncio.sleep(max(seconds, 0.0))


# Background tasks are referenced here until they end: the loop keeps only weak ones.
_background_tasks: set[asyncio.Task[None]] = set()


def spawn(target: Callable[..., Any], *args: object, name: str) -> None:
    """Run ``target(*args)`` in the background: a task on the running loop.

    The sync backend starts a daemon thread instead. The target must end by itself
    (when what it serves is closed); it is not awaited by anyone.
    """
    loop = asyncio.get_running_loop()  # first: no coroutine is made if there is no loop
    coroutine: Coroutine[Any, Any, None] = target(*args)
    task = loop.create_task(coroutine, name=name)
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    """Wake-up and timer callback: the first value wins (True woken, False timed out)."""
    if not future.done():
        future.set_result(value)


async def _wait(
    waiters: deque[asyncio.Future[bool]],
    timeout: float | None,
    pass_on: Callable[[], None] | None = None,
) -> bool:
    """Queue a waiter and wait for a wake-up (True) or ``timeout`` (False).

    If the task is cancelled after a wake-up was already handed to it, ``pass_on`` runs
    so that the wake-up (a notification, a semaphore permit) is not lost.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bool] = loop.create_future()
    waiters.append(future)
    timer = None if timeout is None else loop.call_later(timeout, _resolve, future, False)
    try:
        return await future
    except BaseException:
        if pass_on is not None and future.done() and not future.cancelled() and future.result():
            pass_on()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        with contextlib.suppress(ValueError):  # already removed
            waiters.remove(future)


class Lock:
    """A mutual-exclusion lock: ``async with lock:``. Not reentrant; FIFO-fair."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()

    async def acquire(self) -> None:
        """Wait until the lock is free, then take it."""
        await self._lock.acquire()

    def release(self) -> None:
        """Release the lock (``RuntimeError`` if it is not held)."""
        self._lock.release()

    def locked(self) -> bool:
        """Whether someone holds the lock."""
        return self._lock.locked()


class Condition:
    """A condition variable over a :class:`Lock` (a new one if none is given).

    ``async with condition:`` takes the lock; :meth:`wait` and the ``notify`` methods
    need it held (``RuntimeError`` otherwise), as with :class:`asyncio.Condition`.
    """

    __slots__ = ("_lock", "_waiters")

    def __init__(self, lock: Lock | None = None) -> None:
        self._lock = lock if lock is not None else Lock()
        self._waiters: deque[asyncio.Future[bool]] = deque()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()

    async def wait(self, timeout: float | None = None) -> bool:
        """Release the lock until notified or ``timeout`` passes, then take it back.

        True if notified, False on timeout. Spurious wake-ups are possible: check the
        state again, or use :meth:`wait_for`. The lock is held again when this returns,
        also when the task is cancelled.
        """
        if not self._lock.locked():
            raise RuntimeError("cannot wait on un-acquired lock")
        if timeout is not None and timeout <= 0:
            return False
        self._lock.release()
        try:
            return await _wait(self._waiters, timeout, self._notify_one)
        finally:
            await self._reacquire()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait until ``predicate()`` is true or ``timeout`` passes; its last value."""
        deadline = None if timeout is None else monotonic() + timeout
        result = predicate()
        while not result:
            remaining = None
            if deadline is not None:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
            await self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters."""
        if not self._lock.locked():
            raise RuntimeError("cannot notify on un-acquired lock")
        woken = 0
        for future in self._waiters:
            if woken >= n:
                break
            if not future.done():
                future.set_result(True)
                woken += 1

    def notify_all(self) -> None:
        """Wake every waiter."""
        self.notify(len(self._waiters))

    def _notify_one(self) -> None:
        # A cancelled waiter passes its notification on; it may not hold the lock.
        for future in self._waiters:
            if not future.done():
                future.set_result(True)
                return

    async def _reacquire(self) -> None:
        # Like asyncio.Condition: the caller must get the lock back even if cancelled
        # meanwhile, or its `async with` would release a lock it does not hold.
        cancelled: asyncio.CancelledError | None = None
        while True:
            try:
                await self._lock.acquire()
                break
            except asyncio.CancelledError as exc:
                cancelled = exc
        if cancelled is not None:
            raise cancelled


class Event:
    """A flag that tasks can wait for: :meth:`set`, :meth:`clear`, :meth:`wait`."""

    __slots__ = ("_flag", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        self._waiters: deque[asyncio.Future[bool]] = deque()

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._flag

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        if not self._flag:
            self._flag = True
            for future in self._waiters:
                _resolve(future, True)

    def clear(self) -> None:
        """Reset the flag."""
        self._flag = False

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set or ``timeout`` passes: True if it was set."""
        if self._flag:
            return True
        if timeout is not None and timeout <= 0:
            return False
        return await _wait(self._waiters, timeout)


class Semaphore:
    """A bounded semaphore: releasing more than was acquired raises ``ValueError``.

    Waiters get permits in the order they asked (a release hands its permit straight
    to the longest waiter).
    """

    __slots__ = ("_bound", "_value", "_waiters")

    def __init__(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"Semaphore value must be >= 0, not {value}")
        self._value = self._bound = value
        self._waiters: deque[asyncio.Future[bool]] = deque()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    async def acquire(self, timeout: float | None = None) -> bool:
        """Take a permit, waiting up to ``timeout``: True if taken, False on timeout."""
        # A free permit means nobody waits: release() hands permits to waiters first.
        if self._value > 0:
            self._value -= 1
            return True
        if timeout is not None and timeout <= 0:
            return False
        return await _wait(self._waiters, timeout, self.release)

    def release(self) -> None:
        """Give a permit back."""
        for future in self._waiters:
            if not future.done():
                future.set_result(True)
                return
        if self._value >= self._bound:
            raise ValueError("Semaphore released too many times")
        self._value += 1


# ------------------------------------------------------------------ streams


class _StreamProtocol(asyncio.BufferedProtocol):
    """Receives into a :class:`~driver._backends.base.ReceiveBuffer` and wakes the reader."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.buffer = base.ReceiveBuffer()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[bool] | None = None
        self.wanted = 0
        self.eof = False
        self.lost = False
        self.lost_error: BaseException | None = None
        self.reading_paused = False
        self.write_paused = False
        self.drain_waiter: asyncio.Future[bool] | None = None
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer.free_space()

    def buffer_updated(self, nbytes: int) -> None:
        self.buffer.advance(nbytes)
        waiter = self.waiter
        if waiter is not None:
            if len(self.buffer) >= self.wanted:
                _resolve(waiter, True)
        elif len(self.buffer) > _PAUSE_READING_ABOVE and not self.reading_paused:
            assert self.transport is not None
            self.reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.lost_error = exc
        self._wake()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.drain_waiter is not None:
            _resolve(self.drain_waiter, True)

    def _wake(self) -> None:
        for future in (self.waiter, self.drain_waiter):
            if future is not None:
                _resolve(future, True)


class _AsyncioStream:
    """A :class:`Stream` over an asyncio transport (plain or TLS).

    One task at a time may receive. After a receive timeout the stream stays open and
    consistent (bytes that arrived stay buffered for the next call); any other error
    closes it.
    """

    __slots__ = ("_closed", "_loop", "_peer", "_protocol", "_transport")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        protocol: _StreamProtocol,
        peer: str,
    ) -> None:
        self._loop = loop
        self._transport = transport
        self._protocol = protocol
        self._peer = peer
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self._peer} {state}>"

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def send_all(self, data: base.Bytes, timeout: float | None) -> None:
        protocol = self._protocol
        if self._closed:
            raise base.closed_error(self._peer, f"sending {len(data)} bytes")
        if protocol.lost or protocol.eof:  # MongoDB never half-closes: the peer is gone
            self._abort()
            error = protocol.lost_error or ConnectionResetError("connection closed by the peer")
            raise base.send_failed(self._peer, len(data), error) from protocol.lost_error
        if timeout is not None and timeout <= 0:
            raise base.send_timeout(self._peer, len(data), timeout)
        self._transport.write(data)
        if protocol.write_paused:  # the kernel did not take it all: wait until it has
            await self._drain(len(data), timeout)

    async def _drain(self, size: int, timeout: float | None) -> None:
        protocol = self._protocol
        future: asyncio.Future[bool] = self._loop.create_future()
        protocol.drain_waiter = future
        timer = None if timeout is None else self._loop.call_later(timeout, _resolve, future, False)
        try:
            await future
        finally:
            protocol.drain_waiter = None
            if timer is not None:
                timer.cancel()
        if protocol.lost:
            self._abort()
            error = protocol.lost_error or ConnectionResetError("connection closed by the peer")
            raise base.send_failed(self._peer, size, error) from protocol.lost_error
        if protocol.write_paused:
            # Part of a message may have gone out: nothing sane can follow it.
            self._abort()
            raise base.send_timeout(self._peer, size, timeout)

    async def receive_exactly(self, n: int, timeout: float | None) -> bytes:
        buffer = self._protocol.buffer
        if len(buffer) >= n:  # a reply that already arrived costs no wait at all
            return buffer.take(n)
        return await self._receive_more(n, timeout)

    async def _receive_more(self, n: int, timeout: float | None) -> bytes:
        protocol = self._protocol
        buffer = protocol.buffer
        if self._closed:
            raise base.closed_error(self._peer, f"receiving {n} bytes")
        if protocol.eof or protocol.lost:
            raise self._lost_while_receiving(n)
        if protocol.waiter is not None:
            raise RuntimeError(f"another task is already receiving from {self._peer}")
        if timeout is not None and timeout <= 0:
            raise base.receive_timeout(self._peer, n, len(buffer), timeout)
        buffer.reserve(n)
        if protocol.reading_paused:
            protocol.reading_paused = False
            self._transport.resume_reading()
        future: asyncio.Future[bool] = self._loop.create_future()
        protocol.waiter = future
        protocol.wanted = n
        timer = None if timeout is None else self._loop.call_later(timeout, _resolve, future, False)
        try:
            await future
        finally:
            protocol.waiter = None
            if timer is not None:
                timer.cancel()
        if len(buffer) >= n:
            return buffer.take(n)
        if protocol.eof or protocol.lost:
            raise self._lost_while_receiving(n)
        raise base.receive_timeout(self._peer, n, len(buffer), timeout)

    def _lost_while_receiving(self, n: int) -> Exception:
        self._abort()
        error = self._protocol.lost_error
        if error is not None:
            failure = base.receive_failed(self._peer, n, error)
            failure.__cause__ = error
            return failure
        return base.receive_eof(self._peer, n, len(self._protocol.buffer))

    def abort(self) -> None:
        self._abort()

    def _abort(self) -> None:
        # abort(), not close(): send_all only returns once the kernel holds every byte,
        # and a TLS close() would wait for the peer's close_notify.
        self._closed = True
        self._transport.abort()

    async def close(self) -> None:
        if not self._closed:
            self._abort()
        closed = self._protocol.closed
        if not closed.done():
            # The transport closes the socket on a later loop iteration: wait for it, so
            # a loop that ends right after close() leaves no socket open.
            await asyncio.wait((closed,), timeout=_CLOSE_WAIT)


async def open_stream(
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

    ``host`` is resolved with ``loop.getaddrinfo`` (IPv4 and IPv6; the loop runs the
    lookup in its default executor thread, the one place a thread is used, and IP
    literals skip it) and each address is tried in turn. ``timeout`` bounds each
    address's connect and then the TLS handshake (name resolution is not bounded; with
    ``timeout=None`` asyncio still bounds the handshake at 60 s). TLS checks the
    certificate and hostname as ``ssl_context`` says, against ``server_hostname``
    (default ``host``).

    Raises :class:`~driver.errors.AutoReconnect` naming the peer and each failure
    (``NetworkTimeout`` if every attempt timed out); a refused certificate says
    ``certificate verify failed: <reason>`` and keeps the ``ssl`` error as
    ``__cause__``.
    """
    peer = base.format_peer(host, port)
    if timeout is not None and timeout <= 0:
        raise base.connect_error(peer, [(peer, TimeoutError())], timeout)
    loop = asyncio.get_running_loop()
    infos: Sequence[base.AddrInfo] | None = base.literal_addrinfo(host, port)
    if infos is None:
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
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
            sock.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(sock, sockaddr), timeout)
        except (OSError, asyncio.TimeoutError) as exc:  # distinct classes on 3.10
            sock.close()
            failures.append((address, exc if isinstance(exc, OSError) else TimeoutError()))
            continue
        except BaseException:
            sock.close()
            raise
        return await _start(loop, sock, peer, timeout, ssl_context, server_hostname or host)
    cause = failures[-1][1] if failures else None
    raise base.connect_error(peer, failures, timeout) from cause


async def open_unix_stream(
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
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, path), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        sock.close()
        error = exc if isinstance(exc, OSError) else TimeoutError()
        raise base.connect_error(path, [(path, error)], timeout) from exc
    except BaseException:
        sock.close()
        raise
    return await _start(loop, sock, path, timeout, ssl_context, server_hostname)


async def _start(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    peer: str,
    timeout: float | None,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str | None,
) -> Stream:
    """Hand a connected socket to a transport, after the TLS handshake if asked for."""

    def protocol_factory() -> _StreamProtocol:
        return _StreamProtocol(loop)

    try:
        if ssl_context is None:
            transport, protocol = await loop.create_connection(protocol_factory, sock=sock)
        else:
            # Our own timeout fires first (asyncio's handshake timeout reports itself as
            # ConnectionAbortedError, which would read as a network failure).
            handshake = loop.create_connection(
                protocol_factory,
                sock=sock,
                ssl=ssl_context,
                server_hostname=server_hostname or "",
                ssl_handshake_timeout=None if timeout is None else timeout + 1.0,
            )
            transport, protocol = await asyncio.wait_for(handshake, timeout)
    except asyncio.TimeoutError as exc:  # before OSError: TimeoutError is one on 3.11+
        sock.close()
        raise base.tls_timeout(peer, timeout) from exc
    except OSError as exc:  # ssl.SSLError, resets and EOFs during the handshake
        sock.close()
        if ssl_context is None:
            raise base.connect_error(peer, [(peer, exc)], timeout) from exc
        raise base.tls_error(peer, exc) from exc
    except BaseException:
        sock.close()
        raise
    # With no high-water mark, send_all waits until the kernel holds every byte (as a
    # blocking sendall does), so close() can abort without losing a sent message.
    transport.set_write_buffer_limits(high=0)
    return _AsyncioStream(loop, transport, protocol, peer)


if TYPE_CHECKING:  # mypy checks that the stream class fits the protocol callers see

    def _conforms(stream: _AsyncioStream) -> Stream:
        return stream


async def resolve_srv(name: str, timeout: float | None) -> list[tuple[str, int]]:
    """``(target, port)`` of every SRV record of ``name`` (none if it has none).

    dnspython's asyncio resolver: the loop keeps running while DNS answers. Other
    DNS failures raise dnspython's own errors.
    """
    import dns.asyncresolver
    import dns.resolver

    try:
        answer = await dns.asyncresolver.resolve(name, "SRV", lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return [(str(record.target), int(record.port)) for record in answer]
