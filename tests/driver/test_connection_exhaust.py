"""Exhaust streams on a connection (OP_MSG moreToCome): the monitor's streaming hello."""

from __future__ import annotations

import threading

import pytest

from driver._sync.connection import Connection, ConnectionSettings
from driver.errors import ProtocolError
from tests.mockserver import MockServer


def _awaitable_hello(conn: Connection, max_await_ms: int) -> dict[str, object]:
    assert conn.hello is not None
    command = {
        "hello": 1,
        "topologyVersion": conn.hello.document["topologyVersion"],
        "maxAwaitTimeMS": max_await_ms,
    }
    reply: dict[str, object] = conn.command("admin", command, exhaust_allowed=True, timeout=5)
    return reply


def test_a_stream_of_hello_replies_follows_the_server() -> None:
    with MockServer() as server:
        conn = Connection.open(server.address, ConnectionSettings(connect_timeout=5))
        try:
            first = _awaitable_hello(conn, 200)
            assert conn.more_to_come
            changed = threading.Timer(0.05, lambda: server.set_hello(maxWireVersion=20))
            changed.start()
            pushed = conn.next_reply(timeout=5)  # sent by the server, unasked
            changed.join(5)
            assert pushed["maxWireVersion"] == 20
            assert pushed["topologyVersion"]["counter"] > first["topologyVersion"]["counter"]
            # Nothing else may be sent while the stream is open.
            with pytest.raises(ProtocolError, match="exhaust stream is still open"):
                conn.command("admin", {"ping": 1})
        finally:
            conn.close()


def test_the_real_server_streams_too(mongodb_server: object) -> None:
    port = getattr(mongodb_server, "port", None)
    if port is None:
        pytest.skip("MONGODB_URI names an external server; its port is not known here")
    conn = Connection.open(("127.0.0.1", port), ConnectionSettings(connect_timeout=5))
    try:
        _awaitable_hello(conn, 100)
        for _ in range(2):
            assert conn.more_to_come
            assert conn.next_reply(timeout=5)["ok"] == 1
    finally:
        conn.close()


def test_next_reply_without_a_stream_is_refused() -> None:
    with MockServer() as server:
        conn = Connection.open(server.address, ConnectionSettings(connect_timeout=5))
        try:
            conn.command("admin", {"ping": 1})
            with pytest.raises(ProtocolError, match="no exhaust stream"):
                conn.next_reply(timeout=1)
        finally:
            conn.close()
