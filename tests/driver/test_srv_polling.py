"""SRV polling for mongos discovery: the pure choice of hosts, and the topology
following the records (with a stub resolver: these names never resolve)."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

import driver.client_options as client_options
from driver import monitoring as m
from driver._sync.client import _srv_polling
from driver._sync.connection import ConnectionSettings
from driver._sync.pool import PoolOptions
from driver._sync.topology import SrvPolling, Topology
from driver.client_options import ClientOptions
from driver.errors import ConfigurationError
from driver.protocol.descriptions import (
    ServerDescription,
    TopologySettings,
    TopologyType,
    initial_topology,
)
from driver.protocol.sdam import apply, with_srv_hosts
from driver.srv import polled_hosts, resolve_srv_uri

FQDN = "db.cluster.invalid"
A, B, C, D = (f"{name}.cluster.invalid" for name in "abcd")


def test_polled_hosts_drop_records_outside_the_parent_domain() -> None:
    records = [(A, 27017), ("evil.example.org", 27017), (B.upper() + ".", 27017)]
    assert polled_hosts(FQDN, [(A, 27017)], records) == [(A, 27017), (B, 27017)]


def test_no_valid_record_keeps_the_current_hosts() -> None:
    assert polled_hosts(FQDN, [(A, 27017)], []) is None
    assert polled_hosts(FQDN, [(A, 27017)], [("evil.example.org", 1)]) is None


def test_srv_max_hosts_keeps_the_hosts_still_listed_and_fills_up_at_random() -> None:
    current = [(A, 27017), (B, 27017)]
    records = [(B, 27017), (C, 27017), (D, 27017)]
    chosen = polled_hosts(FQDN, current, records, max_hosts=2, rng=random.Random(7))
    assert chosen is not None and chosen[0] == (B, 27017) and len(chosen) == 2
    assert chosen[1] in ((C, 27017), (D, 27017))
    picks = {
        tuple(polled_hosts(FQDN, [], records, max_hosts=1, rng=random.Random(seed)) or ())
        for seed in range(40)
    }
    assert len(picks) == 3  # every record can be picked


def test_only_sharded_and_unknown_topologies_follow_the_records() -> None:
    seeds = ((A, 27017),)
    unknown = initial_topology(TopologySettings(seeds=seeds))
    assert set(with_srv_hosts(unknown, [(B, 27017)]).servers) == {(B, 27017)}
    rs = apply(
        initial_topology(TopologySettings(seeds=seeds, replica_set_name="rs")),
        ServerDescription.from_hello(
            (A, 27017),
            {"ok": 1, "isWritablePrimary": True, "setName": "rs", "hosts": [f"{A}:27017"],
             "maxWireVersion": 21},
            0.001,
        ),
    )
    assert rs.topology_type is TopologyType.ReplicaSetWithPrimary
    assert with_srv_hosts(rs, [(B, 27017)]) is rs


class Stub:
    """A resolver whose answer the test changes; it may also fail."""

    def __init__(self, records: list[tuple[str, int]], txt: list[str] | None = None) -> None:
        self.records = records
        self.txt = txt or []
        self.fail: Exception | None = None
        self.asked: list[str] = []
        self.cond = threading.Condition()

    def resolve_srv(self, name: str) -> list[tuple[str, int]]:
        with self.cond:
            self.asked.append(name)
            self.cond.notify_all()
        if self.fail is not None:
            raise self.fail
        return list(self.records)

    def resolve_txt(self, name: str) -> list[str]:
        return list(self.txt)


class Servers(m.ServerListener):
    def __init__(self) -> None:
        self.added: list[Any] = []
        self.removed: list[Any] = []
        self.cond = threading.Condition()

    def opened(self, event: m.ServerOpeningEvent) -> None:
        with self.cond:
            self.added.append(event.server_address)
            self.cond.notify_all()

    def closed(self, event: m.ServerClosedEvent) -> None:
        with self.cond:
            self.removed.append(event.server_address)
            self.cond.notify_all()


def _topology(stub: Stub, listener: Servers, **polling: Any) -> Topology:
    return Topology(
        TopologySettings(seeds=((A, 27017), (B, 27017))),
        ConnectionSettings(connect_timeout=1),
        PoolOptions(),
        listeners=[listener],
        monitoring_mode="poll",
        srv_polling=SrvPolling(FQDN, interval=0.05, resolver=stub, **polling),
    )


def test_the_topology_follows_the_srv_records() -> None:
    stub, listener = Stub([(B, 27017), (C, 27017)]), Servers()
    topology = _topology(stub, listener)
    topology.open()
    try:
        with listener.cond:
            assert listener.cond.wait_for(lambda: (C, 27017) in listener.added, 10)
        assert set(topology.description.servers) == {(B, 27017), (C, 27017)}
        assert listener.removed == [(A, 27017)]
        assert stub.asked[0] == f"_mongodb._tcp.{FQDN}"
        # DNS trouble, or an empty answer, keeps what the client has.
        stub.fail = OSError("no DNS here")
        asked = len(stub.asked)
        with stub.cond:
            assert stub.cond.wait_for(lambda: len(stub.asked) > asked + 2, 10)
        stub.fail, stub.records = None, []
        asked = len(stub.asked)
        with stub.cond:
            assert stub.cond.wait_for(lambda: len(stub.asked) > asked + 2, 10)
        assert set(topology.description.servers) == {(B, 27017), (C, 27017)}
    finally:
        topology.close()
    asked = len(stub.asked)
    assert stub.asked and len(stub.asked) == asked  # polling ended with the topology


def test_srv_max_hosts_limits_the_topology() -> None:
    stub, listener = Stub([(B, 27017), (C, 27017), (D, 27017)]), Servers()
    topology = _topology(stub, listener, max_hosts=2)
    topology.open()
    try:
        with listener.cond:
            assert listener.cond.wait_for(lambda: listener.removed == [(A, 27017)], 10)
        servers = set(topology.description.servers)
        assert len(servers) == 2 and (B, 27017) in servers  # B stays: still listed
    finally:
        topology.close()


def _options(
    uri: str,
    monkeypatch: pytest.MonkeyPatch,
    txt: tuple[str, ...] = ("replicaSet=fromtxt",),
    **kwargs: Any,
) -> ClientOptions:
    """ClientOptions for a mongodb+srv:// URI, its lookup answered by a stub."""
    def resolve(parsed: Any, options: Any = None) -> Any:
        return resolve_srv_uri(parsed, Stub([(A, 27017)], txt=list(txt)), options=options)

    monkeypatch.setattr(client_options, "resolve_srv_uri", resolve)
    return ClientOptions.from_args(uri, None, kwargs)


def test_a_replica_set_or_load_balanced_srv_uri_is_not_polled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = _options(f"mongodb+srv://{FQDN}/?replicaSet=rs0", monkeypatch)
    assert options.srv_host == FQDN and _srv_polling(options) is None
    # The TXT record may name a replica set too.
    assert _srv_polling(_options(f"mongodb+srv://{FQDN}/", monkeypatch)) is None
    lb = _options(f"mongodb+srv://{FQDN}/", monkeypatch, txt=("loadBalanced=true",))
    assert _srv_polling(lb) is None
    polled = _srv_polling(_options(f"mongodb+srv://{FQDN}/", monkeypatch, txt=()))
    assert polled is not None and polled.srv_name == f"_mongodb._tcp.{FQDN}"


def test_the_uri_options_of_an_srv_uri_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: they were dropped (only keyword arguments and TXT options were
    kept), so e.g. retryWrites=false in a DocumentDB string was lost."""
    uri = f"mongodb+srv://{FQDN}/?replicaSet=rs0&retryWrites=false&maxPoolSize=5"
    options = _options(uri, monkeypatch, appname="app", srvMaxHosts=0).options
    assert options["replicaSet"] == "rs0"  # the URI wins over the TXT record
    assert options["retryWrites"] is False and options["maxPoolSize"] == 5
    assert options["appname"] == "app"
    with pytest.raises(ConfigurationError, match="contradicts"):
        _options(f"mongodb+srv://{FQDN}/?retryWrites=false", monkeypatch, retryWrites=True)
