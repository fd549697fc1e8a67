"""The connection-monitoring-and-pooling spec tests (tests/specs/.../cmap-format).

Every ``style: unit`` case runs twice: against the sync pool (``thread`` operations on
real threads) and against the async pool (``thread`` operations on asyncio tasks). The
pool opens *scripted* connections: objects with an id, a generation and a close, no
socket, as the spec's runner section allows. Events are captured by a
ConnectionPoolListener and compared with the spec's MATCH rule (a subset; 42 means "any
value"), after dropping the ``ignore`` types; ``waitForEvent`` counts every event.

One deliberate difference: where a case names an error ``message``, our message must
*start with* the spec's text; it goes on to name the server and the limit.

``style: integration`` cases need a fail point on ``hello``: they are listed in
SPEC_SKIPS here and run by test_cmap_integration.py against the mock server.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driver import monitoring as m
from driver._async.connection import ConnectionSettings
from driver._async.pool import AsyncPool, PoolOptions
from driver._sync.pool import Pool
from driver.errors import PoolClearedError, PoolClosedError, WaitQueueTimeoutError

SPEC_DIR = (
    Path(__file__).resolve().parents[1] / "specs" / "connection-monitoring-and-pooling" / "cmap-format"
)

_INTEGRATION = "integration style: run against the mock server in test_cmap_integration.py"
SPEC_SKIPS: list[tuple[str, str]] = [
    (name, _INTEGRATION)
    for name in (
        "pool-checkout-custom-maxConnecting-is-enforced",
        "pool-checkout-maxConnecting-is-enforced",
        "pool-checkout-maxConnecting-timeout",
        "pool-checkout-minPoolSize-connection-maxConnecting",
        "pool-checkout-returned-connection-maxConnecting",
        "pool-clear-interrupting-pending-connections",
        "pool-create-min-size-error",
    )
]
_SKIPPED = dict(SPEC_SKIPS)

ADDRESS = ("127.0.0.1", 27017)
DEFAULT_WAIT = 10.0  # seconds, for waitForEvent/waitForThread without a timeout

EVENT_TYPES: dict[str, type] = {
    "ConnectionPoolCreated": m.PoolCreatedEvent,
    "ConnectionPoolReady": m.PoolReadyEvent,
    "ConnectionPoolCleared": m.PoolClearedEvent,
    "ConnectionPoolClosed": m.PoolClosedEvent,
    "ConnectionCreated": m.ConnectionCreatedEvent,
    "ConnectionReady": m.ConnectionReadyEvent,
    "ConnectionClosed": m.ConnectionClosedEvent,
    "ConnectionCheckOutStarted": m.ConnectionCheckOutStartedEvent,
    "ConnectionCheckOutFailed": m.ConnectionCheckOutFailedEvent,
    "ConnectionCheckedOut": m.ConnectionCheckedOutEvent,
    "ConnectionCheckedIn": m.ConnectionCheckedInEvent,
}
EVENT_NAMES = {cls: name for name, cls in EVENT_TYPES.items()}
FIELDS = {
    "address": "address",
    "connectionId": "connection_id",
    "duration": "duration",
    "reason": "reason",
    "options": "options",
    "interruptInUseConnections": "interrupt_connections",
}
ERRORS: dict[str, type] = {
    "PoolClosedError": PoolClosedError,
    "WaitQueueTimeoutError": WaitQueueTimeoutError,
    "PoolClearedError": PoolClearedError,
}


def _cases() -> list[Any]:
    params = []
    for path in sorted(SPEC_DIR.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        for flavour in ("sync", "async"):
            params.append(pytest.param(path.stem, case, flavour, id=f"{path.stem}-{flavour}"))
    return params


def pool_options(spec: dict[str, Any]) -> PoolOptions:
    """PoolOptions from a case's ``poolOptions`` (``appName`` has no effect here)."""
    interval = spec.get("backgroundThreadIntervalMS")
    idle = spec.get("maxIdleTimeMS")
    wait = spec.get("waitQueueTimeoutMS")
    return PoolOptions(
        max_pool_size=spec.get("maxPoolSize", 100),
        min_pool_size=spec.get("minPoolSize", 0),
        max_connecting=spec.get("maxConnecting", 2),
        max_idle_time=None if idle is None else idle / 1000,
        wait_queue_timeout=None if wait is None else wait / 1000,
        # Fast enough for the tests that wait on it; -1 means "never".
        background_interval=(
            0.05 if interval is None else (None if interval < 0 else interval / 1000)
        ),
    )


# -- matching ----------------------------------------------------------------------------


def matches(expected: Any, actual: Any, where: str) -> None:
    """The spec's MATCH: ``expected`` is a subset of ``actual``; 42 is any value."""
    if expected in (42, "42"):
        assert actual is not None, f"{where}: expected a value"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a document, got {actual!r}"
        for key, value in expected.items():
            matches(value, actual.get(key), f"{where}.{key}")
    else:
        assert expected == actual, f"{where}: expected {expected!r}, got {actual!r}"


def check_events(case: dict[str, Any], events: list[object]) -> None:
    ignore = set(case.get("ignore", ()))
    actual = [e for e in events if EVENT_NAMES[type(e)] not in ignore]
    shown = [EVENT_NAMES[type(e)] for e in actual]
    for index, expected in enumerate(case["events"]):
        assert index < len(actual), f"event {index} ({expected['type']}) missing; got {shown}"
        event = actual[index]
        assert EVENT_NAMES[type(event)] == expected["type"], f"event {index}: got {shown}"
        for key, value in expected.items():
            if key != "type":
                matches(value, getattr(event, FIELDS[key]), f"event {index} {key}")


def check_error(case: dict[str, Any], error: BaseException | None) -> None:
    expected = case.get("error")
    if expected is None:
        if error is not None:
            raise error
        return
    assert error is not None, f"expected {expected['type']}, nothing was raised"
    assert isinstance(error, ERRORS[expected["type"]]), repr(error)
    if "message" in expected:
        assert str(error).startswith(expected["message"]), str(error)


# -- scripted connections ----------------------------------------------------------------


class _ScriptedBase:
    def __init__(self, connection_id: int, generation: int) -> None:
        self.id = connection_id
        self.generation = generation
        self.pid = os.getpid()
        self.last_used = time.monotonic()
        self.closed = False

    def interrupt(self) -> None:
        self.closed = True


class SyncScripted(_ScriptedBase):
    def close(self) -> None:
        self.closed = True


class AsyncScripted(_ScriptedBase):
    async def close(self) -> None:
        self.closed = True


def sync_opener(
    address: Any, settings: Any, *, connection_id: int, generation: int, **_: Any
) -> Any:
    return SyncScripted(connection_id, generation)


async def async_opener(
    address: Any, settings: Any, *, connection_id: int, generation: int, **_: Any
) -> Any:
    return AsyncScripted(connection_id, generation)


# -- event capture -----------------------------------------------------------------------


class Recorder(m.ConnectionPoolListener):
    """Keeps every event, and lets a test wait for the n-th of a kind."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.changed = threading.Condition()
        self.async_waiters: list[asyncio.Event] = []

    def _record(self, event: object) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()
        for waiter in self.async_waiters:
            waiter.set()

    def count(self, name: str) -> int:
        kind = EVENT_TYPES[name]
        with self.changed:
            return sum(1 for e in self.events if type(e) is kind)

    def wait_for(self, name: str, count: int, timeout: float) -> None:
        with self.changed:
            ok = self.changed.wait_for(lambda: self._count_locked(name) >= count, timeout)
        assert ok, f"timed out waiting for {count} {name} events"

    def _count_locked(self, name: str) -> int:
        kind = EVENT_TYPES[name]
        return sum(1 for e in self.events if type(e) is kind)

    async def async_wait_for(self, name: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count(name) < count:
            waiter = asyncio.Event()
            self.async_waiters.append(waiter)
            try:
                if self.count(name) >= count:
                    break
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"timed out waiting for {count} {name} events"
                try:
                    await asyncio.wait_for(waiter.wait(), remaining)
                except asyncio.TimeoutError:
                    raise AssertionError(f"timed out waiting for {count} {name} events") from None
            finally:
                self.async_waiters.remove(waiter)


for _name in (
    "pool_created", "pool_ready", "pool_cleared", "pool_closed", "connection_created",
    "connection_ready", "connection_closed", "connection_check_out_started",
    "connection_check_out_failed", "connection_checked_out", "connection_checked_in",
):
    setattr(Recorder, _name, lambda self, event: self._record(event))


# -- the sync runner ---------------------------------------------------------------------


class SyncWorker:
    """A named thread that runs the operations scheduled on it, in order."""

    def __init__(self, run: Callable[[dict[str, Any]], None]) -> None:
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, args=(run,), daemon=True)
        self.thread.start()

    def _loop(self, run: Callable[[dict[str, Any]], None]) -> None:
        while (op := self.jobs.get(timeout=60)) is not None:
            try:
                run(op)
            except BaseException as exc:
                self.error = exc
                return

    def finish(self, timeout: float) -> BaseException | None:
        self.jobs.put(None)
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "worker thread did not finish"
        return self.error


def run_sync(
    case: dict[str, Any],
    *,
    address: Any = ADDRESS,
    settings: ConnectionSettings | None = None,
    opener: Callable[..., Any] | None = sync_opener,
) -> None:
    """Run one case on the sync pool; ``opener=None`` opens real connections."""
    recorder = Recorder()
    pool = Pool(
        address,
        settings or ConnectionSettings(),
        pool_options(case.get("poolOptions", {})),
        listeners=[recorder],
        opener=opener,
    )
    labels: dict[str, Any] = {}
    workers: dict[str, SyncWorker] = {}

    def run(op: dict[str, Any]) -> None:
        name = op["name"]
        if name == "start":
            workers[op["target"]] = SyncWorker(run)
        elif name == "wait":
            time.sleep(op["ms"] / 1000)  # the case's own timing, not a wait for state
        elif name == "waitForThread":
            error = workers[op["target"]].finish(DEFAULT_WAIT)
            if error is not None:
                raise error
        elif name == "waitForEvent":
            recorder.wait_for(op["event"], op["count"], op.get("timeout", DEFAULT_WAIT * 1000) / 1000)
        elif name == "checkOut":
            conn = pool.checkout()
            if "label" in op:
                labels[op["label"]] = conn
        elif name == "checkIn":
            pool.checkin(labels[op["connection"]])
        elif name == "clear":
            pool.clear(interrupt_in_use_connections=op.get("interruptInUseConnections", False))
        elif name == "close":
            pool.close()
        elif name == "ready":
            pool.ready()
        else:
            raise AssertionError(f"unknown operation {name}")

    error: BaseException | None = None
    try:
        for op in case["operations"]:
            if "thread" in op:
                workers[op["thread"]].jobs.put(op)
            else:
                run(op)
    except BaseException as exc:
        error = exc
    events = list(recorder.events)
    for worker in workers.values():
        worker.finish(DEFAULT_WAIT)
    pool.close()
    check_error(case, error)
    check_events(case, events)


# -- the async runner --------------------------------------------------------------------


class AsyncWorker:
    """A named task that runs the operations scheduled on it, in order."""

    def __init__(self, run: Callable[[dict[str, Any]], Any]) -> None:
        self.jobs: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.error: BaseException | None = None
        self.task = asyncio.get_running_loop().create_task(self._loop(run))

    async def _loop(self, run: Callable[[dict[str, Any]], Any]) -> None:
        while (op := await self.jobs.get()) is not None:
            try:
                await run(op)
            except BaseException as exc:
                self.error = exc
                return

    async def finish(self, timeout: float) -> BaseException | None:
        self.jobs.put_nowait(None)
        await asyncio.wait_for(asyncio.shield(self.task), timeout)
        return self.error


async def run_async(
    case: dict[str, Any],
    *,
    address: Any = ADDRESS,
    settings: ConnectionSettings | None = None,
    opener: Callable[..., Any] | None = async_opener,
) -> None:
    """Run one case on the async pool; ``opener=None`` opens real connections."""
    recorder = Recorder()
    pool = AsyncPool(
        address,
        settings or ConnectionSettings(),
        pool_options(case.get("poolOptions", {})),
        listeners=[recorder],
        opener=opener,
    )
    labels: dict[str, Any] = {}
    workers: dict[str, AsyncWorker] = {}

    async def run(op: dict[str, Any]) -> None:
        name = op["name"]
        if name == "start":
            workers[op["target"]] = AsyncWorker(run)
        elif name == "wait":
            await asyncio.sleep(op["ms"] / 1000)  # the case's own timing
        elif name == "waitForThread":
            error = await workers[op["target"]].finish(DEFAULT_WAIT)
            if error is not None:
                raise error
        elif name == "waitForEvent":
            timeout = op.get("timeout", DEFAULT_WAIT * 1000) / 1000
            await recorder.async_wait_for(op["event"], op["count"], timeout)
        elif name == "checkOut":
            conn = await pool.checkout()
            if "label" in op:
                labels[op["label"]] = conn
        elif name == "checkIn":
            await pool.checkin(labels[op["connection"]])
        elif name == "clear":
            await pool.clear(
                interrupt_in_use_connections=op.get("interruptInUseConnections", False)
            )
        elif name == "close":
            await pool.close()
        elif name == "ready":
            await pool.ready()
        else:
            raise AssertionError(f"unknown operation {name}")

    error: BaseException | None = None
    try:
        for op in case["operations"]:
            if "thread" in op:
                workers[op["thread"]].jobs.put_nowait(op)
                await asyncio.sleep(0)  # let the task start on it, as a thread would
            else:
                await run(op)
    except BaseException as exc:
        error = exc
    events = list(recorder.events)
    for worker in workers.values():
        await worker.finish(DEFAULT_WAIT)
    await pool.close()
    check_error(case, error)
    check_events(case, events)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "case", "flavour"), _cases())
def test_cmap(name: str, case: dict[str, Any], flavour: str) -> None:
    if name in _SKIPPED:
        pytest.skip(_SKIPPED[name])
    assert case["style"] == "unit", f"{name} is {case['style']} but not in SPEC_SKIPS"
    if flavour == "sync":
        run_sync(case)
    else:
        asyncio.run(run_async(case))
