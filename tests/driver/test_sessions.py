"""Explicit sessions: one lsid for the operations given the session, cursors in it,
times advanced, ownership and end checked; transactions refused clearly."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from driver import AsyncMongoClient, MongoClient
from driver import monitoring as m
from driver.errors import InvalidOperation


class Lsids(m.CommandListener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def started(self, event: m.CommandStartedEvent) -> None:
        with self.lock:
            self.seen.append((event.command_name, event.command.get("lsid")))


@pytest.fixture
def client(mongodb_uri: str) -> Iterator[tuple[MongoClient, Lsids]]:
    listener = Lsids()
    with MongoClient(mongodb_uri, event_listeners=[listener]) as c:
        yield c, listener
        c.drop_database("test_sessions")


def test_operations_in_a_session_share_its_lsid(client: tuple[MongoClient, Lsids]) -> None:
    c, listener = client
    coll = c.test_sessions.things
    with c.start_session() as session:
        coll.insert_one({"_id": 1}, session=session)
        coll.insert_many([{"_id": i} for i in range(2, 8)], session=session)
        assert coll.find_one({"_id": 1}, session=session) == {"_id": 1}
        assert [d["_id"] for d in coll.find({}, session=session, batch_size=2).sort("_id")] == list(
            range(1, 8)
        )
        coll.update_one({"_id": 1}, {"$set": {"a": 1}}, session=session)
        assert coll.count_documents({}, session=session) == 7
        lsid = session.session_id
        assert session.operation_time is not None and session.cluster_time is not None
        # Meanwhile, an operation outside the session gets another (implicit) lsid.
        coll.find_one({"_id": 1})
        assert listener.seen[-1][1] != lsid
    in_session = [lsid_ for name, lsid_ in listener.seen[:-1]
                  if name in ("insert", "find", "getMore", "update", "aggregate")]
    assert in_session and all(found == lsid for found in in_session)
    assert any(name == "getMore" for name, _ in listener.seen)


def test_an_ended_session_or_another_clients_session_is_refused(
    client: tuple[MongoClient, Lsids], mongodb_uri: str
) -> None:
    c, _ = client
    session = c.start_session()
    session.end_session()
    assert session.has_ended
    with pytest.raises(InvalidOperation, match="ended session"):
        c.test_sessions.things.find_one({}, session=session)
    with (
        MongoClient(mongodb_uri) as other,
        other.start_session() as foreign,
        pytest.raises(InvalidOperation, match="MongoClient that started it"),
    ):
        c.test_sessions.things.insert_one({"x": 1}, session=foreign)
    with pytest.raises(TypeError, match="ClientSession"):
        c.test_sessions.things.find_one({}, session="not a session")


def test_transactions_are_refused_clearly(client: tuple[MongoClient, Lsids]) -> None:
    c, _ = client
    with c.start_session() as session:
        assert not session.in_transaction
        with pytest.raises(InvalidOperation, match="transactions are not supported"):
            session.start_transaction()


def test_a_session_cursor_does_not_end_the_session(client: tuple[MongoClient, Lsids]) -> None:
    c, _ = client
    coll = c.test_sessions.things
    coll.insert_many([{"_id": i} for i in range(5)])
    with c.start_session() as session:
        cursor = coll.find({}, session=session, batch_size=2)
        assert len(list(cursor)) == 5 and cursor.session is session
        assert coll.find_one({"_id": 0}, session=session) == {"_id": 0}  # still usable
        assert c.test_sessions.command("ping", session=session)["ok"] == 1


def test_async_sessions(mongodb_uri: str) -> None:
    async def main() -> None:
        async with AsyncMongoClient(mongodb_uri) as c:
            coll = c.test_sessions_async.things
            async with c.start_session() as session:
                await coll.insert_one({"_id": 1}, session=session)
                assert await coll.find_one({"_id": 1}, session=session) == {"_id": 1}
                assert session.operation_time is not None
            await c.drop_database("test_sessions_async")

    asyncio.run(main())
