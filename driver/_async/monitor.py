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

Where the server supports it (its ``hello`` carries a ``topologyVersion``) and
``serverMonitoringMode`` is not ``poll``, the monitor *streams*: it sends one awaitable
``hello`` (``topologyVersion`` + ``maxAwaitTimeMS``, exhaust allowed) and the server then
pushes a reply whenever something changes, or every ``heartbeat_frequency`` seconds.
A separate RTT task, on its own connection, measures the round-trip time meanwhile,
since awaited replies say nothing about it. A server that answers an awaitable
``hello`` at once without news is polled instead.

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
from driver.protocol.commands import check_command_reply
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
        mode: str = "auto",
    ) -> None:
        self.address = address
        # Monitoring connections never authenticate (the spec), and use the connect
        # timeout for their reads: a check must not hang on a silent server.
        # Its checks are not user commands: no command monitoring either.
        self.settings = dataclasses.replace(
            settings,
            credential=None,
            socket_timeout=settings.connect_timeout,
            command_listeners=(),
        )
        self.heartbeat_frequency = heartbeat_frequency
        self._on_description = on_description
        self._listeners = m.listeners_of(m.ServerHeartbeatListener, listeners)
        self._conn: AsyncConnection | None = None
        self._rtt_conn: AsyncConnection | None = None
        self._rtt: float | None = None
        self._may_stream = mode != "poll"
        self._topology_version: Any = None  # from the last reply, for awaitable hellos
        self.streaming = False  # whether the last check was an awaited (streamed) one
        self._checking = False  # a check is waiting on the server now
        self._rtt_running = False
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
            # Forked: the connections are the parent's; never touch them, open new ones.
            self._conn = self._rtt_conn = None
            self._wake, self._stopped = Event(), Event()
            self._rtt_running = False
            self.streaming = False
        self._started, self._pid = True, os.getpid()
        spawn(_run, weakref.ref(self), name=f"monitor {format_address(self.address)}")

    def request_check(self) -> None:
        """Check soon (after an error, or when selection finds no suitable server).

        While streaming this changes nothing: the server reports changes itself.
        """
        self._wake.set()

    def cancel_check(self) -> None:
        """Cut the check in progress, if any (its connection): an operation found the
        server gone, so a streamed ``hello`` must not wait out its timeout."""
        if self._checking and self._conn is not None:
            self._conn.interrupt()

    async def close(self) -> None:
        """Stop checking and close the monitoring connections (idempotent)."""
        self._closed = True
        self._stopped.set()
        self._wake.set()
        for conn in (self._conn, self._rtt_conn):
            if conn is not None:
                conn.interrupt()  # a streamed read in another thread or task wakes now
                await conn.close()
        self._conn = self._rtt_conn = None

    def _emit(self, event: object) -> None:
        if self._listeners:
            m.publish(self._listeners, event)

    async def check(self) -> ServerDescription:
        """Run one check now and return what it found (no callback, no retry).

        After a failure, :attr:`last_error` holds the exception (else None).
        """
        self.last_error = None
        conn = self._conn
        awaited = (
            self._may_stream
            and conn is not None
            and not conn.closed
            and self._topology_version is not None
        )
        self._emit(m.ServerHeartbeatStartedEvent(self.address, awaited))
        started = monotonic()
        self._checking = True
        try:
            if conn is None or conn.closed:
                conn = self._conn = await AsyncConnection.open(
                    self.address, self.settings, check_wire_version=False
                )
                reply: Any = conn.hello.document if conn.hello is not None else {}
            elif awaited:
                reply = await self._awaited_hello(conn)
            else:
                reply = await conn.command("admin", {_hello_name(conn): 1})
        except (PyMongoError, OSError) as exc:
            self.last_error = exc
            duration = monotonic() - started
            self._emit(m.ServerHeartbeatFailedEvent(duration, exc, self.address, awaited))
            self._conn = None
            self._topology_version = None
            self.streaming = False
            if conn is not None:
                await conn.close()
            self._rtt = None
            return ServerDescription.unknown(self.address, error=str(exc))
        finally:
            self._checking = False
        duration = monotonic() - started
        self._emit(m.ServerHeartbeatSucceededEvent(duration, reply, self.address, awaited))
        previous = self._topology_version
        self._topology_version = reply.get("topologyVersion")
        if awaited:
            # A server that answered at once with no news does not really await:
            # poll it instead of asking again in a tight loop.
            self.streaming = not (
                duration < self.heartbeat_frequency / 2
                and not conn.more_to_come
                and self._topology_version == previous
            )
            if not self.streaming:
                self._may_stream = False
            elif not self._rtt_running:
                self._rtt_running = True
                spawn(_measure_rtt, weakref.ref(self), name=f"rtt {format_address(self.address)}")
        else:
            self._rtt = moving_average_rtt(self._rtt, duration)
        return ServerDescription.from_hello(self.address, reply, self._rtt)

    async def _awaited_hello(self, conn: AsyncConnection) -> Any:
        # The server holds the reply up to maxAwaitTimeMS; allow that on top of the
        # connect timeout before calling the server lost.
        timeout = (self.settings.connect_timeout or 0) + self.heartbeat_frequency
        if conn.more_to_come:
            reply = await conn.next_reply(timeout=timeout)
            check_command_reply(reply)
            return reply
        command = {
            _hello_name(conn): 1,
            "topologyVersion": self._topology_version,
            "maxAwaitTimeMS": round(self.heartbeat_frequency * 1000),
        }
        return await conn.command("admin", command, timeout=timeout, exhaust_allowed=True)

    async def _check_and_report(self) -> None:
        description = await self.check()
        if description.server_type is ServerType.Unknown and self._known and not self._closed:
            description = await self.check()  # once more at once: one lost socket is not a dead server
        if self._closed:
            return  # closing cut the check short: nothing to report
        self._known = description.server_type is not ServerType.Unknown
        self.checks += 1
        await self._on_description(description, self.last_error)


def _hello_name(conn: AsyncConnection) -> str:
    return "hello" if conn.hello is not None and conn.hello.hello_ok else "isMaster"


async def _measure_rtt(ref: weakref.ref[AsyncServerMonitor]) -> None:
    """While a monitor streams: measure the round-trip time on a connection of its own.

    Its failures change nothing (the streaming check reports the server's state); the
    connection is simply opened again at the next run.
    """
    while True:
        monitor = ref()
        if monitor is None or monitor._closed or monitor._pid != os.getpid():
            return
        if not monitor.streaming:
            monitor._rtt_running = False
            return
        started = monotonic()
        try:
            conn = monitor._rtt_conn
            if conn is None or conn.closed:
                conn = monitor._rtt_conn = await AsyncConnection.open(
                    monitor.address, monitor.settings, check_wire_version=False
                )
            else:
                await conn.command("admin", {_hello_name(conn): 1})
            monitor._rtt = moving_average_rtt(monitor._rtt, monotonic() - started)
        except (PyMongoError, OSError):
            failed, monitor._rtt_conn = monitor._rtt_conn, None
            if failed is not None:
                await failed.close()
        stopped, frequency = monitor._stopped, monitor.heartbeat_frequency
        del monitor
        await stopped.wait(frequency)


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
        # Stream when the server can: it then paces the checks itself, sending the
        # next reply when it has news (or after maxAwaitTimeMS).
        streaming = (
            monitor._may_stream
            and monitor._topology_version is not None
            and monitor._conn is not None
        )
        del monitor
        if streaming:
            continue
        await wake.wait(frequency)
        # Woken early (a requested check): still keep the minimum gap between checks.
        gap = checked_at + MIN_HEARTBEAT_FREQUENCY - monotonic()
        if gap > 0:
            await stopped.wait(gap)
