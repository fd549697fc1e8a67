"""SDAM beyond the spec files: hello parsing, settings validation, compatibility
messages, demoted primaries, application errors in every branch (load-balanced mode,
overload labels, handshake errors, driver exceptions), check failures and events."""

from __future__ import annotations

import datetime

import pytest

from driver.bson import ObjectId
from driver.errors import (
    AutoReconnect,
    ConfigurationError,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    WaitQueueTimeoutError,
    WriteConcernError,
)
from driver.protocol.sdam import (
    ApplicationError,
    ErrorKind,
    ServerClosed,
    ServerDescription,
    ServerDescriptionChanged,
    ServerType,
    TopologyClosed,
    TopologyDescription,
    TopologyDescriptionChanged,
    TopologySettings,
    TopologyType,
    TopologyVersion,
    apply,
    apply_check_failure,
    apply_error,
    closing_events,
    compare_topology_versions,
    events_between,
    format_address,
    initial_topology,
    parse_address,
    pool_should_be_ready,
    update,
)

A, B, C = ("a", 27017), ("b", 27017), ("c", 27017)
PID = ObjectId("000000000000000000000001")


def hello(address: tuple[str, int], **fields: object) -> ServerDescription:
    doc = {"ok": 1, "minWireVersion": 0, "maxWireVersion": 21, **fields}
    return ServerDescription.from_hello(address, doc, 0.005, last_update_time=1.0)


def primary(address: tuple[str, int], **fields: object) -> ServerDescription:
    fields.setdefault("hosts", ["a:27017", "b:27017"])
    return hello(address, isWritablePrimary=True, setName="rs", **fields)


def rs_with_primary() -> TopologyDescription:
    td = initial_topology(TopologySettings(seeds=(A, B), replica_set_name="rs"))
    return apply(td, primary(A))


# ---------------------------------------------------------------------------- descriptions


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"isWritablePrimary": True, "setName": "rs"}, ServerType.RSPrimary),
        ({"ismaster": True, "setName": "rs"}, ServerType.RSPrimary),  # legacy hello
        ({"secondary": True, "setName": "rs"}, ServerType.RSSecondary),
        ({"secondary": True, "hidden": True, "setName": "rs"}, ServerType.RSOther),
        ({"arbiterOnly": True, "setName": "rs"}, ServerType.RSArbiter),
        ({"setName": "rs"}, ServerType.RSOther),
        ({"isreplicaset": True}, ServerType.RSGhost),
        ({"msg": "isdbgrid"}, ServerType.Mongos),
        ({"isWritablePrimary": True}, ServerType.Standalone),
    ],
)
def test_server_type_from_hello(fields: dict[str, object], expected: ServerType) -> None:
    assert hello(A, **fields).server_type is expected


def test_a_reply_without_ok_is_unknown_with_the_server_message() -> None:
    sd = ServerDescription.from_hello(A, {"ok": 0, "errmsg": "not authorized"}, 0.001)
    assert sd.server_type is ServerType.Unknown and sd.error == "not authorized"
    assert sd.round_trip_time is None


def test_hello_fields_are_read_and_hosts_lowercased() -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    sd = hello(
        A,
        secondary=True,
        setName="rs",
        hosts=["A:27017", "[::1]:27018", "a:27017"],
        passives=["P:1"],
        arbiters=["arb"],
        me="A:27017",
        primary="B:27017",
        tags={"dc": "ny"},
        setVersion=3,
        electionId=PID,
        logicalSessionTimeoutMinutes=30,
        lastWrite={"lastWriteDate": when.replace(tzinfo=None)},  # naive UTC, as decoded
        topologyVersion={"processId": PID, "counter": 7},
    )
    assert sd.hosts == (("a", 27017), ("::1", 27018))
    assert sd.all_hosts == (("a", 27017), ("::1", 27018), ("p", 1), ("arb", 27017))
    assert (sd.me, sd.primary, sd.tags) == (A, B, {"dc": "ny"})
    assert (sd.set_version, sd.election_id, sd.logical_session_timeout_minutes) == (3, PID, 30)
    assert sd.last_write_date == when.timestamp()
    assert sd.topology_version == TopologyVersion(PID, 7)
    assert (sd.min_wire_version, sd.max_wire_version, sd.last_update_time) == (0, 21, 1.0)


def test_equality_ignores_rtt_and_update_time_but_not_the_error() -> None:
    first = hello(A, msg="isdbgrid")
    again = ServerDescription.from_hello(
        A,
        {"ok": 1, "msg": "isdbgrid", "minWireVersion": 0, "maxWireVersion": 21},
        0.9,
        last_update_time=99.0,
    )
    assert first == again and hash(first) == hash(again)
    assert ServerDescription.unknown(A, error="x") != ServerDescription.unknown(A, error="y")
    assert first != "a:27017"


def test_addresses_parse_and_format() -> None:
    for text in ("a:27017", "[::1]:27017", "/tmp/mongodb-27017.sock"):
        assert format_address(parse_address(text)) == text
    assert parse_address("host:notaport") == ("host:notaport", 27017)  # never raises


def test_topology_version_comparison() -> None:
    other = ObjectId("000000000000000000000002")
    assert compare_topology_versions(TopologyVersion(PID, 1), TopologyVersion(PID, 1)) == 0
    assert compare_topology_versions(TopologyVersion(PID, 1), TopologyVersion(PID, 2)) == -1
    assert compare_topology_versions(TopologyVersion(PID, 3), TopologyVersion(other, 1)) == -1
    assert compare_topology_versions(TopologyVersion(PID, 3), None) == -1
    assert TopologyVersion.from_document({"counter": 1}) is None


# ---------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seeds": (A, B), "direct_connection": True}, "exactly one seed"),
        ({"seeds": (A, B), "load_balanced": True}, "exactly one seed"),
        ({"seeds": (A,), "load_balanced": True, "replica_set_name": "rs"}, "replicaSet"),
        ({"seeds": (A,), "load_balanced": True, "direct_connection": True}, "directConnection"),
        ({"seeds": (A,), "heartbeat_frequency": 0.1}, "at least 500"),
        ({"seeds": (A,), "local_threshold": -1.0}, "localThresholdMS"),
    ],
)
def test_impossible_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TopologySettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, TopologyType.Unknown),
        ({"direct_connection": True}, TopologyType.Single),
        ({"direct_connection": True, "replica_set_name": "rs"}, TopologyType.Single),
        ({"replica_set_name": "rs"}, TopologyType.ReplicaSetNoPrimary),
        ({"load_balanced": True}, TopologyType.LoadBalanced),
    ],
)
def test_initial_topology_type(kwargs: dict[str, object], expected: TopologyType) -> None:
    td = initial_topology(TopologySettings(seeds=(A,), **kwargs))  # type: ignore[arg-type]
    assert td.topology_type is expected
    assert td.servers[A].server_type is ServerType.Unknown


def test_compatibility_errors_name_both_ranges() -> None:
    td = initial_topology(TopologySettings(seeds=(A,)))
    old = apply(td, hello(A, maxWireVersion=5))
    assert not old.compatible
    assert old.compatibility_error == (
        "Server at a:27017 reports wire version 5, but this version of Feldspar requires at "
        "least 6 (MongoDB 3.6 / Amazon DocumentDB 3.6) (the server speaks wire versions "
        "[0, 5], Feldspar speaks [6, 27])"
    )
    with pytest.raises(ConfigurationError, match="requires at least 6"):
        old.check_compatible()
    new = apply(td, hello(A, minWireVersion=99, maxWireVersion=100))
    assert "requires wire version 99" in (new.compatibility_error or "")
    assert "[99, 100]" in (new.compatibility_error or "")


def test_topology_facts() -> None:
    td = rs_with_primary()
    assert td.primary is not None and td.primary.address == A
    assert td.common_wire_version == 21
    assert td.has_server(B) and not td.has_server(C)
    assert "ReplicaSetWithPrimary" in repr(td)


def test_pymongo_names() -> None:
    td = rs_with_primary()
    assert (td.topology_type_name, td.replica_set_name) == ("ReplicaSetWithPrimary", "rs")
    assert set(td.server_descriptions()) == {A, B} and td.has_known_servers
    assert [sd.address for sd in td.known_servers] == [A]
    sd = td.servers[A]
    assert (sd.server_type_name, sd.replica_set_name) == ("RSPrimary", "rs")
    assert not sd.retryable_writes_supported  # no logicalSessionTimeoutMinutes
    assert primary(A, logicalSessionTimeoutMinutes=30).retryable_writes_supported
    assert ServerDescription.load_balancer(A).retryable_writes_supported
    assert not hello(A, logicalSessionTimeoutMinutes=30).retryable_writes_supported


# ---------------------------------------------------------------------------- updates


def test_a_new_primary_reports_the_one_it_demoted() -> None:
    td = initial_topology(TopologySettings(seeds=(A, B), replica_set_name="rs"))
    td = apply(td, primary(A, maxWireVersion=7))
    result = update(td, primary(B))
    assert [sd.address for sd in result.stale_primaries] == [A]
    assert result.stale_primaries[0].max_wire_version == 7  # old: clear its pool
    assert result.topology.servers[A].server_type is ServerType.Unknown
    events = events_between(td, result.topology)
    changed = [e.address for e in events if isinstance(e, ServerDescriptionChanged)]
    assert sorted(changed) == [A, B]


def test_replies_from_removed_servers_and_older_topology_versions_are_ignored() -> None:
    td = initial_topology(TopologySettings(seeds=(A,), direct_connection=True))
    assert apply(td, hello(B)) is td
    newer = apply(td, hello(A, topologyVersion={"processId": PID, "counter": 2}))
    older = hello(A, secondary=True, setName="rs", topologyVersion={"processId": PID, "counter": 1})
    assert apply(newer, older) is newer


def test_pool_readiness() -> None:
    single = initial_topology(TopologySettings(seeds=(A,), direct_connection=True))
    multi = initial_topology(TopologySettings(seeds=(A,)))
    arbiter = hello(A, arbiterOnly=True, setName="rs")
    assert pool_should_be_ready(single, arbiter) and not pool_should_be_ready(multi, arbiter)
    assert pool_should_be_ready(multi, hello(A, msg="isdbgrid"))
    assert not pool_should_be_ready(single, ServerDescription.unknown(A))


# ---------------------------------------------------------------------------- errors


def error(kind: ErrorKind, **kwargs: object) -> ApplicationError:
    values: dict[str, object] = {
        "generation": 0,
        "completed_handshake": True,
        "max_wire_version": 21,
    }
    values.update(kwargs)
    return ApplicationError(kind, **values)  # type: ignore[arg-type]


def test_state_change_errors_after_42_keep_the_pool() -> None:
    td = rs_with_primary()
    outcome = apply_error(td, A, error(ErrorKind.COMMAND, code=10107), 0)
    assert outcome.marked_unknown and outcome.request_check and not outcome.clear_pool
    assert outcome.topology.topology_type is TopologyType.ReplicaSetNoPrimary
    old = apply_error(td, A, error(ErrorKind.COMMAND, code=10107, max_wire_version=7), 0)
    assert old.clear_pool
    shutdown = apply_error(td, A, error(ErrorKind.COMMAND, code=91), 0)
    assert shutdown.clear_pool


def test_state_change_detected_by_message_only_without_a_code() -> None:
    td = rs_with_primary()
    by_text = apply_error(td, A, error(ErrorKind.COMMAND, message="not master"), 0)
    assert by_text.marked_unknown
    with_code = apply_error(td, A, error(ErrorKind.COMMAND, code=1, message="not master"), 0)
    assert not with_code.marked_unknown and with_code.topology is td


def test_errors_while_connecting() -> None:
    td = rs_with_primary()
    auth = apply_error(td, A, error(ErrorKind.COMMAND, code=18, completed_handshake=False), 0)
    assert auth.marked_unknown and auth.clear_pool and auth.cancel_check
    overloaded = error(
        ErrorKind.NETWORK, completed_handshake=False, labels=frozenset({"SystemOverloadedError"})
    )
    outcome = apply_error(td, A, overloaded, 0)
    assert outcome.topology is td and not outcome.clear_pool and "overload" in outcome.reason
    plain_timeout = error(ErrorKind.TIMEOUT, completed_handshake=False)
    assert apply_error(td, A, plain_timeout, 0).marked_unknown
    late_timeout = apply_error(td, A, error(ErrorKind.TIMEOUT), 0)
    assert late_timeout.topology is td and not late_timeout.clear_pool


def test_errors_on_removed_servers_are_ignored() -> None:
    td = rs_with_primary()
    outcome = apply_error(td, C, error(ErrorKind.NETWORK), 0)
    assert outcome.topology is td and "no longer" in outcome.reason


def test_load_balanced_errors_never_mark_the_server_unknown() -> None:
    td = initial_topology(TopologySettings(seeds=(A,), load_balanced=True))
    td = apply(td, ServerDescription.load_balancer(A))
    service = ObjectId()
    shutdown = apply_error(td, A, error(ErrorKind.COMMAND, code=11600, service_id=service), 0)
    assert shutdown.topology is td and shutdown.clear_pool and shutdown.service_id == service
    network = apply_error(td, A, error(ErrorKind.NETWORK, service_id=service), 0)
    assert network.topology is td and network.clear_pool and network.service_id == service
    no_service = apply_error(td, A, error(ErrorKind.NETWORK), 0)
    assert not no_service.clear_pool


def test_check_failures_clear_the_pool() -> None:
    td = rs_with_primary()
    outcome = apply_check_failure(td, A, "connection refused", timeout=False)
    assert outcome.clear_pool and not outcome.interrupt_in_use
    assert outcome.topology.servers[A].error == "connection refused"


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (NetworkTimeout("timed out"), ErrorKind.TIMEOUT, None),
        (AutoReconnect("reset"), ErrorKind.NETWORK, None),
        (NotPrimaryError("not primary", {"ok": 0, "code": 10107}), ErrorKind.COMMAND, 10107),
        (OperationFailure("bad", 2, {"ok": 0, "code": 2}), ErrorKind.COMMAND, 2),
    ],
)
def test_driver_errors_are_classified(exc: Exception, kind: ErrorKind, code: int | None) -> None:
    found = ApplicationError.from_exception(
        exc, generation=1, completed_handshake=True, max_wire_version=21
    )
    assert found is not None and (found.kind, found.code, found.generation) == (kind, code, 1)


def test_irrelevant_errors_are_not_classified() -> None:
    for exc in (WaitQueueTimeoutError("busy"), ConfigurationError("bad"), ValueError("x")):
        assert (
            ApplicationError.from_exception(
                exc, generation=0, completed_handshake=True, max_wire_version=21
            )
            is None
        )


def test_write_concern_state_change_carries_its_topology_version() -> None:
    reply = {
        "ok": 1,
        "writeConcernError": {
            "code": 91,
            "errmsg": "Replication is being shut down",
            "topologyVersion": {"processId": PID, "counter": 5},
        },
    }
    exc = WriteConcernError("Replication is being shut down", 91, reply)
    found = ApplicationError.from_exception(
        exc, generation=0, completed_handshake=True, max_wire_version=21
    )
    assert found is not None and found.is_state_change and found.is_shutdown
    assert found.topology_version == TopologyVersion(PID, 5)
    assert found.message == "Replication is being shut down"  # not the whole reply
    overloaded = AutoReconnect("reset", error_labels=["SystemOverloadedError", "RetryableError"])
    labelled = ApplicationError.from_exception(
        overloaded, generation=0, completed_handshake=False, max_wire_version=None
    )
    assert labelled is not None and labelled.labels == {"SystemOverloadedError", "RetryableError"}


# ---------------------------------------------------------------------------- events


def test_equal_replies_publish_nothing_and_closing_publishes_everything() -> None:
    td = initial_topology(TopologySettings(seeds=(A, B)))
    first = apply(td, hello(A, msg="isdbgrid"))
    assert events_between(first, apply(first, hello(A, msg="isdbgrid"))) == []
    events = closing_events(first)
    assert [type(e) for e in events] == [
        ServerClosed,
        ServerClosed,
        TopologyDescriptionChanged,
        TopologyClosed,
    ]
    change = events[2]
    assert isinstance(change, TopologyDescriptionChanged)
    assert change.new.topology_type is TopologyType.Unknown and not change.new.servers
