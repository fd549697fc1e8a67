"""Rendered filters, updates and pipelines do what they say, on SecantusDB.

Everything goes through the raw driver (``driver.MongoClient``): the builders render,
the server answers. Collections stay small (SecantusDB scans slowly). ``$text`` is
tested for its rendering only (tests/odm/test_query.py): SecantusDB has no text indexes.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from driver import MongoClient
from driver.bson import Regex, Timestamp
from odm import update
from odm.aggregation import Pipeline
from odm.codec import CODEC_OPTIONS, from_document
from odm.fields import FieldProxy, proxy_for
from odm.model import BaseDocument
from odm.query import QueryExpression, and_, build_filter, build_sort, nor_, or_, raw


class Box(BaseModel):
    v: Any = None


class Item(BaseModel):
    sku: str
    qty: int = 0


class Person(BaseDocument, collection="people"):
    id: int = 0
    name: str = ""
    age: int | None = None
    tags: list[str] = Field(default_factory=list)
    scores: list[int] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    grid: list[list[int]] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    nick: str | None = Field(default=None, alias="nickName")
    seen: datetime.datetime | None = None


class Stamped(BaseModel):
    stamp: Timestamp | None = None


@pytest.fixture(scope="module")
def db(mongodb_uri: str) -> Iterator[Any]:
    client = MongoClient(mongodb_uri, retryWrites=False)
    name = f"odm_query_{uuid.uuid4().hex[:8]}"
    try:
        yield client.get_database(name, codec_options=CODEC_OPTIONS)
    finally:
        client.drop_database(name)
        client.close()


def ids(collection: Any, *filters: Any) -> list[Any]:
    return sorted(d["_id"] for d in collection.find(build_filter(*filters), {"_id": 1}))


# ---------------------------------------------------------------------------- values are values


VALUES: dict[int, Any] = {
    1: {"$gt": 1},
    2: 5,
    3: "$where",
    4: Regex("^a"),
    5: "abc",
    6: {"$in": [1]},
    7: [1, {"$gt": 1}],
    8: {"$elemMatch": {"a": 1}},
}


@pytest.fixture(scope="module")
def boxes(db: Any) -> Any:
    collection = db.boxes
    collection.insert_many([{"_id": i, "v": v} for i, v in VALUES.items()])
    return collection


def v() -> FieldProxy:
    return proxy_for(Box, "v")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda: v() == {"$gt": 1}, [1, 7]),  # 7: an array holding the value
        (lambda: v() == "$where", [3]),
        (lambda: v() == Regex("^a"), [4]),
        (lambda: v() == {"$in": [1]}, [6]),
        (lambda: v() == {"$elemMatch": {"a": 1}}, [8]),
        (lambda: v() != {"$gt": 1}, [2, 3, 4, 5, 6, 8]),
        (lambda: v() != Regex("^a"), [1, 2, 3, 5, 6, 7, 8]),
        (lambda: v().any_in([{"$gt": 1}, "$where"]), [1, 3, 7]),
        (lambda: v().any_in([Regex("^a")]), [4]),
        (lambda: v().any_in([Regex("^a"), 5, {"$in": [1]}]), [2, 4, 6]),
        (lambda: v().not_in([{"$gt": 1}, Regex("^a"), 5]), [3, 5, 6, 8]),
        (lambda: v().all([{"$gt": 1}, 1]), [7]),
        (lambda: v().all([{"$elemMatch": {"a": 1}}]), [8]),
        (lambda: ~(v() == {"$gt": 1}), [2, 3, 4, 5, 6, 8]),
    ],
)
def test_values_that_look_like_operators_match_only_themselves(
    boxes: Any, expression: Any, expected: list[int]
) -> None:
    assert ids(boxes, expression()) == expected


def test_the_same_values_without_the_odm_would_be_operators(boxes: Any) -> None:
    # What the $eq wrapping protects against: sent plainly, these are operators/patterns.
    assert ids(boxes, {"v": {"$gt": 1}}) == [2]
    assert ids(boxes, {"v": Regex("^a")}) == [4, 5]


def test_operator_like_values_in_a_pipeline_match(boxes: Any) -> None:
    result = list(boxes.aggregate(Pipeline().match(v() == {"$gt": 1}).sort("_id").to_pipeline()))
    assert [d["_id"] for d in result] == [1, 7]


# ---------------------------------------------------------------------------- operators


PEOPLE: list[dict[str, Any]] = [
    {"_id": 1, "name": "ann", "age": 31, "tags": ["a", "b"], "scores": [81, 95],
     "items": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": 0}], "nickName": "A"},
    {"_id": 2, "name": "bob", "age": 17, "tags": ["b"], "scores": [50],
     "items": [{"sku": "x", "qty": 0}]},
    {"_id": 3, "name": "cy", "age": None, "tags": [], "scores": [],
     "items": [{"sku": "z", "qty": 5}], "meta": {"k": 1}},
    {"_id": 4, "name": "Dee", "tags": ["c"], "scores": [84, 60], "nickName": "$where"},
    {"_id": 5, "name": "eve", "age": 65, "tags": ["a"], "scores": [100, 83],
     "items": [{"sku": "y", "qty": 2}], "meta": {"k": "1"}},
]


@pytest.fixture(scope="module")
def people(db: Any) -> Any:
    collection = db.people
    collection.insert_many(PEOPLE)
    return collection


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda: Person.age >= 18, [1, 5]),
        (lambda: (Person.age >= 18) & (Person.age < 65), [1]),
        (lambda: Person.age == None, [3, 4]),  # noqa: E711 - null or missing
        (lambda: Person.age.exists(False), [4]),
        (lambda: Person.age != 17, [1, 3, 4, 5]),  # includes null and missing
        (lambda: Person.age.any_in([17, 65]), [2, 5]),
        (lambda: Person.age.not_in([17, 65]), [1, 3, 4]),
        (lambda: Person.tags == "a", [1, 5]),
        (lambda: Person.tags == ["a", "b"], [1]),
        (lambda: Person.tags.all(["a", "b"]), [1]),
        (lambda: Person.tags.size(0), [3]),
        (lambda: Person.tags[0] == "b", [2]),
        (lambda: Person.items.sku == "y", [1, 5]),
        (lambda: Person.items[0].qty == 0, [2]),
        (lambda: Person.items.elem_match((Person.items.sku == "x") & (Person.items.qty > 1)),
         [1]),
        (lambda: (Person.items.sku == "x") & (Person.items.qty > 4), []),
        (lambda: Person.scores.elem_match((Person.scores >= 80) & (Person.scores < 85)),
         [1, 4, 5]),
        (lambda: Person.scores.elem_match(~(Person.scores >= 60)), [2]),
        (lambda: Person.name.regex("^d", "i"), [4]),
        (lambda: ~Person.name.regex("^[a-c]"), [4, 5]),
        (lambda: Person.nick == "$where", [4]),
        (lambda: Person.nick.exists(), [1, 4]),
        (lambda: Person.meta["k"].type_("string"), [5]),
        (lambda: Person.age.mod(2, 1), [1, 2, 5]),
        (lambda: or_(Person.name == "ann", {"age": 17}), [1, 2]),
        (lambda: nor_(Person.name == "ann", Person.age < 20), [3, 4, 5]),
        (lambda: and_(), [1, 2, 3, 4, 5]),
        (lambda: raw({"$expr": {"$gt": [{"$size": "$tags"}, 1]}}), [1]),
    ],
)
def test_operators_select_what_they_say(
    people: Any, expression: Any, expected: list[int]
) -> None:
    assert ids(people, expression()) == expected


def test_sorts(people: Any) -> None:
    found = people.find({"_id": {"$in": [1, 2, 5]}}, sort=build_sort(-Person.age))
    assert [d["_id"] for d in found] == [5, 1, 2]
    found = people.find({}, sort=build_sort(+Person.name))
    assert [d["name"] for d in found] == ["Dee", "ann", "bob", "cy", "eve"]


def test_pipeline(people: Any) -> None:
    pipeline = (
        Pipeline()
        .match(Person.age.exists())
        .unwind(Person.items)
        .group(Person.items.sku, qty={"$sum": Person.items.qty}, n={"$sum": 1})
        .sort(("_id", 1))
    )
    assert list(people.aggregate(pipeline.to_pipeline())) == [
        {"_id": "x", "qty": 2, "n": 2},
        {"_id": "y", "qty": 2, "n": 2},
        {"_id": "z", "qty": 5, "n": 1},
    ]


# ---------------------------------------------------------------------------- algebra, as a property

_CONDITIONS = [
    lambda: Person.age >= 18,
    lambda: Person.age == None,  # noqa: E711
    lambda: Person.age < 65,
    lambda: Person.tags == "a",
    lambda: Person.tags.any_in(["b", "c"]),
    lambda: Person.scores.elem_match(Person.scores > 90),
    lambda: Person.items.sku == "x",
    lambda: Person.name.regex("e"),
    lambda: Person.nick.exists(),
    lambda: Person.meta["k"] == 1,
    lambda: Person.age.not_in([17]),
    lambda: {"name": {"$in": ["ann", "cy"]}},
]


def _expressions() -> st.SearchStrategy[Any]:
    leaves = st.sampled_from(_CONDITIONS).map(lambda make: make())
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda xs: and_(*xs)),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: or_(*xs)),
            st.lists(children, min_size=1, max_size=2).map(lambda xs: nor_(*xs)),
            children.map(lambda x: ~x if isinstance(x, QueryExpression) else nor_(x)),
        ),
        max_leaves=6,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_expressions(), _expressions())
def test_and_or_not_mean_intersection_union_complement(people: Any, a: Any, b: Any) -> None:
    everything = set(ids(people))
    in_a, in_b = set(ids(people, a)), set(ids(people, b))
    assert set(ids(people, and_(a, b))) == in_a & in_b
    assert set(ids(people, or_(a, b))) == in_a | in_b
    assert set(ids(people, nor_(a, b))) == everything - (in_a | in_b)
    if isinstance(a, QueryExpression):
        assert set(ids(people, ~a)) == everything - in_a


# ---------------------------------------------------------------------------- updates


@pytest.fixture
def fresh(db: Any) -> Iterator[Any]:
    collection = db[f"upd_{uuid.uuid4().hex[:8]}"]
    yield collection
    collection.drop()


def apply(collection: Any, document: dict[str, Any], built: Any, **kwargs: Any) -> Any:
    collection.insert_one(dict(document, _id=1))
    collection.update_one(
        {"_id": 1}, built.to_update(), array_filters=built.array_filters, **kwargs
    )
    found = collection.find_one({"_id": 1})
    del found["_id"]
    return found


@pytest.mark.parametrize(
    ("document", "built", "expected"),
    [
        ({"name": "a"}, lambda: update.set(Person.name, "$where"), {"name": "$where"}),
        ({"name": "a"}, lambda: update.set(Person.meta, {"$gt": 1, "$where": "x"}),
         {"name": "a", "meta": {"$gt": 1, "$where": "x"}}),
        ({"age": 1}, lambda: update.inc(Person.age, 2).set(Person.nick, "n"),
         {"age": 3, "nickName": "n"}),
        ({"age": 3}, lambda: update.mul(Person.age, 4), {"age": 12}),
        ({"age": 3}, lambda: update.min(Person.age, 1), {"age": 1}),
        ({"age": 3}, lambda: update.max(Person.age, 1), {"age": 3}),
        ({"age": 3, "nickName": "x"}, lambda: update.unset(Person.nick), {"age": 3}),
        ({"nickName": "x"}, lambda: update.rename(Person.nick, "alias"), {"alias": "x"}),
        ({"tags": ["a"]}, lambda: update.push(Person.tags, "$each"), {"tags": ["a", "$each"]}),
        ({"scores": [5, 1]},
         lambda: update.push(Person.scores, each=[3, 9], sort=-1, slice=3),
         {"scores": [9, 5, 3]}),
        ({"scores": [5, 1]}, lambda: update.push(Person.scores, each=[7], position=1),
         {"scores": [5, 7, 1]}),
        ({"items": [{"sku": "b", "qty": 2}]},
         lambda: update.push(Person.items, Item(sku="a", qty=5), sort=Person.items.sku),
         {"items": [{"sku": "a", "qty": 5}, {"sku": "b", "qty": 2}]}),
        ({"meta": {"l": [1]}}, lambda: update.push(Person.meta["l"], {"$each": [2]}),
         {"meta": {"l": [1, {"$each": [2]}]}}),
        ({"tags": ["a"]}, lambda: update.add_to_set(Person.tags, each=["a", "b"]),
         {"tags": ["a", "b"]}),
        ({"scores": [1, 50, 90]}, lambda: update.pull(Person.scores, Person.scores < 60),
         {"scores": [90]}),
        ({"items": [{"sku": "a", "qty": 0}, {"sku": "a", "qty": 1, "extra": 1}]},
         lambda: update.pull(Person.items, Item(sku="a", qty=0)),
         {"items": [{"sku": "a", "qty": 1, "extra": 1}]}),
        ({"items": [{"sku": "a", "qty": 0}, {"sku": "b", "qty": 0}]},
         lambda: update.pull(Person.items, Person.items.sku == "a"),
         {"items": [{"sku": "b", "qty": 0}]}),
        ({"meta": {"l": [{"$gt": 1}, {"a": 1}]}},
         lambda: update.pull(Person.meta["l"], {"$gt": 1}),
         {"meta": {"l": [{"a": 1}]}}),
        ({"scores": [1, 2, 1, 3]}, lambda: update.pull_all(Person.scores, [1, 3]), {"scores": [2]}),
        ({"tags": ["a", "b"]}, lambda: update.pop(Person.tags, first=True), {"tags": ["b"]}),
        ({"tags": ["a", "b"]}, lambda: update.pop(Person.tags), {"tags": ["a"]}),
        ({"scores": [1, 2]}, lambda: update.inc(Person.scores.all_positional, 10),
         {"scores": [11, 12]}),
        ({"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 1}]},
         lambda: update.inc(Person.items[1].qty, 1),
         {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}),
    ],
)
def test_updates_do_what_they_say(
    fresh: Any, document: dict[str, Any], built: Any, expected: dict[str, Any]
) -> None:
    assert apply(fresh, document, built()) == expected


def test_positional_update(fresh: Any) -> None:
    fresh.insert_one({"_id": 1, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 1}]})
    fresh.update_one(
        build_filter(Person.id == 1, Person.items.sku == "b"),
        update.set(Person.items.positional.qty, 7).to_update(),
    )
    assert fresh.find_one({"_id": 1})["items"] == [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 7}]


def test_array_filters(fresh: Any) -> None:
    item = Person.items.filtered("it")
    built = update.set(item.qty, 0).array_filter((item.qty > 1) & (item.sku != "c"))
    document = {"items": [{"sku": "a", "qty": 5}, {"sku": "b", "qty": 1}, {"sku": "c", "qty": 9}]}
    assert apply(fresh, document, built)["items"] == [
        {"sku": "a", "qty": 0}, {"sku": "b", "qty": 1}, {"sku": "c", "qty": 9}
    ]


def test_nested_array_filters(fresh: Any) -> None:
    row = Person.grid.filtered("row")
    cell = row.filtered("cell")
    built = update.set(cell, 0).array_filter(row.size(2), cell < 0)
    document = {"grid": [[-1, 2], [-3, -4, 5]]}
    assert apply(fresh, document, built) == {"grid": [[0, 2], [-3, -4, 5]]}


def test_current_date_and_set_on_insert(fresh: Any) -> None:
    built = update.current_date(Person.seen).set_on_insert(Person.name, "new").current_date(
        proxy_for(Stamped, "stamp"))
    fresh.update_one({"_id": 9}, built.to_update(), upsert=True)
    found = fresh.find_one({"_id": 9})
    assert found["name"] == "new"
    assert isinstance(found["seen"], datetime.datetime) and found["seen"].tzinfo is not None
    assert isinstance(found["stamp"], Timestamp)
    fresh.update_one({"_id": 9}, update.set_on_insert(Person.name, "again").to_update(),
                     upsert=True)
    assert fresh.find_one({"_id": 9})["name"] == "new"


def test_updated_documents_still_load(fresh: Any) -> None:
    built = (
        update.set(Person.name, "z").inc(Person.age, 1).push(Person.items, Item(sku="q"))
        .add_to_set(Person.tags, "t").set(Person.meta["x"], {"$y": 1})
    )
    stored = apply(fresh, {"name": "a", "age": 1}, built)
    person = from_document(Person, dict(stored, _id=1))
    assert person.id == 1
    assert person.items == [Item(sku="q")] and person.age == 2 and person.meta == {"x": {"$y": 1}}
