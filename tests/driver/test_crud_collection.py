"""Collection CRUD against SecantusDB, for MongoClient and AsyncMongoClient alike.

Every test runs twice (``[sync]`` / ``[async]``): the async client is driven through
:class:`tests.driver.crud_helpers.Bridge`. Each test has its own database, dropped at
the end, and keeps its data small (SecantusDB scans slowly).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from driver import (
    DeleteMany,
    DeleteOne,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
    WriteConcern,
)
from driver.bson import ObjectId
from driver.errors import (
    BulkWriteError,
    DuplicateKeyError,
    InvalidOperation,
    OperationFailure,
    WriteError,
)
from driver.results import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
)
from tests.driver.crud_helpers import KINDS, Env, Recorder, crud_env, open_client, wait_until


@pytest.fixture(params=KINDS)
def env(request: pytest.FixtureRequest, mongodb_uri: str) -> Iterator[Env]:
    with crud_env(request.param, mongodb_uri) as e:
        yield e


def _seed(env: Env, n: int = 10) -> Any:
    """``things`` with ``{_id: i, x: i, y: 2i, z: "s<i>", tag: "odd"/"even"}``."""
    coll = env.coll
    coll.insert_many(
        [{"_id": i, "x": i, "y": 2 * i, "z": f"s{i}", "tag": "odd" if i % 2 else "even"}
         for i in range(n)]
    )
    env.listener.clear()
    return coll


def test_each_kind_runs_its_own_client(env: Env) -> None:
    expected = {"sync": ("MongoClient", "Collection", "Cursor"),
                "async": ("AsyncMongoClient", "AsyncCollection", "AsyncCursor")}[env.kind]
    cursor = env.coll.find()
    found = (env.client, env.coll, cursor)
    if env.kind == "async":
        found = tuple(item.target for item in found)
    assert tuple(type(item).__name__ for item in found) == expected


# ----------------------------------------------------------------------------- inserts


def test_insert_one_assigns_the_id_in_place(env: Env) -> None:
    doc: dict[str, Any] = {"x": 1}
    result = env.coll.insert_one(doc)
    assert isinstance(result, InsertOneResult) and result.acknowledged
    assert isinstance(doc["_id"], ObjectId) and result.inserted_id is doc["_id"]
    assert list(doc) == ["x", "_id"]
    assert env.coll.find_one(result.inserted_id) == doc
    given = env.coll.insert_one({"_id": "mine", "x": 2})
    assert given.inserted_id == "mine"
    assert env.coll.find_one("mine") == {"_id": "mine", "x": 2}
    insert = env.listener.started_commands("insert")[0]
    assert insert["documents"] == [doc] and insert["ordered"] is True


def test_insert_many_returns_ids_in_order(env: Env) -> None:
    docs: list[dict[str, Any]] = [{"n": i} for i in range(5)] + [{"_id": 99, "n": 5}]
    result = env.coll.insert_many(docs)
    assert isinstance(result, InsertManyResult) and result.acknowledged
    assert result.inserted_ids == [doc["_id"] for doc in docs]
    assert all(isinstance(i, ObjectId) for i in result.inserted_ids[:5])
    assert result.inserted_ids[5] == 99
    assert env.coll.count_documents({}) == 6
    assert len(env.listener.started_commands("insert")) == 1  # one batch


def test_insert_many_ordered_stops_at_the_first_error(env: Env) -> None:
    docs = [{"_id": 1}, {"_id": 2}, {"_id": 1, "dup": True}, {"_id": 3}]
    with pytest.raises(BulkWriteError) as info:
        env.coll.insert_many(docs)
    details = info.value.details
    assert info.value.code == 65  # PyMongo's code for "several errors may be in details"
    assert details["nInserted"] == 2
    assert details["writeConcernErrors"] == []
    (error,) = details["writeErrors"]
    assert error["index"] == 2 and error["code"] == 11000
    assert error["op"] == {"_id": 1, "dup": True}
    assert "duplicate key" in error["errmsg"]
    for key in ("nUpserted", "nMatched", "nModified", "nRemoved"):
        assert details[key] == 0
    assert details["upserted"] == []
    assert env.coll.find_one(3) is None
    assert sorted(d["_id"] for d in env.coll.find({}, ["_id"])) == [1, 2]


def test_insert_many_unordered_goes_on_after_errors(env: Env) -> None:
    docs = [{"_id": 1}, {"_id": 1}, {"_id": 2}, {"_id": 2}, {"_id": 3}]
    with pytest.raises(BulkWriteError) as info:
        env.coll.insert_many(docs, ordered=False)
    details = info.value.details
    assert details["nInserted"] == 3
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(1, 11000), (3, 11000)]
    assert sorted(d["_id"] for d in env.coll.find()) == [1, 2, 3]
    (insert,) = env.listener.started_commands("insert")
    assert insert["ordered"] is False


def test_bulk_events_show_documents(env: Env) -> None:
    docs = [{"_id": 1, "a": 1}, {"_id": 2}]
    env.coll.insert_many(docs)
    env.coll.bulk_write([InsertOne({"_id": 3}), UpdateOne({"_id": 3}, {"$set": {"b": 1}}),
                         DeleteOne({"_id": 1})])
    inserts = env.listener.started_commands("insert")
    assert inserts[0]["documents"] == docs
    assert inserts[1]["documents"] == [{"_id": 3}]
    (update,) = env.listener.started_commands("update")
    assert update["updates"] == [
        {"q": {"_id": 3}, "u": {"$set": {"b": 1}}, "multi": False, "upsert": False}]
    (delete,) = env.listener.started_commands("delete")
    assert delete["deletes"] == [{"q": {"_id": 1}, "limit": 1}]


# ----------------------------------------------------------------------------- find


def test_find_filter_and_projection(env: Env) -> None:
    coll = _seed(env)
    got = list(coll.find({"x": {"$gte": 7}}, {"y": 1}).sort("_id"))
    assert got == [{"_id": 7, "y": 14}, {"_id": 8, "y": 16}, {"_id": 9, "y": 18}]
    assert list(coll.find({"_id": 3}, ["z", "tag"])) == [{"_id": 3, "z": "s3", "tag": "odd"}]
    assert list(coll.find({"_id": 3}, projection={"_id": 0, "z": 1})) == [{"z": "s3"}]
    assert list(coll.find({"_id": 3}, {"y": 0, "z": 0, "tag": 0})) == [{"_id": 3, "x": 3}]
    find = env.listener.started_commands("find")[0]
    assert find["filter"] == {"x": {"$gte": 7}} and find["projection"] == {"y": 1}
    assert list(coll.find({"_id": 100})) == []


def test_sort_by_key_and_direction_and_by_list(env: Env) -> None:
    coll = _seed(env)
    assert [d["_id"] for d in coll.find().sort("x", -1)] == list(range(9, -1, -1))
    ordered = [d["_id"] for d in coll.find().sort([("tag", 1), ("x", -1)])]
    assert ordered == [8, 6, 4, 2, 0, 9, 7, 5, 3, 1]
    assert [d["_id"] for d in coll.find(sort=[("y", -1)], limit=2)] == [9, 8]
    sorts = [c["sort"] for c in env.listener.started_commands("find")]
    assert sorts == [{"x": -1}, {"tag": 1, "x": -1}, {"y": -1}]


def test_skip_limit_and_negative_limit(env: Env) -> None:
    coll = _seed(env)
    assert [d["_id"] for d in coll.find().sort("_id").skip(3).limit(4)] == [3, 4, 5, 6]
    assert [d["_id"] for d in coll.find(skip=8).sort("_id")] == [8, 9]
    env.listener.clear()
    cursor = coll.find().sort("_id").limit(-3)
    assert [d["_id"] for d in cursor] == [0, 1, 2]
    (find,) = env.listener.started_commands("find")
    assert find["limit"] == 3 and find["singleBatch"] is True
    assert env.listener.started_commands("getMore") == []
    assert not cursor.alive


def test_batch_size_means_get_more(env: Env) -> None:
    coll = _seed(env)
    docs = list(coll.find().sort("_id").batch_size(3))
    assert [d["_id"] for d in docs] == list(range(10))
    (find,) = env.listener.started_commands("find")
    assert find["batchSize"] == 3
    get_mores = env.listener.started_commands("getMore")
    assert len(get_mores) == 3
    assert all(g["batchSize"] == 3 and g["collection"] == "things" for g in get_mores)
    env.listener.clear()
    limited = [d["_id"] for d in coll.find().sort("_id").limit(7).batch_size(3)]
    assert limited == list(range(7))
    assert [g["batchSize"] for g in env.listener.started_commands("getMore")] == [3, 1]


def test_hint_max_time_ms_comment_collation(env: Env) -> None:
    coll = _seed(env)
    coll.create_index("x")
    env.listener.clear()
    assert [d["_id"] for d in coll.find({"x": {"$lt": 3}}).hint([("x", 1)])] == [0, 1, 2]
    assert [d["_id"] for d in coll.find({"x": {"$lt": 2}}, hint="x_1")] == [0, 1]
    hints = [c["hint"] for c in env.listener.started_commands("find")]
    assert hints == [{"x": 1}, "x_1"]
    with pytest.raises(OperationFailure) as info:
        list(coll.find().hint("no_such_index"))
    assert info.value.code == 2
    env.listener.clear()
    got = list(coll.find({"_id": {"$lt": 4}}).max_time_ms(5000).comment("c-1").batch_size(2))
    assert len(got) == 4
    find = env.listener.started_commands("find")[0]
    assert find["maxTimeMS"] == 5000 and find["comment"] == "c-1"
    get_mores = env.listener.started_commands("getMore")
    assert get_mores and all(g["comment"] == "c-1" for g in get_mores)
    insensitive = {"locale": "en", "strength": 2}
    assert list(coll.find({"z": "S4"}, ["_id"], collation=insensitive)) == [{"_id": 4}]
    assert list(coll.find({"z": "S4"}, ["_id"])) == []
    assert list(coll.find({"z": "S5"}, ["_id"]).collation(insensitive)) == [{"_id": 5}]


def test_min_max_with_hint_return_key_show_record_id(env: Env) -> None:
    coll = _seed(env)
    coll.create_index("x")
    got = coll.find().min([("x", 3)]).max([("x", 6)]).hint([("x", 1)])
    assert [d["_id"] for d in got] == [3, 4, 5]
    assert list(coll.find({"_id": 3}, return_key=True)) == [{"_id": 3}]
    assert list(coll.find({"x": 4}).hint([("x", 1)]).sort("x")) == [
        {"_id": 4, "x": 4, "y": 8, "z": "s4", "tag": "even"}
    ]
    assert list(coll.find({"x": 4}, return_key=True).hint("x_1")) == [{"x": 4}]
    (doc,) = coll.find({"_id": 2}, show_record_id=True)
    assert "$recordId" in doc and doc["x"] == 2
    commands = env.listener.started_commands("find")
    assert commands[0]["min"] == {"x": 3} and commands[0]["max"] == {"x": 6}
    assert commands[1]["returnKey"] is True and commands[-1]["showRecordId"] is True


def test_modifiers_after_iteration_are_refused(env: Env) -> None:
    coll = _seed(env, 3)
    cursor = coll.find()
    next(cursor)
    for modify in (lambda: cursor.limit(1), lambda: cursor.sort("x"), lambda: cursor.skip(1),
                   lambda: cursor.batch_size(1), lambda: cursor.hint("x")):
        with pytest.raises(InvalidOperation):
            modify()
    cursor.close()


def test_clone_and_rewind(env: Env) -> None:
    coll = _seed(env)
    cursor = coll.find({"x": {"$gte": 2}}).sort("x", -1).limit(5).batch_size(2)
    assert next(cursor)["_id"] == 9
    clone = cursor.clone()
    clone.limit(2)  # a clone is unstarted and independent
    assert [d["_id"] for d in clone] == [9, 8]
    assert [d["_id"] for d in cursor] == [8, 7, 6, 5]
    assert [d["_id"] for d in cursor.clone()] == [9, 8, 7, 6, 5]
    env.listener.clear()
    cursor.rewind()
    assert [d["_id"] for d in cursor] == [9, 8, 7, 6, 5]
    (find,) = env.listener.started_commands("find")
    assert find["filter"] == {"x": {"$gte": 2}} and find["sort"] == {"x": -1}


def test_explain_and_distinct(env: Env) -> None:
    coll = _seed(env)
    plan = coll.find({"x": {"$gt": 5}}).sort("x").explain()
    assert "queryPlanner" in plan and plan["ok"] == 1
    (explain,) = env.listener.started_commands("explain")
    assert explain["explain"]["find"] == "things"
    assert explain["explain"]["filter"] == {"x": {"$gt": 5}}
    assert sorted(coll.distinct("tag")) == ["even", "odd"]
    assert sorted(coll.distinct("y", {"x": {"$lt": 3}})) == [0, 2, 4]
    assert sorted(coll.find({"x": {"$gt": 6}}).distinct("x")) == [7, 8, 9]
    assert coll.distinct("nothing") == []


def test_cursor_distinct_keeps_the_cursor_options(env: Env) -> None:
    coll = _seed(env)
    fold = {"locale": "en", "strength": 2}
    assert coll.find({"z": "S1"}, collation=fold).distinct("x") == [1]
    (distinct,) = env.listener.started_commands("distinct")
    assert distinct["collation"] == fold


def test_to_list_with_length(env: Env) -> None:
    coll = _seed(env)
    cursor = coll.find().sort("_id").batch_size(2)
    assert [d["_id"] for d in cursor.to_list(3)] == [0, 1, 2]
    assert [d["_id"] for d in cursor.to_list(1)] == [3]
    assert [d["_id"] for d in cursor.to_list()] == list(range(4, 10))
    assert cursor.to_list() == []
    with pytest.raises(ValueError):
        coll.find().to_list(-1)


def test_close_sends_kill_cursors(env: Env) -> None:
    coll = _seed(env)
    cursor = coll.find().batch_size(2)
    next(cursor)
    cursor_id = cursor.cursor_id
    assert cursor_id and cursor.alive
    cursor.close()
    assert not cursor.alive
    (kill,) = env.listener.started_commands("killCursors")
    assert kill["killCursors"] == "things" and list(kill["cursors"]) == [cursor_id]
    (reply,) = env.listener.succeeded_replies("killCursors")
    assert list(reply["cursorsKilled"]) == [cursor_id]
    with pytest.raises(StopIteration):
        next(cursor)
    cursor.close()  # idempotent
    assert len(env.listener.started_commands("killCursors")) == 1
    # An exhausted cursor has nothing to kill.
    list(coll.find().batch_size(20))
    assert len(env.listener.started_commands("killCursors")) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_cursors_dropped_unfinished_are_killed_at_close(kind: str, mongodb_uri: str) -> None:
    listener = Recorder()
    with crud_env(kind, mongodb_uri) as setup:
        setup.coll.insert_many([{"_id": i} for i in range(6)])
        name = setup.db.name
        with open_client(kind, mongodb_uri, event_listeners=[listener]) as client:
            cursor = client[name]["things"].find().batch_size(2)
            next(cursor)
            cursor_id = cursor.cursor_id
            assert cursor_id
            del cursor
            gc.collect()
            assert listener.started_commands("killCursors") == []
        kills = listener.started_commands("killCursors")
        assert [list(k["cursors"]) for k in kills] == [[cursor_id]]
        (reply,) = listener.succeeded_replies("killCursors")
        assert list(reply["cursorsKilled"]) == [cursor_id]


def test_find_one(env: Env) -> None:
    coll = _seed(env)
    assert coll.find_one(4) == {"_id": 4, "x": 4, "y": 8, "z": "s4", "tag": "even"}
    assert coll.find_one({"x": 5}, {"_id": 0, "z": 1}) == {"z": "s5"}
    assert coll.find_one({"x": 50}) is None
    assert coll.find_one({"tag": "odd"}, sort=[("x", -1)])["_id"] == 9
    oid = coll.insert_one({"k": "oid"}).inserted_id
    assert coll.find_one(oid)["k"] == "oid"
    finds = env.listener.started_commands("find")
    assert finds[0]["filter"] == {"_id": 4}
    assert all(f.get("singleBatch") is True and f["limit"] == 1 for f in finds)
    assert env.listener.started_commands("killCursors") == []


# ----------------------------------------------------------------------------- updates


def test_update_one_and_many_counts(env: Env) -> None:
    coll = _seed(env)
    one = coll.update_one({"_id": 1}, {"$set": {"y": 100}})
    assert isinstance(one, UpdateResult) and one.acknowledged
    assert (one.matched_count, one.modified_count, one.upserted_id) == (1, 1, None)
    assert not one.did_upsert
    same = coll.update_one({"_id": 1}, {"$set": {"y": 100}})
    assert (same.matched_count, same.modified_count) == (1, 0)
    none = coll.update_one({"_id": 100}, {"$set": {"y": 1}})
    assert (none.matched_count, none.modified_count, none.upserted_id) == (0, 0, None)
    many = coll.update_many({"tag": "even"}, {"$inc": {"x": 10}})
    assert (many.matched_count, many.modified_count) == (5, 5)
    assert sorted(d["x"] for d in coll.find({"tag": "even"})) == [10, 12, 14, 16, 18]
    assert many.raw_result["n"] == 5 and many.raw_result["nModified"] == 5
    pipeline = coll.update_one({"_id": 3}, [{"$set": {"sum": {"$add": ["$x", "$y"]}}}])
    assert pipeline.modified_count == 1 and coll.find_one(3)["sum"] == 9
    updates = env.listener.started_commands("update")
    assert updates[0]["updates"][0]["multi"] is False
    assert updates[3]["updates"][0]["multi"] is True


def test_upserts(env: Env) -> None:
    coll = env.coll
    up = coll.update_one({"_id": "u1"}, {"$set": {"v": 1}}, upsert=True)
    assert (up.matched_count, up.modified_count, up.upserted_id) == (0, 0, "u1")
    assert up.did_upsert
    again = coll.update_one({"_id": "u1"}, {"$set": {"v": 2}}, upsert=True)
    assert (again.matched_count, again.modified_count, again.upserted_id) == (1, 1, None)
    generated = coll.update_many({"k": "gen"}, {"$set": {"v": 3}}, upsert=True)
    assert isinstance(generated.upserted_id, ObjectId)
    assert coll.find_one(generated.upserted_id) == {"_id": generated.upserted_id,
                                                    "k": "gen", "v": 3}
    replaced = coll.replace_one({"_id": "r1"}, {"whole": True}, upsert=True)
    assert replaced.upserted_id == "r1"
    assert coll.find_one("r1") == {"_id": "r1", "whole": True}


def test_replace_one(env: Env) -> None:
    coll = _seed(env, 3)
    result = coll.replace_one({"_id": 2}, {"only": "this"})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert coll.find_one(2) == {"_id": 2, "only": "this"}
    missing = coll.replace_one({"_id": 50}, {"a": 1})
    assert (missing.matched_count, missing.modified_count) == (0, 0)
    (_, update) = env.listener.started_commands("update")
    assert update["updates"][0]["u"] == {"a": 1}


def test_array_filters(env: Env) -> None:
    coll = env.coll
    coll.insert_one({"_id": 1, "arr": [1, 5, 9, 3]})
    result = coll.update_one(
        {"_id": 1}, {"$set": {"arr.$[big]": 0}}, array_filters=[{"big": {"$gt": 4}}]
    )
    assert result.modified_count == 1
    assert coll.find_one(1)["arr"] == [1, 0, 0, 3]
    coll.insert_one({"_id": 2, "arr": [7, 8]})
    many = coll.update_many({}, {"$inc": {"arr.$[e]": 100}}, array_filters=[{"e": {"$lt": 2}}])
    assert many.modified_count == 1
    assert coll.find_one(1)["arr"] == [101, 100, 100, 3] and coll.find_one(2)["arr"] == [7, 8]
    updates = env.listener.started_commands("update")
    assert updates[0]["updates"][0]["arrayFilters"] == [{"big": {"$gt": 4}}]


# ----------------------------------------------------------------------------- deletes, counts


def test_delete_one_and_many(env: Env) -> None:
    coll = _seed(env)
    one = coll.delete_one({"tag": "odd"})
    assert isinstance(one, DeleteResult) and one.acknowledged and one.deleted_count == 1
    many = coll.delete_many({"tag": "odd"})
    assert many.deleted_count == 4
    assert coll.delete_many({"tag": "odd"}).deleted_count == 0
    assert coll.delete_one({"_id": 100}).deleted_count == 0
    assert sorted(d["_id"] for d in coll.find()) == [0, 2, 4, 6, 8]
    deletes = env.listener.started_commands("delete")
    assert [d["deletes"][0]["limit"] for d in deletes] == [1, 0, 0, 1]


def test_count_documents_and_estimated_count(env: Env) -> None:
    coll = _seed(env)
    assert coll.count_documents({}) == 10
    assert coll.count_documents({"tag": "odd"}) == 5
    assert coll.count_documents({}, skip=3) == 7
    assert coll.count_documents({}, limit=4) == 4
    assert coll.count_documents({}, skip=8, limit=5) == 2
    assert coll.count_documents({"x": 100}) == 0
    assert coll.estimated_document_count() == 10
    assert env.db["missing"].estimated_document_count() == 0
    pipelines = [c["pipeline"] for c in env.listener.started_commands("aggregate")]
    assert pipelines[4] == [{"$match": {}}, {"$skip": 8}, {"$limit": 5},
                            {"$group": {"_id": 1, "n": {"$sum": 1}}}]


# ----------------------------------------------------------------------------- aggregate


def test_aggregate_with_batch_size_and_get_more(env: Env) -> None:
    coll = _seed(env)
    cursor = coll.aggregate([{"$match": {"x": {"$gte": 2}}}, {"$sort": {"_id": 1}},
                             {"$project": {"y": 1}}], batchSize=3)
    assert [d["y"] for d in cursor] == [2 * i for i in range(2, 10)]  # 3 + 3 + 2
    (aggregate,) = env.listener.started_commands("aggregate")
    assert aggregate["cursor"] == {"batchSize": 3}
    get_mores = env.listener.started_commands("getMore")
    assert len(get_mores) == 2 and all(g["batchSize"] == 3 for g in get_mores)
    env.listener.clear()
    commented = coll.aggregate([{"$sort": {"_id": 1}}], batchSize=4, comment="agg-c")
    assert len(list(commented)) == 10
    assert env.listener.started_commands("aggregate")[0]["comment"] == "agg-c"
    get_mores = env.listener.started_commands("getMore")
    assert get_mores and all(g["comment"] == "agg-c" for g in get_mores)
    grouped = list(coll.aggregate([{"$group": {"_id": "$tag", "n": {"$sum": 1}}},
                                   {"$sort": {"_id": 1}}]))
    assert grouped == [{"_id": "even", "n": 5}, {"_id": "odd", "n": 5}]


def test_command_cursor_batch_size_sets_later_get_mores(env: Env) -> None:
    coll = _seed(env)
    cursor = coll.aggregate([{"$sort": {"_id": 1}}], batchSize=2).batch_size(5)
    assert [d["_id"] for d in cursor] == list(range(10))  # 2 + 5 + 3
    get_mores = env.listener.started_commands("getMore")
    assert [g["batchSize"] for g in get_mores] == [5, 5]
    assert cursor.collection.name == coll.name
    with pytest.raises(ValueError, match="batch_size"):
        coll.aggregate([]).batch_size(-1)


def test_aggregate_out(env: Env) -> None:
    coll = _seed(env)
    result = list(coll.aggregate([{"$match": {"tag": "odd"}}, {"$project": {"x": 1}},
                                  {"$out": "odds"}]))
    assert result == []
    assert sorted(d["_id"] for d in env.db["odds"].find()) == [1, 3, 5, 7, 9]
    assert env.db["odds"].find_one(3) == {"_id": 3, "x": 3}
    (aggregate,) = env.listener.started_commands("aggregate")
    # From MongoDB 5.0 a $out aggregate follows the read preference (the server selection
    # spec); on this direct connection to a replica set member that is primaryPreferred.
    assert aggregate["$readPreference"] == {"mode": "primaryPreferred"}


# ----------------------------------------------------------------------------- find and modify


def test_find_one_and_delete(env: Env) -> None:
    coll = _seed(env)
    assert coll.find_one_and_delete({"tag": "odd"}, sort=[("x", -1)]) == {
        "_id": 9, "x": 9, "y": 18, "z": "s9", "tag": "odd"}
    assert coll.find_one_and_delete({"tag": "odd"}, projection={"z": 1}, sort=[("x", 1)]) == {
        "_id": 1, "z": "s1"}
    assert coll.find_one_and_delete({"_id": 100}) is None
    assert coll.count_documents({}) == 8
    (first, *_) = env.listener.started_commands("findAndModify")
    assert first["remove"] is True and first["sort"] == {"x": -1}


def test_find_one_and_update(env: Env) -> None:
    coll = _seed(env, 4)
    before = coll.find_one_and_update({"_id": 1}, {"$inc": {"x": 10}})
    assert before["x"] == 1
    after = coll.find_one_and_update({"_id": 1}, {"$inc": {"x": 10}},
                                     return_document=ReturnDocument.AFTER, projection=["x"])
    assert after == {"_id": 1, "x": 21}
    sorted_first = coll.find_one_and_update({"tag": "even"}, {"$set": {"hit": 1}},
                                            sort=[("x", -1)], return_document=True)
    assert sorted_first["_id"] == 2 and sorted_first["hit"] == 1
    assert coll.find_one_and_update({"_id": 50}, {"$set": {"a": 1}}) is None
    assert coll.find_one_and_update({"_id": 51}, {"$set": {"a": 1}}, upsert=True) is None
    assert coll.find_one(51) == {"_id": 51, "a": 1}
    upserted = coll.find_one_and_update({"_id": 52}, {"$set": {"a": 2}}, upsert=True,
                                        return_document=ReturnDocument.AFTER)
    assert upserted == {"_id": 52, "a": 2}
    filtered = coll.find_one_and_update(
        {"_id": 52}, {"$set": {"arr": [1, 9]}}, return_document=True)
    assert filtered["arr"] == [1, 9]
    commands = env.listener.started_commands("findAndModify")
    assert commands[1]["new"] is True and commands[1]["fields"] == {"x": 1}
    assert "new" not in commands[0]


def test_find_one_and_replace(env: Env) -> None:
    coll = _seed(env, 4)
    before = coll.find_one_and_replace({"_id": 2}, {"new": "doc"})
    assert before["x"] == 2
    assert coll.find_one(2) == {"_id": 2, "new": "doc"}
    after = coll.find_one_and_replace({"_id": 3}, {"v": 3}, return_document=ReturnDocument.AFTER)
    assert after == {"_id": 3, "v": 3}
    hidden = coll.find_one_and_replace({"_id": 3}, {"v": 4, "w": 5}, projection={"_id": 0, "w": 1},
                                       return_document=ReturnDocument.AFTER)
    assert hidden == {"w": 5}
    assert coll.find_one_and_replace({"_id": 9}, {"v": 9}, upsert=True,
                                     return_document=ReturnDocument.AFTER) == {"_id": 9, "v": 9}
    assert coll.find_one_and_replace({"_id": 10}, {"v": 1}) is None
    assert coll.find_one(10) is None


# ----------------------------------------------------------------------------- bulk_write


def test_bulk_write_mixed(env: Env) -> None:
    coll = _seed(env, 6)
    result = coll.bulk_write([
        InsertOne({"_id": 100, "x": 100}),
        UpdateOne({"_id": 0}, {"$set": {"b": 1}}),
        UpdateOne({"_id": "new"}, {"$set": {"b": 2}}, upsert=True),
        UpdateMany({"tag": "odd"}, {"$set": {"b": 3}}),
        ReplaceOne({"_id": 2}, {"replaced": True}),
        ReplaceOne({"_id": "r"}, {"replaced": True}, upsert=True),
        DeleteOne({"_id": 4}),
        DeleteMany({"x": {"$gte": 100}}),
        InsertOne({"_id": 101}),
    ])
    assert isinstance(result, BulkWriteResult) and result.acknowledged
    assert result.inserted_count == 2
    assert result.matched_count == 5  # 1 + 3 + 1
    assert result.modified_count == 5
    assert result.upserted_count == 2
    assert result.upserted_ids == {2: "new", 5: "r"}
    assert result.deleted_count == 2  # _id 4 and _id 100 (101 comes after)
    api = result.bulk_api_result
    assert api["upserted"] == [{"index": 2, "_id": "new"}, {"index": 5, "_id": "r"}]
    assert api["writeErrors"] == [] and api["writeConcernErrors"] == []
    assert sorted(map(str, (d["_id"] for d in coll.find()))) == sorted(
        ["0", "1", "2", "3", "5", "new", "r", "101"])
    names = [n for n in env.listener.names() if n in ("insert", "update", "delete")]
    assert names == ["insert", "update", "delete", "insert"]


def test_bulk_write_ordered_stops_unordered_goes_on(env: Env) -> None:
    coll = env.coll
    requests = [InsertOne({"_id": 1}), InsertOne({"_id": 1}), UpdateOne(
        {"_id": 2}, {"$set": {"a": 1}}, upsert=True), DeleteOne({"_id": 1})]
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write(requests)
    details = info.value.details
    assert details["nInserted"] == 1 and details["nUpserted"] == 0
    assert [(e["index"], e["code"], e["op"]) for e in details["writeErrors"]] == [
        (1, 11000, {"_id": 1})]
    assert coll.find_one(2) is None and coll.find_one(1) == {"_id": 1}
    coll.delete_many({})
    with pytest.raises(BulkWriteError) as info:
        coll.bulk_write(requests, ordered=False)
    details = info.value.details
    assert (details["nInserted"], details["nUpserted"], details["nRemoved"]) == (1, 1, 1)
    assert details["upserted"] == [{"index": 2, "_id": 2}]
    assert [e["index"] for e in details["writeErrors"]] == [1]
    assert coll.find_one(1) is None and coll.find_one(2) == {"_id": 2, "a": 1}


# ----------------------------------------------------------------------------- errors


def test_duplicate_key_error_on_a_unique_index(env: Env) -> None:
    coll = env.coll
    coll.create_index("email", unique=True)
    coll.insert_one({"_id": 1, "email": "a@x"})
    with pytest.raises(DuplicateKeyError) as info:
        coll.insert_one({"_id": 2, "email": "a@x"})
    assert info.value.code == 11000 and isinstance(info.value, WriteError)
    assert info.value.details["keyValue"] == {"email": "a@x"}
    coll.insert_one({"_id": 3, "email": "b@x"})
    with pytest.raises(DuplicateKeyError):
        coll.update_one({"_id": 3}, {"$set": {"email": "a@x"}})
    with pytest.raises(DuplicateKeyError):
        coll.find_one_and_update({"_id": 3}, {"$set": {"email": "a@x"}})
    with pytest.raises(DuplicateKeyError):
        coll.replace_one({"_id": 3}, {"email": "a@x"})
    assert coll.count_documents({"email": "a@x"}) == 1


def test_write_error_that_is_not_a_duplicate(env: Env) -> None:
    coll = env.coll
    coll.insert_one({"_id": 1, "s": "text"})
    with pytest.raises(WriteError) as info:
        coll.update_one({"_id": 1}, {"$inc": {"s": 1}})
    assert type(info.value) is WriteError and info.value.code == 14
    assert info.value.details["index"] == 0 and info.value.details["code"] == 14
    env.db.create_collection("checked", validator={"n": {"$type": "int"}})
    with pytest.raises(WriteError) as info:
        env.db["checked"].insert_one({"n": "not an int"})
    assert info.value.code == 121
    env.db["checked"].insert_one({"n": "bypassed"}, bypass_document_validation=True)
    assert env.db["checked"].count_documents({}) == 1


def test_invalid_arguments(env: Env) -> None:
    coll = env.coll
    cases: list[tuple[type[Exception], Any]] = [
        (ValueError, lambda: coll.update_one({}, {"x": 1})),
        (ValueError, lambda: coll.update_many({}, {"x": 1, "$set": {"y": 1}})),
        (ValueError, lambda: coll.update_one({}, {})),
        (ValueError, lambda: coll.replace_one({}, {"$set": {"x": 1}})),
        (ValueError, lambda: coll.find_one_and_update({}, {"x": 1})),
        (ValueError, lambda: coll.find_one_and_replace({}, {"$set": {"x": 1}})),
        (ValueError, lambda: UpdateOne({}, {"x": 1})),
        (ValueError, lambda: ReplaceOne({}, {"$inc": {"x": 1}})),
        (TypeError, lambda: coll.find().sort(5)),
        (TypeError, lambda: coll.find().sort([("a", 1.5)])),
        (TypeError, lambda: coll.find().sort([("a", 1)], 1)),
        (TypeError, lambda: coll.find().limit("3")),
        (ValueError, lambda: coll.find().skip(-1)),
        (ValueError, lambda: coll.find().batch_size(-1)),
        (TypeError, lambda: coll.find("not a filter")),
        (TypeError, lambda: coll.insert_one("not a document")),
        (TypeError, lambda: coll.insert_many([])),
        (TypeError, lambda: coll.insert_many({"_id": 1})),
        (InvalidOperation, lambda: coll.bulk_write([])),
        (TypeError, lambda: coll.bulk_write([{"_id": 1}])),
        (TypeError, lambda: coll.distinct(5)),
        (TypeError, lambda: coll.delete_one("x")),
        (TypeError, lambda: coll.find_one_and_delete("x")),
        (TypeError, lambda: coll.aggregate({"$match": {}})),
    ]
    for expected, call in cases:
        with pytest.raises(expected):
            call()
    # Nothing reached the server.
    assert [n for n in env.listener.names() if n != "endSessions"] == []
    with pytest.raises(OperationFailure):  # the server refuses a bad direction
        list(coll.find().sort("a", 2))


# ----------------------------------------------------------------------------- w=0


def test_unacknowledged_writes_happen(env: Env) -> None:
    coll = env.coll
    coll.insert_one({"_id": "seed", "n": 0})
    fire = coll.with_options(write_concern=WriteConcern(w=0))
    assert fire.write_concern.acknowledged is False
    inserted = fire.insert_one({"_id": "w0", "n": 1})
    assert isinstance(inserted, InsertOneResult)
    assert inserted.acknowledged is False and inserted.inserted_id == "w0"
    wait_until(lambda: coll.find_one("w0"), "the w=0 insert")
    generated: dict[str, Any] = {"n": 2}
    assert isinstance(fire.insert_one(generated).inserted_id, ObjectId)
    wait_until(lambda: coll.find_one(generated["_id"]), "the w=0 insert with an ObjectId")

    updated = fire.update_one({"_id": "seed"}, {"$set": {"n": 10}})
    assert updated.acknowledged is False
    for prop in ("matched_count", "modified_count", "upserted_id"):
        with pytest.raises(InvalidOperation):
            getattr(updated, prop)
    wait_until(lambda: (coll.find_one("seed") or {}).get("n") == 10, "the w=0 update")

    many = fire.insert_many([{"_id": f"m{i}"} for i in range(3)])
    assert many.acknowledged is False and many.inserted_ids == ["m0", "m1", "m2"]
    wait_until(lambda: coll.count_documents({"_id": {"$in": ["m0", "m1", "m2"]}}) == 3,
               "the w=0 insert_many")

    ordered = fire.bulk_write([InsertOne({"_id": "o1"}), UpdateOne({"_id": "o1"},
                                                                {"$set": {"v": 1}})])
    assert ordered.acknowledged is False
    wait_until(lambda: (coll.find_one("o1") or {}).get("v") == 1, "the ordered w=0 bulk")

    bulk = fire.bulk_write([InsertOne({"_id": "b1"}), DeleteOne({"_id": "m0"})], ordered=False)
    assert bulk.acknowledged is False
    with pytest.raises(InvalidOperation):
        _ = bulk.inserted_count
    wait_until(lambda: coll.find_one("b1") and coll.find_one("m0") is None, "the w=0 bulk")

    deleted = fire.delete_one({"_id": "w0"})
    assert deleted.acknowledged is False
    with pytest.raises(InvalidOperation):
        _ = deleted.deleted_count
    wait_until(lambda: coll.find_one("w0") is None, "the w=0 delete")

    inserts = env.listener.started_commands("insert")
    assert inserts[1]["writeConcern"] == {"w": 0}
    assert all("txnNumber" not in c for c in env.listener.started_commands()
               if c.get("writeConcern") == {"w": 0})
