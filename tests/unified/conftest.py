"""Fixtures of the unified suites, and what their run prints at the end.

- ``unified_facts``: the session server's facts (version, topology, parameters), read
  once.
- every test module drops, at its end, the databases its cases created.
- the end of the run lists the cases runOnRequirements skipped (judged against the
  server, so only known at run time) and every module's ``DRIVER_BUGS`` (strict xfails).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.unified.runner import REQUIREMENT_SKIPS
from tests.unified.support import ServerFacts, load_facts

_KEEP = {"admin", "config", "local"}


@pytest.fixture(scope="session")
def unified_facts(mongodb_uri: str) -> ServerFacts:
    return asyncio.run(load_facts(mongodb_uri))


async def _database_names(uri: str) -> set[str]:
    from driver import AsyncMongoClient

    async with AsyncMongoClient(uri) as client:
        return set(await client.list_database_names())


async def _drop(uri: str, names: set[str]) -> None:
    from driver import AsyncMongoClient

    async with AsyncMongoClient(uri) as client:
        for name in names:
            await client.drop_database(name)


@pytest.fixture(scope="module", autouse=True)
def _quick_immediate_checks() -> Iterator[None]:
    """minHeartbeatFrequencyMS lowered from 0.5 s to 20 ms (the spec allows it for the
    clients of tests with fail points): a check requested after a state change error
    runs at once. The driver fixes it as a module constant of each monitor."""
    import driver._async.monitor as async_monitor
    import driver._sync.monitor as sync_monitor

    with pytest.MonkeyPatch.context() as patch:
        for module in (async_monitor, sync_monitor):
            patch.setattr(module, "MIN_HEARTBEAT_FREQUENCY", 0.02)
        yield


@pytest.fixture(scope="module", autouse=True)
def _drop_created_databases(unified_facts: ServerFacts) -> Iterator[None]:
    uri = unified_facts.internal_uri
    before = asyncio.run(_database_names(uri))
    yield
    created = asyncio.run(_database_names(uri)) - before - _KEEP
    if created:
        asyncio.run(_drop(uri, created))


_BUGS = pytest.StashKey[dict[str, dict[str, str]]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    found: dict[str, dict[str, str]] = {}
    for item in session.items:
        module = getattr(item, "module", None)
        bugs = getattr(module, "DRIVER_BUGS", None)
        if module is not None and bugs:
            found.setdefault(module.__name__, dict(bugs))
    session.config.stash[_BUGS] = found


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if REQUIREMENT_SKIPS:
        terminalreporter.section("unified cases skipped by runOnRequirements (judged at run time)")
        by_reason: dict[str, list[str]] = {}
        for name, reason in sorted(REQUIREMENT_SKIPS.items()):
            by_reason.setdefault(reason, []).append(name)
        for reason, names in sorted(by_reason.items()):
            terminalreporter.write_line(f"{reason}: {len(names)}")
            for name in names:
                terminalreporter.write_line(f"  - {name}")
    bugs = config.stash.get(_BUGS, {})
    if bugs:
        terminalreporter.section(
            "unified cases failing by a driver bug (DRIVER_BUGS, strict xfail)"
        )
        for module, entries in sorted(bugs.items()):
            terminalreporter.write_line(f"{module}: {len(entries)}")
            for name, reason in entries.items():
                terminalreporter.write_line(f"  - {name}: {reason}")
