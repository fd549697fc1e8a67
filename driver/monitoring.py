"""Events and listeners: watch what the driver does, per client.

PyMongo's names and shapes. A listener is an object with one method per event kind;
subclass :class:`ConnectionPoolListener` and give instances to the client::

    class Counter(ConnectionPoolListener):
        def __init__(self) -> None:
            self.checked_out = 0

        def connection_checked_out(self, event: ConnectionCheckedOutEvent) -> None:
            self.checked_out += 1

    client = MongoClient(uri, event_listeners=[Counter()])

Listeners run synchronously in the thread (or task) that caused the event, so they must
be quick and must not call the driver. An exception raised by a listener is logged on
the ``driver.monitoring`` logger and otherwise ignored: watching never breaks the
watched operation. Listeners are per client; there is no process-wide registry, so two
clients (or two tests) never see each other's events.

Connection pool events follow the connection-monitoring-and-pooling specification:

>>> event = ConnectionCheckedOutEvent(("db.example.com", 27017), 3, 0.004)
>>> event
ConnectionCheckedOutEvent(address=('db.example.com', 27017), connection_id=3, duration=0.004)
>>> ConnectionClosedReason.STALE
'stale'

Command events follow the command-logging-and-monitoring specification. Commands that
carry credentials are redacted by the events themselves, whoever builds them:

>>> started = CommandStartedEvent({"ping": 1, "$db": "admin"}, "admin", 7, ("db", 27017), 7)
>>> started.command_name, started.command
('ping', {'ping': 1, '$db': 'admin'})
>>> CommandStartedEvent({"saslStart": 1, "payload": b"n,,n=ann"}, "admin", 8, ("db", 27017), 8).command
{}
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# A cycle on purpose: redaction builds these events and the events redact themselves
# with its rules. Both sides import the other module object, never its names, so either
# may be imported first.
from driver.protocol import redaction as _redaction

if TYPE_CHECKING:
    from driver.bson.objectid import ObjectId
    from driver.protocol.descriptions import ServerDescription, TopologyDescription

__all__ = [
    "CommandFailedEvent",
    "CommandListener",
    "CommandStartedEvent",
    "CommandSucceededEvent",
    "ConnectionCheckOutFailedEvent",
    "ConnectionCheckOutFailedReason",
    "ConnectionCheckOutStartedEvent",
    "ConnectionCheckedInEvent",
    "ConnectionCheckedOutEvent",
    "ConnectionClosedEvent",
    "ConnectionClosedReason",
    "ConnectionCreatedEvent",
    "ConnectionPoolListener",
    "ConnectionReadyEvent",
    "PoolClearedEvent",
    "PoolClosedEvent",
    "PoolCreatedEvent",
    "PoolReadyEvent",
    "ServerClosedEvent",
    "ServerDescriptionChangedEvent",
    "ServerHeartbeatFailedEvent",
    "ServerHeartbeatListener",
    "ServerHeartbeatStartedEvent",
    "ServerHeartbeatSucceededEvent",
    "ServerListener",
    "ServerOpeningEvent",
    "TopologyClosedEvent",
    "TopologyDescriptionChangedEvent",
    "TopologyListener",
    "TopologyOpenedEvent",
]

_log = logging.getLogger("driver.monitoring")

Address = tuple[str, int | None]


class ConnectionClosedReason:
    """Why a connection was closed (``ConnectionClosedEvent.reason``)."""

    STALE = "stale"
    """The pool was cleared after the connection was made."""
    IDLE = "idle"
    """The connection sat unused longer than ``maxIdleTimeMS``."""
    ERROR = "error"
    """A network or protocol error made the connection unusable."""
    POOL_CLOSED = "poolClosed"
    """The pool (the client) was closed."""


class ConnectionCheckOutFailedReason:
    """Why a check-out failed (``ConnectionCheckOutFailedEvent.reason``)."""

    TIMEOUT = "timeout"
    """No connection became free within ``waitQueueTimeoutMS``."""
    POOL_CLOSED = "poolClosed"
    """The pool (the client) was closed."""
    CONN_ERROR = "connectionError"
    """Opening a connection failed, or the pool was cleared (paused) meanwhile."""


# -- connection pool events -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolCreatedEvent:
    """A pool was created; ``options`` are the non-default pool options it was given."""

    address: Address
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PoolReadyEvent:
    """A pool became ready: check-outs may open connections."""

    address: Address


@dataclass(frozen=True, slots=True)
class PoolClearedEvent:
    """A pool was cleared (and paused): connections made before now will not be reused."""

    address: Address
    service_id: Any = None
    interrupt_connections: bool = False


@dataclass(frozen=True, slots=True)
class PoolClosedEvent:
    """A pool was closed."""

    address: Address


@dataclass(frozen=True, slots=True)
class ConnectionCreatedEvent:
    """A connection was created (before its handshake)."""

    address: Address
    connection_id: int


@dataclass(frozen=True, slots=True)
class ConnectionReadyEvent:
    """A connection finished its handshake and authentication; ``duration`` in seconds."""

    address: Address
    connection_id: int
    duration: float


@dataclass(frozen=True, slots=True)
class ConnectionClosedEvent:
    """A connection was closed; ``reason`` is a :class:`ConnectionClosedReason` value."""

    address: Address
    connection_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionCheckOutStartedEvent:
    """An operation asked the pool for a connection."""

    address: Address


@dataclass(frozen=True, slots=True)
class ConnectionCheckOutFailedEvent:
    """A check-out failed; ``reason`` is a :class:`ConnectionCheckOutFailedReason` value."""

    address: Address
    reason: str
    duration: float


@dataclass(frozen=True, slots=True)
class ConnectionCheckedOutEvent:
    """A connection was handed to an operation; ``duration`` is the whole check-out."""

    address: Address
    connection_id: int
    duration: float


@dataclass(frozen=True, slots=True)
class ConnectionCheckedInEvent:
    """An operation gave its connection back."""

    address: Address
    connection_id: int


# -- topology, server and heartbeat events (server discovery and monitoring) ---------------


@dataclass(frozen=True, slots=True)
class TopologyOpenedEvent:
    """A client began monitoring its deployment; ``topology_id`` names that client's view."""

    topology_id: Any


@dataclass(frozen=True, slots=True)
class TopologyDescriptionChangedEvent:
    """What the client knows of the deployment changed."""

    previous_description: TopologyDescription = field(repr=False)
    new_description: TopologyDescription
    topology_id: Any


@dataclass(frozen=True, slots=True)
class TopologyClosedEvent:
    """A client stopped monitoring (it was closed)."""

    topology_id: Any


@dataclass(frozen=True, slots=True)
class ServerOpeningEvent:
    """A server joined the client's view of the deployment."""

    server_address: Address
    topology_id: Any


@dataclass(frozen=True, slots=True)
class ServerClosedEvent:
    """A server left the client's view of the deployment."""

    server_address: Address
    topology_id: Any


@dataclass(frozen=True, slots=True)
class ServerDescriptionChangedEvent:
    """What the client knows of one server changed (type, set membership, error...)."""

    previous_description: ServerDescription = field(repr=False)
    new_description: ServerDescription
    server_address: Address
    topology_id: Any


@dataclass(frozen=True, slots=True)
class ServerHeartbeatStartedEvent:
    """A monitor sent ``hello`` to a server; ``awaited`` for the streaming protocol."""

    connection_id: Address
    awaited: bool = False


@dataclass(frozen=True, slots=True)
class ServerHeartbeatSucceededEvent:
    """A server answered its monitor; ``duration`` in seconds, ``reply`` the hello reply."""

    duration: float
    reply: Mapping[str, Any] = field(repr=False)
    connection_id: Address
    awaited: bool = False


@dataclass(frozen=True, slots=True)
class ServerHeartbeatFailedEvent:
    """A monitor's ``hello`` failed; ``reply`` is the exception."""

    duration: float
    reply: BaseException
    connection_id: Address
    awaited: bool = False


# -- command events (command logging and monitoring) ------------------------------------


@dataclass(frozen=True, slots=True)
class CommandStartedEvent:
    """A command is about to be sent; ``command_name`` is its first key.

    ``command`` is the document as sent (with ``$db`` and, for OP_MSG document
    sequences, each sequence as an array under its identifier), or ``{}`` when the
    command carries credentials (see :mod:`driver.protocol.redaction`): the event
    redacts itself, so a listener never sees a password or a SASL payload.
    ``connection_id`` is the server's ``(host, port)``, as in PyMongo; ``request_id``
    links this event to its succeeded or failed event; ``operation_id`` links the
    commands of one operation (a bulk write's batches, a cursor's ``getMore``).

    >>> event = CommandStartedEvent({"createUser": "ann", "pwd": "secret"}, "admin", 1,
    ...                             ("db", 27017), 1)
    >>> event.command_name, event.command
    ('createUser', {})
    >>> CommandStartedEvent({}, "admin", 1, ("db", 27017), 1)
    Traceback (most recent call last):
    ...
    ValueError: {} is not a valid command
    """

    command: Mapping[str, Any] = field(repr=False)
    database_name: str
    request_id: int
    connection_id: Address
    operation_id: int | None
    service_id: ObjectId | None = None
    server_connection_id: int | None = None
    command_name: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.command:
            raise ValueError(f"{self.command!r} is not a valid command")
        name = next(iter(self.command))
        # Frozen dataclass: the derived fields are set once, here.
        object.__setattr__(self, "command_name", name)
        if _redaction.is_sensitive(name, self.command):
            object.__setattr__(self, "command", {})


@dataclass(frozen=True, slots=True)
class CommandSucceededEvent:
    """The server answered a command with ``ok: 1`` (write errors included).

    ``duration_micros`` is the time from sending to the decoded reply, in microseconds.
    ``reply`` is the server's reply (``{"ok": 1}`` for an unacknowledged write), or
    ``{}`` for a command that carries credentials: the event redacts itself by
    ``command_name``, and a hello reply that holds ``speculativeAuthenticate``.

    >>> CommandSucceededEvent(1500, {"ok": 1, "nonce": "x"}, "getnonce", 9, ("db", 27017), 9).reply
    {}
    """

    duration_micros: int
    reply: Mapping[str, Any] = field(repr=False)
    command_name: str
    request_id: int
    connection_id: Address
    operation_id: int | None
    service_id: ObjectId | None = None
    database_name: str = ""
    server_connection_id: int | None = None

    def __post_init__(self) -> None:
        # Only the name and the reply are known here; the hello whose *command* held
        # speculativeAuthenticate is redacted by redaction.succeeded_event.
        if _redaction.is_sensitive(self.command_name, self.reply):
            object.__setattr__(self, "reply", {})


@dataclass(frozen=True, slots=True)
class CommandFailedEvent:
    """A command failed: the server answered ``ok: 0``, or sending or reading failed.

    ``failure`` is a document, as in PyMongo: the server's error reply for a server
    error, else ``{"errmsg": str(error), "errtype": type name}``
    (:func:`driver.protocol.redaction.failure_document`). ``duration_micros`` is in
    microseconds.

    >>> event = CommandFailedEvent(80, {"ok": 0, "code": 2}, "find", 3, ("db", 27017), 3)
    >>> event.duration_micros, event.failure["code"], event.command_name
    (80, 2, 'find')
    """

    duration_micros: int
    failure: Mapping[str, Any]
    command_name: str
    request_id: int
    connection_id: Address
    operation_id: int | None
    service_id: ObjectId | None = None
    database_name: str = ""
    server_connection_id: int | None = None


# -- listeners ----------------------------------------------------------------------------


class CommandListener:
    """Base class for command listeners: override the methods for the events you want.

    Every method does nothing by default. Events carry no command or reply for
    commands that hold credentials (``saslStart``, ``createUser``...).
    """

    def started(self, event: CommandStartedEvent) -> None:
        """A command is about to be sent."""

    def succeeded(self, event: CommandSucceededEvent) -> None:
        """A command succeeded."""

    def failed(self, event: CommandFailedEvent) -> None:
        """A command failed."""


class ConnectionPoolListener:
    """Base class for pool listeners: override the methods for the events you want.

    Every method does nothing by default, so a subclass names only what it watches.
    """

    def pool_created(self, event: PoolCreatedEvent) -> None:
        """A pool was created."""

    def pool_ready(self, event: PoolReadyEvent) -> None:
        """A pool became ready."""

    def pool_cleared(self, event: PoolClearedEvent) -> None:
        """A pool was cleared."""

    def pool_closed(self, event: PoolClosedEvent) -> None:
        """A pool was closed."""

    def connection_created(self, event: ConnectionCreatedEvent) -> None:
        """A connection was created."""

    def connection_ready(self, event: ConnectionReadyEvent) -> None:
        """A connection is ready for use."""

    def connection_closed(self, event: ConnectionClosedEvent) -> None:
        """A connection was closed."""

    def connection_check_out_started(self, event: ConnectionCheckOutStartedEvent) -> None:
        """A check-out started."""

    def connection_check_out_failed(self, event: ConnectionCheckOutFailedEvent) -> None:
        """A check-out failed."""

    def connection_checked_out(self, event: ConnectionCheckedOutEvent) -> None:
        """A connection was checked out."""

    def connection_checked_in(self, event: ConnectionCheckedInEvent) -> None:
        """A connection was checked in."""


class TopologyListener:
    """Base class for topology listeners: override the methods for the events you want."""

    def opened(self, event: TopologyOpenedEvent) -> None:
        """Monitoring began."""

    def description_changed(self, event: TopologyDescriptionChangedEvent) -> None:
        """The topology description changed."""

    def closed(self, event: TopologyClosedEvent) -> None:
        """Monitoring ended."""


class ServerListener:
    """Base class for server listeners: override the methods for the events you want."""

    def opened(self, event: ServerOpeningEvent) -> None:
        """A server joined the topology."""

    def description_changed(self, event: ServerDescriptionChangedEvent) -> None:
        """A server description changed."""

    def closed(self, event: ServerClosedEvent) -> None:
        """A server left the topology."""


class ServerHeartbeatListener:
    """Base class for heartbeat listeners: override the methods for the events you want."""

    def started(self, event: ServerHeartbeatStartedEvent) -> None:
        """A heartbeat was sent."""

    def succeeded(self, event: ServerHeartbeatSucceededEvent) -> None:
        """A heartbeat was answered."""

    def failed(self, event: ServerHeartbeatFailedEvent) -> None:
        """A heartbeat failed."""


# Which listener class, and which of its methods, each event goes to.
_METHODS: dict[type, tuple[type, str]] = {
    CommandStartedEvent: (CommandListener, "started"),
    CommandSucceededEvent: (CommandListener, "succeeded"),
    CommandFailedEvent: (CommandListener, "failed"),
    TopologyOpenedEvent: (TopologyListener, "opened"),
    TopologyDescriptionChangedEvent: (TopologyListener, "description_changed"),
    TopologyClosedEvent: (TopologyListener, "closed"),
    ServerOpeningEvent: (ServerListener, "opened"),
    ServerDescriptionChangedEvent: (ServerListener, "description_changed"),
    ServerClosedEvent: (ServerListener, "closed"),
    ServerHeartbeatStartedEvent: (ServerHeartbeatListener, "started"),
    ServerHeartbeatSucceededEvent: (ServerHeartbeatListener, "succeeded"),
    ServerHeartbeatFailedEvent: (ServerHeartbeatListener, "failed"),
    PoolCreatedEvent: (ConnectionPoolListener, "pool_created"),
    PoolReadyEvent: (ConnectionPoolListener, "pool_ready"),
    PoolClearedEvent: (ConnectionPoolListener, "pool_cleared"),
    PoolClosedEvent: (ConnectionPoolListener, "pool_closed"),
    ConnectionCreatedEvent: (ConnectionPoolListener, "connection_created"),
    ConnectionReadyEvent: (ConnectionPoolListener, "connection_ready"),
    ConnectionClosedEvent: (ConnectionPoolListener, "connection_closed"),
    ConnectionCheckOutStartedEvent: (ConnectionPoolListener, "connection_check_out_started"),
    ConnectionCheckOutFailedEvent: (ConnectionPoolListener, "connection_check_out_failed"),
    ConnectionCheckedOutEvent: (ConnectionPoolListener, "connection_checked_out"),
    ConnectionCheckedInEvent: (ConnectionPoolListener, "connection_checked_in"),
}


def listeners_of(kind: type | tuple[type, ...], listeners: Iterable[object]) -> tuple[Any, ...]:
    """The listeners of a kind (e.g. :class:`ServerListener`, or a tuple of kinds)."""
    return tuple(item for item in listeners if isinstance(item, kind))


_LISTENER_TYPES: tuple[type, ...] = (
    CommandListener,
    ConnectionPoolListener,
    ServerHeartbeatListener,
    ServerListener,
    TopologyListener,
)


def is_listener(value: object) -> bool:
    """Whether ``value`` is a listener of a kind the driver knows (for validation)."""
    return isinstance(value, _LISTENER_TYPES)


def publish(listeners: Iterable[object], event: object) -> None:
    """Hand ``event`` to each listener of its kind; a listener's exception is logged.

    Never raises for a listener's fault: watching must not break the watched operation.
    """
    kind, method = _METHODS[type(event)]
    for listener in listeners:
        if not isinstance(listener, kind):
            continue
        try:
            getattr(listener, method)(event)
        except Exception:
            _log.exception("event listener %r failed on %s", listener, type(event).__name__)
