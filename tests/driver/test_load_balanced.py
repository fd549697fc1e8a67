"""Behind a load balancer: a network error clears the pool for that service without
pausing it (no monitor would make it ready again), and work goes on."""

from __future__ import annotations

import asyncio
import threading

import pytest

from driver import AsyncMongoClient, MongoClient
from driver import monitoring as m
from driver.errors import AutoReconnect
from tests.mockserver import MockServer


class Pool(m.ConnectionPoolListener):
    def __init__(self) -> None:
        self.cleared: list[m.PoolClearedEvent] = []
        self.lock = threading.Lock()

    def pool_cleared(self, event: m.PoolClearedEvent) -> None:
        with self.lock:
            self.cleared.append(event)


def test_a_network_error_clears_the_service_but_never_pauses_the_pool() -> None:
    listener = Pool()
    with MockServer() as server:
        service_id = server.load_balancer_mode()
        uri = server.uri.replace("directConnection=true", "loadBalanced=true")
        with MongoClient(uri, event_listeners=[listener]) as client:
            assert client.admin.command("ping")["ok"] == 1
            server.close_connection("ping")
            with pytest.raises(AutoReconnect):
                client.admin.command("ping")
            assert [e.service_id for e in listener.cleared] == [service_id]
            assert client.admin.command("ping")["ok"] == 1  # no monitor needed


def test_async_load_balanced_client_recovers_too() -> None:
    async def main() -> None:
        with MockServer() as server:
            server.load_balancer_mode()
            uri = server.uri.replace("directConnection=true", "loadBalanced=true")
            async with AsyncMongoClient(uri) as client:
                await client.admin.command("ping")
                server.close_connection("ping")
                with pytest.raises(AutoReconnect):
                    await client.admin.command("ping")
                assert (await client.admin.command("ping"))["ok"] == 1

    asyncio.run(main())
