"""Differential tests: driver.bson against PyMongo's ``bson`` (the reference).

For generated documents both encoders must produce the same bytes, and both decoders
must read the same bytes into the same values (PyMongo's results are mapped to our
types first, then compared strictly with :func:`bson_equal`), under many CodecOptions.
Hostile bytes must be accepted or refused by both alike. PyMongo is used here as a
reference only; ``driver`` never imports it.
"""

from __future__ import annotations

import datetime
import re
import struct
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import bson as pybson
import bson.raw_bson as pyraw
import pymongo
import pytest
from bson.codec_options import DatetimeConversion as PyDatetimeConversion
from bson.tz_util import FixedOffset as PyFixedOffset
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from driver.bson import (
    CSHARP_LEGACY,
    DEFAULT_CODEC_OPTIONS,
    JAVA_LEGACY,
    PYTHON_LEGACY,
    SON,
    STANDARD,
    Binary,
    Code,
    CodecOptions,
    DatetimeConversion,
    DatetimeMS,
    DBRef,
    Decimal128,
    Int64,
    InvalidBSON,
    InvalidDocument,
    InvalidStringData,
    MaxKey,
    MinKey,
    ObjectId,
    RawBSONDocument,
    Regex,
    Timestamp,
    decode,
    decode_all,
    encode,
    is_valid,
)
from driver.bson.tz_util import FixedOffset
from tests.driver.bson.strategies import (
    HOSTILE_DECODE_OPTIONS,
    INT64_MAX,
    INT64_MIN,
    MAX_DATETIME_MS,
    MIN_DATETIME_MS,
    bson_equal,
    documents,
    keys,
    mutated,
    values,
)

_SETTINGS = {
    "deadline": datetime.timedelta(seconds=5),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
_DBREF_KEYS = ("$ref", "$id", "$db")
# The reference is PyMongo 4.20; older releases have the bugs _known_difference names.
_OLD_PYMONGO = pymongo.version_tuple[:2] < (4, 20)
_pack_i = struct.Struct("<i").pack

# ------------------------------------------------------------------- conversions


def to_py(value: Any) -> Any:
    """One of our values (recursively) as the equivalent PyMongo value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Int64):
        return pybson.Int64(int(value))
    if isinstance(value, ObjectId):
        return pybson.ObjectId(value.binary)
    if isinstance(value, Decimal128):
        return pybson.Decimal128.from_bid(value.bid)
    if isinstance(value, Binary):
        return pybson.Binary(bytes(value), value.subtype)
    if isinstance(value, Code):
        return pybson.Code(str(value), None if value.scope is None else to_py(value.scope))
    if isinstance(value, Regex):
        return pybson.Regex(value.pattern, value.flags)
    if isinstance(value, Timestamp):
        return pybson.Timestamp(value.time, value.inc)
    if isinstance(value, MinKey):
        return pybson.MinKey()
    if isinstance(value, MaxKey):
        return pybson.MaxKey()
    if isinstance(value, DatetimeMS):
        return pybson.DatetimeMS(int(value))
    if isinstance(value, DBRef):
        extra = {k: to_py(v) for k, v in value.as_doc().items() if k not in _DBREF_KEYS}
        return pybson.DBRef(value.collection, to_py(value.id), value.database, extra)
    if isinstance(value, RawBSONDocument):
        return pyraw.RawBSONDocument(value.raw)
    if isinstance(value, SON):
        return pybson.SON((k, to_py(v)) for k, v in value.items())
    if isinstance(value, Mapping):
        return {k: to_py(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_py(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_py(v) for v in value)
    # float, int, str, bytes, datetime, uuid.UUID, re.Pattern: shared builtin types.
    return value


def from_py(value: Any) -> Any:
    """A value PyMongo decoded (recursively) as the equivalent one of ours."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, pybson.Int64):
        return Int64(int(value))
    if isinstance(value, pybson.ObjectId):
        return ObjectId(value.binary)
    if isinstance(value, pybson.Decimal128):
        return Decimal128.from_bid(value.bid)
    if isinstance(value, pybson.Binary):
        return Binary(bytes(value), value.subtype)
    if isinstance(value, pybson.Code):
        # PyMongo keeps the scope's document_class (e.g. SON) at the top of the scope;
        # our Code stores its scope as a dict (nested documents keep their class).
        scope = None if value.scope is None else dict(from_py(value.scope))
        return Code(str(value), scope)
    if isinstance(value, pybson.Regex):
        return Regex(value.pattern, value.flags)
    if isinstance(value, pybson.Timestamp):
        return Timestamp(value.time, value.inc)
    if isinstance(value, pybson.MinKey):
        return MinKey()
    if isinstance(value, pybson.MaxKey):
        return MaxKey()
    if isinstance(value, pybson.DatetimeMS):
        return DatetimeMS(int(value))
    if isinstance(value, pybson.DBRef):
        extra = {k: from_py(v) for k, v in value.as_doc().items() if k not in _DBREF_KEYS}
        return DBRef(value.collection, from_py(value.id), value.database, extra)
    if isinstance(value, pyraw.RawBSONDocument):
        return RawBSONDocument(value.raw)
    if isinstance(value, pybson.SON):
        return SON((k, from_py(v)) for k, v in value.items())
    if isinstance(value, dict):
        return {k: from_py(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_py(v) for v in value]
    return value


def to_py_options(opts: CodecOptions[Any]) -> pybson.CodecOptions[Any]:
    """The PyMongo CodecOptions equivalent to ours."""
    classes: dict[Any, Any] = {dict: dict, SON: pybson.SON, RawBSONDocument: pyraw.RawBSONDocument}
    tzinfo = opts.tzinfo
    if tzinfo is not None:
        offset = tzinfo.utcoffset(None)
        assert offset is not None
        tzinfo = PyFixedOffset(offset, tzinfo.tzname(None) or "tz")
    return pybson.CodecOptions(
        document_class=classes[opts.document_class],
        tz_aware=opts.tz_aware,
        uuid_representation=opts.uuid_representation,
        unicode_decode_error_handler=opts.unicode_decode_error_handler,
        tzinfo=tzinfo,
        datetime_conversion=PyDatetimeConversion(int(opts.datetime_conversion)),
    )


def _py_encode(doc: Any, **kwargs: Any) -> bytes | None:
    """``pybson.encode``, or None where PyMongo before 4.20 cannot encode the value: its C
    extension fails with SystemError on Binary subtype 255 (a PyMongo bug)."""
    try:
        return pybson.encode(doc, **kwargs)
    except SystemError:
        if _OLD_PYMONGO:
            return None
        raise


def _outcome(func: Callable[[], Any], errors: tuple[type[BaseException], ...]) -> tuple[str, Any]:
    try:
        return "ok", func()
    except errors as exc:
        return "error", type(exc).__name__


def _decode_both(data: bytes, opts: CodecOptions[Any]) -> tuple[tuple[str, Any], tuple[str, Any]]:
    ours = _outcome(lambda: decode(data, opts), (InvalidBSON,))
    theirs = _outcome(
        lambda: from_py(pybson.decode(data, to_py_options(opts))), (pybson.errors.InvalidBSON,)
    )
    return ours, theirs


def _nested_values(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _nested_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nested_values(item)
    elif isinstance(value, Code) and value.scope is not None:
        yield from _nested_values(value.scope)
    elif isinstance(value, DBRef):
        yield from _nested_values(value.as_doc())


def _known_difference(
    ours: tuple[str, Any], theirs: tuple[str, Any], opts: CodecOptions[Any]
) -> bool:
    """Whether a disagreement is one of the known PyMongo differences below."""
    if ours[0] == "ok" and theirs[0] == "error":
        # We keep a subtype 3/4 payload that is not 16 bytes as Binary. PyMongo raises
        # InvalidBSON when the representation would decode it as a UUID (an open
        # question: test_wrong_length_uuid_is_invalid_bson_like_pymongo), and PyMongo
        # before 4.20 (C extension) whatever the representation (a PyMongo bug).
        rep = opts.uuid_representation
        for value in _nested_values(ours[1]):
            if isinstance(value, Binary) and value.subtype in (3, 4) and len(value) != 16:
                if _OLD_PYMONGO:
                    return True
                if (value.subtype == 4 and rep == STANDARD) or (
                    value.subtype == 3 and rep in (PYTHON_LEGACY, JAVA_LEGACY, CSHARP_LEGACY)
                ):
                    return True
    if ours[0] == "error" and theirs[0] == "ok" and _OLD_PYMONGO:
        # PyMongo before 4.20 (C extension) lets a regex's options run into the NUL
        # that ends the enclosing document, e.g. 09000000 0b 01 00 00 00 decodes as
        # {"\x01": Regex("")}; 4.20 refuses it, as we do (a PyMongo bug).
        return any(isinstance(value, Regex) for value in _nested_values(theirs[1]))
    return False


def _assert_same_outcome(
    ours: tuple[str, Any], theirs: tuple[str, Any], data: bytes, opts: CodecOptions[Any]
) -> None:
    if ours[0] != theirs[0] and _known_difference(ours, theirs, opts):
        return
    assert ours[0] == theirs[0], f"ours: {ours!r}, PyMongo: {theirs!r}, bytes: {data.hex()}"
    if ours[0] == "ok":
        assert bson_equal(ours[1], theirs[1]), (ours[1], theirs[1])


def _assert_same_decoding(data: bytes, opts: CodecOptions[Any]) -> None:
    ours, theirs = _decode_both(data, opts)
    _assert_same_outcome(ours, theirs, data, opts)


# -------------------------------------------------------------- conversion sanity


def test_conversions_are_inverse() -> None:
    doc = {
        "_id": ObjectId(),
        "i64": Int64(5),
        "dec": Decimal128("1.5"),
        "bin": Binary(b"x", 0x80),
        "code": Code("f", {"a": SON([("b", 1)])}),
        "re": Regex("a", "i"),
        "ts": Timestamp(1, 2),
        "min": MinKey(),
        "max": MaxKey(),
        "ms": DatetimeMS(2**60),
        "ref": DBRef("c", 1, "d", {"x": 1}),
        "son": SON([("z", 1), ("a", [1.5, "s"])]),
    }
    assert bson_equal(from_py(to_py(doc)), doc)
    assert encode(doc) == pybson.encode(to_py(doc))


# ---------------------------------------------------------------- documents


_UUID_REPRESENTATIONS = [0, STANDARD, PYTHON_LEGACY, JAVA_LEGACY, CSHARP_LEGACY]
_OPTIONS = {
    "default": DEFAULT_CODEC_OPTIONS,
    "tz_aware": CodecOptions(tz_aware=True),
    "tzinfo": CodecOptions(tz_aware=True, tzinfo=FixedOffset(-150, "minus-2:30")),
    "son": CodecOptions(document_class=SON),
    "standard": CodecOptions(uuid_representation=STANDARD),
    "python_legacy": CodecOptions(uuid_representation=PYTHON_LEGACY, document_class=SON),
    "java_legacy": CodecOptions(uuid_representation=JAVA_LEGACY, tz_aware=True),
    "csharp_legacy": CodecOptions(uuid_representation=CSHARP_LEGACY),
    "datetime_ms": CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS),
    "datetime_auto": CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO),
    "datetime_clamp": CodecOptions(
        datetime_conversion=DatetimeConversion.DATETIME_CLAMP,
        tz_aware=True,
        tzinfo=FixedOffset(90, "plus-1:30"),
    ),
}


@pytest.mark.parametrize("name", list(_OPTIONS))
@settings(max_examples=40, **_SETTINGS)
@given(data=st.data())
def test_same_bytes_and_values_as_pymongo(name: str, data: st.DataObject) -> None:
    opts = _OPTIONS[name]
    doc = data.draw(documents(opts.uuid_representation), label="doc")
    raw = encode(doc, codec_options=opts)
    assert _py_encode(to_py(doc), codec_options=to_py_options(opts)) in (raw, None)
    _assert_same_decoding(raw, opts)


@settings(max_examples=150, **_SETTINGS)
@given(documents())
def test_same_bytes_as_pymongo_default_options(doc: dict[str, Any]) -> None:
    raw = encode(doc)
    assert _py_encode(to_py(doc)) in (raw, None)
    _assert_same_decoding(raw, DEFAULT_CODEC_OPTIONS)
    # PyMongo writes what we decoded the same, and we write what PyMongo decoded the same.
    assert _py_encode(to_py(decode(raw))) in (raw, None)
    theirs = _outcome(lambda: from_py(pybson.decode(raw)), (pybson.errors.InvalidBSON,))
    if theirs[0] == "ok":
        assert encode(theirs[1]) == raw


@settings(max_examples=40, **_SETTINGS)
@given(st.lists(documents(max_leaves=6), min_size=0, max_size=4))
def test_decode_all_matches_pymongo(docs: list[dict[str, Any]]) -> None:
    data = b"".join(map(encode, docs))
    ours = _outcome(lambda: decode_all(data), (InvalidBSON,))
    theirs = _outcome(lambda: from_py(pybson.decode_all(data)), (pybson.errors.InvalidBSON,))
    _assert_same_outcome(ours, theirs, data, DEFAULT_CODEC_OPTIONS)
    assert ours[0] == "ok"


@settings(max_examples=40, **_SETTINGS)
@given(documents(max_leaves=6))
def test_raw_bson_document_matches_pymongo(doc: dict[str, Any]) -> None:
    raw = encode(doc)
    ours = decode(raw, CodecOptions(document_class=RawBSONDocument))
    theirs = pybson.decode(raw, pybson.CodecOptions(document_class=pyraw.RawBSONDocument))
    assert ours.raw == theirs.raw == raw
    names = _outcome(lambda: list(theirs), (pybson.errors.InvalidBSON,))
    if names[0] == "error":
        assert _known_difference(("ok", decode(raw)), names, DEFAULT_CODEC_OPTIONS)
        return
    assert list(ours) == names[1]
    for key in ours:
        if isinstance(ours[key], RawBSONDocument):
            assert ours[key].raw == theirs[key].raw


@settings(max_examples=100, **_SETTINGS)
@given(st.dictionaries(keys(), values(max_leaves=6), max_size=5))
def test_check_keys_agrees_with_pymongo(doc: dict[str, Any]) -> None:
    ours = _outcome(lambda: encode(doc, check_keys=True), (InvalidDocument,))
    theirs = _outcome(
        lambda: _py_encode(to_py(doc), check_keys=True), (pybson.errors.InvalidDocument,)
    )
    if theirs != ("ok", None):
        assert ours == theirs


# (value, what we raise, what PyMongo raises). The two differences are deliberate:
# PyMongo lets UnicodeEncodeError (a lone surrogate) and ValueError (a native UUID
# under UuidRepresentation.UNSPECIFIED) escape; we raise the documented BSON errors.
_ENCODE_ERRORS = [
    (2**63, OverflowError, "OverflowError"),
    (-(2**63) - 1, OverflowError, "OverflowError"),
    (object(), InvalidDocument, "InvalidDocument"),
    ({1, 2}, InvalidDocument, "InvalidDocument"),
    ({"k\x00": 1}, InvalidDocument, "InvalidDocument"),
    ({1: 2}, InvalidDocument, "InvalidDocument"),
    (Regex("a\x00b"), InvalidDocument, "InvalidDocument"),
    ("\ud800", InvalidStringData, "UnicodeEncodeError"),
    ({"\ud800": 1}, InvalidStringData, "UnicodeEncodeError"),
    (Regex("\ud800"), InvalidStringData, "UnicodeEncodeError"),
    (uuid.UUID(int=1), InvalidDocument, "ValueError"),
]


@pytest.mark.parametrize(("value", "ours", "theirs"), _ENCODE_ERRORS, ids=repr)
def test_encode_errors_compared_with_pymongo(
    value: Any, ours: type[Exception], theirs: str
) -> None:
    with pytest.raises(ours):
        encode({"v": value})
    with pytest.raises(Exception) as info:
        pybson.encode({"v": to_py(value)})
    assert type(info.value).__name__ == theirs


# ------------------------------------------------------------- UUIDs and Binary


@settings(max_examples=60, **_SETTINGS)
@given(st.uuids(), st.sampled_from([STANDARD, PYTHON_LEGACY, JAVA_LEGACY, CSHARP_LEGACY]))
def test_native_uuid_matches_pymongo(value: uuid.UUID, representation: int) -> None:
    opts = CodecOptions(uuid_representation=representation)
    raw = encode({"u": value}, codec_options=opts)
    assert raw == pybson.encode({"u": value}, codec_options=to_py_options(opts))
    for reader in _UUID_REPRESENTATIONS:
        _assert_same_decoding(raw, CodecOptions(uuid_representation=reader))


@settings(max_examples=60, **_SETTINGS)
@given(st.binary(min_size=0, max_size=20), st.sampled_from([3, 4]))
@example(b"0123456789abcdef", 3)
@example(b"0123456789abcdef", 4)
def test_uuid_subtypes_of_other_lengths(payload: bytes, subtype: int) -> None:
    raw = encode({"b": Binary(payload, subtype)})
    assert raw == pybson.encode({"b": pybson.Binary(payload, subtype)})
    for reader in _UUID_REPRESENTATIONS:
        opts = CodecOptions(uuid_representation=reader)
        if len(payload) != 16 and (
            (subtype == 4 and reader == STANDARD) or (subtype == 3 and reader not in (0, STANDARD))
        ):
            continue  # see test_wrong_length_uuid_is_invalid_bson_like_pymongo
        _assert_same_decoding(raw, opts)


@pytest.mark.parametrize(
    ("subtype", "representation"),
    [(4, STANDARD), (3, PYTHON_LEGACY), (3, JAVA_LEGACY), (3, CSHARP_LEGACY)],
)
def test_wrong_length_uuid_stays_binary_where_pymongo_refuses(
    subtype: int, representation: int
) -> None:
    # A deliberate difference (docs/bson.md): a UUID-subtype payload that is not 16
    # bytes cannot be a UUID, so we hand it back as Binary rather than make the whole
    # document unreadable; PyMongo 4.20 raises InvalidBSON.
    raw = encode({"b": Binary(b"short", subtype)})
    opts = CodecOptions(uuid_representation=representation)
    with pytest.raises(pybson.errors.InvalidBSON):
        pybson.decode(raw, to_py_options(opts))
    assert decode(raw, opts) == {"b": Binary(b"short", subtype)}


# ---------------------------------------------------------------- datetimes


def _datetime_doc(millis: int) -> bytes:
    return _pack_i(16) + b"\x09d\x00" + struct.pack("<q", millis) + b"\x00"


_EDGE_MILLIS = [
    INT64_MIN,
    INT64_MAX,
    MIN_DATETIME_MS - 1,
    MIN_DATETIME_MS,
    MIN_DATETIME_MS + 1,
    MAX_DATETIME_MS - 1,
    MAX_DATETIME_MS,
    MAX_DATETIME_MS + 1,
    0,
    -1,
    2**62,
    -(2**62),
]
_TZINFOS = [None, FixedOffset(90, "east"), FixedOffset(-90, "west"), FixedOffset(0, "zero")]


_TZ_CHOICES = [(False, None), *((True, tz) for tz in _TZINFOS)]


@pytest.mark.parametrize("conversion", list(DatetimeConversion), ids=lambda c: c.name)
@pytest.mark.parametrize(("tz_aware", "tzinfo"), _TZ_CHOICES, ids=repr)
def test_edge_datetimes_match_pymongo(
    conversion: DatetimeConversion, tz_aware: bool, tzinfo: datetime.tzinfo | None
) -> None:
    opts = CodecOptions(tz_aware=tz_aware, tzinfo=tzinfo, datetime_conversion=conversion)
    for millis in _EDGE_MILLIS:
        _assert_same_decoding(_datetime_doc(millis), opts)


@settings(max_examples=150, **_SETTINGS)
@given(
    st.integers(INT64_MIN, INT64_MAX)
    | st.integers(MIN_DATETIME_MS - 10**6, MIN_DATETIME_MS + 10**6)
    | st.integers(MAX_DATETIME_MS - 10**6, MAX_DATETIME_MS + 10**6),
    st.sampled_from(list(DatetimeConversion)),
    st.sampled_from(_TZINFOS),
)
def test_random_datetimes_match_pymongo(
    millis: int, conversion: DatetimeConversion, tzinfo: datetime.tzinfo | None
) -> None:
    opts = CodecOptions(tz_aware=tzinfo is not None, tzinfo=tzinfo, datetime_conversion=conversion)
    _assert_same_decoding(_datetime_doc(millis), opts)


def test_datetime_ms_encodes_like_pymongo() -> None:
    for millis in _EDGE_MILLIS:
        assert encode({"d": DatetimeMS(millis)}) == pybson.encode({"d": pybson.DatetimeMS(millis)})


def test_aware_datetimes_encode_like_pymongo() -> None:
    value = datetime.datetime(2020, 5, 17, 12, 30, 1, 999999, tzinfo=FixedOffset(-330, "x"))
    py_value = value.replace(tzinfo=PyFixedOffset(-330, "x"))
    assert encode({"d": value}) == pybson.encode({"d": py_value})


# ------------------------------------------------------------- hostile input

_DECODE_OPTIONS = HOSTILE_DECODE_OPTIONS

_hostile = documents(max_leaves=8).map(encode).flatmap(mutated) | st.binary(max_size=48)


@settings(max_examples=500, **_SETTINGS)
@given(_hostile)
def test_is_valid_agrees_with_pymongo(data: bytes) -> None:
    if is_valid(data) != pybson.is_valid(data):
        # is_valid is "decodes with the default options": explain the disagreement.
        ours, theirs = _decode_both(data, DEFAULT_CODEC_OPTIONS)
        assert _known_difference(ours, theirs, DEFAULT_CODEC_OPTIONS), (ours, theirs, data.hex())


@settings(max_examples=400, **_SETTINGS)
@given(_hostile, st.sampled_from(_DECODE_OPTIONS))
def test_decoding_hostile_bytes_agrees_with_pymongo(data: bytes, opts: CodecOptions[Any]) -> None:
    _assert_same_decoding(data, opts)


@settings(max_examples=150, **_SETTINGS)
@given(_hostile)
def test_decode_all_on_hostile_bytes_agrees_with_pymongo(data: bytes) -> None:
    ours = _outcome(lambda: decode_all(data), (InvalidBSON,))
    theirs = _outcome(lambda: from_py(pybson.decode_all(data)), (pybson.errors.InvalidBSON,))
    _assert_same_outcome(ours, theirs, data, DEFAULT_CODEC_OPTIONS)


def test_regex_flags_match_pymongo() -> None:
    for flags in range(0, 512):
        pattern = Regex("a", flags)
        assert encode({"r": pattern}) == pybson.encode({"r": pybson.Regex("a", flags)})
    compiled = re.compile("a.b", re.I | re.M | re.S | re.X)
    assert encode({"r": compiled}) == pybson.encode({"r": compiled})
