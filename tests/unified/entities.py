"""Entities of a unified test: clients (with their observed events), cursors, the map.

A client entity wraps an ``AsyncMongoClient`` or a ``MongoClient`` (the ``mode`` of the
run) with listeners that record the events its ``observeEvents`` names, minus the
ignored commands (``ignoreCommandMonitoringEvents``, ``configureFailPoint``, and the
sensitive commands unless ``observeSensitiveCommands``), and count the connections
checked out (``assertNumberConnectionsCheckedOut``).

:func:`resolve` is the sync/async adapter: the runner calls the API the same way for
both clients and awaits whatever is awaitable.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from driver import monitoring as m
from driver.protocol.redaction import is_sensitive
from tests.unified.matching import MISSING

__all__ = [
    "ClientEntity",
    "CursorEntity",
    "EntityMap",
    "RunnerError",
    "event_kind",
    "event_name",
    "next_document",
    "resolve",
]


class RunnerError(Exception):
    """The test file asks for something the runner cannot do, or refers to a missing
    entity: a failure of the case, never mistaken for an error of the operation."""


async def resolve(value: Any) -> Any:
    """Await ``value`` if the async API returned an awaitable; the sync API's value as is."""
    if inspect.isawaitable(value):
        return await value
    return value


async def next_document(cursor: Any) -> Any:
    """The next document of a cursor of either client, or MISSING at its end."""
    try:
        return await resolve(cursor.next())
    except (StopIteration, StopAsyncIteration):
        return MISSING


# ---------------------------------------------------------------------------- events

_COMMAND_EVENTS = (m.CommandStartedEvent, m.CommandSucceededEvent, m.CommandFailedEvent)
_CMAP_EVENTS = (
    m.PoolCreatedEvent, m.PoolReadyEvent, m.PoolClearedEvent, m.PoolClosedEvent,
    m.ConnectionCreatedEvent, m.ConnectionReadyEvent, m.ConnectionClosedEvent,
    m.ConnectionCheckOutStartedEvent, m.ConnectionCheckOutFailedEvent,
    m.ConnectionCheckedOutEvent, m.ConnectionCheckedInEvent,
)
_SDAM_EVENTS = (
    m.ServerDescriptionChangedEvent, m.ServerHeartbeatStartedEvent,
    m.ServerHeartbeatSucceededEvent, m.ServerHeartbeatFailedEvent,
    m.TopologyDescriptionChangedEvent,
)


def event_name(event: Any) -> str:
    """The spec's name of an event (``commandStartedEvent``, ``poolClearedEvent``...)."""
    name = type(event).__name__
    return name[0].lower() + name[1:]


def event_kind(event: Any) -> str:
    """``command``, ``cmap`` or ``sdam``: the ``eventType`` an event is matched under."""
    if isinstance(event, _COMMAND_EVENTS):
        return "command"
    if isinstance(event, _CMAP_EVENTS):
        return "cmap"
    return "sdam"


class _Recorder:
    """What every listener of one client entity hands its events to."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.observe = set(options.get("observeEvents") or ())
        self.ignore = set(options.get("ignoreCommandMonitoringEvents") or ()) | {
            "configureFailPoint"
        }
        self.sensitive = not options.get("observeSensitiveCommands", False)
        self.events: list[Any] = []
        self.all_commands: list[m.CommandStartedEvent] = []
        self.checked_out = 0
        self.enabled = True
        self._ignored_requests: set[int] = set()
        self._lock = threading.Lock()

    def command(self, event: Any) -> None:
        if isinstance(event, m.CommandStartedEvent):
            self.all_commands.append(event)
            skip = event.command_name in self.ignore or (
                self.sensitive
                and (
                    is_sensitive(event.command_name, event.command)
                    or (event.command_name.lower() in ("hello", "ismaster") and not event.command)
                )
            )
            if skip:
                self._ignored_requests.add(event.request_id)
                return
        elif event.request_id in self._ignored_requests or event.command_name in self.ignore:
            return
        self.record(event)

    def record(self, event: Any) -> None:
        if self.enabled and event_name(event) in self.observe:
            with self._lock:
                self.events.append(event)

    def pool(self, event: Any) -> None:
        with self._lock:
            if isinstance(event, m.ConnectionCheckedOutEvent):
                self.checked_out += 1
            elif isinstance(event, m.ConnectionCheckedInEvent):
                self.checked_out -= 1
        self.record(event)


class _CommandListener(m.CommandListener):
    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    def started(self, event: m.CommandStartedEvent) -> None:
        self.recorder.command(event)

    def succeeded(self, event: m.CommandSucceededEvent) -> None:
        self.recorder.command(event)

    def failed(self, event: m.CommandFailedEvent) -> None:
        self.recorder.command(event)


class _PoolListener(m.ConnectionPoolListener):
    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    def pool_created(self, event: Any) -> None:
        self.recorder.pool(event)

    pool_ready = pool_cleared = pool_closed = pool_created
    connection_created = connection_ready = connection_closed = pool_created
    connection_check_out_started = connection_check_out_failed = pool_created
    connection_checked_out = connection_checked_in = pool_created


class _ServerListener(m.ServerListener):
    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    def description_changed(self, event: Any) -> None:
        self.recorder.record(event)


class _HeartbeatListener(m.ServerHeartbeatListener):
    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    def started(self, event: Any) -> None:
        self.recorder.record(event)

    succeeded = failed = started


class _TopologyListener(m.TopologyListener):
    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    def description_changed(self, event: Any) -> None:
        self.recorder.record(event)


# ---------------------------------------------------------------------------- entities


@dataclass
class ClientEntity:
    """A client entity: the driver's client and what its listeners recorded."""

    client: Any
    recorder: _Recorder
    closed: bool = False

    @classmethod
    def create(cls, mode: str, uri: str, options: Mapping[str, Any]) -> ClientEntity:
        from driver import AsyncMongoClient, MongoClient

        recorder = _Recorder(options)
        listeners = [
            _CommandListener(recorder), _PoolListener(recorder), _ServerListener(recorder),
            _HeartbeatListener(recorder), _TopologyListener(recorder),
        ]
        client: Any
        if mode == "async":
            # connect=True, as the sync client by default: monitoring starts with the
            # entity (tests wait for the first topology events without an operation).
            client = AsyncMongoClient(uri, event_listeners=listeners, connect=True)
        else:
            client = MongoClient(uri, event_listeners=listeners)
        return cls(client, recorder)

    @property
    def events(self) -> list[Any]:
        return self.recorder.events

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await resolve(self.client.close())


@dataclass
class CursorEntity:
    """A cursor saved by createFindCursor / createCommandCursor; ``buffered`` holds the
    document the runner read to make the server create the cursor."""

    cursor: Any
    buffered: list[Any] = field(default_factory=list)

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # the spec: suppress every error on close
            await resolve(self.cursor.close())


class EntityMap(dict[str, Any]):
    """Names to entities: unique names, typed look-ups."""

    def add(self, name: str, value: Any) -> None:
        if name in self:
            raise RunnerError(f"an entity named {name!r} exists already")
        self[name] = value

    def get_typed(self, name: str, kind: type | tuple[type, ...] | None = None) -> Any:
        if name not in self:
            raise RunnerError(f"no entity named {name!r}")
        value = self[name]
        if kind is not None and not isinstance(value, kind):
            raise RunnerError(f"entity {name!r} is a {type(value).__name__}, not {kind}")
        return value
