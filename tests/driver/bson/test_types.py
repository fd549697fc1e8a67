"""Unit tests for the BSON value types, CodecOptions, TypeRegistry, RawBSONDocument,
the decode_* helpers and the BSON class. PyMongo's ``bson`` is the reference where
behaviour is meant to match."""

from __future__ import annotations

import copy
import datetime
import decimal
import io
import itertools
import operator
import os
import pickle
import re
import struct
import sys
import time
import uuid
from typing import Any

import bson as pybson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driver.bson import (
    ALL_UUID_SUBTYPES,
    BSON,
    CSHARP_LEGACY,
    DEFAULT_CODEC_OPTIONS,
    JAVA_LEGACY,
    OLD_UUID_SUBTYPE,
    PYTHON_LEGACY,
    SON,
    STANDARD,
    UUID_SUBTYPE,
    Binary,
    BinaryVector,
    BinaryVectorDtype,
    Code,
    CodecOptions,
    DatetimeConversion,
    DatetimeMS,
    DBRef,
    Decimal128,
    Int64,
    InvalidBSON,
    InvalidDocument,
    InvalidId,
    MaxKey,
    MinKey,
    ObjectId,
    RawBSONDocument,
    Regex,
    Timestamp,
    TypeCodec,
    TypeDecoder,
    TypeEncoder,
    TypeRegistry,
    UuidRepresentation,
    decode,
    decode_all,
    decode_file_iter,
    decode_iter,
    encode,
    is_valid,
    utc,
)
from driver.bson.tz_util import FixedOffset

_UTC = datetime.timezone.utc
# Each test runs once per codec (conftest.py), each time on a new instance of its class;
# that is what Hypothesis's differing_executors check reports, and it is harmless here.
_METHOD_SETTINGS: dict[str, Any] = {"suppress_health_check": [HealthCheck.differing_executors]}
# Vectors arrived in PyMongo 4.10; older releases are compared on everything else.
PyBinaryVectorDtype: Any = getattr(pybson.binary, "BinaryVectorDtype", None)
_PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
_U = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
_ALL_REPRESENTATIONS = [
    UuidRepresentation.UNSPECIFIED,
    STANDARD,
    PYTHON_LEGACY,
    JAVA_LEGACY,
    CSHARP_LEGACY,
]


# ------------------------------------------------------------------------ ObjectId


class TestObjectId:
    def test_generation(self) -> None:
        before = int(time.time())
        oid = ObjectId()
        after = int(time.time())
        assert len(oid.binary) == 12
        assert re.fullmatch("[0-9a-f]{24}", str(oid))
        assert repr(oid) == f"ObjectId('{oid}')"
        generated = oid.generation_time
        assert generated.tzinfo is not None and generated.utcoffset() == datetime.timedelta(0)
        assert before <= generated.timestamp() <= after
        assert int.from_bytes(oid.binary[:4], "big") == int(generated.timestamp())

    def test_unique(self) -> None:
        ids = [ObjectId() for _ in range(5000)]
        assert len(set(ids)) == len(ids)
        # Same process: the same 5 random bytes in every id.
        assert len({oid.binary[4:9] for oid in ids}) == 1

    def test_counter_increments(self) -> None:
        first, second = ObjectId(), ObjectId()
        counter = int.from_bytes(first.binary[9:], "big")
        assert int.from_bytes(second.binary[9:], "big") == (counter + 1) % 2**24

    def test_counter_wraps_around(self) -> None:
        # Enough ids that a wrap from 0xFFFFFF to 0 is likely not needed to see order;
        # the counter is a 3-byte big-endian number stepping by one.
        ids = [ObjectId() for _ in range(300)]
        counters = [int.from_bytes(oid.binary[9:], "big") for oid in ids]
        assert all((b - a) % 2**24 == 1 for a, b in itertools.pairwise(counters))

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_fork_child_gets_new_process_random(self) -> None:
        parent = ObjectId()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(read_end)
                os.write(write_end, str(ObjectId()).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            with os.fdopen(read_end, "rb") as pipe:
                child_hex = pipe.read().decode()
        finally:
            os.waitpid(pid, 0)
        child = ObjectId(child_hex)
        assert child.binary[4:9] != parent.binary[4:9]
        # And the parent keeps its own.
        assert ObjectId().binary[4:9] == parent.binary[4:9]

    def test_parse_hex(self) -> None:
        text = "5f43a1b2c3d4e5f6a7b8c9d0"
        oid = ObjectId(text)
        assert str(oid) == text
        assert oid.binary == bytes.fromhex(text)
        assert ObjectId(text.upper()) == oid
        assert ObjectId(oid) == oid
        assert ObjectId(oid.binary) == oid
        assert ObjectId(text).binary == pybson.ObjectId(text).binary

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "abc",
            "x" * 24,
            "5f43a1b2c3d4e5f6a7b8c9d",
            "5f43a1b2c3d4e5f6a7b8c9d0a",
            " " * 24,
            "5f43a1b2c3d4e5f6a7b8c9g0",
            "\u0663" * 24,
            b"short",
            b"x" * 13,
        ],
    )
    def test_invalid_values_raise_invalid_id(self, value: Any) -> None:
        with pytest.raises(InvalidId):
            ObjectId(value)
        assert ObjectId.is_valid(value) is False

    @pytest.mark.parametrize("value", [12, 1.5, [], {}, object(), uuid.uuid4()])
    def test_wrong_types_raise_type_error(self, value: Any) -> None:
        with pytest.raises(TypeError):
            ObjectId(value)
        assert ObjectId.is_valid(value) is False

    def test_is_valid(self) -> None:
        assert ObjectId.is_valid("5f43a1b2c3d4e5f6a7b8c9d0")
        assert ObjectId.is_valid(b"x" * 12)
        assert ObjectId.is_valid(ObjectId())
        assert not ObjectId.is_valid(None)
        assert not ObjectId.is_valid("")

    def test_from_datetime(self) -> None:
        naive = datetime.datetime(2020, 1, 1)
        oid = ObjectId.from_datetime(naive)
        assert str(oid) == "5e0be1000000000000000000"
        assert oid.binary == pybson.ObjectId.from_datetime(naive).binary
        aware = datetime.datetime(2020, 1, 1, 2, tzinfo=FixedOffset(120, "plus2"))
        assert ObjectId.from_datetime(aware) == oid
        assert oid.generation_time == naive.replace(tzinfo=_UTC)
        # Sub-second parts are dropped.
        assert ObjectId.from_datetime(naive.replace(microsecond=999999)) == oid

    @given(
        st.datetimes(
            min_value=datetime.datetime(1970, 1, 1), max_value=datetime.datetime(2106, 2, 7)
        )
    )
    @settings(max_examples=50, **_METHOD_SETTINGS)
    def test_from_datetime_matches_pymongo(self, value: datetime.datetime) -> None:
        assert ObjectId.from_datetime(value).binary == pybson.ObjectId.from_datetime(value).binary
        assert ObjectId.from_datetime(value).generation_time == value.replace(
            microsecond=0, tzinfo=_UTC
        )

    def test_ordering(self) -> None:
        low = ObjectId("000000000000000000000000")
        mid = ObjectId("00000000000000000000ffff")
        high = ObjectId("ffffffffffffffffffffffff")
        assert low < mid < high
        assert high > mid > low
        assert low <= low and low >= low
        assert sorted([high, low, mid]) == [low, mid, high]
        assert low != mid
        assert low != str(low)
        with pytest.raises(TypeError):
            _ = low < "000000000000000000000001"  # type: ignore[operator]
        # Later-generated ids sort later (same process, same second or later).
        first, second = ObjectId(), ObjectId()
        assert first < second or first.binary[9:] == b"\xff\xff\xff"

    def test_hash(self) -> None:
        text = "5f43a1b2c3d4e5f6a7b8c9d0"
        assert hash(ObjectId(text)) == hash(ObjectId(text))
        assert {ObjectId(text): 1}[ObjectId(text)] == 1
        assert len({ObjectId(text), ObjectId(text), ObjectId()}) == 2

    def test_pickle_and_copy(self) -> None:
        oid = ObjectId()
        for protocol in _PROTOCOLS:
            back = pickle.loads(pickle.dumps(oid, protocol))
            assert back == oid and type(back) is ObjectId
        assert copy.copy(oid) == oid
        assert copy.deepcopy(oid) == oid

    def test_setstate_accepts_pymongo_pickle_states(self) -> None:
        raw = b"\x01" * 12
        for state in (raw, {"_ObjectId__id": raw}):
            oid = ObjectId.__new__(ObjectId)
            oid.__setstate__(state)
            assert oid.binary == raw


# ----------------------------------------------------------------------- Timestamp


class TestTimestamp:
    def test_fields(self) -> None:
        ts = Timestamp(1600000000, 7)
        assert (ts.time, ts.inc) == (1600000000, 7)
        assert repr(ts) == "Timestamp(1600000000, 7)"
        assert ts.as_datetime() == datetime.datetime(2020, 9, 13, 12, 26, 40, tzinfo=_UTC)

    def test_bounds(self) -> None:
        assert Timestamp(0, 0).time == 0
        assert Timestamp(2**32 - 1, 2**32 - 1).inc == 2**32 - 1

    @pytest.mark.parametrize(("time_", "inc"), [(-1, 0), (0, -1), (2**32, 0), (0, 2**32)])
    def test_out_of_range_raises_value_error(self, time_: int, inc: int) -> None:
        with pytest.raises(ValueError):
            Timestamp(time_, inc)

    @pytest.mark.parametrize(
        ("time_", "inc"), [(1.5, 0), (0, 1.5), ("1", 0), (0, "1"), (True, 0), (0, False), (None, 0)]
    )
    def test_wrong_types_raise_type_error(self, time_: Any, inc: Any) -> None:
        with pytest.raises(TypeError):
            Timestamp(time_, inc)

    def test_from_datetime(self) -> None:
        naive = datetime.datetime(2020, 9, 13, 12, 26, 40)
        assert Timestamp(naive, 1).time == 1600000000
        aware = datetime.datetime(2020, 9, 13, 14, 26, 40, tzinfo=FixedOffset(120, "x"))
        assert Timestamp(aware, 1).time == 1600000000
        assert Timestamp(naive, 1).time == pybson.Timestamp(naive, 1).time

    def test_ordering_and_hash(self) -> None:
        values = [Timestamp(2, 0), Timestamp(1, 5), Timestamp(1, 4)]
        assert sorted(values) == [Timestamp(1, 4), Timestamp(1, 5), Timestamp(2, 0)]
        assert Timestamp(1, 5) <= Timestamp(1, 5) < Timestamp(2, 0)
        assert Timestamp(2, 0) >= Timestamp(1, 9) > Timestamp(1, 8)
        assert Timestamp(1, 1) != Timestamp(1, 2)
        assert Timestamp(1, 1) != (1, 1)
        assert len({Timestamp(1, 1), Timestamp(1, 1)}) == 1
        with pytest.raises(TypeError):
            _ = Timestamp(1, 1) < 5  # type: ignore[operator]


# -------------------------------------------------------------------------- Binary


class TestBinary:
    @pytest.mark.parametrize("subtype", [0, 1, 2, 5, 9, 128, 255])
    def test_subtypes(self, subtype: int) -> None:
        value = Binary(b"data", subtype)
        assert value.subtype == subtype
        assert bytes(value) == b"data"
        assert repr(Binary(b"data", 128)) == "Binary(b'data', 128)"

    @pytest.mark.parametrize("subtype", [-1, 256, 1000])
    def test_subtype_out_of_range(self, subtype: int) -> None:
        with pytest.raises(ValueError):
            Binary(b"x", subtype)

    @pytest.mark.parametrize("subtype", ["4", 4.0, None, True])
    def test_subtype_wrong_type(self, subtype: Any) -> None:
        with pytest.raises(TypeError):
            Binary(b"x", subtype)

    @pytest.mark.parametrize("data", ["text", 5, None, [1, 2]])
    def test_data_wrong_type(self, data: Any) -> None:
        with pytest.raises(TypeError):
            Binary(data)

    def test_bytes_like_data(self) -> None:
        assert Binary(bytearray(b"ab"), 1) == Binary(b"ab", 1)
        assert Binary(memoryview(b"ab"), 1) == Binary(b"ab", 1)

    def test_equality(self) -> None:
        assert Binary(b"x", 0) == Binary(b"x", 0)
        assert Binary(b"x", 0) == Binary(b"x")
        assert Binary(b"x", 1) != Binary(b"x", 2)
        assert Binary(b"x", 1) != Binary(b"y", 1)
        # Unlike a plain bytes subclass, never equal to bytes (as in PyMongo).
        assert Binary(b"x", 0) != b"x"
        # The reflected comparison (bytes on the left) asks Binary first: also False.
        assert operator.eq(b"x", Binary(b"x", 0)) is False
        assert Binary(b"x", 5) != "x"
        assert hash(Binary(b"x", 1)) == hash(Binary(b"x", 1))
        assert len({Binary(b"x", 1), Binary(b"x", 1), Binary(b"x", 2)}) == 2

    def test_equality_matches_pymongo(self) -> None:
        pairs = [(b"x", 0, b"x", 0), (b"x", 1, b"x", 2), (b"x", 0, b"y", 0)]
        for data1, sub1, data2, sub2 in pairs:
            ours = Binary(data1, sub1) == Binary(data2, sub2)
            theirs = pybson.Binary(data1, sub1) == pybson.Binary(data2, sub2)
            assert ours == theirs
        assert (Binary(b"x") == b"x") == (pybson.Binary(b"x") == b"x")

    @pytest.mark.parametrize("representation", _ALL_REPRESENTATIONS)
    def test_from_uuid_matches_pymongo(self, representation: int) -> None:
        try:
            theirs = pybson.Binary.from_uuid(_U, representation)
        except ValueError:
            with pytest.raises(ValueError):
                Binary.from_uuid(_U, representation)
            return
        ours = Binary.from_uuid(_U, representation)
        assert bytes(ours) == bytes(theirs)
        assert ours.subtype == theirs.subtype

    @pytest.mark.parametrize("representation", _ALL_REPRESENTATIONS)
    @pytest.mark.parametrize("subtype", [3, 4, 0, 5])
    def test_as_uuid_matches_pymongo(self, representation: int, subtype: int) -> None:
        payload = bytes(range(16))
        try:
            theirs = pybson.Binary(payload, subtype).as_uuid(representation)
        except ValueError:
            with pytest.raises(ValueError):
                Binary(payload, subtype).as_uuid(representation)
            return
        assert Binary(payload, subtype).as_uuid(representation) == theirs

    @given(st.uuids(), st.sampled_from([STANDARD, PYTHON_LEGACY, JAVA_LEGACY, CSHARP_LEGACY]))
    @settings(max_examples=50, **_METHOD_SETTINGS)
    def test_uuid_round_trip(self, value: uuid.UUID, representation: int) -> None:
        binary = Binary.from_uuid(value, representation)
        assert binary.subtype in ALL_UUID_SUBTYPES
        assert binary.subtype == (UUID_SUBTYPE if representation == STANDARD else OLD_UUID_SUBTYPE)
        assert binary.as_uuid(representation) == value
        assert bytes(binary) == bytes(pybson.Binary.from_uuid(value, representation))

    def test_uuid_errors(self) -> None:
        with pytest.raises(TypeError):
            Binary.from_uuid("00112233-4455-6677-8899-aabbccddeeff")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            Binary.from_uuid(_U, 7)
        with pytest.raises(ValueError):
            Binary(b"abc", 4).as_uuid(STANDARD)
        with pytest.raises(ValueError):
            Binary(_U.bytes, 4).as_uuid(99)
        assert Binary.from_uuid(_U) == Binary(_U.bytes, 4)

    def test_vector_round_trips(self) -> None:
        cases: list[tuple[list[Any], BinaryVectorDtype, int]] = [
            ([1, -2, 127, -128, 0], BinaryVectorDtype.INT8, 0),
            ([1.5, -0.25, 2.0**100, float("inf")], BinaryVectorDtype.FLOAT32, 0),
            ([0b10101010, 0xFF, 0b11110000], BinaryVectorDtype.PACKED_BIT, 4),
            ([], BinaryVectorDtype.INT8, 0),
            ([], BinaryVectorDtype.FLOAT32, 0),
            ([], BinaryVectorDtype.PACKED_BIT, 0),
        ]
        for data, dtype, padding in cases:
            binary = Binary.from_vector(data, dtype, padding)
            assert binary.subtype == 9
            vector = binary.as_vector()
            assert vector == BinaryVector(data, dtype, padding)
            assert len(vector) == len(data)
            assert Binary.from_vector(vector) == binary
            if PyBinaryVectorDtype is not None:
                theirs = pybson.Binary.from_vector(data, PyBinaryVectorDtype(dtype.value), padding)
                assert bytes(binary) == bytes(theirs)
            assert decode(encode({"v": binary})) == {"v": binary}
            assert "vector" in repr(binary)

    @given(st.lists(st.floats(width=32), max_size=8))
    @settings(max_examples=50, **_METHOD_SETTINGS)
    def test_float32_vectors_match_pymongo(self, data: list[float]) -> None:
        binary = Binary.from_vector(data, BinaryVectorDtype.FLOAT32)
        if PyBinaryVectorDtype is not None:
            theirs = pybson.Binary.from_vector(data, PyBinaryVectorDtype.FLOAT32)
            assert bytes(binary) == bytes(theirs)
        back = binary.as_vector().data
        assert [struct.pack("<f", x) for x in back] == [struct.pack("<f", x) for x in data]

    @pytest.mark.parametrize(
        ("args", "error"),
        [
            (([1], BinaryVectorDtype.PACKED_BIT, 8), ValueError),
            (([1], BinaryVectorDtype.PACKED_BIT, -1), ValueError),
            (([], BinaryVectorDtype.PACKED_BIT, 1), ValueError),
            (([1], BinaryVectorDtype.PACKED_BIT, 1), ValueError),  # padding bits not zero
            (([1.0], BinaryVectorDtype.FLOAT32, 1), ValueError),
            (([1], BinaryVectorDtype.INT8, 2), ValueError),
            (([1], None, 0), ValueError),
            (([1], "int8", 0), TypeError),
            (([200], BinaryVectorDtype.INT8, 0), struct.error),
            (([300], BinaryVectorDtype.PACKED_BIT, 0), struct.error),
        ],
    )
    def test_from_vector_validation(self, args: tuple[Any, ...], error: type[Exception]) -> None:
        with pytest.raises(error):
            Binary.from_vector(*args)

    def test_from_vector_refuses_dtype_beside_a_vector(self) -> None:
        vector = BinaryVector([1], BinaryVectorDtype.INT8)
        with pytest.raises(ValueError):
            Binary.from_vector(vector, BinaryVectorDtype.INT8)

    @pytest.mark.parametrize(
        "payload",
        [
            b"",
            b"\x03",
            b"\x03\x01\x05",  # padding on INT8
            b"\x27\x00\x00\x00",  # FLOAT32 not a multiple of 4
            b"\x10\x08\x01",  # padding 8
            b"\x10\x01",  # padding without data
            b"\x99\x00",  # unknown dtype
        ],
    )
    def test_as_vector_validation(self, payload: bytes) -> None:
        with pytest.raises(ValueError):
            Binary(payload, 9).as_vector()
        # repr never fails, even on a corrupt vector.
        assert repr(Binary(payload, 9)).startswith("Binary(")

    def test_as_vector_needs_subtype_9(self) -> None:
        with pytest.raises(ValueError):
            Binary(b"\x03\x00\x01", 0).as_vector()

    def test_pickle(self) -> None:
        for value in (Binary(b"abc", 128), Binary(b"", 0), Binary.from_uuid(_U)):
            for protocol in _PROTOCOLS:
                back = pickle.loads(pickle.dumps(value, protocol))
                assert back == value and back.subtype == value.subtype
                assert type(back) is Binary


# --------------------------------------------------------------------------- Regex


class TestRegex:
    def test_flags_from_string_and_int(self) -> None:
        assert Regex("a", "i").flags == re.IGNORECASE
        assert Regex("a", "imsx").flags == re.I | re.M | re.S | re.X
        assert Regex("a", "lu").flags == re.LOCALE | re.UNICODE
        assert Regex("a", re.M).flags == re.M
        assert Regex("a").flags == 0
        assert Regex("a", "ix") == Regex("a", "xi")
        assert repr(Regex("a", "xi")) == "Regex('a', 'ix')"

    def test_flags_match_pymongo(self) -> None:
        for letters in ("", "i", "l", "m", "s", "u", "x", "imsux", "ilmsux"):
            assert Regex("a", letters).flags == pybson.Regex("a", letters).flags

    def test_from_native(self) -> None:
        pattern = re.compile("^a.*b$", re.IGNORECASE | re.MULTILINE)
        regex = Regex.from_native(pattern)
        assert regex.pattern == "^a.*b$"
        assert regex.flags == pattern.flags
        assert regex.flags & re.UNICODE  # str patterns are Unicode in Python 3
        assert regex == Regex("^a.*b$", "imu")
        with pytest.raises(TypeError):
            Regex.from_native("^a")  # type: ignore[arg-type]

    def test_try_compile(self) -> None:
        compiled = Regex("^a+$", "i").try_compile()
        assert compiled.match("AAA")
        assert compiled.flags & re.IGNORECASE
        with pytest.raises(re.error):
            Regex("(?<!", "").try_compile()
        assert Regex(b"^a", 0).try_compile().match(b"ab")

    def test_validation(self) -> None:
        with pytest.raises(TypeError):
            Regex(5)  # type: ignore[type-var]
        with pytest.raises(TypeError):
            Regex("a", 1.5)  # type: ignore[arg-type]

    def test_equality_and_hash(self) -> None:
        assert Regex("a", "i") == Regex("a", "i")
        assert Regex("a", "i") != Regex("a", "m")
        assert Regex("a", "i") != Regex("b", "i")
        assert Regex("a") != "a"
        with pytest.raises(TypeError):
            hash(Regex("a"))

    def test_round_trip_and_pickle(self) -> None:
        for value in (Regex("a.b", "imsux"), Regex("", 0)):
            assert decode(encode({"r": value})) == {"r": value}
            for protocol in _PROTOCOLS:
                assert pickle.loads(pickle.dumps(value, protocol)) == value
        assert decode(encode({"r": re.compile("x", re.I)})) == {"r": Regex("x", "iu")}


# ---------------------------------------------------------------------------- Code


class TestCode:
    def test_plain(self) -> None:
        code = Code("return 1")
        assert code == Code("return 1")
        assert code.scope is None
        assert str(code) == "return 1"
        assert isinstance(code, str)
        assert Code(b"return 1") == code
        assert repr(code) == "Code('return 1', None)"

    def test_scope_merge(self) -> None:
        base = Code("f", {"a": 1})
        merged = Code(base, {"b": 2}, c=3)
        assert merged.scope == {"a": 1, "b": 2, "c": 3}
        assert base.scope == {"a": 1}  # not changed by the merge
        assert Code(base, {"a": 9}).scope == {"a": 9}
        assert Code("f", c=1).scope == {"c": 1}
        assert Code(base).scope == {"a": 1}
        theirs = pybson.Code(pybson.Code("f", {"a": 1}), {"b": 2}, c=3)
        assert merged.scope == theirs.scope and str(merged) == str(theirs)

    def test_validation(self) -> None:
        with pytest.raises(TypeError):
            Code(5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Code("f", [("a", 1)])  # type: ignore[arg-type]

    def test_equality(self) -> None:
        assert Code("f", {"a": 1}) == Code("f", {"a": 1})
        assert Code("f", {"a": 1}) != Code("f", {"a": 2})
        assert Code("f", {}) != Code("f")
        assert Code("f") != "f"  # as in PyMongo
        assert (Code("f") == "f") == (pybson.Code("f") == "f")
        with pytest.raises(TypeError):
            hash(Code("f"))

    def test_round_trip_and_pickle(self) -> None:
        for value in (Code("f"), Code("g", {"x": [1, {"y": 2}]}), Code("h", {})):
            assert decode(encode({"c": value})) == {"c": value}
            for protocol in _PROTOCOLS:
                back = pickle.loads(pickle.dumps(value, protocol))
                assert back == value and back.scope == value.scope


# --------------------------------------------------------------------------- DBRef


class TestDBRef:
    def test_as_doc(self) -> None:
        assert DBRef("users", 5).as_doc() == {"$ref": "users", "$id": 5}
        assert list(DBRef("users", 5, "app", x=1).as_doc()) == ["$ref", "$id", "$db", "x"]
        ref = DBRef("users", 5, None, {"a": 1}, b=2)
        assert ref.as_doc() == {"$ref": "users", "$id": 5, "a": 1, "b": 2}
        assert ref.as_doc() == pybson.DBRef("users", 5, None, {"a": 1}, b=2).as_doc()

    def test_attributes(self) -> None:
        ref = DBRef("users", 5, "app", extra="yes")
        assert (ref.collection, ref.id, ref.database) == ("users", 5, "app")
        assert ref.extra == "yes"
        with pytest.raises(AttributeError):
            _ = ref.missing
        assert repr(ref) == "DBRef('users', 5, 'app', extra='yes')"

    def test_validation(self) -> None:
        with pytest.raises(TypeError):
            DBRef(5, 1)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            DBRef("c", 1, 5)  # type: ignore[arg-type]

    def test_equality_and_hash(self) -> None:
        assert DBRef("c", 1) == DBRef("c", 1)
        assert DBRef("c", 1) != DBRef("c", 2)
        assert DBRef("c", 1, "d") != DBRef("c", 1)
        assert DBRef("c", 1, x=1) != DBRef("c", 1)
        assert DBRef("c", 1, x=1) == DBRef("c", 1, None, {"x": 1})
        assert DBRef("c", 1) != {"$ref": "c", "$id": 1}
        assert hash(DBRef("c", 1, "d", x=1)) == hash(DBRef("c", 1, "d", x=1))

    def test_round_trip(self) -> None:
        ref = DBRef("c", ObjectId(), "d", {"extra": [1, 2]})
        assert decode(encode({"r": ref})) == {"r": ref}
        # A top-level document is never turned into a DBRef.
        assert decode(encode(ref.as_doc())) == ref.as_doc()
        # A $db that is not a string keeps the document a document (as in PyMongo).
        doc = {"r": {"$ref": "c", "$id": 1, "$db": 5}}
        assert decode(encode(doc)) == doc
        # The old DBPointer type (0x0C) decodes as a DBRef.
        oid = ObjectId()
        body = b"\x0cp\x00" + struct.pack("<i", 2) + b"c\x00" + oid.binary
        raw = struct.pack("<i", len(body) + 5) + body + b"\x00"
        assert decode(raw) == {"p": DBRef("c", oid)}

    def test_pickle(self) -> None:
        ref = DBRef("c", 1, "d", x={"y": 2})
        for protocol in _PROTOCOLS:
            back = pickle.loads(pickle.dumps(ref, protocol))
            assert back == ref and back.x == {"y": 2}


# ----------------------------------------------------------------------------- SON


class TestSON:
    def test_order_and_repr(self) -> None:
        son = SON([("b", 1), ("a", 2)])
        assert list(son) == ["b", "a"]
        assert repr(son) == "SON([('b', 1), ('a', 2)])"
        assert son == {"a": 2, "b": 1}
        assert isinstance(son, dict)

    def test_to_dict(self) -> None:
        son = SON([("x", SON([("y", [SON([("z", 1)])])]))])
        plain = son.to_dict()
        assert plain == {"x": {"y": [{"z": 1}]}}
        assert type(plain) is dict
        assert type(plain["x"]) is dict
        assert type(plain["x"]["y"][0]) is dict

    def test_copies(self) -> None:
        son = SON([("a", [1, 2])])
        shallow = son.copy()
        assert type(shallow) is SON and shallow == son
        assert shallow["a"] is son["a"]
        deep = copy.deepcopy(son)
        assert type(deep) is SON and deep == son
        assert deep["a"] is not son["a"]

    def test_codec(self) -> None:
        son = SON([("z", 1), ("a", SON([("y", 2), ("b", 3)]))])
        raw = encode(son)
        assert raw == pybson.encode(pybson.SON([("z", 1), ("a", pybson.SON([("y", 2), ("b", 3)]))]))
        back = decode(raw, CodecOptions(document_class=SON))
        assert type(back) is SON and type(back["a"]) is SON
        assert list(back["a"]) == ["y", "b"]

    def test_pickle(self) -> None:
        son = SON([("b", 1), ("a", 2)])
        for protocol in _PROTOCOLS:
            back = pickle.loads(pickle.dumps(son, protocol))
            assert type(back) is SON and list(back.items()) == [("b", 1), ("a", 2)]


# ---------------------------------------------------------------------- DatetimeMS


class TestDatetimeMS:
    def test_range(self) -> None:
        assert int(DatetimeMS(2**63 - 1)) == 2**63 - 1
        assert int(DatetimeMS(-(2**63))) == -(2**63)
        with pytest.raises(OverflowError):
            DatetimeMS(2**63)
        with pytest.raises(OverflowError):
            DatetimeMS(-(2**63) - 1)

    @pytest.mark.parametrize("value", [1.5, "5", None, True])
    def test_wrong_types(self, value: Any) -> None:
        with pytest.raises(TypeError):
            DatetimeMS(value)

    def test_from_datetime(self) -> None:
        assert int(DatetimeMS(datetime.datetime(1970, 1, 1, 0, 0, 1, 2999))) == 1002
        aware = datetime.datetime(1970, 1, 1, 1, tzinfo=FixedOffset(60, "x"))
        assert int(DatetimeMS(aware)) == 0
        value = datetime.datetime(2000, 2, 29, 12, 0, 0, 123000)
        assert int(DatetimeMS(value)) == int(pybson.DatetimeMS(value))

    def test_as_datetime(self) -> None:
        # Naive UTC by default, as PyMongo's default options give.
        default = DatetimeMS(0).as_datetime()
        assert default == datetime.datetime(1970, 1, 1) and default.tzinfo is None
        assert DatetimeMS(1500).as_datetime(CodecOptions()) == datetime.datetime(
            1970, 1, 1, 0, 0, 1, 500000
        )
        east = FixedOffset(60, "east")
        local = DatetimeMS(0).as_datetime(CodecOptions(tz_aware=True, tzinfo=east))
        assert local.utcoffset() == datetime.timedelta(hours=1) and local.hour == 1
        for millis in (0, -1, 10**12, -(10**12), 253402300799999, -62135596800000):
            opts = CodecOptions()
            assert DatetimeMS(millis).as_datetime(opts) == pybson.DatetimeMS(millis).as_datetime(
                pybson.CodecOptions()
            )

    def test_out_of_range_and_clamp(self) -> None:
        with pytest.raises(OverflowError):
            DatetimeMS(2**62).as_datetime()
        with pytest.raises(OverflowError):
            DatetimeMS(253402300800000).as_datetime()
        clamp = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_CLAMP)
        assert DatetimeMS(2**62).as_datetime(clamp) == datetime.datetime(
            9999, 12, 31, 23, 59, 59, 999000
        )
        assert DatetimeMS(-(2**62)).as_datetime(clamp) == datetime.datetime(1, 1, 1)
        aware_clamp = clamp.with_options(tz_aware=True)
        assert DatetimeMS(-(2**63)).as_datetime(aware_clamp) == datetime.datetime(
            1, 1, 1, tzinfo=_UTC
        )
        for millis in (2**62, -(2**62)):
            theirs = pybson.DatetimeMS(millis).as_datetime(
                pybson.CodecOptions(datetime_conversion=pybson.DatetimeConversion.DATETIME_CLAMP)
            )
            assert DatetimeMS(millis).as_datetime(clamp) == theirs

    def test_decoding_conversions(self) -> None:
        raw = struct.pack("<i", 16) + b"\x09d\x00" + struct.pack("<q", 2**62) + b"\x00"
        with pytest.raises(InvalidBSON):
            decode(raw)
        for conversion in (DatetimeConversion.DATETIME_AUTO, DatetimeConversion.DATETIME_MS):
            assert decode(raw, CodecOptions(datetime_conversion=conversion)) == {
                "d": DatetimeMS(2**62)
            }
        clamped = decode(raw, CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_CLAMP))
        assert clamped == {"d": datetime.datetime(9999, 12, 31, 23, 59, 59, 999000)}
        ms = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)
        assert decode(encode({"d": datetime.datetime(2000, 1, 1)}), ms) == {
            "d": DatetimeMS(946684800000)
        }
        # Encoding a DatetimeMS writes the raw count back.
        assert encode({"d": DatetimeMS(2**62)}) == raw

    def test_comparisons_hash_repr(self) -> None:
        assert DatetimeMS(1) < DatetimeMS(2) <= DatetimeMS(2)
        assert DatetimeMS(3) > DatetimeMS(2) >= DatetimeMS(2)
        assert DatetimeMS(2) == DatetimeMS(2) and DatetimeMS(2) != DatetimeMS(3)
        assert DatetimeMS(2) < 3 and DatetimeMS(2) > 1
        assert hash(DatetimeMS(2)) == hash(DatetimeMS(2))
        assert repr(DatetimeMS(2**62)) == "DatetimeMS(4611686018427387904)"
        with pytest.raises(TypeError):
            _ = DatetimeMS(1) < "x"  # type: ignore[operator]

    def test_pickle(self) -> None:
        for protocol in _PROTOCOLS:
            assert pickle.loads(pickle.dumps(DatetimeMS(-5), protocol)) == DatetimeMS(-5)


# -------------------------------------------------------------------- CodecOptions


class TestCodecOptions:
    def test_defaults(self) -> None:
        opts = CodecOptions()
        assert opts.document_class is dict
        assert opts.tz_aware is False
        assert opts.uuid_representation == UuidRepresentation.UNSPECIFIED
        assert opts.unicode_decode_error_handler == "strict"
        assert opts.tzinfo is None
        assert opts.datetime_conversion == DatetimeConversion.DATETIME
        assert opts == DEFAULT_CODEC_OPTIONS
        assert hash(opts) == hash(DEFAULT_CODEC_OPTIONS)
        assert CodecOptions(uuid_representation=None).uuid_representation == 0
        assert CodecOptions(datetime_conversion=None).datetime_conversion == 1
        assert CodecOptions(datetime_conversion=4).datetime_conversion is (
            DatetimeConversion.DATETIME_AUTO
        )

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"document_class": list}, TypeError),
            ({"document_class": "dict"}, TypeError),
            ({"tz_aware": 1}, TypeError),
            ({"tz_aware": "yes"}, TypeError),
            ({"uuid_representation": 2}, ValueError),
            ({"uuid_representation": "standard"}, ValueError),
            ({"unicode_decode_error_handler": 5}, ValueError),
            ({"tzinfo": utc}, ValueError),  # tzinfo without tz_aware
            ({"tz_aware": True, "tzinfo": "UTC"}, TypeError),
            ({"type_registry": {}}, TypeError),
            ({"datetime_conversion": 9}, ValueError),
            ({"datetime_conversion": "DATETIME"}, ValueError),
        ],
    )
    def test_validation(self, kwargs: dict[str, Any], error: type[Exception]) -> None:
        with pytest.raises(error):
            CodecOptions(**kwargs)

    def test_with_options(self) -> None:
        base = CodecOptions(tz_aware=True, tzinfo=utc)
        changed = base.with_options(uuid_representation=STANDARD, document_class=SON)
        assert changed.uuid_representation == STANDARD and changed.document_class is SON
        assert changed.tz_aware is True and changed.tzinfo is utc
        assert base.uuid_representation == 0 and base.document_class is dict
        assert base.with_options() == base
        with pytest.raises(TypeError):
            base.with_options(bogus=1)
        with pytest.raises(ValueError):
            base.with_options(tz_aware=False)  # leaves tzinfo without tz_aware

    def test_immutable(self) -> None:
        opts = CodecOptions()
        with pytest.raises(AttributeError):
            opts.tz_aware = True  # type: ignore[misc]
        with pytest.raises(AttributeError):
            opts.new_field = 1  # type: ignore[attr-defined]
        assert opts.tz_aware is False

    def test_equality(self) -> None:
        assert CodecOptions(tz_aware=True) == CodecOptions(tz_aware=True)
        assert CodecOptions(tz_aware=True) != CodecOptions()
        assert CodecOptions(document_class=SON) != CodecOptions()
        assert CodecOptions() != "CodecOptions()"
        assert len({CodecOptions(), CodecOptions(), CodecOptions(tz_aware=True)}) == 2
        fields = list(CodecOptions())
        assert fields[0] is dict and len(fields) == 7
        assert "tz_aware=False" in repr(CodecOptions())

    def test_pickle(self) -> None:
        opts = CodecOptions(
            document_class=SON,
            tz_aware=True,
            tzinfo=utc,
            uuid_representation=JAVA_LEGACY,
            datetime_conversion=DatetimeConversion.DATETIME_AUTO,
        )
        for protocol in _PROTOCOLS:
            assert pickle.loads(pickle.dumps(opts, protocol)) == opts

    def test_unicode_decode_error_handler(self) -> None:
        body = b"\x02s\x00" + struct.pack("<i", 3) + b"a\xff\x00"
        raw = struct.pack("<i", len(body) + 5) + body + b"\x00"
        with pytest.raises(InvalidBSON):
            decode(raw)
        assert decode(raw, CodecOptions(unicode_decode_error_handler="replace")) == {"s": "a\ufffd"}
        assert decode(raw, CodecOptions(unicode_decode_error_handler="ignore")) == {"s": "a"}

    def test_tz_aware_decoding(self) -> None:
        value = datetime.datetime(2020, 1, 2, 3, 4, 5, 6000)
        raw = encode({"d": value})
        assert decode(raw) == {"d": value}
        aware = decode(raw, CodecOptions(tz_aware=True))["d"]
        assert aware == value.replace(tzinfo=_UTC) and aware.tzinfo is not None
        east = FixedOffset(330, "x")
        local = decode(raw, CodecOptions(tz_aware=True, tzinfo=east))["d"]
        assert local == value.replace(tzinfo=_UTC)
        assert local.utcoffset() == datetime.timedelta(minutes=330)


# -------------------------------------------------------------------- TypeRegistry


class _DecimalCodec(TypeCodec):
    python_type = decimal.Decimal
    bson_type = Decimal128

    def transform_python(self, value: Any) -> Any:
        return Decimal128(value)

    def transform_bson(self, value: Any) -> Any:
        return value.to_decimal()


class _Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Point) and (self.x, self.y) == (other.x, other.y)

    __hash__ = None  # type: ignore[assignment]


class _PointEncoder(TypeEncoder):
    python_type = _Point

    def transform_python(self, value: Any) -> Any:
        return {"x": value.x, "y": value.y}


class _StrDecoder(TypeDecoder):
    bson_type = str

    def transform_bson(self, value: Any) -> Any:
        return value.upper()


class TestTypeRegistry:
    def test_codec_round_trip(self) -> None:
        opts = CodecOptions(type_registry=TypeRegistry([_DecimalCodec()]))
        doc = {"x": decimal.Decimal("1.50"), "nested": {"y": [decimal.Decimal("-0")]}}
        raw = encode(doc, codec_options=opts)
        assert decode(raw) == {
            "x": Decimal128("1.50"),
            "nested": {"y": [Decimal128("-0")]},
        }
        back = decode(raw, opts)
        assert back == doc
        assert str(back["nested"]["y"][0]) == "-0"
        with pytest.raises(InvalidDocument):
            encode(doc)  # no codec: Decimal is not a BSON type

    def test_encoder_only_and_decoder_only(self) -> None:
        registry = TypeRegistry([_PointEncoder(), _StrDecoder()])
        opts = CodecOptions(type_registry=registry)
        raw = encode({"p": _Point(1, 2), "s": "abc"}, codec_options=opts)
        assert decode(raw) == {"p": {"x": 1, "y": 2}, "s": "abc"}
        assert decode(raw, opts) == {"p": {"x": 1, "y": 2}, "s": "ABC"}
        assert decode(encode({"l": ["a", "b"]}), opts) == {"l": ["A", "B"]}

    def test_fallback_encoder(self) -> None:
        def fallback(value: Any) -> Any:
            if isinstance(value, set):
                return sorted(value)
            return value  # unchanged: the encoder must then refuse it

        opts = CodecOptions(type_registry=TypeRegistry(fallback_encoder=fallback))
        assert decode(encode({"s": {3, 1, 2}}, codec_options=opts)) == {"s": [1, 2, 3]}
        with pytest.raises(InvalidDocument):
            encode({"o": object()}, codec_options=opts)
        assert TypeRegistry(fallback_encoder=fallback).fallback_encoder is fallback

    def test_fallback_after_codec(self) -> None:
        registry = TypeRegistry([_PointEncoder()], fallback_encoder=lambda v: str(v))
        opts = CodecOptions(type_registry=registry)
        doc = {"p": _Point(1, 2), "c": complex(1, 2)}
        assert decode(encode(doc, codec_options=opts)) == {"p": {"x": 1, "y": 2}, "c": "(1+2j)"}

    @pytest.mark.parametrize(
        "kind",
        [int, str, dict, list, bytes, float, bool, ObjectId, Binary, Int64, datetime.datetime],
    )
    def test_refuses_encoders_for_builtin_types(self, kind: type) -> None:
        class Encoder(TypeEncoder):
            python_type = kind

            def transform_python(self, value: Any) -> Any:
                return value

        with pytest.raises(TypeError):
            TypeRegistry([Encoder()])

    def test_validation(self) -> None:
        with pytest.raises(TypeError):
            TypeRegistry([object()])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            TypeRegistry(fallback_encoder=5)  # type: ignore[arg-type]

        class NotAType(TypeEncoder):
            python_type = "int"

            def transform_python(self, value: Any) -> Any:
                return value

        with pytest.raises(TypeError):
            TypeRegistry([NotAType()])

    def test_equality(self) -> None:
        codec = _DecimalCodec()
        assert TypeRegistry([codec]) == TypeRegistry([codec])
        assert TypeRegistry() == TypeRegistry()
        assert TypeRegistry([codec]) != TypeRegistry()
        assert CodecOptions(type_registry=TypeRegistry([codec])) != CodecOptions()


# ----------------------------------------------------------------- RawBSONDocument


def _raw(body: bytes) -> bytes:
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


class TestRawBSONDocument:
    def test_lazy_decoding(self) -> None:
        # A bool byte of 2 is invalid: the envelope is fine, the value is not.
        data = _raw(b"\x10a\x00\x01\x00\x00\x00" + b"\x08b\x00\x02")
        doc = RawBSONDocument(data)
        assert doc.raw == data
        with pytest.raises(InvalidBSON):
            doc["a"]
        with pytest.raises(InvalidBSON):
            len(doc)
        lazy = decode(data, CodecOptions(document_class=RawBSONDocument))
        assert isinstance(lazy, RawBSONDocument)
        with pytest.raises(InvalidBSON):
            list(lazy)

    def test_nested_lazy_decoding(self) -> None:
        inner = _raw(b"\x08b\x00\x07")
        data = _raw(b"\x10a\x00\x01\x00\x00\x00" + b"\x03sub\x00" + inner)
        doc = RawBSONDocument(data)
        assert doc["a"] == 1
        sub = doc["sub"]
        assert isinstance(sub, RawBSONDocument) and sub.raw == inner
        with pytest.raises(InvalidBSON):
            sub["b"]

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\x05\x00\x00",
            _raw(b"")[:-1] + b"\x01",
            _raw(b"") + b"\x00",
            b"\x06\x00\x00\x00\x00",
        ],
    )
    def test_bad_envelope_fails_at_construction(self, data: bytes) -> None:
        with pytest.raises(InvalidBSON):
            RawBSONDocument(data)

    def test_mapping(self) -> None:
        data = encode({"_id": 1, "sub": {"a": [1, {"b": 2}]}, "s": "x"})
        doc = RawBSONDocument(data)
        assert list(doc) == ["_id", "sub", "s"]
        assert len(doc) == 3
        assert "s" in doc and "missing" not in doc
        assert doc.get("missing") is None
        assert isinstance(doc["sub"], RawBSONDocument)
        assert isinstance(doc["sub"]["a"][1], RawBSONDocument)
        assert doc["sub"]["a"][1]["b"] == 2
        assert dict(doc.items())["s"] == "x"
        assert RawBSONDocument(bytearray(data)).raw == data
        assert "RawBSONDocument" in repr(doc)

    def test_equality_and_hash(self) -> None:
        data = encode({"a": 1})
        assert RawBSONDocument(data) == RawBSONDocument(data)
        assert RawBSONDocument(data) != RawBSONDocument(encode({"a": 2}))
        assert RawBSONDocument(data) != {"a": 1}
        with pytest.raises(TypeError):
            hash(RawBSONDocument(data))

    def test_codec_options(self) -> None:
        data = encode({"u": Binary(_U.bytes, 4)})
        standard = CodecOptions(document_class=RawBSONDocument, uuid_representation=STANDARD)
        assert RawBSONDocument(data, standard)["u"] == _U
        assert RawBSONDocument(data)["u"] == Binary(_U.bytes, 4)
        with pytest.raises(TypeError):
            RawBSONDocument(data, CodecOptions())

    def test_encode(self) -> None:
        data = encode({"_id": 1, "x": {"y": 2}})
        doc = RawBSONDocument(data)
        assert encode(doc) == data
        assert decode(encode({"wrapped": doc})) == {"wrapped": {"_id": 1, "x": {"y": 2}}}

    def test_pickle(self) -> None:
        data = encode({"a": [1, 2], "b": {"c": "d"}})
        doc = RawBSONDocument(data)
        _ = doc["a"]  # inflated state must not matter
        for protocol in _PROTOCOLS:
            back = pickle.loads(pickle.dumps(doc, protocol))
            assert isinstance(back, RawBSONDocument) and back.raw == data
            assert back["b"]["c"] == "d"


# ------------------------------------------------------- decode_* helpers and BSON


class TestDecodeHelpers:
    docs = ({"a": 1}, {"b": [1, 2]}, {"c": {"d": "e"}})

    def _data(self) -> bytes:
        return b"".join(encode(doc) for doc in self.docs)

    def test_decode_all(self) -> None:
        assert decode_all(self._data()) == list(self.docs)
        assert decode_all(b"") == []
        assert decode_all(bytearray(self._data())) == list(self.docs)
        assert decode_all(memoryview(self._data())) == list(self.docs)
        son = decode_all(self._data(), CodecOptions(document_class=SON))
        assert all(type(doc) is SON for doc in son)
        with pytest.raises(InvalidBSON):
            decode_all(self._data() + b"\x01")
        with pytest.raises(TypeError):
            decode_all("text")  # type: ignore[arg-type]

    def test_decode_iter(self) -> None:
        iterator = decode_iter(self._data())
        assert next(iterator) == self.docs[0]
        assert list(iterator) == list(self.docs[1:])
        # Documents before a bad one are still yielded.
        broken = decode_iter(self._data()[:-3])
        assert next(broken) == self.docs[0]
        assert next(broken) == self.docs[1]
        with pytest.raises(InvalidBSON):
            next(broken)

    def test_decode_file_iter(self) -> None:
        assert list(decode_file_iter(io.BytesIO(self._data()))) == list(self.docs)
        assert list(decode_file_iter(io.BytesIO(b""))) == []
        son = list(decode_file_iter(io.BytesIO(self._data()), CodecOptions(document_class=SON)))
        assert all(type(doc) is SON for doc in son)

    @pytest.mark.parametrize("cut", [1, 2, 3, 5, 10])
    def test_decode_file_iter_truncated_last_document(self, cut: int) -> None:
        data = self._data()
        iterator = decode_file_iter(io.BytesIO(data[:-cut]))
        assert next(iterator) == self.docs[0]
        assert next(iterator) == self.docs[1]
        with pytest.raises(InvalidBSON):
            next(iterator)

    @pytest.mark.parametrize("tail", [b"\x10", b"\x10\x00", b"\x10\x00\x00"])
    def test_decode_file_iter_truncated_length_prefix(self, tail: bytes) -> None:
        with pytest.raises(InvalidBSON):
            list(decode_file_iter(io.BytesIO(encode({"a": 1}) + tail)))

    def test_decode_file_iter_bad_lengths(self) -> None:
        for size in (0, 4, -1, -(2**31)):
            with pytest.raises(InvalidBSON):
                list(decode_file_iter(io.BytesIO(struct.pack("<i", size) + b"\x00" * 8)))

    def test_decode_and_is_valid(self) -> None:
        data = encode({"a": 1})
        assert decode(data) == {"a": 1}
        assert decode(bytearray(data)) == {"a": 1}
        assert is_valid(data) is True
        assert is_valid(data + b"\x00") is False
        assert is_valid(b"") is False
        with pytest.raises(TypeError):
            is_valid(bytearray(data))  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            decode(data, {"tz_aware": True})  # type: ignore[call-overload]
        with pytest.raises(InvalidBSON):
            decode(data + data)

    def test_bson_class(self) -> None:
        data = BSON.encode({"a": 1, "b": [Int64(2)]})
        assert isinstance(data, BSON) and isinstance(data, bytes)
        assert data == encode({"a": 1, "b": [Int64(2)]})
        assert data.decode() == {"a": 1, "b": [2]}
        assert type(data.decode()["b"][0]) is Int64
        son = data.decode(CodecOptions(document_class=SON))
        assert type(son) is SON
        with pytest.raises(InvalidDocument):
            BSON.encode({"$a": 1}, check_keys=True)
        standard = CodecOptions(uuid_representation=STANDARD)
        assert BSON.encode({"u": _U}, codec_options=standard).decode(standard) == {"u": _U}


# ---------------------------------------------------- small types, and pickling


def test_int64() -> None:
    value = Int64(5)
    assert value == 5 and isinstance(value, int)
    assert repr(value) == "Int64(5)"
    assert type(value + 1) is int
    assert encode({"n": value}) == pybson.encode({"n": pybson.Int64(5)})
    assert type(decode(encode({"n": value}))["n"]) is Int64
    assert decode(encode({"n": 5})) == {"n": 5}
    assert type(decode(encode({"n": 2**40}))["n"]) is Int64


def test_min_key_and_max_key() -> None:
    assert MinKey() == MinKey() and MaxKey() == MaxKey()
    assert MinKey() != MaxKey()
    assert hash(MinKey()) == hash(MinKey()) and hash(MaxKey()) == hash(MaxKey())
    assert MinKey() < 0 < MaxKey()
    assert MinKey() < MaxKey() and MaxKey() > MinKey()
    assert MinKey() <= MinKey() and MaxKey() >= MaxKey()
    assert not MinKey() < MinKey() and not MaxKey() > MaxKey()
    assert MaxKey() > "anything" and MinKey() < "anything"
    assert repr(MinKey()) == "MinKey()" and repr(MaxKey()) == "MaxKey()"
    assert decode(encode({"lo": MinKey(), "hi": MaxKey()})) == {"lo": MinKey(), "hi": MaxKey()}


_PICKLE_VALUES: list[Any] = [
    ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"),
    Int64(-(2**63)),
    Binary(b"\x00\xff", 0x80),
    Code("f"),
    Code("f", {"a": [1]}),
    DBRef("c", ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"), "db", x=1),
    Regex("^a", "im"),
    Timestamp(2**32 - 1, 0),
    Decimal128("-1.5E-20"),
    Decimal128("NaN"),
    MinKey(),
    MaxKey(),
    SON([("b", 1), ("a", 2)]),
    DatetimeMS(2**62),
    CodecOptions(document_class=SON, uuid_representation=STANDARD),
    TypeRegistry(),
]


@pytest.mark.parametrize("value", _PICKLE_VALUES, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("protocol", list(_PROTOCOLS))
def test_pickle_every_type(value: Any, protocol: int) -> None:
    back = pickle.loads(pickle.dumps(value, protocol))
    assert type(back) is type(value)
    if isinstance(value, TypeRegistry):
        assert back == value
        return
    assert back == value
    assert repr(back) == repr(value)
    assert copy.deepcopy(value) == value


def test_pickle_raw_bson_document_every_protocol() -> None:
    doc = RawBSONDocument(encode({"x": 1}))
    for protocol in _PROTOCOLS:
        assert pickle.loads(pickle.dumps(doc, protocol)) == doc


def test_error_hierarchy() -> None:
    from driver.bson.errors import BSONError, DocumentTooLarge, InvalidStringData
    from driver.errors import PyMongoError

    for error in (InvalidBSON, InvalidDocument, InvalidId, InvalidStringData, DocumentTooLarge):
        assert issubclass(error, BSONError) and issubclass(error, PyMongoError)
    assert issubclass(DocumentTooLarge, InvalidDocument)
    assert sys.modules["driver.bson.errors"].InvalidBSON is InvalidBSON
