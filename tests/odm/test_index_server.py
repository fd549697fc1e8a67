"""Declared indexes against a live server (SecantusDB unless ``MONGODB_URI`` is set).

Each declared index is created with the raw driver from ``spec.to_index_model()``; what
``list_indexes()`` then reports must diff as empty against the declaration. Changing
one thing on the server (drop, create differently) must show as exactly that change.

SecantusDB 0.7 refuses two index kinds (``CannotCreateIndex``: "... indexes are not
supported by SecantusDB"): text and hashed. Those cases skip with that reason when the
server says so, and run on a server that builds them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict

import driver
from driver.errors import OperationFailure
from odm.index import Index, Indexed, IndexSpec, diff_indexes, index_specs

UNSUPPORTED = "indexes are not supported by SecantusDB"


@pytest.fixture
def db(mongodb_uri: str) -> Iterator[Any]:
    client = driver.MongoClient(mongodb_uri)
    name = f"odm_index_{uuid.uuid4().hex[:12]}"
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


def _create(collection: Any, specs: Sequence[IndexSpec]) -> None:
    """Create ``specs``; skip (naming the kind) what SecantusDB cannot build."""
    try:
        collection.create_indexes([spec.to_index_model() for spec in specs])
    except OperationFailure as exc:
        if exc.code == 67 and UNSUPPORTED in str(exc):
            pytest.skip(f"SecantusDB cannot build this index kind: {str(exc).split(',')[0]}")
        raise


def _listed(collection: Any) -> list[dict[str, Any]]:
    return [dict(index) for index in collection.list_indexes()]


CASES: dict[str, Index] = {
    "ascending": Index("a"),
    "compound": Index("a", ("b", -1), "c.d"),
    "unique_sparse": Index("email", unique=True, sparse=True),
    "named": Index("a", name="by_a"),
    "ttl": Index("at", expire_after=timedelta(hours=1)),
    "partial": Index("age", partial={"age": {"$gte": 18}, "kind": "adult"}),
    "hidden": Index("h", hidden=True),
    "collation": Index("name", collation={"locale": "fr", "strength": 2}),
    "collation_simple": Index("name", collation={"locale": "simple"}),
    "2dsphere": Index(("loc", "2dsphere")),
    "2dsphere_v2": Index(("loc", "2dsphere"), ("kind", 1), two_d_sphere_version=2),
    "2d": Index(("grid", "2d")),
    "2d_options": Index(("grid", "2d"), bits=20, min=-10.0, max=10.0),
    "wildcard": Index("$**", wildcard_projection={"secret": 0}),
    "wildcard_path": Index("attrs.$**"),
    "compound_wildcard": Index("tenant", "$**", wildcard_projection={"tenant": 0}),
    "multikey": Index("tags", ("scores", -1)),
    "text": Index(("title", "text"), ("body", "text"), weights={"title": 10}),
    "text_options": Index(
        "lang", ("title", "text"), default_language="french", language_override="idiom"
    ),
    "hashed": Index(("shard", "hashed")),
}


@pytest.mark.parametrize("case", CASES)
def test_a_created_index_is_listed_as_declared(db: Any, case: str) -> None:
    spec = CASES[case].spec
    collection = db[case]
    _create(collection, [spec])
    listed = _listed(collection)
    assert spec.name in [index["name"] for index in listed]
    diff = diff_indexes([spec], listed)
    assert diff.is_empty, str(diff)


class Address(BaseModel):
    city: Annotated[str, Indexed()]
    zip: Annotated[str, Indexed(-1, sparse=True)] = ""


class Customer(BaseModel):
    model_config = ConfigDict(
        indexes=[  # type: ignore[typeddict-unknown-key]
            Index("name", ("joined", -1), name="by_name_joined"),
            Index("joined", partial={"vip": True}, name="vip_joined"),
        ]
    )
    email: Annotated[str, Indexed(unique=True)]
    name: str
    joined: Annotated[int, Indexed(expire_after=3600)]
    vip: bool = False
    home: Address
    addresses: list[Address] = []
    tags: Annotated[list[str], Indexed()] = []
    loc: Annotated[dict[str, Any], Indexed("2dsphere")] = {}


def test_a_models_indexes_created_together_match(db: Any) -> None:
    specs = index_specs(Customer)
    assert len(specs) == 10
    collection = db["customers"]
    _create(collection, specs)
    listed = _listed(collection)
    assert sorted(index["name"] for index in listed) == sorted(
        ["_id_", *(spec.name for spec in specs)]
    )
    assert diff_indexes(specs, listed).is_empty


def test_missing_and_extra_on_the_server(db: Any) -> None:
    specs = index_specs(Customer)
    collection = db["customers"]
    _create(collection, specs)
    collection.drop_index("email_1")
    collection.create_index([("stray", 1)])
    diff = diff_indexes(specs, _listed(collection))
    assert [spec.name for spec in diff.missing] == ["email_1"]
    assert diff.extra == (IndexSpec((("stray", 1),), "stray_1"),)
    assert diff.changed == ()
    # What the diff says is missing is what creating it needs.
    _create(collection, diff.missing)
    collection.drop_index("stray_1")
    assert diff_indexes(specs, _listed(collection)).is_empty


# (declared, what the server gets instead under the same name, the expected differences)
CHANGES: dict[str, tuple[Index, dict[str, Any], dict[str, tuple[Any, Any]]]] = {
    "unique_dropped": (Index("a", unique=True), {}, {"unique": (True, None)}),
    "unique_added": (Index("a"), {"unique": True}, {"unique": (None, True)}),
    "sparse": (Index("a", sparse=True), {}, {"sparse": (True, None)}),
    "hidden": (Index("a"), {"hidden": True}, {"hidden": (None, True)}),
    "ttl": (
        Index("a", expire_after=60),
        {"expireAfterSeconds": 120},
        {"expireAfterSeconds": (60, 120)},
    ),
    "partial": (
        Index("a", partial={"a": {"$gt": 1}}),
        {"partialFilterExpression": {"a": {"$gt": 5}}},
        {"partialFilterExpression": ({"a": {"$gt": 1}}, {"a": {"$gt": 5}})},
    ),
    "collation": (
        Index("a", collation={"locale": "fr", "strength": 2}),
        {"collation": {"locale": "fr", "strength": 1}},
        {"collation": ({"locale": "fr", "strength": 2}, {"locale": "fr", "strength": 1})},
    ),
    "2dsphere_version": (
        Index(("loc", "2dsphere"), two_d_sphere_version=3),
        {"2dsphereIndexVersion": 2},
        {"2dsphereIndexVersion": (3, 2)},
    ),
    "2d_bits": (Index(("g", "2d")), {"bits": 12}, {"bits": (26, 12)}),
    "wildcard_projection": (
        Index("$**", wildcard_projection={"a": 1}),
        {"wildcardProjection": {"b": 1}},
        {"wildcardProjection": ({"a": 1}, {"b": 1})},
    ),
    "direction": (
        Index("a", name="by_a"),
        {"key": [("a", -1)]},
        {"key": ((("a", 1),), (("a", -1),))},
    ),
    "name": (Index("a", ("b", -1)), {"name": "made_by_hand"}, {"name": ("a_1_b_-1", "made_by_hand")}),
    "text_weights": (
        Index(("title", "text"), weights={"title": 5}),
        {"weights": {"title": 2}},
        {"weights": ({"title": 5}, {"title": 2})},
    ),
}


@pytest.mark.parametrize("case", CHANGES)
def test_a_change_on_the_server_is_reported_exactly(db: Any, case: str) -> None:
    declared, server, differences = CHANGES[case]
    spec = declared.spec
    collection = db[case]
    _create(collection, [spec])
    assert diff_indexes([spec], _listed(collection)).is_empty
    collection.drop_index(spec.name)
    keys = server.pop("key", list(spec.keys))
    changed = {
        **{k: v for k, v in spec.options.items() if k not in differences},
        "name": spec.name,
        **server,
    }
    collection.create_indexes([driver.IndexModel(keys, **changed)])
    diff = diff_indexes([spec], _listed(collection))
    assert diff.missing == () and diff.extra == (), str(diff)
    (change,) = diff.changed
    assert dict(change.differences) == differences
