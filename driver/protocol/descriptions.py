"""The values SDAM works on: a ServerDescription per server, a TopologyDescription for
the whole deployment, and the settings that start it.

:mod:`driver.protocol.sdam` holds the rules that turn one topology into the next and
re-exports everything here; import from there. Pure and immutable.

The monitor measures the round trip and passes the reply in;
:func:`ServerDescription.from_hello` reads the server type and every field the SDAM
spec lists (host lists lowercased, ``lastWrite.lastWriteDate``, ``topologyVersion``,
...). A failed check gives :meth:`ServerDescription.unknown` with the error text.

Times are in seconds, as floats: ``round_trip_time`` (the moving average the monitor
keeps), ``last_update_time`` (a monotonic clock reading) and ``last_write_date``
(seconds since the epoch, from the server's clock). Only their differences matter.

Two descriptions are equal (``==``) under the spec's "Server Description Equality":
the fields that decide whether an SDAM event is published, not the round trip time
or the time of the check.

Example::

    >>> reply = {"ok": 1, "isWritablePrimary": True, "setName": "rs",
    ...          "hosts": ["A:27017", "b:27017"], "minWireVersion": 0, "maxWireVersion": 21}
    >>> sd = ServerDescription.from_hello(("a", 27017), reply, 0.004, last_update_time=10.0)
    >>> sd.server_type, sd.set_name, sd.hosts
    (<ServerType.RSPrimary: 2>, 'rs', (('a', 27017), ('b', 27017)))
    >>> sd.is_writable, sd.round_trip_time
    (True, 0.004)
    >>> ServerDescription.unknown(("a", 27017), error="connection refused").is_readable
    False
"""

from __future__ import annotations

import datetime
import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from driver.bson import DatetimeMS, ObjectId
from driver.errors import ConfigurationError
from driver.protocol.handshake import MAX_SUPPORTED_WIRE_VERSION, MIN_SUPPORTED_WIRE_VERSION

_DEFAULT_MAX_BSON_SIZE = 16 * 1024 * 1024
_DEFAULT_MAX_MESSAGE_SIZE = 48_000_000
_DEFAULT_MAX_WRITE_BATCH_SIZE = 100_000

__all__ = [
    "MIN_HEARTBEAT_FREQUENCY",
    "Address",
    "ServerDescription",
    "ServerType",
    "TopologyDescription",
    "TopologySettings",
    "TopologyType",
    "TopologyVersion",
    "closed_topology",
    "compare_topology_versions",
    "format_address",
    "initial_topology",
    "parse_address",
]

# A host and port, as in the URI parser's node list; a UNIX domain socket has no port.
Address = tuple[str, int | None]

_DEFAULT_PORT = 27017
MIN_HEARTBEAT_FREQUENCY = 0.5  # seconds; the spec's minHeartbeatFrequencyMS, fixed


class ServerType(enum.Enum):
    """What kind of server a description is of (the values are PyMongo's numbers).

    ``PossiblePrimary`` is an unchecked server that another member named as primary;
    for selection it is as unavailable as ``Unknown``.

    >>> ServerType.RSSecondary.name
    'RSSecondary'
    """

    Unknown = 0
    Mongos = 1
    RSPrimary = 2
    RSSecondary = 3
    RSArbiter = 4
    RSOther = 5
    RSGhost = 6
    Standalone = 7
    LoadBalancer = 8
    PossiblePrimary = 9


_WRITABLE_TYPES = frozenset(
    {ServerType.RSPrimary, ServerType.Standalone, ServerType.Mongos, ServerType.LoadBalancer}
)
_READABLE_TYPES = _WRITABLE_TYPES | {ServerType.RSSecondary}
# "Data-bearing" in the SDAM spec: the types that can answer with application data.
_DATA_BEARING_TYPES = _READABLE_TYPES
_UNAVAILABLE_TYPES = frozenset({ServerType.Unknown, ServerType.PossiblePrimary})


def parse_address(text: str) -> Address:
    """A ``host:port`` string from a server reply as an address, the host lowercased.

    Lenient on purpose: this reads what servers report, so it never raises. IPv6
    hosts may be bracketed; a path ending in ``.sock`` is a UNIX socket.

    >>> parse_address("DB1.Example.com:27018"), parse_address("[::1]:27019"), parse_address("c")
    (('db1.example.com', 27018), ('::1', 27019), ('c', 27017))
    """
    text = text.strip()
    if text.endswith(".sock"):
        return text, None  # a path: case matters
    text = text.lower()
    if text.startswith("["):
        close = text.find("]")
        if close > 0:
            host, rest = text[1:close], text[close + 1 :]
            if rest.startswith(":") and rest[1:].isdigit():
                return host, int(rest[1:])
            return host, _DEFAULT_PORT
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit():
            return host, int(port)
    return text, _DEFAULT_PORT


def format_address(address: Address) -> str:
    """An address as ``host:port`` (IPv6 hosts in brackets; a socket path alone).

    >>> format_address(("a", 27017)), format_address(("::1", 27017)), format_address(("/t.sock", None))
    ('a:27017', '[::1]:27017', '/t.sock')
    """
    host, port = address
    if port is None:
        return host
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class TopologyVersion:
    """A server's ``topologyVersion``: which process, and how many state changes in.

    >>> tv = TopologyVersion.from_document({"processId": ObjectId("0" * 24), "counter": 3})
    >>> tv.counter, tv.document["counter"]
    (3, 3)
    """

    process_id: Any
    counter: int

    @classmethod
    def from_document(cls, doc: Any) -> TopologyVersion | None:
        """Read ``{processId, counter}``; anything else (or nothing) gives ``None``."""
        if not isinstance(doc, Mapping) or "processId" not in doc:
            return None
        counter = doc.get("counter", 0)
        if isinstance(counter, bool) or not isinstance(counter, int):
            return None
        return cls(doc["processId"], int(counter))

    @property
    def document(self) -> dict[str, Any]:
        """The value as the server sends it."""
        return {"processId": self.process_id, "counter": self.counter}


def compare_topology_versions(
    current: TopologyVersion | None, incoming: TopologyVersion | None
) -> int:
    """The SDAM spec's ``compareTopologyVersion``: -1, 0 or 1 as ``current`` is older,
    the same, or newer than ``incoming``.

    A missing version, or another process, counts as "incoming is newer" (-1), so
    fresh information always wins unless the same process says otherwise.

    >>> pid = ObjectId("0" * 24)
    >>> compare_topology_versions(TopologyVersion(pid, 2), TopologyVersion(pid, 1))
    1
    >>> compare_topology_versions(None, TopologyVersion(pid, 1))
    -1
    """
    if current is None or incoming is None or current.process_id != incoming.process_id:
        return -1
    if current.counter == incoming.counter:
        return 0
    return -1 if current.counter < incoming.counter else 1


def _server_type(doc: Mapping[str, Any]) -> ServerType:
    if not doc.get("ok"):
        return ServerType.Unknown
    if doc.get("isreplicaset"):
        return ServerType.RSGhost
    if doc.get("setName") is not None:
        # Hidden members report secondary: true, but cannot be read from.
        if doc.get("hidden"):
            return ServerType.RSOther
        if doc.get("isWritablePrimary", doc.get("ismaster")):
            return ServerType.RSPrimary
        if doc.get("secondary"):
            return ServerType.RSSecondary
        if doc.get("arbiterOnly"):
            return ServerType.RSArbiter
        return ServerType.RSOther
    if doc.get("msg") == "isdbgrid":
        return ServerType.Mongos
    return ServerType.Standalone


def _addresses(values: Any) -> tuple[Address, ...]:
    if not isinstance(values, Iterable) or isinstance(values, (str, bytes, Mapping)):
        return ()
    # Keep the server's order (it decides the order servers are added and events
    # published) but drop repeats.
    return tuple(dict.fromkeys(parse_address(value) for value in values if isinstance(value, str)))


def _seconds_since_epoch(value: Any) -> float | None:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # the BSON decoder's default: naive UTC
            value = value.replace(tzinfo=datetime.timezone.utc)
        return float(value.timestamp())
    if isinstance(value, DatetimeMS):
        return int(value) / 1000.0
    if isinstance(value, int) and not isinstance(value, bool):
        return value / 1000.0  # milliseconds, as in the spec tests' $numberLong
    return None


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _positive_int(value: Any, default: int) -> int:
    number = _optional_int(value)
    return number if number is not None and number > 0 else default


@dataclass(frozen=True, slots=True, eq=False)
class ServerDescription:
    """The client's view of one server after its latest check.

    Build one with :meth:`from_hello`, :meth:`unknown` or :meth:`load_balancer`.
    ``min_wire_version``/``max_wire_version`` are ``None`` until a reply is seen.
    ``hosts``, ``passives`` and ``arbiters`` are this server's opinion of the replica
    set, in the order it reported them.

    >>> sd = ServerDescription.from_hello(("b", 27017), {"ok": 1, "secondary": True,
    ...     "setName": "rs", "tags": {"dc": "ny"}, "maxWireVersion": 21}, 0.002)
    >>> sd.server_type.name, sd.tags, sd.is_readable, sd.is_writable
    ('RSSecondary', {'dc': 'ny'}, True, False)
    """

    address: Address
    server_type: ServerType = ServerType.Unknown
    error: str | None = None
    round_trip_time: float | None = None
    min_round_trip_time: float | None = None
    last_write_date: float | None = None
    last_update_time: float | None = None
    min_wire_version: int | None = None
    max_wire_version: int | None = None
    me: Address | None = None
    hosts: tuple[Address, ...] = ()
    passives: tuple[Address, ...] = ()
    arbiters: tuple[Address, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    set_name: str | None = None
    set_version: int | None = None
    election_id: ObjectId | None = None
    primary: Address | None = None
    logical_session_timeout_minutes: int | None = None
    topology_version: TopologyVersion | None = None
    iscryptd: bool = False
    service_id: Any = None
    # The write limits the server announced (defaults until it did): bulk writes are
    # split by them. Not part of equality: they never change a server's role.
    max_bson_object_size: int = _DEFAULT_MAX_BSON_SIZE
    max_message_size_bytes: int = _DEFAULT_MAX_MESSAGE_SIZE
    max_write_batch_size: int = _DEFAULT_MAX_WRITE_BATCH_SIZE

    @classmethod
    def from_hello(
        cls,
        address: Address,
        doc: Mapping[str, Any],
        round_trip_time: float | None,
        *,
        min_round_trip_time: float | None = None,
        last_update_time: float | None = None,
    ) -> ServerDescription:
        """The description a successful ``hello``/``isMaster`` call gives.

        ``round_trip_time`` is the server's average RTT after this check (see
        :func:`driver.protocol.selection.moving_average_rtt`); ``last_update_time``
        defaults to ``time.monotonic()``. A reply without ``ok: 1`` gives an Unknown
        server whose error quotes the reply's message.
        """
        if last_update_time is None:
            last_update_time = time.monotonic()
        server_type = _server_type(doc)
        if server_type is ServerType.Unknown:
            message = doc.get("errmsg") or "the hello reply did not say ok: 1"
            return cls.unknown(
                address,
                error=str(message),
                topology_version=TopologyVersion.from_document(doc.get("topologyVersion")),
            )
        last_write = doc.get("lastWrite")
        last_write_date = (
            _seconds_since_epoch(last_write.get("lastWriteDate"))
            if isinstance(last_write, Mapping)
            else None
        )
        me = doc.get("me")
        primary = doc.get("primary")
        tags = doc.get("tags")
        election_id = doc.get("electionId")
        return cls(
            address=address,
            server_type=server_type,
            round_trip_time=round_trip_time,
            min_round_trip_time=min_round_trip_time,
            last_write_date=last_write_date,
            last_update_time=last_update_time,
            min_wire_version=_optional_int(doc.get("minWireVersion")) or 0,
            max_wire_version=_optional_int(doc.get("maxWireVersion")) or 0,
            me=parse_address(me) if isinstance(me, str) else None,
            hosts=_addresses(doc.get("hosts")),
            passives=_addresses(doc.get("passives")),
            arbiters=_addresses(doc.get("arbiters")),
            tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {},
            set_name=doc.get("setName"),
            set_version=_optional_int(doc.get("setVersion")),
            election_id=election_id if isinstance(election_id, ObjectId) else None,
            primary=parse_address(primary) if isinstance(primary, str) else None,
            logical_session_timeout_minutes=_optional_int(doc.get("logicalSessionTimeoutMinutes")),
            topology_version=TopologyVersion.from_document(doc.get("topologyVersion")),
            iscryptd=bool(doc.get("iscryptd", False)),
            service_id=doc.get("serviceId"),
            max_bson_object_size=_positive_int(doc.get("maxBsonObjectSize"), _DEFAULT_MAX_BSON_SIZE),
            max_message_size_bytes=_positive_int(
                doc.get("maxMessageSizeBytes"), _DEFAULT_MAX_MESSAGE_SIZE
            ),
            max_write_batch_size=_positive_int(
                doc.get("maxWriteBatchSize"), _DEFAULT_MAX_WRITE_BATCH_SIZE
            ),
        )

    @classmethod
    def unknown(
        cls,
        address: Address,
        *,
        error: str | None = None,
        topology_version: TopologyVersion | None = None,
    ) -> ServerDescription:
        """A default description of type Unknown (after a failed check, or a reset).

        >>> ServerDescription.unknown(("a", 27017), error="timed out").error
        'timed out'
        """
        return cls(address, error=error, topology_version=topology_version)

    @classmethod
    def load_balancer(cls, address: Address) -> ServerDescription:
        """The description of a load balancer: its type and address, nothing else.

        >>> ServerDescription.load_balancer(("lb", 27017)).is_writable
        True
        """
        return cls(address, server_type=ServerType.LoadBalancer)

    def with_type(self, server_type: ServerType) -> ServerDescription:
        """A copy with another type (used to mark a PossiblePrimary)."""
        return replace(self, server_type=server_type)

    # ------------------------------------------------------------------ derived facts

    @property
    def all_hosts(self) -> tuple[Address, ...]:
        """Every member this server reported: hosts, then passives, then arbiters."""
        return tuple(dict.fromkeys(self.hosts + self.passives + self.arbiters))

    @property
    def is_writable(self) -> bool:
        """Whether writes may go here: a primary, standalone, mongos or load balancer."""
        return self.server_type in _WRITABLE_TYPES

    @property
    def is_readable(self) -> bool:
        """Whether reads may go here (a writable server or a secondary)."""
        return self.server_type in _READABLE_TYPES

    @property
    def is_data_bearing(self) -> bool:
        """The SDAM spec's "data-bearing" types (the readable ones)."""
        return self.server_type in _DATA_BEARING_TYPES

    @property
    def is_available(self) -> bool:
        """Whether the server was reached: not Unknown nor PossiblePrimary."""
        return self.server_type not in _UNAVAILABLE_TYPES

    @property
    def is_server_type_known(self) -> bool:
        """PyMongo's name: any type but Unknown."""
        return self.server_type is not ServerType.Unknown

    @property
    def server_type_name(self) -> str:
        """PyMongo's name: the type as text, e.g. ``"RSPrimary"``."""
        return self.server_type.name

    @property
    def replica_set_name(self) -> str | None:
        """PyMongo's name for :attr:`set_name`."""
        return self.set_name

    @property
    def retryable_writes_supported(self) -> bool:
        """Whether retryable writes may go here: sessions on a primary, mongos or load
        balancer (a standalone has no oplog to retry against)."""
        if self.server_type is ServerType.LoadBalancer:
            return True
        return self.logical_session_timeout_minutes is not None and self.server_type in (
            ServerType.Mongos,
            ServerType.RSPrimary,
        )

    # ------------------------------------------------------------------ equality

    def _equality_key(self) -> tuple[Any, ...]:
        # The fields the SDAM spec marks (=): RTT and update time are left out, so a
        # re-check that finds nothing new publishes no event.
        return (
            self.address,
            self.server_type,
            self.error,
            self.min_wire_version,
            self.max_wire_version,
            self.me,
            frozenset(self.hosts),
            frozenset(self.passives),
            frozenset(self.arbiters),
            frozenset(self.tags.items()),
            self.set_name,
            self.set_version,
            self.election_id,
            self.primary,
            self.logical_session_timeout_minutes,
            self.topology_version,
            self.iscryptd,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerDescription):
            return NotImplemented
        return self._equality_key() == other._equality_key()

    def __hash__(self) -> int:
        return hash((self.address, self.server_type, self.set_name, self.error))

    def __repr__(self) -> str:
        parts = [f"<ServerDescription {format_address(self.address)} {self.server_type.name}"]
        if self.set_name is not None:
            parts.append(f"set_name={self.set_name!r}")
        if self.round_trip_time is not None:
            parts.append(f"rtt={self.round_trip_time * 1000:.1f}ms")
        if self.error is not None:
            parts.append(f"error={self.error!r}")
        return " ".join(parts) + ">"


# ---------------------------------------------------------------------------- the topology


class TopologyType(enum.Enum):
    """The kind of deployment the client believes it talks to (PyMongo's numbers).

    >>> TopologyType.ReplicaSetNoPrimary.name
    'ReplicaSetNoPrimary'
    """

    Single = 0
    ReplicaSetNoPrimary = 1
    ReplicaSetWithPrimary = 2
    Sharded = 3
    Unknown = 4
    LoadBalanced = 5


@dataclass(frozen=True, slots=True)
class TopologySettings:
    """What the client was configured with: seeds and the discovery options.

    Times are in seconds. Impossible combinations raise
    :class:`~driver.errors.ConfigurationError` naming both options.

    >>> TopologySettings(seeds=(("a", 27017), ("b", 27017)), direct_connection=True)
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: directConnection=true needs exactly one seed, but 2 are given
    """

    seeds: tuple[Address, ...]
    replica_set_name: str | None = None
    direct_connection: bool = False
    load_balanced: bool = False
    heartbeat_frequency: float = 10.0
    local_threshold: float = 0.015

    def __post_init__(self) -> None:
        count = len(self.seeds)
        if self.direct_connection and count != 1:
            raise ConfigurationError(
                f"directConnection=true needs exactly one seed, but {count} are given"
            )
        if self.load_balanced:
            if count != 1:
                raise ConfigurationError(
                    f"loadBalanced=true needs exactly one seed, but {count} are given"
                )
            if self.direct_connection:
                raise ConfigurationError(
                    "loadBalanced=true cannot be used with directConnection=true"
                )
            if self.replica_set_name is not None:
                raise ConfigurationError("loadBalanced=true cannot be used with replicaSet")
        if self.heartbeat_frequency < MIN_HEARTBEAT_FREQUENCY:
            raise ConfigurationError(
                f"heartbeatFrequencyMS must be at least {int(MIN_HEARTBEAT_FREQUENCY * 1000)}, "
                f"got {self.heartbeat_frequency * 1000:g}"
            )
        if self.local_threshold < 0:
            raise ConfigurationError(
                f"localThresholdMS must not be negative, got {self.local_threshold * 1000:g}"
            )


def _compatibility_error(sd: ServerDescription) -> str | None:
    low, high = sd.min_wire_version, sd.max_wire_version
    if not sd.is_available or low is None or high is None:
        return None  # unchecked servers, and load balancers (checked at handshake)
    where = format_address(sd.address)
    ranges = (
        f"the server speaks wire versions [{low}, {high}], Feldspar speaks "
        f"[{MIN_SUPPORTED_WIRE_VERSION}, {MAX_SUPPORTED_WIRE_VERSION}]"
    )
    if low > MAX_SUPPORTED_WIRE_VERSION:
        return (
            f"Server at {where} requires wire version {low}, but this version of Feldspar "
            f"only supports up to {MAX_SUPPORTED_WIRE_VERSION} ({ranges}): upgrade Feldspar"
        )
    if high < MIN_SUPPORTED_WIRE_VERSION:
        return (
            f"Server at {where} reports wire version {high}, but this version of Feldspar "
            f"requires at least {MIN_SUPPORTED_WIRE_VERSION} (MongoDB 3.6 / Amazon "
            f"DocumentDB 3.6) ({ranges})"
        )
    return None


@dataclass(frozen=True, slots=True, eq=False)
class TopologyDescription:
    """The client's whole view of the deployment. Replace it; never change it.

    ``servers`` maps each address to its :class:`ServerDescription` (read-only).
    Equality (``==``) is what decides a TopologyDescriptionChanged event: types, set
    name, election bookkeeping and the servers under their own equality.

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),), replica_set_name="rs"))
    >>> td.topology_type.name, td.set_name, td.compatible, td.logical_session_timeout_minutes
    ('ReplicaSetNoPrimary', 'rs', True, None)
    """

    topology_type: TopologyType
    servers: Mapping[Address, ServerDescription]
    settings: TopologySettings
    set_name: str | None = None
    max_set_version: int | None = None
    max_election_id: ObjectId | None = None
    # Derived once: every operation asks for it (twice), and the description never changes.
    _session_timeout: int | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.servers, MappingProxyType):
            object.__setattr__(self, "servers", MappingProxyType(dict(self.servers)))
        values = [sd.logical_session_timeout_minutes for sd in self.servers.values() if sd.is_data_bearing]
        timeout = None if not values or None in values else min(v for v in values if v is not None)
        object.__setattr__(self, "_session_timeout", timeout)

    @property
    def compatibility_error(self) -> str | None:
        """Why some server's wire versions do not overlap ours, or ``None``."""
        for sd in self.servers.values():
            error = _compatibility_error(sd)
            if error is not None:
                return error
        return None

    @property
    def compatible(self) -> bool:
        """Whether every known server speaks a wire version we speak."""
        return self.compatibility_error is None

    def check_compatible(self) -> None:
        """Raise :class:`~driver.errors.ConfigurationError` if not :attr:`compatible`."""
        error = self.compatibility_error
        if error is not None:
            raise ConfigurationError(error)

    @property
    def logical_session_timeout_minutes(self) -> int | None:
        """The smallest session timeout of the data-bearing servers (``None`` if any
        lacks one, or there are none)."""
        return self._session_timeout

    @property
    def common_wire_version(self) -> int | None:
        """The lowest ``maxWireVersion`` among the known servers, or ``None``."""
        versions = [
            sd.max_wire_version
            for sd in self.servers.values()
            if sd.is_available and sd.max_wire_version is not None
        ]
        return min(versions) if versions else None

    @property
    def primary(self) -> ServerDescription | None:
        """The RSPrimary, if one is known."""
        for sd in self.servers.values():
            if sd.server_type is ServerType.RSPrimary:
                return sd
        return None

    @property
    def heartbeat_frequency(self) -> float:
        """``heartbeatFrequencyMS`` in seconds (it bounds staleness estimates)."""
        return self.settings.heartbeat_frequency

    def has_server(self, address: Address) -> bool:
        """Whether ``address`` is part of the topology (else its replies are ignored)."""
        return address in self.servers

    # PyMongo's names, for code written against pymongo.topology_description.

    @property
    def topology_type_name(self) -> str:
        """The type as text, e.g. ``"ReplicaSetWithPrimary"``."""
        return self.topology_type.name

    @property
    def replica_set_name(self) -> str | None:
        """PyMongo's name for :attr:`set_name`."""
        return self.set_name

    def server_descriptions(self) -> dict[Address, ServerDescription]:
        """A copy of :attr:`servers`, as a plain dict."""
        return dict(self.servers)

    @property
    def known_servers(self) -> list[ServerDescription]:
        """The servers of a known type."""
        return [sd for sd in self.servers.values() if sd.is_server_type_known]

    @property
    def has_known_servers(self) -> bool:
        """Whether any server's type is known."""
        return any(sd.is_server_type_known for sd in self.servers.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TopologyDescription):
            return NotImplemented
        return (
            self.topology_type is other.topology_type
            and self.set_name == other.set_name
            and self.max_set_version == other.max_set_version
            and self.max_election_id == other.max_election_id
            and dict(self.servers) == dict(other.servers)
        )

    def __hash__(self) -> int:
        return hash((self.topology_type, self.set_name, frozenset(self.servers)))

    def __repr__(self) -> str:
        servers = ", ".join(repr(sd) for sd in self.servers.values())
        name = f" set_name={self.set_name!r}" if self.set_name is not None else ""
        return f"<TopologyDescription {self.topology_type.name}{name} servers=[{servers}]>"


def initial_topology(settings: TopologySettings) -> TopologyDescription:
    """The topology before any check: every seed Unknown, the type from the options.

    ``loadBalanced`` gives LoadBalanced (then apply
    :meth:`ServerDescription.load_balancer` at once, as the load balancer spec says);
    ``directConnection=true`` gives Single; a ``replicaSet`` name gives
    ReplicaSetNoPrimary; otherwise Unknown (also for one seed: discovery decides).

    >>> initial_topology(TopologySettings(seeds=(("a", 27017),), direct_connection=True))
    <TopologyDescription Single servers=[<ServerDescription a:27017 Unknown>]>
    """
    if settings.load_balanced:
        topology_type = TopologyType.LoadBalanced
    elif settings.direct_connection:
        topology_type = TopologyType.Single
    elif settings.replica_set_name is not None:
        topology_type = TopologyType.ReplicaSetNoPrimary
    else:
        topology_type = TopologyType.Unknown
    servers = {address: ServerDescription.unknown(address) for address in settings.seeds}
    return TopologyDescription(topology_type, servers, settings, settings.replica_set_name)


def closed_topology(topology: TopologyDescription) -> TopologyDescription:
    """What a closing client turns its topology into: Unknown, with no servers."""
    return TopologyDescription(TopologyType.Unknown, {}, topology.settings)
