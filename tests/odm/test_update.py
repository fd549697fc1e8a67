"""Typed updates rendered as update documents (no server)."""

from __future__ import annotations

import datetime
import decimal
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from driver.bson import Decimal128, Int64, ObjectId, Regex, Timestamp
from odm import update
from odm.errors import ValidationError
from odm.fields import proxy_for
from odm.model import Document
from odm.query import raw
from odm.update import Update


class Item(BaseModel):
    sku: str
    qty: Annotated[int, Field(ge=0)] = 0


class User(Document, collection="users"):
    name: str
    nick: str | None = None
    age: Annotated[int, Field(ge=0, le=150)] = 0
    score: float = 0.0
    balance: decimal.Decimal = decimal.Decimal(0)
    big: Int64 = Int64(0)
    visits: int | None = None
    active: bool = False
    tags: list[str] = Field(default_factory=list)
    scores: list[int] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    grid: list[list[int]] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    seen: datetime.datetime | None = None
    anything: Any = None


class Log(BaseModel):
    stamp: Timestamp | None = None  # Timestamp has a Pydantic schema: no arbitrary types


# ---------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (lambda: update.set(User.name, "Ann"), {"$set": {"name": "Ann"}}),
        (lambda: update.set_on_insert(User.age, 3), {"$setOnInsert": {"age": 3}}),
        (lambda: update.unset(User.nick, User.tags), {"$unset": {"nick": "", "tags": ""}}),
        (lambda: update.inc(User.age, -1), {"$inc": {"age": -1}}),
        (lambda: update.inc(User.score, 2), {"$inc": {"score": 2.0}}),
        (lambda: update.inc(User.visits, 1), {"$inc": {"visits": 1}}),
        (lambda: update.inc(User.balance, "0.5"), {"$inc": {"balance": Decimal128("0.5")}}),
        (lambda: update.mul(User.score, 1.5), {"$mul": {"score": 1.5}}),
        (lambda: update.min(User.age, 3), {"$min": {"age": 3}}),
        (lambda: update.max(User.age, 30), {"$max": {"age": 30}}),
        (lambda: update.rename(User.nick, "nickname"), {"$rename": {"nick": "nickname"}}),
        (lambda: update.rename(User.nick, User.name), {"$rename": {"nick": "name"}}),
        (lambda: update.current_date(User.seen), {"$currentDate": {"seen": True}}),
        (lambda: update.current_date(proxy_for(Log, "stamp")),
         {"$currentDate": {"stamp": {"$type": "timestamp"}}}),
        (lambda: update.current_date("at", timestamp=True),
         {"$currentDate": {"at": {"$type": "timestamp"}}}),
        (lambda: update.push(User.tags, "a"), {"$push": {"tags": "a"}}),
        (lambda: update.push(User.scores, each=[3, 1], position=0, slice=-5, sort=1),
         {"$push": {"scores": {"$each": [3, 1], "$sort": 1, "$slice": -5, "$position": 0}}}),
        (lambda: update.push(User.items, Item(sku="a"), sort=[-User.items.qty, User.items.sku]),
         {"$push": {"items": {"$each": [{"sku": "a", "qty": 0}],
                              "$sort": {"qty": -1, "sku": 1}}}}),
        (lambda: update.push(User.items, {"sku": "b"}),
         {"$push": {"items": {"$each": [{"sku": "b", "qty": 0}]}}}),
        (lambda: update.add_to_set(User.tags, "a"), {"$addToSet": {"tags": "a"}}),
        (lambda: update.add_to_set(User.tags, each=["a", "b"]),
         {"$addToSet": {"tags": {"$each": ["a", "b"]}}}),
        (lambda: update.pull(User.tags, "a"), {"$pull": {"tags": "a"}}),
        (lambda: update.pull(User.scores, User.scores < 50), {"$pull": {"scores": {"$lt": 50}}}),
        (lambda: update.pull(User.items, (User.items.qty == 0) & (User.items.sku != "x")),
         {"$pull": {"items": {"qty": 0, "sku": {"$ne": "x"}}}}),
        (lambda: update.pull(User.items, Item(sku="a")),
         {"$pull": {"items": {"$eq": {"sku": "a", "qty": 0}}}}),
        (lambda: update.pull(User.items, raw({"qty": {"$gt": 5}})),
         {"$pull": {"items": {"qty": {"$gt": 5}}}}),
        (lambda: update.pull_all(User.scores, [1, 2]), {"$pullAll": {"scores": [1, 2]}}),
        (lambda: update.pop(User.tags), {"$pop": {"tags": 1}}),
        (lambda: update.pop(User.tags, first=True), {"$pop": {"tags": -1}}),
        (lambda: update.set(User.items.positional.qty, 2), {"$set": {"items.$.qty": 2}}),
        (lambda: update.inc(User.scores.all_positional, 1), {"$inc": {"scores.$[]": 1}}),
        (lambda: update.set(User.items[0].sku, "z"), {"$set": {"items.0.sku": "z"}}),
        (lambda: update.set(User.meta["k"], {"$gt": 1}), {"$set": {"meta.k": {"$gt": 1}}}),
        (lambda: update.set("legacy.path", [1]).unset("old"),
         {"$set": {"legacy.path": [1]}, "$unset": {"old": ""}}),
    ],
)
def test_operations_render(built: Any, expected: dict[str, Any]) -> None:
    assert built().to_update() == expected


def test_chaining_groups_by_operator_in_first_use_order() -> None:
    u = Update().inc(User.age, 1).set(User.name, "a").inc(User.score, 1).set(User.nick, None)
    assert u.to_update() == {
        "$inc": {"age": 1, "score": 1.0}, "$set": {"name": "a", "nick": None}
    }
    assert list(u.to_update()) == ["$inc", "$set"]


def test_pull_values_stay_values() -> None:
    assert update.pull(User.anything, {"$gt": 1}).to_update() == {
        "$pull": {"anything": {"$eq": {"$gt": 1}}}
    }
    assert update.pull(User.anything, Regex("^a")).to_update() == {
        "$pull": {"anything": {"$eq": Regex("^a")}}
    }
    assert update.push(User.anything, {"$each": [1]}).to_update() == {
        "$push": {"anything": {"$each": [{"$each": [1]}]}}
    }
    assert update.add_to_set(User.anything, {"$each": 1}).to_update() == {
        "$addToSet": {"anything": {"$each": [{"$each": 1}]}}
    }


# ---------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: update.set(User.age, "old"), "age"),
        (lambda: update.set(User.age, -1), "age"),  # constraints apply to stored values
        (lambda: update.set(User.name, None), "name"),
        (lambda: update.inc(User.name, 1), "name"),
        (lambda: update.inc(User.active, 1), "active"),
        (lambda: update.inc(User.age, 1.5), "age"),
        (lambda: update.inc(User.age, True), "age"),
        (lambda: update.inc(User.visits, None), "visits"),
        (lambda: update.mul(User.tags, 2), "tags"),
        (lambda: update.max(User.age, 200), "age"),
        (lambda: update.push(User.tags, 3), "tags"),
        (lambda: update.push(User.items, {"sku": "a", "qty": -1}), "items"),
        (lambda: update.add_to_set(User.scores, each=[1, "x"]), "scores"),
        (lambda: update.pull_all(User.scores, ["x"]), "scores"),
        (lambda: update.current_date(User.name), "name"),
        (lambda: update.current_date(User.seen, timestamp=True), "seen"),
        (lambda: update.set(User.items.positional.qty, "x"), "items.$.qty"),
    ],
)
def test_values_are_checked_against_the_field(call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field == field
    assert info.value.model is User


def test_amounts_and_removals_ignore_constraints() -> None:
    assert update.inc(User.age, -200).to_update() == {"$inc": {"age": -200}}
    assert update.pull(User.items, Item.model_construct(sku="a", qty=-1)).to_update() == {
        "$pull": {"items": {"$eq": {"sku": "a", "qty": -1}}}
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda: update.push(User.name, "a"),
        lambda: update.pop(User.age),
        lambda: update.push(User.tags),
        lambda: update.push(User.tags, "a", each=["b"]),
        lambda: update.push(User.tags, each="ab"),
        lambda: update.push(User.tags, "a", slice=1.5),
        lambda: update.push(User.tags, "a", position=True),
        lambda: update.push(User.tags, "a", sort=2),
        lambda: update.push(User.items, Item(sku="a"), sort=User.items),
        lambda: update.set(3, 1),
        lambda: update.set("", 1),
        lambda: update.set("a.$where", 1),
        lambda: update.set("a..b", 1),
        lambda: update.inc("a", "1"),
        lambda: update.rename(User.name, User.name),
        lambda: update.rename(User.items.positional.sku, "x"),
        lambda: update.pull("tags", User.tags == "a"),
        lambda: update.pull(User.items, (User.items.qty == 0) | (User.items.sku == "a")),
        lambda: update.pull_all(User.tags, "a"),
        lambda: Update().to_update(),
    ],
)
def test_misuse_raises(call: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        call()


def test_id_is_immutable_except_on_insert() -> None:
    oid = "5f43a1b2c3d4e5f6a7b8c9d0"
    for call in (lambda: update.set(User.id, oid), lambda: update.unset("_id"),
                 lambda: update.rename(User.name, "_id"), lambda: update.inc("_id.n", 1)):
        with pytest.raises(ValueError, match="_id"):
            call()
    assert update.set_on_insert(User.id, oid).to_update() == {
        "$setOnInsert": {"_id": ObjectId(oid)}
    }


def test_unset_of_a_required_field_needs_a_str_path() -> None:
    with pytest.raises(ValueError, match="required"):
        update.unset(User.name)
    assert update.unset("name").to_update() == {"$unset": {"name": ""}}
    # An array element (a positional path) is not the field itself.
    assert update.unset(User.items.positional).to_update() == {"$unset": {"items.$": ""}}


def test_conflicting_paths_raise() -> None:
    with pytest.raises(ValueError, match="conflicts"):
        update.set(User.name, "a").set(User.name, "b")
    with pytest.raises(ValueError, match="conflicts"):
        update.set(User.items, []).inc(User.items[0].qty, 1)
    with pytest.raises(ValueError, match="conflicts"):
        update.rename(User.nick, "x").set("x.y", 1)
    # Siblings are fine.
    assert update.set(User.items[0].qty, 1).set(User.items[1].qty, 2).to_update() == {
        "$set": {"items.0.qty": 1, "items.1.qty": 2}
    }


# ---------------------------------------------------------------------------- array filters


def test_array_filters() -> None:
    item = User.items.filtered("it")
    u = update.inc(item.qty, 5).array_filter((item.qty < 5) & (item.sku != "x"))
    assert u.to_update() == {"$inc": {"items.$[it].qty": 5}}
    assert u.array_filters == [{"it.qty": {"$lt": 5}, "it.sku": {"$ne": "x"}}]
    score = User.scores.filtered("s")
    v = update.set(score, 0).array_filter((score > 90) | (score < 10))
    assert v.array_filters == [{"$or": [{"s": {"$gt": 90}}, {"s": {"$lt": 10}}]}]
    assert update.set(User.name, "a").array_filters is None


def test_nested_array_filters() -> None:
    row = User.grid.filtered("row")
    cell = row.filtered("cell")
    u = update.set(cell, 0).array_filter(row.size(2), cell < 0)
    assert u.to_update() == {"$set": {"grid.$[row].$[cell]": 0}}
    assert u.array_filters == [{"row": {"$size": 2}}, {"cell": {"$lt": 0}}]


def test_raw_array_filters() -> None:
    u = update.set(User.items.filtered("i").qty, 0).array_filter({"i.sku": "a"})
    assert u.array_filters == [{"i.sku": "a"}]


def test_array_filter_errors() -> None:
    item = User.items.filtered("it")
    with pytest.raises(ValueError, match=r"no array filter for \$\[it\]"):
        update.set(item.qty, 1).to_update()
    with pytest.raises(ValueError, match="not used"):
        update.set(User.name, "a").array_filter(item.qty > 1).to_update()
    with pytest.raises(ValueError, match="already"):
        update.set(item.qty, 1).array_filter(item.qty > 1, item.sku == "a")
    with pytest.raises(ValueError, match="filtered"):
        update.set(item.qty, 1).array_filter(User.age > 1)
    other = User.scores.filtered("s")
    with pytest.raises(ValueError, match="exactly one"):
        update.set(item.qty, 1).array_filter((item.qty > 1) & (other > 1))
    with pytest.raises(TypeError):
        update.set(item.qty, 1).array_filter(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- value semantics


def test_updates_are_immutable_values() -> None:
    base = update.set(User.name, "a")
    longer = base.inc(User.age, 1)
    assert base.to_update() == {"$set": {"name": "a"}}
    assert longer.to_update() == {"$set": {"name": "a"}, "$inc": {"age": 1}}
    with pytest.raises(AttributeError):
        base._ops = ()  # type: ignore[misc]
    rendered = update.push(User.tags, each=["a"]).to_update()
    rendered["$push"]["tags"]["$each"].append("b")
    assert update.push(User.tags, each=["a"]).to_update()["$push"]["tags"]["$each"] == ["a"]
    assert base == update.set(User.name, "a")
    assert base != longer
    assert not Update() and base
    assert repr(base) == "Update({'$set': {'name': 'a'}})"


def test_methods_and_module_functions_agree() -> None:
    assert update.set(User.name, "a") == Update().set(User.name, "a")
    assert update.min(User.age, 1) == Update().min(User.age, 1)
    assert update.pop(User.tags, first=True) == Update().pop(User.tags, first=True)


def test_merge() -> None:
    item = User.items.filtered("it")
    a = update.set(User.name, "a")
    b = update.inc(item.qty, 1).array_filter(item.qty > 0)
    merged = a.merge(b)
    assert merged.to_update() == {"$set": {"name": "a"}, "$inc": {"items.$[it].qty": 1}}
    assert merged.array_filters == [{"it.qty": {"$gt": 0}}]
    with pytest.raises(ValueError, match="conflicts"):
        a.merge(update.unset(User.name.path))
    with pytest.raises(TypeError):
        a.merge({"$set": {}})  # type: ignore[arg-type]


@given(st.lists(st.text(min_size=1, max_size=6).filter(lambda s: "." not in s), min_size=1,
                max_size=5, unique=True))
def test_string_values_are_never_operators(values: list[str]) -> None:
    u = update.push(User.tags, each=values)
    assert u.to_update() == {"$push": {"tags": {"$each": values}}}
    u = Update()
    for index, value in enumerate(values):
        u = u.set(User.meta[f"k{index}"], value)
    assert list(u.to_update()["$set"].values()) == values


@given(st.integers(-(2**31), 2**31 - 1))
def test_inc_takes_any_int_for_int_fields(amount: int) -> None:
    assert update.inc(User.visits, amount).to_update() == {"$inc": {"visits": amount}}
    assert proxy_for(User, "visits") is User.visits
