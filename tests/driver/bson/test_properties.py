"""Property tests for the BSON codec: round trips, hostile input, encoder limits.

- Any generated document survives ``encode``/``decode`` (under several CodecOptions)
  and Extended JSON canonical mode, byte for byte.
- Decoding arbitrary bytes, and valid BSON after random edits, either succeeds or
  raises InvalidBSON: never another exception, never a hang (Hypothesis' deadline),
  never an allocation out of proportion to the input (tracemalloc).
- The encoder refuses what BSON cannot hold with the documented exception.
"""

from __future__ import annotations

import datetime
import io
import struct
import tracemalloc
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from driver.bson import (
    CSHARP_LEGACY,
    DEFAULT_CODEC_OPTIONS,
    JAVA_LEGACY,
    PYTHON_LEGACY,
    SON,
    STANDARD,
    BSONError,
    Code,
    CodecOptions,
    DBRef,
    DocumentTooLarge,
    Int64,
    InvalidBSON,
    InvalidDocument,
    InvalidStringData,
    RawBSONDocument,
    decode,
    decode_all,
    decode_file_iter,
    decode_iter,
    encode,
    is_valid,
)
from driver.bson.json_util import CANONICAL_JSON_OPTIONS, dumps, loads
from tests.driver.bson.strategies import (
    HOSTILE_DECODE_OPTIONS,
    bson_equal,
    documents,
    expected_decoded,
    keys,
    mutated,
    values,
)

_pack_i = struct.Struct("<i").pack
_MIB = 1 << 20

# The deadline stands in for a time bound on every decode: a hang or a quadratic
# blow-up on hostile input fails the test instead of stalling the run.
_SETTINGS = {
    "deadline": datetime.timedelta(seconds=5),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

_OPTIONS = {
    "default": DEFAULT_CODEC_OPTIONS,
    "tz_aware": CodecOptions(tz_aware=True),
    "son": CodecOptions(document_class=SON),
    "standard": CodecOptions(uuid_representation=STANDARD),
    "python_legacy": CodecOptions(uuid_representation=PYTHON_LEGACY),
    "java_legacy": CodecOptions(uuid_representation=JAVA_LEGACY),
    "csharp_legacy": CodecOptions(uuid_representation=CSHARP_LEGACY, tz_aware=True),
}

# Options to decode hostile bytes with: every code path that depends on them.
_DECODE_OPTIONS = [*HOSTILE_DECODE_OPTIONS, CodecOptions(document_class=RawBSONDocument)]

# ------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", list(_OPTIONS))
@settings(max_examples=60, **_SETTINGS)
@given(data=st.data())
def test_encode_decode_round_trip(name: str, data: st.DataObject) -> None:
    opts = _OPTIONS[name]
    doc = data.draw(documents(opts.uuid_representation), label="doc")
    raw = encode(doc, codec_options=opts)
    back = decode(raw, opts)
    expected = expected_decoded(doc, opts)
    assert bson_equal(back, expected), (back, expected)
    assert encode(back, codec_options=opts) == raw
    assert is_valid(raw)


@settings(max_examples=150, **_SETTINGS)
@given(documents())
def test_round_trip_default_options(doc: dict[str, Any]) -> None:
    raw = encode(doc)
    back = decode(raw)
    assert bson_equal(back, expected_decoded(doc))
    assert encode(back) == raw
    # The length prefix is the length; the rest agrees with every other reader.
    assert struct.unpack_from("<i", raw)[0] == len(raw)
    assert bson_equal(decode_all(raw * 2), [back, back])
    assert bson_equal(list(decode_iter(raw + raw)), [back, back])
    assert bson_equal(list(decode_file_iter(io.BytesIO(raw + raw))), [back, back])
    assert RawBSONDocument(raw).raw == raw


@settings(max_examples=60, **_SETTINGS)
@given(documents())
def test_raw_bson_document_matches_decode(doc: dict[str, Any]) -> None:
    raw = encode(doc)
    lazy = decode(raw, CodecOptions(document_class=RawBSONDocument))
    assert isinstance(lazy, RawBSONDocument)
    assert lazy.raw == raw
    assert list(lazy) == list(decode(raw))
    # A raw document (and raw nested documents) re-encode to the same bytes.
    assert encode(lazy) == raw
    assert encode({"outer": lazy}) == encode({"outer": decode(raw)})


@settings(max_examples=100, **_SETTINGS)
@given(documents(json_safe=True))
def test_extended_json_canonical_round_trip(doc: dict[str, Any]) -> None:
    raw = encode(doc)
    text = dumps(doc, json_options=CANONICAL_JSON_OPTIONS)
    assert isinstance(text, str)
    back = loads(text, json_options=CANONICAL_JSON_OPTIONS)
    assert encode(back) == raw
    # Dumping what was loaded gives the same text again.
    assert dumps(back, json_options=CANONICAL_JSON_OPTIONS) == text


# ------------------------------------------------------- hostile input: decoding


def _touch(value: Any) -> None:
    """Read everything inside a decoded value (inflating lazy raw documents)."""
    if isinstance(value, Mapping):
        for item in value.values():
            _touch(item)
    elif isinstance(value, list):
        for item in value:
            _touch(item)
    elif isinstance(value, Code) and value.scope is not None:
        _touch(value.scope)
    elif isinstance(value, DBRef):
        _touch(value.as_doc())


def _decoders(opts: CodecOptions[Any]) -> list[Callable[[bytes], Any]]:
    def raw_document(data: bytes) -> None:
        _touch(RawBSONDocument(data))

    return [
        lambda data: _touch(decode(data, opts)),
        lambda data: _touch(decode_all(data, opts)),
        lambda data: _touch(list(decode_iter(data, opts))),
        lambda data: _touch(list(decode_file_iter(io.BytesIO(data), opts))),
        lambda data: _touch(decode(data, CodecOptions(document_class=RawBSONDocument))),
        raw_document,
    ]


def _only_invalid_bson(func: Callable[[bytes], Any], data: bytes) -> None:
    """Run ``func(data)``: it may succeed or raise InvalidBSON, and must not allocate
    more than 64 bytes per input byte plus 1 MiB at its peak."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        func(data)
    except InvalidBSON:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        if not was_tracing:
            tracemalloc.stop()
    assert peak <= 64 * len(data) + _MIB, f"peak {peak} bytes for {len(data)} input bytes"


def _check_hostile(data: bytes, opts: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS) -> None:
    for func in _decoders(opts):
        _only_invalid_bson(func, data)
    assert is_valid(data) in (True, False)


_arbitrary_bytes = st.binary(max_size=80) | st.builds(
    # A plausible length prefix in front of random bytes reaches the element loop.
    lambda body, delta: _pack_i(len(body) + 5 + delta) + body + b"\x00",
    st.binary(max_size=60),
    st.sampled_from([0, 0, 0, -1, 1, -4, 2**20]),
)


@settings(max_examples=300, **_SETTINGS)
@given(_arbitrary_bytes, st.sampled_from(_DECODE_OPTIONS))
@example(b"", DEFAULT_CODEC_OPTIONS)
@example(b"\x05\x00\x00\x00", DEFAULT_CODEC_OPTIONS)
@example(b"\x05\x00\x00\x00\x01", DEFAULT_CODEC_OPTIONS)
@example(b"\x04\x00\x00\x00\x00", DEFAULT_CODEC_OPTIONS)
def test_decode_arbitrary_bytes(data: bytes, opts: CodecOptions[Any]) -> None:
    _check_hostile(data, opts)


_mutated_documents = documents(max_leaves=8).map(encode).flatmap(mutated)


@settings(max_examples=400, **_SETTINGS)
@given(_mutated_documents, st.sampled_from(_DECODE_OPTIONS))
def test_decode_mutated_bytes(data: bytes, opts: CodecOptions[Any]) -> None:
    _check_hostile(data, opts)


@st.composite
def _cut_concatenations(draw: st.DrawFn) -> bytes:
    joined = b"".join(draw(st.lists(documents(max_leaves=6).map(encode), min_size=1, max_size=3)))
    return joined[: draw(st.integers(0, len(joined)))]


@settings(max_examples=100, **_SETTINGS)
@given(_cut_concatenations())
def test_decode_all_on_concatenated_and_cut_documents(data: bytes) -> None:
    _check_hostile(data)


def _nested(depth: int, kind: bytes = b"\x03") -> bytes:
    """``depth`` documents (or arrays) each inside the next, built without copying."""
    # Level i (0 = outermost) is 8 * (depth - i) + 5 bytes: 4 length, type, "a\0", NUL.
    prefixes = b"".join(_pack_i(8 * (depth - i) + 5) + kind + b"a\x00" for i in range(depth))
    return prefixes + b"\x05\x00\x00\x00\x00" + b"\x00" * depth


def test_nested_helper_builds_valid_bson() -> None:
    assert _nested(3) == encode({"a": {"a": {"a": {}}}})
    assert decode(_nested(3, b"\x04")) == {"a": [[[]]]}


def test_100k_deep_nesting_raises_invalid_bson() -> None:
    for kind in (b"\x03", b"\x04"):
        data = _nested(100_000, kind)
        with pytest.raises(InvalidBSON):
            decode(data)
        with pytest.raises(InvalidBSON):
            decode_all(data)
        with pytest.raises(InvalidBSON):
            list(decode_iter(data))
        with pytest.raises(InvalidBSON):
            list(decode_file_iter(io.BytesIO(data)))
        assert is_valid(data) is False
        # Lazy documents only check the envelope; it is fine.
        assert RawBSONDocument(data).raw == data


def test_moderate_nesting_decodes() -> None:
    data = _nested(200)
    doc = decode(data)
    for _ in range(200):
        doc = doc["a"]
    assert doc == {}
    assert encode(decode(data)) == data


def _doc(body: bytes) -> bytes:
    return _pack_i(len(body) + 5) + body + b"\x00"


def _hostile_inputs() -> list[bytes]:
    int_doc = encode({"a": 1})
    str_doc = encode({"s": "hello"})
    bin_doc = encode({"b": b"xyz"})
    sub_doc = encode({"d": {"x": 1}})
    code_doc = encode({"c": Code("f()", {"x": 1})})
    return [
        # The top-level length: huge, negative, zero, too small, past the end.
        _pack_i(2**31 - 1) + int_doc[4:],
        _pack_i(2**31 - 1) + b"\x00",
        _pack_i(-1) + int_doc[4:],
        _pack_i(-(2**31)) + int_doc[4:],
        _pack_i(0) + int_doc[4:],
        _pack_i(4) + int_doc[4:],
        _pack_i(len(int_doc) + 1) + int_doc[4:],
        _pack_i(len(int_doc) - 1) + int_doc[4:],
        # A string length far past the end, negative, zero, and off by one.
        str_doc[:7] + _pack_i(2**31 - 1) + str_doc[11:],
        str_doc[:7] + _pack_i(2**30) + str_doc[11:],
        str_doc[:7] + _pack_i(-1) + str_doc[11:],
        str_doc[:7] + _pack_i(0) + str_doc[11:],
        str_doc[:7] + _pack_i(7) + str_doc[11:],
        # Binary lengths.
        bin_doc[:7] + _pack_i(2**31 - 1) + bin_doc[11:],
        bin_doc[:7] + _pack_i(-1) + bin_doc[11:],
        # An embedded document's length: huge, negative, too small.
        sub_doc[:7] + _pack_i(2**31 - 1) + sub_doc[11:],
        sub_doc[:7] + _pack_i(-5) + sub_doc[11:],
        sub_doc[:7] + _pack_i(4) + sub_doc[11:],
        # Code with scope: the total length, then the code string's.
        code_doc[:7] + _pack_i(2**31 - 1) + code_doc[11:],
        code_doc[:7] + _pack_i(-1) + code_doc[11:],
        code_doc[:7] + _pack_i(5) + code_doc[11:],
        code_doc[:11] + _pack_i(2**31 - 1) + code_doc[15:],
        code_doc[:11] + _pack_i(-1) + code_doc[15:],
        # Truncations of a valid document, and trailing garbage.
        *(sub_doc[:cut] for cut in range(len(sub_doc))),
        sub_doc + b"\x00",
        # An element type with no terminating key NUL, unknown types, bad booleans.
        _pack_i(8) + b"\x10abc",
        _doc(b"\x20a\x00"),
        _doc(b"\x08a\x00\x02"),
        # A subtype 2 binary whose inner length disagrees.
        _doc(b"\x05b\x00" + _pack_i(5) + b"\x02" + _pack_i(9) + b"x"),
        # Keys and regexes without their NUL inside the document.
        _doc(b"\x0ba\x00abc"),
        _doc(b"\x10abcd"),
    ]


@pytest.mark.parametrize("data", _hostile_inputs(), ids=lambda data: data[:12].hex())
def test_hand_made_hostile_inputs(data: bytes) -> None:
    for opts in _DECODE_OPTIONS:
        _check_hostile(data, opts)
    # None of these is one valid document.
    assert is_valid(data) is False
    with pytest.raises(InvalidBSON):
        decode(data)


def test_file_with_a_huge_length_prefix_is_not_read_up_front() -> None:
    data = _pack_i(2**31 - 1) + b"\x10a\x00" + b"\x00" * 100
    _only_invalid_bson(lambda raw: list(decode_file_iter(io.BytesIO(raw))), data)
    with pytest.raises(InvalidBSON):
        list(decode_file_iter(io.BytesIO(data)))


def test_invalid_bson_keeps_the_original_error_as_cause() -> None:
    with pytest.raises(InvalidBSON) as info:
        decode(_doc(b"\x02s\x00" + _pack_i(2) + b"\xff\x00"))
    assert isinstance(info.value, BSONError)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


# --------------------------------------------------------------- encoder limits


def test_cyclic_dict_raises_invalid_document() -> None:
    doc: dict[str, Any] = {"a": 1}
    doc["self"] = doc
    with pytest.raises(InvalidDocument):
        encode(doc)
    inner: dict[str, Any] = {}
    outer = {"x": {"y": [inner]}}
    inner["back"] = outer
    with pytest.raises(InvalidDocument):
        encode(outer)


def test_cyclic_list_raises_invalid_document() -> None:
    items: list[Any] = [1]
    items.append(items)
    with pytest.raises(InvalidDocument):
        encode({"l": items})
    pair: list[Any] = []
    pair.append({"l": pair})
    with pytest.raises(InvalidDocument):
        encode({"p": pair})


def test_shared_values_are_not_cycles() -> None:
    shared = {"x": [1, 2]}
    items = [shared, shared]
    assert decode(encode({"a": shared, "b": shared, "c": items})) == {
        "a": shared,
        "b": shared,
        "c": [shared, shared],
    }


def test_deep_nesting_on_encode_is_invalid_document_not_recursion_error() -> None:
    for depth in (1000, 5000):
        doc: dict[str, Any] = {}
        for _ in range(depth):
            doc = {"a": doc}
        try:
            data = encode(doc)
        except InvalidDocument:
            continue
        assert data == _nested(depth)
    deep_list: list[Any] = []
    for _ in range(5000):
        deep_list = [deep_list]
    try:
        data = encode({"l": deep_list})
    except InvalidDocument:
        return
    assert data[4:7] == b"\x04l\x00"
    assert len(data) == 8 * 5001 + 5


def test_very_deep_documents_are_refused_quickly() -> None:
    # Telling "too deep" from "cyclic" must cost time linear in the document: a
    # 100k-deep chain, and a chain of 1100 levels that each hold the next one twice
    # (2**1100 paths, 1100 objects). Without a linear walk these take minutes, or for
    # ever; the suite's timeout (and the CI job) would catch that.
    chain: dict[str, Any] = {}
    for _ in range(100_000):
        chain = {"a": chain}
    with pytest.raises(InvalidDocument, match="deep"):
        encode(chain)
    diamond: list[Any] = []
    for _ in range(1100):
        diamond = [diamond, diamond]
    with pytest.raises(InvalidDocument, match="deep"):
        encode({"d": diamond})


def test_cycle_below_deep_nesting_is_reported_as_a_cycle() -> None:
    inner: dict[str, Any] = {"a": [1]}
    inner["a"].append(inner)
    doc = inner
    for _ in range(2000):
        doc = {"n": doc}
    with pytest.raises(InvalidDocument, match="cyclic"):
        encode(doc)
    with pytest.raises(InvalidDocument, match="cyclic"):
        encode(inner)


@pytest.mark.parametrize(
    "doc",
    [
        {"a\x00b": 1},
        {"\x00": 1},
        {"ok": {"bad\x00": 1}},
        {"ok": [{"bad\x00": 1}]},
        {"ok": Code("f", {"bad\x00": 1})},
    ],
)
def test_nul_in_key_raises_invalid_document(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidDocument):
        encode(doc)


@pytest.mark.parametrize(
    "doc",
    [{1: 1}, {b"a": 1}, {None: 1}, {"ok": {("t",): 1}}, {"ok": [{2.5: 1}]}],
)
def test_non_str_key_raises_invalid_document(doc: dict[Any, Any]) -> None:
    with pytest.raises(InvalidDocument):
        encode(doc)


@pytest.mark.parametrize(
    "doc",
    [
        {"$a": 1},
        {"a.b": 1},
        {".": 1},
        {"$": 1},
        {"ok": {"$set": 1}},
        {"ok": {"x": {"y.z": 1}}},
        {"ok": [1, {"$in": 1}]},
        {"ok": SON([("a", 1), ("b.c", 2)])},
    ],
)
def test_check_keys_refuses_dollar_and_dot(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidDocument):
        encode(doc, check_keys=True)
    # Without check_keys they are fine.
    assert decode(encode(doc)) == doc


def test_check_keys_allows_ordinary_keys_and_dbref_fields() -> None:
    doc = {
        "a": 1,
        "b$": 2,
        "ref": DBRef("coll", 1, "db"),
        "code": Code("f", {"$scope.key": 1}),
    }
    assert encode(doc, check_keys=True) == encode(doc)


@settings(max_examples=100, **_SETTINGS)
@given(st.dictionaries(keys(), values(max_leaves=6), max_size=5))
def test_check_keys_matches_the_rule(doc: dict[str, Any]) -> None:
    def bad(value: Any) -> bool:
        if isinstance(value, (DBRef, Code)):
            # Exempt, as in PyMongo: a DBRef is written whole (its $ref/$id/$db are
            # the point), a scope holds JavaScript variables, not stored fields.
            return False
        if isinstance(value, Mapping):
            return any(k.startswith("$") or "." in k or bad(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(map(bad, value))
        return False

    if bad(doc):
        with pytest.raises(InvalidDocument):
            encode(doc, check_keys=True)
    else:
        assert encode(doc, check_keys=True) == encode(doc)


@pytest.mark.parametrize(
    "doc",
    [
        {"a": 2**63},
        {"a": -(2**63) - 1},
        {"a": 2**100},
        {"a": [1, 2**64]},
        {"a": {"b": -(2**70)}},
        {"a": Int64(2**63)},
    ],
)
def test_int_beyond_int64_raises_overflow_error(doc: dict[str, Any]) -> None:
    with pytest.raises(OverflowError):
        encode(doc)


def test_int64_bounds_encode() -> None:
    assert decode(encode({"a": 2**63 - 1, "b": -(2**63)})) == {"a": 2**63 - 1, "b": -(2**63)}


def test_invalid_strings_and_values() -> None:
    with pytest.raises(InvalidStringData):
        encode({"s": "\ud800"})
    with pytest.raises((InvalidStringData, InvalidDocument)):
        encode({"\udc00": 1})
    with pytest.raises(InvalidDocument):
        encode({"x": object()})
    with pytest.raises(InvalidDocument):
        encode({"x": {1, 2}})
    with pytest.raises(TypeError):
        encode([("a", 1)])  # type: ignore[arg-type]


@settings(max_examples=60, **_SETTINGS)
@given(documents(max_leaves=6))
def test_max_size_raises_document_too_large(doc: dict[str, Any]) -> None:
    size = len(encode(doc))
    assert encode(doc, max_size=size) == encode(doc)
    with pytest.raises(DocumentTooLarge):
        encode(doc, max_size=size - 1)


def test_document_too_large_is_an_invalid_document() -> None:
    with pytest.raises(InvalidDocument):
        encode({"s": "x" * 1000}, max_size=100)
