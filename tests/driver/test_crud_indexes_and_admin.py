"""Indexes, collections, databases and client administration against SecantusDB,
for MongoClient and AsyncMongoClient alike (the async one through crud_helpers.Bridge).

Where the shape of a result matters (``index_information``, ``options``), PyMongo
reads the same collection and the two answers must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pymongo
import pytest

from driver import ASCENDING, DESCENDING, IndexModel
from driver.errors import CollectionInvalid, DuplicateKeyError, OperationFailure
from tests.driver.crud_helpers import KINDS, Env, crud_env, unique_name


@pytest.fixture(params=KINDS)
def env(request: pytest.FixtureRequest, mongodb_uri: str) -> Iterator[Env]:
    with crud_env(request.param, mongodb_uri) as e:
        yield e


@pytest.fixture(scope="module")
def reference(mongodb_uri: str) -> Iterator[pymongo.MongoClient[Any]]:
    """PyMongo on the same server: the reference for result shapes."""
    with pymongo.MongoClient(mongodb_uri) as client:
        yield client


# ----------------------------------------------------------------------------- indexes


def test_create_index_options_and_index_information(
    env: Env, reference: pymongo.MongoClient[Any]
) -> None:
    coll = env.coll
    assert coll.create_index("email", unique=True) == "email_1"
    assert coll.create_index([("a", ASCENDING), ("b", DESCENDING)], sparse=True) == "a_1_b_-1"
    assert coll.create_index(
        "status", name="active_status", partialFilterExpression={"active": True}
    ) == "active_status"
    assert coll.create_index("created", expireAfterSeconds=3600) == "created_1"
    assert coll.create_index("title", collation={"locale": "en", "strength": 2}) == "title_1"
    assert coll.create_index({"h": 1}, hidden=True, name="hidden_h") == "hidden_h"
    info = coll.index_information()
    assert info == reference[env.db.name]["things"].index_information()
    assert set(info) == {"_id_", "email_1", "a_1_b_-1", "active_status", "created_1",
                         "title_1", "hidden_h"}
    assert info["_id_"]["key"] == [("_id", 1)]
    assert info["email_1"]["unique"] is True and info["email_1"]["key"] == [("email", 1)]
    assert info["a_1_b_-1"]["key"] == [("a", 1), ("b", -1)] and info["a_1_b_-1"]["sparse"]
    assert info["active_status"]["partialFilterExpression"] == {"active": True}
    assert info["created_1"]["expireAfterSeconds"] == 3600
    assert info["title_1"]["collation"]["locale"] == "en"
    assert info["title_1"]["collation"]["strength"] == 2
    assert info["hidden_h"]["hidden"] is True
    assert all("name" not in entry for entry in info.values())
    (create, *_) = env.listener.started_commands("createIndexes")
    assert create["indexes"] == [{"unique": True, "name": "email_1", "key": {"email": 1}}]


def test_create_indexes_and_list_indexes(env: Env) -> None:
    coll = env.coll
    names = coll.create_indexes([
        IndexModel([("x", ASCENDING)]),
        IndexModel([("y", DESCENDING), ("z", ASCENDING)], name="yz"),
    ])
    assert names == ["x_1", "yz"]
    (create,) = env.listener.started_commands("createIndexes")
    assert len(create["indexes"]) == 2  # one command for both
    listed = {doc["name"]: doc for doc in coll.list_indexes()}
    assert set(listed) == {"_id_", "x_1", "yz"}
    assert dict(listed["yz"]["key"]) == {"y": -1, "z": 1}
    assert list(listed["yz"]["key"]) == ["y", "z"]  # key order is kept
    assert list(env.db["missing"].list_indexes()) == []
    assert env.db["missing"].index_information() == {}
    with pytest.raises(TypeError):
        coll.create_indexes([])
    with pytest.raises(TypeError):
        coll.create_indexes([{"key": {"a": 1}}])


def test_indexes_are_enforced(env: Env) -> None:
    coll = env.coll
    coll.create_index("u", unique=True, sparse=True)
    coll.create_index("p", unique=True, partialFilterExpression={"live": True})
    coll.insert_many([{"_id": 1}, {"_id": 2}])  # sparse: two documents without "u"
    coll.insert_many([{"_id": 3, "p": 1, "live": False}, {"_id": 4, "p": 1, "live": False}])
    coll.insert_one({"_id": 5, "p": 1, "live": True})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": 6, "p": 1, "live": True})
    coll.insert_one({"_id": 7, "u": "x"})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": 8, "u": "x"})


def test_drop_index_by_name_and_keys_and_drop_indexes(env: Env) -> None:
    coll = env.coll
    coll.create_index("x")
    coll.create_index([("y", 1), ("z", -1)])
    coll.create_index("w", name="named")
    coll.drop_index("x_1")
    coll.drop_index([("y", 1), ("z", -1)])
    assert set(coll.index_information()) == {"_id_", "named"}
    drops = env.listener.started_commands("dropIndexes")
    assert [d["index"] for d in drops] == ["x_1", "y_1_z_-1"]
    with pytest.raises(OperationFailure) as info:
        coll.drop_index("x_1")
    assert info.value.code == 27  # IndexNotFound
    with pytest.raises(ValueError):
        coll.drop_index("*")
    coll.create_index("v")
    coll.drop_indexes()
    assert list(coll.index_information()) == ["_id_"]
    assert env.listener.started_commands("dropIndexes")[-1]["index"] == "*"


# ----------------------------------------------------------------------------- database


def test_list_collections_and_names(env: Env) -> None:
    db = env.db
    db["alpha"].insert_one({"_id": 1})
    db["beta"].insert_one({"_id": 1})
    db.create_collection("gamma", capped=True, size=4096)
    assert sorted(db.list_collection_names()) == ["alpha", "beta", "gamma"]
    assert db.list_collection_names(filter={"name": "beta"}) == ["beta"]
    assert db.list_collection_names(filter={"name": {"$regex": "^(alpha|gamma)$"}}) in (
        ["alpha", "gamma"], ["gamma", "alpha"])
    assert db.list_collection_names(filter={"name": "nope"}) == []
    infos = {info["name"]: info for info in db.list_collections()}
    assert set(infos) == {"alpha", "beta", "gamma"}
    assert infos["alpha"]["type"] == "collection"
    assert infos["gamma"]["options"]["capped"] is True
    (only,) = db.list_collections(filter={"options.capped": True})
    assert only["name"] == "gamma"
    names_only = env.listener.started_commands("listCollections")[0]
    assert names_only["nameOnly"] is True


def test_create_collection(env: Env, reference: pymongo.MongoClient[Any]) -> None:
    db = env.db
    checked = db.create_collection("checked", validator={"n": {"$type": "int"}})
    assert checked.name == "checked" and checked.full_name == f"{db.name}.checked"
    assert checked.options() == {"validator": {"n": {"$type": "int"}}}
    capped = db.create_collection("capped", capped=True, size=8192, max=3)
    assert capped.options() == reference[db.name]["capped"].options()
    assert capped.options()["capped"] is True and capped.options()["max"] == 3
    with pytest.raises(CollectionInvalid):
        db.create_collection("checked")
    db["plain"].insert_one({"_id": 1})
    assert db["plain"].options() == {}
    assert db["missing"].options() == {}
    creates = env.listener.started_commands("create")
    assert [c["create"] for c in creates] == ["checked", "capped"]
    assert creates[1]["capped"] is True and creates[1]["size"] == 8192


def test_drop_collection_and_rename(env: Env) -> None:
    db = env.db
    db["a"].insert_one({"_id": 1, "v": "a"})
    db["b"].insert_one({"_id": 2, "v": "b"})
    db.drop_collection("never_existed")  # not an error
    db["never_existed"].drop()
    db["a"].rename("renamed")
    assert sorted(db.list_collection_names()) == ["b", "renamed"]
    assert db["renamed"].find_one(1) == {"_id": 1, "v": "a"}
    with pytest.raises(OperationFailure) as info:
        db["renamed"].rename("b")
    assert info.value.code == 48  # NamespaceExists
    db["renamed"].rename("b", dropTarget=True)
    assert db.list_collection_names() == ["b"]
    assert db["b"].find_one(1) == {"_id": 1, "v": "a"} and db["b"].find_one(2) is None
    db.drop_collection(db["b"])
    assert db.list_collection_names() == []
    (rename, *_) = env.listener.started_commands("renameCollection")
    assert rename["$db"] == "admin" and rename["to"] == f"{db.name}.renamed"


# ----------------------------------------------------------------------------- client


def test_list_and_drop_databases(env: Env) -> None:
    client = env.client
    first, second = unique_name("admin_a"), unique_name("admin_b")
    try:
        client[first]["c"].insert_one({"_id": 1})
        client[second]["c"].insert_one({"_id": 1})
        names = client.list_database_names()
        assert first in names and second in names
        infos = {info["name"]: info for info in client.list_databases()}
        assert first in infos
        client.drop_database(first)
        client.drop_database(client[second])
        names = client.list_database_names()
        assert first not in names and second not in names
        client.drop_database(unique_name("never"))  # not an error
    finally:
        client.drop_database(first)
        client.drop_database(second)
    with pytest.raises(TypeError):
        client.drop_database(5)


def test_server_info(env: Env, reference: pymongo.MongoClient[Any]) -> None:
    info = env.client.server_info()
    assert info["ok"] == 1 and isinstance(info["version"], str)
    assert info["version"] == reference.server_info()["version"]
    assert list(info["versionArray"])[:2] == [int(p) for p in info["version"].split(".")[:2]]


def test_database_aggregate_current_op(env: Env) -> None:
    ops = list(env.client.admin.aggregate([{"$currentOp": {}}, {"$limit": 5}]))
    assert ops and all("op" in op or "type" in op for op in ops)
    (aggregate,) = env.listener.started_commands("aggregate")
    assert aggregate["aggregate"] == 1 and aggregate["$db"] == "admin"


def test_database_aggregate_list_local_sessions(env: Env) -> None:
    env.coll.insert_one({"_id": 1})  # a session the server has seen
    sessions = list(env.client.admin.aggregate([{"$listLocalSessions": {}}]))
    (aggregate,) = env.listener.started_commands("aggregate")
    assert aggregate["aggregate"] == 1 and aggregate["pipeline"] == [{"$listLocalSessions": {}}]
    if not all(isinstance(s.get("_id"), dict) and "id" in s["_id"] for s in sessions):
        pytest.skip("SecantusDB answers $listLocalSessions with $currentOp documents, not "
                    "session documents ({_id: {id, uid}, lastUse}): nothing to check")
    assert sessions
