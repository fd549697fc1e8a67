"""Fixtures for the driver tests that need more than the plain session server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from driver._sync.connection import Connection, ConnectionSettings
from tools.testserver import TestServer

AUTH_USER = "ada"
AUTH_PASSWORD = "s3cret-pw"


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestServer]:
    """A server with SCRAM-SHA-256 on: the user is made first, then it restarts with --auth."""
    storage = tmp_path_factory.mktemp("auth-storage")
    args = ["--storage-path", str(storage)]
    with TestServer(args) as open_server:
        conn = Connection.open((open_server.host, open_server.port), ConnectionSettings())
        try:
            conn.command(
                "admin",
                {"createUser": AUTH_USER, "pwd": AUTH_PASSWORD, "roles": ["root"],
                 "mechanisms": ["SCRAM-SHA-256"]},
            )
        finally:
            conn.close()
    with TestServer([*args, "--auth"]) as server:
        yield server




def pool_of(client: Any) -> Any:
    """The (ready) pool of the server a sync client writes to: selects it first."""
    return client._topology.select_server().pool


async def async_pool_of(client: Any) -> Any:
    """The (ready) pool of the server an async client writes to: selects it first."""
    return (await client._topology.select_server()).pool
