"""Hypothesis strategies for BSON values and documents, and helpers to check them.

Every value type the codec supports is generated here: floats (NaN, infinities and
-0.0 included), strings, int32/int64 ints, Int64, bools, None, ObjectId, datetimes
(naive UTC, millisecond precision, years 1 to 9999), bytes, Binary with every
subtype, native UUIDs (only under a UUID representation that can store them), Regex,
Code (with and without scope), Timestamp, Decimal128, MinKey, MaxKey, DBRef, and
nested documents and arrays of bounded depth and size.

Helpers:

- :func:`expected_decoded` is what decoding the encoding of a value must give back
  (ints beyond int32 come back as Int64, tuples as lists, subtype 0 as bytes...),
  written independently of the codec;
- :func:`bson_equal` compares two decoded values strictly: same types, and floats
  compared by their bits, so NaN equals NaN and 0.0 differs from -0.0;
- :func:`length_prefix_offsets` finds the int32 length prefixes inside valid BSON,
  for mutations that lie about lengths;
- :func:`mutated` turns valid BSON into plausible garbage.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import re
import struct
import uuid
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from driver.bson import (
    CSHARP_LEGACY,
    DEFAULT_CODEC_OPTIONS,
    JAVA_LEGACY,
    PYTHON_LEGACY,
    SON,
    STANDARD,
    Binary,
    BinaryVectorDtype,
    Code,
    CodecOptions,
    DatetimeConversion,
    DatetimeMS,
    DBRef,
    Decimal128,
    Int64,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Timestamp,
)

__all__ = [
    "HOSTILE_DECODE_OPTIONS",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DATETIME_MS",
    "MIN_DATETIME_MS",
    "binaries",
    "bson_equal",
    "datetimes",
    "dbrefs",
    "decimal128s",
    "documents",
    "expected_decoded",
    "floats",
    "json_floats",
    "keys",
    "length_prefix_offsets",
    "mutated",
    "regexes",
    "scalars",
    "strings",
    "values",
]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# The milliseconds since the epoch that datetime.datetime can hold (in UTC).
MIN_DATETIME_MS = -62135596800000
MAX_DATETIME_MS = 253402300799999
_EPOCH = datetime.datetime(1970, 1, 1)
_UTC = datetime.timezone.utc

# Keys that turn a nested document into a DBRef on decoding: generated documents
# avoid them so that a plain dict comes back as a plain dict (DBRefs are generated
# on purpose by dbrefs()).
_DBREF_KEYS = frozenset({"$ref", "$id", "$db"})

# ------------------------------------------------------------------------ scalars

_unicode = st.characters(exclude_categories=("Cs",))  # no lone surrogates
_unicode_no_nul = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")

# Strings may hold NUL (they are length-prefixed); keys and regexes may not.
strings = st.text(_unicode, max_size=12)


@functools.cache
def keys(dollar: bool = True) -> st.SearchStrategy[str]:
    """Document keys: any Unicode without NUL; ``dollar=False`` refuses a leading ``$``
    (Extended JSON reads ``{"$...": ...}`` as a type wrapper)."""
    base = st.text(_unicode_no_nul, max_size=6) | st.sampled_from(["_id", "a", "a.b", "$x", ""])
    if dollar:
        return base.filter(lambda key: key not in _DBREF_KEYS)
    return base.filter(lambda key: not key.startswith("$"))


_special_floats = [math.inf, -math.inf, 0.0, -0.0, 5e-324, 1.7976931348623157e308]
# Every float, NaNs with any sign and payload included.
floats = st.floats() | st.sampled_from([math.nan, -math.nan, *_special_floats])
# The floats Extended JSON keeps bit for bit: its only NaN is the canonical one.
json_floats = st.floats(allow_nan=False) | st.sampled_from([math.nan, *_special_floats])
int32s = st.integers(INT32_MIN, INT32_MAX)
int64s = st.integers(INT64_MIN, INT64_MAX)
ints = int32s | int64s | st.sampled_from([INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX, -1, 0])
object_ids = st.binary(min_size=12, max_size=12).map(ObjectId)


def _to_millis_precision(value: datetime.datetime) -> datetime.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# Naive datetimes, read as UTC by the encoder, at the millisecond precision BSON keeps.
datetimes = st.datetimes(
    min_value=datetime.datetime(1, 1, 1),
    max_value=datetime.datetime(9999, 12, 31, 23, 59, 59, 999000),
).map(_to_millis_precision)
# DatetimeMS within datetime's range: it decodes as a datetime by default.
in_range_datetime_ms = st.integers(MIN_DATETIME_MS, MAX_DATETIME_MS).map(DatetimeMS)

timestamps = st.builds(Timestamp, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))

_flag_strings = st.sets(st.sampled_from("ilmsux")).map(lambda letters: "".join(sorted(letters)))
_patterns = st.text(_unicode_no_nul, max_size=10)
regexes = st.builds(Regex, _patterns, _flag_strings) | st.sampled_from(
    [
        re.compile(r"^a.*b$", re.IGNORECASE),
        re.compile(r"x # comment", re.MULTILINE | re.DOTALL | re.VERBOSE),
        re.compile(r"plain"),
    ]
)


@st.composite
def _finite_decimals(draw: st.DrawFn) -> decimal.Decimal:
    # At most 34 digits and an exponent decimal128 stores: always exact, never clamped.
    sign = draw(st.integers(0, 1))
    coefficient = draw(
        st.integers(0, 10**34 - 1) | st.integers(0, 10**6) | st.sampled_from([0, 1, 10**34 - 1])
    )
    exponent = draw(st.integers(-6176, 6111) | st.integers(-20, 20))
    digits = tuple(int(c) for c in str(coefficient))
    return decimal.Decimal((sign, digits, exponent))


_special_decimals = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "0", "-0", "1E+6144", "1E-6176"]
).map(decimal.Decimal)
# Decimal128 from Decimals: canonical encodings, which Extended JSON keeps too.
decimal128s = st.builds(Decimal128, _finite_decimals() | _special_decimals)
# Every NaN flavour: Extended JSON writes them all as "NaN".
_nan_decimals = st.sampled_from(["-NaN", "sNaN", "-sNaN"]).map(Decimal128)
# Any 16 bytes (non-canonical encodings included): BSON itself must keep them as is.
decimal128_bids = st.binary(min_size=16, max_size=16).map(Decimal128.from_bid)

_vectors = (
    st.lists(st.integers(-128, 127), max_size=6).map(
        lambda data: Binary.from_vector(data, BinaryVectorDtype.INT8)
    )
    | st.lists(st.floats(width=32, allow_nan=False), max_size=4).map(
        lambda data: Binary.from_vector(data, BinaryVectorDtype.FLOAT32)
    )
    | st.lists(st.integers(0, 255), min_size=1, max_size=4).map(
        lambda data: Binary.from_vector(data, BinaryVectorDtype.PACKED_BIT)
    )
)


@functools.cache
def binaries(uuid_representation: int = 0) -> st.SearchStrategy[Any]:
    """bytes, Binary of every subtype, and (when the representation can store them)
    native UUIDs and 16-byte subtype 3/4 Binary that decode as UUIDs."""
    payload = st.binary(max_size=24)
    plain = st.builds(
        Binary, payload, st.sampled_from([0, 1, 2, 5, 6, 7, 8]) | st.integers(0x80, 0xFF)
    )
    options = [payload, plain, _vectors]
    if uuid_representation == 0:
        # No UUID decoding: subtype 3 and 4 stay Binary whatever their length.
        options.append(st.builds(Binary, payload, st.sampled_from([3, 4])))
    else:
        options.append(st.uuids())
        options.append(
            st.builds(Binary, st.binary(min_size=16, max_size=16), st.sampled_from([3, 4]))
        )
    return st.one_of(options)


@functools.cache
def scalars(uuid_representation: int = 0, json_safe: bool = False) -> st.SearchStrategy[Any]:
    """Every non-container value; ``json_safe`` keeps to values that Extended JSON
    canonical mode preserves exactly (one NaN, canonical Decimal128 encodings)."""
    return st.one_of(
        json_floats if json_safe else floats,
        strings,
        ints,
        int64s.map(Int64),
        st.booleans(),
        st.none(),
        object_ids,
        datetimes,
        in_range_datetime_ms,
        binaries(uuid_representation),
        regexes,
        st.builds(Code, strings),
        timestamps,
        decimal128s if json_safe else (decimal128s | _nan_decimals | decimal128_bids),
        st.just(MinKey()),
        st.just(MaxKey()),
    )


def dbrefs(ids: st.SearchStrategy[Any], key: st.SearchStrategy[str]) -> st.SearchStrategy[DBRef]:
    """DBRefs with an id from ``ids``, optional database, optional extra fields."""
    return st.builds(
        DBRef,
        strings,
        ids,
        st.none() | strings,
        st.dictionaries(key.filter(lambda k: not k.startswith("$")), ids, max_size=2),
    )


@functools.cache
def values(
    uuid_representation: int = 0, json_safe: bool = False, max_leaves: int = 12
) -> st.SearchStrategy[Any]:
    """Any value, nested documents and arrays included (bounded by ``max_leaves``).

    ``json_safe``: only what Extended JSON canonical mode round-trips exactly (see
    :func:`scalars`), and no key starting with ``$``.
    """
    leaves = scalars(uuid_representation, json_safe)
    key = keys(dollar=not json_safe)

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        docs = st.dictionaries(key, children, max_size=4)
        return st.one_of(
            st.lists(children, max_size=4),
            st.lists(children, max_size=3).map(tuple),
            docs,
            docs.map(SON),
            st.builds(Code, strings, docs),
            dbrefs(children, key),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


@st.composite
def _documents(
    draw: st.DrawFn, uuid_representation: int, json_safe: bool, max_leaves: int
) -> dict[str, Any]:
    value = values(uuid_representation, json_safe, max_leaves)
    doc = draw(st.dictionaries(keys(dollar=not json_safe), value, max_size=6))
    if draw(st.booleans()):
        # "_id" last: the encoder must move it first.
        doc.pop("_id", None)
        doc["_id"] = draw(value)
    return doc


@functools.cache
def documents(
    uuid_representation: int = 0, json_safe: bool = False, max_leaves: int = 12
) -> st.SearchStrategy[dict[str, Any]]:
    """Top-level documents (dicts), sometimes with an ``_id`` that is not first.

    ``uuid_representation``: native UUIDs (and 16-byte subtype 3/4 Binary) appear only
    under a representation that stores them; ``json_safe``: see :func:`values`.
    """
    return _documents(uuid_representation, json_safe, max_leaves)


# ------------------------------------------------------------ expected round trip

_REGEX_FLAGS = re.IGNORECASE | re.LOCALE | re.MULTILINE | re.DOTALL | re.UNICODE | re.VERBOSE


def _java_order(data: bytes) -> bytes:
    return data[7::-1] + data[:7:-1]


def _uuid_bytes(value: uuid.UUID, representation: int) -> tuple[bytes, int]:
    if representation == STANDARD:
        return value.bytes, 4
    if representation == PYTHON_LEGACY:
        return value.bytes, 3
    if representation == JAVA_LEGACY:
        return _java_order(value.bytes), 3
    if representation == CSHARP_LEGACY:
        return value.bytes_le, 3
    raise AssertionError(f"no UUID encoding under representation {representation}")


def _binary_as_decoded(data: bytes, subtype: int, representation: int) -> Any:
    if subtype == 0:
        return data
    if len(data) == 16:
        if subtype == 4 and representation == STANDARD:
            return uuid.UUID(bytes=data)
        if subtype == 3:
            if representation == PYTHON_LEGACY:
                return uuid.UUID(bytes=data)
            if representation == JAVA_LEGACY:
                return uuid.UUID(bytes=_java_order(data))
            if representation == CSHARP_LEGACY:
                return uuid.UUID(bytes_le=data)
    return Binary(data, subtype)


def _datetime_as_decoded(millis: int, opts: CodecOptions[Any]) -> datetime.datetime:
    naive = _EPOCH + datetime.timedelta(milliseconds=millis)
    if not opts.tz_aware:
        return naive
    aware = naive.replace(tzinfo=_UTC)
    return aware.astimezone(opts.tzinfo) if opts.tzinfo is not None else aware


def _millis(value: datetime.datetime) -> int:
    if value.utcoffset() is not None:
        value = value.replace(tzinfo=None) - value.utcoffset()  # type: ignore[operator]
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def expected_decoded(value: Any, opts: CodecOptions[Any] | None = None, top: bool = True) -> Any:
    """What ``decode(encode(value))`` must give for a generated value, under ``opts``
    (default: ``CodecOptions()``), written without the codec's help.

    ``value`` is a document when ``top`` (its ``_id`` then moves first).
    """
    opts = opts if opts is not None else CodecOptions()

    def doc(mapping: Mapping[str, Any], top_level: bool = False) -> Any:
        items = list(mapping.items())
        if top_level and "_id" in mapping:
            items = [("_id", mapping["_id"])] + [(k, v) for k, v in items if k != "_id"]
        out = opts.document_class()
        for key, item in items:
            out[key] = conv(item)
        return out

    def conv(item: Any) -> Any:
        # The order matters: bool before int, Int64 and Binary before their bases...
        if isinstance(item, bool) or item is None:
            return item
        if isinstance(item, Int64):
            return Int64(item)
        if isinstance(item, int):
            return item if INT32_MIN <= item <= INT32_MAX else Int64(item)
        if isinstance(item, (float, str)) and not isinstance(item, Code):
            return item
        if isinstance(item, Code):
            if item.scope is None:
                return Code(str(item))
            return Code(str(item), dict(doc(item.scope)))
        if isinstance(item, Binary):
            return _binary_as_decoded(bytes(item), item.subtype, opts.uuid_representation)
        if isinstance(item, bytes):
            return item
        if isinstance(item, uuid.UUID):
            data, subtype = _uuid_bytes(item, opts.uuid_representation)
            return _binary_as_decoded(data, subtype, opts.uuid_representation)
        if isinstance(item, datetime.datetime):
            return _datetime_as_decoded(_millis(item), opts)
        if isinstance(item, DatetimeMS):
            return _datetime_as_decoded(int(item), opts)
        if isinstance(item, re.Pattern):
            return Regex(item.pattern, item.flags & _REGEX_FLAGS)
        if isinstance(item, Regex):
            return Regex(item.pattern, item.flags & _REGEX_FLAGS)
        if isinstance(item, DBRef):
            extra = {k: v for k, v in item.as_doc().items() if k not in _DBREF_KEYS}
            return DBRef(item.collection, conv(item.id), item.database, doc(extra))
        if isinstance(item, Mapping):
            return doc(item)
        if isinstance(item, (list, tuple)):
            return [conv(v) for v in item]
        if isinstance(item, (ObjectId, Timestamp, Decimal128, MinKey, MaxKey)):
            return item
        raise AssertionError(f"no expectation for {type(item).__name__}: {item!r}")

    return doc(value, top_level=True) if top else conv(value)


# ---------------------------------------------------------------------- equality


def _float_bits(value: float) -> bytes:
    return struct.pack("<d", value)


def bson_equal(left: Any, right: Any) -> bool:
    """Strict equality of decoded values: the same types all the way down, dict keys
    in the same order, floats bit for bit (NaN == NaN, 0.0 != -0.0)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return _float_bits(left) == _float_bits(right)
    if isinstance(left, Mapping) and not hasattr(left, "raw"):
        return list(left) == list(right) and all(bson_equal(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(bson_equal, left, right))
    if isinstance(left, Code):
        return str(left) == str(right) and bson_equal(left.scope, right.scope)
    if isinstance(left, DBRef):
        return bson_equal(left.as_doc(), right.as_doc())
    if isinstance(left, Regex):
        return type(left.pattern) is type(right.pattern) and (left.pattern, left.flags) == (
            right.pattern,
            right.flags,
        )
    if isinstance(left, datetime.datetime):
        return left == right and left.utcoffset() == right.utcoffset()
    return bool(left == right)


# ---------------------------------------------------------------------- mutation


def length_prefix_offsets(data: bytes) -> list[int]:
    """Offsets of the int32 lengths inside valid BSON (documents, arrays, strings,
    binary, code, code with scope, DBPointer), found with a small independent walker."""
    offsets: list[int] = []
    fixed = {1: 8, 7: 12, 8: 1, 9: 8, 16: 4, 17: 8, 18: 8, 19: 16}

    def document(position: int) -> int:
        offsets.append(position)
        end = position + struct.unpack_from("<i", data, position)[0] - 1
        position += 4
        while position < end:
            kind = data[position]
            position = data.index(b"\x00", position + 1) + 1
            position = element(kind, position)
        return end + 1

    def string(position: int) -> int:
        offsets.append(position)
        return position + 4 + struct.unpack_from("<i", data, position)[0]

    def element(kind: int, position: int) -> int:
        if kind in fixed:
            return position + fixed[kind]
        if kind in (2, 13, 14):
            return string(position)
        if kind in (3, 4):
            return document(position)
        if kind == 5:
            offsets.append(position)
            return position + 5 + struct.unpack_from("<i", data, position)[0]
        if kind == 11:
            position = data.index(b"\x00", position) + 1
            return data.index(b"\x00", position) + 1
        if kind == 12:
            return string(position) + 12
        if kind == 15:
            offsets.append(position)
            return document(string(position + 4))
        return position  # 6, 10, 127, 255: no payload

    document(0)
    return offsets


_INTERESTING_INT32 = [0, 1, 4, 5, 6, -1, -5, INT32_MIN, INT32_MAX, 2**30, 0x7F, 0x80, 0xFF]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` (valid BSON) after one to four random edits: bit flips, overwritten,
    inserted or deleted bytes, truncation, and lying length prefixes; then, half the
    time, with the outer length and final NUL made consistent again."""
    buf = bytearray(data)
    prefixes = length_prefix_offsets(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["flip", "set", "insert", "delete", "truncate", "length", "type"])
        )
        if kind == "length" and prefixes:
            offset = draw(st.sampled_from(prefixes))
            if offset + 4 > len(buf):
                continue
            old = struct.unpack_from("<i", buf, offset)[0]
            new = draw(
                st.sampled_from(_INTERESTING_INT32)
                | st.integers(-8, 8).map(lambda delta, old=old: old + delta)
                | st.integers(INT32_MIN, INT32_MAX)
            )
            struct.pack_into("<i", buf, offset, max(INT32_MIN, min(INT32_MAX, new)))
            continue
        if not buf:
            buf += draw(st.binary(min_size=1, max_size=4))
            continue
        index = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[index] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            buf[index] = draw(st.integers(0, 255))
        elif kind == "type":
            # A plausible element type byte (or an unknown one) somewhere.
            buf[index] = draw(st.sampled_from([*range(0x01, 0x14), 0x7F, 0xFF, 0x14, 0x80]))
        elif kind == "insert":
            buf[index:index] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del buf[index : index + draw(st.integers(1, 8))]
        else:
            del buf[index:]
    if len(buf) >= 5 and draw(st.booleans()):
        # Half the time, make the outer envelope right again (length and final NUL)
        # so that the damage is found by the element loop, not the first check.
        struct.pack_into("<i", buf, 0, len(buf))
        buf[-1] = 0
    return bytes(buf)


# Codec options for decoding hostile bytes: each reaches code paths the others do not
# (UUID byte orders, document classes, datetime conversions, error handlers).
HOSTILE_DECODE_OPTIONS: list[CodecOptions[Any]] = [
    DEFAULT_CODEC_OPTIONS,
    CodecOptions(uuid_representation=STANDARD, tz_aware=True),
    CodecOptions(
        uuid_representation=JAVA_LEGACY,
        document_class=SON,
        datetime_conversion=DatetimeConversion.DATETIME_AUTO,
    ),
    CodecOptions(
        uuid_representation=CSHARP_LEGACY, datetime_conversion=DatetimeConversion.DATETIME_CLAMP
    ),
    CodecOptions(
        uuid_representation=PYTHON_LEGACY,
        datetime_conversion=DatetimeConversion.DATETIME_MS,
        unicode_decode_error_handler="replace",
    ),
]
