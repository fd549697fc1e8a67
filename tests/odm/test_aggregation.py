"""Aggregation pipelines built with field proxies (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from odm.aggregation import Pipeline, field_ref, literal
from odm.model import Document
from odm.query import text


class Line(BaseModel):
    sku: str
    qty: int = 0


class Order(Document, collection="orders"):
    shop: str = Field(default="", alias="shopName")
    total: int = 0
    lines: list[Line] = Field(default_factory=list)
    customer_id: str = ""


class Customer(Document, collection="customers"):
    name: str = ""


def test_a_pipeline_renders_its_stages_in_order() -> None:
    pipeline = (
        Pipeline()
        .match(Order.total > 10, {"status": "paid"})
        .unwind(Order.lines)
        .group(Order.shop, revenue={"$sum": Order.total}, items={"$sum": Order.lines.qty})
        .sort(-Order.total, ("revenue", -1))
        .skip(5)
        .limit(10)
    )
    assert pipeline.to_pipeline() == [
        {"$match": {"total": {"$gt": 10}, "status": "paid"}},
        {"$unwind": "$lines"},
        {"$group": {"_id": "$shopName", "revenue": {"$sum": "$total"},
                    "items": {"$sum": "$lines.qty"}}},
        {"$sort": {"total": -1, "revenue": -1}},
        {"$skip": 5},
        {"$limit": 10},
    ]


def test_stages() -> None:
    p = Pipeline()
    assert p.project(Order.shop, "total", {"x": 0}, n={"$size": Order.lines}).to_pipeline() == [
        {"$project": {"shopName": 1, "total": 1, "x": 0, "n": {"$size": "$lines"}}}
    ]
    assert p.exclude(Order.lines).to_pipeline() == [{"$project": {"lines": 0}}]
    assert p.add_fields({Order.total: {"$add": [Order.total, 1]}}, flag=True).to_pipeline() == [
        {"$addFields": {"total": {"$add": ["$total", 1]}, "flag": True}}
    ]
    assert p.group(None, n={"$sum": 1}).to_pipeline() == [{"$group": {"_id": None, "n": {"$sum": 1}}}]
    assert p.group({"shop": Order.shop, "c": Order.customer_id}).to_pipeline() == [
        {"$group": {"_id": {"shop": "$shopName", "c": "$customer_id"}}}
    ]
    assert p.unwind(Order.lines, preserve_null_and_empty_arrays=True,
                    include_array_index="i").to_pipeline() == [
        {"$unwind": {"path": "$lines", "preserveNullAndEmptyArrays": True,
                     "includeArrayIndex": "i"}}
    ]
    assert p.lookup(Customer, local_field=Order.customer_id, foreign_field=Customer.id,
                    as_="customer").to_pipeline() == [
        {"$lookup": {"from": "customers", "localField": "customer_id", "foreignField": "_id",
                     "as": "customer"}}
    ]
    assert p.lookup("other", local_field="a", foreign_field="b", as_="c").to_pipeline()[0][
        "$lookup"]["from"] == "other"
    assert p.replace_root(Order.lines).to_pipeline() == [{"$replaceRoot": {"newRoot": "$lines"}}]
    assert p.count().to_pipeline() == [{"$count": "count"}]
    assert p.sample(3).to_pipeline() == [{"$sample": {"size": 3}}]
    assert p.stage({"$facet": {"a": []}}).to_pipeline() == [{"$facet": {"a": []}}]
    assert p.match(text("pen")).to_pipeline() == [{"$match": {"$text": {"$search": "pen"}}}]


def test_match_values_stay_values() -> None:
    class Doc(Document, collection="docs"):
        data: dict[str, Any] = Field(default_factory=dict)

    assert Pipeline().match(Doc.data == {"$gt": 1}).to_pipeline() == [
        {"$match": {"data": {"$eq": {"$gt": 1}}}}
    ]


def test_helpers() -> None:
    assert field_ref(Order.lines.sku) == "$lines.sku"
    assert field_ref("a.b") == "$a.b"
    assert literal("$x") == {"$literal": "$x"}
    with pytest.raises(TypeError):
        field_ref("$a")
    with pytest.raises(ValueError, match="positional"):
        field_ref(Order.lines.positional)


@pytest.mark.parametrize(
    "call",
    [
        lambda: Pipeline().limit(0),
        lambda: Pipeline().skip(-1),
        lambda: Pipeline().skip(True),
        lambda: Pipeline().sample(0),
        lambda: Pipeline().sort(),
        lambda: Pipeline().project(),
        lambda: Pipeline().exclude(),
        lambda: Pipeline().add_fields(),
        lambda: Pipeline().group(Order.shop, n=1),
        lambda: Pipeline().group(Order.shop, _id={"$sum": 1}),
        lambda: Pipeline().group(Order.total > 1),
        lambda: Pipeline().stage({"match": {}}),
        lambda: Pipeline().stage({"$match": {}, "$limit": 1}),
        lambda: Pipeline().lookup(3, local_field="a", foreign_field="b", as_="c"),
        lambda: Pipeline().lookup("x", local_field="a", foreign_field="b", as_="$c"),
        lambda: Pipeline().count("$n"),
        lambda: Pipeline().project({1: 1}),
        lambda: Pipeline([{"$limit": 1}, "x"]),
    ],
)
def test_misuse_raises(call: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        call()


def test_pipelines_are_immutable_values() -> None:
    base = Pipeline([{"$match": {"a": 1}}])
    longer = base.limit(1)
    assert len(base) == 1 and len(longer) == 2
    rendered = base.to_pipeline()
    rendered[0]["$match"]["a"] = 2
    assert base.to_pipeline() == [{"$match": {"a": 1}}]
    stages = [{"$match": {"a": 1}}]
    built = Pipeline(stages)
    stages[0]["$match"]["a"] = 3
    assert built.to_pipeline() == [{"$match": {"a": 1}}]
    assert base + Pipeline().limit(1) == longer
    assert repr(longer) == "Pipeline([{'$match': {'a': 1}}, {'$limit': 1}])"
    with pytest.raises(AttributeError):
        base._stages = ()  # type: ignore[misc]
