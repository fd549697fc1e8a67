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

Writer = Callable[[bytearray, bytes, Any, bool, CodecOptions[Any]], None]


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


# Encoded element names: most documents reuse a few field names, and a dict lookup
# costs a fraction of checking and encoding the key again. Bounded: a workload with
# endless distinct keys just clears it now and then.
_KEY_NAMES: dict[str, bytes] = {}
_KEY_NAMES_LIMIT = 8192
_INDEX_NAMES_COUNT = 1024
_INDEX_NAMES: tuple[bytes, ...] = tuple(b"%d\x00" % i for i in range(_INDEX_NAMES_COUNT))


def _remember_key(key: Any) -> bytes:
    name = _key_bytes(key, False) + b"\x00"
    if type(key) is str:
        if len(_KEY_NAMES) >= _KEY_NAMES_LIMIT:
            _KEY_NAMES.clear()
        _KEY_NAMES[key] = name
    return name


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
    buf: bytearray, doc: Any, check_keys: bool, opts: CodecOptions[Any]
) -> None:
    """Any mapping (or RawBSONDocument) as an embedded document."""
    if getattr(doc, "_type_marker", None) == 101:
        buf += doc.raw
        return
    try:
        items = doc.items()
    except AttributeError:
        raise TypeError(f"encoder expected a mapping type but got: {doc!r}") from None
    start = len(buf)
    buf += b"\x00\x00\x00\x00"
    _write_body(buf, items, check_keys, opts, False)
    buf += b"\x00"
    _pack_into_i(buf, start, len(buf) - start)


def _write_body(
    buf: bytearray, pairs: Any, check_keys: bool, opts: CodecOptions[Any], array: bool
) -> None:
    """The elements of a document (``pairs`` = items) or array (``pairs`` = enumerate).

    The common types are written inline and nested dicts and lists recurse straight
    back here: a function call per element or per level is a large share of the cost
    in pure Python. Cycles are not tracked on the way down (that costs on every
    document); a cyclic value ends in RecursionError, which encode_document reports.
    """
    for key, value in pairs:
        if array:
            name = _INDEX_NAMES[key] if key < _INDEX_NAMES_COUNT else b"%d\x00" % key
        elif check_keys:
            name = _key_bytes(key, True) + b"\x00"
        else:
            name = _KEY_NAMES.get(key)
            if name is None:
                name = _remember_key(key)
        kind = type(value)
        if kind is str:
            try:
                data = value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidStringData(
                    f"string {value!r} cannot be encoded as UTF-8: {exc}"
                ) from None
            buf += b"\x02" + name + _pack_i(len(data) + 1) + data + b"\x00"
        elif kind is int:
            if _INT32_MIN <= value <= _INT32_MAX:
                buf += b"\x10" + name + _pack_i(value)
            elif _INT64_MIN <= value <= _INT64_MAX:
                buf += b"\x12" + name + _pack_q(value)
            else:
                raise OverflowError(f"BSON can only store up to 8-byte ints, got {value}")
        elif kind is dict:
            buf += b"\x03" + name
            start = len(buf)
            buf += b"\x00\x00\x00\x00"
            _write_body(buf, value.items(), check_keys, opts, False)
            buf += b"\x00"
            _pack_into_i(buf, start, len(buf) - start)
        elif kind is float:
            buf += b"\x01" + name + _pack_d(value)
        elif kind is list:
            buf += b"\x04" + name
            start = len(buf)
            buf += b"\x00\x00\x00\x00"
            _write_body(buf, enumerate(value), check_keys, opts, True)
            buf += b"\x00"
            _pack_into_i(buf, start, len(buf) - start)
        elif kind is bool:
            buf += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif value is None:
            buf += b"\x0a" + name
        elif kind is ObjectId:
            buf += b"\x07" + name + value.binary
        elif kind is Int64:
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise OverflowError(f"BSON can only store up to 8-byte ints, got {int(value)}")
            buf += b"\x12" + name + _pack_q(value)
        else:
            writer = _WRITERS.get(kind)
            if writer is None:
                writer, value = _find_writer(value, opts)
            writer(buf, name, value, check_keys, opts)


def _builtin_writer(value: Any) -> Writer | None:
    """The codec's own writer for ``value``'s type or a base of it, caching subclasses."""
    kind = type(value)
    writer = _WRITERS.get(kind)
    if writer is not None:
        return writer
    marker = getattr(value, "_type_marker", None)
    # Our own types (and subclasses) first, so a Binary subclass is not taken for bytes.
    writer = _MARKERS.get(marker) if isinstance(marker, int) else None
    if writer is None:
        for base, candidate in _BASES:
            if isinstance(value, base):
                writer = candidate
                break
        else:
            return None
    _WRITERS[kind] = writer
    return writer


def _find_writer(value: Any, opts: CodecOptions[Any]) -> tuple[Writer, Any]:
    """The writer for a type not in the table, and the value to give it.

    PyMongo's order: built-in rules, then the registry's encoder for the exact type,
    then the fallback encoder. A converted value is written by built-in rules only,
    so an encoder that returns its own input type cannot loop.
    """
    encoders = opts._encoders
    custom = encoders.get(type(value)) if encoders else None
    if custom is None:
        writer = _builtin_writer(value)
        if writer is not None:
            return writer, value
    else:
        value = custom(value)
        writer = _builtin_writer(value)
        if writer is not None:
            return writer, value
    fallback = opts.type_registry._fallback_encoder
    if fallback is not None:
        value = fallback(value)
        custom = encoders.get(type(value)) if encoders else None
        if custom is not None:
            value = custom(value)
        writer = _builtin_writer(value)
        if writer is not None:
            return writer, value
    raise InvalidDocument(f"cannot encode object: {value!r}, of type: {type(value)!r}")


# Writers for everything else. Signature: (buf, name, value, check_keys, opts).


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
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any]
) -> None:
    buf += b"\x03" + name
    _write_document(buf, value, check_keys, opts)


def _w_list(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any]
) -> None:
    buf += b"\x04" + name
    start = len(buf)
    buf += b"\x00\x00\x00\x00"
    _write_body(buf, enumerate(value), check_keys, opts, True)
    buf += b"\x00"
    _pack_into_i(buf, start, len(buf) - start)


def _w_dbref(
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any]
) -> None:
    buf += b"\x03" + name
    # $ref/$id/$db are the point of a DBRef: never subject to check_keys.
    _write_document(buf, value.as_doc(), False, opts)


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


def _w_uuid(buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any]) -> None:
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
    buf: bytearray, name: bytes, value: Any, check_keys: bool, opts: CodecOptions[Any]
) -> None:
    try:
        code = str.encode(value, "utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidStringData(f"code {value!r} cannot be encoded as UTF-8: {exc}") from None
    if value.scope is None:
        buf += b"\x0d" + name + _pack_i(len(code) + 1) + code + b"\x00"
        return
    buf += b"\x0f" + name
    start = len(buf)
    buf += b"\x00\x00\x00\x00" + _pack_i(len(code) + 1) + code + b"\x00"
    _write_document(buf, value.scope, False, opts)
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


def _find_cycle(value: Any) -> bool:
    """Whether ``value`` contains itself (walked without recursion).

    A depth-first walk that expands each container once, even when it is shared, so
    the cost is linear in the size of the value (copying the path at every level was
    quadratic in the depth, and revisiting shared containers exponential).
    """
    on_path: set[int] = set()
    done: set[int] = set()
    # (container, False) to enter it; (container, True) once its children are done.
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        current, leaving = stack.pop()
        marker = id(current)
        if leaving:
            on_path.discard(marker)
            done.add(marker)
            continue
        if getattr(current, "_type_marker", None) == 101:
            continue  # RawBSONDocument: bytes, never cyclic (and not to be inflated)
        if isinstance(current, Mapping):
            children: Any = current.values()
        elif isinstance(current, (list, tuple)):
            children = current
        else:
            continue
        if marker in on_path:
            return True
        if marker in done:
            continue
        on_path.add(marker)
        stack.append((current, True))
        stack.extend((child, False) for child in children)
    return False


def encode_document(
    document: Any,
    check_keys: bool,
    opts: CodecOptions[Any],
    max_size: int = MAX_BSON_SIZE,
) -> bytes:
    """Encode one top-level document; ``_id`` goes first when present."""
    if getattr(document, "_type_marker", None) == 101:
        raw: bytes = document.raw
        buf = bytearray(raw)
    else:
        try:
            items = document.items()
        except AttributeError:
            raise TypeError(f"encoder expected a mapping type but got: {document!r}") from None
        buf = bytearray(b"\x00\x00\x00\x00")
        try:
            if "_id" in document and next(iter(document)) != "_id":
                # Like PyMongo and the server: _id goes first in a top-level document.
                _write_body(buf, (("_id", document["_id"]),), check_keys, opts, False)
                items = ((k, v) for k, v in items if k != "_id")
            _write_body(buf, items, check_keys, opts, False)
        except struct.error:
            # Only a length prefix can fail to pack: a document past 2 GiB.
            raise DocumentTooLarge("document is over the BSON format's 2 GiB limit") from None
        except RecursionError:
            if _find_cycle(document):
                raise InvalidDocument(
                    "cannot encode a cyclic document: it contains itself"
                ) from None
            raise InvalidDocument(
                "document is nested too deeply to encode (Python's recursion limit)"
            ) from None
        buf += b"\x00"
        _pack_into_i(buf, 0, len(buf))
    if len(buf) > max_size:
        raise DocumentTooLarge(
            f"document is {len(buf)} bytes encoded, over the limit of {max_size} bytes"
        )
    return bytes(buf)
