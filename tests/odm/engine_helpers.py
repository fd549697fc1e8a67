"""One test body for both engines: ``Engine`` as is, ``AsyncEngine`` driven from
synchronous code on a private event loop (every coroutine run to completion, every
``odm._async`` object returned wrapped again, iteration stepping ``__aiter__``)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections.abc import Iterator
from typing import Any

KINDS = ("sync", "async")


def _wrap(loop: asyncio.AbstractEventLoop, value: Any) -> Any:
    if type(value).__module__.startswith(("odm._async", "driver._async")):
        return AsyncFace(loop, value)
    return value


def _unwrap(value: Any) -> Any:
    return value.target if isinstance(value, AsyncFace) else value


class AsyncFace:
    """A synchronous face for an async ODM object."""

    __slots__ = ("_loop", "_target")

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Any) -> None:
        object.__setattr__(self, "_loop", loop)
        object.__setattr__(self, "_target", target)

    @property
    def target(self) -> Any:
        return self._target

    def _run(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = self._loop.run_until_complete(asyncio.wait_for(value, 60))
        return _wrap(self._loop, value)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if inspect.ismethod(value) or inspect.isfunction(value):

            def call(*args: Any, **kwargs: Any) -> Any:
                args = tuple(_unwrap(a) for a in args)
                kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
                return self._run(value(*args, **kwargs))

            return call
        return _wrap(self._loop, value)

    def __iter__(self) -> Iterator[Any]:
        iterator = self._target.__aiter__()
        try:
            while True:
                try:
                    yield self._loop.run_until_complete(
                        asyncio.wait_for(iterator.__anext__(), 60)
                    )
                except StopAsyncIteration:
                    return
        finally:
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(iterator.aclose())

    def __repr__(self) -> str:
        return f"AsyncFace({self._target!r})"


@contextlib.contextmanager
def open_engine(kind: str, uri: str, database: str | None = None) -> Iterator[Any]:
    """An ``Engine`` or a wrapped ``AsyncEngine`` on a fresh database, dropped after."""
    database = database or f"odm_{uuid.uuid4().hex[:12]}"
    if kind == "sync":
        from odm import Engine

        engine = Engine(uri, database=database)
        try:
            yield engine
        finally:
            engine.client.drop_database(database)
            engine.close()
        return
    from odm import AsyncEngine

    loop = asyncio.new_event_loop()

    async def make() -> Any:
        return AsyncEngine(uri, database=database)

    try:
        face = AsyncFace(loop, loop.run_until_complete(make()))
        try:
            yield face
        finally:
            loop.run_until_complete(face.target.client.drop_database(database))
            face.close()
    finally:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=10))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
