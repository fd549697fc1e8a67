"""Command monitoring through the client: user commands only, in order, redacted."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from driver import AsyncMongoClient, MongoClient
from driver import monitoring as m
from driver._sync.executor import Command
from driver.errors import OperationFailure
from tests.driver.conftest import AUTH_PASSWORD, AUTH_USER
from tools.testserver import TestServer


class Commands(m.CommandListener):
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.lock = threading.Lock()

    def started(self, event: m.CommandStartedEvent) -> None:
        with self.lock:
            self.events.append(event)

    def succeeded(self, event: m.CommandSucceededEvent) -> None:
        with self.lock:
            self.events.append(event)

    def failed(self, event: m.CommandFailedEvent) -> None:
        with self.lock:
            self.events.append(event)

    def names(self) -> list[tuple[str, str]]:
        return [(type(e).__name__.removeprefix("Command").removesuffix("Event"),
                 e.command_name) for e in self.events]


def test_user_commands_are_reported_and_nothing_else(mongodb_uri: str) -> None:
    listener = Commands()
    with MongoClient(mongodb_uri, event_listeners=[listener]) as client:
        client.admin.command("ping")
        with pytest.raises(OperationFailure):
            client.admin.command("noSuchCommand")
        names = listener.names()
        events = list(listener.events)
    # No handshake, no monitoring hello: only what the application ran.
    assert names == [
        ("Started", "ping"), ("Succeeded", "ping"),
        ("Started", "noSuchCommand"), ("Failed", "noSuchCommand"),
    ]
    started, succeeded, _, failed = events
    assert started.database_name == "admin" and started.command["$db"] == "admin"
    assert "lsid" in started.command
    assert started.request_id == succeeded.request_id and succeeded.reply["ok"] == 1
    assert succeeded.duration_micros >= 0 and started.connection_id == client_address(mongodb_uri)
    assert failed.failure["code"] == 59


def client_address(uri: str) -> tuple[str, int]:
    host, port = uri.split("//")[1].split("/")[0].rsplit(":", 1)
    return host, int(port)


def test_document_sequences_show_as_arrays(mongodb_uri: str) -> None:
    listener = Commands()
    with MongoClient(mongodb_uri, event_listeners=[listener]) as client:
        client._executor.run(
            Command("test", {"insert": "events"}, sequences={"documents": [{"_id": 1}]},
                    write=True, retryable=True)
        )
        client.test.command("drop", "events")
    insert = listener.events[0]
    assert insert.command["documents"] == [{"_id": 1}] and "txnNumber" in insert.command


def test_authentication_is_never_reported(auth_server: TestServer) -> None:
    listener = Commands()
    uri = f"mongodb://{AUTH_USER}:{AUTH_PASSWORD}@127.0.0.1:{auth_server.port}/?directConnection=true"
    with MongoClient(uri, event_listeners=[listener]) as client:
        client.admin.command("ping")
        assert listener.names() == [("Started", "ping"), ("Succeeded", "ping")]
    # Closing ends the client's sessions: that is reported too, as in PyMongo.
    assert listener.names()[2:] == [("Started", "endSessions"), ("Succeeded", "endSessions")]


def test_sensitive_commands_are_redacted(mongodb_uri: str) -> None:
    listener = Commands()
    with MongoClient(mongodb_uri, event_listeners=[listener]) as client:
        client.test.command("createUser", "eve", pwd="hunter2-secret", roles=[])
        client.test.command("dropUser", "eve")
    created = listener.events[0]
    assert created.command_name == "createUser" and created.command == {}
    assert listener.events[1].reply == {}
    assert "hunter2" not in repr(listener.events)


def test_commands_are_logged_at_debug_without_secrets(
    mongodb_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="driver.command"), MongoClient(mongodb_uri) as c:
        c.admin.command("ping")
        c.test.command("createUser", "eve2", pwd="hunter2-secret", roles=[])
        c.test.command("dropUser", "eve2")
    text = caplog.text
    assert '"commandName": "ping"' in text or "ping" in text
    assert "hunter2" not in text


def test_async_client_reports_commands(mongodb_uri: str) -> None:
    listener = Commands()

    async def main() -> None:
        async with AsyncMongoClient(mongodb_uri, event_listeners=[listener]) as client:
            await client.admin.command("ping")

    asyncio.run(main())
    assert listener.names()[:2] == [("Started", "ping"), ("Succeeded", "ping")]
