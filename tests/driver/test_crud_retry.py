"""Retryable writes and reads through CRUD methods, with SecantusDB's failCommand
failpoint, for MongoClient and AsyncMongoClient alike.

Every failpoint is scoped to the test client's ``appName`` (so no other client trips
it), fires once (``times: 1``), and is turned off in a ``finally``. It is set through a
separate admin client so the test client's command events show only its own work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from driver import DeleteOne, InsertOne, MongoClient, ReplaceOne, ReturnDocument, UpdateOne
from driver.bson import decode
from driver.errors import AutoReconnect, OperationFailure
from driver.monitoring import CommandFailedEvent
from tests.driver.crud_helpers import KINDS, Env, crud_env, unique_name


@pytest.fixture(scope="module")
def admin(mongodb_uri: str) -> Iterator[MongoClient]:
    with MongoClient(mongodb_uri) as client:
        yield client


@contextlib.contextmanager
def fail_once(admin: MongoClient, app_name: str, **data: Any) -> Iterator[None]:
    """failCommand for the next matching command of the client named ``app_name``."""
    admin.admin.command({
        "configureFailPoint": "failCommand",
        "mode": {"times": 1},
        "data": {**data, "appName": app_name},
    })
    try:
        yield
    finally:
        admin.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


@contextlib.contextmanager
def retry_env(kind: str, uri: str, **options: Any) -> Iterator[tuple[Env, str]]:
    """A client named for the failpoint. A state-change error (91) marks the server
    Unknown; its monitor, streaming, answers again within heartbeatFrequencyMS (as with
    PyMongo): the minimum 500 ms instead of 10 s keeps the retry quick."""
    app_name = unique_name("retry")
    with crud_env(kind, uri, appname=app_name, heartbeatFrequencyMS=500, **options) as env:
        yield env, app_name


def _started(env: Env, name: str) -> list[dict[str, Any]]:
    return env.listener.started_commands(name)


@pytest.mark.parametrize("kind", KINDS)
def test_insert_is_retried_once_after_a_closed_connection(
    kind: str, mongodb_uri: str, admin: MongoClient
) -> None:
    with retry_env(kind, mongodb_uri) as (env, app_name):
        env.coll.insert_one({"_id": "warm"})  # the pool and session exist
        env.listener.clear()
        doc: dict[str, Any] = {"v": 1}
        with fail_once(admin, app_name, failCommands=["insert"], closeConnection=True):
            result = env.coll.insert_one(doc)
        assert result.inserted_id == doc["_id"]
        first, second = _started(env, "insert")
        assert first["txnNumber"] == second["txnNumber"]
        assert first["lsid"] == second["lsid"]
        assert first["documents"] == second["documents"] == [doc]
        assert [e.command_name for e in env.listener.of(CommandFailedEvent)] == ["insert"]
        assert env.coll.count_documents({"_id": doc["_id"]}) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_without_retry_writes_the_network_error_reaches_the_caller(
    kind: str, mongodb_uri: str, admin: MongoClient
) -> None:
    with retry_env(kind, mongodb_uri, retryWrites=False) as (env, app_name):
        env.coll.insert_one({"_id": "warm"})
        env.listener.clear()
        with (
            fail_once(admin, app_name, failCommands=["insert"], closeConnection=True),
            pytest.raises(AutoReconnect),
        ):
            env.coll.insert_one({"_id": "lost"})
        (insert,) = _started(env, "insert")
        assert "txnNumber" not in insert
        # The client recovers for the next operation.
        env.coll.insert_one({"_id": "after"})
        assert env.coll.find_one("after") == {"_id": "after"}


@pytest.mark.parametrize("kind", KINDS)
def test_find_is_retried_once_after_a_closed_connection(
    kind: str, mongodb_uri: str, admin: MongoClient
) -> None:
    with retry_env(kind, mongodb_uri) as (env, app_name):
        env.coll.insert_many([{"_id": i} for i in range(3)])
        env.listener.clear()
        with fail_once(admin, app_name, failCommands=["find"], closeConnection=True):
            assert env.coll.find_one(2) == {"_id": 2}
        assert len(_started(env, "find")) == 2
        env.listener.clear()
        with fail_once(admin, app_name, failCommands=["find"], closeConnection=True):
            assert [d["_id"] for d in env.coll.find().sort("_id")] == [0, 1, 2]
        assert len(_started(env, "find")) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_without_retry_reads_the_network_error_reaches_the_caller(
    kind: str, mongodb_uri: str, admin: MongoClient
) -> None:
    with retry_env(kind, mongodb_uri, retryReads=False) as (env, app_name):
        env.coll.insert_one({"_id": 1})
        env.listener.clear()
        with (
            fail_once(admin, app_name, failCommands=["find"], closeConnection=True),
            pytest.raises(AutoReconnect),
        ):
            env.coll.find_one(1)
        assert len(_started(env, "find")) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_labelled_error_code_is_retried(
    kind: str, mongodb_uri: str, admin: MongoClient
) -> None:
    with retry_env(kind, mongodb_uri) as (env, app_name):
        env.coll.insert_one({"_id": "warm"})
        env.listener.clear()
        with fail_once(admin, app_name, failCommands=["insert"], errorCode=91,
                       errorLabels=["RetryableWriteError"]):
            env.coll.insert_one({"_id": "x"})
        first, second = _started(env, "insert")
        assert first["txnNumber"] == second["txnNumber"]
        (failed,) = env.listener.of(CommandFailedEvent)
        assert failed.failure["code"] == 91
        assert env.coll.count_documents({"_id": "x"}) == 1
        env.listener.clear()
        with fail_once(admin, app_name, failCommands=["findAndModify"], errorCode=91,
                       errorLabels=["RetryableWriteError"]):
            after = env.coll.find_one_and_update({"_id": "x"}, {"$inc": {"n": 1}},
                                                 return_document=ReturnDocument.AFTER)
        assert after == {"_id": "x", "n": 1}
        assert len(_started(env, "findAndModify")) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_errors_that_must_not_be_retried(
    kind: str, mongodb_uri: str, admin: MongoClient
) -> None:
    with retry_env(kind, mongodb_uri) as (env, app_name):
        env.coll.insert_one({"_id": 1})
        env.listener.clear()
        # A multi-document write is never retried, label or not.
        with (
            fail_once(admin, app_name, failCommands=["update"], errorCode=91,
                      errorLabels=["RetryableWriteError"]),
            pytest.raises(AutoReconnect) as info,
        ):
            env.coll.update_many({}, {"$set": {"a": 1}})
        assert type(info.value).__name__ == "NotPrimaryError"
        assert info.value.details["code"] == 91
        (update,) = _started(env, "update")
        assert "txnNumber" not in update
        env.listener.clear()
        # A command error without the label is not retryable.
        with (
            fail_once(admin, app_name, failCommands=["insert"], errorCode=2, errorLabels=[]),
            pytest.raises(OperationFailure) as failure,
        ):
            env.coll.insert_one({"_id": 3})
        assert failure.value.code == 2 and len(_started(env, "insert")) == 1
        env.listener.clear()
        # With the label, any code is (the label decides on 4.4+).
        with fail_once(admin, app_name, failCommands=["insert"], errorCode=2,
                       errorLabels=["RetryableWriteError"]):
            env.coll.insert_one({"_id": 4})
        assert len(_started(env, "insert")) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_an_unlabelled_state_change_error_is_not_retried(
    kind: str, mongodb_uri: str, admin: MongoClient
) -> None:
    with retry_env(kind, mongodb_uri) as (env, app_name):
        env.coll.insert_one({"_id": 1})
        env.listener.clear()
        # errorLabels=[] keeps the server from adding the label itself.
        with (
            fail_once(admin, app_name, failCommands=["insert"], errorCode=91, errorLabels=[]),
            pytest.raises(AutoReconnect) as info,
        ):
            env.coll.insert_one({"_id": 2})
        assert type(info.value).__name__ == "NotPrimaryError"
        assert info.value.details["code"] == 91
        assert len(_started(env, "insert")) == 1


def _every_kind_of_write(env: Env) -> None:
    coll = env.coll
    coll.insert_one({"_id": 1, "n": 0})
    coll.insert_many([{"_id": 2}, {"_id": 3}])
    coll.update_one({"_id": 1}, {"$inc": {"n": 1}})
    coll.replace_one({"_id": 2}, {"r": 1})
    coll.delete_one({"_id": 3})
    coll.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}})
    coll.find_one_and_replace({"_id": 2}, {"r": 2})
    coll.find_one_and_delete({"_id": 2})
    coll.bulk_write([InsertOne({"_id": 4}), UpdateOne({"_id": 4}, {"$set": {"a": 1}}),
                     ReplaceOne({"_id": 4}, {"b": 1}), DeleteOne({"_id": 4})])
    coll.update_many({}, {"$set": {"m": 1}})
    coll.delete_many({"_id": 99})


def _doc(statement: Any) -> Any:
    # Bulk batches show their statements as BSON in command events (a driver bug, see
    # test_crud_collection.test_bulk_events_show_documents); read either form.
    return decode(statement) if isinstance(statement, bytes) else statement


@pytest.mark.parametrize("kind", KINDS)
def test_no_txn_number_with_retry_writes_false(kind: str, mongodb_uri: str) -> None:
    with crud_env(kind, mongodb_uri, retryWrites=False) as env:
        _every_kind_of_write(env)
        commands = env.listener.started_commands()
        assert len(commands) >= 13
        assert [c for c in commands if "txnNumber" in c] == []


@pytest.mark.parametrize("kind", KINDS)
def test_txn_numbers_with_retry_writes(kind: str, mongodb_uri: str) -> None:
    with crud_env(kind, mongodb_uri) as env:
        _every_kind_of_write(env)
        commands = env.listener.started_commands()
        for command in commands:
            name = next(iter(command))
            multi = (name == "update" and any(_doc(u).get("multi") for u in command["updates"])
                     ) or (name == "delete" and any(_doc(d)["limit"] == 0
                                                     for d in command["deletes"]))
            if name in ("insert", "findAndModify", "update", "delete") and not multi:
                assert "txnNumber" in command, command
            else:
                assert "txnNumber" not in command, command
        numbers = [(bytes(c["lsid"]["id"]), c["txnNumber"]) for c in commands
                   if "txnNumber" in c]
        assert len(numbers) == 11
        assert len(set(numbers)) == len(numbers)  # never reused within a session
