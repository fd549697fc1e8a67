"""Query expressions rendered as filters: operators, combinations, sorts (no server)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from driver.bson import Regex
from odm.fields import FieldProxy, proxy_for
from odm.model import Document
from odm.query import (
    QueryExpression,
    SortKey,
    and_,
    build_filter,
    build_projection,
    build_sort,
    nor_,
    or_,
    raw,
    text,
)


class Address(BaseModel):
    city: str
    zip_code: str = Field(default="", alias="zip")


class Item(BaseModel):
    sku: str
    qty: int = 0


class User(Document, collection="users"):
    name: str = ""
    age: int = 0
    tags: list[str] = Field(default_factory=list)
    scores: list[int] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    address: Address | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    pattern: Any = None


def f(name: str) -> FieldProxy:
    return proxy_for(User, name)


# ---------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda: User.age == 3, {"age": 3}),
        (lambda: User.age != 3, {"age": {"$ne": 3}}),
        (lambda: User.age < 3, {"age": {"$lt": 3}}),
        (lambda: User.age <= 3, {"age": {"$lte": 3}}),
        (lambda: User.age > 3, {"age": {"$gt": 3}}),
        (lambda: User.age >= 3, {"age": {"$gte": 3}}),
        (lambda: User.age.any_in([1, 2]), {"age": {"$in": [1, 2]}}),
        (lambda: User.age.in_((1, 2)), {"age": {"$in": [1, 2]}}),
        (lambda: User.age.not_in([1]), {"age": {"$nin": [1]}}),
        (lambda: User.age.exists(), {"age": {"$exists": True}}),
        (lambda: User.age.exists(False), {"age": {"$exists": False}}),
        (lambda: User.name.regex("^a"), {"name": {"$regex": "^a"}}),
        (lambda: User.name.regex("^a", "xi"), {"name": {"$regex": "^a", "$options": "xi"}}),
        (lambda: User.name.regex(re.compile("^a", re.I | re.M)),
         {"name": {"$regex": "^a", "$options": "im"}}),
        (lambda: User.name.regex(Regex("^a", "s")), {"name": {"$regex": "^a", "$options": "s"}}),
        (lambda: User.tags.all(["a", "b"]), {"tags": {"$all": ["a", "b"]}}),
        (lambda: User.tags.size(2), {"tags": {"$size": 2}}),
        (lambda: User.age.type_("int", "long"), {"age": {"$type": ["int", "long"]}}),
        (lambda: User.age.type_(16), {"age": {"$type": 16}}),
        (lambda: User.age.mod(4, 1), {"age": {"$mod": [4, 1]}}),
        (lambda: User.tags[0] == "x", {"tags.0": "x"}),
        (lambda: User.address.zip_code == "0150", {"address.zip": "0150"}),
        (lambda: User.items.sku == "a", {"items.sku": "a"}),
        (lambda: User.meta["k"] == 1, {"meta.k": 1}),
        (lambda: User.id == "5f43a1b2c3d4e5f6a7b8c9d0",
         {"_id": __import__("driver.bson").bson.ObjectId("5f43a1b2c3d4e5f6a7b8c9d0")}),
    ],
)
def test_operators_render(expression: Any, expected: dict[str, Any]) -> None:
    assert expression().to_filter() == expected


def test_geo_operators() -> None:
    assert f("meta").near(10.75, 59.91, max_distance=500).to_filter() == {
        "meta": {"$near": {"$geometry": {"type": "Point", "coordinates": [10.75, 59.91]},
                           "$maxDistance": 500}}
    }
    square = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}
    assert f("meta").geo_within(square).to_filter() == {"meta": {"$geoWithin": {"$geometry": square}}}
    assert f("meta").geo_intersects(square).to_filter() == {
        "meta": {"$geoIntersects": {"$geometry": square}}
    }
    with pytest.raises(ValueError):
        f("meta").geo_within({"type": "Polygon", "coordinates": [], "$where": 1})
    with pytest.raises(TypeError):
        f("meta").near("10", 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda: User.age.any_in("ab"),
        lambda: User.age.any_in({"a": 1}),
        lambda: User.age.any_in(3),
        lambda: User.age.exists(1),
        lambda: User.tags.size(-1),
        lambda: User.tags.size(True),
        lambda: User.age.type_(),
        lambda: User.age.type_("text"),
        lambda: User.age.type_(True),
        lambda: User.age.mod(0, 1),
        lambda: User.age.mod(2.5, 1),
        lambda: User.name.regex("a", "q"),
        lambda: User.name.regex(3),
        lambda: User.name.regex("a\x00"),
        lambda: User.name.elem_match({"a": 1}),
        lambda: User.age.any_in(["x"]),
    ],
)
def test_operator_argument_errors(call: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        call()


# ---------------------------------------------------------------------------- values stay values


def test_operator_like_values_are_compared_with_eq() -> None:
    assert (User.meta == {"$gt": 1}).to_filter() == {"meta": {"$eq": {"$gt": 1}}}
    assert (User.meta == {"a": 1}).to_filter() == {"meta": {"a": 1}}
    assert (User.name == "$where").to_filter() == {"name": "$where"}
    assert (User.pattern == Regex("^a")).to_filter() == {"pattern": {"$eq": Regex("^a")}}
    assert (User.pattern != Regex("^a")).to_filter() == {
        "pattern": {"$not": {"$eq": Regex("^a")}}
    }
    assert (User.meta != {"$gt": 1}).to_filter() == {"meta": {"$ne": {"$gt": 1}}}


def test_operator_like_values_in_lists_are_compared_one_by_one() -> None:
    special = {"$gt": 1}
    assert f("meta").any_in([special]).to_filter() == {"meta": {"$eq": special}}
    assert f("meta").any_in([{"a": 1}, special]).to_filter() == {
        "$or": [{"meta": {"$in": [{"a": 1}]}}, {"meta": {"$eq": special}}]
    }
    assert f("meta").not_in([{"a": 1}, special]).to_filter() == {
        "$nor": [{"meta": {"$in": [{"a": 1}]}}, {"meta": {"$eq": special}}]
    }
    assert f("pattern").any_in([Regex("a"), "b"]).to_filter() == {
        "$or": [{"pattern": {"$in": ["b"]}}, {"pattern": {"$eq": Regex("a")}}]
    }
    assert f("pattern").all([{"$elemMatch": {"a": 1}}]).to_filter() == {
        "$and": [{"pattern": {"$eq": {"$elemMatch": {"a": 1}}}}]
    }


def test_raw_filters_are_passed_through() -> None:
    assert build_filter({"$where": "1"}) == {"$where": "1"}
    assert raw({"age": {"$gt": 1}}).to_filter() == {"age": {"$gt": 1}}


# ---------------------------------------------------------------------------- combining


def test_and_merges_fields_and_operators() -> None:
    assert ((User.age >= 18) & (User.age < 65)).to_filter() == {"age": {"$gte": 18, "$lt": 65}}
    assert ((User.age > 1) & (User.name == "a")).to_filter() == {"age": {"$gt": 1}, "name": "a"}
    assert and_(User.age > 1, User.age > 2).to_filter() == {
        "$and": [{"age": {"$gt": 1}}, {"age": {"$gt": 2}}]
    }
    assert and_(User.age == 1, User.age > 0).to_filter() == {
        "$and": [{"age": 1}, {"age": {"$gt": 0}}]
    }
    # A regex and its options stay together.
    assert and_(User.name.regex("a", "i"), User.name.regex("b")).to_filter() == {
        "$and": [{"name": {"$regex": "a", "$options": "i"}}, {"name": {"$regex": "b"}}]
    }


def test_and_with_or_clauses() -> None:
    a, b, c, d = User.age == 1, User.age == 2, User.name == "x", User.name == "y"
    assert ((a | b) & (c | d)).to_filter() == {
        "$and": [{"$or": [{"age": 1}, {"age": 2}]}, {"$or": [{"name": "x"}, {"name": "y"}]}]
    }


def test_or_and_nor_flatten() -> None:
    a, b, c = User.age == 1, User.age == 2, User.age == 3
    assert (a | b | c).to_filter() == {"$or": [{"age": 1}, {"age": 2}, {"age": 3}]}
    assert or_(a, or_(b, c)).to_filter() == {"$or": [{"age": 1}, {"age": 2}, {"age": 3}]}
    assert (a & b & c).to_filter() == {"$and": [{"age": 1}, {"age": 2}, {"age": 3}]}
    assert nor_(a, b).to_filter() == {"$nor": [{"age": 1}, {"age": 2}]}
    assert or_(a).to_filter() == {"age": 1}


def test_raw_mappings_mix_with_expressions() -> None:
    assert build_filter(User.age > 3, {"x": 1}) == {"age": {"$gt": 3}, "x": 1}
    assert ((User.age > 3) & {"x": 1}).to_filter() == {"age": {"$gt": 3}, "x": 1}
    assert ({"x": 1} & (User.age > 3)).to_filter() == {"x": 1, "age": {"$gt": 3}}
    assert ({"x": 1} | (User.age > 3)).to_filter() == {"$or": [{"x": 1}, {"age": {"$gt": 3}}]}
    assert build_filter({"age": 1}, User.age > 0) == {"$and": [{"age": 1}, {"age": {"$gt": 0}}]}
    assert build_filter() == {}
    assert build_filter(None, {}) == {}
    assert and_().to_filter() == {}


def test_negation() -> None:
    assert (~(User.age == 1)).to_filter() == {"age": {"$ne": 1}}
    assert (~(User.age != 1)).to_filter() == {"age": 1}
    assert (~User.age.any_in([1])).to_filter() == {"age": {"$nin": [1]}}
    assert (~User.age.not_in([1])).to_filter() == {"age": {"$in": [1]}}
    assert (~User.age.exists()).to_filter() == {"age": {"$exists": False}}
    assert (~(User.age > 1)).to_filter() == {"$nor": [{"age": {"$gt": 1}}]}
    assert (~((User.age > 1) | (User.name == "a"))).to_filter() == {
        "$nor": [{"age": {"$gt": 1}}, {"name": "a"}]
    }
    assert (~nor_(User.age > 1, User.name == "a")).to_filter() == {
        "$or": [{"age": {"$gt": 1}}, {"name": "a"}]
    }
    assert (~((User.age > 1) & (User.name == "a"))).to_filter() == {
        "$nor": [{"age": {"$gt": 1}, "name": "a"}]
    }
    expr = User.age > 1
    assert ~~expr == expr
    with pytest.raises(TypeError, match="text"):
        ~text("x")


def test_text_search() -> None:
    assert text("coffee").to_filter() == {"$text": {"$search": "coffee"}}
    assert text("café", language="fr", case_sensitive=True,
                diacritic_sensitive=False).to_filter() == {
        "$text": {"$search": "café", "$language": "fr", "$caseSensitive": True,
                  "$diacriticSensitive": False}
    }
    assert (text("x") & (User.age > 1)).to_filter() == {
        "$text": {"$search": "x"}, "age": {"$gt": 1}
    }
    for bad in (lambda: text(3), lambda: text("x", language=1),  # type: ignore[arg-type]
                lambda: text("x", case_sensitive="yes")):  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            bad()


def test_python_boolean_operators_are_refused() -> None:
    with pytest.raises(TypeError, match="truth value"):
        (User.age > 1) and (User.age < 5)  # noqa: B018
    with pytest.raises(TypeError, match="truth value"):
        if User.age == 1:
            pass
    with pytest.raises(TypeError, match="bool"):
        build_filter(True)
    with pytest.raises(TypeError):
        build_filter(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        or_()
    with pytest.raises(TypeError):
        nor_()
    with pytest.raises(TypeError):
        build_filter({1: 2})  # type: ignore[dict-item]


# ---------------------------------------------------------------------------- elem_match


def test_elem_match_on_documents() -> None:
    cond = (User.items.sku == "a") & (User.items.qty > 1)
    assert User.items.elem_match(cond).to_filter() == {
        "items": {"$elemMatch": {"sku": "a", "qty": {"$gt": 1}}}
    }
    # Built on the element's model, the paths are already relative.
    sku = proxy_for(Item, "sku")
    assert User.items.elem_match(sku == "b").to_filter() == {"items": {"$elemMatch": {"sku": "b"}}}
    assert User.items.elem_match((User.items.sku == "a") | (User.items.qty == 0)).to_filter() == {
        "items": {"$elemMatch": {"$or": [{"sku": "a"}, {"qty": 0}]}}
    }
    assert User.items.elem_match({"qty": {"$gt": 5}}).to_filter() == {
        "items": {"$elemMatch": {"qty": {"$gt": 5}}}
    }


def test_elem_match_on_scalars() -> None:
    assert User.scores.elem_match((User.scores >= 80) & (User.scores < 85)).to_filter() == {
        "scores": {"$elemMatch": {"$gte": 80, "$lt": 85}}
    }
    assert User.scores.elem_match(~(User.scores > 9)).to_filter() == {
        "scores": {"$elemMatch": {"$not": {"$gt": 9}}}
    }
    assert User.scores.elem_match(User.scores == 3).to_filter() == {
        "scores": {"$elemMatch": {"$eq": 3}}
    }


def test_elem_match_errors() -> None:
    with pytest.raises(ValueError, match="not on"):
        User.items.elem_match(User.age > 1)
    with pytest.raises(ValueError, match="either"):
        User.items.elem_match((User.items == {"sku": "a"}) & (User.items.qty > 1))
    with pytest.raises(ValueError, match="&"):
        User.scores.elem_match((User.scores > 1) | (User.scores < 0))
    with pytest.raises(ValueError, match="twice"):
        User.scores.elem_match((User.scores > 1) & (User.scores > 2))
    with pytest.raises(ValueError, match="text"):
        User.items.elem_match(text("x"))
    with pytest.raises(TypeError):
        User.items.elem_match(3)  # type: ignore[arg-type]


def test_positional_paths_are_not_filters() -> None:
    with pytest.raises(ValueError, match="positional"):
        (User.items.positional.qty > 1).to_filter()
    with pytest.raises(ValueError, match="positional"):
        build_filter(User.scores.filtered("s") > 1)
    with pytest.raises(ValueError, match="positional"):
        build_filter(User.scores.all_positional == 1)


# ---------------------------------------------------------------------------- immutability


def test_expressions_are_immutable_values() -> None:
    expr = User.age > 1
    with pytest.raises(AttributeError):
        expr._node = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        QueryExpression()
    rendered = expr.to_filter()
    rendered["age"]["$gt"] = 99
    assert expr.to_filter() == {"age": {"$gt": 1}}
    document = {"tags": ["a"]}
    built = User.tags.any_in(["a"]) & document
    document["tags"].append("b")
    assert built.to_filter() == {"$and": [{"tags": {"$in": ["a"]}}, {"tags": ["a"]}]}
    assert (User.age > 1) == (User.age > 1)
    assert hash(User.age > 1) == hash(User.age > 1)
    assert (User.age > 1) != (User.age > 2)
    assert repr(User.age > 1) == "QueryExpression({'age': {'$gt': 1}})"


# ---------------------------------------------------------------------------- sorts, projections


def test_build_sort() -> None:
    assert build_sort(-User.age, +User.name) == [("age", -1), ("name", 1)]
    assert build_sort(User.age) == [("age", 1)]
    assert build_sort(-User.address.zip_code) == [("address.zip", -1)]
    assert build_sort("name", "-age", "+tags") == [("name", 1), ("age", -1), ("tags", 1)]
    assert build_sort(("name", -1), [("age", 1)]) == [("name", -1), ("age", 1)]
    assert build_sort({"name": 1, "age": -1}) == [("name", 1), ("age", -1)]
    assert build_sort((User.age, -1)) == [("age", -1)]
    # Two proxies in a tuple are two keys, never a (field, direction) pair.
    assert build_sort((User.age, User.name)) == [("age", 1), ("name", 1)]
    assert build_sort() == []
    assert SortKey("x", 1) == SortKey("x", 1) and hash(SortKey("x", 1)) == hash(SortKey("x", 1))


@pytest.mark.parametrize(
    "keys",
    [(("age", 2),), (("age", True),), ("age", "age"), (3,), ("$x",), (User.items.positional,),
     ("",)],
)
def test_build_sort_errors(keys: tuple[Any, ...]) -> None:
    with pytest.raises((TypeError, ValueError)):
        build_sort(*keys)


def test_build_projection() -> None:
    assert build_projection(User.name, "address.city") == {"name": 1, "address.city": 1}
    assert build_projection([User.tags], exclude=True) == {"tags": 0}
    with pytest.raises(TypeError):
        build_projection("$x")


# ---------------------------------------------------------------------------- properties


_conditions = st.sampled_from([
    User.age > 1, User.age == 2, User.name == "a", User.tags.any_in(["x"]),
    User.scores.size(1), User.name.regex("^a"), {"raw": 1}, User.age.exists(False),
])


def _tree(depth: int = 3) -> st.SearchStrategy[Any]:
    return st.recursive(
        _conditions,
        lambda children: st.one_of(
            st.tuples(children, children).map(lambda t: and_(*t)),
            st.tuples(children, children).map(lambda t: or_(*t)),
            st.tuples(children, children).map(lambda t: nor_(*t)),
            children.map(lambda c: ~c if isinstance(c, QueryExpression) else nor_(c)),
        ),
        max_leaves=depth * 3,
    )


def _paths(document: Any) -> list[str]:
    keys: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            keys.append(key)
            if key in ("$and", "$or", "$nor"):
                for part in value:
                    keys.extend(_paths(part))
    return keys


@given(_tree())
def test_rendered_filters_only_use_known_top_level_operators(expr: Any) -> None:
    document = build_filter(expr)
    for key in _paths(document):
        assert not key.startswith("$") or key in ("$and", "$or", "$nor"), key
    for key in ("$and", "$or", "$nor"):
        for part in _walk(document, key):
            assert isinstance(part, list) and part, document


def _walk(document: Any, key: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(document, dict):
        for k, v in document.items():
            if k == key:
                found.append(v)
            if isinstance(v, list):
                for item in v:
                    found.extend(_walk(item, key))
    return found


@given(_tree())
def test_double_negation_is_the_identity(expr: Any) -> None:
    if isinstance(expr, QueryExpression):
        assert (~~expr).to_filter() == expr.to_filter()
