"""The mock server (tests/mockserver.py) driven by our own clients and by raw sockets.

Shows: the legacy handshake answered from the set hello, canned and callable replies,
every fault as the client sees it (OperationFailure, AutoReconnect, NetworkTimeout,
ProtocolError, ConfigurationError), recording and waiting, stop/start on the same port,
role shapes (replica set, mongos, load balancer, DocumentDB), the streaming hello, and
OP_MSG/OP_QUERY framing. No test sleeps: each waits on the server's condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from driver import AsyncMongoClient, MongoClient
from driver.bson import DEFAULT_CODEC_OPTIONS as OPTS
from driver.errors import (
    AutoReconnect,
    ConfigurationError,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    ProtocolError,
)
from driver.protocol.wire import (
    EXHAUST_ALLOWED,
    MORE_TO_COME,
    OP_MSG,
    OP_QUERY,
    REPLY_QUERY_FAILURE,
    Message,
    MessageReader,
    OpReply,
    decode_command_reply,
    encode_op_msg,
    encode_op_query,
)
from tests.driver.conftest import pool_of
from tests.mockserver import HANDSHAKE, HELLO_NAMES, ConnectionInfo, MockServer
from tests.mockserver_cluster import MockReplicaSet
from tests.mockserver_hello import documentdb, mongos, replica_set_member

pytestmark = pytest.mark.timeout(60)

# These tests read what the mock received: a polling monitor keeps that record simple
# (one monitoring connection, no stream, no RTT connection). Streaming is tested in
# tests/driver/test_monitor.py.
POLL = "&serverMonitoringMode=poll"


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as mock:
        yield mock
    assert mock.errors == []


class RawClient:
    """A bare socket speaking the wire protocol, to see exactly what the mock sends."""

    def __init__(self, server: MockServer) -> None:
        self.sock = socket.create_connection(server.address, timeout=10)
        self.reader = MessageReader()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> Message:
        while (message := self.reader.next_message()) is None:
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("the mock server closed the connection")
            self.reader.feed(data)
        return message

    def command(self, request_id: int, command: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self.send(encode_op_msg(request_id, command, codec_options=OPTS, **kwargs))
        reply = self.receive()
        assert reply.response_to == request_id
        return decode_command_reply(reply, OPTS)


@contextlib.contextmanager
def raw(server: MockServer) -> Iterator[RawClient]:
    client = RawClient(server)
    try:
        yield client
    finally:
        client.sock.close()


def hello_of(server: MockServer, **fields: Any) -> dict[str, Any]:
    with MongoClient(server.uri + POLL) as client:
        reply: dict[str, Any] = client.admin.command("hello", **fields)
        return reply


# ---------------------------------------------------------------- our client against the mock


def test_handshake_is_answered_from_the_set_hello(server: MockServer) -> None:
    server.set_hello(maxWireVersion=17, logicalSessionTimeoutMinutes=10, readOnly=None)
    reply = hello_of(server)
    assert reply["maxWireVersion"] == 17 and reply["logicalSessionTimeoutMinutes"] == 10
    assert "readOnly" not in reply and reply["isWritablePrimary"] is True
    # Connection 1 is the client's monitor; the command ran on the first pooled one.
    assert reply["connectionId"] == 2 and "helloOk" not in reply  # only if the client asks
    first, second, *rest = [c for c in server.received if c.connection_id == 2]
    assert [c.name for c in rest] == ["endSessions"]  # the client's sessions, at close
    # The driver's first message is the legacy isMaster over OP_QUERY, then OP_MSG.
    assert (first.name, first.op_code, first.database) == ("isMaster", OP_QUERY, "admin")
    assert first.document["helloOk"] is True and "driver" in first.document["client"]
    assert (second.name, second.op_code, second.document["$db"]) == ("hello", OP_MSG, "admin")
    assert hello_of(server)["connectionId"] == 4  # one id per connection (monitor, pooled)


def test_canned_and_callable_replies(server: MockServer) -> None:
    server.replies["buildInfo"] = {"version": "6.0.4", "versionArray": [6, 0, 4, 0]}
    server.replies["count"] = lambda cmd, info: {"n": len(cmd["count"]), "conn": info.id}

    def explode(cmd: dict[str, Any], info: ConnectionInfo) -> dict[str, Any]:
        raise ZeroDivisionError("boom")

    server.replies["explode"] = explode
    with MongoClient(server.uri + POLL) as client:
        assert client.admin.command("buildInfo") == {
            "version": "6.0.4",
            "versionArray": [6, 0, 4, 0],
            "ok": 1.0,
        }
        # Connection 1 is the client's monitor.
        assert client.test.command("count", "abcd") == {"n": 4, "conn": 2, "ok": 1.0}
        with pytest.raises(OperationFailure) as info:
            client.admin.command("frobnicate")
        assert info.value.code == 59 and "no such command: 'frobnicate'" in str(info.value)
        with pytest.raises(OperationFailure, match="ZeroDivisionError") as info:
            client.admin.command("explode")
        assert info.value.code == 1
    assert len(server.errors) == 1 and "ZeroDivisionError" in server.errors[0]
    server.errors.clear()


def test_error_fault_raises_operation_failure_with_code_and_labels(server: MockServer) -> None:
    server.replies["find"] = {"cursor": {"id": 0, "ns": "test.c", "firstBatch": []}}
    fault = server.fail("find", 112, "write conflict", error_labels=["TransientTransactionError"])
    with MongoClient(server.uri + POLL) as client:
        with pytest.raises(OperationFailure) as info:
            client.test.command("find", "c")
        assert info.value.code == 112 and "write conflict" in str(info.value)
        assert info.value.has_error_label("TransientTransactionError")
        # One-shot: the next find gets the canned reply, on the same connection.
        assert client.test.command("find", "c")["cursor"]["firstBatch"] == []
        assert fault.hits == 1 and server.connections_opened == 2  # the monitor's and one
        server.fail("find", 91, "shutting down", code_name="ShutdownInProgress")
        with pytest.raises(NotPrimaryError):  # the client reads the code, as PyMongo does
            client.test.command("find", "c")
        server.fail(("find", "ping"), 8000, times=None)
        for name in ("ping", "find", "ping"):
            with pytest.raises(OperationFailure):
                client.test.command(name, "c")
        server.clear_faults()
        assert client.admin.command("ping")["ok"] == 1


def test_close_without_answer_raises_auto_reconnect(server: MockServer) -> None:
    server.close_connection("ping")
    with MongoClient(server.uri + POLL) as client:
        with pytest.raises(AutoReconnect):
            client.admin.command("ping")
        # Only the monitor's connection stays open.
        server.wait_until(lambda: server.connections_open == 1, what="the close")
        assert client.admin.command("ping")["ok"] == 1  # on a new connection
    assert server.connections_opened == 3  # the monitor's, and two pooled ones


def test_close_mid_reply_raises_auto_reconnect(server: MockServer) -> None:
    server.close_mid_reply("ping", nbytes=10)  # inside the 16-byte header
    server.close_mid_reply("ping")  # half of the message
    with MongoClient(server.uri + POLL) as client:
        for _ in range(2):
            with pytest.raises(AutoReconnect):
                client.admin.command("ping")
        assert client.admin.command("ping")["ok"] == 1


def test_hang_and_socket_timeout_raise_network_timeout_quickly(server: MockServer) -> None:
    server.hang("find")  # never answers; released by stop()
    with MongoClient(server.uri + POLL + "&socketTimeoutMS=200") as client:
        client.admin.command("ping")
        start = time.monotonic()
        with pytest.raises(NetworkTimeout):
            client.test.command("find", "c")
        assert time.monotonic() - start < 5
    start = time.monotonic()
    server.stop()  # with a connection thread still hanging
    assert time.monotonic() - start < 2 and server.connections_open == 0


def test_hang_for_a_while_then_answer(server: MockServer) -> None:
    server.hang("ping", seconds=0.3)
    with MongoClient(server.uri + POLL) as client:
        start = time.monotonic()
        assert client.admin.command("ping")["ok"] == 1
        assert time.monotonic() - start >= 0.25


def test_garbage_reply_raises_protocol_error(server: MockServer) -> None:
    server.send_garbage("ping")
    with MongoClient(server.uri + POLL) as client:
        with pytest.raises(ProtocolError, match="HTTP"):
            client.admin.command("ping")
        assert client.admin.command("ping")["ok"] == 1


def test_faults_on_the_handshake(server: MockServer) -> None:
    with MongoClient(server.uri + POLL) as client:
        client.admin.command("ping")  # the monitor's and one pooled connection are open
        held = pool_of(client).checkout(5.0)  # so the next command needs a new connection
        server.fail(HANDSHAKE, 2, "bad handshake")
        with pytest.raises(OperationFailure, match="bad handshake"):
            client.admin.command("ping")
        pool_of(client).checkin(held)
        # A closed handshake is a network error (AutoReconnect); the next one gets through.
        server.close_connection(HANDSHAKE)
        with pytest.raises(AutoReconnect):
            client.admin.command("ping")
        assert client.admin.command("ping")["ok"] == 1
        client.admin.command("hello")  # "handshake" never matches a later hello
    # The monitor's, the first pooled, the refused, the closed and the last one.
    assert server.command_names().count("isMaster") == 5
    assert server.connections_opened == 5


@pytest.mark.parametrize(
    ("hello", "expected"),
    [
        # The topology's compatibility error (the monitor reports the server, selection
        # refuses it at once): both ranges named.
        ({"maxWireVersion": 5}, r"requires at least 6 .*\[0, 5\], Feldspar speaks \[6, \d+\]"),
        ({"minWireVersion": 30, "maxWireVersion": 31}, r"\[30, 31\], Feldspar speaks \[6, \d+\]"),
    ],
)
def test_wire_versions_out_of_range(hello: dict[str, int], expected: str) -> None:
    with MockServer(hello) as server, MongoClient(server.uri + POLL) as client:
        with pytest.raises(ConfigurationError, match=expected):
            client.admin.command("ping")
        assert server.command_names() == ["isMaster"]


def test_recording_and_waiting(server: MockServer) -> None:
    with MongoClient(server.uri + POLL) as client:
        worker = threading.Thread(target=lambda: [client.admin.command("ping") for _ in range(3)])
        worker.start()
        pings = server.wait_for("ping", count=3)
        worker.join(10)
    assert [doc["$db"] for doc in pings] == ["admin"] * 3
    last = server.received[-1]
    assert last.op_code == OP_MSG and last.connection_id == 2  # 1 is the monitor's
    assert last.peer[0] == "127.0.0.1" and last.compressor_id is None
    assert server.commands(HELLO_NAMES) == server.commands("isMaster")
    with pytest.raises(TimeoutError, match="'isMaster', 'ping'"):
        server.wait_for("find", timeout=0.05)
    server.clear_received()
    assert server.received == []


def test_stop_closes_connections_and_start_reuses_the_port() -> None:
    server = MockServer().start()
    try:
        port, process_id = server.port, server.hello["topologyVersion"]["processId"]
        with MongoClient(server.uri + POLL) as client:
            client.admin.command("ping")
            assert server.connections_open == 2  # the monitor's and the pooled one
            server.stop()
            assert not server.running and server.connections_open == 0
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            with pytest.raises(AutoReconnect):  # the pooled connection was closed under it
                client.admin.command("ping")
            server.start()
            assert server.port == port
            assert client.admin.command("ping")["ok"] == 1
            # A restarted server is a new process: a new topologyVersion.processId.
            assert client.admin.command("hello")["topologyVersion"]["processId"] != process_id
        assert server.connections_opened == 4  # both, before and after the restart
    finally:
        server.stop()
    assert server.errors == []


def test_sync_and_async_clients_at_once(server: MockServer) -> None:
    errors: list[BaseException] = []

    def sync_work() -> None:
        try:
            with MongoClient(server.uri + POLL) as client:
                for _ in range(20):
                    client.admin.command("ping")
        except BaseException as exc:  # re-raised by the test
            errors.append(exc)

    async def async_work() -> None:
        async with AsyncMongoClient(server.uri + POLL) as client:
            await asyncio.gather(*(client.admin.command("ping") for _ in range(20)))
            server.fail("find", 13, "unauthorized")
            with pytest.raises(OperationFailure):
                await client.test.command("find", "c")

    thread = threading.Thread(target=sync_work)
    thread.start()
    asyncio.run(async_work())
    thread.join(30)
    assert errors == []
    assert len(server.commands("ping")) == 40 and server.connections_opened >= 2


def test_compressed_requests_get_compressed_replies(server: MockServer) -> None:
    server.set_hello(compression=["zstd", "zlib"])
    with MongoClient(server.uri + POLL + "&compressors=zlib") as client:
        assert client.admin.command("ping")["ok"] == 1
    assert server.received[-1].compressor_id == 2  # zlib, negotiated from the handshake


# ---------------------------------------------------------------- topologies


def test_replica_set_roles_and_elections() -> None:
    with MockReplicaSet(3) as rs:
        hosts = rs.hosts
        assert rs.uri == f"mongodb://{','.join(hosts)}/?replicaSet=rs0"
        replies = [hello_of(member) for member in rs]
        assert [r["isWritablePrimary"] for r in replies] == [True, False, False]
        assert [r["secondary"] for r in replies] == [False, True, True]
        assert all(r["setName"] == "rs0" and r["hosts"] == hosts for r in replies)
        assert replies[1]["primary"] == hosts[0] and replies[1]["me"] == hosts[1]
        assert "electionId" in replies[0] and "electionId" not in replies[1]
        rs.set_primary(2)
        after = [hello_of(member) for member in rs]
        assert [r["isWritablePrimary"] for r in after] == [False, False, True]
        assert after[0]["primary"] == hosts[2]
        assert str(after[2]["electionId"]) > str(replies[0]["electionId"])
        rs.set_primary(None)
        assert not any(hello_of(member)["isWritablePrimary"] for member in rs)
        assert "primary" not in hello_of(rs[0])
    assert all(member.errors == [] for member in rs)


def test_member_shapes(server: MockServer) -> None:
    hosts = ["a:1", "b:2", "c:3"]
    server.set_hello(replica_set_member("primary", hosts=hosts, me="a:1", tags={"dc": "x"}))
    server.set_hello(replica_set_member("arbiter", hosts=hosts, me="c:3", primary="a:1"))
    hello = server.hello
    assert hello["arbiterOnly"] is True and hello["isWritablePrimary"] is False
    assert "electionId" not in hello and "tags" not in hello and hello["primary"] == "a:1"
    server.set_hello(replica_set_member("other", hosts=hosts, me="b:2", hidden=True))
    assert server.hello["hidden"] is True and server.hello["secondary"] is False
    server.set_hello(replica_set_member("ghost", hosts=hosts, me="b:2"))
    assert server.hello["isreplicaset"] is True and "setName" not in server.hello
    with pytest.raises(TypeError):
        server.hello["setName"] = "x"  # type: ignore[index]  # read-only: use set_hello
    server.hello = {"maxWireVersion": 8}  # a reset: back to the defaults
    assert "isreplicaset" not in server.hello and server.hello["maxWireVersion"] == 8


def test_mongos_load_balancer_and_documentdb(server: MockServer) -> None:
    server.set_hello(mongos())
    assert hello_of(server)["msg"] == "isdbgrid"
    service_id = server.load_balancer_mode()
    with MongoClient(f"mongodb://{server.hostport}/?loadBalanced=true") as client:
        assert client.admin.command("ping")["ok"] == 1
        handshake = server.received[-2]
        # Load balanced: the handshake is hello over OP_MSG, and only it gets a serviceId.
        assert (handshake.name, handshake.op_code) == ("hello", OP_MSG)
        assert handshake.document["loadBalanced"] is True
        assert client.admin.command("hello", loadBalanced=True)["serviceId"] == service_id
        assert "serviceId" not in client.admin.command("hello")
    server.service_id = None
    server.reset_hello(documentdb("4.0", me=server.hostport))
    with MongoClient(server.uri + POLL) as client:
        reply = client.admin.command("isMaster")
        assert reply["ismaster"] is True and reply["maxWireVersion"] == 7
        assert "topologyVersion" not in reply and "connectionId" not in reply
        assert client.admin.command("hello")["isWritablePrimary"] is True


# ---------------------------------------------------------------- raw wire protocol


def test_op_query_and_op_msg_framing(server: MockServer) -> None:
    server.replies["insert"] = lambda cmd, info: {"n": len(cmd["documents"])}
    with raw(server) as conn:
        query = {"isMaster": 1, "helloOk": True, "compression": ["zlib"]}
        conn.send(encode_op_query(1, "admin.$cmd", query, codec_options=OPTS))
        reply = conn.receive()
        assert isinstance(reply, OpReply) and reply.response_to == 1
        hello = decode_command_reply(reply, OPTS)
        assert hello["ismaster"] is True and "isWritablePrimary" not in hello
        assert hello["helloOk"] is True and "compression" not in hello  # the server has none
        assert list(hello)[-1] == "ok"
        # Document sequences are merged into the recorded command as arrays.
        insert = {"insert": "c", "$db": "test"}
        docs = {"documents": [{"_id": 1}, {"_id": 2}]}
        assert conn.command(2, insert, sequences=docs)["n"] == 2
        assert server.commands("insert")[0]["documents"] == [{"_id": 1}, {"_id": 2}]
        # moreToCome (w:0): no reply at all; the next reply answers the ping.
        conn.send(encode_op_msg(3, insert, sequences=docs, flags=MORE_TO_COME, codec_options=OPTS))
        assert conn.command(4, {"ping": 1, "$db": "admin"}) == {"ok": 1.0}
        assert server.received[-2].flags & MORE_TO_COME
        # OP_QUERY on a collection (not $cmd) is refused with QueryFailure.
        conn.send(encode_op_query(5, "test.c", {"x": 1}, codec_options=OPTS))
        failure = conn.receive()
        assert isinstance(failure, OpReply) and failure.flags & REPLY_QUERY_FAILURE


def test_streaming_hello_waits_for_changes_and_exhausts(server: MockServer) -> None:
    version = dict(server.hello["topologyVersion"])
    with raw(server) as conn:
        start = time.monotonic()
        request = {"hello": 1, "topologyVersion": version, "maxAwaitTimeMS": 10_000, "$db": "admin"}
        conn.send(encode_op_msg(10, request, flags=EXHAUST_ALLOWED, codec_options=OPTS))
        server.wait_for("hello")
        server.set_hello(hosts=["a:1"])
        first = conn.receive()
        doc = decode_command_reply(first, OPTS)
        assert first.more_to_come and first.response_to == 10 and doc["hosts"] == ["a:1"]
        assert doc["topologyVersion"]["counter"] == version["counter"] + 1
        server.set_hello(hosts=["b:2"])
        second = conn.receive()  # streamed: it answers the previous reply, not a request
        assert second.more_to_come and second.response_to == first.request_id
        assert decode_command_reply(second, OPTS)["hosts"] == ["b:2"]
        assert time.monotonic() - start < 5
        server.close_connection("hello")  # faults apply to streamed replies too
        server.set_hello(hosts=None)
        with pytest.raises(EOFError):
            conn.receive()
    assert len(server.commands("hello")) == 1  # one request, two replies


def test_awaitable_hello_answers_after_max_await_time(server: MockServer) -> None:
    version = server.hello["topologyVersion"]
    with raw(server) as conn:
        start = time.monotonic()
        request = {"hello": 1, "topologyVersion": version, "maxAwaitTimeMS": 150, "$db": "admin"}
        reply = conn.command(1, request)
        assert time.monotonic() - start >= 0.1
        assert reply["topologyVersion"] == version
        # An older topologyVersion is answered at once; stop() releases a waiting one.
        old = {"processId": version["processId"], "counter": version["counter"] - 1}
        assert conn.command(2, {**request, "topologyVersion": old})["ok"] == 1
        conn.send(encode_op_msg(3, {**request, "maxAwaitTimeMS": 60_000}, codec_options=OPTS))
        server.wait_for("hello", count=3)
        start = time.monotonic()
        server.stop()
        assert time.monotonic() - start < 2
        with pytest.raises(EOFError):
            conn.receive()
