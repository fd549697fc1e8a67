"""Field types: the BSON classes' Pydantic schemas, and how each annotation is stored.

The BSON classes work in any Pydantic model (not only ODM documents): Python mode
keeps the BSON instance, JSON mode (what FastAPI uses) has a plain JSON form, and the
JSON schema describes that form.
"""

from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import json
import re
import subprocess
import sys
import typing
import uuid
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

import odm.types
from driver.bson import Binary, Decimal128, Int64, ObjectId, Regex, Timestamp, decode, encode
from odm.codec import CODEC_OPTIONS, from_document, to_document
from odm.model import Document
from odm.types import UTCDateTime, to_stored_datetime

UTC = datetime.timezone.utc
OID = "5f43a1b2c3d4e5f6a7b8c9d0"


def stored(model: BaseModel) -> dict[str, Any]:
    """What the database would hand back for ``model``."""
    return decode(encode(to_document(model), codec_options=CODEC_OPTIONS), CODEC_OPTIONS)


def test_odm_types_are_the_driver_classes() -> None:
    assert odm.types.ObjectId is ObjectId
    assert odm.types.Int64 is Int64
    assert odm.types.Decimal128 is Decimal128
    assert odm.types.Binary is Binary
    assert odm.types.Regex is Regex
    assert odm.types.Timestamp is Timestamp


def test_importing_driver_bson_does_not_import_pydantic() -> None:
    code = (
        "import sys, driver, driver.bson\n"
        "from driver.bson import ObjectId\n"
        "ObjectId()\n"
        "print('pydantic' in sys.modules, 'pydantic_core' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]


# -- ObjectId ---------------------------------------------------------------------------


class WithId(BaseModel):
    id: ObjectId = Field(default_factory=ObjectId)
    ref: ObjectId | None = None


def test_objectid_accepts_instances_and_hex_strings() -> None:
    oid = ObjectId()
    assert WithId(id=oid).id is oid
    parsed = WithId(id=OID).id
    assert type(parsed) is ObjectId and str(parsed) == OID
    assert WithId(id=OID.upper()).id == ObjectId(OID)


def test_objectid_default_factory_makes_a_new_id_each_time() -> None:
    a, b = WithId(), WithId()
    assert isinstance(a.id, ObjectId) and a.id != b.id


@pytest.mark.parametrize("bad", ["", "xyz", OID[:-1], OID + "0", "g" * 24, 5, b"x" * 12, None, 1.5])
def test_objectid_refuses_anything_else(bad: Any) -> None:
    with pytest.raises(PydanticValidationError) as info:
        WithId(id=bad)
    (error,) = info.value.errors()
    assert error["type"] == "objectid_type"
    assert error["loc"] == ("id",)
    assert "24 hex digits" in error["msg"]


def test_objectid_python_dump_keeps_the_instance_json_dump_gives_hex() -> None:
    model = WithId(id=OID, ref=OID)
    dumped = model.model_dump()
    assert type(dumped["id"]) is ObjectId and dumped["id"] == ObjectId(OID)
    assert model.model_dump(mode="json") == {"id": OID, "ref": OID}
    assert json.loads(model.model_dump_json()) == {"id": OID, "ref": OID}


def test_objectid_json_mode_accepts_hex_and_refuses_the_rest() -> None:
    model = WithId.model_validate_json(json.dumps({"id": OID}))
    assert model.id == ObjectId(OID)
    with pytest.raises(PydanticValidationError) as info:
        WithId.model_validate_json(json.dumps({"id": "nothex"}))
    assert info.value.errors()[0]["type"] == "objectid_type"
    with pytest.raises(PydanticValidationError):
        WithId.model_validate_json(json.dumps({"id": 12}))


@given(st.binary(min_size=12, max_size=12))
def test_objectid_survives_a_json_round_trip(raw: bytes) -> None:
    model = WithId(id=ObjectId(raw))
    assert WithId.model_validate_json(model.model_dump_json()) == model


def test_objectid_json_schema_is_a_24_hex_string() -> None:
    for mode in ("validation", "serialization"):
        schema = WithId.model_json_schema(mode=mode)  # type: ignore[arg-type]
        prop = schema["properties"]["id"]
        assert prop["type"] == "string"
        assert prop["pattern"] == "^[0-9a-fA-F]{24}$"
        assert re.fullmatch(prop["pattern"], OID)
        # Optional[ObjectId]: the same schema inside anyOf, plus null.
        assert {"type": "null"} in schema["properties"]["ref"]["anyOf"]


def test_objectid_works_with_type_adapter_and_in_containers() -> None:
    adapter = TypeAdapter(list[ObjectId])
    assert adapter.validate_python([OID]) == [ObjectId(OID)]
    assert adapter.dump_json([ObjectId(OID)]) == f'["{OID}"]'.encode()
    assert TypeAdapter(dict[str, ObjectId]).validate_json(f'{{"a": "{OID}"}}') == {"a": ObjectId(OID)}


def test_objectid_in_strict_mode_still_takes_instances() -> None:
    class Strict(BaseModel, strict=True):
        id: ObjectId

    oid = ObjectId()
    assert Strict(id=oid).id is oid


# -- Int64 ------------------------------------------------------------------------------


class WithInt64(BaseModel):
    value: Int64 = Int64(0)


def test_int64_converts_ints_and_keeps_the_type_when_dumped() -> None:
    model = WithInt64(value=5)
    assert type(model.value) is Int64 and model.value == 5
    assert type(model.model_dump()["value"]) is Int64
    assert model.model_dump(mode="json") == {"value": 5}
    assert WithInt64.model_validate_json('{"value": 9223372036854775807}').value == 2**63 - 1


@pytest.mark.parametrize("bad", [2**63, -(2**63) - 1, "x", 1.5])
def test_int64_refuses_values_out_of_range_or_not_integers(bad: Any) -> None:
    with pytest.raises(PydanticValidationError):
        WithInt64(value=bad)


def test_int64_is_stored_as_int64_even_when_small() -> None:
    # Element type 0x12 (int64), not 0x10 (int32).
    assert b"\x12value\x00" in encode(to_document(WithInt64(value=1)))
    back = from_document(WithInt64, stored(WithInt64(value=1)))
    assert type(back.value) is Int64 and back.value == 1


def test_int64_json_schema() -> None:
    prop = WithInt64.model_json_schema()["properties"]["value"]
    assert prop["type"] == "integer" and prop["format"] == "int64"


def test_plain_int_is_int32_when_it_fits_else_int64_and_reads_back_as_int() -> None:
    class Counter(BaseModel):
        n: int

    assert b"\x10n\x00" in encode(to_document(Counter(n=2**31 - 1)))
    assert b"\x12n\x00" in encode(to_document(Counter(n=2**31)))
    for mode in (False, True):
        back = from_document(Counter, stored(Counter(n=2**40)), trusted=mode)
        assert type(back.n) is int and back.n == 2**40


# -- Decimal ----------------------------------------------------------------------------


class Priced(BaseModel):
    price: decimal.Decimal
    raw: Decimal128 = Decimal128("0")


def test_decimal_is_stored_as_decimal128_and_read_back_as_decimal() -> None:
    model = Priced(price=decimal.Decimal("12.50"), raw=Decimal128("1.5"))
    document = to_document(model)
    assert document == {"price": Decimal128("12.50"), "raw": Decimal128("1.5")}
    assert type(document["price"]) is Decimal128
    for mode in (False, True):
        back = from_document(Priced, stored(model), trusted=mode)
        assert type(back.price) is decimal.Decimal and str(back.price) == "12.50"
        assert type(back.raw) is Decimal128 and back.raw == Decimal128("1.5")


def test_decimal_with_too_many_digits_cannot_be_stored() -> None:
    from odm.errors import ValidationError

    model = Priced(price=decimal.Decimal("1." + "1" * 40))
    with pytest.raises(ValidationError) as info:
        to_document(model)
    assert "Priced.price" in str(info.value)
    assert info.value.field == "price"


def test_decimal128_field_accepts_decimal_str_int() -> None:
    assert Priced(price=1, raw="2.5").raw == Decimal128("2.5")
    assert Priced(price=1, raw=decimal.Decimal("3")).raw == Decimal128("3")
    assert Priced(price=1, raw=7).raw == Decimal128("7")
    with pytest.raises(PydanticValidationError):
        Priced(price=1, raw="1" * 40)
    with pytest.raises(PydanticValidationError):
        Priced(price=1, raw=object())


def test_decimal128_json_form_is_a_string() -> None:
    model = Priced(price=decimal.Decimal("1"), raw=Decimal128("-0.001"))
    assert model.model_dump(mode="json")["raw"] == "-0.001"
    assert Priced.model_validate_json(model.model_dump_json()) == model
    assert Priced.model_validate_json('{"price": 1, "raw": 2.5}').raw == Decimal128("2.5")
    assert Priced.model_json_schema()["properties"]["raw"]["type"] == "string"


# -- UUID -------------------------------------------------------------------------------


class Tokened(BaseModel):
    token: uuid.UUID
    maybe: uuid.UUID | None = None


def test_uuid_is_stored_as_standard_binary_subtype_4() -> None:
    token = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    document = to_document(Tokened(token=token))
    assert document["token"] == Binary(token.bytes, 4)
    for mode in (False, True):
        assert from_document(Tokened, stored(Tokened(token=token)), trusted=mode).token == token


def test_uuid_still_in_binary_form_is_read_as_uuid() -> None:
    # Documents decoded without CODEC_OPTIONS keep subtype 4 as Binary.
    token = uuid.uuid4()
    raw = decode(encode(to_document(Tokened(token=token, maybe=token))))
    assert isinstance(raw["token"], Binary)
    for mode in (False, True):
        back = from_document(Tokened, raw, trusted=mode)
        assert back.token == token and back.maybe == token


# -- datetime ---------------------------------------------------------------------------


class Event(BaseModel):
    at: datetime.datetime
    day: datetime.date | None = None


def test_datetime_is_read_back_aware_utc_with_milliseconds() -> None:
    given_at = datetime.datetime(2024, 5, 1, 12, 30, 15, 123999, tzinfo=UTC)
    for mode in (False, True):
        back = from_document(Event, stored(Event(at=given_at)), trusted=mode)
        assert back.at == datetime.datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
        assert back.at.utcoffset() == datetime.timedelta(0)


def test_naive_datetime_is_taken_as_utc() -> None:
    back = from_document(Event, stored(Event(at=datetime.datetime(2024, 5, 1, 12, 0))))
    assert back.at == datetime.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert back.at.tzinfo is not None


def test_aware_datetime_in_another_zone_is_stored_as_the_same_instant() -> None:
    oslo = datetime.timezone(datetime.timedelta(hours=2))
    given_at = datetime.datetime(2024, 5, 1, 14, 0, tzinfo=oslo)
    back = from_document(Event, stored(Event(at=given_at)))
    assert back.at == given_at
    assert back.at.hour == 12 and back.at.utcoffset() == datetime.timedelta(0)


def test_date_is_stored_as_midnight_utc_and_read_back_as_date() -> None:
    document = to_document(Event(at=datetime.datetime(2024, 1, 1), day=datetime.date(1999, 12, 31)))
    assert document["day"] == datetime.datetime(1999, 12, 31, tzinfo=UTC)
    for mode in (False, True):
        back = from_document(Event, decode(encode(document), CODEC_OPTIONS), trusted=mode)
        assert type(back.day) is datetime.date and back.day == datetime.date(1999, 12, 31)


@given(st.datetimes(timezones=st.just(UTC) | st.none()))
def test_stored_datetime_matches_what_bson_keeps(value: datetime.datetime) -> None:
    back = decode(encode({"v": value}), CODEC_OPTIONS)["v"]
    assert to_stored_datetime(value) == back


def test_utcdatetime_normalises_on_validation() -> None:
    class Stamp(BaseModel):
        at: UTCDateTime

    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    stamp = Stamp(at=datetime.datetime(2024, 5, 1, 14, 0, 0, 999999, tzinfo=plus2))
    assert stamp.at == datetime.datetime(2024, 5, 1, 12, 0, 0, 999000, tzinfo=UTC)
    assert stamp.at.tzinfo is UTC
    assert Stamp(at=datetime.datetime(2024, 5, 1)).at.tzinfo is UTC
    # The instance equals what a read gives back, with no truncation surprise.
    assert from_document(Stamp, stored(stamp)) == stamp


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(UTC).replace(microsecond=123456)


class Stamped(Document, collection="stamped"):
    created: UTCDateTime = Field(default_factory=utc_now)
    fixed: UTCDateTime = datetime.datetime(2024, 5, 1, 12, 0, 0, 999999)
    seen: list[UTCDateTime] = Field(default_factory=list)
    maybe: UTCDateTime | None = None


def test_utcdatetime_normalises_defaults_too() -> None:
    stamped = Stamped()
    assert stamped.created.microsecond == 123000 and stamped.created.tzinfo is UTC
    assert stamped.fixed == datetime.datetime(2024, 5, 1, 12, 0, 0, 999000, tzinfo=UTC)
    # So the instance equals what a read gives back, in both modes.
    for trusted in (False, True):
        assert from_document(Stamped, stored(stamped), trusted=trusted) == stamped
    # A stored document without the field: the default is normalised there too.
    for trusted in (False, True):
        back = from_document(Stamped, {"_id": stamped.id}, trusted=trusted)
        assert back.created.microsecond == 123000 and back.fixed.microsecond == 999000


def test_utcdatetime_inside_containers_and_unions_does_not_warn() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Nested(BaseModel):
            seen: list[UTCDateTime] = []
            maybe: UTCDateTime | None = None
            by_name: dict[str, UTCDateTime] = {}

        value = datetime.datetime(2024, 5, 1, 12, 0, 0, 999999)
        nested = Nested(seen=[value], maybe=value, by_name={"a": value})
        TypeAdapter(UTCDateTime).validate_python(value)
    assert nested.seen[0].microsecond == nested.maybe.microsecond == 999000  # type: ignore[union-attr]
    assert nested.by_name["a"].microsecond == 999000


# -- Timestamp --------------------------------------------------------------------------


class Oplog(BaseModel):
    ts: Timestamp
    last: Timestamp | None = None
    history: list[Timestamp] = []


def test_timestamp_fields_need_no_arbitrary_types_and_round_trip() -> None:
    entry = Oplog(ts=Timestamp(1_700_000_000, 3), history=[Timestamp(5, 1), Timestamp(5, 2)])
    document = to_document(entry)
    assert document == {"ts": Timestamp(1_700_000_000, 3), "last": None,
                        "history": [Timestamp(5, 1), Timestamp(5, 2)]}
    raw = decode(encode(document))
    assert type(raw["ts"]) is Timestamp
    for trusted in (False, True):
        assert from_document(Oplog, stored(entry), trusted=trusted) == entry
    # A BSON value the trusted reader takes as stored (not validated one by one): the
    # list is the stored one, as for any list needing no conversion.
    document = stored(entry)
    assert from_document(Oplog, document, trusted=True).history is document["history"]


def test_timestamp_json_form() -> None:
    entry = Oplog(ts=Timestamp(7, 1))
    assert entry.model_dump()["ts"] == Timestamp(7, 1)  # Python mode keeps the instance
    assert entry.model_dump(mode="json")["ts"] == {"t": 7, "i": 1}
    assert Oplog.model_validate_json(entry.model_dump_json()) == entry
    assert Oplog(ts={"t": 7, "i": 1}).ts == Timestamp(7, 1)  # type: ignore[arg-type]
    schema = Oplog.model_json_schema()["properties"]["ts"]
    assert schema["type"] == "object" and schema["required"] == ["t", "i"]


@pytest.mark.parametrize(
    "bad", [5, "5", {"t": 1}, {"t": -1, "i": 0}, {"t": 2**32, "i": 0}, {"t": 1.0, "i": 0}]
)
def test_timestamp_refuses_anything_else(bad: Any) -> None:
    with pytest.raises(PydanticValidationError, match="timestamp_type"):
        Oplog(ts=bad)


# -- bare containers --------------------------------------------------------------------


class BareContainers(BaseModel):
    d: dict = {}  # type: ignore[type-arg]
    items: list = []  # type: ignore[type-arg]
    unique: set = set()  # type: ignore[type-arg]
    pair: tuple = ()  # type: ignore[type-arg]
    old_dict: typing.Dict = {}  # type: ignore[type-arg]  # noqa: UP006
    old_tuple: typing.Tuple = ()  # type: ignore[type-arg]  # noqa: UP006
    seq: collections.abc.Sequence = ()  # type: ignore[type-arg]
    mapping: collections.abc.Mapping = {}  # type: ignore[type-arg]


def test_bare_containers_hold_any() -> None:
    model = BareContainers(
        d={"k": [1, {"x": "y"}]},
        items=[1, "a", uuid.UUID(int=3)],
        unique={3, 1},
        pair=(1, "a"),
        old_dict={"n": 1},
        old_tuple=(1, 2, 3),
        seq=[4, 5],
        mapping={"m": None},
    )
    document = to_document(model)
    assert document == {
        "d": {"k": [1, {"x": "y"}]},
        "items": [1, "a", Binary(uuid.UUID(int=3).bytes, 4)],  # Any: stored by its type
        "unique": [1, 3],
        "pair": [1, "a"],
        "old_dict": {"n": 1},
        "old_tuple": [1, 2, 3],
        "seq": [4, 5],
        "mapping": {"m": None},
    }
    plain = BareContainers(
        d={"k": 1}, items=[1], unique={2}, pair=(1, 2), old_tuple=(1,), seq=[4]
    )
    for trusted in (False, True):
        back = from_document(BareContainers, stored(plain), trusted=trusted)
        assert back == plain and type(back.pair) is tuple and type(back.unique) is set


# -- bytes, Binary, Regex, re.Pattern ---------------------------------------------------


class Blobs(BaseModel):
    data: bytes = b""
    tagged: Binary = Binary(b"")


def test_bytes_and_binary_round_trip_with_subtypes() -> None:
    model = Blobs(data=b"\x00\xff", tagged=Binary(b"abc", 128))
    for mode in (False, True):
        back = from_document(Blobs, stored(model), trusted=mode)
        assert back.data == b"\x00\xff" and type(back.data) is bytes
        assert back.tagged == Binary(b"abc", 128) and back.tagged.subtype == 128


def test_binary_accepts_bytes_as_subtype_0() -> None:
    assert Blobs(tagged=b"x").tagged == Binary(b"x", 0)
    assert Blobs(tagged=bytearray(b"y")).tagged == Binary(b"y", 0)
    with pytest.raises(PydanticValidationError):
        Blobs(tagged="text")
    # Subtype 0 comes back from BSON as plain bytes, and becomes Binary again.
    back = from_document(Blobs, stored(Blobs(tagged=b"z")), trusted=True)
    assert back.tagged == Binary(b"z", 0)


def test_binary_json_form() -> None:
    model = Blobs(tagged=Binary(b"\x01\x02", 5))
    assert model.model_dump(mode="json")["tagged"] == {"base64": "AQI=", "subtype": 5}
    assert Blobs.model_validate_json(model.model_dump_json()).tagged == Binary(b"\x01\x02", 5)
    assert Blobs.model_validate_json('{"tagged": "AQI="}').tagged == Binary(b"\x01\x02", 0)
    for bad in ('"not base64!"', '{"base64": "AQI=", "subtype": 300}', '{"base64": 1, "subtype": 0}'):
        with pytest.raises(PydanticValidationError):
            Blobs.model_validate_json('{"tagged": ' + bad + "}")
    assert Blobs.model_json_schema()["properties"]["tagged"]["type"] == "object"


class Patterns(BaseModel):
    regex: Regex[str] = Regex("")
    compiled: re.Pattern[str] = re.compile("")


def test_regex_accepts_regex_pattern_or_str() -> None:
    assert Patterns(regex=Regex("^a", "i")).regex == Regex("^a", "i")
    assert Patterns(regex=re.compile("^a", re.I)).regex == Regex("^a", "iu")
    assert Patterns(regex="^a").regex == Regex("^a")
    with pytest.raises(PydanticValidationError):
        Patterns(regex=5)


def test_regex_and_pattern_round_trip() -> None:
    model = Patterns(regex=Regex("^a.*", "im"), compiled=re.compile(r"\d+", re.IGNORECASE))
    for mode in (False, True):
        back = from_document(Patterns, stored(model), trusted=mode)
        assert back.regex == Regex("^a.*", "im")
        assert isinstance(back.compiled, re.Pattern)
        assert back.compiled.pattern == r"\d+" and back.compiled.flags & re.IGNORECASE


def test_regex_json_form() -> None:
    model = Patterns(regex=Regex("^a", "i"))
    assert model.model_dump(mode="json")["regex"] == {"pattern": "^a", "flags": "i"}
    assert Patterns.model_validate_json(model.model_dump_json()).regex == Regex("^a", "i")
    assert Patterns.model_validate_json('{"regex": "^b"}').regex == Regex("^b")
    with pytest.raises(PydanticValidationError):
        Patterns.model_validate_json('{"regex": {"pattern": 1}}')


# -- enums, containers ------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


class Palette(BaseModel):
    color: Color = Color.RED
    size: Size = Size.S
    by_color: dict[Color, int] = {}
    sizes: set[Size] = set()


def test_enums_are_stored_as_their_values() -> None:
    model = Palette(color=Color.BLUE, size=Size.L, by_color={Color.BLUE: 2}, sizes={Size.L, Size.S})
    document = to_document(model)
    assert document == {"color": "blue", "size": 3, "by_color": {"blue": 2}, "sizes": [1, 3]}
    assert type(document["size"]) is int
    for mode in (False, True):
        back = from_document(Palette, stored(model), trusted=mode)
        assert back == model
        assert back.color is Color.BLUE and back.size is Size.L
        assert next(iter(back.by_color)) is Color.BLUE


def test_unknown_enum_value_fails_validation_even_when_trusted() -> None:
    from odm.errors import ValidationError

    for mode in (False, True):
        with pytest.raises(ValidationError, match="color"):
            from_document(Palette, {"color": "green"}, trusted=mode)


class Shapes(BaseModel):
    tags: set[str] = set()
    frozen: frozenset[int] = frozenset()
    pair: tuple[int, str] = (0, "")
    many: tuple[float, ...] = ()
    by_id: dict[int, str] = {}
    nested: list[dict[str, list[int]]] = []


def test_containers_are_stored_as_arrays_and_documents() -> None:
    model = Shapes(
        tags={"b", "a", "c"},
        frozen=frozenset({3, 1}),
        pair=(1, "x"),
        many=(1.5, 2.5),
        by_id={10: "ten"},
        nested=[{"a": [1, 2]}],
    )
    document = to_document(model)
    assert document == {
        "tags": ["a", "b", "c"],  # sets sorted: the same set is always stored the same way
        "frozen": [1, 3],
        "pair": [1, "x"],
        "many": [1.5, 2.5],
        "by_id": {"10": "ten"},
        "nested": [{"a": [1, 2]}],
    }
    for mode in (False, True):
        back = from_document(Shapes, stored(model), trusted=mode)
        assert back == model
        assert type(back.tags) is set and type(back.frozen) is frozenset
        assert type(back.pair) is tuple and type(back.many) is tuple
        assert list(back.by_id) == [10]


def test_sets_of_unorderable_values_are_stored_in_any_order() -> None:
    class Mixed(BaseModel):
        values: set[int | str]

    document = to_document(Mixed(values={1, "a"}))
    assert sorted(document["values"], key=str) == [1, "a"]


# -- types the ODM has no rule for ------------------------------------------------------


def test_other_pydantic_types_are_stored_in_their_json_form() -> None:
    import ipaddress
    import pathlib

    from pydantic import AnyUrl, SecretStr

    class Misc(BaseModel):
        url: AnyUrl
        ip: ipaddress.IPv4Address
        path: pathlib.PurePosixPath
        wait: datetime.timedelta
        secret: SecretStr
        clock: datetime.time

    model = Misc(
        url="https://example.com/x",
        ip="10.0.0.1",
        path="/tmp/a",
        wait=datetime.timedelta(minutes=90),
        secret="hunter2",
        clock=datetime.time(12, 30),
    )
    document = to_document(model)
    assert document["url"] == "https://example.com/x"
    assert document["ip"] == "10.0.0.1"
    assert document["path"] == "/tmp/a"
    assert document["wait"] == "PT1H30M"
    assert document["secret"] == "hunter2"  # the secret itself, not the mask
    assert document["clock"] == "12:30:00"
    for mode in (False, True):
        back = from_document(Misc, stored(model), trusted=mode)
        assert back == model
        assert isinstance(back.url, AnyUrl) and back.secret.get_secret_value() == "hunter2"


def test_annotated_constraints_apply_to_new_instances_not_trusted_reads() -> None:
    class Bounded(BaseModel):
        n: Annotated[int, Field(ge=0)]

    with pytest.raises(PydanticValidationError):
        Bounded(n=-1)
    from odm.errors import ValidationError

    with pytest.raises(ValidationError):
        from_document(Bounded, {"n": -1})
    assert from_document(Bounded, {"n": -1}, trusted=True).n == -1


@pytest.mark.parametrize("special", ["NaN", "-Infinity", "Infinity"])
def test_decimal128_special_values_survive_json(special: str) -> None:
    model = Priced(price=decimal.Decimal("1"), raw=Decimal128(special))
    assert model.model_dump(mode="json")["raw"] == special
    assert Priced.model_validate_json(model.model_dump_json()).raw == Decimal128(special)
