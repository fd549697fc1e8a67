"""MongoClient and AsyncMongoClient against SecantusDB: commands, auth from the URI,
server selection timeouts, a shared pool under 64 threads / 500 tasks, fork."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import traceback
from collections.abc import Iterator

import pytest

import driver
from driver import AsyncMongoClient, MongoClient
from driver.errors import (
    ConfigurationError,
    InvalidName,
    InvalidOperation,
    OperationFailure,
    ServerSelectionTimeoutError,
)
from tests.driver.conftest import AUTH_PASSWORD, AUTH_USER, async_pool_of, pool_of
from tools.testserver import TestServer


@pytest.fixture
def client(mongodb_uri: str) -> Iterator[MongoClient]:
    with MongoClient(mongodb_uri, maxPoolSize=10) as c:
        yield c


def test_ping_build_info_and_hello(client: MongoClient) -> None:
    assert client.admin.command("ping")["ok"] == 1
    assert "version" in client.admin.command("buildInfo")
    hello = client["admin"].command({"hello": 1})
    assert hello["maxWireVersion"] >= 6
    assert client.test.command("ping", comment="hi")["ok"] == 1


def test_failed_command_is_typed(client: MongoClient) -> None:
    with pytest.raises(OperationFailure) as info:
        client.admin.command("noSuchCommand")
    assert info.value.code == 59
    reply = client.admin.command("noSuchCommand", allowable_errors=[59])
    assert reply["ok"] == 0
    assert client.admin.command("noSuchCommand", check=False)["code"] == 59


def test_async_client(mongodb_uri: str) -> None:
    async def main() -> None:
        async with AsyncMongoClient(mongodb_uri) as c:
            assert (await c.admin.command("ping"))["ok"] == 1
            assert c.address[1] is not None

    asyncio.run(main())


def test_auth_from_the_uri(auth_server: TestServer) -> None:
    uri = f"mongodb://{AUTH_USER}:{AUTH_PASSWORD}@127.0.0.1:{auth_server.port}/?authSource=admin"
    with MongoClient(uri) as c:
        status = c.admin.command("connectionStatus")
        assert status["authInfo"]["authenticatedUsers"] == [{"user": AUTH_USER, "db": "admin"}]


def test_wrong_password_in_the_uri(auth_server: TestServer) -> None:
    wrong = "-".join(["not", "the", "password"])
    uri = f"mongodb://{AUTH_USER}:{wrong}@127.0.0.1:{auth_server.port}/"
    with MongoClient(uri) as c:
        with pytest.raises(OperationFailure) as info:
            c.admin.command("ping")
        assert info.value.code == 18
        text = "".join(traceback.format_exception(info.value)) + repr(c) + repr(c.options)
        assert wrong not in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_selection_timeout_names_the_server() -> None:
    port = _free_port()
    uri = f"mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=1200"
    with MongoClient(uri) as c, pytest.raises(ServerSelectionTimeoutError) as info:
        c.admin.command("ping")
    assert f"127.0.0.1:{port}" in str(info.value) and "refused" in str(info.value)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="contradicts"):
        MongoClient("mongodb://h/?retryWrites=false", retryWrites=True)
    with pytest.raises(ConfigurationError, match="directConnection"):
        MongoClient("mongodb://a,b/?directConnection=true")
    with pytest.raises(ConfigurationError, match="Unknown option"):
        MongoClient("mongodb://h/", maxPoolSise=3)
    with pytest.raises(InvalidName):
        MongoClient("mongodb://h/")["bad.name"]


def test_closed_client_refuses_work(mongodb_uri: str) -> None:
    c = MongoClient(mongodb_uri)
    c.admin.command("ping")
    c.close()
    with pytest.raises(InvalidOperation):
        c.admin.command("ping")


def test_64_threads_share_10_connections(mongodb_uri: str) -> None:
    errors: list[BaseException] = []
    with MongoClient(mongodb_uri, maxPoolSize=10) as c:

        def work() -> None:
            try:
                for _ in range(20):
                    assert c.admin.command("ping")["ok"] == 1
            except BaseException as exc:  # collected and re-raised by the test
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(64)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert not errors, errors[:3]
        assert 1 <= pool_of(c).max_total_seen <= 10


def test_500_tasks_share_10_connections(mongodb_uri: str) -> None:
    async def main() -> None:
        async with AsyncMongoClient(mongodb_uri, maxPoolSize=10) as c:
            replies = await asyncio.wait_for(
                asyncio.gather(*(c.admin.command("ping") for _ in range(500))), timeout=120
            )
            assert all(reply["ok"] == 1 for reply in replies)
            assert 1 <= (await async_pool_of(c)).max_total_seen <= 10

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_uses_its_own_sockets(mongodb_uri: str) -> None:
    with MongoClient(mongodb_uri) as c:
        c.admin.command("ping")  # the parent now has a pooled socket
        pid = os.fork()
        if pid == 0:  # the child: must open its own connection, never the parent's
            code = 1
            try:
                ok = c.admin.command("ping")["ok"] == 1
                code = 0 if ok and pool_of(c).max_total_seen >= 1 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert c.admin.command("ping")["ok"] == 1  # the parent's socket is untouched


def test_public_names() -> None:
    assert driver.MongoClient is MongoClient
