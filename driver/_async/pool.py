"""A pool of connections to one server, after the connection-monitoring-and-pooling spec.

- At most ``max_pool_size`` connections (in use + idle + being opened), at most
  ``max_connecting`` being opened at once; connections are opened outside the pool's
  lock, so a slow server never blocks check-ins.
- A FIFO wait queue: operations get connections in the order they asked (only the head
  of the queue may take one), each wait bounded by ``wait_queue_timeout``.
- States: *paused* (new, or after :meth:`~AsyncPool.clear`: check-outs fail with
  PoolClearedError until monitoring finds the server healthy and calls
  :meth:`~AsyncPool.ready`), *ready*, and *closed*.
- A ``generation`` that ``clear()`` bumps: idle connections of older generations are
  closed, in-use ones are closed at check-in, or at once with
  ``interrupt_in_use_connections=True``. Connections idle longer than
  ``max_idle_time`` perish too.
- A background task (a thread for the sync pool) keeps ``min_pool_size`` connections
  open and prunes perished idle ones.
- Events for every step go to the client's ``ConnectionPoolListener``\\ s.

Example (needs a server)::

    pool = AsyncPool(("127.0.0.1", 27017), ConnectionSettings(), PoolOptions(max_pool_size=10))
    await pool.ready()
    async with pool.connection(timeout=5.0) as conn:
        await conn.command("admin", {"ping": 1})
    await pool.close()
"""

from __future__ import annotations

import logging
import os
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from driver import monitoring as m
from driver._async.connection import Address, AsyncConnection, ConnectionSettings, format_address
from driver._backends.asyncio import Condition, Event, Lock, monotonic, spawn
from driver.errors import (
    ConnectionFailure,
    PoolClearedError,
    PoolClosedError,
    WaitQueueTimeoutError,
)

__all__ = ["AsyncPool", "PoolOptions"]

_log = logging.getLogger("driver.pool")

Opener = Callable[..., Awaitable[AsyncConnection]]

_PAUSED, _READY, _CLOSED = "paused", "ready", "closed"


@dataclass(frozen=True)
class PoolOptions:
    """Pool limits, from ``maxPoolSize``, ``minPoolSize``, ``maxIdleTimeMS``...

    ``background_interval`` is the pause (seconds) between two runs of the background
    task that fills the pool to ``min_pool_size`` and drops idle connections; ``None``
    never runs it. The task only starts when there is such work to do.
    """

    max_pool_size: int = 100
    min_pool_size: int = 0
    max_connecting: int = 2
    max_idle_time: float | None = None
    wait_queue_timeout: float | None = None
    background_interval: float | None = 10.0

    def non_default_options(self) -> dict[str, Any]:
        """The options that differ from the defaults, by their URI names (for events)."""
        found: dict[str, Any] = {}
        default = _DEFAULT_OPTIONS
        if self.max_pool_size != default.max_pool_size:
            found["maxPoolSize"] = self.max_pool_size
        if self.min_pool_size != default.min_pool_size:
            found["minPoolSize"] = self.min_pool_size
        if self.max_connecting != default.max_connecting:
            found["maxConnecting"] = self.max_connecting
        if self.max_idle_time is not None:
            found["maxIdleTimeMS"] = round(self.max_idle_time * 1000)
        if self.wait_queue_timeout is not None:
            found["waitQueueTimeoutMS"] = round(self.wait_queue_timeout * 1000)
        return found


_DEFAULT_OPTIONS = PoolOptions()


@dataclass(slots=True, eq=False)
class _Reservation:
    """A place in the pool for a connection that is being opened."""

    connection_id: int
    generation: int
    conn: AsyncConnection | None = None  # once its socket is open, for interrupting
    interrupted: bool = False  # cleared with interruptInUseConnections while opening


class AsyncPool:
    """Connections to one server, shared by every operation of a client."""

    def __init__(
        self,
        address: Address,
        settings: ConnectionSettings,
        options: PoolOptions,
        *,
        listeners: Iterable[m.ConnectionPoolListener] = (),
        opener: Opener | None = None,
    ) -> None:
        self.address = address
        self.settings = settings
        self.options = options
        self.generation = 0
        self._listeners = tuple(listeners)
        self._opener: Opener = opener if opener is not None else AsyncConnection.open
        self._lock = Lock()
        self._state = _PAUSED
        self._idle: deque[AsyncConnection] = deque()
        self._in_use: set[AsyncConnection] = set()
        self._opening: set[_Reservation] = set()
        self._interrupted: set[int] = set()  # ids whose close event was already sent
        self._waiters: deque[Condition] = deque()  # the wait queue; the head goes first
        self._total = 0  # in use + idle + being opened
        self._pending = 0  # being opened
        self._next_id = 1
        self._pid = os.getpid()
        self._wake_background = Event()
        self._background_running = False
        self.max_total_seen = 0  # the high-water mark, for tests and diagnostics
        self._emit(m.PoolCreatedEvent(address, options.non_default_options()))

    # -- small helpers

    def _emit(self, event: object) -> None:
        if self._listeners:
            m.publish(self._listeners, event)

    @property
    def paused(self) -> bool:
        """Whether check-outs are refused until :meth:`ready` (new or cleared pool)."""
        return self._state == _PAUSED

    @property
    def closed(self) -> bool:
        return self._state == _CLOSED

    def _after_fork(self) -> None:
        # A child process must never use (or close) the parent's sockets: forget them.
        # Checked before taking the lock, and the lock is made anew: another thread of
        # the parent may have held it at the moment of the fork.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = Lock()
            self._waiters.clear()
            self._idle.clear()
            self._in_use.clear()
            self._opening.clear()
            self._interrupted.clear()
            self._total = 0
            self._pending = 0
            self.generation += 1
            self._wake_background = Event()
            self._background_running = False  # threads do not survive a fork

    def _perished(self, conn: AsyncConnection, now: float) -> str | None:
        """Why an idle connection must not be reused, or None if it may be."""
        if conn.generation != self.generation:
            return m.ConnectionClosedReason.STALE
        idle_limit = self.options.max_idle_time
        if idle_limit is not None and now - conn.last_used > idle_limit:
            return m.ConnectionClosedReason.IDLE
        if conn.closed:
            return m.ConnectionClosedReason.ERROR
        return None

    def _wake_head(self) -> None:
        # Called with the lock held, whenever the head of the queue may now proceed.
        if self._waiters:
            self._waiters[0].notify()

    def _check_state(self) -> None:
        if self._state == _CLOSED:
            raise PoolClosedError(
                "Attempted to check out a connection from closed connection pool "
                f"({format_address(self.address)}): the client was closed"
            )
        if self._state == _PAUSED:
            raise PoolClearedError(
                f"Connection pool for {format_address(self.address)} was cleared because "
                "the server looked unhealthy; the operation may be retried"
            )

    async def _close_all(self, doomed: list[tuple[AsyncConnection, str]]) -> None:
        for conn, reason in doomed:
            await conn.close()
            self._emit(m.ConnectionClosedEvent(self.address, conn.id, reason))

    # -- check-out

    async def checkout(self, timeout: float | None = None) -> AsyncConnection:
        """A connection for one operation.

        Raises WaitQueueTimeoutError if none frees up within ``timeout`` (default:
        the pool's ``wait_queue_timeout``), PoolClearedError if the pool is paused,
        PoolClosedError if it is closed, or the error that opening a connection met.
        """
        started = monotonic()
        self._after_fork()
        self._emit(m.ConnectionCheckOutStartedEvent(self.address))
        if timeout is None:
            timeout = self.options.wait_queue_timeout
        doomed: list[tuple[AsyncConnection, str]] = []
        try:
            got = await self._acquire(started, timeout, doomed)
        except PoolClosedError:
            self._failed(started, m.ConnectionCheckOutFailedReason.POOL_CLOSED)
            raise
        except WaitQueueTimeoutError:
            self._failed(started, m.ConnectionCheckOutFailedReason.TIMEOUT)
            raise
        except BaseException:
            self._failed(started, m.ConnectionCheckOutFailedReason.CONN_ERROR)
            raise
        finally:
            if doomed:
                await self._close_all(doomed)
        if isinstance(got, _Reservation):
            try:
                conn = await self._establish(got, for_checkout=True)
            except BaseException:
                self._failed(started, m.ConnectionCheckOutFailedReason.CONN_ERROR)
                raise
        else:
            conn = got
        self._emit(m.ConnectionCheckedOutEvent(self.address, conn.id, monotonic() - started))
        return conn

    def _failed(self, started: float, reason: str) -> None:
        self._emit(m.ConnectionCheckOutFailedEvent(self.address, reason, monotonic() - started))

    async def _acquire(
        self, started: float, timeout: float | None, doomed: list[tuple[AsyncConnection, str]]
    ) -> AsyncConnection | _Reservation:
        """Wait for this caller's turn, then take an idle connection or a place for one."""
        deadline = None if timeout is None else started + timeout
        waiter: Condition | None = None
        async with self._lock:
            try:
                while True:
                    self._check_state()
                    if waiter is None and self._waiters:
                        waiter = Condition(self._lock)  # others asked first: queue behind
                        self._waiters.append(waiter)
                    if waiter is None or self._waiters[0] is waiter:
                        got = self._take(doomed)
                        if got is not None:
                            if waiter is not None:
                                self._waiters.popleft()
                                waiter = None
                                self._wake_head()  # there may be enough for the next too
                            return got
                        if waiter is None:
                            waiter = Condition(self._lock)
                            self._waiters.append(waiter)
                    remaining = None if deadline is None else deadline - monotonic()
                    if remaining is not None and remaining <= 0:
                        raise WaitQueueTimeoutError(
                            "Timed out while checking out a connection from connection pool "
                            f"({format_address(self.address)}): none became free within "
                            f"{timeout}s (maxPoolSize={self.options.max_pool_size})"
                        )
                    await waiter.wait(remaining)
            finally:
                # Timed out, failed or cancelled while queued: leave the queue, and let
                # whoever is now at its head look again.
                if waiter is not None:
                    was_head = bool(self._waiters) and self._waiters[0] is waiter
                    self._waiters.remove(waiter)
                    if was_head:
                        self._wake_head()

    def _take(self, doomed: list[tuple[AsyncConnection, str]]) -> AsyncConnection | _Reservation | None:
        # With the lock held, at the head of the queue.
        now = monotonic()
        while self._idle:
            conn = self._idle.pop()  # most recently used first: warmest
            reason = self._perished(conn, now)
            if reason is not None:
                self._total -= 1
                doomed.append((conn, reason))
                continue
            self._in_use.add(conn)
            return conn
        if self._total < self.options.max_pool_size and self._pending < self.options.max_connecting:
            return self._reserve()
        return None

    def _reserve(self) -> _Reservation:
        self._total += 1
        self._pending += 1
        self.max_total_seen = max(self.max_total_seen, self._total)
        reservation = _Reservation(self._next_id, self.generation)
        self._next_id += 1
        self._opening.add(reservation)
        return reservation

    async def _establish(self, reservation: _Reservation, *, for_checkout: bool) -> AsyncConnection:
        """Open the connection a reservation holds a place for (outside the lock).

        For a check-out the new connection counts as in use, and a failure is reported
        (ConnectionClosed) here; the background task reports its own failures.
        """
        self._emit(m.ConnectionCreatedEvent(self.address, reservation.connection_id))
        opened = monotonic()
        conn: AsyncConnection | None = None

        def created(new: AsyncConnection) -> None:
            reservation.conn = new
            if reservation.interrupted:  # cleared before its socket was even open
                new.interrupt()

        try:
            conn = await self._opener(
                self.address,
                self.settings,
                connection_id=reservation.connection_id,
                generation=reservation.generation,
                on_created=created,
            )
        finally:
            async with self._lock:
                self._opening.discard(reservation)
                self._pending -= 1
                if conn is None:
                    self._total -= 1
                elif for_checkout:
                    self._in_use.add(conn)
                self._wake_head()
            if conn is None and for_checkout:
                self._emit(
                    m.ConnectionClosedEvent(
                        self.address, reservation.connection_id, m.ConnectionClosedReason.ERROR
                    )
                )
        self._emit(m.ConnectionReadyEvent(self.address, conn.id, monotonic() - opened))
        return conn

    # -- check-in

    async def checkin(self, conn: AsyncConnection) -> None:
        """Return a connection; a closed or stale one is closed and its place freed."""
        self._after_fork()
        if conn.pid != self._pid:
            return  # a connection of the parent process: never touch it, never count it
        self._emit(m.ConnectionCheckedInEvent(self.address, conn.id))
        reason: str | None = None
        async with self._lock:
            self._in_use.discard(conn)
            if self._state == _CLOSED:
                reason = m.ConnectionClosedReason.POOL_CLOSED
            elif conn.generation != self.generation:
                reason = m.ConnectionClosedReason.STALE
            elif conn.closed:
                reason = m.ConnectionClosedReason.ERROR
            if reason is None:
                conn.last_used = monotonic()  # idle time counts from here
                self._idle.append(conn)
            else:
                self._total -= 1
            self._wake_head()
            reported = conn.id in self._interrupted
            self._interrupted.discard(conn.id)
        if reason is not None:
            await conn.close()
            if not reported:
                self._emit(m.ConnectionClosedEvent(self.address, conn.id, reason))

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[AsyncConnection]:
        """Check out a connection for the block; a network error closes it."""
        conn = await self.checkout(timeout)
        try:
            yield conn
        except ConnectionFailure:
            await conn.close()
            raise
        finally:
            await self.checkin(conn)

    # -- state changes

    async def ready(self) -> None:
        """Let check-outs open connections again (monitoring found the server healthy)."""
        self._after_fork()
        async with self._lock:
            if self._state != _PAUSED:
                return
            self._state = _READY
        self._emit(m.PoolReadyEvent(self.address))
        self._start_background()

    async def clear(
        self, *, interrupt_in_use_connections: bool = False, service_id: Any = None
    ) -> None:
        """Start a new generation and pause (unless ``service_id`` is given: load
        balanced); idle connections close now.

        In-use connections close at check-in, or at once with
        ``interrupt_in_use_connections=True`` (their operations fail with a network
        error). Waiting check-outs fail with PoolClearedError. Clearing a pool that is
        already paused does nothing.
        """
        self._after_fork()
        async with self._lock:
            if self._state != _READY:
                return
            self.generation += 1
            if service_id is None:
                self._state = _PAUSED
            # else: behind a load balancer (a serviceId) the pool never pauses: no
            # monitor would make it ready again. Every connection goes stale, not only
            # that service's: simpler, and only costs reconnecting.
            doomed = [(conn, m.ConnectionClosedReason.STALE) for conn in self._idle]
            self._idle.clear()
            self._total -= len(doomed)
            interrupted: list[AsyncConnection] = []
            handshaking: list[AsyncConnection] = []
            if interrupt_in_use_connections:
                interrupted = list(self._in_use)  # all of an older generation now
                self._interrupted.update(c.id for c in interrupted)
                # Connections still shaking hands are cut too: their check-outs fail
                # (and report the close) instead of handing out a stale connection.
                for reservation in self._opening:
                    reservation.interrupted = True
                    if reservation.conn is not None:
                        handshaking.append(reservation.conn)
            for waiter in self._waiters:
                waiter.notify()  # each sees the pool paused and fails (or goes on)
        self._emit(m.PoolClearedEvent(self.address, service_id, interrupt_in_use_connections))
        await self._close_all(doomed)
        for conn in handshaking:
            conn.interrupt()
        for conn in interrupted:
            conn.interrupt()  # its operation fails; check-in then frees its place
            self._emit(m.ConnectionClosedEvent(self.address, conn.id, m.ConnectionClosedReason.STALE))

    async def close(self) -> None:
        """Close idle connections and refuse further check-outs (idempotent)."""
        self._after_fork()
        async with self._lock:
            if self._state == _CLOSED:
                return
            self._state = _CLOSED
            doomed = [(conn, m.ConnectionClosedReason.POOL_CLOSED) for conn in self._idle]
            self._idle.clear()
            self._total -= len(doomed)
            for waiter in self._waiters:
                waiter.notify()
        self._wake_background.set()
        await self._close_all(doomed)
        self._emit(m.PoolClosedEvent(self.address))

    # -- the background task: minPoolSize and idle pruning

    def _start_background(self) -> None:
        interval = self.options.background_interval
        if self._background_running or interval is None or interval <= 0:
            return
        if self.options.min_pool_size <= 0 and self.options.max_idle_time is None:
            return  # nothing for it to do
        self._background_running = True
        self._wake_background.set()  # run at once
        spawn(_maintain, weakref.ref(self), name=f"pool {format_address(self.address)}")

    async def _maintain_once(self) -> None:
        """One background run: drop perished idle connections, then fill to minPoolSize."""
        doomed: list[tuple[AsyncConnection, str]] = []
        async with self._lock:
            if self._state != _READY:
                return
            now = monotonic()
            keep: deque[AsyncConnection] = deque()
            for conn in self._idle:
                reason = self._perished(conn, now)
                if reason is None:
                    keep.append(conn)
                else:
                    doomed.append((conn, reason))
            self._idle = keep
            self._total -= len(doomed)
        await self._close_all(doomed)
        while True:
            async with self._lock:
                if (
                    self._state != _READY
                    or self._total >= self.options.min_pool_size
                    or self._pending >= self.options.max_connecting
                ):
                    return
                reservation = self._reserve()
            try:
                conn = await self._establish(reservation, for_checkout=False)
            except Exception:
                # The server failed us: clear (pause) the pool, as monitoring would,
                # and stop filling until it is ready again.
                await self.clear()
                self._emit(
                    m.ConnectionClosedEvent(
                        self.address, reservation.connection_id, m.ConnectionClosedReason.ERROR
                    )
                )
                return
            async with self._lock:
                kept = self._state == _READY and conn.generation == self.generation
                if kept:
                    conn.last_used = monotonic()
                    self._idle.append(conn)
                    self._wake_head()
                else:
                    self._total -= 1
            if not kept:
                await self._close_all([(conn, m.ConnectionClosedReason.STALE)])


async def _maintain(ref: weakref.ref[AsyncPool]) -> None:
    """The background loop; it holds the pool only weakly, so an abandoned pool ends it."""
    while True:
        pool = ref()
        if pool is None or pool.closed or pool._pid != os.getpid():
            return
        wake = pool._wake_background
        interval = pool.options.background_interval
        wake.clear()
        try:
            await pool._maintain_once()
        except Exception:  # never let the loop die; the next run tries again
            _log.exception("background run of the pool for %s failed", pool.address)
        del pool
        await wake.wait(interval)
