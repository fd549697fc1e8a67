"""The bulk write planner and result merger (driver.protocol.bulk).

- Properties (hypothesis): every operation lands in exactly one batch, in order for an
  ordered bulk and grouped by kind for an unordered one; no batch exceeds
  ``maxWriteBatchSize`` or, once encoded as a real OP_MSG with the reserve filled,
  ``maxMessageSizeBytes``; batches are filled greedily; DocumentTooLarge is raised
  exactly when some operation cannot fit.
- Differential against PyMongo's own pure bulk internals (a test-only reference): the
  statements each write model becomes, the runs (grouping and index maps), the merged
  ``bulk_api_result``, and the errors raised from it and from single-write replies.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pymongo import errors as pymongo_errors
from pymongo import operations as pymongo_operations

from driver.bson import DEFAULT_CODEC_OPTIONS, ObjectId, RawBSONDocument, decode, encode
from driver.errors import (
    BulkWriteError,
    ConfigurationError,
    DocumentTooLarge,
    DuplicateKeyError,
    InvalidOperation,
    OperationFailure,
    ProtocolError,
    WriteConcernError,
    WriteError,
    WTimeoutError,
)
from driver.operations import (
    DeleteMany,
    DeleteOne,
    InsertOne,
    ReplaceOne,
    UpdateMany,
    UpdateOne,
)
from driver.protocol.bulk import (
    Batch,
    BatchLimits,
    BulkPlan,
    BulkResultMerger,
    check_bulk_result,
    check_unacknowledged,
    check_write_reply,
    ensure_id,
    new_bulk_result,
    plan_bulk_write,
    plan_inserts,
)
from driver.protocol.handshake import HelloReply
from driver.protocol.wire import COMMAND_OVERHEAD, encode_op_msg, parse_message
from driver.results import BulkWriteResult
from driver.write_concern import WriteConcern

PyMongoBulk: Any = None
try:  # PyMongo's private bulk machinery moved in 4.9; the differential tests need it.
    from pymongo import bulk_shared as pymongo_bulk_shared
    from pymongo import helpers_shared as pymongo_helpers
    from pymongo.synchronous.bulk import _Bulk

    PyMongoBulk = _Bulk
except ImportError:  # pragma: no cover - an older PyMongo
    pass

needs_pymongo_bulk = pytest.mark.skipif(PyMongoBulk is None, reason="PyMongo >= 4.9 internals")

OPTS = DEFAULT_CODEC_OPTIONS
KINDS = {0: "insert", 1: "update", 2: "delete"}  # PyMongo's op types
UNLIMITED = BatchLimits(2**30, 2**31 - 1, 10**9, 0)


@pytest.fixture(scope="module")
def pymongo_collection() -> Iterator[Any]:
    import pymongo

    client: Any = pymongo.MongoClient(connect=False)
    try:
        yield client["db"]["coll"]
    finally:
        client.close()


def flat(plan: BulkPlan) -> list[tuple[int, str, Any]]:
    """(user index, kind, statement) of every operation, by user index."""
    rows = [
        (index, batch.kind, statement)
        for batch in plan.batches
        for index, statement in zip(batch.indexes, batch.statements, strict=True)
    ]
    return sorted(rows, key=lambda row: row[0])


# ------------------------------------------------------------------ statements

# (class name, args, kwargs): built with both libraries from deep copies.
MODEL_SPECS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("InsertOne", ({"_id": 1, "a": 1},), {}),
    ("UpdateOne", ({"a": 1}, {"$set": {"b": 1}}), {}),
    ("UpdateOne", ({"a": 1}, {"$set": {"b": 1}}), {"upsert": True}),
    ("UpdateOne", ({}, [{"$set": {"b": 1}}]), {"upsert": False, "collation": {"locale": "fr"},
                                              "array_filters": [{"x": 1}], "hint": [("a", 1)],
                                              "sort": {"a": -1}}),
    ("UpdateMany", ({}, {"$inc": {"n": 1}}), {}),
    ("UpdateMany", ({}, {"$inc": {"n": 1}}), {"upsert": False, "hint": "a_1"}),
    ("UpdateMany", ({}, {"$inc": {"n": 1}}), {"upsert": True, "array_filters": []}),
    ("ReplaceOne", ({"_id": 2}, {"x": 1}), {}),
    ("ReplaceOne", ({}, {}), {"upsert": True, "collation": {"locale": "en"}, "sort": {"x": 1}}),
    ("DeleteOne", ({"a": 1},), {}),
    ("DeleteOne", ({},), {"collation": {"locale": "fr"}, "hint": {"a": 1}}),
    ("DeleteMany", ({"x": 1},), {"hint": "x_1"}),
    ("InsertOne", ({"_id": 3},), {}),
]


def build(spec: tuple[str, tuple[Any, ...], dict[str, Any]], module: Any) -> Any:
    name, args, kwargs = copy.deepcopy(spec)
    return getattr(module, name)(*args, **kwargs)


@needs_pymongo_bulk
@pytest.mark.parametrize("ordered", [True, False])
def test_statements_and_flags_match_pymongo(pymongo_collection: Any, ordered: bool) -> None:
    theirs = PyMongoBulk(pymongo_collection, ordered, None)
    for spec in MODEL_SPECS:
        build(spec, pymongo_operations)._add_to_bulk(theirs)
    plan = plan_bulk_write(
        [build(spec, _Ours) for spec in MODEL_SPECS],
        collection="coll",
        ordered=ordered,
    )
    assert [(KINDS[t], op) for t, op in theirs.ops] == [(k, s) for _, k, s in flat(plan)]
    assert plan.uses_collation is theirs.uses_collation is True
    assert plan.uses_array_filters is theirs.uses_array_filters is True
    assert plan.uses_sort is theirs.uses_sort is True
    assert plan.retryable is theirs.is_retryable is False
    assert plan.uses_hint_update and plan.uses_hint_delete


class _Ours:
    """Our write models under the names PyMongo's module uses (for ``build``)."""

    InsertOne = InsertOne
    UpdateOne = UpdateOne
    UpdateMany = UpdateMany
    ReplaceOne = ReplaceOne
    DeleteOne = DeleteOne
    DeleteMany = DeleteMany



@pytest.mark.parametrize(
    ("models", "retryable"),
    [
        ([InsertOne({}), UpdateOne({}, {"$set": {"a": 1}}), ReplaceOne({}, {}), DeleteOne({})], True),
        ([InsertOne({}), UpdateMany({}, {"$set": {"a": 1}})], False),
        ([DeleteMany({})], False),
    ],
)
def test_retryable_flag(models: list[Any], retryable: bool) -> None:
    plan = plan_bulk_write(models, collection="c")
    assert plan.retryable is retryable
    assert not (plan.uses_collation or plan.uses_array_filters or plan.uses_sort)


def test_sort_is_sent_as_a_document() -> None:
    plan = plan_bulk_write([UpdateOne({}, {"$set": {"a": 1}}, sort=[("a", -1)])], collection="c")
    assert plan.batches[0].statements[0]["sort"] == {"a": -1}
    assert decode(plan.batches[0].documents[0])["sort"] == {"a": -1}


# ------------------------------------------------------------------ _id assignment


def test_insert_assigns_missing_ids_in_place() -> None:
    docs: list[Any] = [{"x": 1}, {"_id": 5}, {"_id": None}]
    plan = plan_bulk_write([InsertOne(doc) for doc in docs], collection="c")
    assert isinstance(docs[0]["_id"], ObjectId)
    assert list(docs[0]) == ["x", "_id"]  # appended, as PyMongo does
    assert docs[1]["_id"] == 5 and docs[2]["_id"] is None  # an explicit None is kept
    assert [decode(raw) for raw in plan.batches[0].documents] == docs
    assert plan.batches[0].statements[0] is docs[0]


def test_raw_documents_are_sent_as_they_are() -> None:
    raw = RawBSONDocument(encode({"x": 1}))
    plan = plan_inserts([raw], collection="c")
    assert plan.batches[0].documents == (raw.raw,)
    assert ensure_id(raw) is None  # the server assigns it
    assert ensure_id(RawBSONDocument(encode({"_id": 3}))) == 3


def test_plan_inserts_checks_documents() -> None:
    with pytest.raises(TypeError, match="non-empty list"):
        plan_inserts([], collection="c")
    with pytest.raises(TypeError):
        plan_inserts([{"a": 1}, 5], collection="c")
    with pytest.raises(TypeError):
        plan_inserts({"a": 1}, collection="c")
    docs: list[dict[str, Any]] = [{"a": 1}, {"a": 2}]
    plan = plan_inserts(iter(docs), collection="c", ordered=False, bypass_document_validation=True)
    assert all("_id" in doc for doc in docs)
    assert dict(plan.batches[0].command) == {
        "insert": "c",
        "ordered": False,
        "bypassDocumentValidation": True,
    }


# ------------------------------------------------------------------ grouping

_kinds = st.lists(st.sampled_from(["insert", "update", "replace", "delete"]), min_size=1, max_size=30)


def model_for(kind: str, index: int, size: int = 0, multi: bool = False) -> Any:
    payload = "x" * size
    if kind == "insert":
        return InsertOne({"_id": index, "p": payload})
    if kind == "update":
        cls = UpdateMany if multi else UpdateOne
        return cls({"_id": index}, {"$set": {"p": payload}})
    if kind == "replace":
        return ReplaceOne({"_id": index}, {"p": payload})
    cls_d = DeleteMany if multi else DeleteOne
    return cls_d({"_id": index, "p": payload})


def pymongo_model_for(kind: str, index: int) -> Any:
    if kind == "insert":
        return pymongo_operations.InsertOne({"_id": index, "p": ""})
    if kind == "update":
        return pymongo_operations.UpdateOne({"_id": index}, {"$set": {"p": ""}})
    if kind == "replace":
        return pymongo_operations.ReplaceOne({"_id": index}, {"p": ""})
    return pymongo_operations.DeleteOne({"_id": index, "p": ""})


def pymongo_runs(collection: Any, kinds: list[str], ordered: bool) -> list[Any]:
    theirs = PyMongoBulk(collection, ordered, None)
    for index, kind in enumerate(kinds):
        pymongo_model_for(kind, index)._add_to_bulk(theirs)
    return list(theirs.gen_ordered() if ordered else theirs.gen_unordered())


@needs_pymongo_bulk
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=_kinds, ordered=st.booleans())
def test_grouping_matches_pymongo_runs(pymongo_collection: Any, kinds: list[str], ordered: bool) -> None:
    plan = plan_bulk_write(
        [model_for(kind, index) for index, kind in enumerate(kinds)],
        collection="coll",
        ordered=ordered,
        limits=UNLIMITED,
    )
    runs = pymongo_runs(pymongo_collection, kinds, ordered)
    assert [(b.kind, list(b.indexes), list(b.statements)) for b in plan.batches] == [
        (KINDS[run.op_type], run.index_map, run.ops) for run in runs
    ]


def test_grouping_examples() -> None:
    models = [model_for(k, i) for i, k in enumerate(["insert", "delete", "update", "insert", "delete", "replace"])]
    ordered = plan_bulk_write(models, collection="c")
    assert [(b.kind, b.indexes) for b in ordered.batches] == [
        ("insert", (0,)), ("delete", (1,)), ("update", (2,)), ("insert", (3,)), ("delete", (4,)),
        ("update", (5,)),
    ]
    unordered = plan_bulk_write(models, collection="c", ordered=False)
    assert [(b.kind, b.indexes) for b in unordered.batches] == [
        ("insert", (0, 3)), ("update", (2, 5)), ("delete", (1, 4)),
    ]
    assert [b.identifier for b in unordered.batches] == ["documents", "updates", "deletes"]


# ------------------------------------------------------------------ splitting


def overhead(kind: str, command: dict[str, Any], reserve: int) -> int:
    identifier = {"insert": "documents", "update": "updates", "delete": "deletes"}[kind]
    return 16 + 4 + 1 + len(encode(command)) + 1 + 4 + len(identifier) + 1 + reserve


def test_split_by_count() -> None:
    plan = plan_bulk_write(
        [InsertOne({"_id": i}) for i in range(7)], collection="c", limits=BatchLimits(max_write_batch_size=3)
    )
    assert [b.indexes for b in plan.batches] == [(0, 1, 2), (3, 4, 5), (6,)]
    assert plan.count == 7


def test_split_by_message_size() -> None:
    docs = [{"_id": i, "p": "x" * 100} for i in range(10)]
    doc_size = len(encode(docs[0]))
    fixed = overhead("insert", {"insert": "c", "ordered": True}, 0)
    limits = BatchLimits(max_bson_size=1000, max_message_size=fixed + 3 * doc_size, reserve=0)
    plan = plan_inserts(docs, collection="c", limits=limits)
    assert [len(b) for b in plan.batches] == [3, 3, 3, 1]
    assert all(b.size == len(b) * doc_size for b in plan.batches)
    for batch in plan.batches:  # exactly at the limit, never over it
        message = encode_op_msg(1, dict(batch.command), sequences=batch.sequences, codec_options=OPTS)
        assert len(message) <= limits.max_message_size
    assert len(encode_op_msg(1, dict(plan.batches[0].command), sequences=plan.batches[0].sequences,
                             codec_options=OPTS)) == limits.max_message_size


def test_reserve_is_left_free() -> None:
    docs = [{"_id": i} for i in range(4)]
    size = len(encode(docs[0]))
    fixed = overhead("insert", {"insert": "c", "ordered": True}, 0)
    tight = BatchLimits(max_message_size=fixed + 4 * size, reserve=0)
    assert len(plan_inserts(copy.deepcopy(docs), collection="c", limits=tight).batches) == 1
    reserved = BatchLimits(max_message_size=fixed + 4 * size, reserve=1)
    assert len(plan_inserts(copy.deepcopy(docs), collection="c", limits=reserved).batches) == 2


SECRET = "hunter2-do-not-log"


def test_document_too_large_names_sizes_not_contents() -> None:
    models = [InsertOne({"_id": 1}), InsertOne({"_id": 2, "secret": SECRET * 100})]
    with pytest.raises(DocumentTooLarge) as info:
        plan_bulk_write(models, collection="c", limits=BatchLimits(max_bson_size=1000))
    message = str(info.value)
    assert SECRET not in message
    assert "operation 1 (insert)" in message and "maxBsonObjectSize of 1000 bytes" in message
    assert str(len(encode(models[1].document))) in message


def test_nothing_is_planned_when_a_late_document_is_too_large() -> None:
    # PyMongo would send the first batches and then fail; we fail before any batch.
    models = [InsertOne({"_id": i}) for i in range(5)] + [InsertOne({"big": "x" * 2000})]
    with pytest.raises(DocumentTooLarge, match="operation 5"):
        plan_bulk_write(models, collection="c", limits=BatchLimits(max_bson_size=1000, max_write_batch_size=2))


def test_update_statements_may_exceed_max_bson_size_by_the_command_overhead() -> None:
    limits = BatchLimits(max_bson_size=1000, max_message_size=10**6, reserve=0)
    fits = UpdateOne({"_id": 1}, {"$set": {"p": "x" * (1000 + COMMAND_OVERHEAD - 200)}})
    plan = plan_bulk_write([fits], collection="c", limits=limits)
    assert plan.batches[0].size > limits.max_bson_size
    too_big = DeleteOne({"p": "x" * (1000 + COMMAND_OVERHEAD)})
    with pytest.raises(DocumentTooLarge, match=r"delete statement of operation 0 .*maxBsonObjectSize 1000 \+ 16384"):
        plan_bulk_write([too_big], collection="c", limits=limits)
    with pytest.raises(DocumentTooLarge, match="operation 0 \\(insert\\)"):
        plan_inserts([{"p": "x" * 1000}], collection="c", limits=limits)


def test_a_message_too_small_for_one_operation() -> None:
    limits = BatchLimits(max_bson_size=10**6, max_message_size=200, reserve=0)
    with pytest.raises(DocumentTooLarge, match="maxMessageSizeBytes of 200 bytes"):
        plan_inserts([{"p": "x" * 150}], collection="c", limits=limits)


def test_command_body_too_large() -> None:
    with pytest.raises(DocumentTooLarge, match="command document"):
        plan_bulk_write([DeleteOne({})], collection="c", let={"v": "x" * 20000},
                        limits=BatchLimits(max_bson_size=10, reserve=0))


# ------------------------------------------------------------------ the splitter's properties


@st.composite
def bulks(draw: Any) -> tuple[list[tuple[str, int, bool]], bool, BatchLimits]:
    ops = draw(
        st.lists(
            st.tuples(
                # Inserts are the common case, and long runs of one kind get cut.
                st.sampled_from(["insert", "insert", "insert", "update", "replace", "delete"]),
                st.integers(0, 150),
                st.booleans(),
            ),
            min_size=1,
            max_size=40,
        )
    )
    limits = BatchLimits(
        # Small limits now and then, so that some operations cannot fit at all.
        max_bson_size=draw(st.integers(60, 800)),
        max_message_size=draw(st.integers(200, 3000)),
        max_write_batch_size=draw(st.integers(1, 8)),
        reserve=draw(st.sampled_from([0, 10, 37, 100])),
    )
    return ops, draw(st.booleans()), limits


def padded(command: Any, reserve: int) -> dict[str, Any]:
    """The body as the I/O layer might send it: up to ``reserve`` more bytes of fields."""
    body = dict(command)
    if reserve >= 10:  # "$db": str adds 10 bytes + its length
        body["$db"] = "d" * (reserve - 10)
    return body


def message_size(kind: str, ordered: bool, raws: list[bytes], reserve: int) -> int:
    body = padded({kind: "c", "ordered": ordered}, reserve)
    identifier = {"insert": "documents", "update": "updates", "delete": "deletes"}[kind]
    return len(encode_op_msg(1, body, sequences={identifier: raws}, codec_options=OPTS))


@settings(max_examples=300, deadline=None)
@given(bulks())
def test_splitter_properties(case: tuple[list[tuple[str, int, bool]], bool, BatchLimits]) -> None:
    ops, ordered, limits = case
    models = [model_for(kind, index, size, multi) for index, (kind, size, multi) in enumerate(ops)]
    kinds = ["update" if kind == "replace" else kind for kind, _, _ in ops]
    # What each operation becomes, computed here independently of the planner.
    statements = [m.document if isinstance(m, InsertOne) else m._statement() for m in models]
    raws = [encode(statement) for statement in statements]
    too_large = any(
        len(raw) > limits.max_bson_size + (0 if kind == "insert" else COMMAND_OVERHEAD)
        or message_size(kind, ordered, [raw], limits.reserve) > limits.max_message_size
        for kind, raw in zip(kinds, raws, strict=True)
    )
    try:
        plan = plan_bulk_write(models, collection="c", ordered=ordered, limits=limits)
    except DocumentTooLarge:
        event("too large")
        assert too_large
        return
    assert not too_large

    # Every operation exactly once, with its own statement and encoding.
    seen = [index for batch in plan.batches for index in batch.indexes]
    assert sorted(seen) == list(range(len(models)))
    for batch in plan.batches:
        assert 1 <= len(batch) <= limits.max_write_batch_size
        assert batch.size == sum(map(len, batch.documents))
        for index, raw, statement in zip(batch.indexes, batch.documents, batch.statements, strict=True):
            assert kinds[index] == batch.kind
            assert raw == raws[index] and statement == statements[index]
        # Sent for real with the reserve used up, the message still fits.
        body = padded(batch.command, limits.reserve)
        message = encode_op_msg(
            1, body, sequences=batch.sequences, codec_options=OPTS,
            max_message_size=limits.max_message_size,
        )
        assert len(message) <= limits.max_message_size
        parsed = parse_message(message[:16], message[16:])
        assert parsed.sequences[batch.identifier] == batch.documents  # type: ignore[union-attr]

    if ordered:
        assert seen == list(range(len(models)))
    else:
        order = {"insert": 0, "update": 1, "delete": 2}
        keys = [order[batch.kind] for batch in plan.batches]
        assert keys == sorted(keys)
        for kind in order:
            mine = [i for b in plan.batches if b.kind == kind for i in b.indexes]
            assert mine == [i for i, k in enumerate(kinds) if k == kind]

    # Greedy: a batch is only cut where the next operation of its run would not fit.
    cuts = 0
    for first, second in zip(plan.batches, plan.batches[1:], strict=False):
        same_run = first.kind == second.kind and (not ordered or first.indexes[-1] + 1 == second.indexes[0])
        if same_run:
            cuts += 1
            full = len(first) == limits.max_write_batch_size
            grown = [*first.documents, second.documents[0]]
            assert full or message_size(first.kind, ordered, grown, limits.reserve) > limits.max_message_size
        elif ordered:
            assert first.kind != second.kind  # runs only change where the kind does
    event("cut by the limits" if cuts else "one batch per run")


# ------------------------------------------------------------------ the command body


def test_command_body_fields_and_order() -> None:
    wc = WriteConcern(w="majority", wtimeout=100)
    models = [InsertOne({"_id": 1}), UpdateOne({}, {"$set": {"a": 1}}), DeleteOne({})]
    plan = plan_bulk_write(
        models, collection="c", ordered=True, write_concern=wc, bypass_document_validation=False,
        comment="why", let={"v": 1},
    )
    insert, update, delete = (dict(b.command) for b in plan.batches)
    assert list(insert.items()) == [
        ("insert", "c"), ("ordered", True), ("comment", "why"),
        ("writeConcern", {"w": "majority", "wtimeout": 100}), ("bypassDocumentValidation", False),
    ]
    assert update["let"] == delete["let"] == {"v": 1} and "let" not in insert
    assert next(iter(update)) == "update" and next(iter(delete)) == "delete"
    # The server's default write concern, or none (in a transaction): no field at all.
    for concern in (None, WriteConcern()):
        plan = plan_bulk_write([DeleteOne({})], collection="c", write_concern=concern)
        assert dict(plan.batches[0].command) == {"delete": "c", "ordered": True}


def test_batch_views() -> None:
    plan = plan_bulk_write([UpdateOne({"a": 1}, {"$set": {"b": 2}})], collection="c")
    batch = plan.batches[0]
    with pytest.raises(TypeError):
        batch.command["update"] = "other"  # type: ignore[index]
    assert batch.ordered is True and len(batch) == 1
    assert batch.command_document() == {
        "update": "c", "ordered": True,
        "updates": [{"q": {"a": 1}, "u": {"$set": {"b": 2}}, "multi": False, "upsert": False}],
    }
    assert batch.sequences == {"updates": list(batch.documents)}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"requests": []}, InvalidOperation),
        ({"requests": [{"insertOne": {}}]}, TypeError),
        ({"requests": {"a": 1}}, TypeError),
        ({"requests": [DeleteOne({})], "collection": ""}, TypeError),
        ({"requests": [DeleteOne({})], "ordered": 1}, TypeError),
        ({"requests": [DeleteOne({})], "bypass_document_validation": 1}, TypeError),
        ({"requests": [DeleteOne({})], "let": [1]}, TypeError),
        ({"requests": [DeleteOne({})], "write_concern": {"w": 1}}, TypeError),
    ],
)
def test_plan_argument_errors(kwargs: dict[str, Any], error: type[Exception]) -> None:
    arguments: dict[str, Any] = {"collection": "c", **kwargs}
    with pytest.raises(error):
        plan_bulk_write(**arguments)


def test_no_operations_message_is_pymongos() -> None:
    with pytest.raises(InvalidOperation, match=r"^No operations to execute$"):
        plan_bulk_write([], collection="c")


def test_limits() -> None:
    hello = HelloReply.from_document(
        {"maxBsonObjectSize": 100, "maxMessageSizeBytes": 200, "maxWriteBatchSize": 3}
    )
    assert BatchLimits.from_hello(hello, reserve=5) == BatchLimits(100, 200, 3, 5)
    assert BatchLimits.from_hello(HelloReply.from_document({})) == BatchLimits()
    with pytest.raises(ValueError):
        BatchLimits(max_write_batch_size=0)
    with pytest.raises(ValueError):
        BatchLimits(reserve=-1)
    with pytest.raises(TypeError):
        BatchLimits(max_bson_size=True)


def test_unacknowledged_checks() -> None:
    def plan_of(*models: Any, **kwargs: Any) -> BulkPlan:
        return plan_bulk_write(list(models), collection="c", **kwargs)

    check_unacknowledged(plan_of(InsertOne({}), UpdateOne({}, {"$set": {"a": 1}}, hint="a_1")), 6)
    with pytest.raises(ConfigurationError, match="Collation"):
        check_unacknowledged(plan_of(UpdateOne({}, {"$set": {}}, collation={"locale": "fr"})), 25)
    with pytest.raises(ConfigurationError, match="arrayFilters"):
        check_unacknowledged(plan_of(UpdateMany({}, {"$set": {}}, array_filters=[{"x": 1}])), 25)
    sort = plan_of(ReplaceOne({}, {}, sort={"a": 1}))
    with pytest.raises(ConfigurationError, match=r"8\.0"):
        check_unacknowledged(sort, 21)
    check_unacknowledged(sort, 25)
    with pytest.raises(OperationFailure, match="bypass_document_validation"):
        check_unacknowledged(plan_of(InsertOne({}), bypass_document_validation=True), 25)
    check_unacknowledged(plan_of(InsertOne({}), bypass_document_validation=False), 25)


# ------------------------------------------------------------------ merging


def test_merge_example() -> None:
    models = [
        InsertOne({"_id": 1}), UpdateOne({"_id": 9}, {"$set": {"a": 1}}, upsert=True),
        InsertOne({"_id": 1}), DeleteOne({"_id": 1}), UpdateOne({"_id": 2}, {"$set": {"a": 1}}),
    ]
    plan = plan_bulk_write(models, collection="c", ordered=False)
    inserts, updates, deletes = plan.batches
    merger = BulkResultMerger()
    dup = {"index": 1, "code": 11000, "errmsg": "E11000 duplicate key", "keyValue": {"_id": 1}}
    reply: dict[str, Any] = {"n": 1, "ok": 1.0, "writeErrors": [dup]}
    assert merger.merge(inserts, reply) is False  # unordered: keep going
    assert reply["writeErrors"][0] is dup and dup["index"] == 1  # the reply is left alone
    assert merger.merge(updates, {"n": 2, "nModified": 1, "ok": 1.0,
                                  "upserted": [{"index": 0, "_id": 9}]}) is False
    assert merger.merge(deletes, {"n": 1, "ok": 1.0, "errorLabels": ["X"],
                                  "writeConcernError": {"code": 64, "errmsg": "timeout"}}) is False
    result = merger.result
    assert (result["nInserted"], result["nUpserted"], result["nMatched"]) == (1, 1, 1)
    assert (result["nModified"], result["nRemoved"]) == (1, 1)
    assert result["upserted"] == [{"index": 1, "_id": 9}]
    assert result["writeErrors"] == [{**dup, "index": 2, "op": {"_id": 1}}]
    assert result["writeConcernErrors"] == [{"code": 64, "errmsg": "timeout", "errorLabels": ["X"]}]
    with pytest.raises(BulkWriteError) as info:
        merger.check()
    assert info.value.details is result and info.value.code == 65


def test_ordered_stops_at_a_write_error_not_at_a_write_concern_error() -> None:
    plan = plan_bulk_write([InsertOne({"_id": i}) for i in range(4)], collection="c",
                           limits=BatchLimits(max_write_batch_size=2))
    merger = BulkResultMerger()
    assert merger.merge(plan.batches[0], {"n": 2, "ok": 1.0, "writeConcernError": {"code": 64}}) is False
    stop = merger.merge(plan.batches[1], {"n": 0, "ok": 1.0,
                                          "writeErrors": [{"index": 0, "code": 11000, "errmsg": "dup"}]})
    assert stop is True
    assert merger.result["writeErrors"][0]["index"] == 2


def test_merged_copy_leaves_the_merger_alone() -> None:
    plan = plan_bulk_write([UpdateOne({}, {"$set": {"a": 1}}, upsert=True)], collection="c")
    merger = BulkResultMerger()
    reply = {"n": 1, "nModified": 0, "ok": 1.0, "upserted": [{"index": 0, "_id": 1}],
             "writeConcernError": {"code": 91, "errmsg": "shutting down"}}
    preview = merger.merged_copy(plan.batches[0], reply)
    assert preview["nUpserted"] == 1 and preview["writeConcernErrors"]
    assert merger.result == new_bulk_result()
    merger.merge(plan.batches[0], {"n": 1, "nModified": 0, "ok": 1.0, "upserted": [{"index": 0, "_id": 1}]})
    merger.check()
    result = merger.bulk_write_result()
    assert isinstance(result, BulkWriteResult) and result.upserted_ids == {0: 1}


@pytest.mark.parametrize(
    "reply",
    [
        {"n": 0, "ok": 1.0, "writeErrors": [{"index": 5, "code": 1}]},
        {"n": 0, "ok": 1.0, "writeErrors": [{"code": 1}]},
        {"n": 1, "nModified": 0, "ok": 1.0, "upserted": [{"index": -1, "_id": 1}]},
    ],
)
def test_a_reply_naming_an_operation_the_batch_lacks(reply: dict[str, Any]) -> None:
    plan = plan_bulk_write([UpdateOne({}, {"$set": {"a": 1}})], collection="c")
    with pytest.raises(ProtocolError):
        BulkResultMerger().merge(plan.batches[0], reply)


@st.composite
def replies_for(draw: Any, batch: Batch) -> dict[str, Any]:
    size = len(batch)
    reply: dict[str, Any] = {"n": draw(st.integers(0, size)), "ok": 1.0}
    positions = st.lists(st.integers(0, size - 1), unique=True, max_size=size).map(sorted)
    if batch.kind == "update":
        reply["nModified"] = draw(st.integers(0, size))
        upserts = draw(positions)
        if upserts:
            reply["upserted"] = [{"index": i, "_id": f"u{i}"} for i in upserts]
            reply["n"] = max(reply["n"], len(upserts))
    errors = draw(positions)
    if errors:
        reply["writeErrors"] = [{"index": i, "code": draw(st.sampled_from([2, 11000, 121])),
                                 "errmsg": "failed"} for i in errors]
    if draw(st.booleans()):
        reply["writeConcernError"] = {"code": draw(st.sampled_from([64, 91, 100])), "errmsg": "wce"}
        if draw(st.booleans()):
            reply["errorLabels"] = ["RetryableWriteError"]
    return reply


@needs_pymongo_bulk
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=_kinds, ordered=st.booleans(), per_batch=st.integers(1, 4), data=st.data())
def test_merging_matches_pymongo(
    pymongo_collection: Any, kinds: list[str], ordered: bool, per_batch: int, data: Any
) -> None:
    plan = plan_bulk_write(
        [model_for(kind, index) for index, kind in enumerate(kinds)],
        collection="coll", ordered=ordered, limits=BatchLimits(max_write_batch_size=per_batch),
    )
    runs = pymongo_runs(pymongo_collection, kinds, ordered)
    theirs = new_bulk_result()
    merger = BulkResultMerger()
    batches = iter(plan.batches)
    for run in runs:
        offset = 0
        while offset < len(run.ops):
            batch = next(batches)
            assert list(batch.indexes) == run.index_map[offset : offset + len(batch)]
            reply = data.draw(replies_for(batch))
            pymongo_bulk_shared._merge_command(run, theirs, offset, copy.deepcopy(reply))
            stop = merger.merge(batch, reply)
            assert stop is (ordered and "writeErrors" in reply)
            offset += len(batch)
    assert merger.result == theirs
    ours_error = pymongo_error = None
    try:
        merger.check()
    except Exception as exc:
        ours_error = exc
    try:
        if theirs["writeErrors"] or theirs["writeConcernErrors"]:
            pymongo_bulk_shared._raise_bulk_write_error(theirs)
    except Exception as exc:
        pymongo_error = exc
    assert type(ours_error).__name__ == type(pymongo_error).__name__
    if ours_error is not None:
        assert isinstance(ours_error, OperationFailure) and isinstance(pymongo_error, pymongo_errors.OperationFailure)
        assert ours_error.details == pymongo_error.details
        assert ours_error.code == pymongo_error.code
        assert str(ours_error) == str(pymongo_error)


def test_check_bulk_result() -> None:
    result = new_bulk_result()
    check_bulk_result(result)  # nothing failed
    result["writeErrors"] = [{"index": 3, "code": 2, "errmsg": "b"}, {"index": 1, "code": 2, "errmsg": "a"}]
    with pytest.raises(BulkWriteError) as info:
        check_bulk_result(result)
    assert [e["index"] for e in info.value.details["writeErrors"]] == [1, 3]  # type: ignore[index]
    assert str(info.value).startswith("batch op errors occurred, full error: ")


def test_a_server_without_retryable_writes() -> None:
    result = new_bulk_result()
    result["writeErrors"] = [{"index": 0, "code": 20, "errmsg": "Transaction numbers are only allowed on a replica set member or mongos"}]
    with pytest.raises(OperationFailure, match="retryWrites=false") as info:
        check_bulk_result(result)
    assert not isinstance(info.value, BulkWriteError) and info.value.code == 20


# ------------------------------------------------------------------ single writes

SINGLE_REPLIES: list[dict[str, Any]] = [
    {"n": 1, "ok": 1.0},
    {"n": 0, "ok": 1.0, "writeErrors": [{"index": 0, "code": 11000, "errmsg": "E11000 dup", "keyValue": {"_id": 1}}]},
    {"n": 0, "ok": 1.0, "writeErrors": [{"index": 0, "code": 121, "errmsg": "Document failed validation", "errInfo": {}}]},
    {"n": 0, "ok": 1.0, "writeErrors": [{"index": 0, "code": 2, "errmsg": "first"}, {"index": 1, "code": 11000, "errmsg": "last"}]},
    {"n": 1, "ok": 1.0, "writeConcernError": {"code": 64, "errmsg": "waiting", "errInfo": {"wtimeout": True}}},
    {"n": 1, "ok": 1.0, "writeConcernError": {"code": 50, "errmsg": "max time"}},
    {"n": 1, "ok": 1.0, "writeConcernError": {"code": 91, "errmsg": "shutdown"}, "errorLabels": ["RetryableWriteError"]},
    {"n": 1, "ok": 1.0, "writeConcernError": {"code": 100, "errmsg": "unsatisfiable"}},
    {"n": 0, "ok": 1.0, "writeErrors": [{"index": 0, "code": 2, "errmsg": "x"}], "writeConcernError": {"code": 64}},
]


@needs_pymongo_bulk
@pytest.mark.parametrize("reply", SINGLE_REPLIES, ids=repr)
def test_single_write_errors_match_pymongo(reply: dict[str, Any]) -> None:
    ours: Exception | None = None
    theirs: Exception | None = None
    try:
        check_write_reply(reply)
    except Exception as exc:
        ours = exc
    try:
        pymongo_helpers._check_write_command_response(copy.deepcopy(reply))
    except Exception as exc:
        theirs = exc
    assert type(ours).__name__ == type(theirs).__name__
    if isinstance(ours, OperationFailure):
        assert isinstance(theirs, pymongo_errors.OperationFailure)
        assert (ours.code, ours.details, str(ours)) == (theirs.code, theirs.details, str(theirs))
        assert ours.has_error_label("RetryableWriteError") is theirs.has_error_label("RetryableWriteError")


def test_single_write_error_classes() -> None:
    with pytest.raises(DuplicateKeyError):
        check_write_reply({"writeErrors": [{"index": 0, "code": 11000, "errmsg": "dup"}]})
    with pytest.raises(WriteError) as info:
        check_write_reply({"writeErrors": [{"index": 0, "code": 121, "errmsg": "invalid"}]})
    assert not isinstance(info.value, DuplicateKeyError)
    with pytest.raises(WTimeoutError):
        check_write_reply({"writeConcernError": {"code": 64, "errInfo": {"wtimeout": True}}})
    with pytest.raises(WriteConcernError) as concern:
        check_write_reply({"writeConcernError": {"code": 91}, "errorLabels": ["RetryableWriteError"]})
    assert concern.value.has_error_label("RetryableWriteError")
    assert not isinstance(concern.value, WTimeoutError)


# ------------------------------------------------------------------ a wider property


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=4).filter(lambda k: k != "_id"),
                                st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20), max_size=4), min_size=1, max_size=30))
def test_inserts_round_trip_through_the_wire(docs: list[dict[str, Any]]) -> None:
    plan = plan_inserts(docs, collection="c", limits=BatchLimits(max_write_batch_size=7))
    sent: list[dict[str, Any]] = []
    for batch in plan.batches:
        message = encode_op_msg(3, {**batch.command, "$db": "db"}, sequences=batch.sequences, codec_options=OPTS)
        parsed = parse_message(message[:16], message[16:])
        sent.extend(decode(raw) for raw in parsed.sequences["documents"])  # type: ignore[union-attr]
    assert sent == docs
    assert len({doc["_id"] for doc in docs}) == len(docs)
