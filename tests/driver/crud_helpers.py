"""Shared helpers of the CRUD tests (tests/driver/test_crud_*.py).

- :class:`Recorder`: a CommandListener keeping every command event, thread-safe.
- :class:`Bridge`: drives an async driver object (client, database, collection,
  cursor) from synchronous test code, on a private event loop, so one test body
  runs against both ``MongoClient`` and ``AsyncMongoClient``: every coroutine a
  method returns is run to completion, every ``driver._async`` object returned is
  bridged again, and ``for doc in cursor`` iterates with ``__anext__``.
- :func:`open_client`: a client of either kind (``"sync"`` / ``"async"``), closed
  on exit; :func:`crud_env`: a client plus a fresh, uniquely named database that is
  dropped afterwards.
- :func:`wait_until`: poll a condition with a deadline (for ``w=0`` writes only:
  the server gives no other signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from driver import MongoClient
from driver import monitoring as m

KINDS = ("sync", "async")


class Recorder(m.CommandListener):
    """Every command event of a client, in order."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._lock = threading.Lock()

    def started(self, event: m.CommandStartedEvent) -> None:
        with self._lock:
            self.events.append(event)

    def succeeded(self, event: m.CommandSucceededEvent) -> None:
        with self._lock:
            self.events.append(event)

    def failed(self, event: m.CommandFailedEvent) -> None:
        with self._lock:
            self.events.append(event)

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    def of(self, kind: type, name: str | None = None) -> list[Any]:
        with self._lock:
            return [
                e for e in self.events
                if isinstance(e, kind) and (name is None or e.command_name == name)
            ]

    def started_commands(self, name: str | None = None) -> list[dict[str, Any]]:
        """The command documents started (optionally only ``name``)."""
        return [dict(e.command) for e in self.of(m.CommandStartedEvent, name)]

    def succeeded_replies(self, name: str) -> list[dict[str, Any]]:
        return [dict(e.reply) for e in self.of(m.CommandSucceededEvent, name)]

    def names(self) -> list[str]:
        return [e.command_name for e in self.of(m.CommandStartedEvent)]


def _bridged(loop: asyncio.AbstractEventLoop, value: Any) -> Any:
    if isinstance(value, Bridge):
        return value
    if type(value).__module__.startswith("driver._async"):
        return Bridge(loop, value)
    return value


class Bridge:
    """A synchronous face for an async driver object (see the module docstring)."""

    __slots__ = ("_bridge_loop", "_bridge_target")

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Any) -> None:
        object.__setattr__(self, "_bridge_loop", loop)
        object.__setattr__(self, "_bridge_target", target)

    @property
    def target(self) -> Any:
        """The async object itself."""
        return self._bridge_target

    def _run(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = self._bridge_loop.run_until_complete(asyncio.wait_for(value, 60))
        return _bridged(self._bridge_loop, value)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._bridge_target, name)
        if inspect.ismethod(value) or inspect.isfunction(value):

            def call(*args: Any, **kwargs: Any) -> Any:
                return self._run(value(*args, **kwargs))

            return call
        return _bridged(self._bridge_loop, value)

    def __getitem__(self, name: str) -> Any:
        return _bridged(self._bridge_loop, self._bridge_target[name])

    def __iter__(self) -> Iterator[Any]:
        target = self._bridge_target
        while True:
            try:
                yield self._bridge_loop.run_until_complete(
                    asyncio.wait_for(target.__anext__(), 60)
                )
            except StopAsyncIteration:
                return

    def __next__(self) -> Any:
        try:
            return self._run(self._bridge_target.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(self._bridge_target.close())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Bridge):
            return bool(self._bridge_target == other._bridge_target)
        return bool(self._bridge_target == other)

    def __hash__(self) -> int:
        return hash(self._bridge_target)

    def __repr__(self) -> str:
        return f"Bridge({self._bridge_target!r})"


@contextlib.contextmanager
def open_client(kind: str, uri: str, **kwargs: Any) -> Iterator[Any]:
    """A ``MongoClient`` (``kind="sync"``) or a bridged ``AsyncMongoClient``, closed after."""
    if kind == "sync":
        client = MongoClient(uri, **kwargs)
        try:
            yield client
        finally:
            client.close()
        return
    from driver import AsyncMongoClient

    loop = asyncio.new_event_loop()

    async def make() -> Any:
        return AsyncMongoClient(uri, **kwargs)

    try:
        client = Bridge(loop, loop.run_until_complete(make()))
        try:
            yield client
        finally:
            client.close()
    finally:
        # Whatever the driver left running after close() (nothing, ideally).
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=10))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def unique_name(prefix: str = "crud") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class Env:
    """One test's client, listener and fresh database (``coll`` is ``db.things``)."""

    kind: str
    uri: str
    client: Any
    listener: Recorder
    db: Any
    extra: list[Any] = field(default_factory=list)

    @property
    def coll(self) -> Any:
        return self.db["things"]


@contextlib.contextmanager
def crud_env(kind: str, uri: str, **kwargs: Any) -> Iterator[Env]:
    """A client of ``kind`` with a :class:`Recorder`, and a database dropped at the end."""
    listener = Recorder()
    name = unique_name()
    with open_client(kind, uri, event_listeners=[listener], **kwargs) as client:
        env = Env(kind, uri, client, listener, client[name])
        try:
            yield env
        finally:
            client.drop_database(name)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll ``condition`` until it is truthy (its value) or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)
