"""The pure-Python BSON decoder: bytes in, Python values out.

Every length and offset is checked against the end of the enclosing document before
it is used, so malformed input raises :class:`InvalidBSON` (never another exception,
never a read past the data, never an allocation larger than the input). The element
loop handles the commonest types inline and dispatches the rest through a table.
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Callable
from typing import Any

from driver.bson.binary import OLD_BINARY_SUBTYPE, Binary, uuid_from_bytes
from driver.bson.code import Code
from driver.bson.codec_options import CodecOptions
from driver.bson.datetime_ms import (
    DatetimeConversion,
    DatetimeMS,
    millis_in_range,
    millis_to_datetime,
)
from driver.bson.dbref import DBRef
from driver.bson.decimal128 import Decimal128
from driver.bson.int64 import Int64
from driver.bson.max_key import MaxKey
from driver.bson.min_key import MinKey
from driver.bson.objectid import ObjectId
from driver.bson.regex import Regex
from driver.bson.timestamp import Timestamp
from driver.errors import InvalidBSON

__all__ = ["decode_document", "document_size", "inflate_raw"]

_unpack_i = struct.Struct("<i").unpack_from
_unpack_q = struct.Struct("<q").unpack_from
_unpack_d = struct.Struct("<d").unpack_from
_unpack_ii = struct.Struct("<II").unpack_from
_unpack_ib = struct.Struct("<iB").unpack_from
_EPOCH_NAIVE = datetime.datetime(1970, 1, 1)
_timedelta = datetime.timedelta
_oid = ObjectId._from_binary
_int64 = Int64
_code = Code._from_parts
_DATETIME = DatetimeConversion.DATETIME

Reader = Callable[[bytes, int, int, CodecOptions[Any]], tuple[Any, int]]


def document_size(data: bytes, position: int, limit: int) -> int:
    """The size of the document at ``position``, checked to fit before ``limit``."""
    if position + 5 > limit:
        raise InvalidBSON("document too short: a BSON document needs at least 5 bytes")
    size: int = _unpack_i(data, position)[0]
    if size < 5:
        raise InvalidBSON(f"invalid document length {size}: the minimum is 5")
    if position + size > limit:
        raise InvalidBSON(f"invalid document length {size}: only {limit - position} bytes remain")
    if data[position + size - 1] != 0:
        raise InvalidBSON("document does not end with a NUL byte")
    return size


def _string(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[str, int]:
    length = _unpack_i(data, position)[0]
    position += 4
    stop = position + length
    if length < 1 or stop > end:
        raise InvalidBSON(f"invalid string length {length}")
    if data[stop - 1] != 0:
        raise InvalidBSON("string does not end with a NUL byte")
    return data[position : stop - 1].decode("utf-8", opts.unicode_decode_error_handler), stop


def _cstring(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[str, int]:
    stop = data.index(b"\x00", position, end)
    return data[position:stop].decode("utf-8", opts.unicode_decode_error_handler), stop + 1


def _decode_elements(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> Any:
    """The elements from ``position`` to ``end`` (the index of the closing NUL)."""
    # A raw document class inflates into a plain dict (its nested documents stay raw).
    doc: Any = {} if opts._plain_dict or opts._raw_class else opts.document_class()
    handler = opts.unicode_decode_error_handler
    decoders = opts._decoders
    while position < end:
        kind = data[position]
        stop = data.index(b"\x00", position + 1, end)
        key = data[position + 1 : stop].decode("utf-8", handler)
        position = stop + 1
        if kind == 2:
            length = _unpack_i(data, position)[0]
            position += 4
            stop = position + length
            if length < 1 or stop > end or data[stop - 1] != 0:
                raise InvalidBSON(f"invalid string for key {key!r}")
            value: Any = data[position : stop - 1].decode("utf-8", handler)
            position = stop
        elif kind == 3:
            if opts._raw_class:
                value, position = _read_document(data, position, end, opts)
            else:
                # The embedded-document case inline: a call per level is costly.
                size = _unpack_i(data, position)[0]
                stop = position + size
                if size < 5 or stop > end or data[stop - 1] != 0:
                    raise InvalidBSON(f"invalid embedded document length {size} for key {key!r}")
                value = _decode_elements(data, position + 4, stop - 1, opts)
                if "$ref" in value:
                    value = _maybe_dbref(value)
                position = stop
        elif kind == 16:
            value = _unpack_i(data, position)[0]
            position += 4
        elif kind == 1:
            value = _unpack_d(data, position)[0]
            position += 8
        elif kind == 18:
            value = _int64(_unpack_q(data, position)[0])
            position += 8
        elif kind == 4:
            value, position = _read_array(data, position, end, opts)
        elif kind == 8:
            flag = data[position]
            if flag > 1:
                raise InvalidBSON(f"invalid boolean value {flag} for key {key!r}")
            value = flag == 1
            position += 1
        elif kind == 7:
            value = _oid(data[position : position + 12])
            position += 12
        elif kind == 10:
            value = None
        else:
            reader = _READERS.get(kind)
            if reader is None:
                raise InvalidBSON(f"unknown BSON type 0x{kind:02x} for key {key!r}")
            value, position = reader(data, position, end, opts)
        if decoders:
            custom = decoders.get(type(value))
            if custom is not None:
                value = custom(value)
        doc[key] = value
    if position != end:
        raise InvalidBSON("an element overruns the end of its document")
    return doc


def _read_document(
    data: bytes, position: int, end: int, opts: CodecOptions[Any]
) -> tuple[Any, int]:
    if position + 5 > end:
        raise InvalidBSON("embedded document truncated")
    size = _unpack_i(data, position)[0]
    stop = position + size
    if size < 5 or stop > end or data[stop - 1] != 0:
        raise InvalidBSON(f"invalid embedded document length {size}")
    if opts._raw_class:
        return opts.document_class(data[position:stop], opts), stop
    doc = _decode_elements(data, position + 4, stop - 1, opts)
    if "$ref" in doc:
        doc = _maybe_dbref(doc)
    return doc, stop


def _maybe_dbref(doc: Any) -> Any:
    """A DBRef when ``doc`` follows the convention ($ref str, $id, optional $db str)."""
    if isinstance(doc["$ref"], str) and "$id" in doc and isinstance(doc.get("$db"), (str, type(None))):
        return DBRef(doc.pop("$ref"), doc.pop("$id"), doc.pop("$db", None), doc)
    return doc


def _read_array(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[list[Any], int]:
    if position + 5 > end:
        raise InvalidBSON("array truncated")
    size = _unpack_i(data, position)[0]
    stop = position + size
    if size < 5 or stop > end or data[stop - 1] != 0:
        raise InvalidBSON(f"invalid array length {size}")
    values: list[Any] = []
    append = values.append
    inner_end = stop - 1
    position += 4
    decoders = opts._decoders
    index = data.index
    value: Any
    while position < inner_end:
        kind = data[position]
        # Array keys are "0", "1", ... by convention; like every driver, ignore them.
        position = index(b"\x00", position + 1, inner_end) + 1
        if kind == 2:
            value, position = _string(data, position, inner_end, opts)
        elif kind == 3:
            value, position = _read_document(data, position, inner_end, opts)
        elif kind == 16:
            value = _unpack_i(data, position)[0]
            position += 4
        elif kind == 1:
            value = _unpack_d(data, position)[0]
            position += 8
        elif kind == 18:
            value = _int64(_unpack_q(data, position)[0])
            position += 8
        else:
            reader = _READERS.get(kind)
            if reader is None:
                raise InvalidBSON(f"unknown BSON type 0x{kind:02x} in an array")
            value, position = reader(data, position, inner_end, opts)
        if decoders:
            custom = decoders.get(type(value))
            if custom is not None:
                value = custom(value)
        append(value)
    if position != inner_end:
        raise InvalidBSON("an element overruns the end of its array")
    return values, stop


def _fixed(data: bytes, position: int, end: int, width: int) -> None:
    if position + width > end:
        raise InvalidBSON(f"value truncated: needs {width} bytes, {end - position} remain")


def _r_double(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 8)
    return _unpack_d(data, position)[0], position + 8


def _r_string(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return _string(data, position, end, opts)


def _r_document(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return _read_document(data, position, end, opts)


def _r_array(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return _read_array(data, position, end, opts)


def _r_binary(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 5)
    length, subtype = _unpack_ib(data, position)
    position += 5
    if length < 0:
        raise InvalidBSON(f"invalid binary length {length}")
    if subtype == OLD_BINARY_SUBTYPE:
        _fixed(data, position, end, 4)
        inner = _unpack_i(data, position)[0]
        if inner != length - 4:
            raise InvalidBSON(
                f"invalid binary subtype 2: inner length {inner} does not match {length - 4}"
            )
        position += 4
        length = inner
    stop = position + length
    if stop > end:
        raise InvalidBSON(f"invalid binary length {length}: only {end - position} bytes remain")
    payload = data[position:stop]
    if subtype == 0:
        return payload, stop
    if subtype in (3, 4):
        value = uuid_from_bytes(payload, subtype, opts.uuid_representation)
        if value is not None:
            return value, stop
    return Binary(payload, subtype), stop


def _r_undefined(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return None, position


def _r_oid(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 12)
    return _oid(data[position : position + 12]), position + 12


def _r_bool(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 1)
    flag = data[position]
    if flag > 1:
        raise InvalidBSON(f"invalid boolean value {flag}")
    return flag == 1, position + 1


def _r_datetime(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 8)
    millis = _unpack_q(data, position)[0]
    position += 8
    conversion = opts.datetime_conversion
    if conversion == DatetimeConversion.DATETIME_MS:
        return DatetimeMS(millis), position
    if not millis_in_range(millis):
        if conversion == DatetimeConversion.DATETIME_AUTO:
            return DatetimeMS(millis), position
        if conversion == _DATETIME:
            raise InvalidBSON(
                f"datetime {millis} ms since the epoch is outside the range of "
                "datetime.datetime; decode with CodecOptions(datetime_conversion="
                "DatetimeConversion.DATETIME_AUTO) or DATETIME_MS to read it"
            )
    if not opts.tz_aware and conversion == _DATETIME:
        # Fast path for the default options.
        return _EPOCH_NAIVE + _timedelta(0, millis // 1000, (millis % 1000) * 1000), position
    try:
        return millis_to_datetime(millis, opts), position
    except OverflowError:
        if conversion == DatetimeConversion.DATETIME_AUTO:
            return DatetimeMS(millis), position
        raise


def _r_null(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return None, position


def _r_regex(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    pattern, position = _cstring(data, position, end, opts)
    flags, position = _cstring(data, position, end, opts)
    return Regex(pattern, flags), position


def _r_dbpointer(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    collection, position = _string(data, position, end, opts)
    _fixed(data, position, end, 12)
    return DBRef(collection, _oid(data[position : position + 12])), position + 12


def _r_code(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    code, position = _string(data, position, end, opts)
    return _code(code, None), position


def _r_symbol(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return _string(data, position, end, opts)


def _r_code_w_scope(
    data: bytes, position: int, end: int, opts: CodecOptions[Any]
) -> tuple[Any, int]:
    _fixed(data, position, end, 4)
    total = _unpack_i(data, position)[0]
    stop = position + total
    # 4 (total) + 5 (shortest string) + 5 (empty scope)
    if total < 14 or stop > end:
        raise InvalidBSON(f"invalid code with scope length {total}")
    code, position = _string(data, position + 4, stop, opts)
    scope, position = _read_document(data, position, stop, opts)
    if position != stop:
        raise InvalidBSON("code with scope length does not match its contents")
    # Code keeps its scope as a plain dict whatever the document class, as PyMongo does.
    return _code(code, scope if type(scope) is dict else dict(scope)), stop


def _r_int32(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 4)
    return _unpack_i(data, position)[0], position + 4


def _r_timestamp(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 8)
    inc, seconds = _unpack_ii(data, position)
    return Timestamp(seconds, inc), position + 8


def _r_int64(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 8)
    return Int64(_unpack_q(data, position)[0]), position + 8


def _r_decimal128(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    _fixed(data, position, end, 16)
    return Decimal128.from_bid(data[position : position + 16]), position + 16


def _r_min_key(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return MinKey(), position


def _r_max_key(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> tuple[Any, int]:
    return MaxKey(), position


_READERS: dict[int, Reader] = {
    0x01: _r_double,
    0x02: _r_string,
    0x03: _r_document,
    0x04: _r_array,
    0x05: _r_binary,
    0x06: _r_undefined,
    0x07: _r_oid,
    0x08: _r_bool,
    0x09: _r_datetime,
    0x0A: _r_null,
    0x0B: _r_regex,
    0x0C: _r_dbpointer,
    0x0D: _r_code,
    0x0E: _r_symbol,
    0x0F: _r_code_w_scope,
    0x10: _r_int32,
    0x11: _r_timestamp,
    0x12: _r_int64,
    0x13: _r_decimal128,
    0xFF: _r_min_key,
    0x7F: _r_max_key,
}


def decode_document(data: bytes, position: int, end: int, opts: CodecOptions[Any]) -> Any:
    """Decode the document spanning ``data[position:end]`` exactly.

    Any failure inside becomes InvalidBSON, with the original as ``__cause__``.
    """
    try:
        size = document_size(data, position, end)
        if position + size != end:
            raise InvalidBSON(
                f"document length {size} does not match the {end - position} bytes given"
            )
        if opts._raw_class:
            return opts.document_class(data[position:end], opts)
        return _decode_elements(data, position + 4, end - 1, opts)
    except InvalidBSON:
        raise
    except RecursionError:
        raise InvalidBSON("document is nested too deeply to decode") from None
    except Exception as exc:
        raise InvalidBSON(f"invalid BSON: {exc}") from exc


def inflate_raw(data: bytes, opts: CodecOptions[Any]) -> dict[str, Any]:
    """The top-level fields of an already size-checked raw document, as a dict."""
    try:
        result: dict[str, Any] = _decode_elements(data, 4, len(data) - 1, opts)
    except InvalidBSON:
        raise
    except RecursionError:
        raise InvalidBSON("document is nested too deeply to decode") from None
    except Exception as exc:
        raise InvalidBSON(f"invalid BSON: {exc}") from exc
    return result
