"""Type-checked use of the ODM's public API (``mypy --strict``; ``make typecheck``).

Never run: the checks are what mypy infers. ``assert_type`` fails the type check when a
result is not typed as the model (``Any`` would fail too).
"""

from __future__ import annotations

import datetime
import decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field
from typing_extensions import assert_type

from odm import (
    AsyncEngine,
    BaseDocument,
    Document,
    DocumentConfig,
    DocumentNotFound,
    Engine,
    Index,
    Indexed,
    ObjectId,
    Pipeline,
    Update,
    and_,
    bulk,
    or_,
    update,
)
from odm.index import IndexDiff


class Address(BaseModel):
    city: str


class User(Document, collection="users"):
    name: Annotated[str, Indexed(unique=True)]
    age: int = 0
    address: Address | None = None
    balance: decimal.Decimal = decimal.Decimal(0)
    joined: datetime.datetime | None = None


class Event(Document):
    model_config = DocumentConfig(collection="events", indexes=[Index("kind", ("at", -1))])
    kind: str
    at: int


class Counter(BaseDocument, collection="counters"):
    id: str
    n: int = 0


class Name(BaseModel):
    name: str


class Total(BaseModel):
    id: str = Field(alias="_id")
    n: int


def sync_usage(engine: Engine) -> None:
    user = engine.insert(User(name="ada"))
    assert_type(user, User)
    assert_type(user.id, ObjectId)
    assert_type(engine.get(User, user.id), User)
    assert_type(engine.find_one(User, User.age >= 18), User | None)
    assert_type(engine.find(User, User.age > 1, {"x": 1}).sort(-User.age).to_list(), list[User])
    assert_type(engine.find(User).first(), User | None)
    assert_type(engine.find_one(User, User.age > 1, required=True), User)
    for found in engine.find(User, or_(User.name == "a", and_(User.age < 3, User.age > 1))):
        assert_type(found, User)
    assert_type(engine.find(User, projection=Name).to_list(), list[Name])
    assert_type(engine.count(User), int)
    assert_type(engine.exists(User, User.name == "x"), bool)
    assert_type(engine.delete_many(User, User.age < 0), int)
    engine.update_one(User, User.id == user.id, update.inc(User.age, 1))
    engine.update_many(User, User.age > 1, Update().set(User.name, "x").unset(User.address))
    pipeline = Pipeline().match(User.age > 1).group(User.name, n={"$sum": 1})
    assert_type(engine.aggregate(User, pipeline, output=Total).to_list(), list[Total])
    assert_type(engine.aggregate(User, [{"$match": {}}]).to_list(), list[User])
    engine.bulk(User, [bulk.Insert(user), bulk.Delete(user)])
    assert_type(engine.index_diff(Event), IndexDiff)
    assert_type(engine.create_indexes(Event), list[str])
    assert_type(engine.save(user), User)
    counter = engine.save(Counter(id="visits"))
    assert_type(engine.get(Counter, "visits").id, str)
    assert_type(counter.n, int)
    try:
        engine.get(User, ObjectId())
    except DocumentNotFound as exc:
        assert_type(exc.model, type[Any] | None)


async def async_usage(engine: AsyncEngine) -> None:
    user = await engine.insert(User(name="ada"))
    assert_type(user, User)
    assert_type(await engine.get(User, user.id), User)
    assert_type(await engine.find(User, User.age >= 18).to_list(), list[User])
    async for found in engine.find(User).limit(3):
        assert_type(found, User)
    assert_type(await engine.find_one(User), User | None)
    assert_type(await engine.aggregate(User, [], output=Total).first(), Total | None)
