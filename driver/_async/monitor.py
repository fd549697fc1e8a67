"""A server monitor: checks one server with ``hello`` in the background.

Part of server discovery and monitoring (SDAM). Each monitor owns one dedicated
connection (never authenticated, never pooled), checks the server every
``heartbeat_frequency`` seconds, or sooner when :meth:`~AsyncServerMonitor.request_check`
is called (but never less than ``MIN_HEARTBEAT_FREQUENCY`` after the previous check),
and hands each new :class:`~driver.protocol.descriptions.ServerDescription` to a
callback, which the topology applies with :func:`driver.protocol.sdam.update`.

- A failed check of a server that was known is retried once at once (a single dropped
  connection should not make a healthy server Unknown); otherwise the server is
  reported Unknown with the error.
- The round-trip time is averaged (:func:`driver.protocol.selection.moving_average_rtt`)
  and forgotten after a failure.
- Heartbeat events go to the client's ``ServerHeartbeatListener``\\ s.
- The loop runs in a task (a daemon thread for the sync client) that holds the monitor
  only weakly, so an abandoned monitor ends its loop.

This release polls; the streaming protocol (awaitable ``hello`` with
``topologyVersion``) and the separate RTT monitor come with the topology.

Example (needs a server)::

    async def seen(description, error):
        print(description.server_type, error)

    monitor = AsyncServerMonitor(("127.0.0.1", 27017), ConnectionSettings(), seen)
    monitor.start()
    ...
    await monitor.close()
"""

from __future__ import annotations

import dataclasses
import logging
import os
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from driver import monitoring as m
from driver._async.connection import Address, AsyncConnection, ConnectionSettings, format_address
from driver._backends.asyncio import Event, monotonic, spawn
from driver.errors import PyMongoError
from driver.protocol.descriptions import MIN_HEARTBEAT_FREQUENCY, ServerDescription, ServerType
from driver.protocol.selection import moving_average_rtt

__all__ = ["AsyncServerMonitor"]

_log = logging.getLogger("driver.monitor")

# Called with each new description, and the error when the check failed.
OnDescription = Callable[[ServerDescription, BaseException | None], Awaitable[None]]


class AsyncServerMonitor:
    """Checks one server in the background and reports what it finds."""

    def __init__(
        self,
        address: Address,
        settings: ConnectionSettings,
        on_description: OnDescription,
        *,
        heartbeat_frequency: float = 10.0,
        listeners: Iterable[object] = (),
    ) -> None:
        self.address = address
        # Monitoring connections never authenticate (the spec), and use the connect
        # timeout for their reads: a check must not hang on a silent server.
        self.settings = dataclasses.replace(
            settings, credential=None, socket_timeout=settings.connect_timeout
        )
        self.heartbeat_frequency = heartbeat_frequency
        self._on_description = on_description
        self._listeners = m.listeners_of(m.ServerHeartbeatListener, listeners)
        self._conn: AsyncConnection | None = None
        self._rtt: float | None = None
        self._known = False  # whether the last check found the server
        self._wake = Event()
        self._stopped = Event()
        self._closed = False
        self._started = False
        self.last_error: BaseException | None = None
        self._pid = os.getpid()
        self.checks = 0  # completed checks, for tests and diagnostics

    def start(self) -> None:
        """Begin checking (the first check runs at once). Calling it twice is harmless."""
        if self._started and self._pid == os.getpid():
            return
        if self._pid != os.getpid():
            # Forked: the connection is the parent's; never touch it, open a new one.
            self._conn = None
            self._wake, self._stopped = Event(), Event()
        self._started, self._pid = True, os.getpid()
        spawn(_run, weakref.ref(self), name=f"monitor {format_address(self.address)}")

    def request_check(self) -> None:
        """Check soon (after an error, or when selection finds no suitable server)."""
        self._wake.set()

    async def close(self) -> None:
        """Stop checking and close the monitoring connection (idempotent)."""
        self._closed = True
        self._stopped.set()
        self._wake.set()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    def _emit(self, event: object) -> None:
        if self._listeners:
            m.publish(self._listeners, event)

    async def check(self) -> ServerDescription:
        """Run one check now and return what it found (no callback, no retry).

        After a failure, :attr:`last_error` holds the exception (else None).
        """
        self.last_error = None
        self._emit(m.ServerHeartbeatStartedEvent(self.address))
        started = monotonic()
        try:
            if self._conn is None or self._conn.closed:
                self._conn = await AsyncConnection.open(
                    self.address, self.settings, check_wire_version=False
                )
                hello = self._conn.hello
                reply: Any = hello.document if hello is not None else {}
            else:
                name = "hello" if self._conn.hello and self._conn.hello.hello_ok else "isMaster"
                reply = await self._conn.command("admin", {name: 1})
        except (PyMongoError, OSError) as exc:
            self.last_error = exc
            duration = monotonic() - started
            self._emit(m.ServerHeartbeatFailedEvent(duration, exc, self.address))
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()
            self._rtt = None
            return ServerDescription.unknown(self.address, error=str(exc))
        duration = monotonic() - started
        self._emit(m.ServerHeartbeatSucceededEvent(duration, reply, self.address))
        self._rtt = moving_average_rtt(self._rtt, duration)
        return ServerDescription.from_hello(self.address, reply, self._rtt)

    async def _check_and_report(self) -> None:
        description = await self.check()
        if description.server_type is ServerType.Unknown and self._known and not self._closed:
            description = await self.check()  # once more at once: one lost socket is not a dead server
        self._known = description.server_type is not ServerType.Unknown
        self.checks += 1
        if not self._closed:
            await self._on_description(description, self.last_error)


async def _run(ref: weakref.ref[AsyncServerMonitor]) -> None:
    """The monitor's loop; it holds the monitor only weakly."""
    while True:
        monitor = ref()
        if monitor is None or monitor._closed or monitor._pid != os.getpid():
            return
        monitor._wake.clear()
        checked_at = monotonic()
        try:
            await monitor._check_and_report()
        except Exception:  # a callback bug must not end monitoring
            _log.exception("checking %s failed", format_address(monitor.address))
        wake, stopped = monitor._wake, monitor._stopped
        frequency = monitor.heartbeat_frequency
        del monitor
        await wake.wait(frequency)
        # Woken early (a requested check): still keep the minimum gap between checks.
        gap = checked_at + MIN_HEARTBEAT_FREQUENCY - monotonic()
        if gap > 0:
            await stopped.wait(gap)
