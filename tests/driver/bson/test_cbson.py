"""The C accelerator (driver/bson/_cbson.c) against the pure-Python codec it mirrors.

The rest of tests/driver/bson runs every test on both implementations (conftest.py);
this module checks how the implementation is chosen and bound, then compares the two
directly: on random documents, random mutations of valid BSON (truncation, lying
lengths, bad UTF-8, unknown types), deep nesting and huge sizes, both must return
equal values (same types, same key order) or both raise InvalidBSON; on random and
hostile values to encode, both must return the same bytes or raise the same error.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import enum
import gc
import math
import os
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import driver.bson
import driver.bson.raw_bson
from driver.bson import (
    DEFAULT_CODEC_OPTIONS,
    SON,
    Binary,
    Code,
    CodecOptions,
    DatetimeConversion,
    DBRef,
    Decimal128,
    Int64,
    MaxKey,
    ObjectId,
    RawBSONDocument,
    Regex,
    Timestamp,
    TypeDecoder,
    TypeEncoder,
    TypeRegistry,
    _codec,
    encode,
    has_c,
)
from driver.bson.raw_bson import DEFAULT_RAW_BSON_OPTIONS
from driver.errors import InvalidBSON, InvalidDocument
from tests.driver.bson.strategies import (
    HOSTILE_DECODE_OPTIONS,
    INT64_MAX,
    INT64_MIN,
    bson_equal,
    documents,
    keys,
    mutated,
    values,
)

# This module compares the two implementations itself (see conftest.py).
BOTH_CODECS = False

REPO = Path(__file__).resolve().parents[3]
PURE = _codec.PURE
MAX_SIZE = 2**31 - 1

_SETTINGS: dict[str, Any] = {
    "deadline": datetime.timedelta(seconds=5),
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
}


@pytest.fixture
def c() -> _codec.Implementation:
    implementation = _codec.IMPLEMENTATIONS.get("c")
    if implementation is None:
        pytest.skip(f"C codec not tested: {_codec.C_UNAVAILABLE_REASON}")
    return implementation


# ------------------------------------------------------------------------ binding


def test_has_c_reports_the_binding() -> None:
    assert has_c() is _codec.USING_C
    chosen = _codec.IMPLEMENTATIONS["c" if has_c() else "pure"]
    assert vars(driver.bson)["decode_document"] is chosen.decode_document
    assert vars(driver.bson)["encode_document"] is chosen.encode_document
    assert vars(driver.bson.raw_bson)["inflate_raw"] is chosen.inflate_raw


def test_the_extension_is_built_in_the_repository_venv() -> None:
    """``make test`` builds the extension: under the repo's .venv it must be in use."""
    in_repo_venv = Path(sys.prefix).resolve() == (REPO / ".venv").resolve()
    if not in_repo_venv:
        pytest.skip(f"not the repository's venv ({sys.prefix}): the extension may be absent")
    if os.environ.get("FELDSPAR_NO_C", "") not in ("", "0"):
        pytest.skip("FELDSPAR_NO_C is set: the pure codec is in use on purpose")
    assert has_c(), f"pip install -e . should have built driver.bson._cbson: {_codec.C_UNAVAILABLE_REASON}"


def test_every_caller_gets_the_chosen_codec() -> None:
    # Import the callers, then look for any other module holding a codec entry point.
    import driver.protocol._wire_reader
    import driver.protocol.wire  # noqa: F401

    chosen = {
        "decode_document": _codec.decode_document,
        "encode_document": _codec.encode_document,
        "inflate_raw": _codec.inflate_raw,
    }
    owners = {"driver.bson._decoder", "driver.bson._encoder", "driver.bson._cbson"}
    stale = [
        f"{name}.{attr}"
        for name, module in list(sys.modules.items())
        if name.startswith(("driver.", "odm.")) and name not in owners
        for attr, function in chosen.items()
        if getattr(module, attr, function) is not function
    ]
    assert not stale, f"modules bound to the other codec: {stale}"


@pytest.mark.parametrize(("value", "expected"), [("1", False), ("0", True), ("", True)])
def test_feldspar_no_c_switches_to_the_pure_codec(value: str, expected: bool) -> None:
    code = (
        "import sys, driver.bson as b; "
        "print(b.has_c(), 'driver.bson._cbson' in sys.modules, b.decode(b.encode({'a': [1]})))"
    )
    env = {**os.environ, "FELDSPAR_NO_C": value}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=2)
    built = "c" in _codec.IMPLEMENTATIONS or (
        _codec.C_UNAVAILABLE_REASON or ""
    ).startswith("FELDSPAR_NO_C")
    using = expected and built
    assert out == [str(using), str(using), "{'a': [1]}\n"]


# ------------------------------------------------------------------------ helpers


def _decode(impl: _codec.Implementation, data: bytes, opts: CodecOptions[Any]) -> tuple[str, Any]:
    try:
        return "ok", impl.decode_document(data, 0, len(data), opts)
    except InvalidBSON as exc:
        return "InvalidBSON", exc


def _assert_same_decoding(c: _codec.Implementation, data: bytes, opts: CodecOptions[Any]) -> None:
    ours, theirs = _decode(c, data, opts), _decode(PURE, data, opts)
    assert ours[0] == theirs[0], (data, ours, theirs)
    if ours[0] == "ok":
        assert bson_equal(_inflated(ours[1]), _inflated(theirs[1])), (data, ours, theirs)


def _inflated(value: Any) -> Any:
    """Raw documents compared by their bytes and their fields (decoded by the pure codec)."""
    if isinstance(value, RawBSONDocument):
        return ("raw", value.raw)
    if isinstance(value, dict):
        return {key: _inflated(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_inflated(item) for item in value]
    return value


def _encode(impl: _codec.Implementation, doc: Any, check_keys: Any, opts: Any, max_size: Any) -> Any:
    try:
        return "ok", impl.encode_document(doc, check_keys, opts, max_size)
    except Exception as exc:
        return type(exc), str(exc)


def _assert_same_encoding(
    c: _codec.Implementation,
    doc: Any,
    check_keys: Any = False,
    opts: Any = DEFAULT_CODEC_OPTIONS,
    max_size: Any = MAX_SIZE,
) -> Any:
    ours = _encode(c, doc, check_keys, opts, max_size)
    theirs = _encode(PURE, doc, check_keys, opts, max_size)
    assert ours == theirs, (doc, ours, theirs)
    return ours


def _pack_i(value: int) -> bytes:
    return struct.pack("<i", value)


def _document(body: bytes) -> bytes:
    return _pack_i(len(body) + 5) + body + b"\x00"


def _nested(depth: int, kind: bytes = b"\x03") -> bytes:
    """``depth`` documents (or arrays) each inside the next."""
    prefixes = b"".join(_pack_i(8 * (depth - i) + 5) + kind + b"a\x00" for i in range(depth))
    return prefixes + b"\x05\x00\x00\x00\x00" + b"\x00" * depth


class _PointDecoder(TypeDecoder):
    bson_type = Int64

    def transform_bson(self, value: Any) -> Any:
        return ("int64", int(value))


# Every branch of the C options check: plain (cached), raw, and each reason to fall back.
DECODE_OPTIONS: list[CodecOptions[Any]] = [
    *HOSTILE_DECODE_OPTIONS,
    DEFAULT_RAW_BSON_OPTIONS,
    CodecOptions(),  # equal to the default, not the same object
    CodecOptions(tz_aware=True, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS),
    CodecOptions(document_class=collections.OrderedDict),
    CodecOptions(type_registry=TypeRegistry([_PointDecoder()])),
    CodecOptions(unicode_decode_error_handler="ignore"),
]


# ------------------------------------------------------------------------ decoding


@settings(max_examples=300, **_SETTINGS)
@given(documents(), st.sampled_from(DECODE_OPTIONS))
def test_decode_random_documents_like_pure(
    c: _codec.Implementation, doc: dict[str, Any], opts: CodecOptions[Any]
) -> None:
    _assert_same_decoding(c, encode(doc), opts)


@settings(max_examples=1500, **_SETTINGS)
@given(documents(max_leaves=10).map(encode).flatmap(mutated), st.sampled_from(DECODE_OPTIONS))
def test_decode_mutated_bytes_like_pure(
    c: _codec.Implementation, data: bytes, opts: CodecOptions[Any]
) -> None:
    _assert_same_decoding(c, data, opts)


_random_bodies = st.builds(
    lambda body, delta: _pack_i(len(body) + 5 + delta) + body + b"\x00",
    st.binary(max_size=60),
    st.sampled_from([0, 0, 0, -1, 1, -4, 2**20, 2**31 - 1 - 65, -(2**31)]),
)


@settings(max_examples=500, **_SETTINGS)
@given(st.binary(max_size=40) | _random_bodies, st.sampled_from(DECODE_OPTIONS[:6]))
@example(b"", DEFAULT_CODEC_OPTIONS)
@example(b"\x05\x00\x00\x00\x00", DEFAULT_CODEC_OPTIONS)
@example(b"\x05\x00\x00\x00\x01", DEFAULT_CODEC_OPTIONS)
@example(b"\xff\xff\xff\x7f\x00", DEFAULT_CODEC_OPTIONS)
def test_decode_random_bytes_like_pure(
    c: _codec.Implementation, data: bytes, opts: CodecOptions[Any]
) -> None:
    _assert_same_decoding(c, data, opts)


def _element(kind: int, name: bytes, payload: bytes) -> bytes:
    return bytes([kind]) + name + b"\x00" + payload


# Hand-written edge cases: every C reader at and around its bounds.
_EDGE_BODIES = [
    _element(0x02, b"s", _pack_i(2) + b"\xff\x00"),  # bad UTF-8 in a string
    _element(0x02, b"\xc3\x28", _pack_i(1) + b"\x00"),  # bad UTF-8 in a key
    _element(0x04, b"a", _document(_element(0x10, b"\xff", _pack_i(1)))),  # array keys unread
    _element(0x02, b"s", _pack_i(0) + b"\x00"),  # string length 0
    _element(0x02, b"s", _pack_i(-1) + b"\x00"),
    _element(0x02, b"s", _pack_i(2) + b"ab"),  # no NUL at the end of the string
    _element(0x02, b"s", _pack_i(2**31 - 1) + b"a\x00"),
    _element(0x02, b"s", b"\x02\x00"),  # length truncated
    _element(0x01, b"d", b"\x00" * 7),
    _element(0x10, b"i", b"\x00" * 3),
    _element(0x12, b"l", b"\x00" * 7),
    _element(0x12, b"l", struct.pack("<q", INT64_MIN)),
    _element(0x12, b"l", struct.pack("<q", INT64_MAX)),
    _element(0x07, b"o", b"\x00" * 11),
    _element(0x08, b"b", b"\x02"),
    _element(0x08, b"b", b""),
    _element(0x05, b"x", _pack_i(3) + b"\x00ab"),  # binary overruns
    _element(0x05, b"x", _pack_i(-1) + b"\x00"),
    _element(0x05, b"x", _pack_i(2) + b"\x00ab"),
    _element(0x05, b"x", _pack_i(2) + b"\x04ab"),  # subtype 4 of the wrong length
    _element(0x05, b"x", _pack_i(6) + b"\x02" + _pack_i(2) + b"ab"),  # old binary subtype
    _element(0x05, b"x", b"\x00\x00\x00"),
    _element(0x09, b"t", struct.pack("<q", 253402300800000)),  # past datetime.max
    _element(0x09, b"t", struct.pack("<q", -62135596800001)),
    _element(0x09, b"t", struct.pack("<q", -1)),
    _element(0x09, b"t", b"\x00" * 7),
    _element(0x03, b"d", _pack_i(4) + b"\x00"),
    _element(0x03, b"d", _pack_i(6) + b"\x00"),
    _element(0x03, b"d", _pack_i(5) + b"\x01"),  # no closing NUL
    _element(0x04, b"a", _pack_i(5) + b"\x01"),
    _element(0x04, b"a", _pack_i(5)),
    _element(0x03, b"d", _document(_element(0x02, b"$ref", _pack_i(2) + b"c\x00"))),
    _element(0x03, b"d", encode({"$ref": "c", "$id": 1, "$db": "x", "more": [1]})),
    _element(0x03, b"d", encode({"$ref": "c", "$id": 1, "$db": 5})),
    _element(0x03, b"d", encode({"$ref": 1, "$id": 1})),
    _element(0x04, b"a", _document(_element(0x03, b"0", encode({"$ref": "c", "$id": 1})))),
    _element(0x14, b"u", b""),  # unknown type
    _element(0x0A, b"n", b""),
    _element(0x06, b"u", b""),
    _element(0x0B, b"r", b"a\x00i"),  # regex options without NUL
    _element(0x0D, b"c", _pack_i(2) + b"x\x00"),
    _element(0x0F, b"c", _pack_i(14) + _pack_i(1) + b"\x00" + _pack_i(5) + b"\x00"),
    _element(0x11, b"t", b"\x00" * 7),
    b"\x10i",  # key without NUL
    b"\x10",
]


@pytest.mark.parametrize("body", _EDGE_BODIES, ids=repr)
@pytest.mark.parametrize("opts", DECODE_OPTIONS[:8], ids=range(8))
def test_decode_edge_cases_like_pure(
    c: _codec.Implementation, body: bytes, opts: CodecOptions[Any]
) -> None:
    data = _document(body)
    _assert_same_decoding(c, data, opts)
    _assert_same_decoding(c, _document(_element(0x03, b"x", data)), opts)
    _assert_same_decoding(c, _document(_element(0x04, b"x", _document(body))), opts)
    for cut in range(len(data)):
        _assert_same_decoding(c, data[:cut], opts)


def test_wrapped_errors_keep_their_cause(c: _codec.Implementation) -> None:
    data = _document(_element(0x02, b"s", _pack_i(2) + b"\xff\x00"))
    for impl in (c, PURE):
        with pytest.raises(InvalidBSON, match="invalid BSON") as info:
            impl.decode_document(data, 0, len(data), DEFAULT_CODEC_OPTIONS)
        assert isinstance(info.value.__cause__, UnicodeDecodeError)


# Where exactly decoding gives up is the one thing the two do not share: the pure
# decoder spends one or two Python frames a level (depending on what nests in what)
# out of whatever recursion budget its caller left, the C one level of
# Py_EnterRecursiveCall. Between about 450 and 1000 levels the C decoder still succeeds
# where the pure one has given up; MongoDB refuses documents nested over 200 deep.
@pytest.mark.parametrize("kind", [b"\x03", b"\x04"], ids=["documents", "arrays"])
@pytest.mark.parametrize("depth", [50, 200, 5000, 100_000])
def test_deep_nesting_like_pure(c: _codec.Implementation, kind: bytes, depth: int) -> None:
    data = _nested(depth, kind)
    ours, theirs = _decode(c, data, DEFAULT_CODEC_OPTIONS), _decode(PURE, data, DEFAULT_CODEC_OPTIONS)
    assert ours[0] == theirs[0]
    left, right = ours[1], theirs[1]
    while ours[0] == "ok" and (left or right):  # walked down, not compared recursively
        assert type(left) is type(right)
        left, right = (left["a"], right["a"]) if isinstance(left, dict) else (left[0], right[0])
    if depth > 1000:
        with pytest.raises(InvalidBSON, match="nested too deeply"):
            c.decode_document(data, 0, len(data), DEFAULT_CODEC_OPTIONS)


def test_deep_nesting_under_a_huge_recursion_limit_does_not_crash(c: _codec.Implementation) -> None:
    code = (
        "import struct, sys; sys.setrecursionlimit(10**6)\n"
        "from driver.bson import _codec, DEFAULT_CODEC_OPTIONS as O, InvalidBSON\n"
        "depth = 500_000\n"
        "data = b''.join(struct.pack('<i', 8 * (depth - i) + 5) + b'\\x03a\\x00' "
        "for i in range(depth)) + b'\\x05\\x00\\x00\\x00\\x00' + b'\\x00' * depth\n"
        "try:\n"
        "    _codec.IMPLEMENTATIONS['c'].decode_document(data, 0, len(data), O)\n"
        "except InvalidBSON as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "nested too deeply" in out.stdout


@pytest.mark.parametrize(
    ("start", "stop"),
    [(0, 0), (5, 5), (5, 17), (4, 17), (5, 16), (5, 18), (-1, 17), (5, 100), (17, 5), (0, 22)],
)
def test_decode_positions_like_pure(c: _codec.Implementation, start: int, stop: int) -> None:
    data = encode({}) + encode({"a": 1}) + encode({})
    outcomes = []
    for impl in (c, PURE):
        try:
            outcomes.append(("ok", impl.decode_document(data, start, stop, DEFAULT_CODEC_OPTIONS)))
        except Exception as exc:
            outcomes.append(("error", type(exc)))
    assert outcomes[0] == outcomes[1]


def test_decode_takes_bytes_subclasses_and_falls_back_for_other_buffers(
    c: _codec.Implementation,
) -> None:
    data = encode({"a": [1, "x"]})
    assert c.decode_document(driver.bson.BSON(data), 0, len(data), DEFAULT_CODEC_OPTIONS) == {
        "a": [1, "x"]
    }
    others: list[Any] = [bytearray(data), memoryview(data)]
    for other in others:
        outcomes = [
            _outcome(partial(impl.decode_document, other, 0, len(data), DEFAULT_CODEC_OPTIONS))
            for impl in (c, PURE)
        ]
        assert outcomes[0] == outcomes[1]


def _inflate(impl: _codec.Implementation, data: bytes, opts: CodecOptions[Any]) -> Any:
    return _inflated(impl.inflate_raw(data, opts))


def _outcome(func: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", func()
    except Exception as exc:
        return "error", type(exc)


@settings(max_examples=200, **_SETTINGS)
@given(documents(max_leaves=8).map(encode).flatmap(mutated))
def test_inflate_raw_like_pure(c: _codec.Implementation, data: bytes) -> None:
    for opts in (DEFAULT_RAW_BSON_OPTIONS, DEFAULT_CODEC_OPTIONS, DECODE_OPTIONS[-1]):
        ours = _outcome(partial(_inflate, c, data, opts))
        theirs = _outcome(partial(_inflate, PURE, data, opts))
        assert ours[0] == theirs[0], (data, ours, theirs)
        if ours[0] == "ok":
            assert bson_equal(ours[1], theirs[1])
        else:
            assert ours[1] is theirs[1] is InvalidBSON


# ------------------------------------------------------------------------ encoding


@settings(max_examples=300, **_SETTINGS)
@given(documents(), st.booleans())
def test_encode_random_documents_like_pure(
    c: _codec.Implementation, doc: dict[str, Any], check_keys: bool
) -> None:
    _assert_same_encoding(c, doc, check_keys)


class _Color(enum.IntEnum):
    RED = 1


class _Str(str):
    pass


class _Float(float):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


# Values the C encoder does not write itself, or must refuse exactly as the pure one.
_odd_values = st.sampled_from(
    [
        2**63,
        -(2**63) - 1,
        2**100,
        Int64(2**63),
        Int64(-(2**63) - 1),
        2**31,
        -(2**31) - 1,
        True,
        _Color.RED,
        _Str("sub"),
        _Float(1.5),
        "\ud800",
        "a\x00b",
        "é" * 3,
        b"\x00\xff",
        bytearray(b"ba"),
        memoryview(b"mv"),
        {1, 2},
        object(),
        complex(1, 2),
        datetime.datetime(2020, 1, 1, 12, 30, 15, 999999),
        datetime.datetime(1, 1, 1),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999),
        datetime.datetime(1969, 12, 31, 23, 59, 59, 1),
        datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-3))),
        datetime.date(2020, 1, 1),
        uuid.UUID(int=5),
        Decimal128("1.5"),
        Binary(b"x", 0),
        Binary(b"x", 2),
        Code("x", {"$a": 1}),
        Regex("a", "i"),
        Timestamp(1, 2),
        MaxKey(),
        DBRef("c", 1, "db", {"$x": 1}),
        RawBSONDocument(encode({"$in": 1})),
        SON([("b", 1), ("a.b", 2)]),
        _Dict(a=1),
        collections.OrderedDict(z=1),
        (1, "two", (3,)),
        math.nan,
        -0.0,
        None,
    ]
)
_odd_keys = st.sampled_from(
    ["_id", "$ref", "$x", "a.b", "a\x00", "\ud800", "\ud800\x00", "$\ud800", "é", _Str("sub"), _Str("_id")]
) | keys()


def _odd_documents(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    leaves = _odd_values | values(max_leaves=3)
    tree = st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=3)
        | st.dictionaries(_odd_keys, children, max_size=3),
        max_leaves=max_leaves,
    )
    return st.dictionaries(_odd_keys, tree, max_size=5)


@settings(max_examples=800, **_SETTINGS)
@given(
    _odd_documents(),
    st.booleans(),
    st.sampled_from([MAX_SIZE, 2**40, 10, 5, 0, -1]),
)
def test_encode_odd_values_like_pure(
    c: _codec.Implementation, doc: dict[Any, Any], check_keys: bool, max_size: int
) -> None:
    _assert_same_encoding(c, doc, check_keys, DEFAULT_CODEC_OPTIONS, max_size)


@pytest.mark.parametrize("key", [1, None, b"k", (1,), 1.5, _Str("_id"), _Str("a.b")], ids=repr)
@pytest.mark.parametrize("check_keys", [False, True])
def test_encode_odd_keys_like_pure(c: _codec.Implementation, key: Any, check_keys: bool) -> None:
    for doc in ({key: 1}, {"a": 1, key: 2}, {key: 1, "_id": object()}, {"x": {key: 1}}):
        _assert_same_encoding(c, doc, check_keys)


@pytest.mark.parametrize(
    "doc",
    [
        {"a": 1, "_id": 2},
        {"_id": 2, "a": 1},
        {"a": 1, "_id": {"_id": 3, "b": "\ud800"}},
        {"a": "\ud800", "_id": 1},
        {"a": 2**64, "_id": "\ud800"},
        {"_id": None},
        {},
    ],
    ids=repr,
)
def test_encode_moves_id_first_like_pure(c: _codec.Implementation, doc: dict[str, Any]) -> None:
    _assert_same_encoding(c, doc)
    _assert_same_encoding(c, doc, True)


@pytest.mark.parametrize(
    ("args"),
    [
        (SON([("a", 1)]), False),
        (RawBSONDocument(encode({"a": 1})), False),
        ([1], False),
        ({"a": 1}, 1),
        ({"a": 1}, None),
        ({"$a": 1}, "yes"),
    ],
    ids=repr,
)
def test_encode_other_arguments_go_to_pure(c: _codec.Implementation, args: tuple[Any, Any]) -> None:
    _assert_same_encoding(c, *args)
    _assert_same_encoding(c, args[0], args[1], DEFAULT_CODEC_OPTIONS, 3.5)
    _assert_same_encoding(c, args[0], args[1], DEFAULT_CODEC_OPTIONS, 2**70)


def test_encode_cycles_and_depth_like_pure(c: _codec.Implementation) -> None:
    cyclic: dict[str, Any] = {"a": 1}
    cyclic["self"] = cyclic
    looped: list[Any] = []
    looped.append({"l": looped})
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(5000):
        inner["a"] = inner = {}
    for doc in (cyclic, {"l": looped}, deep, {"t": (looped,)}):
        outcome = _assert_same_encoding(c, doc)
        assert outcome[0] is InvalidDocument, outcome


def test_encode_calls_custom_encoders_like_pure(c: _codec.Implementation) -> None:
    calls: list[Any] = []

    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    class PointEncoder(TypeEncoder):
        python_type = Point

        def transform_python(self, value: Any) -> Any:
            calls.append(value.x)
            return {"x": value.x}

    def fallback(value: Any) -> Any:
        calls.append(sorted(value))
        return str(value)

    opts: CodecOptions[Any] = CodecOptions(
        type_registry=TypeRegistry([PointEncoder()], fallback_encoder=fallback)
    )
    doc = {"p": Point(1), "l": [Point(2), {1, 2}], "_id": Point(3), "d": {"s": frozenset()}}
    results = []
    for impl in (c, PURE):
        calls.clear()
        results.append((impl.encode_document(doc, False, opts, MAX_SIZE), list(calls)))
    assert results[0] == results[1]
    assert results[0][1] == [3, 1, 2, [1, 2], []]


def test_naive_datetimes_encode_like_pure(c: _codec.Implementation) -> None:
    for millis in range(-62135596800000, 253402300799999, 7919 * 86400000 + 12345):
        moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=millis, microseconds=millis % 1000)
        _assert_same_encoding(c, {"t": moment})


# ------------------------------------------------------------------- robustness


def _blocks_after(func: Callable[[], None], rounds: int) -> int:
    for _ in range(rounds):
        func()
    gc.collect()
    return sys.getallocatedblocks()


def test_no_reference_leaks(c: _codec.Implementation) -> None:
    """Success and error paths, run many times, leave no objects behind."""
    doc = {
        "_id": ObjectId(),
        "s": "é" * 5,
        "l": [1, 2.5, None, True, Int64(5), b"x", {"$ref": "c", "$id": 1}],
        "t": datetime.datetime(2020, 1, 1),
        "o": [Code("x", {"a": 1}), Regex("a"), Timestamp(1, 2), Decimal128("1")],
    }
    data = encode(doc)
    bad = [data[:-1], data[:20] + b"\xff" + data[21:], _nested(5000), _document(_element(0x02, b"s", _pack_i(2) + b"\xff\x00"))]
    cyclic: dict[str, Any] = {}
    cyclic["c"] = cyclic
    odd = [{"a": 2**64}, {"a\x00": 1}, {"a": "\ud800"}, {"a": object()}, cyclic, {1: 2}]
    opts_list: list[CodecOptions[Any]] = [DEFAULT_CODEC_OPTIONS, DEFAULT_RAW_BSON_OPTIONS, *DECODE_OPTIONS[-3:]]

    def work() -> None:
        for opts in opts_list:
            c.decode_document(data, 0, len(data), opts)
            c.inflate_raw(data, opts)
            for junk in bad:
                with contextlib.suppress(InvalidBSON):
                    c.decode_document(junk, 0, len(junk), opts)
        c.encode_document(doc, False, DEFAULT_CODEC_OPTIONS, MAX_SIZE)
        for check_keys, limit in ((True, MAX_SIZE), (False, 10)):  # "$ref", too large
            with pytest.raises(InvalidDocument):
                c.encode_document(doc, check_keys, DEFAULT_CODEC_OPTIONS, limit)
        for item in odd:
            with pytest.raises(Exception):  # noqa: B017
                c.encode_document(item, False, DEFAULT_CODEC_OPTIONS, MAX_SIZE)

    # (Not the options: the C side caches its verdict on the last few it saw.)
    tracked = (data, doc, doc["_id"], doc["l"], doc["s"])
    refcounts = [sys.getrefcount(item) for item in tracked]
    before = _blocks_after(work, 20)
    after = _blocks_after(work, 200)
    assert after - before < 200, f"{after - before} blocks more after 200 rounds"
    assert refcounts == [sys.getrefcount(item) for item in tracked]


def test_concurrent_use_from_threads(c: _codec.Implementation) -> None:
    docs = [{"_id": i, "v": [i, str(i), {"t": datetime.datetime(2020, 1, 1 + i % 28)}]} for i in range(50)]
    datas = [encode(doc) for doc in docs]
    errors: list[BaseException] = []

    def run(opts: CodecOptions[Any]) -> None:
        try:
            for _ in range(20):
                for doc, data in zip(docs, datas, strict=True):
                    assert c.encode_document(doc, False, opts, MAX_SIZE) == data
                    decoded = c.decode_document(data, 0, len(data), opts)
                    assert decoded["_id"] == doc["_id"]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(opts,)) for opts in DECODE_OPTIONS * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

