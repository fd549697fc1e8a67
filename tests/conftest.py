"""Shared pytest fixtures for the whole suite.

Sections (add new ones below, each with its own heading):

- Servers: ``mongodb_server`` and ``mongodb_uri``, one SecantusDB per session,
  started lazily, so a run of unit tests never starts a server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tools.testserver import TestServer

# ---------------------------------------------------------------------------- servers

SERVER_FIXTURES = frozenset({"mongodb_server", "mongodb_uri"})


@dataclass(frozen=True)
class ExternalServer:
    """A server someone else runs, named by the ``MONGODB_URI`` environment variable."""

    uri: str


@pytest.fixture(scope="session")
def mongodb_server() -> Iterator[TestServer | ExternalServer]:
    """The session's server: ``MONGODB_URI`` if set, else a SecantusDB started here.

    Both have ``.uri``. Tests that need to control the process (restart, flags) check
    ``isinstance(server, TestServer)`` or start their own ``TestServer``.
    """
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield ExternalServer(uri)
        return
    with TestServer() as server:
        yield server


@pytest.fixture(scope="session")
def mongodb_uri(mongodb_server: TestServer | ExternalServer) -> str:
    """The connection string of the session's server."""
    return mongodb_server.uri


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a server fixture with ``server``.

    So ``pytest -m "not server"`` runs only the tests that need no server.
    """
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
