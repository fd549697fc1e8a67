"""A pool of connections to one server.

The shape follows the connection-monitoring-and-pooling (CMAP) spec: at most
``max_pool_size`` connections (in use + idle + being opened), at most ``max_connecting``
being opened at once, a ``generation`` that ``clear()`` bumps so stale connections are
closed instead of reused, idle connections dropped after ``max_idle_time``, and a wait
for a free connection bounded by ``wait_queue_timeout``. Connections are opened outside
the pool's lock, so a slow server never blocks check-ins.

Not yet here (see the issue notes): CMAP events and listeners, ``min_pool_size``
filling, paused/ready states driven by monitoring, and the spec's unit-test runner.

Example (needs a server)::

    pool = AsyncPool(("127.0.0.1", 27017), ConnectionSettings(), PoolOptions(max_pool_size=10))
    async with pool.connection(timeout=5.0) as conn:
        await conn.command("admin", {"ping": 1})
    await pool.close()
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from driver._async.connection import Address, AsyncConnection, ConnectionSettings, format_address
from driver._backends.asyncio import Condition, monotonic
from driver.errors import ConnectionFailure, InvalidOperation, WaitQueueTimeoutError

__all__ = ["AsyncPool", "PoolOptions"]


@dataclass(frozen=True)
class PoolOptions:
    """Pool limits, from ``maxPoolSize``, ``maxIdleTimeMS``, ``waitQueueTimeoutMS``..."""

    max_pool_size: int = 100
    max_connecting: int = 2
    max_idle_time: float | None = None
    wait_queue_timeout: float | None = None


class AsyncPool:
    """Connections to one server, shared by every operation of a client."""

    def __init__(self, address: Address, settings: ConnectionSettings, options: PoolOptions) -> None:
        self.address = address
        self.settings = settings
        self.options = options
        self.generation = 0
        self._cond = Condition()
        self._idle: deque[AsyncConnection] = deque()
        self._total = 0  # in use + idle + being opened
        self._opening = 0
        self._next_id = 1
        self._closed = False
        self._pid = os.getpid()
        self.max_total_seen = 0  # the high-water mark, for tests and diagnostics

    def _after_fork(self) -> None:
        # A child process must never use (or close) the parent's sockets: forget them.
        # Checked before taking the lock, and the lock is made anew: another thread of
        # the parent may have held it at the moment of the fork.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._cond = Condition()
            self._idle.clear()
            self._total = 0
            self._opening = 0
            self.generation += 1

    def _perished(self, conn: AsyncConnection, now: float) -> bool:
        idle_limit = self.options.max_idle_time
        return (
            conn.closed
            or conn.generation != self.generation
            or (idle_limit is not None and now - conn.last_used > idle_limit)
        )

    async def checkout(self, timeout: float | None = None) -> AsyncConnection:
        """A connection for one operation; WaitQueueTimeoutError if none frees up in time."""
        if timeout is None:
            timeout = self.options.wait_queue_timeout
        deadline = None if timeout is None else monotonic() + timeout
        stale: list[AsyncConnection] = []
        conn: AsyncConnection | None = None
        reserved = False  # True once a new connection's place is counted
        self._after_fork()
        async with self._cond:
            while True:
                if self._closed:
                    raise InvalidOperation("the connection pool is closed")
                now = monotonic()
                while self._idle:
                    candidate = self._idle.pop()  # most recently used first: warmest
                    if self._perished(candidate, now):
                        stale.append(candidate)
                        self._total -= 1
                        continue
                    conn = candidate
                    break
                if conn is not None:
                    break
                if (
                    self._total < self.options.max_pool_size
                    and self._opening < self.options.max_connecting
                ):
                    self._total += 1
                    self._opening += 1
                    reserved = True
                    self.max_total_seen = max(self.max_total_seen, self._total)
                    connection_id, generation = self._next_id, self.generation
                    self._next_id += 1
                    break
                remaining = None if deadline is None else deadline - now
                if (remaining is not None and remaining <= 0) or not await self._cond.wait(
                    remaining
                ):
                    # Pass on a wake-up this waiter may have consumed as it timed out.
                    self._cond.notify()
                    raise WaitQueueTimeoutError(
                        f"no connection to {format_address(self.address)} became free within "
                        f"{timeout}s (maxPoolSize={self.options.max_pool_size})"
                    )
        opening_done = False
        try:
            for old in stale:
                await old.close()
            if conn is None:
                conn = await AsyncConnection.open(
                    self.address, self.settings, connection_id=connection_id, generation=generation
                )
                async with self._cond:
                    self._opening -= 1
                    opening_done = True
                    self._cond.notify()
            return conn
        except BaseException:
            # Failed or cancelled: give back what this checkout holds, so the counts
            # stay right and no waiter is left without a wake-up.
            async with self._cond:
                if reserved:
                    self._total -= 1
                    if not opening_done:
                        self._opening -= 1
                elif conn is not None:
                    self._idle.append(conn)  # a healthy idle connection, never used
                self._cond.notify()
            if reserved and conn is not None:
                await conn.close()
            raise

    async def checkin(self, conn: AsyncConnection) -> None:
        """Return a connection; a closed or stale one is closed and its place freed."""
        discard = False
        self._after_fork()
        if conn.pid != self._pid:
            return  # a connection of the parent process: never touch it, never count it
        async with self._cond:
            if self._closed or self._perished(conn, monotonic()):
                self._total -= 1
                discard = True
            else:
                self._idle.append(conn)
            self._cond.notify()
        if discard:
            await conn.close()

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

    async def clear(self) -> None:
        """Start a new generation: idle connections close now, in-use ones at check-in."""
        async with self._cond:
            self.generation += 1
            idle = list(self._idle)
            self._idle.clear()
            self._total -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            await conn.close()

    async def close(self) -> None:
        """Close idle connections and refuse further check-outs (idempotent)."""
        async with self._cond:
            self._closed = True
        await self.clear()
