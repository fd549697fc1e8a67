"""The server monitor against the mock server: descriptions as the hello changes,
heartbeat events, failures, the retry of a known server, requested checks, close."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from driver import monitoring as m
from driver._async.monitor import AsyncServerMonitor
from driver._sync.connection import ConnectionSettings
from driver._sync.monitor import ServerMonitor
from driver.protocol.descriptions import ServerDescription, ServerType
from tests.mockserver import MockServer
from tests.mockserver_hello import replica_set_member


class Seen:
    """Descriptions the monitor reported, with a wait for a condition on them."""

    def __init__(self) -> None:
        self.descriptions: list[ServerDescription] = []
        self.cond = threading.Condition()

    def report(self, description: ServerDescription, error: BaseException | None) -> None:
        assert (error is None) == (description.server_type is not ServerType.Unknown)
        with self.cond:
            self.descriptions.append(description)
            self.cond.notify_all()

    def wait_for_type(self, server_type: ServerType, timeout: float = 10.0) -> ServerDescription:
        with self.cond:
            ok = self.cond.wait_for(
                lambda: bool(self.descriptions)
                and self.descriptions[-1].server_type is server_type,
                timeout,
            )
            assert ok, f"no {server_type} within {timeout}s: {self.descriptions}"
            return self.descriptions[-1]


class Beats(m.ServerHeartbeatListener):
    def __init__(self) -> None:
        self.events: list[object] = []

    def started(self, event: m.ServerHeartbeatStartedEvent) -> None:
        self.events.append(event)

    def succeeded(self, event: m.ServerHeartbeatSucceededEvent) -> None:
        self.events.append(event)

    def failed(self, event: m.ServerHeartbeatFailedEvent) -> None:
        self.events.append(event)


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as s:
        yield s


def test_reports_the_server_and_follows_its_changes(server: MockServer) -> None:
    hosts = [server.hostport]
    server.set_hello(replica_set_member("primary", hosts=hosts, me=server.hostport))
    seen, beats = Seen(), Beats()
    monitor = ServerMonitor(
        server.address, ConnectionSettings(connect_timeout=5), seen.report, listeners=[beats]
    )
    monitor.start()
    try:
        first = seen.wait_for_type(ServerType.RSPrimary)
        assert first.set_name == "rs0" and first.round_trip_time is not None
        server.set_hello(replica_set_member("secondary", hosts=hosts, me=server.hostport))
        monitor.request_check()  # sooner than the 10 s heartbeat
        seen.wait_for_type(ServerType.RSSecondary)
    finally:
        monitor.close()
    kinds = [type(e).__name__ for e in beats.events]
    assert kinds[:4] == [  # the handshake, then the first streamed reply
        "ServerHeartbeatStartedEvent",
        "ServerHeartbeatSucceededEvent",
        "ServerHeartbeatStartedEvent",
        "ServerHeartbeatSucceededEvent",
    ]
    # The mock streams: one connection for the checks (its handshake, then one
    # awaitable hello whose replies the server pushes), and one to measure the RTT.
    server.wait_until(lambda: server.connections_opened == 2, 10, "the RTT connection")
    awaited = [c for c in server.commands("hello") if "maxAwaitTimeMS" in c]
    assert len(awaited) == 1 and awaited[0]["maxAwaitTimeMS"] == 10_000
    assert any(getattr(e, "awaited", False) for e in beats.events)


def test_a_server_that_goes_away_becomes_unknown_and_comes_back(server: MockServer) -> None:
    seen, beats = Seen(), Beats()
    monitor = ServerMonitor(
        server.address, ConnectionSettings(connect_timeout=2), seen.report, listeners=[beats]
    )
    monitor.start()
    try:
        seen.wait_for_type(ServerType.Standalone)
        server.stop()
        monitor.request_check()
        gone = seen.wait_for_type(ServerType.Unknown)
        assert gone.error and gone.round_trip_time is None
        # A known server that fails is checked twice before it is called Unknown.
        failed = [e for e in beats.events if isinstance(e, m.ServerHeartbeatFailedEvent)]
        assert len(failed) == 2
        server.start()
        monitor.request_check()
        seen.wait_for_type(ServerType.Standalone)
    finally:
        monitor.close()


def test_one_dropped_connection_does_not_make_a_known_server_unknown(server: MockServer) -> None:
    seen = Seen()
    monitor = ServerMonitor(server.address, ConnectionSettings(connect_timeout=2), seen.report)
    monitor.start()
    try:
        seen.wait_for_type(ServerType.Standalone)
        server.close_connection(("hello", "isMaster"))  # the next check loses its socket
        monitor.request_check()
        with seen.cond:
            assert seen.cond.wait_for(lambda: len(seen.descriptions) >= 2, 10)
        assert [d.server_type for d in seen.descriptions[:2]] == [ServerType.Standalone] * 2
        assert server.connections_opened == 2  # the retry opened a new connection
    finally:
        monitor.close()


def test_close_stops_the_checks(server: MockServer) -> None:
    seen = Seen()
    monitor = ServerMonitor(server.address, ConnectionSettings(connect_timeout=2), seen.report)
    monitor.start()
    seen.wait_for_type(ServerType.Standalone)
    monitor.close()
    checks = monitor.checks
    monitor.request_check()
    # The loop has ended: its connection is closed and nothing more is checked.
    server.wait_until(lambda: server.connections_open == 0, 10, "the monitor to disconnect")
    assert monitor.checks == checks


def test_async_monitor_follows_the_server(server: MockServer) -> None:
    async def main() -> None:
        seen: list[ServerDescription] = []
        changed = asyncio.Event()

        async def report(description: ServerDescription, error: BaseException | None) -> None:
            seen.append(description)
            changed.set()

        async def next_type() -> ServerType:
            await asyncio.wait_for(changed.wait(), 10)
            changed.clear()
            return seen[-1].server_type

        from driver._async.connection import ConnectionSettings as AsyncSettings

        monitor = AsyncServerMonitor(server.address, AsyncSettings(connect_timeout=5), report)
        monitor.start()
        try:
            assert await next_type() is ServerType.Standalone
            server.set_hello(
                replica_set_member("secondary", hosts=[server.hostport], me=server.hostport)
            )
            monitor.request_check()
            assert await next_type() is ServerType.RSSecondary
        finally:
            await monitor.close()

    asyncio.run(main())


def test_poll_mode_never_streams(server: MockServer) -> None:
    seen, beats = Seen(), Beats()
    monitor = ServerMonitor(
        server.address,
        ConnectionSettings(connect_timeout=2),
        seen.report,
        listeners=[beats],
        mode="poll",
    )
    monitor.start()
    try:
        seen.wait_for_type(ServerType.Standalone)
        server.set_hello(replica_set_member("secondary", hosts=[server.hostport], me=server.hostport))
        monitor.request_check()
        seen.wait_for_type(ServerType.RSSecondary)
    finally:
        monitor.close()
    assert all("maxAwaitTimeMS" not in c for c in server.commands("hello"))
    assert not any(getattr(e, "awaited", True) for e in beats.events)
    assert server.connections_opened == 1  # no RTT connection without a stream


def test_a_streaming_monitor_sees_changes_without_being_asked(server: MockServer) -> None:
    seen = Seen()
    monitor = ServerMonitor(server.address, ConnectionSettings(connect_timeout=2), seen.report)
    monitor.start()
    try:
        seen.wait_for_type(ServerType.Standalone)
        server.wait_until(
            lambda: any("maxAwaitTimeMS" in c for c in server.commands("hello")),
            10,
            "the awaitable hello",
        )
        started = time.monotonic()
        server.set_hello(replica_set_member("secondary", hosts=[server.hostport], me=server.hostport))
        seen.wait_for_type(ServerType.RSSecondary)  # no request_check: the server pushed it
        assert time.monotonic() - started < 5  # well before the 10 s heartbeat
    finally:
        monitor.close()
