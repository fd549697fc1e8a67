"""The pool as a client uses it: events to listeners, minPoolSize, idle limits, clearing
with interruptInUseConnections, against SecantusDB and the mock server, sync and async."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from driver import AsyncMongoClient, MongoClient
from driver import monitoring as m
from driver.errors import AutoReconnect, ConfigurationError, PoolClearedError
from tests.driver.conftest import async_pool_of, pool_of
from tests.mockserver import MockServer


class Events(m.ConnectionPoolListener):
    """Every pool event, in order, with a wait for the n-th of a kind."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.cond = threading.Condition()
        self.changed: asyncio.Event | None = None  # for async tests: set in the loop

    def record(self, event: object) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()
        if self.changed is not None:
            self.changed.set()

    pool_created = pool_ready = pool_cleared = pool_closed = record  # type: ignore[assignment]
    connection_created = connection_ready = connection_closed = record  # type: ignore[assignment]
    connection_check_out_started = connection_check_out_failed = record  # type: ignore[assignment]
    connection_checked_out = connection_checked_in = record  # type: ignore[assignment]

    def names(self) -> list[str]:
        with self.cond:
            return [type(e).__name__ for e in self.events]

    def of(self, kind: type) -> list[Any]:
        with self.cond:
            return [e for e in self.events if type(e) is kind]

    def wait_for(self, kind: type, count: int, timeout: float = 10.0) -> None:
        with self.cond:
            ok = self.cond.wait_for(
                lambda: sum(type(e) is kind for e in self.events) >= count, timeout
            )
        assert ok, f"waited {timeout}s for {count} {kind.__name__}; got {self.names()}"

    async def async_wait_for(self, kind: type, count: int, timeout: float = 10.0) -> None:
        async def until() -> None:
            while len(self.of(kind)) < count:
                self.changed = asyncio.Event()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)


ONE_COMMAND = [
    "PoolCreatedEvent",
    "PoolReadyEvent",
    "ConnectionCheckOutStartedEvent",
    "ConnectionCreatedEvent",
    "ConnectionReadyEvent",
    "ConnectionCheckedOutEvent",
    "ConnectionCheckedInEvent",
]
AT_CLOSE = ["ConnectionClosedEvent", "PoolClosedEvent"]


def test_sync_client_reports_pool_events_in_order(mongodb_uri: str) -> None:
    events = Events()
    with MongoClient(mongodb_uri, event_listeners=[events]) as client:
        client.admin.command("ping")
        address = client.address
        assert events.names() == ONE_COMMAND
        client.admin.command("ping")  # the same connection again: no new one
        assert events.names()[len(ONE_COMMAND):] == [
            "ConnectionCheckOutStartedEvent",
            "ConnectionCheckedOutEvent",
            "ConnectionCheckedInEvent",
        ]
    assert events.names()[-2:] == AT_CLOSE
    closed = events.of(m.ConnectionClosedEvent)[0]
    assert closed.reason == m.ConnectionClosedReason.POOL_CLOSED
    checked_out = events.of(m.ConnectionCheckedOutEvent)
    assert {e.connection_id for e in checked_out} == {1}
    assert all(e.duration >= 0 for e in checked_out)
    assert events.of(m.PoolCreatedEvent)[0].address == address


def test_async_client_reports_pool_events_in_order(mongodb_uri: str) -> None:
    events = Events()

    async def main() -> None:
        async with AsyncMongoClient(mongodb_uri, event_listeners=[events]) as client:
            await client.admin.command("ping")
            assert events.names() == ONE_COMMAND

    asyncio.run(main())
    assert events.names()[-2:] == AT_CLOSE


def test_options_show_in_the_pool_created_event(mongodb_uri: str) -> None:
    events = Events()
    with MongoClient(
        mongodb_uri, maxPoolSize=7, maxIdleTimeMS=60_000, event_listeners=[events]
    ) as client:
        client.admin.command("ping")  # pools are made as servers are found
    assert events.of(m.PoolCreatedEvent)[0].options == {"maxPoolSize": 7, "maxIdleTimeMS": 60000}


def test_a_failing_listener_is_logged_and_never_breaks_the_operation(
    mongodb_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(m.ConnectionPoolListener):
        def connection_checked_out(self, event: m.ConnectionCheckedOutEvent) -> None:
            raise RuntimeError("listener bug")

    with (
        caplog.at_level(logging.ERROR, logger="driver.monitoring"),
        MongoClient(mongodb_uri, event_listeners=[Broken()]) as client,
    ):
        assert client.admin.command("ping")["ok"] == 1
    assert "listener bug" in caplog.text


@pytest.mark.parametrize("bad", [[object()], "listener", [print]])
def test_event_listeners_must_be_listeners(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="event_listeners"):
        MongoClient("mongodb://127.0.0.1:1/", event_listeners=bad)


def test_min_pool_size_is_filled_in_the_background(mongodb_uri: str) -> None:
    events = Events()
    with MongoClient(mongodb_uri, minPoolSize=3, event_listeners=[events]) as client:
        client.admin.command("ping")
        events.wait_for(m.ConnectionReadyEvent, 3)
        assert pool_of(client)._total == 3
        # The fill never goes past minPoolSize by itself.
        assert len(events.of(m.ConnectionCreatedEvent)) == 3


def test_async_min_pool_size_is_filled_in_the_background(mongodb_uri: str) -> None:
    events = Events()

    async def main() -> None:
        async with AsyncMongoClient(mongodb_uri, minPoolSize=2, event_listeners=[events]) as c:
            await c.admin.command("ping")
            await events.async_wait_for(m.ConnectionReadyEvent, 2)
            assert (await async_pool_of(c))._total == 2

    asyncio.run(main())


def test_idle_connections_past_max_idle_time_are_closed_not_reused(mongodb_uri: str) -> None:
    events = Events()
    with MongoClient(mongodb_uri, maxIdleTimeMS=60_000, event_listeners=[events]) as client:
        client.admin.command("ping")
        (idle,) = pool_of(client)._idle
        idle.last_used -= 61  # as if it had sat unused for a minute
        client.admin.command("ping")
        closed = events.of(m.ConnectionClosedEvent)
        assert [(e.connection_id, e.reason) for e in closed] == [(1, "idle")]
        assert events.of(m.ConnectionCheckedOutEvent)[-1].connection_id == 2


def test_clear_closes_idle_connections_and_in_use_ones_at_check_in(mongodb_uri: str) -> None:
    events = Events()
    # Polling, so that request_check() below checks at once (a streaming monitor
    # waits for the server's news instead).
    with MongoClient(
        mongodb_uri, event_listeners=[events], serverMonitoringMode="poll"
    ) as client:
        client.admin.command("ping")
        pool = pool_of(client)
        held = pool.checkout(5.0)
        pool.clear()
        assert pool.paused
        assert [e.reason for e in events.of(m.ConnectionClosedEvent)] == []  # held is in use
        pool.checkin(held)
        assert [e.reason for e in events.of(m.ConnectionClosedEvent)] == ["stale"]
        # A paused pool refuses work until the server's monitor finds it healthy again.
        with pytest.raises(PoolClearedError):
            client.admin.command("ping")
        monitor = client._topology.server(client.address).monitor
        monitor.request_check()
        events.wait_for(m.PoolReadyEvent, 2)
        assert client.admin.command("ping")["ok"] == 1
        assert events.of(m.ConnectionCheckedOutEvent)[-1].connection_id == 2


def test_interrupt_in_use_connections_fails_a_hung_operation_at_once() -> None:
    """No socket timeout is set: only the interrupt can end the hung command."""
    events = Events()
    with (
        MockServer() as server,
        MongoClient(server.uri, event_listeners=[events], serverMonitoringMode="poll") as client,
    ):
        client.admin.command("ping")
        server.hang("slowCommand")
        failure: list[BaseException] = []

        def run() -> None:
            try:
                client.admin.command("slowCommand")
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        server.wait_for("slowCommand", count=1)
        started = time.monotonic()
        pool_of(client).clear(interrupt_in_use_connections=True)
        thread.join(10)
        assert not thread.is_alive()
        assert time.monotonic() - started < 5
        assert len(failure) == 1 and isinstance(failure[0], AutoReconnect), failure
        cleared = events.of(m.PoolClearedEvent)[0]
        assert cleared.interrupt_connections is True
        assert [e.reason for e in events.of(m.ConnectionClosedEvent)] == ["stale"]
        # The pool stays paused until the server's monitor finds it healthy again.
        client._topology.server(client.address).monitor.request_check()
        events.wait_for(m.PoolReadyEvent, 2)
        assert client.admin.command("ping")["ok"] == 1


def test_async_interrupt_in_use_connections_fails_a_hung_operation_at_once() -> None:
    async def main() -> None:
        events = Events()
        with MockServer() as server:
            async with AsyncMongoClient(
                server.uri, event_listeners=[events], serverMonitoringMode="poll"
            ) as client:
                await client.admin.command("ping")
                server.hang("slowCommand")
                task = asyncio.create_task(client.admin.command("slowCommand"))
                await asyncio.to_thread(server.wait_for, "slowCommand", 1)
                await (await async_pool_of(client)).clear(interrupt_in_use_connections=True)
                with pytest.raises(AutoReconnect):
                    await asyncio.wait_for(task, 5)
                # Paused until the monitor finds the server healthy again.
                client._topology.server(client.address).monitor.request_check()
                await events.async_wait_for(m.PoolReadyEvent, 2)
                assert (await client.admin.command("ping"))["ok"] == 1

    asyncio.run(main())


def test_interrupt_reaches_a_connection_still_in_its_handshake() -> None:
    events = Events()
    with MockServer() as server, MongoClient(server.uri, event_listeners=[events]) as client:
        pool = pool_of(client)  # the monitor's handshake is done: it is ready
        server.hang("isMaster")  # the pooled connection's handshake never gets its answer
        failure: list[BaseException] = []

        def check_out() -> None:
            try:
                pool.checkout(10)
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=check_out)
        thread.start()
        server.wait_for("isMaster", count=1)
        pool.clear(interrupt_in_use_connections=True)
        thread.join(10)
        assert not thread.is_alive()
        assert len(failure) == 1 and isinstance(failure[0], AutoReconnect), failure
        assert events.names()[-3:] == [
            "PoolClearedEvent",
            "ConnectionClosedEvent",
            "ConnectionCheckOutFailedEvent",
        ]
        assert events.of(m.ConnectionCheckOutFailedEvent)[0].reason == "connectionError"
