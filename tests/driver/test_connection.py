"""One connection, sync and async, against SecantusDB and against peers that misbehave:
handshake, commands, typed errors, SCRAM-SHA-256 authentication."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driver._async.connection import AsyncConnection
from driver._async.connection import ConnectionSettings as AsyncSettings
from driver._sync.connection import Connection, ConnectionSettings
from driver.errors import AutoReconnect, OperationFailure, ProtocolError
from driver.protocol.auth import MongoCredential, ScramCache
from tools.testserver import TestServer


def _address(uri: str) -> tuple[str, int]:
    hostport = uri.split("//", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


def test_sync_connection_runs_commands(mongodb_uri: str) -> None:
    conn = Connection.open(_address(mongodb_uri), ConnectionSettings(appname="conn-test"))
    try:
        assert conn.hello is not None and conn.hello.max_wire_version >= 6
        assert conn.command("admin", {"ping": 1})["ok"] == 1
        with pytest.raises(OperationFailure) as info:
            conn.command("admin", {"noSuchCommand": 1})
        assert info.value.code == 59  # CommandNotFound, keyed on the server's code
        assert not conn.closed  # a server error leaves the connection usable
        assert conn.command("admin", {"ping": 1})["ok"] == 1
    finally:
        conn.close()
    assert conn.closed


def test_async_connection_runs_commands(mongodb_uri: str) -> None:
    async def main() -> None:
        conn = await AsyncConnection.open(_address(mongodb_uri), AsyncSettings())
        try:
            replies = await asyncio.gather(*(conn.command("admin", {"ping": 1}) for _ in range(1)))
            assert replies[0]["ok"] == 1
            build = await conn.command("admin", {"buildInfo": 1})
            assert "version" in build
        finally:
            await conn.close()

    asyncio.run(main())


def test_compression_is_negotiated(mongodb_uri: str) -> None:
    settings = ConnectionSettings(compressors=("zlib",))
    conn = Connection.open(_address(mongodb_uri), settings)
    try:
        offered = conn.hello.compression if conn.hello else ()
        assert conn.compressor == ("zlib" if "zlib" in offered else None)
        assert conn.command("admin", {"ping": 1})["ok"] == 1
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_is_autoreconnect() -> None:
    port = _free_port()
    with pytest.raises(AutoReconnect, match="refused"):
        Connection.open(("127.0.0.1", port), ConnectionSettings(connect_timeout=2.0))


@pytest.fixture
def http_peer() -> Iterator[tuple[str, int]]:
    """A peer that answers anything with an HTTP error, like a web server would."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5.0)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with client:
                client.settimeout(5.0)
                try:
                    client.recv(65536)
                    client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    address = listener.getsockname()[:2]
    yield address
    stop.set()
    # Closing a listener does not wake a thread blocked in accept(): connect once.
    with contextlib.suppress(OSError):
        socket.create_connection(address, timeout=1.0).close()
    listener.close()
    thread.join(timeout=5.0)


def test_a_non_mongodb_peer_is_a_protocol_error(http_peer: tuple[str, int]) -> None:
    with pytest.raises(ProtocolError, match="HTTP"):
        Connection.open(http_peer, ConnectionSettings(connect_timeout=5.0))


def _settings(password: str, cache: ScramCache | None = None) -> ConnectionSettings:
    credential = MongoCredential("DEFAULT", "admin", "ada", password)
    return ConnectionSettings(credential=credential, scram_cache=cache)


def test_right_password_authenticates(auth_server: TestServer) -> None:
    cache = ScramCache()
    for _ in range(2):  # the second connection reuses the derived keys
        conn = Connection.open((auth_server.host, auth_server.port), _settings("s3cret-pw", cache))
        try:
            status = conn.command("admin", {"connectionStatus": 1})
            users = status["authInfo"]["authenticatedUsers"]
            assert users == [{"user": "ada", "db": "admin"}]
        finally:
            conn.close()


def test_wrong_password_is_code_18_without_the_password(auth_server: TestServer) -> None:
    # Built at run time: the traceback quotes source lines, and a literal would show.
    wrong = "-".join(["hunter2", "wrong"])
    with pytest.raises(OperationFailure) as info:
        Connection.open((auth_server.host, auth_server.port), _settings(wrong))
    assert info.value.code == 18
    rendered: list[Any] = [
        str(info.value),
        repr(info.value),
        "".join(traceback.format_exception(info.value)),
    ]
    assert all("hunter2-wrong" not in text for text in rendered)


def test_unauthenticated_commands_are_refused(auth_server: TestServer) -> None:
    conn = Connection.open((auth_server.host, auth_server.port), ConnectionSettings())
    try:
        with pytest.raises(OperationFailure) as info:
            conn.command("admin", {"listDatabases": 1})
        assert info.value.code == 13  # Unauthorized
    finally:
        conn.close()


def test_sync_twin_is_generated() -> None:
    source = Path(__file__).resolve().parents[2] / "driver" / "_sync" / "connection.py"
    assert source.read_text().startswith("# Generated by tools/unasync.py")
