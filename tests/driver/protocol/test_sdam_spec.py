"""The SDAM spec tests (tests/specs/server-discovery-and-monitoring: single, rs,
sharded, load-balanced, errors, monitoring), every case, against the pure core.

The runner plays the I/O layer's part with no I/O: it builds the initial topology
from the file's URI, turns each ``hello`` response into a ServerDescription (``{}``
is a failed check), feeds application errors to ``apply_error`` while keeping each
server's pool generation the way a pool would (bumped when told to clear), and
collects the events ``opening_events``/``events_between`` give. After each phase it
compares the topology (or, for monitoring files, the events) with the outcome.

A mock network error or timeout "before the handshake completes" is one the
connection layer meets while establishing a connection, so it carries the client
backpressure labels that layer adds (``SystemOverloadedError``, ``RetryableError``);
the spec's ``error_handling_handshake`` case expects such errors to be ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driver.bson import json_util
from driver.errors import PyMongoError
from driver.protocol.commands import check_command_reply
from driver.protocol.descriptions import (
    Address,
    ServerDescription,
    format_address,
    parse_address,
)
from driver.protocol.sdam import (
    ApplicationError,
    ErrorKind,
    SdamEvent,
    ServerClosed,
    ServerDescriptionChanged,
    ServerOpening,
    TopologyDescription,
    TopologyDescriptionChanged,
    TopologyOpening,
    TopologySettings,
    TopologyType,
    apply,
    apply_check_failure,
    apply_error,
    events_between,
    initial_topology,
    opening_events,
    update,
)
from driver.uri import parse_uri

SPEC_DIR = (
    Path(__file__).resolve().parents[2] / "specs" / "server-discovery-and-monitoring" / "tests"
)
SUITES = ("single", "rs", "sharded", "load-balanced", "errors", "monitoring")

# Every case this runner skips, by id, with the reason (printed at the end of the run).
SPEC_SKIPS: list[tuple[str, str]] = []
_SKIPPED = dict(SPEC_SKIPS)

_BACKPRESSURE_LABELS = frozenset({"SystemOverloadedError", "RetryableError"})


def _cases() -> list[Any]:
    params = []
    for suite in SUITES:
        for path in sorted((SPEC_DIR / suite).glob("*.json")):
            params.append(pytest.param(path, id=f"{suite}/{path.stem}"))
    return params


class Client:
    """The part of a client the spec tests exercise: the topology, pools, events."""

    def __init__(self, uri: str) -> None:
        parsed = parse_uri(uri)
        options = parsed.options
        settings = TopologySettings(
            seeds=tuple(parsed.nodelist),
            replica_set_name=options.get("replicaSet"),
            direct_connection=bool(options.get("directConnection", False)),
            load_balanced=bool(options.get("loadBalanced", False)),
        )
        self.topology = initial_topology(settings)
        self.events: list[SdamEvent] = opening_events(self.topology)
        self.generations: dict[Address, int] = {address: 0 for address in self.topology.servers}
        if settings.load_balanced:
            (address,) = settings.seeds
            self._replace(apply(self.topology, ServerDescription.load_balancer(address)))

    def _replace(self, new: TopologyDescription) -> None:
        self.events.extend(events_between(self.topology, new))
        for address in new.servers:
            self.generations.setdefault(address, 0)  # a new server gets a new pool
        for address in [a for a in self.generations if a not in new.servers]:
            del self.generations[address]
        self.topology = new

    def hello(self, address: Address, reply: dict[str, Any]) -> None:
        if not reply:  # the spec's notation for a network error during the check
            if not self.topology.has_server(address):
                return
            outcome = apply_check_failure(self.topology, address, "network error", timeout=False)
            self._replace(outcome.topology)
            if outcome.clear_pool:
                self.generations[address] += 1
            return
        sd = ServerDescription.from_hello(address, reply, 0.005, last_update_time=1.0)
        result = update(self.topology, sd)
        self._replace(result.topology)
        for stale in result.stale_primaries:
            if (stale.max_wire_version or 0) < 8 and stale.address in self.generations:
                self.generations[stale.address] += 1

    def application_error(self, spec: dict[str, Any]) -> None:
        address = parse_address(spec["address"])
        generation = spec.get("generation", self.generations[address])
        completed = {"beforeHandshakeCompletes": False, "afterHandshakeCompletes": True}[
            spec["when"]
        ]
        if spec["type"] == "command":
            try:
                check_command_reply(spec["response"], spec["maxWireVersion"])
            except PyMongoError as exc:
                error = ApplicationError.from_exception(
                    exc,
                    generation=generation,
                    completed_handshake=completed,
                    max_wire_version=spec["maxWireVersion"],
                )
            else:
                return  # e.g. only writeErrors: those are never checked
            assert error is not None
        else:
            kind = {"network": ErrorKind.NETWORK, "timeout": ErrorKind.TIMEOUT}[spec["type"]]
            error = ApplicationError(
                kind,
                generation,
                completed,
                spec["maxWireVersion"],
                message=f"mock {spec['type']} error",
                labels=frozenset() if completed else _BACKPRESSURE_LABELS,
            )
        outcome = apply_error(self.topology, address, error, self.generations[address])
        self._replace(outcome.topology)
        if outcome.clear_pool:
            self.generations[address] += 1


# ---------------------------------------------------------------------------- checks


def _addresses(values: Any) -> set[Address]:
    return {parse_address(value) for value in values}


def check_server(
    client: Client, address: Address, sd: ServerDescription, expected: dict[str, Any]
) -> None:
    where = format_address(address)
    assert sd.server_type.name == expected["type"], where
    # As PyMongo's runner does: an absent field means "null".
    assert sd.set_name == expected.get("setName"), where
    assert sd.set_version == expected.get("setVersion"), where
    assert sd.election_id == expected.get("electionId"), where
    tv = None if sd.topology_version is None else sd.topology_version.document
    assert tv == expected.get("topologyVersion"), where
    if expected.get("error"):
        assert sd.error is not None and expected["error"] in sd.error, (where, sd.error)
    for key, value in (
        ("logicalSessionTimeoutMinutes", sd.logical_session_timeout_minutes),
        ("minWireVersion", sd.min_wire_version),
        ("maxWireVersion", sd.max_wire_version),
    ):
        if key in expected:
            assert value == expected[key], (where, key)
    if "pool" in expected:
        assert client.generations[address] == expected["pool"]["generation"], where


def check_topology(client: Client, outcome: dict[str, Any]) -> None:
    td = client.topology
    expected_servers = {parse_address(a): s for a, s in outcome["servers"].items()}
    assert set(td.servers) == set(expected_servers)
    for address, expected in expected_servers.items():
        check_server(client, address, td.servers[address], expected)
    assert td.topology_type.name == outcome["topologyType"]
    assert td.set_name == outcome["setName"]
    assert td.logical_session_timeout_minutes == outcome.get("logicalSessionTimeoutMinutes")
    assert td.max_set_version == outcome.get("maxSetVersion")
    assert td.max_election_id == outcome.get("maxElectionId")
    if outcome.get("compatible") is False:
        assert not td.compatible and td.compatibility_error
    else:
        assert td.compatible, td.compatibility_error


def _server_json(sd: ServerDescription) -> dict[str, Any]:
    return {
        "address": sd.address,
        "arbiters": set(sd.arbiters),
        "hosts": set(sd.hosts),
        "passives": set(sd.passives),
        "type": sd.server_type.name,
        "setName": sd.set_name,
        "primary": sd.primary,
    }


def _expected_server_json(doc: dict[str, Any]) -> dict[str, Any]:
    primary = doc.get("primary")
    return {
        "address": parse_address(doc["address"]),
        "arbiters": _addresses(doc["arbiters"]),
        "hosts": _addresses(doc["hosts"]),
        "passives": _addresses(doc["passives"]),
        "type": doc["type"],
        "setName": doc.get("setName"),
        "primary": None if primary is None else parse_address(primary),
    }


def _topology_json(td: TopologyDescription) -> dict[str, Any]:
    servers = sorted((_server_json(sd) for sd in td.servers.values()), key=lambda s: s["address"])
    return {"topologyType": td.topology_type.name, "setName": td.set_name, "servers": servers}


def _expected_topology_json(doc: dict[str, Any]) -> dict[str, Any]:
    servers = sorted((_expected_server_json(s) for s in doc["servers"]), key=lambda s: s["address"])
    return {"topologyType": doc["topologyType"], "setName": doc.get("setName"), "servers": servers}


def _event_json(event: SdamEvent) -> dict[str, Any]:
    if isinstance(event, TopologyOpening):
        return {"topology_opening_event": {}}
    if isinstance(event, TopologyDescriptionChanged):
        return {
            "topology_description_changed_event": {
                "previousDescription": _topology_json(event.previous),
                "newDescription": _topology_json(event.new),
            }
        }
    if isinstance(event, ServerOpening):
        return {"server_opening_event": {"address": event.address}}
    if isinstance(event, ServerClosed):
        return {"server_closed_event": {"address": event.address}}
    assert isinstance(event, ServerDescriptionChanged), event
    return {
        "server_description_changed_event": {
            "address": event.address,
            "previousDescription": _server_json(event.previous),
            "newDescription": _server_json(event.new),
        }
    }


def _expected_event_json(doc: dict[str, Any]) -> dict[str, Any]:
    ((name, body),) = doc.items()
    body = {k: v for k, v in body.items() if k != "topologyId"}  # the I/O layer's id
    if "address" in body:
        body["address"] = parse_address(body["address"])
    for key in ("previousDescription", "newDescription"):
        if key in body:
            convert = (
                _expected_topology_json
                if name == "topology_description_changed_event"
                else _expected_server_json
            )
            body[key] = convert(body[key])
    return {name: body}


def check_events(client: Client, expected: list[dict[str, Any]]) -> None:
    actual = [_event_json(event) for event in client.events]
    assert actual == [_expected_event_json(doc) for doc in expected]


# ---------------------------------------------------------------------------- runner


@pytest.mark.parametrize("path", _cases())
def test_sdam(path: Path, request: pytest.FixtureRequest) -> None:
    if request.node.callspec.id in _SKIPPED:
        pytest.skip(_SKIPPED[request.node.callspec.id])
    spec = json_util.loads(path.read_text(encoding="utf-8"))
    client = Client(spec["uri"])
    for number, phase in enumerate(spec["phases"]):
        context = f"phase {number}: {phase.get('description', '')}"
        for address, reply in phase.get("responses", []):
            client.hello(parse_address(address), reply)
        for error in phase.get("applicationErrors", []):
            client.application_error(error)
        outcome = phase["outcome"]
        try:
            if "events" in outcome:
                check_events(client, outcome["events"])
                client.events.clear()
            else:
                check_topology(client, outcome)
        except AssertionError as exc:
            raise AssertionError(f"{context}: {exc}") from exc


def test_the_suites_are_all_there() -> None:
    # Guard against a vendoring slip silently dropping a folder.
    counts = {suite: len(list((SPEC_DIR / suite).glob("*.json"))) for suite in SUITES}
    assert all(counts.values()), counts
    assert TopologyType.Unknown.name == "Unknown"
