"""Shared pytest fixtures for the whole suite.

Sections (add new ones below, each with its own heading):

- Servers: ``mongodb_server`` and ``mongodb_uri``, one SecantusDB per session,
  started lazily, so a run of unit tests never starts a server.
- Spec skip lists: every spec runner's ``SPEC_SKIPS`` printed at the end of the run.
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


# ---------------------------------------------------------------------------- spec skip lists
#
# A spec runner lists every case (or assertion) it skips, with the reason, in ONE
# module-level ``SPEC_SKIPS: list[tuple[str, str]]`` of (name, reason). The run prints
# each collected runner's list at the end, so no skip goes unseen.

_SPEC_SKIPS = pytest.StashKey[dict[str, list[tuple[str, str]]]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember the ``SPEC_SKIPS`` list of every collected test module that has one."""
    found: dict[str, list[tuple[str, str]]] = {}
    for item in session.items:
        module = getattr(item, "module", None)
        skips = getattr(module, "SPEC_SKIPS", None)
        if module is not None and skips is not None:
            found.setdefault(module.__name__, list(skips))
    session.config.stash[_SPEC_SKIPS] = found


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the skip lists remembered by ``pytest_collection_finish``."""
    found = config.stash.get(_SPEC_SKIPS, {})
    if not found:
        return
    terminalreporter.section("spec tests skipped by name (SPEC_SKIPS)")
    for module, skips in sorted(found.items()):
        terminalreporter.write_line(f"{module}: {len(skips) or 'nothing'} skipped")
        for name, reason in skips:
            terminalreporter.write_line(f"  - {name}: {reason}")
