"""Whole deployments against mock servers, for MongoClient and AsyncMongoClient alike.

Shows, with the client's own view (``primary``, ``secondaries``, ``nodes``,
``topology_description``) and with what each mock server received:

- a three-member replica set: writes go to the primary, reads to the members their
  read preference names;
- an election: the client follows within a few heartbeats, a write retried after
  NotWritablePrimary (or sent after ``client.primary`` changed) lands on the new
  primary, and no write is lost;
- a secondary that goes away and comes back; a set with no primary;
- two mongos, one of which dies; a direct connection to a secondary; a load balancer
  (no monitoring); an Amazon DocumentDB-like set;
- the topology, server and heartbeat events of all this.

Each scenario is one ``async def`` run twice inside ``asyncio.run``: with ``kind``
"sync" (a MongoClient, whose calls simply block) and "async" (an AsyncMongoClient).
Waits run in a worker thread (``asyncio.to_thread``) so the async client's monitors
keep running meanwhile. No test sleeps: each waits, with a timeout, on a condition
notified by the client's event listener.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from driver import AsyncMongoClient, MongoClient
from driver import monitoring as m
from driver.bson import Int64
from driver.errors import (
    AutoReconnect,
    InvalidOperation,
    NotPrimaryError,
    ServerSelectionTimeoutError,
)
from driver.protocol.descriptions import ServerType, TopologyType
from driver.read_preferences import (
    Nearest,
    Primary,
    PrimaryPreferred,
    Secondary,
    SecondaryPreferred,
)
from tests.mockserver import HELLO_NAMES, ConnectionInfo, MockServer
from tests.mockserver_cluster import MockReplicaSet
from tests.mockserver_hello import documentdb, mongos

pytestmark = pytest.mark.timeout(60)

#: The fastest heartbeat allowed, and a selection timeout well above a few heartbeats.
FAST = "heartbeatFrequencyMS=500&serverSelectionTimeoutMS=5000"
#: How long any wait for the client's view may take (ten heartbeats).
WAIT = 5.0
#: What a member that is not primary answers to a write.
NOT_WRITABLE = {"ok": 0.0, "code": 10107, "codeName": "NotWritablePrimary", "errmsg": "not primary"}

Scenario = Callable[[str], Coroutine[Any, Any, None]]


# ---------------------------------------------------------------------------- helpers


def both_clients(scenario: Scenario) -> Callable[[str], None]:
    """The test running ``scenario(kind)`` with MongoClient ("sync") and AsyncMongoClient."""

    @pytest.mark.parametrize("kind", ["sync", "async"])
    def test(kind: str) -> None:
        asyncio.run(scenario(kind))

    test.__name__ = test.__qualname__ = scenario.__name__
    test.__doc__ = scenario.__doc__
    return test


async def resolve(value: Any) -> Any:
    """``value``, awaited if the async client returned an awaitable."""
    return await value if inspect.isawaitable(value) else value


class Watcher(m.TopologyListener, m.ServerListener, m.ServerHeartbeatListener):
    """Records every topology, server and heartbeat event, and notifies a Condition."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.cond = threading.Condition()

    def _record(self, event: Any) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    # TopologyListener and ServerListener share the method names.
    opened = description_changed = closed = started = succeeded = failed = _record

    def of(self, *kinds: type) -> list[Any]:
        with self.cond:
            return [event for event in self.events if isinstance(event, kinds)]


class Client:
    """A MongoClient or AsyncMongoClient (``kind``) behind one awaitable surface.

    The client's view (``primary``, ``nodes``...) reads through; ``wait`` blocks on the
    client's events until a predicate over that view holds.
    """

    def __init__(self, kind: str, uri: str) -> None:
        self.watch = Watcher()
        cls: Any = MongoClient if kind == "sync" else AsyncMongoClient
        self.raw = cls(uri, event_listeners=[self.watch])

    def __getattr__(self, name: str) -> Any:
        # The client's view (primary, nodes...): a property, never a database by name.
        if isinstance(getattr(type(self.raw), name, None), property):
            return getattr(self.raw, name)
        raise AttributeError(name)

    async def command(self, db: str, *args: Any, **kwargs: Any) -> Any:
        return await resolve(self.raw[db].command(*args, **kwargs))

    async def insert(self, *ids: int) -> Any:
        return await self.command("test", "insert", "coll", documents=[{"_id": i} for i in ids])

    async def find(self, read_preference: Any = None) -> Any:
        return await self.command("test", "find", "coll", read_preference=read_preference)

    async def wait(self, predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """Wait (re-checking at every event) until ``predicate()`` holds."""

        def block() -> None:
            with self.watch.cond:
                if not self.watch.cond.wait_for(predicate, timeout):
                    raise AssertionError(
                        f"no {what} within {timeout}s; the client sees "
                        f"{self.raw.topology_description!r}"
                    )

        await asyncio.to_thread(block)

    async def wait_for_primary(self, server: MockServer) -> None:
        await self.wait(lambda: self.primary == server.address, f"{server.name} as primary")

    async def discover(self, primary: MockServer | None, *secondaries: MockServer) -> None:
        """Run a first operation (monitoring starts with it) and wait for the whole set."""
        await self.command("admin", "ping", read_preference=SecondaryPreferred())
        await self.wait(
            lambda: (
                self.primary == (primary and primary.address)
                and self.secondaries == {s.address for s in secondaries}
            ),
            "discovery of the whole set",
        )

    async def close(self) -> None:
        await resolve(self.raw.close())

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def serve_crud(server: MockServer, writable: Callable[[], bool] = lambda: True) -> list[int]:
    """Make ``server`` answer insert (NotWritablePrimary unless ``writable()``) and find.

    Returns the list of the ``_id``\\ s its inserts accepted (filled as they arrive).
    """
    accepted: list[int] = []

    def insert(cmd: dict[str, Any], info: ConnectionInfo) -> dict[str, Any]:
        if not writable():
            return NOT_WRITABLE
        accepted.extend(doc["_id"] for doc in cmd["documents"])
        return {"n": len(cmd["documents"])}

    def find(cmd: dict[str, Any], info: ConnectionInfo) -> dict[str, Any]:
        return {"cursor": {"id": Int64(0), "ns": f"{cmd['$db']}.{cmd['find']}", "firstBatch": []}}

    server.replies["insert"] = insert
    server.replies["find"] = find
    return accepted


class ReplicaSet(MockReplicaSet):
    """Three members answering insert and find; only the primary accepts inserts.

    ``accepted[i]`` is what member ``i`` accepted. On exit, no member had an error.
    """

    def __init__(self, primary: int | None = 0) -> None:
        super().__init__(3, primary=primary)
        self.accepted = [
            serve_crud(member, functools.partial(self.is_primary, i))
            for i, member in enumerate(self.servers)
        ]

    def is_primary(self, index: int) -> bool:
        return self.primary == index

    def uri_with(self, options: str = FAST) -> str:
        return f"{self.uri}&{options}"

    def finds(self) -> list[int]:
        """How many finds each member received."""
        return [len(member.commands("find")) for member in self]

    def inserts(self) -> list[int]:
        """How many inserts each member received (accepted or refused)."""
        return [len(member.commands("insert")) for member in self]

    def __enter__(self) -> ReplicaSet:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        super().__exit__(*exc_info)
        if exc_info[1] is None:
            assert [member.errors for member in self] == [[], [], []]


async def insert_retrying(client: Client, doc_id: int, attempts: int = 3) -> list[Exception]:
    """Insert one document as an application would: retry on AutoReconnect (which
    NotPrimaryError is). Returns the errors met before it succeeded."""
    errors: list[Exception] = []
    for _ in range(attempts):
        try:
            await client.insert(doc_id)
            return errors
        except AutoReconnect as exc:
            errors.append(exc)
    raise AssertionError(f"insert {doc_id} failed {attempts} times: {errors}")


# ---------------------------------------------------------------------------- replica sets


@both_clients
async def test_replica_set_writes_go_to_the_primary_and_reads_follow_the_preference(
    kind: str,
) -> None:
    with ReplicaSet() as rs:
        # A wide latency window: an RTT spike on a busy machine must not hide a secondary.
        async with Client(kind, rs.uri_with(f"{FAST}&localThresholdMS=1000")) as client:
            await client.discover(rs[0], rs[1], rs[2])
            assert client.nodes == frozenset(member.address for member in rs)
            assert client.is_primary and not client.is_mongos
            assert client.address == rs[0].address
            description = client.topology_description
            assert description.topology_type is TopologyType.ReplicaSetWithPrimary
            assert description.set_name == "rs0"
            assert [description.servers[s.address].server_type for s in rs] == [
                ServerType.RSPrimary,
                ServerType.RSSecondary,
                ServerType.RSSecondary,
            ]

            for i in range(5):
                await client.insert(i)
            assert rs.accepted == [[0, 1, 2, 3, 4], [], []]
            assert rs.inserts() == [5, 0, 0]

            before = rs.finds()
            for _ in range(20):
                await client.find(SecondaryPreferred())
            reads = [after - was for after, was in zip(rs.finds(), before, strict=True)]
            # Never the primary; both secondaries (each read draws at random: the chance
            # that 20 draws all pick the same one is 2 in a million).
            assert reads[0] == 0 and reads[1] > 0 and reads[2] > 0, reads

            for read_preference, members in [
                (None, {0}),  # Database.command's default: the primary
                (Primary(), {0}),
                (PrimaryPreferred(), {0}),
                (Secondary(), {1, 2}),
                (Nearest(), {0, 1, 2}),
            ]:
                before = rs.finds()
                await client.find(read_preference)
                (served,) = [i for i, n in enumerate(rs.finds()) if n > before[i]]
                assert served in members, (read_preference, served)


@both_clients
async def test_the_client_follows_an_election_and_a_retried_write_is_not_lost(kind: str) -> None:
    with ReplicaSet() as rs:
        # Polling: a streaming monitor would usually hear of the election before the
        # first write, and that write would never meet the old primary.
        async with Client(kind, rs.uri_with(f"{FAST}&serverMonitoringMode=poll")) as client:
            await client.discover(rs[0], rs[1], rs[2])
            for i in (1, 2, 3):
                await client.insert(i)

            rs.set_primary(1)  # member 0 steps down, member 1 is elected
            elected = time.monotonic()
            errors: list[Exception] = []
            for i in (4, 5, 6, 7):
                errors += await insert_retrying(client, i)
            took = time.monotonic() - elected

            # The first write may reach the old primary before the client's monitor has
            # seen the election: it is refused (NotWritablePrimary), the client marks the
            # member Unknown, and the retry waits for the new primary.
            assert len(errors) <= 1 and all(isinstance(e, NotPrimaryError) for e in errors)
            assert rs.accepted == [[1, 2, 3], [4, 5, 6, 7], []]
            assert rs.inserts() == [3 + len(errors), 4, 0]
            assert took < 3.0, f"the writes took {took:.2f}s after the election"
            assert client.primary == rs[1].address
            await client.wait(
                lambda: client.secondaries == {rs[0].address, rs[2].address},
                "the old primary back as a secondary",
            )


@both_clients
async def test_a_write_after_client_primary_changes_lands_on_the_new_primary(kind: str) -> None:
    with ReplicaSet() as rs:
        async with Client(kind, rs.uri_with()) as client:
            await client.discover(rs[0], rs[1], rs[2])
            await client.insert(1)
            for new, doc_id in [(2, 2), (0, 3)]:  # an election, then another back
                rs.set_primary(new)
                elected = time.monotonic()
                await client.wait_for_primary(rs[new])
                took = time.monotonic() - elected
                assert took < 3.0, f"the client saw the election after {took:.2f}s"
                await client.insert(doc_id)  # no error: it goes straight to the new primary
            assert rs.accepted == [[1, 3], [], [2]]
            assert rs.inserts() == [2, 0, 1]
            await client.wait(
                lambda: client.secondaries == {rs[1].address, rs[2].address},
                "both others as secondaries",
            )


@both_clients
async def test_a_secondary_that_goes_away_is_dropped_and_comes_back(kind: str) -> None:
    with ReplicaSet() as rs:
        async with Client(kind, f"{rs.uri_with()}&localThresholdMS=1000") as client:
            await client.discover(rs[0], rs[1], rs[2])
            gone = rs[2].address
            rs[2].stop()
            await client.wait(lambda: gone not in client.nodes, "the stopped member dropped")
            assert client.secondaries == {rs[1].address}
            unknown = client.topology_description.servers[gone]
            assert unknown.server_type is ServerType.Unknown and unknown.error
            changes = client.watch.of(m.ServerDescriptionChangedEvent)
            assert any(
                e.server_address == gone
                and e.previous_description.server_type is ServerType.RSSecondary
                and e.new_description.server_type is ServerType.Unknown
                for e in changes
            )

            before = rs.finds()
            for _ in range(5):
                await client.find(SecondaryPreferred())
            assert [n - b for n, b in zip(rs.finds(), before, strict=True)] == [0, 5, 0]

            rs[2].start()  # same port, a new process
            await client.wait(
                lambda: client.secondaries == {rs[1].address, gone}, "the member back"
            )
            before_back = len(rs[2].commands("find"))
            for _ in range(60):  # each read picks one of the two secondaries at random
                await client.find(SecondaryPreferred())
                if len(rs[2].commands("find")) > before_back:
                    break
            else:
                raise AssertionError("60 reads and none reached the member that came back")
            assert len(rs[0].commands("find")) == 0


@both_clients
async def test_without_a_primary_writes_time_out_and_secondary_reads_are_served(
    kind: str,
) -> None:
    with ReplicaSet(primary=None) as rs:
        uri = rs.uri_with("heartbeatFrequencyMS=500&serverSelectionTimeoutMS=1000")
        async with Client(kind, uri) as client:
            await client.discover(None, rs[0], rs[1], rs[2])
            assert client.primary is None and not client.is_primary
            started = time.monotonic()
            with pytest.raises(ServerSelectionTimeoutError) as info:
                await client.insert(1)
            took = time.monotonic() - started
            assert 0.95 <= took < 2.5, f"the write failed after {took:.2f}s"
            message = str(info.value)
            assert "ReplicaSetNoPrimary" in message and "writable" in message
            assert all(member.hostport in message for member in rs), message
            assert rs.inserts() == [0, 0, 0]

            for read_preference in (SecondaryPreferred(), Secondary(), PrimaryPreferred()):
                before = sum(rs.finds())
                assert (await client.find(read_preference))["ok"] == 1
                assert sum(rs.finds()) == before + 1
            with pytest.raises(ServerSelectionTimeoutError, match="ReplicaSetNoPrimary"):
                await client.find(Primary())


def test_a_mongo_client_discovers_the_set_in_the_background_when_made() -> None:
    async def scenario() -> None:
        async with Client("sync", rs.uri_with()) as client:
            await client.wait(lambda: len(client.nodes) == 3, "discovery", timeout=1.5)

    with ReplicaSet() as rs:
        asyncio.run(scenario())


# ---------------------------------------------------------------------------- mongos


@both_clients
async def test_two_mongos_and_one_dies(kind: str) -> None:
    with MockServer(mongos(), name="mongos-a") as a, MockServer(mongos(), name="mongos-b") as b:
        serve_crud(a)
        serve_crud(b)
        async with Client(kind, f"mongodb://{a.hostport},{b.hostport}/?{FAST}") as client:
            await client.command("admin", "ping")
            await client.wait(lambda: client.nodes == {a.address, b.address}, "both mongos")
            assert client.is_mongos and client.is_primary
            assert client.topology_description.topology_type is TopologyType.Sharded
            with pytest.raises(InvalidOperation, match="several mongos"):
                _ = client.address
            for i in range(10):
                await client.insert(i)
                await client.find(SecondaryPreferred())
            assert len(a.commands("insert")) + len(b.commands("insert")) == 10

            a.stop()
            before = len(b.commands("insert"))
            failures = []
            for i in range(10, 20):
                try:
                    await client.insert(i)
                except AutoReconnect as exc:  # retryable writes will hide this later
                    failures.append(exc)
            # Only an operation sent to the dead mongos before the client knew can fail.
            assert len(failures) <= 1, failures
            assert len(b.commands("insert")) - before == 10 - len(failures)
            assert client.nodes == {b.address} and client.address == b.address
            assert client.is_mongos

            a.start()
            await client.wait(lambda: client.nodes == {a.address, b.address}, "mongos back")
        assert a.errors == [] and b.errors == []


# ---------------------------------------------------------------------------- direct connection


@both_clients
async def test_a_direct_connection_to_a_secondary_sends_everything_to_it(kind: str) -> None:
    with ReplicaSet() as rs:
        async with Client(kind, f"{rs[1].uri}&{FAST}") as client:
            assert (await client.find(SecondaryPreferred()))["ok"] == 1
            assert (await client.command("admin", "ping"))["ok"] == 1  # default: "primary"
            await client.find()
            assert rs.finds() == [0, 2, 0] and len(rs[1].commands("ping")) == 1
            description = client.topology_description
            assert description.topology_type is TopologyType.Single
            assert list(description.servers) == [rs[1].address]
            assert client.address == rs[1].address and client.nodes == {rs[1].address}
            assert client.secondaries == {rs[1].address} and client.primary is None
            assert not client.is_primary
            # Even a write goes to it (Single: always that server); the member refuses it.
            with pytest.raises(NotPrimaryError):
                await client.insert(1)
            assert rs.inserts() == [0, 1, 0]
            assert (await client.find())["ok"] == 1  # still usable afterwards
            # No discovery: the other members never hear from this client.
            assert rs[0].connections_opened == 0 and rs[2].connections_opened == 0


# ---------------------------------------------------------------------------- $readPreference

@both_clients
async def test_a_read_sent_to_a_secondary_carries_its_read_preference(kind: str) -> None:
    with ReplicaSet() as rs:
        async with Client(kind, rs.uri_with()) as client:
            await client.discover(rs[0], rs[1], rs[2])
            await client.find(SecondaryPreferred())
            (read,) = rs[1].commands("find") + rs[2].commands("find")
            assert read.get("$readPreference") == {"mode": "secondaryPreferred"}


@both_clients
async def test_a_direct_connection_to_a_secondary_reads_with_primary_preferred(
    kind: str,
) -> None:
    with ReplicaSet() as rs:
        async with Client(kind, f"{rs[1].uri}&{FAST}") as client:
            await client.find()
            (read,) = rs[1].commands("find")
            assert read.get("$readPreference") == {"mode": "primaryPreferred"}


# ---------------------------------------------------------------------------- load balancer


@both_clients
async def test_a_load_balancer_is_used_at_once_and_never_monitored(kind: str) -> None:
    with MockServer(name="lb") as lb:
        service_id = lb.load_balancer_mode()
        serve_crud(lb)
        async with Client(kind, f"mongodb://{lb.hostport}/?loadBalanced=true&{FAST}") as client:
            assert (await client.command("admin", "ping"))["ok"] == 1
            await client.insert(1)
            await client.find(SecondaryPreferred())
            description = client.topology_description
            assert description.topology_type is TopologyType.LoadBalanced
            assert description.servers[lb.address].server_type is ServerType.LoadBalancer
            assert client.address == lb.address

            server = client.raw._topology.server(lb.address)
            assert server is not None and server.monitor is None
            conn = await resolve(server.pool.checkout(WAIT))
            try:
                assert conn.hello.service_id == service_id
            finally:
                await resolve(server.pool.checkin(conn))

            # One connection, the pooled one: its handshake said loadBalanced, and no
            # monitor ever connected or sent a heartbeat.
            assert lb.connections_opened == 1
            handshakes = lb.commands(HELLO_NAMES)
            assert len(handshakes) == 1 and handshakes[0]["loadBalanced"] is True
            assert lb.command_names()[1:] == ["ping", "insert", "find"]
            heartbeats = (m.ServerHeartbeatStartedEvent, m.ServerHeartbeatSucceededEvent)
            assert client.watch.of(*heartbeats, m.ServerHeartbeatFailedEvent) == []
        assert lb.errors == []


# ---------------------------------------------------------------------------- DocumentDB


def documentdb_member(version: str, hosts: list[str], me: int, primary: int) -> dict[str, Any]:
    """A DocumentDB-like member (legacy ``ismaster``, old wire version, no
    ``topologyVersion``, ``helloOk`` or ``connectionId``) of a three-member set."""
    fields = documentdb(version, me=hosts[me])
    fields.update(
        hosts=hosts, primary=hosts[primary], ismaster=me == primary, secondary=me != primary
    )
    return fields


@both_clients
async def test_a_documentdb_like_cluster_routes_reads_and_writes(kind: str) -> None:
    for version in ("3.6", "5.0"):  # the oldest wire version we speak, and a recent one
        with ReplicaSet() as rs:
            for i, member in enumerate(rs):
                member.reset_hello(documentdb_member(version, rs.hosts, i, primary=0))
            uri = rs.uri_with(f"readPreference=secondaryPreferred&retryWrites=false&{FAST}")
            async with Client(kind, uri) as client:
                await client.discover(rs[0], rs[1], rs[2])
                assert client.read_preference == SecondaryPreferred()
                assert client.topology_description.topology_type is (
                    TopologyType.ReplicaSetWithPrimary
                )

                # Database.command ignores the client's read preference (as PyMongo's:
                # the primary unless read_preference= is given).
                before = rs.finds()
                await client.find()
                assert [n - b for n, b in zip(rs.finds(), before, strict=True)] == [1, 0, 0]
                before = rs.finds()
                for _ in range(5):
                    await client.find(client.read_preference)
                reads = [n - b for n, b in zip(rs.finds(), before, strict=True)]
                assert reads[0] == 0 and reads[1] + reads[2] == 5, (version, reads)

                for i in range(3):
                    await client.insert(i)
                assert rs.accepted == [[0, 1, 2], [], []]

            received = [c for member in rs for c in member.received]
            assert not [c.document for c in received if "txnNumber" in c.document]
            # No helloOk in the replies: the monitors keep asking with isMaster.
            assert {c.name for c in received if c.name in HELLO_NAMES} == {"isMaster"}


# ---------------------------------------------------------------------------- events


@both_clients
async def test_topology_server_and_heartbeat_events(kind: str) -> None:
    with ReplicaSet() as rs:
        addresses = {member.address for member in rs}
        client = Client(kind, rs.uri_with())
        watch = client.watch
        try:
            await client.discover(rs[0], rs[1], rs[2])
            await client.wait(
                lambda: len(watch.of(m.ServerHeartbeatSucceededEvent)) >= 6,
                "two heartbeats per member",
            )
        finally:
            await client.close()

        events = watch.of(
            m.TopologyOpenedEvent,
            m.TopologyDescriptionChangedEvent,
            m.TopologyClosedEvent,
            m.ServerOpeningEvent,
            m.ServerDescriptionChangedEvent,
            m.ServerClosedEvent,
        )
        assert isinstance(events[0], m.TopologyOpenedEvent)
        assert isinstance(events[-1], m.TopologyClosedEvent)
        assert len({e.topology_id for e in events}) == 1
        opened = [e.server_address for e in events if isinstance(e, m.ServerOpeningEvent)]
        closed = [e.server_address for e in events if isinstance(e, m.ServerClosedEvent)]
        assert sorted(opened) == sorted(addresses) and sorted(closed) == sorted(addresses)
        # Each member found, once (the primary may first have been a PossiblePrimary,
        # named by a secondary's reply: that step publishes no event).
        found = {
            e.server_address: e.new_description.server_type
            for e in events
            if isinstance(e, m.ServerDescriptionChangedEvent)
            and e.previous_description.server_type
            in (ServerType.Unknown, ServerType.PossiblePrimary)
        }
        assert found == {
            rs[0].address: ServerType.RSPrimary,
            rs[1].address: ServerType.RSSecondary,
            rs[2].address: ServerType.RSSecondary,
        }
        types = [
            e.new_description.topology_type
            for e in events
            if isinstance(e, m.TopologyDescriptionChangedEvent)
        ]
        assert TopologyType.ReplicaSetWithPrimary in types
        assert types[-1] is TopologyType.Unknown  # the closed topology: no servers

        # Heartbeats: per member, started then succeeded, in pairs (the last check may
        # have been cut by close(): a started without its answer, or a failure).
        beats = watch.of(
            m.ServerHeartbeatStartedEvent,
            m.ServerHeartbeatSucceededEvent,
            m.ServerHeartbeatFailedEvent,
        )
        for address in addresses:
            mine = [type(e).__name__ for e in beats if e.connection_id == address]
            pairs = mine[: len(mine) - len(mine) % 2]
            if pairs and pairs[-1] == "ServerHeartbeatFailedEvent":
                pairs = pairs[:-2]
            assert len(pairs) >= 2 and pairs == [
                "ServerHeartbeatStartedEvent",
                "ServerHeartbeatSucceededEvent",
            ] * (len(pairs) // 2), (address, mine)
        replies = [e.reply for e in beats if isinstance(e, m.ServerHeartbeatSucceededEvent)]
        assert all(reply["setName"] == "rs0" for reply in replies)
