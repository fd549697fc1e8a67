"""The client under failure: nothing leaks from the pool when a command fails before it
is sent, is cancelled mid-reply, or waits too long for a connection; a fork while
another thread holds the pool's lock does not deadlock the child."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from driver import AsyncMongoClient, MongoClient
from driver.errors import InvalidDocument, WaitQueueTimeoutError
from tests.driver.conftest import async_pool_of, pool_of


@pytest.fixture
def client(mongodb_uri: str) -> Iterator[MongoClient]:
    with MongoClient(mongodb_uri, maxPoolSize=1, serverSelectionTimeoutMS=5000) as c:
        yield c


def test_unencodable_command_keeps_the_connection(client: MongoClient) -> None:
    for _ in range(3):
        with pytest.raises(InvalidDocument):
            client.admin.command({"ping": 1, "x": object()})
    assert client.admin.command("ping")["ok"] == 1
    assert pool_of(client).max_total_seen == 1


def test_wait_queue_timeout_is_its_own_error(mongodb_uri: str) -> None:
    uri_options = {"maxPoolSize": 1, "waitQueueTimeoutMS": 100}
    with MongoClient(mongodb_uri, **uri_options) as c:
        pool = pool_of(c)
        held = pool.checkout(5.0)
        try:
            with pytest.raises(WaitQueueTimeoutError, match="maxPoolSize=1"):
                c.admin.command("ping")
        finally:
            pool.checkin(held)
        assert c.admin.command("ping")["ok"] == 1


def test_cancelled_command_does_not_poison_the_pool(mongodb_uri: str) -> None:
    async def main() -> None:
        async with AsyncMongoClient(mongodb_uri, maxPoolSize=1) as c:
            await c.admin.command(
                {
                    "configureFailPoint": "failCommand",
                    "mode": {"times": 1},
                    "data": {"failCommands": ["buildInfo"], "blockConnection": True,
                             "blockTimeMS": 1000},
                }
            )
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(c.admin.command("buildInfo"), timeout=0.2)
            # The half-read connection was discarded: the next reply is the right one.
            reply = await asyncio.wait_for(c.admin.command("ping"), timeout=10)
            assert reply["ok"] == 1 and "version" not in reply
            pool = await async_pool_of(c)
            assert pool._total <= 1 and pool._pending == 0

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_another_thread_holds_the_pool_lock(client: MongoClient) -> None:
    client.admin.command("ping")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pool_of(client)._lock:
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = 0 if client.admin.command("ping")["ok"] == 1 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        thread.join(10)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert client.admin.command("ping")["ok"] == 1
