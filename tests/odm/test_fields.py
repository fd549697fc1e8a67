"""Field proxies: stored paths, walking into embedded models, value checks."""

from __future__ import annotations

import datetime
import decimal
import enum
import pickle
import typing
import uuid
from collections import abc as cabc
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.types import StringConstraints

from driver.bson import Decimal128, ObjectId, decode, encode
from odm.codec import CODEC_OPTIONS
from odm.errors import ValidationError
from odm.fields import FieldProxy, element_type, loosen, proxy, proxy_for
from odm.model import Document
from odm.query import QueryExpression, SortKey

# ---------------------------------------------------------------------------- models


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str
    zip_code: str = Field(default="", alias="zip")
    size: int = 0  # shadowed by FieldProxy.size: reached with ["size"]


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9
    name: str = ""


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True
    name: str = ""


class Person(BaseModel):
    name: str
    age: Annotated[int, Field(ge=0, le=150)] = 0
    email: Annotated[str, StringConstraints(to_lower=True, min_length=5)] = "x@y.z"
    nick: str | None = None
    tags: list[str] = Field(default_factory=list)
    scores: list[int] = Field(default_factory=list)
    address: Address | None = None
    addresses: list[Address] = Field(default_factory=list)
    meta: dict[str, int] = Field(default_factory=dict)
    anything: Any = None
    pair: tuple[int, str] = (0, "")
    pet: Annotated[Cat | Dog, Field(discriminator="kind")] = Cat()
    color: Color = Color.RED
    created: datetime.datetime | None = None
    price: decimal.Decimal = decimal.Decimal(0)
    ref: ObjectId | None = None
    key: uuid.UUID | None = None
    matrix: list[list[int]] = Field(default_factory=list)


def p(name: str) -> FieldProxy:
    return proxy_for(Person, name)


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    first_name: str = ""
    home_address: Address | None = None


class Serial(BaseModel):
    value: int = Field(default=0, serialization_alias="v")


class User(Document, collection="users"):
    name: str
    age: int = 0
    address: Address | None = None
    tags: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------------- paths


def test_paths_follow_aliases_and_id() -> None:
    assert p("name").path == "name"
    assert p("address").zip_code.path == "address.zip"
    assert proxy_for(Camel, "first_name").path == "firstName"
    assert proxy_for(Camel, "home_address").zip_code.path == "homeAddress.zip"
    assert proxy_for(Serial, "value").path == "v"
    assert User.id.path == "_id"
    assert proxy_for(User, "id") is User.id


def test_proxy_for_accepts_the_stored_name() -> None:
    assert proxy_for(User, "_id").path == "_id"
    assert p("address")["zip"].path == "address.zip"


def test_document_class_attributes_are_proxies() -> None:
    assert isinstance(User.age, FieldProxy)
    assert (User.age >= 18).to_filter() == {"age": {"$gte": 18}}
    assert (User.address.city == "Oslo").to_filter() == {"address.city": "Oslo"}
    assert repr(User.address.city) == "FieldProxy(User.address.city, path='address.city')"


def test_subclass_of_a_document_has_proxies_for_inherited_fields() -> None:
    class Admin(User):
        level: int = 1

    assert Admin.name.path == "name"
    assert (Admin.level > 1).to_filter() == {"level": {"$gt": 1}}


def test_lists_of_models_paths_mean_any_element() -> None:
    assert p("addresses").city.path == "addresses.city"
    assert p("addresses")[0].city.path == "addresses.0.city"
    assert p("tags")[3].path == "tags.3"
    assert p("matrix")[0][1].path == "matrix.0.1"


def test_element_types() -> None:
    assert p("tags")[0].annotation is str
    assert p("addresses")[0].annotation is Address
    assert p("addresses").city.annotation is str
    assert p("pair")[1].annotation is str
    assert p("meta")["math"].annotation is int
    assert p("meta")["math"].path == "meta.math"


def test_common_field_names_are_fields_not_proxy_attributes() -> None:
    class Thing(BaseModel):
        name: str = ""
        model: str = ""
        label: str = ""
        segments: int = 0
        check: bool = False

    class Holder(BaseModel):
        thing: Thing = Thing()

    thing = proxy_for(Holder, "thing")
    for field in ("name", "model", "label", "segments", "check"):
        assert getattr(thing, field).path == f"thing.{field}"


def test_union_of_models_reaches_fields_of_each() -> None:
    assert p("pet").lives.path == "pet.lives"
    assert p("pet").good.path == "pet.good"
    # A field in both members: its types joined.
    assert (p("pet").name == "Rex").to_filter() == {"pet.name": "Rex"}


class Pets(Document, collection="pets"):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")] | None = None
    old_style: Optional[Annotated[Union[Cat, Dog], Field(discriminator="kind")]] = None  # noqa: UP045, UP007
    many: list[Annotated[Cat | Dog, Field(discriminator="kind")] | None] = Field(
        default_factory=list
    )


def test_optional_discriminated_union_reaches_fields_of_each_member() -> None:
    assert Pets.pet.kind.path == "pet.kind"
    assert Pets.pet.lives.path == "pet.lives" and Pets.pet.good.path == "pet.good"
    assert Pets.old_style.name.path == "old_style.name"
    assert Pets.many.kind.path == "many.kind"
    assert (Pets.pet.kind == "cat").to_filter() == {"pet.kind": "cat"}
    assert (Pets.pet.lives > 3).to_filter() == {"pet.lives": {"$gt": 3}}
    with pytest.raises(ValidationError):
        Pets.pet.kind == "parrot"  # noqa: B015 - a tag no member has
    assert (Pets.pet == None).to_filter() == {"pet": None}  # noqa: E711
    assert (Pets.pet == Dog(good=False)).to_filter() == {
        "pet": {"kind": "dog", "good": False, "name": ""}
    }


class Bare(Document, collection="bare"):
    d: dict = Field(default_factory=dict)  # type: ignore[type-arg]
    items: list = Field(default_factory=list)  # type: ignore[type-arg]
    pair: tuple = ()  # type: ignore[type-arg]
    old_dict: typing.Dict = Field(default_factory=dict)  # type: ignore[type-arg]  # noqa: UP006
    old_tuple: typing.Tuple = ()  # type: ignore[type-arg]  # noqa: UP006
    seq: cabc.Sequence = ()  # type: ignore[type-arg]
    maybe: dict | None = None  # type: ignore[type-arg]


def test_bare_containers_are_containers_of_any() -> None:
    assert Bare.d["k"].path == "d.k" and Bare.maybe["k"].path == "maybe.k"
    assert Bare.old_dict["k"].path == "old_dict.k"
    assert Bare.items[0].path == "items.0" and Bare.pair[1].path == "pair.1"
    assert Bare.old_tuple[2].path == "old_tuple.2" and Bare.seq[0].path == "seq.0"
    assert (Bare.d["k"] == {"x": [1]}).to_filter() == {"d.k": {"x": [1]}}
    assert (Bare.items == "one").to_filter() == {"items": "one"}  # an element
    assert (Bare.items == [1, "a"]).to_filter() == {"items": [1, "a"]}
    assert (Bare.old_tuple == (1, 2, 3)).to_filter() == {"old_tuple": [1, 2, 3]}
    assert element_type(Bare.model_fields["old_tuple"].annotation) is Any


def test_shadowed_field_names_reachable_by_item() -> None:
    assert callable(p("address").size)
    assert p("address")["size"].path == "address.size"
    assert (p("address")["size"] > 3).to_filter() == {"address.size": {"$gt": 3}}


def test_positional_paths() -> None:
    assert p("addresses").positional.city.path == "addresses.$.city"
    assert p("scores").all_positional.path == "scores.$[]"
    assert p("addresses").filtered("a1").city.path == "addresses.$[a1].city"
    assert p("scores").filtered("s").annotation is int


@pytest.mark.parametrize("bad", ["", "A", "1a", "a-b", "a.b", "a b", 3])
def test_filtered_identifier_is_checked(bad: Any) -> None:
    with pytest.raises(ValueError, match="identifier"):
        p("scores").filtered(bad)


def test_path_errors() -> None:
    with pytest.raises(AttributeError, match="no field 'nope'"):
        proxy_for(Person, "nope")
    with pytest.raises(AttributeError, match="no field 'town'"):
        p("address").town  # noqa: B018
    with pytest.raises(AttributeError, match="not an embedded model"):
        p("name").first  # noqa: B018
    with pytest.raises(IndexError):
        p("tags")[-1]
    with pytest.raises(TypeError, match="not an array"):
        p("name")[0]
    with pytest.raises(TypeError, match="not an array"):
        p("meta")[0]
    with pytest.raises(TypeError, match="not an array"):
        p("name").positional  # noqa: B018
    with pytest.raises(TypeError):
        p("tags")[1.5]  # type: ignore[index]
    with pytest.raises(TypeError):
        proxy_for(dict, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["a.b", "$where", "", "a\x00"])
def test_mapping_keys_cannot_become_paths_or_operators(key: str) -> None:
    with pytest.raises(ValueError, match="path segment"):
        p("meta")[key]


def test_proxies_are_immutable_cached_and_not_iterable() -> None:
    proxy = p("name")
    assert proxy is p("name")
    assert p("address").city is p("address").city
    with pytest.raises(AttributeError):
        proxy.x = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="not iterable"):
        iter(p("tags"))
    assert hash(proxy) == hash(FieldProxy(Person, ("name",), ("name",), str, None))
    assert repr(p("address").zip_code) == "FieldProxy(Person.address.zip_code, path='address.zip')"
    assert pickle.loads(pickle.dumps(p("address").city)).path == "address.city"


def test_proxy_types_a_field_for_type_checkers() -> None:
    assert proxy(User.tags) is User.tags
    assert proxy(User.tags).any_in(["a"]).to_filter() == {"tags": {"$in": ["a"]}}
    with pytest.raises(TypeError, match="field proxy"):
        proxy(User(name="x").tags)


def test_sort_keys() -> None:
    assert (-p("age")).direction == -1 and (-p("age")).path == "age"
    assert (+p("age")).direction == 1
    descending = -p("age")
    assert isinstance(-descending, SortKey) and (-descending).direction == 1


# ---------------------------------------------------------------------------- values


def test_wrong_value_type_raises_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        p("age") == "x"  # noqa: B015
    assert info.value.field == "age"
    assert info.value.model is Person
    assert "'Person.age'" in str(info.value) and "int" in str(info.value)
    assert type(info.value.__cause__).__name__ == "ValidationError"  # Pydantic's
    assert info.value.__cause__ is not info.value
    with pytest.raises(ValidationError) as info:
        p("scores") == ["x"]  # noqa: B015
    assert info.value.__cause__ is not None
    with pytest.raises(ValidationError, match=r"address\.city"):
        p("address").city == 3  # noqa: B015
    with pytest.raises(ValidationError):
        User.age == "old"  # noqa: B015


def test_query_values_ignore_constraints_but_keep_transforms() -> None:
    assert (p("age") > -5).to_filter() == {"age": {"$gt": -5}}
    assert (p("age") == 200).to_filter() == {"age": 200}
    assert (p("email") == "A@B").to_filter() == {"email": "a@b"}


def test_values_are_converted_to_their_stored_form() -> None:
    oid = "5f43a1b2c3d4e5f6a7b8c9d0"
    assert (p("ref") == oid).to_filter() == {"ref": ObjectId(oid)}
    assert (p("color") == Color.BLUE).to_filter() == {"color": "blue"}
    assert (p("color") == "red").to_filter() == {"color": "red"}
    naive = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456)
    sent = encode((p("created") >= naive).to_filter())
    stored = decode(sent, CODEC_OPTIONS)["created"]["$gte"]
    assert stored == datetime.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)
    assert (p("price") < "1.5").to_filter() == {"price": {"$lt": Decimal128("1.5")}}
    key = uuid.uuid4()
    sent = encode((p("key") == str(key)).to_filter())
    assert decode(sent, CODEC_OPTIONS)["key"] == key  # standard UUID representation
    assert (p("address") == {"city": "Oslo", "zip": "0150"}).to_filter() == {
        "address": {"city": "Oslo", "zip": "0150", "size": 0}
    }


def test_array_fields_take_an_element_or_the_whole_array() -> None:
    assert (p("tags") == "a").to_filter() == {"tags": "a"}
    assert (p("tags") == ["a", "b"]).to_filter() == {"tags": ["a", "b"]}
    assert (p("scores") > 3).to_filter() == {"scores": {"$gt": 3}}
    with pytest.raises(ValidationError):
        p("scores") == "x"  # noqa: B015
    with pytest.raises(ValidationError):
        p("scores") == ["x"]  # noqa: B015


def test_comparing_with_a_proxy_or_expression_is_refused() -> None:
    with pytest.raises(TypeError, match=r"\$expr"):
        p("age") == p("scores")  # noqa: B015
    with pytest.raises(TypeError):
        p("age") == (p("age") > 1)  # noqa: B015


def test_none_only_for_optional_fields() -> None:
    assert (p("nick") == None).to_filter() == {"nick": None}  # noqa: E711
    with pytest.raises(ValidationError):
        p("name") == None  # noqa: B015, E711


def test_loosen_drops_constraints_everywhere() -> None:
    loose = loosen(Optional[list[Annotated[int, Field(gt=0)]]])  # noqa: UP045 - the typing spelling
    assert element_type(loose) is int
    assert loosen(Annotated[str, Field(max_length=2), Field(description="x")]) is str


def test_element_type() -> None:
    assert element_type(list[int]) is int
    assert element_type(Optional[set[str]]) is str  # noqa: UP045 - the typing spelling
    assert element_type(tuple[int, ...]) is int
    assert element_type(tuple[int, str]) == Union[int, str]  # noqa: UP007 - what it returns
    assert element_type(Any) is Any
    assert element_type(int) is None
    assert element_type(str) is None
    assert element_type(dict[str, int]) is None


# ---------------------------------------------------------------------------- properties


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["$gt", "$where", "a", "$eq", "$in", "b"]), children,
                      max_size=3),
    max_leaves=8,
)


@given(_json)
def test_equality_never_sends_a_value_the_server_reads_as_an_operator(value: Any) -> None:
    rendered = (p("anything") == value).to_filter()["anything"]
    if isinstance(rendered, dict) and any(k.startswith("$") for k in rendered):
        # Only the $eq wrapper, around exactly the value.
        assert rendered == {"$eq": value}
    else:
        assert rendered == value


@given(st.lists(_json, max_size=4))
def test_any_in_keeps_operator_like_values_literal(values: list[Any]) -> None:
    rendered = p("anything").any_in(values).to_filter()

    def literal_in(doc: dict[str, Any]) -> list[Any]:
        spec = doc["anything"]
        if "$in" in spec:
            assert all(not (isinstance(v, dict) and any(k.startswith("$") for k in v))
                       for v in spec["$in"])
            return list(spec["$in"])
        return [spec["$eq"]]

    if "$or" in rendered:
        found = [v for part in rendered["$or"] for v in literal_in(part)]
    else:
        found = literal_in(rendered)
    assert sorted(map(repr, found)) == sorted(map(repr, values))


@given(st.text())
def test_string_values_are_sent_as_they_are(value: str) -> None:
    assert (p("name") == value).to_filter() == {"name": value}
    assert isinstance(p("name") != value, QueryExpression)
