"""Declared indexes (``odm.index``), pure: specs from models, names, options, the diff.

The server's side of a diff is written here as MongoDB 8 reports it in ``listIndexes``
(text indexes as ``_fts``/``_ftsx`` keys with every weight, expanded collations, ...);
``test_index_server.py`` checks the same rules against a live server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Optional, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from driver import IndexModel
from driver.bson import Int64, ObjectId, json_util
from driver.operations import index_name
from odm.index import (
    Index,
    IndexChange,
    IndexDiff,
    Indexed,
    IndexSpec,
    diff_indexes,
    index_specs,
)

# ------------------------------------------------------------------ helpers


def _listed(spec: IndexSpec, **server: Any) -> dict[str, Any]:
    """``spec`` as MongoDB 8 lists it after ``createIndexes``: ``v``, text keys folded
    into ``_fts``/``_ftsx`` with every weight (sorted) and the language defaults, the
    2dsphere version, a collation expanded to all its fields. ``server`` overrides."""
    text = [path for path, value in spec.keys if value == "text"]
    key: dict[str, Any] = {}
    for path, value in spec.keys:
        if value != "text":
            key[path] = value
        elif path == text[0]:
            key["_fts"], key["_ftsx"] = "text", 1
    document: dict[str, Any] = {"v": 2, "key": key, "name": spec.name}
    options = dict(spec.options)
    if text:
        weights = {path: 1 for path in text} | dict(options.pop("weights", {}))
        document["weights"] = dict(sorted(weights.items()))
        document["default_language"] = options.pop("default_language", "english")
        document["language_override"] = options.pop("language_override", "language")
        document["textIndexVersion"] = options.pop("textIndexVersion", 3)
    if "2dsphere" in key.values():
        document["2dsphereIndexVersion"] = options.pop("2dsphereIndexVersion", 3)
    collation = options.pop("collation", None)
    document.update(options)
    if collation is not None and collation["locale"] != "simple":
        document["collation"] = {
            "locale": collation["locale"], "caseLevel": False, "caseFirst": "off",
            "strength": 3, "numericOrdering": False, "alternate": "non-ignorable",
            "maxVariable": "punct", "normalization": False, "backwards": False,
            "version": "57.1",
        } | collation
    document.update(server)
    return document


ID_INDEX = {"v": 2, "key": {"_id": 1}, "name": "_id_"}


def _specs(**options: Any) -> tuple[IndexSpec, ...]:
    return tuple(index_specs(_model(**options)))


def _model(**config: Any) -> type[BaseModel]:
    class M(BaseModel):
        model_config = ConfigDict(**config)  # type: ignore[typeddict-item]
        x: int = 0

    return M


# ------------------------------------------------------------------ field-level


class Address(BaseModel):
    city: Annotated[str, Indexed()]
    zip_code: Annotated[str, Indexed(-1)] = Field("", alias="zip")


class Person(BaseModel):
    email: Annotated[str, Indexed(unique=True)]
    nick: Annotated[str, Indexed(name="by_nick", sparse=True)] = Field("", alias="n")
    seen: Annotated[datetime, Indexed(expire_after=timedelta(days=1))]
    tags: Annotated[list[str], Indexed()] = []
    home: Address
    other: Optional[Address] = None  # noqa: UP045 (the Optional spelling on purpose)
    addresses: list[Address] = []
    nickname: Optional[Annotated[str, Indexed(hidden=True)]] = None  # noqa: UP045
    by_name: dict[str, Address] = {}


def test_field_level_indexes_with_their_paths_names_and_options() -> None:
    specs = index_specs(Person)
    assert [(spec.keys, spec.name, dict(spec.options)) for spec in specs] == [
        ((("email", 1),), "email_1", {"unique": True}),
        ((("n", 1),), "by_nick", {"sparse": True}),
        ((("seen", 1),), "seen_1", {"expireAfterSeconds": 86400}),
        ((("tags", 1),), "tags_1", {}),
        ((("home.city", 1),), "home.city_1", {}),
        ((("home.zip", -1),), "home.zip_-1", {}),
        ((("other.city", 1),), "other.city_1", {}),
        ((("other.zip", -1),), "other.zip_-1", {}),
        ((("addresses.city", 1),), "addresses.city_1", {}),
        ((("addresses.zip", -1),), "addresses.zip_-1", {}),
        ((("nickname", 1),), "nickname_1", {"hidden": True}),
    ]
    # Values under a mapping have no fixed path: no index from ``by_name``.
    assert not [spec for spec in specs if spec.keys[0][0].startswith("by_name")]


def test_serialization_alias_is_the_stored_path() -> None:
    class M(BaseModel):
        a: Annotated[int, Indexed()] = Field(0, serialization_alias="stored_a")

    assert [spec.keys for spec in index_specs(M)] == [(("stored_a", 1),)]


def test_indexed_on_items_and_on_the_list_make_one_multikey_index() -> None:
    class M(BaseModel):
        tags: Annotated[list[Annotated[str, Indexed()]], Indexed()]
        pairs: tuple[Annotated[int, Indexed("hashed")], ...] = ()

    assert [(s.keys, s.name) for s in index_specs(M)] == [
        ((("tags", 1),), "tags_1"),
        ((("pairs", "hashed"),), "pairs_hashed"),
    ]


def test_union_members_and_a_model_reached_twice() -> None:
    class Cat(BaseModel):
        name: Annotated[str, Indexed()]

    class Dog(BaseModel):
        name: Annotated[str, Indexed()]
        bark: Annotated[int, Indexed(-1)] = 0

    class M(BaseModel):
        pet: Union[Cat, Dog, None]  # noqa: UP007
        pets: list[Cat | Dog] = []

    assert [spec.name for spec in index_specs(M)] == [
        "pet.name_1", "pet.bark_-1", "pets.name_1", "pets.bark_-1"
    ]


def test_recursive_model_stops_at_its_first_level() -> None:
    class Node(BaseModel):
        label: Annotated[str, Indexed()]
        children: list[Node] = []

    Node.model_rebuild()

    class Tree(BaseModel):
        root: Node

    assert [spec.name for spec in index_specs(Node)] == ["label_1"]
    assert [spec.name for spec in index_specs(Tree)] == ["root.label_1"]


def test_wildcard_and_kinds_on_a_field() -> None:
    class M(BaseModel):
        attrs: Annotated[dict[str, Any], Indexed(wildcard=True)] = {}
        loc: Annotated[dict[str, Any], Indexed("2dsphere", two_d_sphere_version=3)] = {}
        grid: Annotated[list[float], Indexed("2d", bits=20, min=-1, max=1)] = []
        shard: Annotated[str, Indexed("hashed")] = ""

    assert [(s.keys, s.name, dict(s.options)) for s in index_specs(M)] == [
        ((("attrs.$**", 1),), "attrs.$**_1", {}),
        ((("loc", "2dsphere"),), "loc_2dsphere", {"2dsphereIndexVersion": 3}),
        ((("grid", "2d"),), "grid_2d", {"bits": 20, "min": -1, "max": 1}),
        ((("shard", "hashed"),), "shard_hashed", {}),
    ]


def test_every_option_of_indexed() -> None:
    class Expr:
        def to_filter(self) -> dict[str, Any]:
            return {"active": True}

    class M(BaseModel):
        a: Annotated[
            int,
            Indexed(
                -1, unique=True, sparse=True, hidden=True, name="a_idx",
                expire_after=90, partial=Expr(), collation={"locale": "fr", "strength": 2},
                extra={"storageEngine": {"wiredTiger": {}}},
            ),
        ]

    (spec,) = index_specs(M)
    assert spec == IndexSpec(
        (("a", -1),),
        "a_idx",
        {
            "unique": True, "sparse": True, "hidden": True, "expireAfterSeconds": 90,
            "partialFilterExpression": {"active": True},
            "collation": {"locale": "fr", "strength": 2},
            "storageEngine": {"wiredTiger": {}},
        },
    )
    assert list(spec.options) == [
        "unique", "sparse", "hidden", "expireAfterSeconds", "partialFilterExpression",
        "collation", "storageEngine",
    ]


def test_field_level_text_fields_join_one_text_index() -> None:
    class Post(BaseModel):
        title: Annotated[str, Indexed("text", weight=10, default_language="french")]
        author: Annotated[str, Indexed()]
        body: Annotated[str, Indexed("text", default_language="french")]

    assert index_specs(Post) == [
        IndexSpec(
            (("title", "text"), ("body", "text")),
            "title_text_body_text",
            {"default_language": "french", "weights": {"title": 10}},
        ),
        IndexSpec((("author", 1),), "author_1"),
    ]


def test_field_level_text_fields_must_agree() -> None:
    class Clash(BaseModel):
        a: Annotated[str, Indexed("text", default_language="french")]
        b: Annotated[str, Indexed("text")]

    with pytest.raises(ValueError, match="'a' and 'b' join one text index"):
        index_specs(Clash)

    class Names(BaseModel):
        a: Annotated[str, Indexed("text", name="one")]
        b: Annotated[str, Indexed("text", name="two")]

    with pytest.raises(ValueError, match="several names"):
        index_specs(Names)

    class Named(BaseModel):
        a: Annotated[str, Indexed("text", name="search")]
        b: Annotated[str, Indexed("text")]

    assert [spec.name for spec in index_specs(Named)] == ["search"]


def test_two_text_indexes_are_refused() -> None:
    class M(BaseModel):
        model_config = ConfigDict(indexes=[Index(("body", "text"))])  # type: ignore[typeddict-unknown-key]
        title: Annotated[str, Indexed("text")]

    with pytest.raises(ValueError, match="at most one text index"):
        index_specs(M)


def test_a_model_not_fully_defined_says_so() -> None:
    class M(BaseModel):
        later: Later  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match=r"not fully defined.*M\.model_rebuild\(\)"):
        index_specs(M)


def test_indexed_is_invisible_to_pydantic() -> None:
    assert Person.model_json_schema()["properties"]["email"] == {"title": "Email", "type": "string"}
    person = Person.model_validate(
        {"email": "a@b", "seen": datetime(2024, 1, 1), "home": {"city": "Oslo"}}
    )
    assert person.home.city == "Oslo"


# ------------------------------------------------------------------ config-level


def test_config_indexes_keys_in_every_form() -> None:
    class Proxy:  # what ``User.address.city`` gives: its stored path
        def __init__(self, path: str) -> None:
            self.path = path

    class SortKey(Proxy):  # what ``-User.age`` gives: a path and a direction
        direction = -1

    specs = _specs(
        indexes=[
            Index("x", ("y", -1), {"z": 1}),
            Index(Proxy("a.b"), SortKey("c"), (Proxy("where"), "2dsphere")),
            Index("$**", wildcard_projection={Proxy("a.b"): 1, "secret": 0}),
            Index("meta.$**"),
        ]
    )
    assert [(spec.keys, spec.name, dict(spec.options)) for spec in specs] == [
        ((("x", 1), ("y", -1), ("z", 1)), "x_1_y_-1_z_1", {}),
        ((("a.b", 1), ("c", -1), ("where", "2dsphere")), "a.b_1_c_-1_where_2dsphere", {}),
        ((("$**", 1),), "$**_1", {"wildcardProjection": {"a.b": 1, "secret": 0}}),
        ((("meta.$**", 1),), "meta.$**_1", {}),
    ]


def test_config_indexes_may_be_a_function() -> None:
    calls: list[int] = []

    def indexes() -> list[Index]:
        calls.append(1)
        return [Index("late", unique=True)]

    specs = _specs(indexes=indexes)
    assert specs == (IndexSpec((("late", 1),), "late_1", {"unique": True}),)
    assert calls == [1]


def test_config_indexes_follow_field_level_ones_and_accept_specs() -> None:
    spec = IndexSpec((("k", 1),), "k_1")

    class M(BaseModel):
        model_config = ConfigDict(indexes=[Index("b"), spec])  # type: ignore[typeddict-unknown-key]
        a: Annotated[int, Indexed()]

    assert [s.name for s in index_specs(M)] == ["a_1", "b_1", "k_1"]


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ("a_1", "must be a list of Index"),
        ([{"key": {"a": 1}}], "not an Index"),
        ([IndexModel("a")], "not an Index"),
    ],
)
def test_bad_config_indexes(indexes: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        _specs(indexes=indexes)


def test_every_option_of_index() -> None:
    text = Index(
        ("title", "text"), ("body", "text"), name="search", weights={"title": 5},
        default_language="german", language_override="lang", text_version=3,
    )
    assert text.spec == IndexSpec(
        (("title", "text"), ("body", "text")),
        "search",
        {
            "weights": {"title": 5}, "default_language": "german",
            "language_override": "lang", "textIndexVersion": 3,
        },
    )
    ttl = Index("at", expire_after=timedelta(minutes=2), partial={"kind": "temp"}, hidden=True)
    assert dict(ttl.spec.options) == {
        "hidden": True, "expireAfterSeconds": 120, "partialFilterExpression": {"kind": "temp"}
    }
    geo = Index(("p", "2d"), bits=30, min=-90.0, max=90.0)
    assert dict(geo.spec.options) == {"bits": 30, "min": -90.0, "max": 90.0}
    sphere = Index(("p", "2dsphere"), ("kind", 1), two_d_sphere_version=2)
    assert sphere.spec.name == "p_2dsphere_kind_1"
    assert dict(sphere.spec.options) == {"2dsphereIndexVersion": 2}

    class Collation:  # PyMongo's Collation shape: a ``document``
        def __init__(self) -> None:
            self.document = {"locale": "en", "strength": 1}

    assert dict(Index("c", collation=Collation()).spec.options) == {
        "collation": {"locale": "en", "strength": 1}
    }


def test_declarations_are_copied_not_shared() -> None:
    partial = {"a": {"$gt": 1}}
    index = Index("a", partial=partial)
    partial["a"]["$gt"] = 2
    assert index.spec.options["partialFilterExpression"] == {"a": {"$gt": 1}}


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Index(), ValueError, "at least one key"),
        (lambda: Index("a", "a"), ValueError, "more than once"),
        (lambda: Index("_id"), ValueError, "_id index always exists"),
        (lambda: Index(""), TypeError, "non-empty str"),
        (lambda: Index(3), TypeError, "an index key is"),
        (lambda: Index("a..b"), ValueError, "empty part"),
        (lambda: Index("$where"), ValueError, r"\$ part"),
        (lambda: Index("$**.a"), ValueError, r"\$ part"),
        (lambda: Index(("a", 2)), ValueError, "1 or -1"),
        (lambda: Index(("a", True)), TypeError, "direction"),
        (lambda: Index(("a", "geoHaystack")), ValueError, "unknown index kind"),
        (lambda: Index("a", name=""), TypeError, "name"),
        (lambda: Index("a", unique=1), TypeError, "unique must be a bool"),  # type: ignore[arg-type]
        (lambda: Index("a", expire_after=-1), ValueError, "whole seconds"),
        (lambda: Index("a", expire_after=1.5), ValueError, "whole seconds"),
        (lambda: Index("a", expire_after=2**31), ValueError, "whole seconds"),
        (lambda: Index("a", expire_after=True), TypeError, "expire_after"),
        (lambda: Index("a", expire_after="1h"), TypeError, "expire_after"),  # type: ignore[arg-type]
        (lambda: Index("a", "b", expire_after=60), ValueError, "single ascending"),
        (lambda: Index(("a", "hashed"), expire_after=60), ValueError, "single ascending"),
        (lambda: Index("a", partial="a > 1"), TypeError, "partial"),
        (lambda: Index("a", collation={"strength": 1}), TypeError, "locale"),
        (lambda: Index("a", collation="fr"), TypeError, "locale"),
        (lambda: Index("a", weights={"a": 2}), ValueError, "weights needs a 'text' key"),
        (lambda: Index("a", default_language="en"), ValueError, "'text' key"),
        (lambda: Index("a", text_version=3), ValueError, "'text' key"),
        (lambda: Index("a", two_d_sphere_version=3), ValueError, "'2dsphere' key"),
        (lambda: Index("a", bits=3), ValueError, "'2d' key"),
        (lambda: Index(("a", "2d"), bits="3"), TypeError, "bits"),  # type: ignore[arg-type]
        (lambda: Index(("a", "text"), weights=[("a", 1)]), TypeError, "weights must be a mapping"),  # type: ignore[arg-type]
        (lambda: Index(("a", "text"), weights={1: 1}), TypeError, "weights keys"),
        (lambda: Index("a", wildcard_projection={"b": 1}), ValueError, r"'\$\*\*' key"),
        (lambda: Index("a", extra={"unique": True}, unique=True), ValueError, "another way"),
        (lambda: Index("a", extra={"v": 1}), ValueError, "another way"),
        (lambda: Indexed(2), ValueError, "1 or -1"),  # type: ignore[arg-type]
        (lambda: Indexed(weight=2), ValueError, "weight"),
        (lambda: Indexed("text", weight=True), ValueError, "weight"),
        (lambda: Indexed(name=""), TypeError, "name"),
        (lambda: Indexed("hashed", expire_after=5), ValueError, "single ascending"),
        (lambda: Indexed(bits=20), ValueError, "'2d' key"),
    ],
)
def test_bad_declarations_fail_when_written(
    make: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


def test_clashing_declarations() -> None:
    with pytest.raises(ValueError, match="two different indexes are named 'x'"):
        _specs(indexes=[Index("a", name="x"), Index("b", name="x")])
    with pytest.raises(ValueError, match="declared as 'one' and 'two'"):
        _specs(indexes=[Index("a", name="one"), Index(("a", 1.0), name="two")])
    # Same keys, other options: two indexes (MongoDB allows it, e.g. other collations).
    assert len(_specs(indexes=[Index("a"), Index("a", name="fr", collation={"locale": "fr"})])) == 2
    # The very same index twice is one index.
    assert len(_specs(indexes=[Index("a"), Index("a")])) == 1


# ------------------------------------------------------------------ names


def test_default_names_are_mongodbs() -> None:
    for keys in (
        [("a", 1)], [("a", 1), ("b", -1)], [("loc", "2dsphere"), ("t", -1)],
        [("$**", 1)], [("x.y", "hashed")], [("title", "text"), ("body", "text")],
    ):
        assert Index(*keys).spec.name == index_name(keys)
        assert IndexModel(keys).document["name"] == Index(*keys).spec.name


_paths = st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z][a-z0-9_]{0,6}){0,2}", fullmatch=True)
_directions = st.sampled_from([1, -1, "2dsphere", "hashed"])


@given(st.lists(st.tuples(_paths, _directions), min_size=1, max_size=4, unique_by=lambda p: p[0]))
def test_the_same_declaration_gives_the_same_name(keys: list[tuple[str, Any]]) -> None:
    first, second = Index(*keys).spec, Index(*[tuple(pair) for pair in keys]).spec
    assert first == second
    assert first.name == "_".join(f"{path}_{direction}" for path, direction in keys)


# ------------------------------------------------------------------ IndexSpec


def test_spec_is_immutable_hashable_and_copies_its_options() -> None:
    options = {"partialFilterExpression": {"a": 1}}
    spec = IndexSpec((("a", 1),), "a_1", options)
    options["partialFilterExpression"]["a"] = 2
    assert spec.options["partialFilterExpression"] == {"a": 1}
    with pytest.raises(TypeError):
        spec.options["unique"] = True  # type: ignore[index]
    with pytest.raises(AttributeError):
        spec.name = "b"  # type: ignore[misc]
    assert {spec, IndexSpec((("a", 1),), "a_1", {"partialFilterExpression": {"a": 1}})} == {spec}
    assert spec != IndexSpec((("a", 1),), "a_1")


def test_spec_to_index_model() -> None:
    spec = Index(("loc", "2dsphere"), collation={"locale": "fr"}, two_d_sphere_version=3).spec
    assert spec.to_index_model().document == {
        "name": "loc_2dsphere", "2dsphereIndexVersion": 3,
        "key": {"loc": "2dsphere"}, "collation": {"locale": "fr"},
    }


def test_spec_to_dict_and_back() -> None:
    spec = Index(("a", 1), ("b", -1), name="ab", unique=True, collation={"locale": "fr"}).spec
    assert spec.to_dict() == {
        "name": "ab", "keys": [["a", 1], ["b", -1]],
        "options": {"unique": True, "collation": {"locale": "fr"}},
    }
    assert IndexSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    # BSON values in a partial filter go through extended JSON.
    oid = ObjectId()
    tenant = Index("a", partial={"tenant": oid}).spec
    back = IndexSpec.from_dict(json_util.loads(json_util.dumps(tenant.to_dict())))
    assert back == tenant and back.options["partialFilterExpression"]["tenant"] == oid


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"name": "a", "keys": [["a", 1]], "other": 1},
        {"name": "a", "keys": "a"},
        {"name": "a", "keys": [["a"]]},
        {"name": "a", "keys": []},
        {"keys": [["a", 1]]},
        {"name": "a", "keys": [["a", 1]], "options": [1]},
    ],
)
def test_from_dict_refuses_other_shapes(data: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        IndexSpec.from_dict(data)


_options = st.fixed_dictionaries(
    {},
    optional={
        "unique": st.just(True),
        "sparse": st.just(True),
        "hidden": st.just(True),
        "expireAfterSeconds": st.integers(0, 2**31 - 1),
        "partialFilterExpression": st.dictionaries(
            _paths, st.one_of(st.integers(-(2**31), 2**31), st.text(max_size=5)), max_size=2
        ),
        "collation": st.fixed_dictionaries(
            {"locale": st.sampled_from(["fr", "en", "de", "simple"])},
            optional={"strength": st.integers(1, 5), "caseLevel": st.booleans()},
        ),
    },
)


@st.composite
def _index_specs(draw: st.DrawFn) -> IndexSpec:
    kind = draw(st.sampled_from(["plain", "text", "2dsphere", "2d", "wildcard"]))
    keys = draw(st.lists(_paths, min_size=1, max_size=3, unique=True))
    options = draw(_options)
    pairs: list[tuple[str, Any]] = [(path, draw(st.sampled_from([1, -1]))) for path in keys]
    if kind == "text":
        pairs[-1:] = [(keys[-1], "text")]
        if draw(st.booleans()):
            options["weights"] = {keys[-1]: draw(st.integers(1, 99))}
        if draw(st.booleans()):
            options["default_language"] = draw(st.sampled_from(["english", "french"]))
    elif kind == "2dsphere":
        pairs[0] = (keys[0], "2dsphere")
    elif kind == "2d":
        pairs[0] = (keys[0], "2d")
        if draw(st.booleans()):
            options["bits"] = draw(st.integers(1, 32))
    elif kind == "wildcard":
        pairs = [("$**", 1)]
        options["wildcardProjection"] = {keys[0]: draw(st.sampled_from([0, 1]))}
    if len(pairs) != 1 or pairs[0][1] not in (1, -1):
        options.pop("expireAfterSeconds", None)
    name = draw(st.one_of(st.none(), st.text("abcxyz_", min_size=1, max_size=8)))
    return IndexSpec(tuple(pairs), name or "_".join(f"{k}_{v}" for k, v in pairs), options)


@given(_index_specs())
def test_spec_round_trips_through_json(spec: IndexSpec) -> None:
    text = json.dumps(spec.to_dict(), sort_keys=True)
    assert IndexSpec.from_dict(json.loads(text)) == spec
    assert json.dumps(IndexSpec.from_dict(json.loads(text)).to_dict(), sort_keys=True) == text


def test_from_index_document() -> None:
    listed = {
        "v": 2, "key": {"active": 1, "_fts": "text", "_ftsx": 1, "at": -1}, "name": "search",
        "ns": "db.c", "background": True, "weights": {"body": 1, "title": 10},
        "default_language": "english", "language_override": "language", "textIndexVersion": 3,
    }
    assert IndexSpec.from_index_document(listed) == IndexSpec(
        (("active", 1), ("body", "text"), ("title", "text"), ("at", -1)),
        "search",
        {
            "weights": {"body": 1, "title": 10}, "default_language": "english",
            "language_override": "language", "textIndexVersion": 3,
        },
    )
    # A shell sends doubles: the spec keeps 1, not 1.0.
    assert IndexSpec.from_index_document({"key": {"a": 1.0, "b": Int64(-1)}, "name": "n"}).keys == (
        ("a", 1), ("b", -1),
    )
    with pytest.raises(ValueError, match="not an index document"):
        IndexSpec.from_index_document({"key": {}, "name": "n"})


# ------------------------------------------------------------------ diff


def test_diff_is_empty_when_the_server_has_the_declared_indexes() -> None:
    specs = [
        *index_specs(Person),
        Index(("title", "text"), ("body", "text"), weights={"title": 3}).spec,
        Index(("loc", "2dsphere")).spec,
        Index(("grid", "2d")).spec,
        Index("c", collation={"locale": "fr", "strength": 2}).spec,
        Index("s", collation={"locale": "simple"}).spec,
        Index("$**", wildcard_projection={"secret": 0}).spec,
    ]
    diff = diff_indexes(specs, [ID_INDEX, *(_listed(spec) for spec in specs)])
    assert diff == IndexDiff() and diff.is_empty and str(diff) == "indexes match"


def test_diff_missing_and_extra() -> None:
    declared = [Index("a").spec, Index("b").spec]
    diff = diff_indexes(declared, [ID_INDEX, _listed(declared[0]), _listed(Index("z").spec)])
    assert diff.missing == (declared[1],)
    assert diff.extra == (IndexSpec((("z", 1),), "z_1"),)
    assert diff.changed == () and not diff.is_empty
    assert str(diff) == "missing: b_1 {'key': (('b', 1),)}\nextra: z_1 {'key': (('z', 1),)}"
    # ``_id_`` is never extra, and nothing declared means everything else is extra.
    assert diff_indexes([], [ID_INDEX]).is_empty


@pytest.mark.parametrize(
    ("declared", "server", "differences"),
    [
        (Index("a", unique=True), {"unique": False}, {"unique": (True, None)}),
        (Index("a"), {"unique": True}, {"unique": (None, True)}),
        (Index("a", sparse=True), {"sparse": None}, {"sparse": (True, None)}),
        (Index("a"), {"hidden": True}, {"hidden": (None, True)}),
        (Index("a", expire_after=60), {"expireAfterSeconds": 61}, {"expireAfterSeconds": (60, 61)}),
        (
            Index("a", partial={"b": {"$gt": 1}}),
            {"partialFilterExpression": {"b": {"$gt": 2}}},
            {"partialFilterExpression": ({"b": {"$gt": 1}}, {"b": {"$gt": 2}})},
        ),
        (
            Index("a", partial={"b": True}),
            {"partialFilterExpression": {"b": 1}},
            {"partialFilterExpression": ({"b": True}, {"b": 1})},
        ),
        (
            Index("a", collation={"locale": "fr", "strength": 2}),
            {"collation": {"locale": "fr", "strength": 3, "caseLevel": False}},
            {"collation": ({"locale": "fr", "strength": 2}, {"locale": "fr", "strength": 3, "caseLevel": False})},
        ),
        (
            Index("a", collation={"locale": "fr"}),
            {"collation": None},
            {"collation": ({"locale": "fr"}, None)},
        ),
        (
            Index("a"),
            {"collation": {"locale": "fr"}},
            {"collation": (None, {"locale": "fr"})},
        ),
        (
            Index(("t", "text"), weights={"t": 2}),
            {"weights": {"t": 1}},
            {"weights": ({"t": 2}, {"t": 1})},
        ),
        (
            Index(("t", "text")),
            {"default_language": "french"},
            {"default_language": ("english", "french")},
        ),
        (
            Index(("t", "text"), text_version=2),
            {"textIndexVersion": 3},
            {"textIndexVersion": (2, 3)},
        ),
        (
            Index(("p", "2dsphere"), two_d_sphere_version=2),
            {"2dsphereIndexVersion": 3},
            {"2dsphereIndexVersion": (2, 3)},
        ),
        (Index(("p", "2d")), {"bits": 20}, {"bits": (26, 20)}),
        (
            Index("$**", wildcard_projection={"a": 1}),
            {"wildcardProjection": {"a": 1, "b": 1}},
            {"wildcardProjection": ({"a": 1}, {"a": 1, "b": 1})},
        ),
        (Index("a", name="n"), {"key": {"a": -1}}, {"key": ((("a", 1),), (("a", -1),))}),
        (Index("a"), {"name": "custom"}, {"name": ("a_1", "custom")}),
        (Index("a"), {"storageEngine": {"wiredTiger": {}}}, {"storageEngine": (None, {"wiredTiger": {}})}),
    ],
)
def test_diff_reports_exactly_the_changed_option(
    declared: Index, server: dict[str, Any], differences: dict[str, Any]
) -> None:
    listed = {k: v for k, v in (_listed(declared.spec) | server).items() if v is not None}
    diff = diff_indexes([declared.spec], [ID_INDEX, listed])
    assert diff.missing == () and diff.extra == ()
    (change,) = diff.changed
    assert change == IndexChange(declared.spec, IndexSpec.from_index_document(listed), differences)
    assert dict(change.differences) == differences


@pytest.mark.parametrize(
    ("declared", "server"),
    [
        # False flags are the same as absent.
        (Index("a"), {"unique": False, "sparse": False, "hidden": False}),
        # Numbers compare by value, whatever their BSON type.
        (Index(("a", -1), expire_after=60), {"key": {"a": -1.0}, "expireAfterSeconds": Int64(60)}),
        (Index("a", partial={"n": 1}), {"partialFilterExpression": {"n": 1.0}}),
        # Servers choose the versions when not declared.
        (Index(("t", "text")), {"textIndexVersion": 2}),
        (Index(("p", "2dsphere")), {"2dsphereIndexVersion": 2}),
        # The 2d defaults are the server's.
        (Index(("p", "2d")), {"bits": 26, "min": -180.0, "max": 180.0}),
        # Only the declared collation fields count; simple is no collation.
        (Index("a", collation={"locale": "fr"}), {"collation": {"locale": "fr", "strength": 3, "version": "57.1"}}),
        (Index("a", collation={"locale": "simple"}), {"collation": {"locale": "simple"}}),
        (Index("a", collation={"locale": "simple"}), {}),
        # A wildcard projection as booleans.
        (Index("$**", wildcard_projection={"a": 1, "b": 0}), {"wildcardProjection": {"a": True, "b": False}}),
        # Ignored bookkeeping.
        (Index("a"), {"v": 1, "ns": "db.c", "background": True}),
    ],
)
def test_diff_ignores_what_does_not_change_the_index(
    declared: Index, server: dict[str, Any]
) -> None:
    listed = _listed(declared.spec) | server
    if "collation" not in server and "collation" in listed:
        del listed["collation"]
    assert diff_indexes([declared.spec], [ID_INDEX, listed]).is_empty


def test_diff_matches_by_keys_when_names_differ() -> None:
    declared = Index("a", ("b", -1)).spec
    diff = diff_indexes([declared], [_listed(declared, name="ab_by_hand")])
    (change,) = diff.changed
    assert change.differences == {"name": ("a_1_b_-1", "ab_by_hand")}
    assert diff.missing == diff.extra == ()
    assert str(diff) == "changed: a_1_b_-1 name: declared 'a_1_b_-1', server 'ab_by_hand'"


def test_diff_picks_the_closest_of_several_indexes_on_the_same_keys() -> None:
    declared = Index("a", collation={"locale": "de"}).spec
    french = _listed(Index("a", collation={"locale": "fr"}).spec, name="a_fr")
    german = _listed(declared, name="a_de")
    diff = diff_indexes([declared], [french, german])
    assert [c.existing.name for c in diff.changed] == ["a_de"]
    assert diff.changed[0].differences == {"name": ("a_1", "a_de")}
    assert [spec.name for spec in diff.extra] == ["a_fr"]


def test_diff_prefers_the_name_over_the_keys() -> None:
    declared = [Index("a", name="first").spec, Index("a", name="second", unique=True).spec]
    listed = [_listed(declared[1]), _listed(declared[0])]
    assert diff_indexes(declared, listed).is_empty


def test_diff_between_two_stored_states() -> None:
    before = [Index("a").spec, Index("b", unique=True).spec]
    after = [Index("a").spec, Index("b").spec, Index("c").spec]
    diff = diff_indexes(after, before)
    assert [s.name for s in diff.missing] == ["c_1"]
    assert [(c.declared.name, dict(c.differences)) for c in diff.changed] == [
        ("b_1", {"unique": (None, True)})
    ]


@given(_index_specs())
def test_diff_of_a_spec_and_its_listing_is_empty(spec: IndexSpec) -> None:
    assert diff_indexes([spec], [ID_INDEX, _listed(spec)]).is_empty


@given(_index_specs(), st.sampled_from(["unique", "sparse", "hidden", "expireAfterSeconds"]))
def test_diff_of_one_changed_option_names_that_option(spec: IndexSpec, option: str) -> None:
    listed = _listed(spec)
    if option == "expireAfterSeconds":
        if len(spec.keys) != 1 or spec.keys[0][1] not in (1, -1):
            return
        listed[option] = spec.options.get(option, 7) + 1
    elif listed.get(option):
        del listed[option]
    else:
        listed[option] = True
    (change,) = diff_indexes([spec], [listed]).changed
    assert list(change.differences) == [option]


# ------------------------------------------------------------------ with the real ODM


def test_document_fields_and_proxies() -> None:
    pytest.importorskip("odm.codec", reason="odm.codec (stored names, value checks) not written yet")
    from odm.model import Document

    class Account(Document, collection="accounts"):
        model_config = {  # type: ignore[assignment]  # noqa: RUF012
            "indexes": lambda: [
                Index(Account.owner, -Account.opened),
                Index(Account.owner, partial=Account.balance > 0, name="funded"),
            ]
        }
        owner: Annotated[str, Indexed()] = Field(alias="o")
        opened: datetime
        balance: int = 0
        ref: Annotated[ObjectId, Indexed("hashed")] = Field(default_factory=ObjectId)

    specs = index_specs(Account)
    assert [(s.keys, s.name, dict(s.options)) for s in specs] == [
        ((("o", 1),), "o_1", {}),
        ((("ref", "hashed"),), "ref_hashed", {}),
        ((("o", 1), ("opened", -1)), "o_1_opened_-1", {}),
        ((("o", 1),), "funded", {"partialFilterExpression": {"balance": {"$gt": 0}}}),
    ]


def test_a_text_field_reached_twice_is_one_key() -> None:
    class Cat(BaseModel):
        name: Annotated[str, Indexed("text", weight=2)]

    class Dog(BaseModel):
        name: Annotated[str, Indexed("text", weight=2)]

    class M(BaseModel):
        pet: Cat | Dog
        about: Annotated[list[Annotated[str, Indexed("text")]], Indexed("text")]

    assert index_specs(M) == [
        IndexSpec((("pet.name", "text"), ("about", "text")), "pet.name_text_about_text",
                  {"weights": {"pet.name": 2}})
    ]

    class Heavier(BaseModel):
        name: Annotated[str, Indexed("text", weight=3)]

    class Clash(BaseModel):
        pet: Cat | Heavier

    with pytest.raises(ValueError, match=r"'pet\.name' has two weights"):
        index_specs(Clash)


def test_a_clustered_collections_id_index_is_never_extra() -> None:
    clustered = {"v": 2, "key": {"_id": 1}, "name": "by_id", "unique": True, "clustered": True}
    assert diff_indexes([], [clustered]).is_empty
