"""The model <-> BSON codec: stored names, what is stored, validating and trusted reads,
value checks for queries and updates, and the ODM's errors."""

from __future__ import annotations

import datetime
import decimal
import pickle
import uuid
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    computed_field,
    field_serializer,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from driver.bson import Binary, Decimal128, ObjectId, decode, encode
from driver.errors import DuplicateKeyError as DriverDuplicateKeyError
from odm import update
from odm.codec import (
    CODEC_OPTIONS,
    dump_value,
    from_document,
    id_of,
    stored_name,
    to_document,
)
from odm.errors import DocumentNotFound, DuplicateKeyError, ODMError, ValidationError, type_repr
from odm.fields import proxy_for
from odm.model import BaseDocument, Document
from tests.odm import strategies
from tests.odm.strategies import Address, Cat, Dog, RichDocument, Tree

OID = ObjectId("5f43a1b2c3d4e5f6a7b8c9d0")
UTC = datetime.timezone.utc


def through_bson(document: dict[str, Any]) -> dict[str, Any]:
    return decode(encode(document, codec_options=CODEC_OPTIONS), CODEC_OPTIONS)


def rich(**values: Any) -> RichDocument:
    values.setdefault("name", "ann")
    values.setdefault("address", Address(street="Main 1", city="Oslo", zip="0150"))
    return RichDocument(**values)


# -- round trips (properties) -----------------------------------------------------------

ROUND_TRIP = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@ROUND_TRIP
@given(strategies.instances())
def test_every_instance_round_trips_through_bson_validated(instance: BaseModel) -> None:
    stored = through_bson(to_document(instance))
    assert from_document(type(instance), stored, trusted=False) == instance


@ROUND_TRIP
@given(strategies.instances())
def test_every_instance_round_trips_through_bson_trusted(instance: BaseModel) -> None:
    stored = through_bson(to_document(instance))
    back = from_document(type(instance), stored, trusted=True)
    assert back == instance
    # The same types as a validated read, not only equal values.
    validated = from_document(type(instance), stored, trusted=False)
    assert back.model_dump() == validated.model_dump()
    assert repr(back) == repr(validated)


@ROUND_TRIP
@given(strategies.instances())
def test_to_document_output_reads_back_without_bson(instance: BaseModel) -> None:
    # to_document output is already in stored form (Decimal128, UUID as Binary...).
    document = to_document(instance)
    for trusted in (False, True):
        assert from_document(type(instance), document, trusted=trusted) == instance


@ROUND_TRIP
@given(strategies.documents())
def test_documents_are_bson_ready_with_id_first(instance: BaseDocument) -> None:
    document = to_document(instance)
    assert next(iter(document)) == "_id"
    assert id_of(instance) == document["_id"]
    # Encodable with the default options too: nothing depends on UUID settings.
    encode(document)


# -- what is stored ---------------------------------------------------------------------


def test_document_id_is_stored_as_underscore_id_first() -> None:
    document = to_document(rich(id=OID))
    assert next(iter(document)) == "_id" and document["_id"] == OID
    assert "id" not in document


def test_id_declared_without_alias_is_still_stored_as_underscore_id() -> None:
    class Numbered(Document):
        name: str = ""
        id: int  # redeclared after another field, and without the alias

    document = to_document(Numbered(id=7, name="x"))
    assert list(document) == ["_id", "name"] and document["_id"] == 7
    for trusted in (False, True):
        assert from_document(Numbered, {"_id": 7, "name": "x"}, trusted=trusted).id == 7
    assert stored_name(Numbered, "id") == "_id"


def test_aliases_are_stored_names() -> None:
    class Item(BaseModel):
        model_config = ConfigDict(populate_by_name=True)
        plain: int = 0
        aliased: int = Field(0, alias="a")
        serialized: int = Field(0, serialization_alias="s")
        both: int = Field(0, serialization_alias="out", validation_alias="out")

    item = Item(plain=1, a=2, serialized=3, out=4)
    assert to_document(item) == {"plain": 1, "a": 2, "s": 3, "out": 4}
    assert [stored_name(Item, f) for f in ("plain", "aliased", "serialized", "both")] == [
        "plain", "a", "s", "out",
    ]  # fmt: skip
    for trusted in (False, True):
        assert from_document(Item, to_document(item), trusted=trusted) == item


def test_alias_generator_names_are_stored_names() -> None:
    class Camel(BaseModel):
        model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
        first_name: str
        last_seen_at: datetime.datetime | None = None

    camel = Camel(first_name="a")
    assert to_document(camel) == {"firstName": "a", "lastSeenAt": None}
    assert stored_name(Camel, "last_seen_at") == "lastSeenAt"
    assert from_document(Camel, {"firstName": "b"}).first_name == "b"


def test_validation_alias_choices_and_paths_read_by_stored_name() -> None:
    class Odd(BaseModel):
        choice: int = Field(0, validation_alias=AliasChoices("c1", "c2"))
        path: int = Field(0, validation_alias=AliasPath("p", 0))

    odd = Odd.model_validate({"c2": 1, "p": [2]})
    document = to_document(odd)
    assert document == {"choice": 1, "path": 2}
    for trusted in (False, True):
        assert from_document(Odd, document, trusted=trusted) == odd


def test_embedded_models_without_populate_by_name_read_by_alias() -> None:
    class Inner(BaseModel):
        value: int = Field(alias="v")

    class Outer(BaseModel):
        inner: Inner
        inners: list[Inner] = []

    outer = Outer(inner=Inner(v=1), inners=[Inner(v=2)])
    assert to_document(outer) == {"inner": {"v": 1}, "inners": [{"v": 2}]}
    for trusted in (False, True):
        assert from_document(Outer, through_bson(to_document(outer)), trusted=trusted) == outer


def test_excluded_and_computed_fields_are_not_stored() -> None:
    item = rich(note="private")
    document = to_document(item)
    assert "note" not in document and "name_length" not in document
    for trusted in (False, True):
        back = from_document(RichDocument, through_bson(document), trusted=trusted)
        assert back.note == "not stored"  # the default
        assert back.name_length == 3


def test_none_is_stored_as_null_unless_excluded_with_exclude_if() -> None:
    class Sparse(BaseModel):
        kept: int | None = None
        dropped: int | None = Field(default=None, exclude_if=lambda v: v is None)

    assert to_document(Sparse()) == {"kept": None}
    assert to_document(Sparse(dropped=1)) == {"kept": None, "dropped": 1}
    assert b"\x0akept\x00" in encode(to_document(Sparse()))  # BSON null
    for trusted in (False, True):
        assert from_document(Sparse, {"kept": None}, trusted=trusted) == Sparse()


def test_field_serializers_shape_the_stored_form() -> None:
    class Temp(BaseModel):
        celsius: float

        @field_serializer("celsius")
        def _round(self, value: float) -> float:
            return round(value, 1)

    assert to_document(Temp(celsius=21.456)) == {"celsius": 21.5}


def test_extra_fields_are_stored_when_allowed() -> None:
    class Open(BaseModel):
        model_config = ConfigDict(extra="allow")
        name: str

    item = Open(name="x", price=decimal.Decimal("1.5"), when=datetime.date(2020, 1, 2))
    document = to_document(item)
    assert document == {
        "name": "x",
        "price": Decimal128("1.5"),
        "when": datetime.datetime(2020, 1, 2, tzinfo=UTC),
    }
    for trusted in (False, True):
        back = from_document(Open, {"name": "x", "other": 1}, trusted=trusted)
        assert back.model_extra == {"other": 1}


def test_extra_keys_are_ignored_by_default_and_refused_when_forbidden() -> None:
    class Closed(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str

    for trusted in (False, True):
        assert from_document(Address, {"street": "", "city": "", "zip": "", "x": 1}, trusted=trusted)
        with pytest.raises(ValidationError, match="other"):
            from_document(Closed, {"name": "x", "other": 1}, trusted=trusted)


def test_embedded_documents_keep_their_underscore_id() -> None:
    class Child(Document):
        name: str

    class Parent(Document):
        child: Child

    parent = Parent(id=OID, child=Child(id=OID, name="c"))
    assert to_document(parent) == {"_id": OID, "child": {"_id": OID, "name": "c"}}
    assert from_document(Parent, to_document(parent), trusted=True) == parent


def test_recursive_models_round_trip() -> None:
    tree = Tree(value=1, children=[Tree(value=2, children=[Tree(value=3)]), Tree(value=4)])
    assert to_document(tree) == {
        "value": 1,
        "children": [
            {"value": 2, "children": [{"value": 3, "children": []}]},
            {"value": 4, "children": []},
        ],
    }
    for trusted in (False, True):
        assert from_document(Tree, through_bson(to_document(tree)), trusted=trusted) == tree


def test_discriminated_unions_store_each_member_with_its_tag() -> None:
    item = rich(pet=Dog(tricks=["sit"]), pets=[Cat(lives=3), Dog()])
    document = to_document(item)
    assert document["pet"] == {"kind": "dog", "good": True, "tricks": ["sit"]}
    assert [p["kind"] for p in document["pets"]] == ["cat", "dog"]
    for trusted in (False, True):
        back = from_document(RichDocument, through_bson(document), trusted=trusted)
        assert type(back.pet) is Dog and [type(p) for p in back.pets] == [Cat, Dog]


def test_unknown_discriminator_tag_fails_even_when_trusted() -> None:
    document = to_document(rich(id=OID))
    document["pet"] = {"kind": "parrot"}
    for trusted in (False, True):
        with pytest.raises(ValidationError, match="pet"):
            from_document(RichDocument, document, trusted=trusted)


VALIDATED: list[Any] = []


class Kennel(Document, collection="kennels"):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")] | None = None
    old_style: Optional[Annotated[Union[Cat, Dog], Field(discriminator="kind")]] = None  # noqa: UP045, UP007
    pets: list[Annotated[Cat | Dog, Field(discriminator="kind")] | None] = Field(
        default_factory=list
    )

    @field_validator("pet")
    @classmethod
    def _count(cls, value: Any) -> Any:
        VALIDATED.append(value)
        return value


def test_optional_discriminated_unions_round_trip() -> None:
    kennel = Kennel(id=OID, pet=Dog(tricks=["sit"]), old_style=Cat(lives=2),
                    pets=[Cat(), None, Dog()])
    document = to_document(kennel)
    assert document == {
        "_id": OID,
        "pet": {"kind": "dog", "good": True, "tricks": ["sit"]},
        "old_style": {"kind": "cat", "lives": 2},
        "pets": [{"kind": "cat", "lives": 9}, None, {"kind": "dog", "good": True, "tricks": []}],
    }
    for instance in (kennel, Kennel(id=OID)):
        stored = through_bson(to_document(instance))
        assert from_document(Kennel, stored) == instance
        VALIDATED.clear()
        back = from_document(Kennel, stored, trusted=True)
        assert back == instance and type(back.pet) is type(instance.pet)
        assert VALIDATED == []  # built by the trusted reader, not validated after all
    stored = to_document(kennel)
    stored["pet"] = {"kind": "parrot"}
    for trusted in (False, True):
        with pytest.raises(ValidationError, match="pet"):
            from_document(Kennel, stored, trusted=trusted)


class Circle(BaseModel):
    radius: float


class Square(BaseModel):
    side: float
    label: str = ""


class Drawing(BaseModel):
    shape: Circle | Square
    value: int | str | None = None
    maybe: Circle | None = None
    mode: Literal["a", "b"] = "a"


@pytest.mark.parametrize(
    "document",
    [
        {"shape": {"radius": 1.0}, "value": 1},
        {"shape": {"side": 2.0}, "value": "1"},
        {"shape": {"side": 2.0, "label": "x"}, "value": None, "maybe": {"radius": 3.0}},
        {"shape": {"radius": 1}, "mode": "b"},
    ],
)
def test_plain_unions_pick_the_member_validation_would(document: dict[str, Any]) -> None:
    assert from_document(Drawing, document, trusted=True) == from_document(Drawing, document)


def test_typing_union_spellings_work_like_the_operator() -> None:
    class Old(BaseModel):
        a: Optional[decimal.Decimal] = None  # noqa: UP045 - the typing spelling on purpose
        b: Union[int, str] = 0  # noqa: UP007
        c: Optional[Union[Circle, Square]] = None  # noqa: UP045, UP007

    old = Old(a=decimal.Decimal("1.5"), b="x", c=Square(side=1.0))
    document = to_document(old)
    assert document == {"a": Decimal128("1.5"), "b": "x", "c": {"side": 1.0, "label": ""}}
    for trusted in (False, True):
        assert from_document(Old, through_bson(document), trusted=trusted) == old


def test_trusted_read_fills_defaults_and_factories() -> None:
    class Defaults(BaseModel):
        required: int
        constant: str = "c"
        mutable: list[int] = [1]
        made: uuid.UUID = Field(default_factory=uuid.uuid4)
        derived: int = Field(default_factory=lambda data: data["required"] * 2)

    a = from_document(Defaults, {"required": 2}, trusted=True)
    b = from_document(Defaults, {"required": 2}, trusted=True)
    assert (a.constant, a.mutable, a.derived) == ("c", [1], 4)
    assert a.made != b.made
    a.mutable.append(2)
    assert b.mutable == [1]  # defaults are not shared between instances
    assert a.model_fields_set == {"required"}


def test_trusted_read_skips_validators_but_runs_post_init() -> None:
    class Checked(BaseModel):
        name: str
        _seen: list[str] = PrivateAttr(default_factory=list)

        @field_validator("name")
        @classmethod
        def _upper(cls, value: str) -> str:
            return value.upper()

        def model_post_init(self, context: Any) -> None:
            self._seen.append(self.name)

    validated = from_document(Checked, {"name": "ann"})
    trusted = from_document(Checked, {"name": "ann"}, trusted=True)
    assert validated.name == "ANN" and trusted.name == "ann"
    assert trusted._seen == ["ann"]


def test_trusted_from_config_and_overridden_per_call() -> None:
    class Fast(Document, collection="fast"):
        model_config = ConfigDict(trusted=True)  # type: ignore[typeddict-unknown-key]
        name: Annotated[str, Field(max_length=2)]

    document = {"_id": OID, "name": "too long"}
    assert from_document(Fast, document).name == "too long"
    with pytest.raises(ValidationError):
        from_document(Fast, document, trusted=False)


def test_trusted_read_of_a_broken_document_validates_it_instead() -> None:
    document = to_document(rich(id=OID))
    del document["name"]
    with pytest.raises(ValidationError) as info:
        from_document(RichDocument, document, trusted=True)
    assert info.value.errors[0]["loc"] == ("name",)
    document = to_document(rich(id=OID))
    document["age"] = "7"  # validation can repair it; trusted mode hands it over
    assert from_document(RichDocument, document, trusted=True).age == 7


def test_trusted_read_accepts_any_mapping() -> None:
    from types import MappingProxyType

    document = MappingProxyType(to_document(rich(id=OID)))
    assert from_document(RichDocument, document, trusted=True).id == OID


# -- read errors ------------------------------------------------------------------------


def test_validation_error_names_model_id_and_paths() -> None:
    document = to_document(rich(id=OID, previous=[Address(street="", city="", zip="")] * 2))
    document["age"] = "old"
    document["previous"][1]["city"] = 5
    with pytest.raises(ValidationError) as info:
        from_document(RichDocument, document)
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, ODMError)
    assert error.model is RichDocument and error.document_id == OID
    assert [e["loc"] for e in error.errors] == [("age",), ("previous", 1, "city")]
    text = str(error)
    assert "RichDocument" in text and repr(OID) in text
    assert "age: Input should be a valid integer" in text and "previous.1.city:" in text
    assert isinstance(error.__cause__, PydanticValidationError)


def test_validation_error_hides_inputs_when_the_model_says_so() -> None:
    class Secretive(BaseModel):
        model_config = ConfigDict(hide_input_in_errors=True)
        pin: int

    with pytest.raises(ValidationError) as info:
        from_document(Secretive, {"_id": 1, "pin": "s3cr3t"})
    assert "s3cr3t" not in str(info.value)


def test_document_without_id_reports_none() -> None:
    with pytest.raises(ValidationError) as info:
        from_document(Address, {"street": 1})
    assert info.value.document_id is None and "_id=None" in str(info.value)


# -- stored_name, dump_value ------------------------------------------------------------


def test_stored_name_of_unknown_field() -> None:
    with pytest.raises(AttributeError, match="nope"):
        stored_name(RichDocument, "nope")
    assert stored_name(RichDocument, "stored_as") == "storedAs"


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        (ObjectId, str(OID), OID),
        (ObjectId | None, None, None),
        (int, "7", 7),
        (decimal.Decimal, "1.50", Decimal128("1.50")),
        (list[uuid.UUID], [uuid.UUID(int=1)], [Binary(uuid.UUID(int=1).bytes, 4)]),
        (set[int], {3, 1, 2}, [1, 2, 3]),
        (tuple[int, str], (1, "a"), [1, "a"]),
        (datetime.date, "2020-01-02", datetime.datetime(2020, 1, 2, tzinfo=UTC)),
        (str, "$gt", "$gt"),  # a value, never an operator
        (dict[str, Any], {"$gt": 1}, {"$gt": 1}),
        (
            Address,
            {"street": "s", "city": "c", "zip": "z"},
            {"street": "s", "city": "c", "zip": "z", "geo": None},
        ),
        (Literal["a", "b"], "a", "a"),
    ],
)
def test_dump_value_validates_and_returns_the_stored_form(
    annotation: Any, value: Any, expected: Any
) -> None:
    assert dump_value(annotation, value, field="f") == expected


def test_dump_value_of_an_embedded_model_instance() -> None:
    address = Address(street="s", city="c", zip="z", geo=(1.0, 2.0))
    assert dump_value(Address, address, field="address") == {
        "street": "s", "city": "c", "zip": "z", "geo": [1.0, 2.0],
    }  # fmt: skip
    assert dump_value(strategies.Color, strategies.Color.BLUE, field="color") == "blue"


def test_dump_value_refuses_values_of_the_wrong_type() -> None:
    with pytest.raises(ValidationError) as info:
        dump_value(int, "x", field="age", model=RichDocument)
    message = str(info.value)
    assert "RichDocument.age" in message and "expected int" in message
    assert info.value.field == "age" and info.value.model is RichDocument
    assert isinstance(info.value.__cause__, PydanticValidationError)
    with pytest.raises(ValidationError, match=r"address\.city"):
        dump_value(str, {"$ne": 1}, field="address.city")
    with pytest.raises(ValidationError, match=r"expected .*ObjectId"):
        dump_value(ObjectId, "nothex", field="ref")


def test_dump_value_applies_constraints_in_the_annotation() -> None:
    bounded = Annotated[int, Field(ge=0)]
    with pytest.raises(ValidationError):
        dump_value(bounded, -1, field="age")
    assert dump_value(int, -1, field="age") == -1


def test_errors_show_constrained_types_readably() -> None:
    with pytest.raises(ValidationError) as info:
        dump_value(Annotated[int, Field(ge=0)], -1, field="age")
    assert "(expected int (>= 0)):" in str(info.value)
    with pytest.raises(ValidationError) as info:
        update.set(proxy_for(Cat, "lives"), 10)  # declared ge=0, le=9
    message = str(info.value)
    assert "'Cat.lives' (expected int (>= 0, <= 9)):" in message
    assert "Annotated" not in message and "typing." not in message
    assert type_repr(Optional[Annotated[str, Field(max_length=3, pattern="^a")]]) == (  # noqa: UP045
        "str (max length 3, pattern '^a') | None"
    )
    assert type_repr(dict[str, list[Annotated[decimal.Decimal, Field(gt=0)]]]) == (
        "dict[str, list[Decimal (> 0)]]"
    )
    assert type_repr(Union[Literal["a", "b"], tuple[int, ...], None]) == (  # noqa: UP007
        "Literal['a', 'b'] | tuple[int, ...] | None"
    )
    assert type_repr(Any) == "Any" and type_repr(ObjectId) == "ObjectId"


def test_dump_value_reports_values_bson_cannot_hold() -> None:
    with pytest.raises(ValidationError, match="price"):
        dump_value(decimal.Decimal, decimal.Decimal("1." + "1" * 40), field="price")


def test_dump_value_takes_unhashable_annotations() -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __eq__(self, other: object) -> bool:
            return self is other

    annotation = Annotated[int, Unhashable()]
    assert dump_value(annotation, "3", field="n") == 3
    assert dump_value(annotation, "4", field="n") == 4


# -- errors -----------------------------------------------------------------------------


def test_errors_pickle() -> None:
    errors: list[Exception] = [
        ValidationError.for_document(Address, OID, [{"type": "missing", "loc": ("city",), "msg": "x"}]),
        DocumentNotFound(Address, {"_id": 1}),
        DuplicateKeyError(Address, key={"email": "a"}, index="email_1"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.__dict__ == error.__dict__


def test_document_not_found() -> None:
    error = DocumentNotFound(RichDocument, {"_id": OID})
    assert error.model is RichDocument and error.filter == {"_id": OID}
    assert "RichDocument" in str(error) and str(OID) in str(error)


def test_duplicate_key_error_from_a_driver_error() -> None:
    cause = DriverDuplicateKeyError(
        "E11000 duplicate key error collection: db.users index: email_1 dup key: { email: \"a\" }",
        11000,
        {"code": 11000, "keyValue": {"email": "a"}},
    )
    error = DuplicateKeyError.from_driver(RichDocument, cause)
    assert error.model is RichDocument and error.key == {"email": "a"} and error.index == "email_1"
    assert error.__cause__ is cause
    assert "email_1" in str(error) and "'email': 'a'" in str(error)


def test_duplicate_key_error_from_a_bulk_write_error_entry() -> None:
    entry = {"index": 0, "code": 11000, "errmsg": "E11000 ... index: _id_ dup key: { _id: 1 }",
             "keyValue": {"_id": 1}}  # fmt: skip
    error = DuplicateKeyError.from_driver(None, RuntimeError("bulk"), entry)
    assert error.key == {"_id": 1} and error.index == "_id_" and error.model is None


def test_duplicate_key_error_without_details() -> None:
    error = DuplicateKeyError.from_driver(Address, RuntimeError("E11000 duplicate key"))
    assert error.key is None and error.index is None


def test_store_errors_name_the_nested_path() -> None:
    class Wallet(BaseModel):
        amounts: dict[str, decimal.Decimal]

    class Person(BaseModel):
        wallet: Wallet

    person = Person(wallet=Wallet(amounts={"a": decimal.Decimal("1." + "1" * 40)}))
    with pytest.raises(ValidationError, match=r"Person\.wallet\.amounts"):
        to_document(person)


def test_computed_field_example_is_not_a_field() -> None:
    class Box(BaseModel):
        w: int

        @computed_field  # type: ignore[prop-decorator]
        @property
        def area(self) -> int:
            return self.w * self.w

    assert to_document(Box(w=3)) == {"w": 3}


def test_document_id_left_none_is_not_stored() -> None:
    class Later(BaseDocument):
        id: ObjectId | None = None
        name: str = ""

    assert to_document(Later(name="x")) == {"name": "x"}
    assert to_document(Later(id=OID)) == {"_id": OID, "name": ""}


def test_raw_bson_documents_read_in_both_modes() -> None:
    from driver.bson.raw_bson import RawBSONDocument

    item = rich(id=OID, previous=[Address(street="a", city="b", zip="c")], pet=Dog())
    options = CODEC_OPTIONS.with_options(document_class=RawBSONDocument)
    raw = RawBSONDocument(encode(to_document(item)), options)
    for trusted in (False, True):
        assert from_document(RichDocument, raw, trusted=trusted) == item


def test_first_use_from_many_threads_sees_a_complete_plan() -> None:
    import threading

    class Fresh(BaseModel):
        a: decimal.Decimal
        b: list[Address]
        c: dict[str, uuid.UUID]

    document = {"a": Decimal128("1.5"), "b": [{"street": "", "city": "", "zip": ""}], "c": {}}
    expected = from_document(Fresh, document)
    # A second class, not used yet, is compiled by all threads at once.
    Again = type("Again", (Fresh,), {"__module__": __name__})
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def read() -> None:
        barrier.wait()
        results.append(from_document(Again, document, trusted=True))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(type(r) is Again and r.model_dump() == expected.model_dump() for r in results)


# -- id_of ------------------------------------------------------------------------------


class UuidNote(BaseDocument):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)


class Shouting(BaseDocument):
    id: str

    @field_serializer("id")
    def _upper(self, value: str) -> str:
        return value.upper()


class Unassigned(BaseDocument):
    id: ObjectId | None = None


class Priced(BaseDocument):
    id: decimal.Decimal


class Keyed(BaseModel):
    key: str = Field(alias="_id")


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        (rich(id=OID), OID),
        (UuidNote(id=uuid.UUID(int=5)), Binary(uuid.UUID(int=5).bytes, 4)),
        (Shouting(id="hey"), "HEY"),  # the serializer's form, as stored
        (Unassigned(), None),  # left out of the document: the server assigns it
        (Unassigned(id=OID), OID),
        (Priced(id=decimal.Decimal("1.5")), Decimal128("1.5")),
        (Keyed(_id="k"), "k"),
        (Address(street="s", city="c", zip="z"), None),  # no _id at all
    ],
)
def test_id_of_is_the_stored_id(instance: BaseModel, expected: Any) -> None:
    assert id_of(instance) == expected
    assert type(id_of(instance)) is type(expected)
    assert id_of(instance) == to_document(instance).get("_id")


def test_id_of_an_id_that_cannot_be_stored_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"Priced\.id"):
        id_of(Priced(id=decimal.Decimal("1." + "1" * 40)))


def test_bulk_finds_instances_by_their_stored_id() -> None:
    from driver import DeleteOne, ReplaceOne
    from odm.bulk import Delete, Replace, to_write_models

    note = UuidNote(id=uuid.UUID(int=9))
    stored = Binary(uuid.UUID(int=9).bytes, 4)
    assert to_write_models(UuidNote, [Delete(note), Replace(note)]) == [
        DeleteOne({"_id": stored}),
        ReplaceOne({"_id": stored}, {"_id": stored}, upsert=False),
    ]
