"""The Server Selection spec tests (tests/specs/server-selection: server_selection, rtt,
in_window), every case, against the pure core.

- server_selection: the topology from the file, then ``suitable_servers`` and the
  latency window must give exactly the listed servers (deprioritized ones passed
  in), and ``select_server`` one of the in-window ones (or none).
- rtt: ``moving_average_rtt`` from the previous average and the new sample.
- in_window: 2000 selections with mode nearest and the given operation counts, drawn
  with a seeded random generator; each server's share must be within the tolerance
  (exactly 0 or 1 where the file says so).

``topology_from_spec`` and ``read_preference_from_spec`` are shared with the max
staleness runner.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from driver.bson import json_util
from driver.errors import ConfigurationError
from driver.protocol.sdam import (
    Address,
    ServerDescription,
    ServerType,
    TopologyDescription,
    TopologySettings,
    TopologyType,
    parse_address,
)
from driver.protocol.selection import (
    moving_average_rtt,
    select_server,
    select_servers,
    suitable_servers,
)
from driver.read_preferences import (
    Nearest,
    _ServerMode,
    make_read_preference,
    read_pref_mode_from_name,
)

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs" / "server-selection" / "tests"

# Every case this runner skips, by id, with the reason (printed at the end of the run).
SPEC_SKIPS: list[tuple[str, str]] = []
_SKIPPED = dict(SPEC_SKIPS)


def _params(folder: str) -> list[Any]:
    return [
        pytest.param(path, id=str(path.relative_to(SPEC_DIR).with_suffix("")))
        for path in sorted((SPEC_DIR / folder).rglob("*.json"))
    ]


def _load(path: Path) -> Any:
    return json_util.loads(path.read_text(encoding="utf-8"))


def _skip_if_listed(request: pytest.FixtureRequest) -> None:
    if request.node.callspec.id in _SKIPPED:
        pytest.skip(_SKIPPED[request.node.callspec.id])


# ---------------------------------------------------------------------------- shared helpers


def _seconds(millis: Any) -> float | None:
    return None if millis is None else float(millis) / 1000.0


def server_from_spec(doc: dict[str, Any]) -> ServerDescription:
    """A server of a test file's topology (times there are in milliseconds)."""
    last_write = doc.get("lastWrite") or {}
    max_wire = doc.get("maxWireVersion")
    return ServerDescription(
        parse_address(doc["address"]),
        ServerType[doc["type"]],
        round_trip_time=_seconds(doc.get("avg_rtt_ms")),
        last_update_time=_seconds(doc.get("lastUpdateTime")),
        last_write_date=_seconds(last_write.get("lastWriteDate")),
        min_wire_version=None if max_wire is None else 0,
        max_wire_version=max_wire,
        tags=doc.get("tags") or {},
    )


def topology_from_spec(doc: dict[str, Any], heartbeat_ms: int | None = None) -> TopologyDescription:
    """The TopologyDescription a test file describes."""
    servers = [server_from_spec(server) for server in doc["servers"]]
    settings = TopologySettings(
        seeds=tuple(sd.address for sd in servers),
        heartbeat_frequency=10.0 if heartbeat_ms is None else heartbeat_ms / 1000.0,
    )
    return TopologyDescription(
        TopologyType[doc["type"]], {sd.address: sd for sd in servers}, settings
    )


def read_preference_from_spec(doc: dict[str, Any] | None) -> _ServerMode:
    """The read preference a test file describes (mode names are capitalized there)."""
    doc = doc or {}
    name = doc.get("mode", "Primary")
    mode = read_pref_mode_from_name(name[0].lower() + name[1:])
    return make_read_preference(mode, doc.get("tag_sets"), doc.get("maxStalenessSeconds", -1))


def addresses(servers: Any) -> set[Address]:
    return {parse_address(server["address"]) for server in servers}


def check_selection(spec: dict[str, Any], heartbeat_ms: int | None = None) -> None:
    """Run one server_selection (or max staleness) case, errors included."""
    expects_error = bool(spec.get("error"))
    try:
        topology = topology_from_spec(spec["topology_description"], heartbeat_ms)
        write = spec.get("operation", "read") == "write"
        read_preference = None if write else read_preference_from_spec(spec["read_preference"])
        deprioritized = addresses(spec.get("deprioritized_servers", []))
        window = select_servers(topology, read_preference, deprioritized=deprioritized)
    except (ConfigurationError, ValueError) as exc:  # refused at construction or selection
        if expects_error:
            return
        raise AssertionError(f"unexpected error: {exc!r}") from exc
    assert not expects_error, "expected an error, selection succeeded"
    suitable = suitable_servers(topology, read_preference, deprioritized=deprioritized)
    assert {sd.address for sd in suitable} == addresses(spec["suitable_servers"])
    expected_window = addresses(spec["in_latency_window"])
    assert {sd.address for sd in window} == expected_window
    chosen = select_server(topology, read_preference, deprioritized=deprioritized)
    if expected_window:
        assert chosen is not None and chosen.address in expected_window
    else:
        assert chosen is None


# ---------------------------------------------------------------------------- runners


@pytest.mark.parametrize("path", _params("server_selection"))
def test_server_selection(path: Path, request: pytest.FixtureRequest) -> None:
    _skip_if_listed(request)
    check_selection(_load(path))


@pytest.mark.parametrize("path", _params("rtt"))
def test_rtt(path: Path, request: pytest.FixtureRequest) -> None:
    _skip_if_listed(request)
    spec = _load(path)
    previous = None if spec["avg_rtt_ms"] == "NULL" else float(spec["avg_rtt_ms"])
    assert moving_average_rtt(previous, float(spec["new_rtt_ms"])) == pytest.approx(
        spec["new_avg_rtt"]
    )


@pytest.mark.parametrize("path", _params("in_window"))
def test_in_window(path: Path, request: pytest.FixtureRequest) -> None:
    _skip_if_listed(request)
    spec = _load(path)
    topology = topology_from_spec(spec["topology_description"])
    counts = {
        parse_address(state["address"]): state["operation_count"]
        for state in spec["mocked_topology_state"]
    }
    rng = random.Random(path.stem)  # deterministic, and different for each file
    iterations = spec["iterations"]
    chosen: Counter[Address] = Counter()
    for _ in range(iterations):
        server = select_server(topology, Nearest(), operation_counts=counts, sample=rng.sample)
        assert server is not None
        chosen[server.address] += 1
    outcome = spec["outcome"]
    for address_text, expected in outcome["expected_frequencies"].items():
        frequency = chosen[parse_address(address_text)] / iterations
        if expected in (0, 1):
            assert frequency == expected, address_text
        else:
            assert abs(frequency - expected) <= outcome["tolerance"], (address_text, frequency)


def test_the_suites_are_all_there() -> None:
    assert [len(_params(folder)) for folder in ("server_selection", "rtt", "in_window")] == [
        88,
        7,
        8,
    ]
