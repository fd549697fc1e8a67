"""Differential CRUD tests: the same operations through Feldspar and through PyMongo,
on the same SecantusDB, each in its own database; the outcomes must be the same.

Compared exactly: returned documents (field order included), result objects' properties
(``inserted_id(s)``, counts, ``upserted_id(s)``, ``raw_result``, ``bulk_api_result``)
and errors (type name, code, details, labels). ObjectIds differ between the two runs
and are compared by type only; the database names inside server messages are masked;
the per-reply fields that differ by run (``$clusterTime``, ``operationTime``,
``opTime``, ``electionId``) are dropped. Feldspar runs as MongoClient and as
AsyncMongoClient (through crud_helpers.Bridge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import bson
import pymongo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import driver
from tests.driver.crud_helpers import KINDS, crud_env, unique_name

_RUN_FIELDS = frozenset({"$clusterTime", "operationTime", "opTime", "electionId"})


@dataclass
class Pair:
    """Feldspar's database and PyMongo's, with each library's write models."""

    ours: Any
    theirs: Any
    names: tuple[str, str]

    def run(self, scenario: Callable[[Any, Any], list[Any]]) -> tuple[list[Any], list[Any]]:
        ours = scenario(self.ours, driver)
        theirs = scenario(self.theirs, pymongo)
        return self.normal(ours), self.normal(theirs)

    def normal(self, value: Any) -> Any:
        return _normal(value, self.names)

    def reset(self) -> None:
        self.ours["things"].drop()
        self.theirs["things"].drop()


@pytest.fixture(params=KINDS)
def pair(request: pytest.FixtureRequest, mongodb_uri: str) -> Iterator[Pair]:
    with crud_env(request.param, mongodb_uri) as env, pymongo.MongoClient(mongodb_uri) as ref:
        theirs = ref[unique_name("ref")]
        try:
            yield Pair(env.db, theirs, (env.db.name, theirs.name))
        finally:
            ref.drop_database(theirs.name)


# ----------------------------------------------------------------------------- normalising


def _normal(value: Any, names: tuple[str, str]) -> Any:
    kind = type(value).__name__
    if kind == "ObjectId":
        return "<ObjectId>"
    if isinstance(value, str):
        for name in names:
            value = value.replace(name, "<db>")
        return value
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if type(value) is int else (kind, int(value))
    if isinstance(value, Mapping):
        return ("doc", [(key, _normal(item, names)) for key, item in value.items()])
    if isinstance(value, (list, tuple)):
        return [_normal(item, names) for item in value]
    return (kind, repr(value))


def _without_run_fields(reply: Any) -> Any:
    if not isinstance(reply, Mapping):
        return reply
    return {key: value for key, value in reply.items() if key not in _RUN_FIELDS}


def describe(value: Any) -> Any:
    """A result object's properties (what a caller can read), or the value itself."""
    kind = type(value).__name__
    if kind == "InsertOneResult":
        return (kind, value.acknowledged, value.inserted_id)
    if kind == "InsertManyResult":
        return (kind, value.acknowledged, value.inserted_ids)
    if kind == "UpdateResult":
        # PyMongo's own "updatedExisting" is left out here: see
        # test_update_raw_result_has_updated_existing.
        raw = _without_run_fields(value.raw_result)
        raw.pop("updatedExisting", None)
        return (kind, value.acknowledged, value.matched_count, value.modified_count,
                value.upserted_id, value.did_upsert, raw)
    if kind == "DeleteResult":
        return (kind, value.acknowledged, value.deleted_count,
                _without_run_fields(value.raw_result))
    if kind == "BulkWriteResult":
        return (kind, value.acknowledged, value.inserted_count, value.matched_count,
                value.modified_count, value.deleted_count, value.upserted_count,
                value.upserted_ids, value.bulk_api_result)
    return value


def describe_error(exc: BaseException) -> Any:
    name = type(exc).__name__
    if isinstance(exc, (TypeError, ValueError)):
        return ("raised", name)
    details = getattr(exc, "details", None)
    labels = sorted(getattr(exc, "_error_labels", ()) or ())
    return ("raised", name, getattr(exc, "code", None), _without_run_fields(details), labels)


def attempt(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", describe(call()))
    except Exception as exc:  # compared, never swallowed: a mismatch fails the test
        return describe_error(exc)


def assert_same(ours: list[Any], theirs: list[Any]) -> None:
    assert len(ours) == len(theirs)
    for step, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert mine == reference, (
            f"step {step} differs:\n  feldspar: {mine}\n  pymongo:  {reference}")


# ----------------------------------------------------------------------------- scenarios


def inventory(db: Any, lib: Any) -> list[Any]:
    coll = db["things"]
    items = [{"sku": f"A{i}", "qty": i * 3 % 7, "tags": ["t", str(i % 2)]} for i in range(8)]
    for index, item in enumerate(items):
        item["_id"] = index
    return [
        attempt(lambda: coll.insert_many(items)),
        attempt(lambda: coll.insert_one({"sku": "gen", "qty": 100})),
        attempt(lambda: coll.update_many({"qty": {"$lt": 3}}, {"$inc": {"qty": 10}})),
        attempt(lambda: coll.update_one({"_id": 3}, {"$push": {"tags": "new"}})),
        attempt(lambda: coll.update_one({"_id": 3}, {"$set": {"qty": 2}})),
        attempt(lambda: list(coll.find({"qty": {"$gte": 5}}, {"sku": 1, "qty": 1})
                             .sort([("qty", -1), ("_id", 1)]).skip(1).limit(4))),
        attempt(lambda: list(coll.find({}, ["tags"]).sort("_id").batch_size(3))),
        attempt(lambda: coll.find_one({"sku": "A5"})),
        attempt(lambda: coll.find_one_and_update(
            {"sku": "A1"}, {"$set": {"qty": 0}}, return_document=lib.ReturnDocument.AFTER)),
        attempt(lambda: coll.find_one_and_delete({"qty": {"$gt": 50}})),
        attempt(lambda: coll.delete_many({"qty": 0})),
        attempt(lambda: coll.count_documents({})),
        attempt(lambda: coll.count_documents({"qty": {"$gt": 1}}, skip=1, limit=3)),
        attempt(lambda: sorted(coll.distinct("qty"))),
        attempt(lambda: list(coll.aggregate([
            {"$unwind": "$tags"}, {"$group": {"_id": "$tags", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}}]))),
        attempt(lambda: list(coll.find().sort("_id"))),
    ]


def duplicates(db: Any, lib: Any) -> list[Any]:
    coll = db["things"]
    return [
        attempt(lambda: coll.create_index("email", unique=True)),
        attempt(lambda: coll.insert_one({"_id": 1, "email": "a"})),
        attempt(lambda: coll.insert_one({"_id": 1, "email": "z"})),
        attempt(lambda: coll.insert_one({"_id": 2, "email": "a"})),
        attempt(lambda: coll.insert_many([{"_id": 3, "email": "b"}, {"_id": 4, "email": "b"},
                                          {"_id": 5, "email": "c"}])),
        attempt(lambda: coll.insert_many([{"_id": 6, "email": "d"}, {"_id": 7, "email": "d"},
                                          {"_id": 1}, {"_id": 8, "email": "e"}], ordered=False)),
        attempt(lambda: coll.update_one({"_id": 6}, {"$set": {"email": "a"}})),
        attempt(lambda: coll.replace_one({"_id": 6}, {"email": "b"})),
        attempt(lambda: coll.find_one_and_update({"_id": 8}, {"$set": {"email": "a"}})),
        attempt(lambda: coll.bulk_write([
            lib.InsertOne({"_id": 10, "email": "x"}),
            lib.UpdateOne({"_id": 10}, {"$set": {"email": "a"}}),
            lib.InsertOne({"_id": 11, "email": "y"})])),
        attempt(lambda: coll.bulk_write([
            lib.InsertOne({"_id": 12, "email": "a"}),
            lib.UpdateOne({"_id": 20}, {"$set": {"email": "u"}}, upsert=True),
            lib.DeleteOne({"_id": 11}),
            lib.ReplaceOne({"_id": 1}, {"email": "b"}),
            lib.InsertOne({"_id": 13, "email": "w"})], ordered=False)),
        attempt(lambda: coll.update_one({"_id": 1}, {"$inc": {"email": 1}})),
        attempt(lambda: list(coll.find().sort("_id"))),
    ]


def upserts(db: Any, lib: Any) -> list[Any]:
    coll = db["things"]
    return [
        attempt(lambda: coll.update_one({"_id": "u"}, {"$set": {"v": 1}}, upsert=True)),
        attempt(lambda: coll.update_one({"_id": "u"}, {"$set": {"v": 1}}, upsert=True)),
        attempt(lambda: coll.update_one({"k": 1}, {"$set": {"v": 2}}, upsert=True)),
        attempt(lambda: coll.update_many({"k": 2}, {"$set": {"v": 3}}, upsert=True)),
        attempt(lambda: coll.update_many({"k": {"$in": [1, 2]}}, {"$inc": {"v": 1}})),
        attempt(lambda: coll.replace_one({"_id": "r"}, {"whole": 1}, upsert=True)),
        attempt(lambda: coll.replace_one({"_id": "r"}, {"whole": 2})),
        attempt(lambda: coll.find_one_and_replace({"_id": "f"}, {"a": 1}, upsert=True)),
        attempt(lambda: coll.find_one_and_replace({"_id": "g"}, {"a": 1}, upsert=True,
                                                  return_document=lib.ReturnDocument.AFTER)),
        attempt(lambda: coll.find_one_and_update({"_id": "h"}, {"$set": {"b": 1}},
                                                 upsert=True, projection={"_id": 0})),
        attempt(lambda: coll.update_one({"_id": "arr"}, {"$set": {"a": [1, 5, 9]}},
                                        upsert=True)),
        attempt(lambda: coll.update_one({"_id": "arr"}, {"$set": {"a.$[e]": 0}},
                                        array_filters=[{"e": {"$gte": 5}}])),
        attempt(lambda: coll.bulk_write([
            lib.UpdateOne({"_id": "b1"}, {"$set": {"z": 1}}, upsert=True),
            lib.InsertOne({"_id": "b2"}),
            lib.ReplaceOne({"_id": "b3"}, {"z": 3}, upsert=True),
            lib.UpdateMany({"z": {"$exists": True}}, {"$inc": {"z": 10}}),
            lib.DeleteMany({"_id": "b2"}),
            lib.UpdateOne({"q": "gen"}, {"$set": {"z": 0}}, upsert=True)])),
        attempt(lambda: coll.bulk_write([
            lib.DeleteOne({"_id": "b1"}),
            lib.UpdateOne({"_id": "c1"}, {"$set": {"z": 1}}, upsert=True),
            lib.InsertOne({"_id": "c2"})], ordered=False)),
        attempt(lambda: list(coll.find({}, {"_id": 1, "v": 1, "z": 1, "a": 1}).sort("_id"))),
    ]


def reads(db: Any, lib: Any) -> list[Any]:
    coll = db["things"]
    coll.insert_many([{"_id": i, "g": i % 3, "s": f"S{i}"} for i in range(12)])
    return [
        attempt(lambda: list(coll.find({"g": 1}).sort("_id", -1))),
        attempt(lambda: list(coll.find({}, {"_id": 0, "s": 1}).sort("s").limit(-2))),
        attempt(lambda: list(coll.find({"s": "s3"}, collation={"locale": "en", "strength": 2}))),
        attempt(lambda: coll.find({"g": 2}).sort("_id").to_list(2)),
        attempt(lambda: list(coll.find({"_id": {"$lt": 3}}, return_key=True))),
        attempt(lambda: coll.estimated_document_count()),
        attempt(lambda: db["nothing"].estimated_document_count()),
        attempt(lambda: coll.count_documents({"g": 0}, skip=1)),
        attempt(lambda: sorted(coll.distinct("g", {"_id": {"$gt": 9}}))),
        attempt(lambda: list(coll.aggregate([{"$match": {"g": 0}}, {"$out": "zeros"}]))),
        attempt(lambda: list(db["zeros"].find().sort("_id"))),
        attempt(lambda: list(coll.aggregate([{"$sort": {"_id": -1}}, {"$limit": 5}],
                                            batchSize=2))),
        attempt(lambda: coll.find_one({"_id": 100})),
        attempt(lambda: list(coll.find().sort("s", 2))),
        attempt(lambda: list(coll.find().hint("no_such_index"))),
        attempt(lambda: coll.count_documents("not a filter")),
    ]


def options(db: Any, lib: Any) -> list[Any]:
    coll = db["things"]
    coll.insert_many([{"_id": i, "x": i, "z": f"s{i}", "arr": [1, 5, 9]} for i in range(6)])
    fold = {"locale": "en", "strength": 2}
    return [
        attempt(lambda: coll.create_index("x")),
        attempt(lambda: coll.count_documents({"z": "S1"}, collation=fold)),
        attempt(lambda: coll.count_documents({"x": {"$gt": 2}}, hint="x_1")),
        attempt(lambda: db["missing"].count_documents({})),
        attempt(lambda: coll.distinct("x", {"z": "S1"}, collation=fold)),
        attempt(lambda: coll.update_one({"x": 1}, {"$set": {"h": 1}}, hint="x_1")),
        attempt(lambda: coll.update_one({"x": 1}, {"$set": {"h": 2}}, hint="nope")),
        attempt(lambda: coll.update_many({"z": "S3"}, {"$set": {"c": 1}}, collation=fold)),
        attempt(lambda: coll.delete_one({"x": 5}, hint=[("x", 1)])),
        attempt(lambda: coll.delete_many({"z": "S4"}, collation=fold)),
        attempt(lambda: coll.find_one_and_update(
            {"_id": 0}, {"$set": {"arr.$[e]": 0}}, array_filters=[{"e": {"$gt": 4}}],
            return_document=lib.ReturnDocument.AFTER)),
        attempt(lambda: coll.find_one_and_update({"x": 2}, {"$set": {"k": 1}}, hint="x_1",
                                                 return_document=lib.ReturnDocument.AFTER)),
        attempt(lambda: coll.insert_many({"_id": f"g{i}"} for i in range(3))),
        attempt(lambda: list(coll.aggregate([{"$match": {"z": "S2"}}, {"$project": {"z": 1}}],
                                            collation=fold, comment="hello"))),
        attempt(lambda: list(coll.find({"$expr": {"$eq": ["$x", "$$v"]}}, let={"v": 3}))),
        attempt(lambda: coll.find_one_and_delete({"$expr": {"$eq": ["$x", "$$v"]}},
                                                 let={"v": 3})),
        attempt(lambda: coll.update_one({"$expr": {"$eq": ["$x", "$$v"]}},
                                        {"$set": {"l": 1}}, let={"v": 1})),
        attempt(lambda: list(coll.find().sort("_id"))),
    ]


@pytest.mark.parametrize("scenario", [inventory, duplicates, upserts, reads, options],
                         ids=lambda f: f.__name__)
def test_scenario(pair: Pair, scenario: Callable[[Any, Any], list[Any]]) -> None:
    assert_same(*pair.run(scenario))


def test_update_raw_result_has_updated_existing(pair: Pair) -> None:
    def scenario(db: Any, lib: Any) -> list[Any]:
        coll = db["things"]
        coll.insert_one({"_id": 1})
        return [
            _without_run_fields(coll.update_one({"_id": 1}, {"$set": {"a": 1}}).raw_result),
            _without_run_fields(coll.update_many({"_id": 2}, {"$set": {"a": 1}},
                                                 upsert=True).raw_result),
            _without_run_fields(coll.replace_one({"_id": 3}, {"a": 1}).raw_result),
        ]

    assert_same(*pair.run(scenario))


# ----------------------------------------------------------------------------- bad arguments

_BAD: list[Any] = [
    ("update_without_operators", lambda c, lib: c.update_one({}, {"x": 1})),
    ("update_empty", lambda c, lib: c.update_one({}, {})),
    ("update_many_without_operators", lambda c, lib: c.update_many({}, {"x": 1})),
    ("replace_with_operators", lambda c, lib: c.replace_one({}, {"$set": {"x": 1}})),
    ("find_one_and_update_without_operators",
     lambda c, lib: c.find_one_and_update({}, {"x": 1})),
    ("find_one_and_replace_with_operators",
     lambda c, lib: c.find_one_and_replace({}, {"$set": {"x": 1}})),
    # Feldspar refuses a bad model when it is made, PyMongo in bulk_write: same type.
    ("UpdateOne_without_operators",
     lambda c, lib: c.bulk_write([lib.UpdateOne({}, {"x": 1})])),
    ("ReplaceOne_with_operators",
     lambda c, lib: c.bulk_write([lib.ReplaceOne({}, {"$set": {"x": 1}})])),
    ("sort_by_an_int", lambda c, lib: c.find().sort(5)),
    ("sort_direction_float", lambda c, lib: c.find().sort([("a", 1.5)])),
    ("sort_list_and_direction", lambda c, lib: c.find().sort([("a", 1)], 1)),
    ("limit_str", lambda c, lib: c.find().limit("3")),
    ("skip_negative", lambda c, lib: c.find().skip(-1)),
    ("batch_size_negative", lambda c, lib: c.find().batch_size(-1)),
    ("find_str_filter", lambda c, lib: c.find("x")),
    ("hint_int", lambda c, lib: list(c.find().hint(5))),
    ("insert_one_str", lambda c, lib: c.insert_one("doc")),
    ("insert_many_empty", lambda c, lib: c.insert_many([])),
    ("insert_many_mapping", lambda c, lib: c.insert_many({"_id": 1})),
    ("bulk_write_empty", lambda c, lib: c.bulk_write([])),
    ("bulk_write_dict", lambda c, lib: c.bulk_write([{"_id": 1}])),
    ("distinct_int_key", lambda c, lib: c.distinct(5)),
    ("delete_one_str_filter", lambda c, lib: c.delete_one("x")),
    ("find_one_and_delete_str_filter", lambda c, lib: c.find_one_and_delete("x")),
    ("aggregate_mapping", lambda c, lib: c.aggregate({"$match": {}})),
    ("to_list_negative", lambda c, lib: c.find().to_list(-1)),
    ("to_list_zero", lambda c, lib: c.find().to_list(0)),
    ("update_one_str_filter", lambda c, lib: c.update_one("x", {"$set": {"a": 1}})),
    ("replace_one_str_filter", lambda c, lib: c.replace_one("x", {"a": 1})),
    ("max_time_ms_str", lambda c, lib: c.find().max_time_ms("a")),
    ("collation_str", lambda c, lib: c.find().collation("x")),
]


@pytest.mark.parametrize(("name", "call"), [
    case if hasattr(case, "marks") else pytest.param(*case, id=case[0]) for case in _BAD])
def test_bad_arguments_raise_what_pymongo_raises(pair: Pair, name: str, call: Any) -> None:
    def scenario(db: Any, lib: Any) -> list[Any]:
        return [attempt(lambda: call(db["things"], lib))]

    ours, theirs = pair.run(scenario)
    assert theirs[0][0] == "raised", f"{name}: PyMongo raised nothing ({theirs})"
    assert_same(ours, theirs)


# ----------------------------------------------------------------------------- random sequences

_keys = st.integers(0, 4)
_values = st.integers(0, 3)
_filters = st.one_of(
    st.builds(lambda k: {"_id": k}, _keys),
    st.builds(lambda v: {"x": v}, _values),
    st.builds(lambda v: {"x": {"$gt": v}}, _values),
    st.just({}),
)
_updates = st.one_of(
    st.builds(lambda v: {"$set": {"x": v}}, _values),
    st.just({"$inc": {"x": 1}}),
    st.builds(lambda v: {"$set": {"y": v}}, _values),
    st.just({"$unset": {"y": ""}}),
    st.builds(lambda v: {"$push": {"arr": v}}, _values),
)
_docs = st.one_of(
    st.builds(lambda k, v: {"_id": k, "x": v}, _keys, _values),
    st.builds(lambda v: {"x": v}, _values),  # an ObjectId _id
)
# ObjectIds made by the server (upserts) and by each driver sort differently from run
# to run, so every sort names every field before _id: documents that still tie differ
# only by an ObjectId, and compare equal once normalised.
_ALL_FIELDS = [("y", 1), ("arr", 1), ("r", 1), ("_id", 1)]
_sorts = st.sampled_from([None, [("_id", 1)], [("x", -1), *_ALL_FIELDS]])
_ops = st.one_of(
    st.tuples(st.just("insert_one"), _docs),
    st.tuples(st.just("insert_many"), st.lists(_docs, min_size=1, max_size=4), st.booleans()),
    st.tuples(st.sampled_from(["update_one", "update_many"]), _filters, _updates,
              st.booleans()),
    st.tuples(st.just("replace_one"), _filters, st.builds(lambda v: {"x": v, "r": 1}, _values),
              st.booleans()),
    st.tuples(st.sampled_from(["delete_one", "delete_many"]), _filters),
    st.tuples(st.just("find"), _filters, st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("find_one_and_update"), _filters, _updates, st.booleans(),
              st.booleans(), _sorts),
    st.tuples(st.just("find_one_and_delete"), _filters, _sorts),
    st.tuples(st.just("count_documents"), _filters),
    st.tuples(st.just("bulk_write"), st.lists(st.one_of(
        st.tuples(st.just("InsertOne"), _docs),
        st.tuples(st.just("UpdateOne"), _filters, _updates, st.booleans()),
        st.tuples(st.just("UpdateMany"), _filters, _updates, st.booleans()),
        st.tuples(st.just("DeleteOne"), _filters),
        st.tuples(st.just("DeleteMany"), _filters),
    ), min_size=1, max_size=4), st.booleans()),
)


def _copy(value: Any) -> Any:
    # Each driver gets its own documents: inserts add _id to them in place.
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _apply(coll: Any, lib: Any, op: tuple[Any, ...]) -> Any:
    name, *args = _copy(list(op))
    if name == "insert_one":
        return coll.insert_one(args[0])
    if name == "insert_many":
        return coll.insert_many(args[0], ordered=args[1])
    if name in ("update_one", "update_many"):
        return getattr(coll, name)(args[0], args[1], upsert=args[2])
    if name == "replace_one":
        return coll.replace_one(args[0], args[1], upsert=args[2])
    if name in ("delete_one", "delete_many"):
        return getattr(coll, name)(args[0])
    if name == "find":
        return list(coll.find(args[0]).sort([("x", 1), *_ALL_FIELDS]).skip(args[1])
                    .limit(args[2]))
    if name == "find_one_and_update":
        return coll.find_one_and_update(args[0], args[1], upsert=args[2],
                                        return_document=args[3], sort=args[4])
    if name == "find_one_and_delete":
        return coll.find_one_and_delete(args[0], sort=args[1])
    if name == "count_documents":
        return coll.count_documents(args[0])
    requests = []
    for model, *model_args in args[0]:
        if model in ("UpdateOne", "UpdateMany"):
            requests.append(getattr(lib, model)(model_args[0], model_args[1],
                                                upsert=model_args[2]))
        else:
            requests.append(getattr(lib, model)(*model_args))
    return coll.bulk_write(requests, ordered=args[1])


def _contents(coll: Any, names: tuple[str, str]) -> Any:
    """The collection as a multiset (see _ALL_FIELDS for why not in _id order)."""
    return sorted(repr(_normal(doc, names)) for doc in coll.find())


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(_ops, min_size=1, max_size=8))
def test_random_sequences_match_pymongo(pair: Pair, ops: list[tuple[Any, ...]]) -> None:
    pair.reset()  # each example starts from empty collections
    ours, theirs = pair.ours["things"], pair.theirs["things"]
    for step, op in enumerate(ops):
        mine = [pair.normal(attempt(lambda op=op: _apply(ours, driver, op))),
                _contents(ours, pair.names)]
        reference = [pair.normal(attempt(lambda op=op: _apply(theirs, pymongo, op))),
                     _contents(theirs, pair.names)]
        assert mine == reference, (
            f"step {step} {op!r} differs:\n  feldspar: {mine}\n  pymongo:  {reference}")


def test_normalising_masks_only_what_differs_by_run() -> None:
    names = ("dbA", "dbB")
    ours = {"_id": driver.bson.ObjectId(), "m": "ns dbA.things", "n": driver.bson.Int64(3)}
    theirs = {"_id": bson.ObjectId(), "m": "ns dbB.things", "n": bson.Int64(3)}
    assert _normal(ours, names) == _normal(theirs, names)
    # Everything else is kept: these must differ.
    assert _normal({"a": 1, "b": 2}, names) != _normal({"b": 2, "a": 1}, names)
    assert _normal([1, 2], names) != _normal([2, 1], names)
    assert _normal({"n": bson.Int64(3)}, names) != _normal({"n": 3}, names)
    assert describe_error(ValueError("x")) != describe_error(TypeError("x"))
