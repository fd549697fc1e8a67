"""The connection-monitoring-and-pooling spec's ``style: integration`` cases, on a MockServer.

The cases (tests/specs/.../cmap-format, read unchanged) need a server whose ``hello``
is slow or failing: each sets a ``failCommand`` fail point on ``isMaster``/``hello``.
Here that server is a :class:`~tests.mockserver.MockServer`, and the fail point becomes
the mock's fault on the *handshake* hello (the only hello a pool sends):

- ``blockConnection`` + ``blockTimeMS`` -> :meth:`MockServer.hang` for that long, then
  the normal answer;
- ``errorCode`` -> :meth:`MockServer.fail` with that code;
- ``closeConnection`` -> :meth:`MockServer.close_connection`;
- mode ``alwaysOn`` -> every handshake, ``{times: N}`` -> the first N.

The fail point's ``appName`` filter has nothing to filter (the pool is the mock's only
client); the pool is given that appName all the same, and every handshake the mock got
is checked to carry it.

Each case runs on the sync pool (threads) and the async pool (tasks) with the runner of
:mod:`tests.driver.test_cmap_spec`, but with the pool's real opener
(``Connection.open``/``AsyncConnection.open``: TCP, handshake) instead of scripted
connections. ``connect_timeout`` is longer than any ``blockTimeMS``, so a handshake
timeout can never stand in for an event a case expects.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from driver._async.connection import ConnectionSettings
from tests.driver.test_cmap_spec import SPEC_DIR, run_async, run_sync
from tests.mockserver import HANDSHAKE, HELLO_NAMES, MockServer

SPEC_SKIPS: list[tuple[str, str]] = []
_SKIPPED = dict(SPEC_SKIPS)

INTEGRATION_CASES = (
    "pool-checkout-custom-maxConnecting-is-enforced",
    "pool-checkout-maxConnecting-is-enforced",
    "pool-checkout-maxConnecting-timeout",
    "pool-checkout-minPoolSize-connection-maxConnecting",
    "pool-checkout-returned-connection-maxConnecting",
    "pool-clear-interrupting-pending-connections",
    "pool-create-min-size-error",
)
HANDSHAKE_SLACK = 5.0  # seconds beyond the longest blockTimeMS before a handshake times out


def _cases() -> list[Any]:
    params = []
    for path in sorted(SPEC_DIR.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if case["style"] != "integration":
            continue
        for flavour in ("sync", "async"):
            params.append(pytest.param(path.stem, case, flavour, id=f"{path.stem}-{flavour}"))
    return params


def apply_fail_point(server: MockServer, command: dict[str, Any]) -> None:
    """Turn a ``configureFailPoint: failCommand`` on hello into the mock's handshake faults."""
    assert command["configureFailPoint"] == "failCommand", command
    mode = command["mode"]
    times = None if mode == "alwaysOn" else mode["times"]
    data = command["data"]
    fail_commands = set(data["failCommands"])
    assert fail_commands <= set(HELLO_NAMES) | {"hello"}, f"not a hello fail point: {fail_commands}"
    block = data.get("blockConnection", False)
    error_code = data.get("errorCode")
    close = data.get("closeConnection", False)
    # One fault per handshake: the cases never combine these.
    assert [block, error_code is not None, close].count(True) == 1, data
    if block:
        server.hang(HANDSHAKE, data["blockTimeMS"] / 1000, times=times)
    elif error_code is not None:
        server.fail(HANDSHAKE, error_code, "failCommand fail point", times=times)
    else:
        server.close_connection(HANDSHAKE, times=times)


def connection_settings(case: dict[str, Any]) -> ConnectionSettings:
    block_ms = case.get("failPoint", {}).get("data", {}).get("blockTimeMS", 0)
    return ConnectionSettings(
        appname=case.get("poolOptions", {}).get("appName"),
        connect_timeout=block_ms / 1000 + HANDSHAKE_SLACK,
    )


def check_handshakes(server: MockServer, appname: str | None, *, reached: bool = True) -> None:
    """Every connection shook hands, with the case's appName, and the mock saw no trouble.

    ``reached=False`` for a case whose only connection may be interrupted before its
    handshake is even sent.
    """
    assert server.errors == []
    if reached:
        assert server.command_names(), "the pool never reached the server"
    for name, document in zip(server.command_names(), server.commands(), strict=True):
        assert name in HELLO_NAMES, f"the pool sent {name!r}, not a handshake"
        if appname is not None:
            assert document["client"]["application"]["name"] == appname


def test_every_integration_case_runs() -> None:
    """Nothing of the vendored cases goes unrun: the list here is the files' list."""
    assert tuple(sorted(p.values[0] for p in _cases()[::2])) == INTEGRATION_CASES


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("name", "case", "flavour"), _cases())
def test_cmap_integration(name: str, case: dict[str, Any], flavour: str) -> None:
    if name in _SKIPPED:
        pytest.skip(_SKIPPED[name])
    settings = connection_settings(case)
    with MockServer() as server:
        if "failPoint" in case:
            apply_fail_point(server, case["failPoint"])
        if flavour == "sync":
            run_sync(case, address=server.address, settings=settings, opener=None)
        else:
            asyncio.run(run_async(case, address=server.address, settings=settings, opener=None))
        # The interrupting case may cut its connection before the handshake is sent.
        reached = name != "pool-clear-interrupting-pending-connections"
        check_handshakes(server, settings.appname, reached=reached)
