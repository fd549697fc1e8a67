"""Write results: properties, unacknowledged errors and reprs, side by side with PyMongo's.

PyMongo's ``pymongo.results`` classes are pure, so every case runs through both and
the answers (values, reprs, error types and messages) must agree, except where we
fixed a wart on purpose (listed in ``test_fixed_warts``).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymongo import errors as pymongo_errors
from pymongo import results as pymongo_results

from driver.bson import ObjectId
from driver.errors import InvalidOperation, PyMongoError
from driver.results import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
)

ALL = (InsertOneResult, InsertManyResult, UpdateResult, DeleteResult, BulkWriteResult)
UNACK_MESSAGE = (
    "A value for {} is not available when the write is unacknowledged. Check the "
    "acknowledged attribute to avoid this error."
)


def outcome(obj: Any, name: str) -> tuple[str, Any]:
    """What reading ``obj.name`` gives: its value, or the error's type name and message."""
    try:
        return ("value", getattr(obj, name))
    except Exception as exc:  # both libraries' errors, compared by name and text
        return (type(exc).__name__, str(exc))


def pair(name: str, *args: Any) -> tuple[Any, Any]:
    return getattr(pymongo_results, name)(*args), globals()[name](*args)


def assert_same(name: str, args: tuple[Any, ...], properties: list[str]) -> None:
    theirs, ours = pair(name, *args)
    assert repr(ours) == repr(theirs)
    for prop in properties:
        assert outcome(ours, prop) == outcome(theirs, prop), prop


# ------------------------------------------------------------------ insert results


@pytest.mark.parametrize("acknowledged", [True, False])
@pytest.mark.parametrize("inserted_id", [1, "x", None, ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"), {"a": 1}])
def test_insert_one_result(inserted_id: Any, acknowledged: bool) -> None:
    result = InsertOneResult(inserted_id, acknowledged)
    assert result.inserted_id == inserted_id
    assert result.acknowledged is acknowledged
    assert repr(result) == f"InsertOneResult({inserted_id!r}, acknowledged={acknowledged})"
    assert_same("InsertOneResult", (inserted_id, acknowledged), ["inserted_id", "acknowledged"])


@pytest.mark.parametrize("acknowledged", [True, False])
def test_insert_many_result(acknowledged: bool) -> None:
    ids = [1, "two", None]
    result = InsertManyResult(ids, acknowledged)
    assert result.inserted_ids is ids
    assert result.acknowledged is acknowledged
    assert_same("InsertManyResult", (ids, acknowledged), ["inserted_ids", "acknowledged"])


# ------------------------------------------------------------------ update / delete

UPDATE_PROPS = ["raw_result", "acknowledged", "matched_count", "modified_count", "upserted_id", "did_upsert"]
UPDATE_REPLIES = [
    {"n": 1, "nModified": 1, "ok": 1.0},
    {"n": 3, "nModified": 2, "ok": 1.0},
    {"n": 0, "nModified": 0, "ok": 1.0},
    {"n": 1, "nModified": 0, "upserted": ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"), "ok": 1.0},
    {"n": 1, "nModified": 0, "upserted": 0, "ok": 1.0},  # a falsy _id is still an upsert
]


@pytest.mark.parametrize("raw", UPDATE_REPLIES)
def test_update_result_matches_pymongo(raw: dict[str, Any]) -> None:
    assert_same("UpdateResult", (raw, True), UPDATE_PROPS)


def test_update_result_values() -> None:
    result = UpdateResult({"n": 1, "nModified": 0, "upserted": 7, "ok": 1.0}, True)
    assert (result.matched_count, result.modified_count) == (0, 0)
    assert (result.upserted_id, result.did_upsert) == (7, True)
    plain = UpdateResult({"n": 2, "nModified": 1}, True)
    assert (plain.matched_count, plain.modified_count, plain.upserted_id, plain.did_upsert) == (
        2,
        1,
        None,
        False,
    )


@pytest.mark.parametrize("name", ["matched_count", "modified_count", "upserted_id", "did_upsert"])
def test_update_result_unacknowledged_raises(name: str) -> None:
    result = UpdateResult(None, False)
    with pytest.raises(InvalidOperation) as info:
        getattr(result, name)
    assert str(info.value) == UNACK_MESSAGE.format(name)
    assert result.raw_result is None
    assert repr(result) == "UpdateResult(None, acknowledged=False)"


@pytest.mark.parametrize("raw", [{"n": 0, "ok": 1.0}, {"n": 5, "ok": 1.0}, {}])
@pytest.mark.parametrize("acknowledged", [True, False])
def test_delete_result_matches_pymongo(raw: dict[str, Any], acknowledged: bool) -> None:
    assert_same("DeleteResult", (raw, acknowledged), ["raw_result", "acknowledged", "deleted_count"])


def test_delete_result_unacknowledged() -> None:
    result = DeleteResult(None, False)
    with pytest.raises(InvalidOperation, match="deleted_count"):
        _ = result.deleted_count
    assert repr(result) == "DeleteResult(None, acknowledged=False)"


# ------------------------------------------------------------------ bulk

BULK_PROPS = [
    "bulk_api_result",
    "acknowledged",
    "inserted_count",
    "matched_count",
    "modified_count",
    "deleted_count",
    "upserted_count",
    "upserted_ids",
]


def bulk_result(**counts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "writeErrors": [],
        "writeConcernErrors": [],
        "nInserted": 0,
        "nUpserted": 0,
        "nMatched": 0,
        "nModified": 0,
        "nRemoved": 0,
        "upserted": [],
    }
    base.update(counts)
    return base


def test_bulk_write_result_values() -> None:
    raw = bulk_result(
        nInserted=3, nUpserted=2, nMatched=4, nModified=1, nRemoved=5,
        upserted=[{"index": 1, "_id": "a"}, {"index": 6, "_id": "b"}],
    )
    result = BulkWriteResult(raw, True)
    assert result.bulk_api_result is raw
    assert (result.inserted_count, result.matched_count, result.modified_count) == (3, 4, 1)
    assert (result.deleted_count, result.upserted_count) == (5, 2)
    assert result.upserted_ids == {1: "a", 6: "b"}
    assert_same("BulkWriteResult", (raw, True), BULK_PROPS)


@pytest.mark.parametrize("name", BULK_PROPS[2:])
def test_bulk_write_result_unacknowledged(name: str) -> None:
    result = BulkWriteResult({}, False)
    with pytest.raises(InvalidOperation) as info:
        getattr(result, name)
    assert str(info.value) == UNACK_MESSAGE.format(name)
    assert result.bulk_api_result == {}
    assert_same("BulkWriteResult", ({}, False), BULK_PROPS)


@given(
    counts=st.fixed_dictionaries(
        {key: st.integers(0, 10**6) for key in ("nInserted", "nMatched", "nModified", "nRemoved")}
    ),
    upserted=st.lists(st.tuples(st.integers(0, 10**5), st.integers() | st.text(max_size=5)), max_size=5),
    acknowledged=st.booleans(),
)
def test_bulk_write_result_property_matches_pymongo(
    counts: dict[str, int], upserted: list[tuple[int, Any]], acknowledged: bool
) -> None:
    raw = bulk_result(
        **counts,
        nUpserted=len(upserted),
        upserted=[{"index": index, "_id": _id} for index, _id in upserted],
    )
    assert_same("BulkWriteResult", (raw, acknowledged), BULK_PROPS)


@given(
    n=st.integers(0, 10**6),
    modified=st.integers(0, 10**6),
    upserted=st.none() | st.integers() | st.text(max_size=4),  # None: no "upserted" key
    acknowledged=st.booleans(),
)
def test_update_result_property_matches_pymongo(
    n: int, modified: int, upserted: Any, acknowledged: bool
) -> None:
    raw: dict[str, Any] = {"n": n, "nModified": modified, "ok": 1.0}
    if upserted is not None:
        raw["upserted"] = upserted
    props = UPDATE_PROPS if acknowledged else [p for p in UPDATE_PROPS if p != "did_upsert"]
    assert_same("UpdateResult", (raw, acknowledged), props)


# ------------------------------------------------------------------ shared behaviour


def test_fixed_warts() -> None:
    # PyMongo trips an AssertionError; we raise InvalidOperation like the other counts.
    theirs = pymongo_results.UpdateResult(None, False)
    with pytest.raises(AssertionError):
        _ = theirs.did_upsert
    with pytest.raises(InvalidOperation):
        _ = UpdateResult(None, False).did_upsert
    # A reply without nModified (never sent by MongoDB 2.6+): PyMongo says None, we say 0.
    assert pymongo_results.UpdateResult({"n": 1}, True).modified_count is None
    assert UpdateResult({"n": 1}, True).modified_count == 0
    # An upsert whose _id is None: PyMongo says it matched 1 document; it matched none.
    raw = {"n": 1, "nModified": 0, "upserted": None, "ok": 1.0}
    assert pymongo_results.UpdateResult(raw, True).matched_count == 1
    assert UpdateResult(raw, True).matched_count == 0
    assert UpdateResult(raw, True).did_upsert is pymongo_results.UpdateResult(raw, True).did_upsert
    # A bare acknowledged bulk result: PyMongo's counts are None, ours 0 / {}.
    assert BulkWriteResult({}, True).inserted_count == 0
    assert BulkWriteResult({}, True).upserted_ids == {}


def test_error_type_is_in_the_driver_tree() -> None:
    with pytest.raises(PyMongoError):
        _ = DeleteResult(None, False).deleted_count
    # Same name as PyMongo's, so `except InvalidOperation` reads the same.
    assert InvalidOperation.__name__ == pymongo_errors.InvalidOperation.__name__


@pytest.mark.parametrize("cls", ALL)
def test_slots_and_identity(cls: type) -> None:
    args: tuple[Any, ...] = ([1],) if cls is InsertManyResult else ({"n": 1},)
    first, second = cls(*args, True), cls(*args, True)
    assert not hasattr(first, "__dict__")
    assert first != second and first == first  # identity, like PyMongo
    assert len({first, second}) == 2  # hashable, by identity
    with pytest.raises(AttributeError):
        first.acknowledged = False
