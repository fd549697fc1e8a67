"""Server Discovery and Monitoring, pure: ``new_topology = apply(topology, server)``.

The whole state machine of the SDAM spec as functions over immutable values, with no
I/O, threads or clocks of its own:

- :func:`initial_topology` from the seeds and options (``directConnection``,
  ``replicaSet``, ``loadBalanced``);
- :func:`apply` / :func:`update` with a new :class:`ServerDescription` (a monitor's
  check): the TopologyType table, ``updateRSFromPrimary`` with the
  ``(electionId, setVersion)`` ordering (wire version 17+ and the older
  ``(setVersion, electionId)`` one), stale primaries, ``me`` mismatches, possible
  primaries, removals, ``topologyVersion`` staleness;
- :func:`apply_error` for an application error (stale pool generation and
  ``topologyVersion`` checks, "not writable primary"/"node is recovering" codes,
  network errors before and after the handshake, overload errors from connection
  establishment), returning what the I/O layer must do; :func:`apply_check_failure`
  for a monitor's failed check;
- :func:`opening_events` / :func:`events_between` / :func:`closing_events`: the SDAM
  monitoring events a change implies.

Decisions the specs leave open: a network error or timeout while establishing a
connection carries the client backpressure label ``SystemOverloadedError`` (the
connection layer adds it) and changes nothing; a command error other than a state
change before the handshake completes (e.g. authentication) marks the server Unknown
and clears its pool, as PyMongo does; ``Unknown`` <-> ``PossiblePrimary`` flips
publish no ServerDescriptionChanged event (the spec's monitoring tests expect none).

Example::

    >>> topology = initial_topology(TopologySettings(seeds=(("a", 27017), ("b", 27017))))
    >>> topology.topology_type
    <TopologyType.Unknown: 4>
    >>> reply = {"ok": 1, "isWritablePrimary": True, "setName": "rs",
    ...          "hosts": ["a:27017", "c:27017"], "maxWireVersion": 21}
    >>> topology = apply(topology, ServerDescription.from_hello(("a", 27017), reply, 0.001))
    >>> topology.topology_type.name, topology.set_name, sorted(topology.servers)
    ('ReplicaSetWithPrimary', 'rs', [('a', 27017), ('c', 27017)])
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from driver.bson import ObjectId
from driver.errors import (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    PoolClearedError,
    PyMongoError,
    WaitQueueTimeoutError,
)
from driver.protocol.commands import is_not_primary_or_recovering
from driver.protocol.descriptions import (
    MIN_HEARTBEAT_FREQUENCY,
    Address,
    ServerDescription,
    ServerType,
    TopologyDescription,
    TopologySettings,
    TopologyType,
    TopologyVersion,
    closed_topology,
    compare_topology_versions,
    format_address,
    initial_topology,
    parse_address,
)

__all__ = [
    "MIN_HEARTBEAT_FREQUENCY",
    "OVERLOAD_LABEL",
    "Address",
    "ApplicationError",
    "ErrorKind",
    "ErrorOutcome",
    "SdamEvent",
    "ServerClosed",
    "ServerDescription",
    "ServerDescriptionChanged",
    "ServerOpening",
    "ServerType",
    "TopologyClosed",
    "TopologyDescription",
    "TopologyDescriptionChanged",
    "TopologyOpening",
    "TopologySettings",
    "TopologyType",
    "TopologyUpdate",
    "TopologyVersion",
    "apply",
    "apply_check_failure",
    "apply_error",
    "closed_topology",
    "closing_events",
    "compare_topology_versions",
    "events_between",
    "format_address",
    "initial_topology",
    "opening_events",
    "parse_address",
    "pool_should_be_ready",
    "update",
    "with_srv_hosts",
]

# The first wire version (MongoDB 4.2) whose state-change errors leave the pool open.
_WIRE_VERSION_42 = 8
# From MongoDB 6.0 on, electionId orders primaries before setVersion does.
_WIRE_VERSION_60 = 17
_SHUTDOWN_CODES = frozenset({11600, 91})
OVERLOAD_LABEL = "SystemOverloadedError"

_STALE_PRIMARY = "primary marked stale due to electionId/setVersion mismatch"
_NEWER_PRIMARY = "primary marked stale due to discovery of newer primary"


_RS_MEMBER_TYPES = frozenset({ServerType.RSSecondary, ServerType.RSArbiter, ServerType.RSOther})


# ---------------------------------------------------------------------------- updates


@dataclass(frozen=True, slots=True)
class TopologyUpdate:
    """The result of :func:`update`: the new topology, and the primaries it demoted.

    ``stale_primaries`` holds the *previous* descriptions of servers that were
    RSPrimary until a newer primary was found. The I/O layer requests an immediate
    check of each, and clears its pool when it runs MongoDB 4.0 or older
    (``max_wire_version < 8``), as the spec requires.
    """

    topology: TopologyDescription
    stale_primaries: tuple[ServerDescription, ...] = ()


class _Draft:
    """The mutable working copy :func:`update` edits, then freezes."""

    def __init__(self, td: TopologyDescription) -> None:
        self.settings = td.settings
        self.topology_type = td.topology_type
        self.servers = dict(td.servers)
        self.set_name = td.set_name
        self.max_set_version = td.max_set_version
        self.max_election_id = td.max_election_id
        self.stale_primaries: list[ServerDescription] = []

    def freeze(self) -> TopologyUpdate:
        td = TopologyDescription(
            self.topology_type,
            self.servers,
            self.settings,
            self.set_name,
            self.max_set_version,
            self.max_election_id,
        )
        return TopologyUpdate(td, tuple(self.stale_primaries))

    def check_if_has_primary(self) -> None:
        has_primary = any(sd.server_type is ServerType.RSPrimary for sd in self.servers.values())
        self.topology_type = (
            TopologyType.ReplicaSetWithPrimary if has_primary else TopologyType.ReplicaSetNoPrimary
        )

    def add_missing(self, addresses: tuple[Address, ...]) -> None:
        for address in addresses:
            if address not in self.servers:
                self.servers[address] = ServerDescription.unknown(address)

    def mark_possible_primary(self, primary: Address | None) -> None:
        if primary is None:
            return
        current = self.servers.get(primary)
        if current is not None and current.server_type is ServerType.Unknown:
            self.servers[primary] = current.with_type(ServerType.PossiblePrimary)


def _is_stale_description(current: ServerDescription, new: ServerDescription) -> bool:
    return compare_topology_versions(current.topology_version, new.topology_version) > 0


def _nullable_order(value: Any) -> tuple[bool, Any]:
    # The spec: a null electionId or setVersion is less than any value.
    return (value is not None, value if value is not None else 0)


def _election_key(election_id: ObjectId | None) -> tuple[bool, bytes]:
    return (election_id is not None, election_id.binary if election_id is not None else b"")


def _update_rs_from_primary(draft: _Draft, sd: ServerDescription) -> None:
    if draft.set_name is None:
        draft.set_name = sd.set_name
    elif draft.set_name != sd.set_name:
        # A primary of another replica set than the one asked for or found first.
        del draft.servers[sd.address]
        draft.check_if_has_primary()
        return

    if (sd.max_wire_version or 0) >= _WIRE_VERSION_60:
        new_key = (_election_key(sd.election_id), _nullable_order(sd.set_version))
        max_key = (_election_key(draft.max_election_id), _nullable_order(draft.max_set_version))
        if new_key < max_key:
            _mark_stale_primary(draft, sd)
            return
        draft.max_election_id = sd.election_id
        draft.max_set_version = sd.set_version
    else:
        # Before MongoDB 6.0 drivers ordered by setVersion first; kept for those servers.
        if sd.set_version is not None and sd.election_id is not None:
            if (
                draft.max_set_version is not None
                and draft.max_election_id is not None
                and (sd.set_version, sd.election_id.binary)
                < (draft.max_set_version, draft.max_election_id.binary)
            ):
                _mark_stale_primary(draft, sd)
                return
            draft.max_election_id = sd.election_id
        if sd.set_version is not None and (
            draft.max_set_version is None or sd.set_version > draft.max_set_version
        ):
            draft.max_set_version = sd.set_version

    for address, other in list(draft.servers.items()):
        if address != sd.address and other.server_type is ServerType.RSPrimary:
            draft.stale_primaries.append(other)
            draft.servers[address] = ServerDescription.unknown(address, error=_NEWER_PRIMARY)
    members = sd.all_hosts
    draft.add_missing(members)
    wanted = set(members)
    for address in list(draft.servers):
        if address not in wanted:
            del draft.servers[address]
    draft.check_if_has_primary()


def _mark_stale_primary(draft: _Draft, sd: ServerDescription) -> None:
    def show(election_id: ObjectId | None, set_version: int | None) -> str:
        return f"(electionId {election_id}, setVersion {set_version})"

    error = (
        f"{_STALE_PRIMARY}: {format_address(sd.address)} reports "
        f"{show(sd.election_id, sd.set_version)}, older than the newest primary seen "
        f"{show(draft.max_election_id, draft.max_set_version)}"
    )
    draft.servers[sd.address] = ServerDescription.unknown(sd.address, error=error)
    draft.check_if_has_primary()


def _update_rs_without_primary(draft: _Draft, sd: ServerDescription) -> None:
    if draft.set_name is None:
        draft.set_name = sd.set_name
    elif draft.set_name != sd.set_name:
        del draft.servers[sd.address]
        return
    draft.add_missing(sd.all_hosts)
    draft.mark_possible_primary(sd.primary)
    if sd.me is not None and sd.address != sd.me:
        # Seeded under another name than its configured one: the configured name was
        # just added, so drop this alias rather than select it and lose it later.
        del draft.servers[sd.address]


def _update_rs_with_primary_from_member(draft: _Draft, sd: ServerDescription) -> None:
    if draft.set_name != sd.set_name or (sd.me is not None and sd.address != sd.me):
        del draft.servers[sd.address]
        draft.check_if_has_primary()
        return
    if not any(other.server_type is ServerType.RSPrimary for other in draft.servers.values()):
        # This member had been the primary and stepped down.
        draft.topology_type = TopologyType.ReplicaSetNoPrimary
        draft.mark_possible_primary(sd.primary)


def _apply_multi(draft: _Draft, sd: ServerDescription) -> None:
    kind = sd.server_type
    current = draft.topology_type
    if current is TopologyType.Unknown:
        if kind is ServerType.Standalone:
            if len(draft.settings.seeds) == 1:
                draft.topology_type = TopologyType.Single
            else:
                # A standalone among several seeds is a stray member brought up for
                # maintenance: the user means the other seeds.
                del draft.servers[sd.address]
        elif kind is ServerType.Mongos:
            draft.topology_type = TopologyType.Sharded
        elif kind is ServerType.RSPrimary:
            draft.topology_type = TopologyType.ReplicaSetWithPrimary
            _update_rs_from_primary(draft, sd)
        elif kind in _RS_MEMBER_TYPES:
            draft.topology_type = TopologyType.ReplicaSetNoPrimary
            _update_rs_without_primary(draft, sd)
        # Unknown and RSGhost: no-op (a ghost has no set name to go by).
    elif current is TopologyType.Sharded:
        if kind not in (ServerType.Unknown, ServerType.Mongos):
            del draft.servers[sd.address]
    elif current is TopologyType.ReplicaSetNoPrimary:
        if kind in (ServerType.Standalone, ServerType.Mongos):
            del draft.servers[sd.address]
        elif kind is ServerType.RSPrimary:
            draft.topology_type = TopologyType.ReplicaSetWithPrimary
            _update_rs_from_primary(draft, sd)
        elif kind in _RS_MEMBER_TYPES:
            _update_rs_without_primary(draft, sd)
    elif current is TopologyType.ReplicaSetWithPrimary:
        if kind in (ServerType.Standalone, ServerType.Mongos):
            del draft.servers[sd.address]
            draft.check_if_has_primary()
        elif kind is ServerType.RSPrimary:
            _update_rs_from_primary(draft, sd)
        elif kind in _RS_MEMBER_TYPES:
            _update_rs_with_primary_from_member(draft, sd)
        else:
            draft.check_if_has_primary()


def update(topology: TopologyDescription, sd: ServerDescription) -> TopologyUpdate:
    """Apply one server's new description, per the SDAM spec; see :class:`TopologyUpdate`.

    A description of a server no longer in the topology, or one with an older
    ``topologyVersion`` than the current one, changes nothing.

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017), ("b", 27017))))
    >>> result = update(td, ServerDescription.from_hello(("b", 27017), {"ok": 1}, 0.001))
    >>> result.topology.topology_type.name, sorted(result.topology.servers)
    ('Unknown', [('a', 27017)])
    """
    current = topology.servers.get(sd.address)
    if current is None or _is_stale_description(current, sd):
        return TopologyUpdate(topology)
    draft = _Draft(topology)
    if topology.topology_type is TopologyType.Single:
        name = topology.settings.replica_set_name
        if name is not None and sd.is_server_type_known and sd.set_name != name:
            sd = ServerDescription.unknown(
                sd.address,
                error=f"replica set name mismatch: expected {name!r}, "
                f"the server reports {sd.set_name!r}",
            )
        draft.servers[sd.address] = sd
    elif topology.topology_type is TopologyType.LoadBalanced:
        draft.servers[sd.address] = sd
    else:
        draft.servers[sd.address] = sd
        _apply_multi(draft, sd)
    return draft.freeze()


def apply(topology: TopologyDescription, sd: ServerDescription) -> TopologyDescription:
    """The topology after one server's new description (:func:`update` without the
    list of demoted primaries).

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),)))
    >>> apply(td, ServerDescription.from_hello(("a", 27017), {"ok": 1, "msg": "isdbgrid"},
    ...       0.001)).topology_type.name
    'Sharded'
    """
    return update(topology, sd).topology


def with_srv_hosts(
    topology: TopologyDescription, hosts: Sequence[Address]
) -> TopologyDescription:
    """The topology after SRV polling listed ``hosts`` (the mongos to use).

    Servers no longer listed go, new ones come in Unknown; a topology that is neither
    Sharded nor Unknown is returned unchanged (polling only serves mongos discovery).

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017), ("b", 27017))))
    >>> sorted(with_srv_hosts(td, [("b", 27017), ("c", 27017)]).servers)
    [('b', 27017), ('c', 27017)]
    """
    if topology.topology_type not in (TopologyType.Sharded, TopologyType.Unknown):
        return topology
    servers = {address: sd for address, sd in topology.servers.items() if address in hosts}
    for address in hosts:
        servers.setdefault(address, ServerDescription.unknown(address))
    if servers.keys() == topology.servers.keys():
        return topology
    return TopologyDescription(
        topology.topology_type,
        servers,
        topology.settings,
        topology.set_name,
        topology.max_set_version,
        topology.max_election_id,
    )


def pool_should_be_ready(topology: TopologyDescription, sd: ServerDescription) -> bool:
    """Whether a successful check of ``sd`` marks its connection pool ready (CMAP).

    Data-bearing servers, and any known server of a direct connection.

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),), direct_connection=True))
    >>> ghost = ServerDescription.from_hello(("a", 27017), {"ok": 1, "isreplicaset": True}, 0.001)
    >>> pool_should_be_ready(td, ghost)
    True
    """
    if sd.is_data_bearing:
        return True
    return sd.is_server_type_known and topology.topology_type is TopologyType.Single


# ---------------------------------------------------------------------------- errors


class ErrorKind(enum.Enum):
    """The classes of application error the SDAM spec tells apart."""

    NETWORK = "network"  # any network error but a timeout
    TIMEOUT = "timeout"  # a network timeout
    COMMAND = "command"  # the server answered with an error


@dataclass(frozen=True, slots=True)
class ApplicationError:
    """An error an application operation met on a server, as :func:`apply_error` needs it.

    ``generation`` is the connection's pool generation (for an error while
    connecting: the pool's generation when the attempt began). ``completed_handshake``
    is false for errors during connection establishment and authentication.
    ``labels`` are the error labels; the connection layer adds
    ``SystemOverloadedError`` to network errors while establishing a connection
    (client backpressure), and such errors leave the topology alone.

    >>> err = ApplicationError(ErrorKind.COMMAND, generation=0, completed_handshake=True,
    ...                        max_wire_version=21, code=91, message="shutting down")
    >>> err.is_state_change, err.is_shutdown
    (True, True)
    """

    kind: ErrorKind
    generation: int
    completed_handshake: bool
    max_wire_version: int | None
    code: int | None = None
    message: str = ""
    topology_version: TopologyVersion | None = None
    labels: frozenset[str] = frozenset()
    service_id: Any = None

    @property
    def is_state_change(self) -> bool:
        """A "not writable primary" or "node is recovering" error (by code, else text)."""
        return self.kind is ErrorKind.COMMAND and is_not_primary_or_recovering(
            self.code, self.message
        )

    @property
    def is_shutdown(self) -> bool:
        """A "node is shutting down" error (codes 11600, 91)."""
        return self.code in _SHUTDOWN_CODES

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        *,
        generation: int,
        completed_handshake: bool,
        max_wire_version: int | None,
        service_id: Any = None,
    ) -> ApplicationError | None:
        """Classify a driver error; ``None`` for errors that say nothing about the
        server (a wait-queue timeout, a bad argument, ...).

        >>> from driver.errors import NetworkTimeout
        >>> ApplicationError.from_exception(NetworkTimeout("timed out"), generation=3,
        ...     completed_handshake=True, max_wire_version=21).kind
        <ErrorKind.TIMEOUT: 'timeout'>
        """
        details: Any = None
        code: int | None = None
        if isinstance(exc, (WaitQueueTimeoutError, PoolClearedError)):
            # The pool's own state, not news about the server.
            return None
        if isinstance(exc, NotPrimaryError):
            kind = ErrorKind.COMMAND
            details = exc.details if isinstance(exc.details, Mapping) else None
            raw = details.get("code") if details is not None else None
            code = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        elif isinstance(exc, NetworkTimeout):
            kind = ErrorKind.TIMEOUT
        elif isinstance(exc, (AutoReconnect, ConnectionFailure)):
            kind = ErrorKind.NETWORK
        elif isinstance(exc, OperationFailure):
            kind = ErrorKind.COMMAND
            details, code = exc.details, exc.code
        else:
            return None
        topology_version = None
        message = str(exc)
        if isinstance(details, Mapping):
            # A write concern error is checked like a command error (SDAM spec), with
            # its own code, message and (if there) topologyVersion.
            concern = details.get("writeConcernError")
            source = concern if isinstance(concern, Mapping) else details
            tv_doc = source.get("topologyVersion", details.get("topologyVersion"))
            topology_version = TopologyVersion.from_document(tv_doc)
            # The server's own text, not str(exc) with the whole reply appended: the
            # legacy match by message must not find words in other fields.
            text = source.get("errmsg") or source.get("$err")
            if text:
                message = str(text)
        labels = frozenset(
            label
            for label in (OVERLOAD_LABEL, "RetryableError")
            if isinstance(exc, PyMongoError) and exc.has_error_label(label)
        )
        return cls(
            kind,
            generation,
            completed_handshake,
            max_wire_version,
            code=code,
            message=message,
            topology_version=topology_version,
            labels=labels,
            service_id=service_id,
        )


@dataclass(frozen=True, slots=True)
class ErrorOutcome:
    """What an error means for the topology and what the I/O layer must do about it.

    ``clear_pool`` (for ``service_id`` only, when set: load-balanced mode) with
    ``interrupt_in_use`` for in-use connections too; ``request_check`` wakes the
    server's monitor; ``cancel_check`` stops its in-flight check and closes the
    monitoring connection. ``reason`` says why, for logs and tests. Clear the pool
    while still holding the topology lock, as the spec requires.
    """

    topology: TopologyDescription
    reason: str
    marked_unknown: bool = False
    clear_pool: bool = False
    interrupt_in_use: bool = False
    service_id: Any = None
    request_check: bool = False
    cancel_check: bool = False


def _mark_unknown(
    topology: TopologyDescription, address: Address, error: str, tv: TopologyVersion | None = None
) -> TopologyDescription:
    return apply(topology, ServerDescription.unknown(address, error=error, topology_version=tv))


def apply_error(
    topology: TopologyDescription,
    address: Address,
    error: ApplicationError,
    pool_generation: int,
) -> ErrorOutcome:
    """Handle an application error on ``address`` (the spec's ``handleError``).

    ``pool_generation`` is the server's pool generation now (in load-balanced mode,
    the one for ``error.service_id``). Stale errors (an older generation, or a
    ``topologyVersion`` no newer than the server's) change nothing.

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),), replica_set_name="rs"))
    >>> td = apply(td, ServerDescription.from_hello(("a", 27017), {"ok": 1,
    ...     "isWritablePrimary": True, "setName": "rs", "hosts": ["a:27017"],
    ...     "maxWireVersion": 21}, 0.001))
    >>> err = ApplicationError(ErrorKind.NETWORK, generation=0, completed_handshake=True,
    ...                        max_wire_version=21, message="connection reset")
    >>> outcome = apply_error(td, ("a", 27017), err, pool_generation=0)
    >>> outcome.topology.topology_type.name, outcome.clear_pool, outcome.request_check
    ('ReplicaSetNoPrimary', True, False)
    >>> apply_error(td, ("a", 27017), err, pool_generation=1).reason
    'stale: the connection is from pool generation 0, the pool is at 1'
    """
    current = topology.servers.get(address)
    if current is None:
        return ErrorOutcome(topology, "ignored: the server is no longer in the topology")
    if error.generation < pool_generation:
        return ErrorOutcome(
            topology,
            f"stale: the connection is from pool generation {error.generation}, "
            f"the pool is at {pool_generation}",
        )
    if OVERLOAD_LABEL in error.labels:
        # Client backpressure: the server shed the connection; it is up, and clearing
        # the pool would only make things worse.
        return ErrorOutcome(topology, "ignored: an overload error (SystemOverloadedError)")
    load_balanced = topology.topology_type is TopologyType.LoadBalanced
    text = error.message or error.kind.value
    if error.is_state_change:
        if compare_topology_versions(current.topology_version, error.topology_version) >= 0:
            return ErrorOutcome(topology, "stale: the error's topologyVersion is not newer")
        new = (
            topology
            if load_balanced
            else _mark_unknown(topology, address, text, error.topology_version)
        )
        # Servers before 4.2 close every connection on a state change, and a shutting
        # down server is about to.
        old_server = error.max_wire_version is None or error.max_wire_version < _WIRE_VERSION_42
        return ErrorOutcome(
            new,
            "a state change error (not writable primary / node is recovering)",
            marked_unknown=not load_balanced,
            clear_pool=error.is_shutdown or old_server,
            service_id=error.service_id if load_balanced else None,
            request_check=True,
        )
    before_handshake = not error.completed_handshake
    if error.kind is ErrorKind.NETWORK or (
        before_handshake and error.kind in (ErrorKind.TIMEOUT, ErrorKind.COMMAND)
    ):
        # A network error, or a timeout or command (e.g. authentication) error while
        # connecting. No immediate check: the server most likely just went away.
        if load_balanced:
            return ErrorOutcome(
                topology,
                "a network or handshake error (load balanced: the server stays)",
                clear_pool=error.service_id is not None,
                service_id=error.service_id,
                cancel_check=False,
            )
        return ErrorOutcome(
            _mark_unknown(topology, address, text),
            "a network error, or an error before the handshake completed",
            marked_unknown=True,
            clear_pool=True,
            cancel_check=True,
        )
    return ErrorOutcome(topology, f"ignored: a {error.kind.value} error after the handshake")


def apply_check_failure(
    topology: TopologyDescription, address: Address, error: str, *, timeout: bool
) -> ErrorOutcome:
    """A monitor's check failed: the server becomes Unknown and its pool is cleared.

    After a network timeout the in-use connections are interrupted too (the server
    monitoring spec's ``interruptInUseConnections``).

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),)))
    >>> apply_check_failure(td, ("a", 27017), "timed out", timeout=True).interrupt_in_use
    True
    """
    return ErrorOutcome(
        _mark_unknown(topology, address, error),
        "the server check failed",
        marked_unknown=True,
        clear_pool=True,
        interrupt_in_use=timeout,
    )


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class TopologyOpening:
    """The client began monitoring (``TopologyOpeningEvent``)."""


@dataclass(frozen=True, slots=True)
class TopologyClosed:
    """The client stopped monitoring (``TopologyClosedEvent``)."""


@dataclass(frozen=True, slots=True)
class TopologyDescriptionChanged:
    """The topology changed (``TopologyDescriptionChangedEvent``)."""

    previous: TopologyDescription
    new: TopologyDescription


@dataclass(frozen=True, slots=True)
class ServerOpening:
    """A server was added to the topology (``ServerOpeningEvent``)."""

    address: Address


@dataclass(frozen=True, slots=True)
class ServerClosed:
    """A server was removed from the topology (``ServerClosedEvent``)."""

    address: Address


@dataclass(frozen=True, slots=True)
class ServerDescriptionChanged:
    """A server's description changed (``ServerDescriptionChangedEvent``)."""

    address: Address
    previous: ServerDescription = field(repr=False)
    new: ServerDescription


SdamEvent = (
    TopologyOpening
    | TopologyClosed
    | TopologyDescriptionChanged
    | ServerOpening
    | ServerClosed
    | ServerDescriptionChanged
)


def _possible_primary_flip(old: ServerDescription, new: ServerDescription) -> bool:
    # Unknown <-> PossiblePrimary is a hint for the scan order, not news about the
    # server, so it publishes no event of its own.
    types = {old.server_type, new.server_type}
    if types != {ServerType.Unknown, ServerType.PossiblePrimary}:
        return False
    return replace(old, server_type=ServerType.Unknown) == replace(
        new, server_type=ServerType.Unknown
    )


def events_between(old: TopologyDescription, new: TopologyDescription) -> list[SdamEvent]:
    """The events that turning ``old`` into ``new`` publishes, in the spec's order:
    server description changes, servers opened, servers closed, then the topology
    change. Equal descriptions (under the spec's equality) publish nothing.

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),), direct_connection=True))
    >>> sd = ServerDescription.from_hello(("a", 27017), {"ok": 1, "maxWireVersion": 21}, 0.001)
    >>> [type(e).__name__ for e in events_between(td, apply(td, sd))]
    ['ServerDescriptionChanged', 'TopologyDescriptionChanged']
    """
    events: list[SdamEvent] = []
    for address, sd in new.servers.items():
        previous = old.servers.get(address)
        if previous is not None and previous != sd and not _possible_primary_flip(previous, sd):
            events.append(ServerDescriptionChanged(address, previous, sd))
    events.extend(ServerOpening(address) for address in new.servers if address not in old.servers)
    events.extend(ServerClosed(address) for address in old.servers if address not in new.servers)
    if old != new:
        events.append(TopologyDescriptionChanged(old, new))
    return events


def opening_events(topology: TopologyDescription) -> list[SdamEvent]:
    """The events of opening a client with ``topology`` as its initial description.

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),)))
    >>> [type(e).__name__ for e in opening_events(td)]
    ['TopologyOpening', 'TopologyDescriptionChanged', 'ServerOpening']
    """
    empty = TopologyDescription(TopologyType.Unknown, {}, topology.settings)
    return [
        TopologyOpening(),
        TopologyDescriptionChanged(empty, topology),
        *(ServerOpening(address) for address in topology.servers),
    ]


def closing_events(topology: TopologyDescription) -> list[SdamEvent]:
    """The events of closing a client: every server closed, the topology emptied,
    then TopologyClosed.

    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),)))
    >>> [type(e).__name__ for e in closing_events(td)]
    ['ServerClosed', 'TopologyDescriptionChanged', 'TopologyClosed']
    """
    return [*events_between(topology, closed_topology(topology)), TopologyClosed()]
