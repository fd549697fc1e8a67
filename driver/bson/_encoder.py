"""The pure-Python BSON encoder: Python values in, bytes out.

One growing ``bytearray`` per call: an embedded document reserves its 4 length bytes,
writes its elements in place and patches the length afterwards, so nested documents
are never copied. The commonest value types are handled inline in the element loop;
the rest go through a table keyed on the exact type, filled lazily for subclasses.
"""

from __future__ import annotations

import datetime
import re
import struct
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from driver.bson.binary import OLD_BINARY_SUBTYPE, Binary, uuid_to_bytes
from driver.bson.code import Code
from driver.bson.codec_options import CodecOptions
from driver.bson.datetime_ms import DatetimeMS, datetime_to_millis
from driver.bson.dbref import DBRef
from driver.bson.decimal128 import Decimal128
from driver.bson.int64 import Int64
from driver.bson.max_key import MaxKey
from driver.bson.min_key import MinKey
from driver.bson.objectid import ObjectId
from driver.bson.regex import Regex, str_flags
from driver.bson.timestamp import Timestamp
from driver.errors import DocumentTooLarge, InvalidDocument, InvalidStringData

__all__ = ["MAX_BSON_SIZE", "encode_document"]

# The BSON format's own ceiling (int32 length); servers set lower limits on the wire.
MAX_BSON_SIZE = 2**31 - 1

_pack_i = struct.Struct("<i").pack
_pack_q = struct.Struct("<q").pack
_pack_d = struct.Struct("<d").pack
_pack_ii = struct.Struct("<II").pack
_pack_into_i = struct.Struct("<i").pack_into
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

Writer = Callable[[bytearray, bytes, Any, bool, CodecOptions[Any], set[int]], None]


def _key_bytes(key: Any, check_keys: bool) -> bytes:
    if not isinstance(key, str):
        raise InvalidDocument(f"documents must have only string keys, key was {key!r}")
    if "\x00" in key:
        raise InvalidDocument(f"key {key!r} must not contain the NUL character")
    if check_keys:
        if key.startswith("$"):
            raise InvalidDocument(f"key {key!r} must not start with '$'")
        if "." in key:
            raise InvalidDocument(f"key {key!r} must not contain '.'")
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidStringData(f"key {key!r} is not valid UTF-8: {exc}") from None


def _utf8(value: str | bytes, what: str) -> bytes:
    if isinstance(value, bytes):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidStringData(f"{what} {value!r} is not valid UTF-8") from None
        return value
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidStringData(f"{what} {value!r} cannot be encoded as UTF-8: {exc}") from None


def _cstring(value: str | bytes, what: str) -> bytes:
    raw = _utf8(value, what)
    if b"\x00" in raw:
        raise InvalidDocument(f"{what} {value!r} must not contain the NUL character")
    return raw + b"\x00"


def _write_document(
    buf: bytearray,
    doc: Any,
    check_keys: bool,
    opts: CodecOptions[Any],
    active: set[int],
    top_level: bool = False,
) -> None:
    raw = getattr(doc, "raw", None)
    if raw is not None and getattr(doc, "_type_marker", None) == 101:
        buf += raw
        return
    marker = id(doc)
    if marker in active:
        raise InvalidDocument("cannot encode a cyclic document: it contains itself")
    active.add(marker)
    start = len(buf)
    buf += b"\x00\x00\x00\x00"
    try:
        items = doc.items()
    except AttributeError:
        raise TypeError(f"encoder expected a mapping type but got: {doc!r}") from None
    if top_level and "_id" in doc:
        # Like PyMongo and the server: _id goes first in a top-level document.
        _write_element(buf, b"_id\x00", doc["_id"], check_keys, opts, active)
        for key, value in items:
            if key != "_id":
                _write_element(buf, _key_bytes(key, check_keys) + b"\x00", value, check_keys, opts, active)
    else:
        for key, value in items:
            _write_element(buf, _key_bytes(key, check_keys) + b"\x00", value, check_keys, opts, active)
    buf += b"\x00"
    _pack_into_i(buf, start, len(buf) - start)
    active.discard(marker)


def _write_array(
    buf: bytearray, values: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    marker = id(values)
    if marker in active:
        raise InvalidDocument("cannot encode a cyclic document: a list contains itself")
    active.add(marker)
    start = len(buf)
    buf += b"\x00\x00\x00\x00"
    for index, value in enumerate(values):
        _write_element(buf, b"%d\x00" % index, value, check_keys, opts, active)
    buf += b"\x00"
    _pack_into_i(buf, start, len(buf) - start)
    active.discard(marker)


def _write_element(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    kind = type(value)
    # The common types inline: a function call per element is a large share of the cost.
    if kind is str:
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidStringData(f"string {value!r} cannot be encoded as UTF-8: {exc}") from None
        buf += b"\x02" + name + _pack_i(len(data) + 1) + data + b"\x00"
    elif kind is int:
        if _INT32_MIN <= value <= _INT32_MAX:
            buf += b"\x10" + name + _pack_i(value)
        elif _INT64_MIN <= value <= _INT64_MAX:
            buf += b"\x12" + name + _pack_q(value)
        else:
            raise OverflowError(f"BSON can only store up to 8-byte ints, got {value}")
    elif kind is float:
        buf += b"\x01" + name + _pack_d(value)
    elif kind is dict:
        buf += b"\x03" + name
        _write_document(buf, value, check_keys, opts, active)
    elif kind is list:
        buf += b"\x04" + name
        _write_array(buf, value, check_keys, opts, active)
    elif kind is bool:
        buf += b"\x08" + name + (b"\x01" if value else b"\x00")
    elif value is None:
        buf += b"\x0a" + name
    else:
        writer = _WRITERS.get(kind)
        if writer is None:
            writer, value = _find_writer(value, opts)
        writer(buf, name, value, check_keys, opts, active)


def _find_writer(value: Any, opts: CodecOptions[Any]) -> tuple[Writer, Any]:
    """The writer for a type not in the table, and the value to give it (PyMongo's order)."""
    kind = type(value)
    marker = getattr(value, "_type_marker", None)
    if isinstance(marker, int) and marker in _MARKERS:
        writer = _MARKERS[marker]
        _WRITERS[kind] = writer
        return writer, value
    registry = opts.type_registry
    custom = registry._encoder_map.get(kind) if registry._encoder_map else None
    if custom is not None:
        return _write_converted, custom(value)
    for base, writer in _BASES:
        if isinstance(value, base):
            _WRITERS[kind] = writer
            return writer, value
    if registry._fallback_encoder is not None:
        return _write_fallback, registry._fallback_encoder(value)
    raise InvalidDocument(f"cannot encode object: {value!r}, of type: {kind!r}")


def _write_converted(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    """A value a custom encoder returned: built-in rules only, never the codec again."""
    kind = type(value)
    writer = _WRITERS.get(kind)
    if writer is None:
        marker = getattr(value, "_type_marker", None)
        writer = _MARKERS.get(marker) if isinstance(marker, int) else None
    if writer is None:
        for base, candidate in _BASES:
            if isinstance(value, base):
                writer = candidate
                break
    if writer is None and opts.type_registry._fallback_encoder is not None:
        _write_fallback(
            buf, name, opts.type_registry._fallback_encoder(value), check_keys, opts, active
        )
        return
    if writer is None:
        raise InvalidDocument(f"cannot encode object: {value!r}, of type: {kind!r}")
    writer(buf, name, value, check_keys, opts, active)


def _write_fallback(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    """A value the fallback encoder returned: the fallback is not called a second time."""
    kind = type(value)
    writer = _WRITERS.get(kind)
    if writer is None:
        marker = getattr(value, "_type_marker", None)
        writer = _MARKERS.get(marker) if isinstance(marker, int) else None
    if writer is None:
        custom = opts.type_registry._encoder_map.get(kind)
        if custom is not None:
            value = custom(value)
            writer = _WRITERS.get(type(value))
    if writer is None:
        for base, candidate in _BASES:
            if isinstance(value, base):
                writer = candidate
                break
    if writer is None:
        raise InvalidDocument(f"cannot encode object: {value!r}, of type: {type(value)!r}")
    writer(buf, name, value, check_keys, opts, active)


# Writers for everything else. Signature: (buf, name, value, check_keys, opts, active).


def _w_str(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    data = _utf8(str(value), "string")
    buf += b"\x02" + name + _pack_i(len(data) + 1) + data + b"\x00"


def _w_int(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    value = int(value)
    if _INT32_MIN <= value <= _INT32_MAX:
        buf += b"\x10" + name + _pack_i(value)
    elif _INT64_MIN <= value <= _INT64_MAX:
        buf += b"\x12" + name + _pack_q(value)
    else:
        raise OverflowError(f"BSON can only store up to 8-byte ints, got {value}")


def _w_int64(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise OverflowError(f"BSON can only store up to 8-byte ints, got {int(value)}")
    buf += b"\x12" + name + _pack_q(value)


def _w_float(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x01" + name + _pack_d(value)


def _w_bool(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x08" + name + (b"\x01" if value else b"\x00")


def _w_none(buf: bytearray, name: bytes, *_: Any) -> None:
    buf += b"\x0a" + name


def _w_mapping(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    buf += b"\x03" + name
    _write_document(buf, value, check_keys, opts, active)


def _w_list(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    buf += b"\x04" + name
    _write_array(buf, value, check_keys, opts, active)


def _w_dbref(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    buf += b"\x03" + name
    # $ref/$id/$db are the point of a DBRef: never subject to check_keys.
    _write_document(buf, value.as_doc(), False, opts, active)


def _w_raw(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x03" + name + value.raw


def _w_bytes(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x05" + name + _pack_i(len(value)) + b"\x00" + value


def _w_binary(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    subtype = value.subtype
    data = bytes(value)
    if subtype == OLD_BINARY_SUBTYPE:
        # The old binary subtype repeats the length inside the payload.
        buf += b"\x05" + name + _pack_i(len(data) + 4) + b"\x02" + _pack_i(len(data)) + data
    else:
        buf += b"\x05" + name + _pack_i(len(data)) + bytes((subtype,)) + data


def _w_uuid(buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], *_: Any) -> None:
    try:
        data, subtype = uuid_to_bytes(value, opts.uuid_representation)
    except ValueError as exc:
        raise InvalidDocument(str(exc)) from None
    buf += b"\x05" + name + _pack_i(16) + bytes((subtype,)) + data


def _w_oid(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x07" + name + value.binary


def _w_datetime(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x09" + name + _pack_q(datetime_to_millis(value))


def _w_datetime_ms(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x09" + name + _pack_q(int(value))


def _w_regex(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    if isinstance(value, re.Pattern):
        value = Regex.from_native(value)
    buf += (
        b"\x0b"
        + name
        + _cstring(value.pattern, "regex pattern")
        + str_flags(value.flags).encode()
        + b"\x00"
    )


def _w_code(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any], active: set[int]
) -> None:
    code = _utf8(str(value), "code")
    if value.scope is None:
        buf += b"\x0d" + name + _pack_i(len(code) + 1) + code + b"\x00"
        return
    buf += b"\x0f" + name
    start = len(buf)
    buf += b"\x00\x00\x00\x00" + _pack_i(len(code) + 1) + code + b"\x00"
    _write_document(buf, value.scope, False, opts, active)
    _pack_into_i(buf, start, len(buf) - start)


def _w_timestamp(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x11" + name + _pack_ii(value.inc, value.time)


def _w_decimal128(buf: bytearray, name: bytes, value: Any, *_: Any) -> None:
    buf += b"\x13" + name + value.bid


def _w_min_key(buf: bytearray, name: bytes, *_: Any) -> None:
    buf += b"\xff" + name


def _w_max_key(buf: bytearray, name: bytes, *_: Any) -> None:
    buf += b"\x7f" + name


_WRITERS: dict[type, Writer] = {
    bool: _w_bool,
    bytes: _w_bytes,
    datetime.datetime: _w_datetime,
    dict: _w_mapping,
    float: _w_float,
    int: _w_int,
    list: _w_list,
    str: _w_str,
    tuple: _w_list,
    type(None): _w_none,
    uuid.UUID: _w_uuid,
    Binary: _w_binary,
    Int64: _w_int64,
    Code: _w_code,
    DBRef: _w_dbref,
    DatetimeMS: _w_datetime_ms,
    Decimal128: _w_decimal128,
    MaxKey: _w_max_key,
    MinKey: _w_min_key,
    ObjectId: _w_oid,
    Regex: _w_regex,
    re.Pattern: _w_regex,
    Timestamp: _w_timestamp,
}

# Our own types (and subclasses of them) recognised by their marker, before any
# isinstance test, so a subclass of e.g. Binary is not mistaken for plain bytes.
_MARKERS: dict[int, Writer] = {
    5: _w_binary,
    7: _w_oid,
    11: _w_regex,
    13: _w_code,
    17: _w_timestamp,
    18: _w_int64,
    19: _w_decimal128,
    100: _w_dbref,
    101: _w_raw,
    127: _w_max_key,
    255: _w_min_key,
}

# Base classes for subclasses of built-in types, most specific first.
_BASES: tuple[tuple[type, Writer], ...] = (
    (bool, _w_bool),
    (int, _w_int),
    (float, _w_float),
    (str, _w_str),
    (bytes, _w_bytes),
    (datetime.datetime, _w_datetime),
    (uuid.UUID, _w_uuid),
    (Mapping, _w_mapping),
    (list, _w_list),
    (tuple, _w_list),
)

BUILTIN_ENCODER_TYPES: tuple[type, ...] = tuple(_WRITERS)


def encode_document(
    document: Any,
    check_keys: bool,
    opts: CodecOptions[Any],
    max_size: int = MAX_BSON_SIZE,
) -> bytes:
    """Encode one top-level document; ``_id`` goes first when present."""
    buf = bytearray()
    try:
        _write_document(buf, document, check_keys, opts, set(), top_level=True)
    except RecursionError:
        raise InvalidDocument(
            "document is nested too deeply to encode (Python's recursion limit was reached)"
        ) from None
    if len(buf) > max_size:
        raise DocumentTooLarge(
            f"document is {len(buf)} bytes encoded, over the limit of {max_size} bytes"
        )
    return bytes(buf)
