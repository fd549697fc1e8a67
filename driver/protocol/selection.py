"""Server selection, pure: which server of a TopologyDescription an operation goes to.

The Server Selection and Max Staleness specs as functions:

- :func:`suitable_servers` by topology type and operation: a write (no read
  preference) needs the primary, a standalone, a mongos or the load balancer; a read
  follows the mode (``primary``, ``primaryPreferred``, ``secondary``,
  ``secondaryPreferred``, ``nearest``), then ``maxStalenessSeconds``, then the tag
  sets. Deprioritized servers (the ones a retry just failed on) are left out unless
  nothing else is suitable.
- :func:`within_latency_window`: the suitable servers whose average RTT is within
  ``localThresholdMS`` of the fastest.
- :func:`pick_by_operation_count`: of two servers drawn at random, the one running
  fewer operations (the random draw is a parameter, for tests).
- :func:`select_server`: all of the above, plus the compatibility and
  ``maxStalenessSeconds`` checks; ``None`` means "wait for the topology to change".
- :func:`moving_average_rtt`: the RTT average the monitors keep.

Times are in seconds, as in :mod:`driver.protocol.sdam`.

Example::

    >>> from driver.protocol.sdam import ServerDescription, TopologySettings, apply, initial_topology
    >>> from driver.read_preferences import Secondary
    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),), replica_set_name="rs"))
    >>> hosts = ["a:27017", "b:27017"]
    >>> td = apply(td, ServerDescription.from_hello(("a", 27017), {"ok": 1, "setName": "rs",
    ...     "isWritablePrimary": True, "hosts": hosts, "maxWireVersion": 21}, 0.002))
    >>> td = apply(td, ServerDescription.from_hello(("b", 27017), {"ok": 1, "setName": "rs",
    ...     "secondary": True, "hosts": hosts, "maxWireVersion": 21}, 0.003))
    >>> select_server(td).address, select_server(td, Secondary()).address
    (('a', 27017), ('b', 27017))
    >>> select_server(td, Secondary(), deprioritized={("b", 27017)}).address
    ('b', 27017)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from driver.errors import ConfigurationError
from driver.protocol.descriptions import (
    Address,
    ServerDescription,
    ServerType,
    TopologyDescription,
    TopologyType,
)
from driver.read_preferences import _ServerMode as ReadPreferenceMode

__all__ = [
    "IDLE_WRITE_PERIOD",
    "RTT_ALPHA",
    "SMALLEST_MAX_STALENESS",
    "ServerSelector",
    "check_max_staleness",
    "moving_average_rtt",
    "pick_by_operation_count",
    "read_preference_field",
    "select_server",
    "select_servers",
    "staleness",
    "suitable_servers",
    "within_latency_window",
]

RTT_ALPHA = 0.2  # weight of the newest sample in the RTT moving average
IDLE_WRITE_PERIOD = 10.0  # seconds between an idle primary's no-op writes
SMALLEST_MAX_STALENESS = 90  # seconds; the floor for maxStalenessSeconds

# Mode numbers of driver.read_preferences.
_PRIMARY, _PRIMARY_PREFERRED, _SECONDARY, _SECONDARY_PREFERRED, _NEAREST = range(5)

# An application-provided filter over the suitable servers (PyMongo's server_selector).
ServerSelector = Callable[[list[ServerDescription]], Sequence[ServerDescription]]

_T = TypeVar("_T")
Sample = Callable[[Sequence[_T], int], list[_T]]


def moving_average_rtt(previous: float | None, sample: float) -> float:
    """The new average round-trip time after a measurement (an EWMA, alpha 0.2).

    The first measurement (``previous`` is ``None``: the server was unknown) is the
    average. Units are the caller's.

    >>> moving_average_rtt(None, 10.0), moving_average_rtt(1.0, 1000.0)
    (10.0, 200.8)
    """
    if sample < 0:
        raise ValueError(f"a round-trip time cannot be negative, got {sample}")
    if previous is None:
        return sample
    return RTT_ALPHA * sample + (1 - RTT_ALPHA) * previous


def _microseconds(seconds: float) -> int:
    # Times come from millisecond sources; comparing whole microseconds keeps float
    # noise (0.1 + 0.2 style) from moving a server across a boundary.
    return round(seconds * 1_000_000)


# ---------------------------------------------------------------------------- staleness


def check_max_staleness(read_preference: ReadPreferenceMode, topology: TopologyDescription) -> None:
    """Refuse a ``maxStalenessSeconds`` too small for a replica set (ConfigurationError).

    It must be at least 90 seconds and at least ``heartbeatFrequencyMS`` plus the
    primary's idle write period (10 s). Other topologies do not check it.

    >>> from driver.protocol.sdam import TopologySettings, initial_topology
    >>> from driver.read_preferences import Nearest
    >>> td = initial_topology(TopologySettings(seeds=(("a", 27017),), replica_set_name="rs"))
    >>> check_max_staleness(Nearest(max_staleness=60), td)
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: maxStalenessSeconds must be at least 90 seconds (and at least heartbeatFrequencyMS + 10 s = 20 s), got 60
    """
    max_staleness = read_preference.max_staleness
    if max_staleness == -1 or topology.topology_type not in (
        TopologyType.ReplicaSetNoPrimary,
        TopologyType.ReplicaSetWithPrimary,
    ):
        return
    floor = topology.heartbeat_frequency + IDLE_WRITE_PERIOD
    if max_staleness < SMALLEST_MAX_STALENESS or max_staleness < floor:
        raise ConfigurationError(
            f"maxStalenessSeconds must be at least {SMALLEST_MAX_STALENESS} seconds (and at "
            f"least heartbeatFrequencyMS + {IDLE_WRITE_PERIOD:g} s = {floor:g} s), "
            f"got {max_staleness}"
        )


def staleness(server: ServerDescription, topology: TopologyDescription) -> float | None:
    """A secondary's estimated staleness in seconds (``None``: not enough data).

    With a primary P: ``(S.lastUpdateTime - S.lastWriteDate) - (P.lastUpdateTime -
    P.lastWriteDate) + heartbeatFrequency``; without one, against the secondary with
    the newest write: ``SMax.lastWriteDate - S.lastWriteDate + heartbeatFrequency``.
    Other server types are never stale (0).
    """
    if server.server_type is not ServerType.RSSecondary:
        return 0.0
    heartbeat = topology.heartbeat_frequency
    primary = topology.primary
    if primary is not None:
        times = (
            server.last_update_time,
            server.last_write_date,
            primary.last_update_time,
            primary.last_write_date,
        )
        if any(value is None for value in times):
            return None
        s_update, s_write, p_update, p_write = (float(value or 0.0) for value in times)
        return (s_update - s_write) - (p_update - p_write) + heartbeat
    writes = [
        sd.last_write_date
        for sd in topology.servers.values()
        if sd.server_type is ServerType.RSSecondary and sd.last_write_date is not None
    ]
    if server.last_write_date is None or not writes:
        return None
    return max(writes) - server.last_write_date + heartbeat


def _fresh(
    servers: list[ServerDescription], topology: TopologyDescription, max_staleness: int
) -> list[ServerDescription]:
    if max_staleness == -1:
        return servers
    limit = _microseconds(max_staleness)
    fresh = []
    for sd in servers:
        estimate = staleness(sd, topology)
        # Without lastWrite data freshness cannot be shown, so such a secondary is
        # left out rather than risk a read older than the user allows.
        if estimate is not None and _microseconds(estimate) <= limit:
            fresh.append(sd)
    return fresh


def _matching_tags(
    servers: list[ServerDescription], tag_sets: Sequence[Mapping[str, str]]
) -> list[ServerDescription]:
    if not tag_sets:
        return servers
    for tag_set in tag_sets:  # the first tag set that matches anything wins
        matched = [
            sd for sd in servers if all(sd.tags.get(key) == value for key, value in tag_set.items())
        ]
        if matched:
            return matched
    return []


# ---------------------------------------------------------------------------- suitability


def _eligible(
    servers: list[ServerDescription],
    topology: TopologyDescription,
    read_preference: ReadPreferenceMode,
) -> list[ServerDescription]:
    # maxStalenessSeconds first, then tags: the spec's order, so a stale member that
    # matches the first tag set does not hide fresh ones matching the second.
    fresh = _fresh(servers, topology, read_preference.max_staleness)
    return _matching_tags(fresh, read_preference.tag_sets)


def _suitable(
    servers: list[ServerDescription],
    topology: TopologyDescription,
    read_preference: ReadPreferenceMode | None,
) -> list[ServerDescription]:
    kind = topology.topology_type
    if kind is TopologyType.Unknown:
        return []
    if kind in (TopologyType.Single, TopologyType.LoadBalanced):
        # A direct connection takes any reachable server; the read preference only
        # travels with the command.
        return [sd for sd in servers if sd.is_available]
    if kind is TopologyType.Sharded:
        return [sd for sd in servers if sd.server_type is ServerType.Mongos]
    primaries = [sd for sd in servers if sd.server_type is ServerType.RSPrimary]
    if read_preference is None:
        return primaries
    secondaries = [sd for sd in servers if sd.server_type is ServerType.RSSecondary]
    mode = read_preference.mode
    if mode == _PRIMARY:
        return primaries
    if mode == _NEAREST:
        return _eligible(primaries + secondaries, topology, read_preference)
    eligible = _eligible(secondaries, topology, read_preference)
    if mode == _PRIMARY_PREFERRED:
        return primaries or eligible
    if mode == _SECONDARY_PREFERRED:
        return eligible or primaries
    return eligible


def suitable_servers(
    topology: TopologyDescription,
    read_preference: ReadPreferenceMode | None = None,
    *,
    deprioritized: Collection[Address] = (),
) -> list[ServerDescription]:
    """The servers an operation may use; ``read_preference=None`` means a write.

    Deprioritized addresses are tried last: only when no other server is suitable
    does the search run again with them.

    >>> from driver.protocol.sdam import TopologySettings, initial_topology
    >>> suitable_servers(initial_topology(TopologySettings(seeds=(("a", 27017),))))
    []
    """
    servers = list(topology.servers.values())
    if deprioritized:
        preferred = [sd for sd in servers if sd.address not in deprioritized]
        found = _suitable(preferred, topology, read_preference)
        if found:
            return found
    return _suitable(servers, topology, read_preference)


def within_latency_window(
    servers: Sequence[ServerDescription], local_threshold: float
) -> list[ServerDescription]:
    """The servers whose average RTT is at most ``local_threshold`` seconds above the
    fastest one's. A server not measured yet (no RTT) counts as 0.

    >>> from driver.protocol.sdam import ServerDescription, ServerType
    >>> a, b = (ServerDescription((h, 27017), ServerType.Mongos, round_trip_time=t)
    ...         for h, t in (("a", 0.005), ("b", 0.030)))
    >>> [sd.address[0] for sd in within_latency_window([a, b], 0.015)]
    ['a']
    """
    if len(servers) <= 1:
        return list(servers)
    rtts = [_microseconds(sd.round_trip_time or 0.0) for sd in servers]
    limit = min(rtts) + _microseconds(local_threshold)
    return [sd for sd, rtt in zip(servers, rtts, strict=True) if rtt <= limit]


def pick_by_operation_count(
    servers: Sequence[ServerDescription],
    operation_counts: Mapping[Address, int],
    sample: Sample[ServerDescription] = random.sample,
) -> ServerDescription:
    """Of two servers drawn at random, the one with fewer operations in progress.

    ``sample(population, k)`` draws ``k`` distinct items, like :func:`random.sample`
    (pass a seeded ``random.Random().sample`` in tests). Ties go to the first drawn,
    which is itself random.

    >>> from driver.protocol.sdam import ServerDescription, ServerType
    >>> a, b = (ServerDescription((h, 27017), ServerType.Mongos) for h in "ab")
    >>> pick_by_operation_count([a, b], {("a", 27017): 5, ("b", 27017): 1}).address
    ('b', 27017)
    """
    if not servers:
        raise ValueError("no server to pick from")
    if len(servers) == 1:
        return servers[0]
    first, second = sample(servers, 2)
    first_count = operation_counts.get(first.address, 0)
    second_count = operation_counts.get(second.address, 0)
    return second if second_count < first_count else first


def select_servers(
    topology: TopologyDescription,
    read_preference: ReadPreferenceMode | None = None,
    *,
    deprioritized: Collection[Address] = (),
    server_selector: ServerSelector | None = None,
) -> list[ServerDescription]:
    """The suitable servers within the latency window: the candidates of one selection.

    Raises :class:`~driver.errors.ConfigurationError` when the topology holds a
    server whose wire versions we cannot speak, or when ``maxStalenessSeconds`` is
    too small for this replica set.
    """
    topology.check_compatible()
    if read_preference is not None:
        check_max_staleness(read_preference, topology)
    servers = suitable_servers(topology, read_preference, deprioritized=deprioritized)
    if server_selector is not None and servers:
        servers = list(server_selector(servers))
    return within_latency_window(servers, topology.settings.local_threshold)


def select_server(
    topology: TopologyDescription,
    read_preference: ReadPreferenceMode | None = None,
    *,
    deprioritized: Collection[Address] = (),
    server_selector: ServerSelector | None = None,
    operation_counts: Mapping[Address, int] | None = None,
    sample: Sample[ServerDescription] = random.sample,
) -> ServerDescription | None:
    """The server for one operation, or ``None`` when none is suitable yet.

    ``read_preference=None`` selects for a write. On ``None`` the caller requests
    an immediate check, waits for the topology to change and tries again, until
    ``serverSelectionTimeoutMS``. Errors as in :func:`select_servers`.
    """
    window = select_servers(
        topology, read_preference, deprioritized=deprioritized, server_selector=server_selector
    )
    if not window:
        return None
    return pick_by_operation_count(window, operation_counts or {}, sample)


def read_preference_field(
    topology_type: TopologyType,
    server_type: ServerType,
    read_preference: ReadPreferenceMode | None,
) -> dict[str, Any] | None:
    """The ``$readPreference`` an OP_MSG command carries to a selected server, or None.

    The server selection spec's rules: nothing for a primary read, a write or a
    standalone; for a direct connection to a replica set member, ``primaryPreferred``
    when the application asked for primary (so that any member may answer); otherwise
    the read preference document, also through mongos and load balancers.

    >>> from driver.read_preferences import Primary, SecondaryPreferred
    >>> read_preference_field(TopologyType.ReplicaSetWithPrimary, ServerType.RSSecondary,
    ...                       SecondaryPreferred())
    {'mode': 'secondaryPreferred'}
    >>> read_preference_field(TopologyType.Single, ServerType.RSSecondary, Primary())
    {'mode': 'primaryPreferred'}
    >>> read_preference_field(TopologyType.Single, ServerType.Standalone, SecondaryPreferred())
    """
    if server_type is ServerType.Standalone:
        return None
    is_primary = read_preference is None or read_preference.mongos_mode == "primary"
    if (
        topology_type is TopologyType.Single
        and server_type is not ServerType.Mongos
        and is_primary
    ):
        return {"mode": "primaryPreferred"}
    if is_primary or read_preference is None:
        return None
    return dict(read_preference.document)
