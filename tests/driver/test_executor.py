"""The execution core against the mock server: implicit sessions, cluster time gossip,
retryable writes (txnNumber, one retry, NoWritesPerformed, retryWrites=false) and
retryable reads, unacknowledged writes; sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from driver import AsyncMongoClient, DeleteOne, MongoClient
from driver._sync.executor import Command
from driver.bson import Int64, Timestamp
from driver.errors import AutoReconnect, OperationFailure
from tests.mockserver import MockServer
from tests.mockserver_hello import replica_set_member

OPTIONS = "&serverMonitoringMode=poll"


@pytest.fixture
def primary() -> Iterator[MockServer]:
    """A one-member replica set: sessions and retryable writes are supported."""
    with MockServer() as server:
        server.set_hello(
            replica_set_member("primary", hosts=[server.hostport], me=server.hostport)
        )
        server.replies["insert"] = lambda cmd, info: {"n": len(cmd.get("documents", []))}
        server.replies["find"] = lambda cmd, info: {
            "cursor": {"id": Int64(0), "ns": "test.c", "firstBatch": []}
        }
        yield server


def insert(client: MongoClient, *, retryable: bool = True) -> Any:
    command = Command("test", {"insert": "c"}, sequences={"documents": [{"_id": 1}]},
                      write=True, retryable=retryable)
    return client._executor.run(command)[0]


def find(client: MongoClient, *, retryable: bool = True) -> Any:
    return client._executor.run(Command("test", {"find": "c"}, retryable=retryable))[0]


def test_every_command_carries_an_implicit_session_that_is_reused(primary: MockServer) -> None:
    with MongoClient(primary.uri + OPTIONS) as client:
        for _ in range(3):
            find(client)
        lsids = [c["lsid"]["id"] for c in primary.commands("find")]
        assert len(set(lsids)) == 1 and lsids[0].subtype == 4  # one pooled session
    # Closing ends the pooled sessions on the server.
    (end,) = primary.commands("endSessions")
    assert [s["id"] for s in end["endSessions"]] == [lsids[0]]


def test_cluster_time_is_gossiped(primary: MockServer) -> None:
    newer = {"clusterTime": Timestamp(100, 2), "signature": {"keyId": Int64(0)}}
    primary.replies["ping"] = lambda cmd, info: {"$clusterTime": newer}
    with MongoClient(primary.uri + OPTIONS) as client:
        client.admin.command("ping")
        find(client)
        assert primary.commands("find")[-1]["$clusterTime"] == newer
        older = {"clusterTime": Timestamp(100, 1)}
        primary.replies["ping"] = lambda cmd, info: {"$clusterTime": older}
        client.admin.command("ping")
        find(client)
        assert primary.commands("find")[-1]["$clusterTime"] == newer  # never goes back


def test_a_retryable_write_is_retried_once_with_the_same_txn_number(primary: MockServer) -> None:
    primary.close_connection("insert")  # the first attempt loses its connection
    with MongoClient(primary.uri + OPTIONS) as client:
        assert insert(client)["n"] == 1
    first, second = primary.commands("insert")
    assert first["txnNumber"] == second["txnNumber"] == 1
    assert first["lsid"] == second["lsid"]


def test_each_write_gets_the_next_txn_number(primary: MockServer) -> None:
    with MongoClient(primary.uri + OPTIONS) as client:
        insert(client)
        insert(client)
    assert [c["txnNumber"] for c in primary.commands("insert")] == [1, 2]


def test_with_retry_writes_false_nothing_carries_a_txn_number(primary: MockServer) -> None:
    primary.close_connection("insert")
    with MongoClient(primary.uri + OPTIONS + "&retryWrites=false") as client:
        with pytest.raises(AutoReconnect):
            insert(client)
        insert(client)
    assert len(primary.commands("insert")) == 2
    assert all("txnNumber" not in c.document for c in primary.received)


def test_a_standalone_gets_no_txn_number(primary: MockServer) -> None:
    primary.reset_hello()  # a standalone: no retryable writes
    with MongoClient(primary.uri + OPTIONS) as client:
        insert(client)
    assert "txnNumber" not in primary.commands("insert")[0]


def test_no_writes_performed_on_the_retry_raises_the_first_error(primary: MockServer) -> None:
    primary.close_connection("insert")
    primary.fail("insert", 91, "shutting down", error_labels=["RetryableWriteError",
                                                              "NoWritesPerformed"])
    with MongoClient(primary.uri + OPTIONS) as client, pytest.raises(AutoReconnect) as info:
        insert(client)
    assert info.value.has_error_label("RetryableWriteError")
    assert len(primary.commands("insert")) == 2


def test_a_second_failure_is_raised(primary: MockServer) -> None:
    primary.close_connection("insert")
    primary.fail("insert", 11000, "dup key")  # not retryable: reported as it is
    with MongoClient(primary.uri + OPTIONS) as client, pytest.raises(OperationFailure) as info:
        insert(client)
    assert info.value.code == 11000
    assert len(primary.commands("insert")) == 2


def test_a_non_retryable_write_error_is_not_retried(primary: MockServer) -> None:
    primary.fail("insert", 11000, "dup key")
    with MongoClient(primary.uri + OPTIONS) as client, pytest.raises(OperationFailure):
        insert(client)
    assert len(primary.commands("insert")) == 1


def test_retryable_reads(primary: MockServer) -> None:
    with MongoClient(primary.uri + OPTIONS) as client:
        primary.close_connection("find")
        find(client)  # retried
        assert len(primary.commands("find")) == 2
        primary.close_connection("find")
        with pytest.raises(AutoReconnect):
            find(client, retryable=False)
    with MongoClient(primary.uri + OPTIONS + "&retryReads=false") as client:
        primary.close_connection("find")
        with pytest.raises(AutoReconnect):
            find(client)


def test_an_unacknowledged_write_gets_no_reply(primary: MockServer) -> None:
    with MongoClient(primary.uri + OPTIONS) as client:
        command = Command("test", {"insert": "c", "writeConcern": {"w": 0}},
                          sequences={"documents": [{"_id": 1}]}, write=True,
                          retryable=True, unacknowledged=True)
        assert client._executor.run(command)[0] is None
        client.admin.command("ping")  # the connection is still in step
    (sent,) = primary.commands("insert")
    assert "txnNumber" not in sent and "lsid" not in sent
    assert sent["documents"] == [{"_id": 1}]


def test_async_retryable_write(primary: MockServer) -> None:
    from driver._async.executor import Command as AsyncCommand

    async def main() -> None:
        async with AsyncMongoClient(primary.uri + OPTIONS) as client:
            primary.close_connection("insert")
            command = AsyncCommand("test", {"insert": "c"},
                                   sequences={"documents": [{"_id": 1}]},
                                   write=True, retryable=True)
            reply, _, _ = await client._executor.run(command)
            assert reply["n"] == 1

    asyncio.run(main())
    first, second = primary.commands("insert")
    assert first["txnNumber"] == second["txnNumber"]


def test_bulk_batches_follow_the_limits_the_server_announced(primary: MockServer) -> None:
    # A server with smaller limits than MongoDB's defaults (100,000 writes, 48 MB):
    # batches are cut by its hello, not by the defaults.
    primary.set_hello(maxWriteBatchSize=2)
    primary.replies["delete"] = lambda cmd, info: {"n": len(cmd.get("deletes", []))}
    with MongoClient(primary.uri + OPTIONS) as client:
        collection = client.test.c
        result = collection.insert_many([{"_id": i} for i in range(5)])
        assert result.inserted_ids == [0, 1, 2, 3, 4]
        bulk = collection.bulk_write([DeleteOne({"_id": i}) for i in range(3)])
        assert bulk.deleted_count == 3
    assert [len(c["documents"]) for c in primary.commands("insert")] == [2, 2, 1]
    assert [len(c["deletes"]) for c in primary.commands("delete")] == [2, 1]


def test_async_bulk_batches_follow_the_server_limits(primary: MockServer) -> None:
    primary.set_hello(maxWriteBatchSize=3)

    async def main() -> None:
        async with AsyncMongoClient(primary.uri + OPTIONS) as client:
            await client.test.c.insert_many([{"_id": i} for i in range(7)])

    asyncio.run(main())
    assert [len(c["documents"]) for c in primary.commands("insert")] == [3, 3, 1]
