"""Server selection beyond the spec files: direct connections, load balancers, the
application's server selector, incompatible servers, staleness without lastWrite
data, the latency window's edges and the power-of-two-choices draw."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from driver.errors import ConfigurationError
from driver.protocol.sdam import (
    Address,
    ServerDescription,
    ServerType,
    TopologyDescription,
    TopologySettings,
    TopologyType,
    apply,
    initial_topology,
)
from driver.protocol.selection import (
    check_max_staleness,
    moving_average_rtt,
    pick_by_operation_count,
    select_server,
    select_servers,
    staleness,
    suitable_servers,
    within_latency_window,
)
from driver.read_preferences import Nearest, Primary, Secondary, SecondaryPreferred

A: Address = ("a", 27017)
B: Address = ("b", 27017)
C: Address = ("c", 27017)


def server(
    address: Address, kind: ServerType, rtt: float = 0.005, **fields: object
) -> ServerDescription:
    return ServerDescription(address, kind, round_trip_time=rtt, **fields)  # type: ignore[arg-type]


def topology(
    kind: TopologyType, *servers: ServerDescription, heartbeat: float = 10.0
) -> TopologyDescription:
    settings = TopologySettings(
        seeds=tuple(sd.address for sd in servers), heartbeat_frequency=heartbeat
    )
    return TopologyDescription(kind, {sd.address: sd for sd in servers}, settings)


def test_a_direct_connection_selects_any_reachable_server_for_anything() -> None:
    td = initial_topology(TopologySettings(seeds=(A,), direct_connection=True))
    assert select_server(td) is None  # not checked yet
    reply = {"ok": 1, "secondary": True, "setName": "rs", "maxWireVersion": 21}
    td = apply(td, ServerDescription.from_hello(A, reply, 0.001))
    chosen = select_server(td)  # a write: the server refuses it itself if it must
    assert chosen is not None and chosen.address == A


def test_a_load_balancer_takes_reads_and_writes() -> None:
    td = initial_topology(TopologySettings(seeds=(A,), load_balanced=True))
    td = apply(td, ServerDescription.load_balancer(A))
    for preference in (None, Secondary([{"dc": "ny"}])):
        chosen = select_server(td, preference)
        assert chosen is not None and chosen.server_type is ServerType.LoadBalancer


def test_mongos_reads_ignore_the_mode_and_tags() -> None:
    td = topology(TopologyType.Sharded, server(A, ServerType.Mongos), server(B, ServerType.Unknown))
    assert [sd.address for sd in suitable_servers(td, Secondary([{"dc": "nowhere"}]))] == [A]


def test_the_application_selector_filters_suitable_servers() -> None:
    td = topology(TopologyType.Sharded, server(A, ServerType.Mongos), server(B, ServerType.Mongos))

    def last_one(servers: list[ServerDescription]) -> Sequence[ServerDescription]:
        return servers[-1:]

    assert [sd.address for sd in select_servers(td, server_selector=last_one)] == [B]


def test_an_incompatible_server_fails_selection() -> None:
    td = topology(
        TopologyType.Sharded, server(A, ServerType.Mongos, min_wire_version=0, max_wire_version=4)
    )
    with pytest.raises(ConfigurationError, match="requires at least 6"):
        select_server(td)


def test_max_staleness_is_checked_only_for_replica_sets() -> None:
    rs = topology(
        TopologyType.ReplicaSetNoPrimary, server(A, ServerType.RSSecondary), heartbeat=100.0
    )
    with pytest.raises(ConfigurationError, match=r"110 s\), got 100"):
        check_max_staleness(Nearest(max_staleness=100), rs)
    check_max_staleness(Nearest(max_staleness=110), rs)
    check_max_staleness(Nearest(max_staleness=1), topology(TopologyType.Sharded))


def test_secondaries_without_write_dates_are_not_fresh_enough() -> None:
    td = topology(
        TopologyType.ReplicaSetWithPrimary,
        server(A, ServerType.RSPrimary, last_update_time=10.0, last_write_date=5.0),
        server(B, ServerType.RSSecondary, last_update_time=10.0, last_write_date=5.0),
        server(C, ServerType.RSSecondary, last_update_time=10.0),
    )
    assert staleness(td.servers[B], td) == 10.0  # the heartbeat interval
    assert staleness(td.servers[C], td) is None
    assert staleness(td.servers[A], td) == 0.0
    found = suitable_servers(td, Secondary(max_staleness=90))
    assert [sd.address for sd in found] == [B]
    # With no secondary fresh enough, secondaryPreferred falls back to the primary.
    none_fresh = suitable_servers(td, SecondaryPreferred([{"dc": "x"}], max_staleness=90))
    assert [sd.address for sd in none_fresh] == [A]


def test_no_primary_staleness_is_measured_against_the_newest_secondary() -> None:
    td = topology(
        TopologyType.ReplicaSetNoPrimary,
        server(A, ServerType.RSSecondary, last_write_date=100.0),
        server(B, ServerType.RSSecondary, last_write_date=20.0),
    )
    assert staleness(td.servers[A], td) == 10.0
    assert staleness(td.servers[B], td) == 90.0


def test_writes_and_primary_reads_need_the_primary() -> None:
    td = topology(TopologyType.ReplicaSetNoPrimary, server(A, ServerType.RSSecondary))
    assert select_server(td) is None and select_server(td, Primary()) is None
    assert select_server(td, Nearest()) is not None


def test_latency_window_edges() -> None:
    servers = [
        server(A, ServerType.Mongos, rtt=0.005),
        server(B, ServerType.Mongos, rtt=0.020),
        server(C, ServerType.Mongos, rtt=0.020001),
    ]
    assert [sd.address for sd in within_latency_window(servers, 0.015)] == [A, B]
    assert [sd.address for sd in within_latency_window(servers, 0.0)] == [A]
    assert within_latency_window([], 0.015) == []
    unmeasured = server(A, ServerType.LoadBalancer, rtt=0.0)
    assert within_latency_window([unmeasured], 0.0) == [unmeasured]


def test_power_of_two_choices_prefers_the_idler_server() -> None:
    a, b = server(A, ServerType.Mongos), server(B, ServerType.Mongos)
    counts = {A: 3, B: 1}

    def in_order(population: Sequence[ServerDescription], k: int) -> list[ServerDescription]:
        return list(population[:k])

    assert pick_by_operation_count([a, b], counts, in_order).address == B
    assert pick_by_operation_count([a, b], {}, in_order).address == A  # a tie: first drawn
    assert pick_by_operation_count([a], counts).address == A
    with pytest.raises(ValueError, match="no server"):
        pick_by_operation_count([], counts)
    rng = random.Random(7)
    picks = {pick_by_operation_count([a, b], {}, rng.sample).address for _ in range(50)}
    assert picks == {A, B}


def test_rtt_average_refuses_negative_samples() -> None:
    assert moving_average_rtt(0.0, 5.0) == 1.0
    with pytest.raises(ValueError, match="negative"):
        moving_average_rtt(1.0, -0.1)
