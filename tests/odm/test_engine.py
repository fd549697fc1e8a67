"""Every engine method against SecantusDB, for ``Engine`` and ``AsyncEngine`` alike.

Each test runs twice (``[sync]`` / ``[async]``); the async engine is driven through
:class:`tests.odm.engine_helpers.AsyncFace`. Each test has its own database.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, field_validator

from driver import MongoClient
from driver.bson import ObjectId
from driver.errors import OperationFailure
from odm import (
    BaseDocument,
    Document,
    DocumentConfig,
    DocumentNotFound,
    DuplicateKeyError,
    Index,
    Indexed,
    ValidationError,
    and_,
    or_,
)
from odm import bulk as b
from odm.aggregation import Pipeline
from odm.update import Update
from tests.odm.engine_helpers import KINDS, open_engine


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str
    zip_code: str = Field(alias="zip")


class User(Document, collection="users"):
    name: Annotated[str, Indexed(unique=True)]
    age: int = 0
    tags: list[str] = Field(default_factory=list)
    address: Address | None = None
    colour: Colour = Colour.RED
    balance: decimal.Decimal = decimal.Decimal("0")
    joined: datetime.datetime = Field(
        default_factory=lambda: datetime.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=datetime.timezone.utc)
    )
    kind: Literal["user", "admin"] = "user"


class UserName(BaseModel):
    name: str


class Counter(BaseDocument, collection="counters"):
    id: str
    n: int = 0


class Event(Document):
    model_config = DocumentConfig(collection="events", indexes=[Index("kind", ("at", -1))])
    kind: str
    at: int


@pytest.fixture(params=KINDS)
def engine(request: pytest.FixtureRequest, mongodb_uri: str) -> Iterator[Any]:
    with open_engine(request.param, mongodb_uri) as e:
        yield e


def _users(engine: Any) -> list[User]:
    users = [
        User(name="ada", age=36, tags=["math", "code"], address=Address(city="London", zip="N1")),
        User(name="bob", age=17, tags=["art"], colour=Colour.BLUE),
        User(name="cyd", age=52, tags=["code"], address=Address(city="Oslo", zip="0150")),
    ]
    engine.insert_many(users)
    return users


def test_insert_get_and_round_trip(engine: Any) -> None:
    user = User(name="ada", age=36, balance=decimal.Decimal("12.50"),
                address=Address(city="London", zip="N1"))
    assert engine.insert(user) is user
    again = engine.get(User, user.id)
    assert again == user
    assert again.joined.tzinfo is not None  # read back aware, in UTC
    assert engine.get(User, str(user.id)) == user  # the id is converted to its type
    raw = engine.collection(User).find_one({"_id": user.id})
    assert raw["address"] == {"city": "London", "zip": "N1"}  # stored under the alias
    assert raw["colour"] == "red"


def test_get_missing_raises_document_not_found(engine: Any) -> None:
    with pytest.raises(DocumentNotFound) as info:
        engine.get(User, ObjectId())
    assert info.value.model is User


def test_find_filters_sort_skip_limit(engine: Any) -> None:
    _users(engine)
    adults = engine.find(User, User.age >= 18).sort(-User.age).to_list()
    assert [u.name for u in adults] == ["cyd", "ada"]
    assert [u.name for u in engine.find(User, sort=+User.name, skip=1, limit=1).to_list()] == [
        "bob"
    ]
    assert [u.name for u in engine.find(User, User.address.city == "Oslo")] == ["cyd"]
    assert {u.name for u in engine.find(User, User.tags.any_in(["art", "math"]))} == {"ada", "bob"}
    either = engine.find(User, or_(User.name == "bob", User.age > 50)).sort(User.name).to_list()
    assert [u.name for u in either] == ["bob", "cyd"]
    both = engine.find(User, and_(User.age > 20, {"tags": "code"})).sort(User.name).to_list()
    assert [u.name for u in both] == ["ada", "cyd"]
    assert engine.find(User, User.name == "zed").first() is None


def test_find_one_count_exists_distinct(engine: Any) -> None:
    _users(engine)
    assert engine.find_one(User, User.name == "bob").age == 17
    assert engine.find_one(User, User.name == "zed") is None
    with pytest.raises(DocumentNotFound):
        engine.find_one(User, User.name == "zed", required=True)
    assert engine.count(User) == 3
    assert engine.count(User, User.age < 40) == 2
    assert engine.exists(User, User.name == "cyd")
    assert not engine.exists(User, User.name == "zed")
    assert sorted(engine.distinct(User, User.tags)) == ["art", "code", "math"]
    assert sorted(engine.distinct(User, User.address.city, User.age > 20)) == ["London", "Oslo"]


def test_projection_into_a_smaller_model(engine: Any) -> None:
    _users(engine)
    names = engine.find(User, projection=UserName).sort(User.name).to_list()
    assert names == [UserName(name="ada"), UserName(name="bob"), UserName(name="cyd")]


def test_query_renders_the_command_it_sends(engine: Any) -> None:
    query = engine.find(User, User.age >= 18).sort(-User.age).limit(5)
    assert query.to_filter() == {"age": {"$gte": 18}}
    assert query.to_command() == {
        "find": "users", "filter": {"age": {"$gte": 18}}, "sort": {"age": -1}, "limit": 5,
    }
    # Immutable: building on a query leaves it as it was.
    query.skip(3)
    assert "skip" not in query.to_command()


def test_values_are_checked_before_anything_is_sent(engine: Any) -> None:
    with pytest.raises(ValidationError, match="age"):
        engine.find(User, User.age == "x")


def test_update_one_and_many(engine: Any) -> None:
    users = _users(engine)
    result = engine.update_one(User, User.name == "bob", Update().inc(User.age, 1).push(
        User.tags, "music"))
    assert result.modified_count == 1
    bob = engine.get(User, users[1].id)
    assert (bob.age, bob.tags) == (18, ["art", "music"])
    result = engine.update_many(User, User.age > 30, Update().set(User.colour, Colour.BLUE))
    assert result.modified_count == 2
    assert engine.count(User, User.colour == Colour.BLUE) == 3
    raw = engine.update_one(User, {"name": "ada"}, {"$set": {"age": 40}})
    assert raw.modified_count == 1 and engine.get(User, users[0].id).age == 40
    with pytest.raises(ValidationError, match="age"):
        Update().set(User.age, "old")


def test_save_upserts_and_replace_requires_a_document(engine: Any) -> None:
    counter = Counter(id="visits", n=1)
    engine.save(counter)
    counter.n = 5
    engine.save(counter)
    assert engine.get(Counter, "visits").n == 5
    assert engine.count(Counter) == 1
    counter.n = 6
    engine.replace(counter)
    assert engine.get(Counter, "visits").n == 6
    with pytest.raises(DocumentNotFound):
        engine.replace(Counter(id="other"))


def test_delete_and_delete_many(engine: Any) -> None:
    users = _users(engine)
    engine.delete(users[0])
    with pytest.raises(DocumentNotFound):
        engine.delete(users[0])
    assert engine.delete_many(User, User.age < 20) == 1
    assert [u.name for u in engine.find(User)] == ["cyd"]


class Ticket(BaseDocument, collection="tickets"):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)  # stored as Binary subtype 4
    title: str = ""


def test_instances_are_found_by_their_stored_id(engine: Any) -> None:
    first, second = Ticket(title="a"), Ticket(title="b")
    engine.insert_many([first, second])
    first.title = "a2"
    engine.replace(first)
    assert engine.get(Ticket, first.id).title == "a2"
    engine.delete(first)
    with pytest.raises(DocumentNotFound):
        engine.delete(first)
    assert engine.bulk(Ticket, [b.Delete(second)]).deleted_count == 1
    assert engine.count(Ticket) == 0


def test_duplicate_key_is_mapped_with_the_model_and_key(engine: Any) -> None:
    engine.create_indexes(User)
    engine.insert(User(name="ada"))
    with pytest.raises(DuplicateKeyError) as info:
        engine.insert(User(name="ada"))
    error = info.value
    assert error.model is User
    assert error.key == {"name": "ada"}
    assert isinstance(error.__cause__, OperationFailure)
    with pytest.raises(DuplicateKeyError):
        engine.insert_many([User(name="eve"), User(name="ada")])


def test_bulk_sends_one_bulk_write(engine: Any) -> None:
    users = _users(engine)
    dan = User(name="dan", age=5)
    users[2].age = 60
    result = engine.bulk(User, [
        b.Insert(dan),
        b.Save(users[2]),
        b.Delete(users[1]),
        b.UpdateOne(User.name == "ada", Update().set(User.age, 37)),
        b.UpdateMany(User.age > 100, Update().set(User.age, 0)),
    ])
    assert (result.inserted_count, result.deleted_count) == (1, 1)
    ages = {u.name: u.age for u in engine.find(User)}
    assert ages == {"ada": 37, "cyd": 60, "dan": 5}
    with pytest.raises(TypeError, match="Counter"):
        engine.bulk(User, [b.Insert(Counter(id="x"))])


def test_aggregate_into_a_typed_output(engine: Any) -> None:
    _users(engine)

    class Bucket(BaseModel):
        id: str = Field(alias="_id")
        total: int

    pipeline = (
        Pipeline()
        .match(User.age > 0)
        .unwind(User.tags)
        .group(User.tags, total={"$sum": User.age})
        .sort("_id")
    )
    buckets = engine.aggregate(User, pipeline, output=Bucket).to_list()
    assert buckets == [
        Bucket(_id="art", total=17), Bucket(_id="code", total=88), Bucket(_id="math", total=36)
    ]
    raw_stages = [{"$match": {"name": "bob"}}]
    (bob,) = engine.aggregate(User, raw_stages).to_list()
    assert isinstance(bob, User) and bob.name == "bob"


def test_declared_indexes_created_and_diffed(engine: Any) -> None:
    engine.insert(Event(kind="a", at=1))
    diff = engine.index_diff(Event)
    assert [spec.name for spec in diff.missing] == ["kind_1_at_-1"]
    assert engine.create_indexes(Event) == ["kind_1_at_-1"]
    assert engine.index_diff(Event).is_empty
    assert engine.create_indexes(Event) == []  # nothing missing: nothing sent
    engine.collection(Event).create_index("at", name="extra_at")
    assert [spec.name for spec in engine.index_diff(Event).extra] == ["extra_at"]


def test_nothing_creates_indexes_implicitly(engine: Any) -> None:
    engine.insert(User(name="ada"))
    names = [index["name"] for index in engine.collection(User).list_indexes()]
    assert names == ["_id_"]


class Reading(Document, collection="readings"):
    celsius: float = Field(ge=-273.15)
    label: str

    @field_validator("label")
    @classmethod
    def _no_blank_labels(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("label is blank")
        return value


def test_trusted_reads_skip_validators_and_constraints(engine: Any) -> None:
    # Old data, stored before the constraint and the validator existed.
    engine.collection(Reading).insert_one({"_id": ObjectId(), "celsius": -300, "label": " "})
    with pytest.raises(ValidationError, match="celsius"):
        engine.find_one(Reading)
    (old,) = engine.find(Reading, trusted=True).to_list()
    assert (old.celsius, old.label) == (-300.0, " ")
    assert engine.find_one(Reading, trusted=True) == old
    # A shape no conversion can fix is still an error, trusted or not.
    engine.collection(User).insert_one({"_id": ObjectId(), "name": "old", "age": "ancient"})
    with pytest.raises(ValidationError, match="age"):
        engine.find_one(User, User.name == "old", trusted=True)


def test_two_engines_share_one_model(mongodb_uri: str) -> None:
    with open_engine("sync", mongodb_uri) as first, open_engine("sync", mongodb_uri) as second:
        first.insert(User(name="only-in-first"))
        assert second.count(User) == 0
        assert first.count(User) == 1


def test_engine_needs_a_database(mongodb_uri: str) -> None:
    from driver.errors import ConfigurationError
    from odm import Engine

    with pytest.raises(ConfigurationError, match="database"):
        Engine("mongodb://127.0.0.1:1/")
    client = MongoClient(mongodb_uri)
    try:
        engine = Engine(client, database="x")
        engine.close()  # not the engine's client: still usable
        client.admin.command("ping")
    finally:
        client.close()


def test_sessions_are_passed_through(engine: Any, mongodb_uri: str) -> None:
    user = User(name="ada")
    client = engine.client
    session = client.start_session()
    try:
        engine.insert(user, session=session)
        assert engine.get(User, user.id, session=session) == user
    finally:
        session.end_session()


def test_uuid_ids(engine: Any) -> None:
    class Token(BaseDocument, collection="tokens"):
        id: uuid.UUID = Field(default_factory=uuid.uuid4)
        scope: str

    token = engine.insert(Token(scope="read"))
    assert engine.get(Token, token.id) == token
    assert engine.get(Token, str(token.id)) == token
