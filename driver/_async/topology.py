"""The client's view of its deployment: servers, their monitors and pools, selection.

The decisions are pure (:mod:`driver.protocol.sdam` and
:mod:`driver.protocol.selection`); this shell holds the current
:class:`~driver.protocol.descriptions.TopologyDescription` under a lock and acts on it:

- one :class:`~driver._async.monitor.AsyncServerMonitor` and one
  :class:`~driver._async.pool.AsyncPool` per server, added and removed as the
  description changes;
- a monitor's result is applied with :func:`~driver.protocol.sdam.update` (a failed check
  with :func:`~driver.protocol.sdam.apply_check_failure`); pools are marked ready when
  their server is found usable and cleared when it is lost; demoted primaries are
  checked again at once;
- application errors go through :func:`~driver.protocol.sdam.apply_error`;
- selection waits on a condition (no busy loop) until a suitable server appears or
  ``serverSelectionTimeoutMS`` passes, asking every monitor for a check meanwhile; the
  timeout error shows the topology as last seen;
- topology and server events go to the client's listeners.

Example (needs a deployment)::

    topology = AsyncTopology(settings, ConnectionSettings(), PoolOptions(), server_selection_timeout=30)
    server = await topology.select_server(ReadPreference.SECONDARY_PREFERRED)
    async with server.pool.connection() as conn:
        ...
    await topology.close()
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from driver import monitoring as m
from driver._async.connection import Address, ConnectionSettings, format_address
from driver._async.monitor import AsyncServerMonitor
from driver._async.pool import AsyncPool, PoolOptions
from driver._backends.asyncio import Condition, Event, Lock, monotonic, resolve_srv, spawn
from driver.bson import ObjectId
from driver.errors import (
    AutoReconnect,
    InvalidOperation,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)
from driver.protocol.descriptions import (
    ServerDescription,
    TopologyDescription,
    TopologySettings,
    TopologyType,
    closed_topology,
    initial_topology,
)
from driver.protocol.sdam import (
    ApplicationError,
    SdamEvent,
    ServerClosed,
    ServerDescriptionChanged,
    ServerOpening,
    TopologyClosed,
    TopologyDescriptionChanged,
    TopologyOpening,
    apply_check_failure,
    apply_error,
    closing_events,
    events_between,
    opening_events,
    pool_should_be_ready,
    update,
    with_srv_hosts,
)
from driver.protocol.selection import (
    pick_by_operation_count,
    read_preference_field,
    select_servers,
)
from driver.srv import DEFAULT_DNS_TIMEOUT, SrvResolver, polled_hosts

__all__ = ["AsyncServer", "AsyncTopology", "SrvPolling"]

_log = logging.getLogger("driver.topology")

# Servers before MongoDB 4.2 close every connection when they step down.
_WIRE_VERSION_42 = 8


@dataclass(eq=False)
class AsyncServer:
    """One server of the topology: its pool, and the monitor that checks it."""

    address: Address
    pool: AsyncPool
    monitor: AsyncServerMonitor | None  # None behind a load balancer: nothing to check
    operation_count: int = 0  # operations selected and not yet done (for selection)


@dataclass(frozen=True)
class SrvPolling:
    """Re-reading a ``mongodb+srv://`` name's SRV records to follow mongos coming and
    going (the polling-srv-records spec): every ``interval`` seconds while the topology
    is Sharded or Unknown. ``resolver`` replaces DNS (a stub in tests)."""

    fqdn: str
    service_name: str = "mongodb"
    max_hosts: int = 0
    interval: float = 60.0
    timeout: float | None = DEFAULT_DNS_TIMEOUT
    resolver: SrvResolver | None = None

    @property
    def srv_name(self) -> str:
        return f"_{self.service_name}._tcp.{self.fqdn}"


def public_event(event: SdamEvent, topology_id: Any) -> object:
    """The :mod:`driver.monitoring` event for a pure SDAM event of one topology."""
    if isinstance(event, TopologyOpening):
        return m.TopologyOpenedEvent(topology_id)
    if isinstance(event, TopologyClosed):
        return m.TopologyClosedEvent(topology_id)
    if isinstance(event, TopologyDescriptionChanged):
        return m.TopologyDescriptionChangedEvent(event.previous, event.new, topology_id)
    if isinstance(event, ServerOpening):
        return m.ServerOpeningEvent(event.address, topology_id)
    if isinstance(event, ServerClosed):
        return m.ServerClosedEvent(event.address, topology_id)
    assert isinstance(event, ServerDescriptionChanged)
    return m.ServerDescriptionChangedEvent(event.previous, event.new, event.address, topology_id)


class AsyncTopology:
    """Servers, monitors and pools of one client, and server selection over them."""

    def __init__(
        self,
        settings: TopologySettings,
        connection_settings: ConnectionSettings,
        pool_options: PoolOptions,
        *,
        server_selection_timeout: float = 30.0,
        listeners: Iterable[object] = (),
        monitoring_mode: str = "auto",
        srv_polling: SrvPolling | None = None,
    ) -> None:
        self.settings = settings
        self.connection_settings = connection_settings
        self.pool_options = pool_options
        self.server_selection_timeout = server_selection_timeout
        self.monitoring_mode = monitoring_mode
        self.srv_polling = srv_polling
        self._stopped = Event()
        self.topology_id = ObjectId()
        self._listeners = tuple(listeners)
        self._sdam_listeners = m.listeners_of((m.TopologyListener, m.ServerListener), listeners)
        self._pool_listeners = m.listeners_of(m.ConnectionPoolListener, listeners)
        self._description = initial_topology(settings)
        self._windows: tuple[
            TopologyDescription | None, dict[int, tuple[Any, list[ServerDescription]]]
        ] = (
            None,
            {},
        )
        self._servers: dict[Address, AsyncServer] = {}
        self._lock = Lock()
        self._changed = Condition(self._lock)
        self._opened = False
        self._closed = False
        self._pid = os.getpid()

    def _after_fork(self) -> None:
        # A forked child has none of the parent's monitor threads, and the lock may have
        # been held by one of them at the fork: make the lock anew, restart monitors.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = Lock()
            self._changed = Condition(self._lock)
            for server in self._servers.values():
                if server.monitor is not None:
                    server.monitor.start()

    @property
    def description(self) -> TopologyDescription:
        """The topology as last seen (an immutable value)."""
        return self._description

    def server(self, address: Address) -> AsyncServer | None:
        """The server at ``address``, if it is part of the topology."""
        return self._servers.get(address)

    # -- events

    def _publish(self, events: Iterable[SdamEvent]) -> None:
        if self._sdam_listeners:
            for event in events:
                m.publish(self._sdam_listeners, public_event(event, self.topology_id))

    # -- opening, and keeping the servers in step with the description

    async def open(self) -> None:
        """Start monitoring (done by the first selection; calling it again, or after
        close(), does nothing)."""
        async with self._lock:
            if not self._closed:
                await self._open_locked()

    async def _open_locked(self) -> None:
        if self._opened:
            return
        if self._closed:
            raise InvalidOperation("cannot use a closed client")
        self._opened = True
        self._publish(opening_events(self._description))
        if self._description.topology_type is TopologyType.LoadBalanced:
            # Nothing to monitor: the load balancer is the server, usable at once.
            (address,) = self._description.servers
            await self._install(
                update(self._description, ServerDescription.load_balancer(address)).topology
            )
            await self._servers[address].pool.ready()
        else:
            await self._sync_servers()
        if self.srv_polling is not None and self._description.topology_type in _SRV_POLLED:
            spawn(_poll_srv, weakref.ref(self), name=f"srv polling {self.srv_polling.fqdn}")

    async def _lookup_srv(self) -> list[tuple[str, int]]:
        polling = self.srv_polling
        assert polling is not None
        if polling.resolver is not None:
            return polling.resolver.resolve_srv(polling.srv_name)
        return await resolve_srv(polling.srv_name, polling.timeout)

    async def _apply_srv(self, records: list[tuple[str, int]]) -> None:
        polling = self.srv_polling
        assert polling is not None
        async with self._lock:
            if self._closed:
                return
            hosts = polled_hosts(
                polling.fqdn, list(self._description.servers), records, max_hosts=polling.max_hosts
            )
            if hosts is not None:
                await self._install(with_srv_hosts(self._description, hosts))

    async def _install(self, new: TopologyDescription) -> None:
        """Make ``new`` current (lock held): events, servers added or removed, waiters woken."""
        old = self._description
        if new is old:
            return
        self._description = new
        self._publish(events_between(old, new))
        await self._sync_servers()
        self._changed.notify_all()

    async def _sync_servers(self) -> None:
        wanted = self._description.servers
        for address in [a for a in self._servers if a not in wanted]:
            gone = self._servers.pop(address)
            if gone.monitor is not None:
                await gone.monitor.close()
            await gone.pool.close()
        for address in wanted:
            if address not in self._servers:
                self._servers[address] = self._new_server(address)

    def _new_server(self, address: Address) -> AsyncServer:
        pool = AsyncPool(
            address,
            self.connection_settings,
            self.pool_options,
            listeners=self._pool_listeners,
        )
        monitor = None
        if self._description.topology_type is not TopologyType.LoadBalanced:
            monitor = AsyncServerMonitor(
                address,
                self.connection_settings,
                self._on_check,
                heartbeat_frequency=self.settings.heartbeat_frequency,
                listeners=self._listeners,
                mode=self.monitoring_mode,
            )
            monitor.start()
        return AsyncServer(address, pool, monitor)

    async def _on_check(self, sd: ServerDescription, error: BaseException | None) -> None:
        """A monitor's result: apply it, and ready or clear the server's pool."""
        async with self._lock:
            server = self._servers.get(sd.address)
            if self._closed or server is None:
                return
            if error is not None:
                outcome = apply_check_failure(
                    self._description,
                    sd.address,
                    sd.error or str(error),
                    timeout=isinstance(error, NetworkTimeout),
                )
                await server.pool.clear(interrupt_in_use_connections=outcome.interrupt_in_use)
                await self._install(outcome.topology)
                return
            result = update(self._description, sd)
            if sd.address in result.topology.servers and pool_should_be_ready(
                result.topology, sd
            ):
                await server.pool.ready()
            for stale in result.stale_primaries:
                demoted = self._servers.get(stale.address)
                if demoted is None:
                    continue
                if demoted.monitor is not None:
                    demoted.monitor.request_check()
                if (stale.max_wire_version or 0) < _WIRE_VERSION_42:
                    await demoted.pool.clear()
            await self._install(result.topology)

    # -- application errors

    async def handle_error(
        self,
        address: Address,
        error: BaseException,
        *,
        generation: int,
        completed_handshake: bool,
        max_wire_version: int | None,
        service_id: Any = None,
    ) -> None:
        """An operation on ``address`` failed: update the topology and pool as SDAM says."""
        classified = ApplicationError.from_exception(
            error,
            generation=generation,
            completed_handshake=completed_handshake,
            max_wire_version=max_wire_version,
            service_id=service_id,
        )
        if classified is None:
            return
        async with self._lock:
            server = self._servers.get(address)
            if self._closed or server is None:
                return
            outcome = apply_error(self._description, address, classified, server.pool.generation)
            if outcome.clear_pool:
                await server.pool.clear(
                    interrupt_in_use_connections=outcome.interrupt_in_use,
                    service_id=outcome.service_id,
                )
            await self._install(outcome.topology)
            if server.monitor is not None:
                if outcome.cancel_check:
                    server.monitor.cancel_check()
                if outcome.request_check:
                    server.monitor.request_check()

    # -- selection

    async def select_server(
        self,
        read_preference: Any = None,
        *,
        deprioritized: Iterable[Address] = (),
        timeout: float | None = None,
        address: Address | None = None,
    ) -> AsyncServer:
        """A server for an operation: ``read_preference=None`` means a write.

        Waits for the topology to change until ``timeout`` (default:
        ``serverSelectionTimeoutMS``), then raises ServerSelectionTimeoutError showing
        the topology as last seen. An incompatible server raises ConfigurationError.
        The caller calls :meth:`done` when the operation ends, whatever its outcome:
        selection prefers the less busy of two servers in the latency window.
        ``address`` asks for that server and no other (a cursor's ``getMore``):
        AutoReconnect if it has left the topology.
        """
        if timeout is None:
            timeout = self.server_selection_timeout
        deadline = monotonic() + timeout
        avoid = tuple(deprioritized)
        self._after_fork()
        async with self._lock:
            await self._open_locked()
            if address is not None:
                pinned = self._servers.get(address)
                if pinned is None:
                    raise AutoReconnect(
                        f"{format_address(address)} is no longer part of the deployment"
                    )
                pinned.operation_count += 1
                return pinned
            while True:
                if self._closed:
                    raise InvalidOperation("cannot use a closed client")
                description = self._description
                found = self._select_cached(description, read_preference, avoid)
                if found is not None and found.address in self._servers:
                    chosen = self._servers[found.address]
                    chosen.operation_count += 1  # until done(): see select_server's caller
                    return chosen
                for server in self._servers.values():
                    if server.monitor is not None:
                        server.monitor.request_check()
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise ServerSelectionTimeoutError(
                        _timeout_message(description, read_preference, timeout)
                    )
                await self._changed.wait(remaining)

    def _select_cached(
        self, description: TopologyDescription, read_preference: Any, avoid: tuple[Address, ...]
    ) -> ServerDescription | None:
        # Selection is a pure function of the (immutable) description and the read
        # preference; only the two-choices draw among several suitable servers depends
        # on the operation counts. Keep the window of suitable servers until the
        # description changes: most operations then skip the selection rules.
        if avoid:
            window = select_servers(description, read_preference, deprioritized=avoid)
        else:
            cache = self._windows
            if cache[0] is not description:
                cache = self._windows = (description, {})
            # By identity (a collection's read preference is one object), keeping the
            # object alive so that its id is not reused; hashing one costs more.
            entry = cache[1].get(id(read_preference))
            if entry is not None and entry[0] is read_preference:
                window = entry[1]
            else:
                window = select_servers(description, read_preference)
                if len(cache[1]) < 64:
                    cache[1][id(read_preference)] = (read_preference, window)
        if not window:
            return None
        if len(window) == 1:
            return window[0]
        counts = {address: s.operation_count for address, s in self._servers.items()}
        return pick_by_operation_count(window, counts)

    async def done(self, server: AsyncServer) -> None:
        """The operation that selected ``server`` ended."""
        async with self._lock:
            server.operation_count -= 1

    def read_preference_field(self, server: AsyncServer, read_preference: Any) -> Any:
        """The ``$readPreference`` for a command sent to ``server`` (or None)."""
        description = self._description
        current = description.servers.get(server.address)
        if current is None:
            return None
        return read_preference_field(
            description.topology_type, current.server_type, read_preference
        )

    # -- closing

    async def close(self) -> None:
        """Stop every monitor and close every pool (idempotent)."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stopped.set()
            servers = list(self._servers.values())
            self._servers.clear()
            old = self._description
            self._description = closed_topology(old)
            self._changed.notify_all()
        for server in servers:
            if server.monitor is not None:
                await server.monitor.close()
            await server.pool.close()
        if self._opened:
            self._publish(closing_events(old))


_SRV_POLLED = (TopologyType.Sharded, TopologyType.Unknown)


async def _poll_srv(ref: weakref.ref[AsyncTopology]) -> None:
    """Re-read the SRV records every interval; holds the topology only weakly."""
    while True:
        topology = ref()
        if topology is None or topology.srv_polling is None:
            return
        stopped, interval = topology._stopped, topology.srv_polling.interval
        del topology
        if await stopped.wait(interval):
            return  # closed
        topology = ref()
        if topology is None or topology.description.topology_type not in _SRV_POLLED:
            return  # a replica set or a load balancer after all: nothing to poll
        try:
            records = await topology._lookup_srv()
        except Exception as exc:  # DNS trouble keeps the hosts the client has
            _log.warning("re-reading the SRV records failed: %s", exc)
            continue
        await topology._apply_srv(records)
        del topology


def _timeout_message(description: TopologyDescription, read_preference: Any, timeout: float) -> str:
    wanted = "a writable server" if read_preference is None else f"a server for {read_preference!r}"
    errors = [
        f"{format_address(sd.address)}: {sd.error}"
        for sd in description.servers.values()
        if sd.error
    ]
    reasons = "; ".join(errors) or "no suitable server"
    return f"{reasons}, Timeout: {timeout}s, wanted {wanted}, Topology Description: {description!r}"
