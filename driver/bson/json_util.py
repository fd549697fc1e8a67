"""MongoDB Extended JSON v2 (PyMongo's ``bson.json_util``): ``dumps`` and ``loads``.

``dumps`` writes Python/BSON values as Relaxed (the default), Canonical or Legacy
Extended JSON; ``loads`` reads any of the three forms back into BSON types. Extra
arguments go to :func:`json.dumps` / :func:`json.loads`; ``json_options`` picks the
format and the codec options used when reading.

Errors: ``loads`` raises :class:`driver.errors.InvalidBSON` for every parse error (bad
JSON syntax, a malformed type wrapper such as ``{"$oid": 42}``, a key holding a NUL
character, a datetime out of range...), with a message naming the key and the reason.
``dumps`` raises ``TypeError`` for a value that has no BSON type, as :mod:`json` does.

Differences from PyMongo, on purpose: relaxed ISO-8601 dates are always written in UTC
(``Z``); ``{"$uuid"}`` is written with hyphens (RFC 4122); binary subtypes 3 and 4 are
read exactly as the BSON decoder reads them under the same ``uuid_representation``;
a ``{"$date": <number>}`` is read only with ``JSONMode.LEGACY`` options (the spec makes
it an error otherwise); a top-level object is never turned into a DBRef (as with BSON);
``with_options(json_mode=...)`` resets the mode-dependent options.

Example::

    >>> from driver.bson import Int64, ObjectId
    >>> from driver.bson.json_util import CANONICAL_JSON_OPTIONS, dumps, loads
    >>> dumps({"_id": ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"), "n": Int64(5)})
    '{"_id": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}, "n": 5}'
    >>> dumps({"n": 5, "x": 1.5}, json_options=CANONICAL_JSON_OPTIONS)
    '{"n": {"$numberInt": "5"}, "x": {"$numberDouble": "1.5"}}'
    >>> loads('{"n": {"$numberLong": "5"}}')
    {'n': Int64(5)}
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime
import decimal
import enum
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from driver.bson.binary import (
    OLD_UUID_SUBTYPE,
    UUID_SUBTYPE,
    Binary,
    uuid_from_bytes,
    uuid_to_bytes,
)
from driver.bson.code import Code
from driver.bson.codec_options import CodecOptions
from driver.bson.datetime_ms import (
    EPOCH_NAIVE,
    DatetimeConversion,
    DatetimeMS,
    datetime_to_millis,
    millis_in_range,
    millis_to_datetime,
)
from driver.bson.dbref import DBRef
from driver.bson.decimal128 import Decimal128
from driver.bson.int64 import Int64
from driver.bson.max_key import MaxKey
from driver.bson.min_key import MinKey
from driver.bson.objectid import ObjectId
from driver.bson.regex import Regex, flags_from_str, str_flags
from driver.bson.timestamp import Timestamp
from driver.errors import InvalidBSON

__all__ = [
    "CANONICAL_JSON_OPTIONS",
    "DEFAULT_JSON_OPTIONS",
    "LEGACY_JSON_OPTIONS",
    "RELAXED_JSON_OPTIONS",
    "DatetimeRepresentation",
    "JSONMode",
    "JSONOptions",
    "default",
    "dumps",
    "loads",
    "object_hook",
    "object_pairs_hook",
]


class DatetimeRepresentation(enum.IntEnum):
    """How ``dumps`` writes datetimes (only configurable in ``JSONMode.LEGACY``).

    - ``LEGACY``: ``{"$date": <ms since the epoch>}``.
    - ``NUMBERLONG``: ``{"$date": {"$numberLong": "<ms since the epoch>"}}``.
    - ``ISO8601``: ``{"$date": "<ISO-8601 UTC>"}`` for years 1970 to 9999, else NUMBERLONG.
    """

    LEGACY = 0
    NUMBERLONG = 1
    ISO8601 = 2


class JSONMode(enum.IntEnum):
    """The Extended JSON format ``dumps`` writes.

    - ``LEGACY``: PyMongo's pre-spec format (``$regex``/``$options``, ``$binary``/``$type``).
    - ``RELAXED``: Relaxed Extended JSON v2: numbers as JSON numbers, ISO dates.
    - ``CANONICAL``: Canonical Extended JSON v2: every type kept (``$numberInt``...).
    """

    LEGACY = 0
    RELAXED = 1
    CANONICAL = 2


_JSON_FIELDS = ("strict_number_long", "datetime_representation", "strict_uuid", "json_mode")
# Per mode: the forced value of each dependent option (None: the user may choose).
_MODE_RULES: dict[JSONMode, tuple[bool | None, DatetimeRepresentation | None, bool | None]] = {
    JSONMode.RELAXED: (False, DatetimeRepresentation.ISO8601, True),
    JSONMode.CANONICAL: (True, DatetimeRepresentation.NUMBERLONG, True),
    JSONMode.LEGACY: (None, None, None),
}
_LEGACY_DEFAULTS = (False, DatetimeRepresentation.LEGACY, False)


_E = TypeVar("_E", JSONMode, DatetimeRepresentation)


def _enum(kind: type[_E], value: Any, name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(f"{kind.__name__}.{member.name}" for member in kind)
        raise ValueError(f"{name} must be one of {names}, not {value!r}") from None


class JSONOptions(CodecOptions[Any]):
    """The Extended JSON format for ``dumps`` plus the codec options for ``loads``.

    - ``json_mode``: a :class:`JSONMode` (default RELAXED).
    - ``strict_number_long``: write Int64 as ``{"$numberLong"}`` (True in CANONICAL).
    - ``datetime_representation``: a :class:`DatetimeRepresentation`.
    - ``strict_uuid``: write ``uuid.UUID`` as ``$binary`` rather than ``{"$uuid"}``.

    The three dependent options are fixed by RELAXED and CANONICAL (ValueError if
    given otherwise) and free in LEGACY. Any :class:`CodecOptions` argument is
    accepted too (``tz_aware``, ``uuid_representation``, ``datetime_conversion``...).

    >>> opts = JSONOptions(json_mode=JSONMode.LEGACY, strict_uuid=True)
    >>> opts.datetime_representation, opts.with_options(json_mode=JSONMode.CANONICAL).strict_number_long
    (<DatetimeRepresentation.LEGACY: 0>, True)
    """

    __slots__ = _JSON_FIELDS

    strict_number_long: bool
    datetime_representation: DatetimeRepresentation
    strict_uuid: bool
    json_mode: JSONMode

    def __init__(
        self,
        strict_number_long: bool | None = None,
        datetime_representation: int | None = None,
        strict_uuid: bool | None = None,
        json_mode: int = JSONMode.RELAXED,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        mode = _enum(JSONMode, json_mode, "json_mode")
        given = (
            strict_number_long,
            None
            if datetime_representation is None
            else _enum(DatetimeRepresentation, datetime_representation, "datetime_representation"),
            strict_uuid,
        )
        for name, value, forced, fallback in zip(
            _JSON_FIELDS, given, _MODE_RULES[mode], _LEGACY_DEFAULTS, strict=False
        ):
            if name != "datetime_representation" and not isinstance(value, (bool, type(None))):
                raise TypeError(f"{name} must be True, False or None, not {value!r}")
            if forced is not None and value is not None and value != forced:
                raise ValueError(f"cannot specify {name}={value!r} with JSONMode.{mode.name}")
            chosen: Any = forced if forced is not None else value
            object.__setattr__(self, name, fallback if chosen is None else chosen)
        object.__setattr__(self, "json_mode", mode)

    def _json_values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _JSON_FIELDS)

    def _values(self) -> tuple[Any, ...]:
        return self._json_values() + CodecOptions._values(self)

    def _asdict(self) -> dict[str, Any]:
        return {**dict(zip(_JSON_FIELDS, self._json_values(), strict=True)), **super()._asdict()}

    def with_options(self, **kwargs: Any) -> JSONOptions:
        """A copy with the given options changed.

        Changing ``json_mode`` resets the options that depend on it, unless given.

        >>> RELAXED_JSON_OPTIONS.with_options(tz_aware=True).tz_aware
        True
        """
        options = self._asdict()
        if "json_mode" in kwargs and kwargs["json_mode"] != self.json_mode:
            for name in _JSON_FIELDS[:3]:
                options[name] = None
        unknown = set(kwargs) - set(options)
        if unknown:
            raise TypeError(f"unknown JSONOptions option(s): {', '.join(sorted(unknown))}")
        options.update(kwargs)
        return JSONOptions(**options)

    _replace = with_options

    def __repr__(self) -> str:
        codec = CodecOptions.__repr__(self)
        return (
            f"JSONOptions(strict_number_long={self.strict_number_long!r}, "
            f"datetime_representation={self.datetime_representation!r}, "
            f"strict_uuid={self.strict_uuid!r}, json_mode={self.json_mode!r}, "
            + codec[codec.index("(") + 1 :]
        )

    def __reduce__(self) -> Any:
        return (JSONOptions, self._json_values() + CodecOptions._values(self))


LEGACY_JSON_OPTIONS = JSONOptions(json_mode=JSONMode.LEGACY)
"""PyMongo's pre-spec format: ``$regex``/``$options``, ``$binary``/``$type``, ``{"$date": ms}``."""
RELAXED_JSON_OPTIONS = JSONOptions(json_mode=JSONMode.RELAXED)
"""Relaxed Extended JSON v2: readable, loses numeric types."""
CANONICAL_JSON_OPTIONS = JSONOptions(json_mode=JSONMode.CANONICAL)
"""Canonical Extended JSON v2: keeps every BSON type."""
DEFAULT_JSON_OPTIONS = RELAXED_JSON_OPTIONS
"""The default for ``dumps`` and ``loads``: RELAXED, as in PyMongo 4."""

# ----------------------------------------------------------------------------- writing

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_ISO_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


def _double_text(value: float) -> str:
    """The shortest decimal string that reads back as ``value`` (``1.0``, ``1.5E+20``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    mantissa, sep, exponent = text.partition("e")
    return f"{mantissa}E{int(exponent):+d}" if sep else text


def _iso_date(millis: int) -> str:
    seconds, ms = divmod(millis, 1000)
    stamp = (EPOCH_NAIVE + datetime.timedelta(seconds=seconds)).isoformat()
    return f"{stamp}.{ms:03d}Z" if ms else f"{stamp}Z"


def _date(millis: int, opts: JSONOptions) -> dict[str, Any]:
    rep = opts.datetime_representation
    if rep == DatetimeRepresentation.LEGACY:
        return {"$date": millis}
    if rep == DatetimeRepresentation.ISO8601 and 0 <= millis <= _MAX_ISO_MS:
        return {"$date": _iso_date(millis)}
    return {"$date": {"$numberLong": str(millis)}}


def _binary(data: bytes, subtype: int, opts: JSONOptions) -> dict[str, Any]:
    text = base64.b64encode(data).decode("ascii")
    if opts.json_mode == JSONMode.LEGACY:
        return {"$binary": text, "$type": f"{subtype:02x}"}
    return {"$binary": {"base64": text, "subType": f"{subtype:02x}"}}


def _w_int(value: int, opts: JSONOptions) -> Any:
    value = int(value)
    if opts.json_mode != JSONMode.CANONICAL:
        return value
    if _INT32_MIN <= value <= _INT32_MAX:
        return {"$numberInt": str(value)}
    if _INT64_MIN <= value <= _INT64_MAX:
        return {"$numberLong": str(value)}
    raise OverflowError(f"BSON can only store up to 8-byte ints, got {value}")


def _w_int64(value: Int64, opts: JSONOptions) -> Any:
    if opts.strict_number_long:
        return {"$numberLong": str(int(value))}
    return int(value)


def _w_float(value: float, opts: JSONOptions) -> Any:
    value = float(value)
    if opts.json_mode == JSONMode.CANONICAL or (
        opts.json_mode == JSONMode.RELAXED and not math.isfinite(value)
    ):
        return {"$numberDouble": _double_text(value)}
    return value


def _w_uuid(value: uuid.UUID, opts: JSONOptions) -> Any:
    if not opts.strict_uuid:
        return {"$uuid": str(value)}
    data, subtype = uuid_to_bytes(value, opts.uuid_representation)
    return _binary(data, subtype, opts)


def _w_regex(value: Regex[Any] | re.Pattern[Any], opts: JSONOptions) -> Any:
    pattern = value.pattern
    if isinstance(pattern, bytes):
        pattern = pattern.decode("utf-8")
    options = str_flags(value.flags)
    if opts.json_mode == JSONMode.LEGACY:
        return {"$regex": pattern, "$options": options}
    return {"$regularExpression": {"pattern": pattern, "options": options}}


def _w_code(value: Code, opts: JSONOptions) -> Any:
    if value.scope is None:
        return {"$code": str(value)}
    return {"$code": str(value), "$scope": _to_json(value.scope, opts)}


_Writer = Callable[[Any, JSONOptions], Any]
_WRITERS: dict[type, _Writer] = {
    int: _w_int,
    float: _w_float,
    Int64: _w_int64,
    ObjectId: lambda v, o: {"$oid": str(v)},
    Decimal128: lambda v, o: {"$numberDecimal": str(v)},
    bytes: lambda v, o: _binary(v, 0, o),
    Binary: lambda v, o: _binary(bytes(v), v.subtype, o),
    uuid.UUID: _w_uuid,
    datetime.datetime: lambda v, o: _date(datetime_to_millis(v), o),
    DatetimeMS: lambda v, o: _date(int(v), o),
    Regex: _w_regex,
    re.Pattern: _w_regex,
    Code: _w_code,
    Timestamp: lambda v, o: {"$timestamp": {"t": v.time, "i": v.inc}},
    MinKey: lambda v, o: {"$minKey": 1},
    MaxKey: lambda v, o: {"$maxKey": 1},
    DBRef: lambda v, o: _to_json(v.as_doc(), o),
}
# Subclasses, most specific first (bool before int, Code before str...).
_BASES: tuple[tuple[type, _Writer], ...] = (
    (bool, lambda v, o: bool(v)),
    *((kind, writer) for kind, writer in _WRITERS.items() if kind not in (int, float, bytes)),
    (int, _w_int),
    (float, _w_float),
    (bytes, _WRITERS[bytes]),
    (str, lambda v, o: str(v)),
    (Mapping, lambda v, o: {key: _to_json(item, o) for key, item in v.items()}),
    (list, lambda v, o: [_to_json(item, o) for item in v]),
    (tuple, lambda v, o: [_to_json(item, o) for item in v]),
)


def default(obj: Any, json_options: JSONOptions = DEFAULT_JSON_OPTIONS) -> Any:
    """The JSON-ready form of one BSON value (TypeError if it has none).

    Usable as ``json.dumps(doc, default=default)``, though :func:`dumps` is faster
    and also converts ints and floats in CANONICAL mode.

    >>> default(ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"))
    {'$oid': '5f43a1b2c3d4e5f6a7b8c9d0'}
    """
    writer = _WRITERS.get(type(obj))
    if writer is not None:
        return writer(obj, json_options)
    if obj is None:
        return None
    for kind, candidate in _BASES:
        if isinstance(obj, kind):
            return candidate(obj, json_options)
    registry = json_options.type_registry
    custom = registry._encoder_map.get(type(obj))
    if custom is not None:
        return _to_json(custom(obj), json_options)
    if registry.fallback_encoder is not None:
        return _to_json(registry.fallback_encoder(obj), json_options)
    raise TypeError(f"{obj!r} is not JSON serializable")


def _to_json(value: Any, opts: JSONOptions) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return {key: _to_json(item, opts) for key, item in value.items()}
    if kind is list:
        return [_to_json(item, opts) for item in value]
    if kind is int and opts.json_mode != JSONMode.CANONICAL:
        return value
    if kind is float and (
        opts.json_mode == JSONMode.LEGACY
        or (opts.json_mode == JSONMode.RELAXED and math.isfinite(value))
    ):
        return value
    return default(value, opts)


def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
    """Write ``obj`` as Extended JSON; ``json_options`` picks the format (RELAXED).

    Other arguments go to :func:`json.dumps` (``indent``, ``sort_keys``...).

    >>> from driver.bson.json_util import LEGACY_JSON_OPTIONS
    >>> dumps([1, {"x": Int64(2)}], json_options=CANONICAL_JSON_OPTIONS)
    '[{"$numberInt": "1"}, {"x": {"$numberLong": "2"}}]'
    >>> dumps({"re": Regex("^a", "i")}, json_options=LEGACY_JSON_OPTIONS)
    '{"re": {"$regex": "^a", "$options": "i"}}'
    """
    opts = _options(kwargs.pop("json_options", DEFAULT_JSON_OPTIONS))
    try:
        converted = _to_json(obj, opts)
    except RecursionError:
        raise ValueError("cannot write JSON: the value is cyclic or nested too deeply") from None
    return json.dumps(converted, *args, **kwargs)


# ----------------------------------------------------------------------------- reading

_HEX_OID = re.compile(r"[0-9a-fA-F]{24}\Z")
_HEX_SUBTYPE = re.compile(r"[0-9a-fA-F]{1,2}\Z")
_INTEGER = re.compile(r"-?[0-9]+\Z")
_DOUBLE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_UUID = re.compile(
    r"(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32})\Z"
)
_ISO_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?\Z"
)
_REGEX_OPTIONS = frozenset("ilmsux")
_SPECIAL_DOUBLES = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def _fail(key: str, why: str) -> InvalidBSON:
    return InvalidBSON(f"invalid Extended JSON for {key!r}: {why}")


def _only(doc: Mapping[str, Any], key: str, *keys: str) -> None:
    if set(doc) != set(keys):
        extra, missing = sorted(set(doc) - set(keys)), sorted(set(keys) - set(doc))
        detail = f"unexpected key(s) {extra}" if extra else f"missing key(s) {missing}"
        raise _fail(key, f"a {key} wrapper has exactly the keys {sorted(keys)}: {detail}")


def _str(value: Any, key: str, what: str) -> str:
    if not isinstance(value, str):
        raise _fail(key, f"{what} must be a string, not {type(value).__name__}")
    return value


def _doc(value: Any, key: str, *keys: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(key, f"{key} must be a document, not {type(value).__name__}")
    _only(value, key, *keys)
    return value


def _int_text(value: Any, key: str, low: int, high: int) -> int:
    if value.__class__ is str and _INTEGER.match(value):  # the fast, valid path
        number = int(value)
        if low <= number <= high:
            return number
    if not _INTEGER.match(_str(value, key, key)):
        raise _fail(key, f"{value!r} is not an integer string")
    number = int(value)
    if not low <= number <= high:
        raise _fail(key, f"{number} is out of range [{low}, {high}]")
    return number


def _binary_value(data: bytes, subtype: int, opts: JSONOptions) -> Any:
    # The same values the BSON decoder gives for this subtype under these options.
    if subtype == 0:
        return data
    if subtype in (OLD_UUID_SUBTYPE, UUID_SUBTYPE):
        value = uuid_from_bytes(data, subtype, opts.uuid_representation)
        if value is not None:
            return value
    return Binary(data, subtype)


def _b64(text: Any, subtype: Any, key: str, opts: JSONOptions) -> Any:
    _str(text, key, "the base64 payload")
    if not isinstance(subtype, str) or not _HEX_SUBTYPE.match(subtype):
        raise _fail(key, f"the subtype must be a 1- or 2-digit hex string, not {subtype!r}")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(key, f"invalid (or unpadded) base64 {text!r}: {exc}") from None
    return _binary_value(data, int(subtype, 16), opts)


def _p_binary(doc: Mapping[str, Any], key: str, opts: JSONOptions) -> Any:
    inner = doc["$binary"]
    if isinstance(inner, str):  # legacy {"$binary": "<base64>", "$type": "<hex>"}
        _only(doc, key, "$binary", "$type")
        return _b64(inner, doc["$type"], key, opts)
    _only(doc, key, "$binary")
    inner = _doc(inner, key, "base64", "subType")
    return _b64(inner["base64"], inner["subType"], key, opts)


def _p_code(doc: Mapping[str, Any], key: str, opts: JSONOptions) -> Any:
    if "$scope" not in doc:
        _only(doc, key, "$code")
        return Code(_str(doc["$code"], key, "$code"))
    _only(doc, key, "$code", "$scope")
    scope = doc["$scope"]
    if isinstance(scope, DBRef):  # a scope that looks like a DBRef is still a document
        scope = scope.as_doc()
    if not isinstance(scope, Mapping):
        raise _fail(key, f"$scope must be a document, not {type(scope).__name__}")
    return Code(_str(doc["$code"], key, "$code"), scope)


def _p_uuid(value: Any, key: str, opts: JSONOptions) -> Any:
    if not _UUID.match(_str(value, key, key)):
        raise _fail(key, f"{value!r} is not a UUID (32 hex digits, hyphenated 8-4-4-4-12 or not)")
    return _binary_value(uuid.UUID(value).bytes, UUID_SUBTYPE, opts)


def _p_oid(value: Any, key: str, opts: JSONOptions) -> Any:
    if not _HEX_OID.match(_str(value, key, key)):
        raise _fail(key, f"{value!r} is not 24 hex digits")
    return ObjectId._from_binary(bytes.fromhex(value))


def _p_double(value: Any, key: str, opts: JSONOptions) -> Any:
    special = _SPECIAL_DOUBLES.get(_str(value, key, key))
    if special is not None:
        return special
    if not _DOUBLE.match(value):
        raise _fail(key, f"{value!r} is not a decimal number, Infinity, -Infinity or NaN")
    return float(value)


def _p_decimal(value: Any, key: str, opts: JSONOptions) -> Any:
    try:
        return Decimal128(_str(value, key, key))
    except (decimal.DecimalException, ValueError) as exc:
        why = type(exc).__name__ if isinstance(exc, decimal.DecimalException) else str(exc)
        raise _fail(key, f"{value!r} is not an exact decimal128 value ({why})") from None


def _p_timestamp(value: Any, key: str, opts: JSONOptions) -> Any:
    inner = _doc(value, key, "t", "i")
    for field in ("t", "i"):
        part = inner[field]
        if not isinstance(part, int) or isinstance(part, bool) or not 0 <= part <= 0xFFFFFFFF:
            raise _fail(key, f"{field} must be an unsigned 32-bit integer, not {part!r}")
    return Timestamp(inner["t"], inner["i"])


def _regex(pattern: str, options: str, key: str) -> Regex[str]:
    if "\x00" in pattern or "\x00" in options:
        raise _fail(key, "a regular expression's pattern and options must not contain NUL")
    unknown = set(options) - _REGEX_OPTIONS
    if unknown:
        raise _fail(key, f"unknown regular expression option(s) {''.join(sorted(unknown))!r}")
    return Regex(pattern, flags_from_str(options))


def _p_regex(value: Any, key: str, opts: JSONOptions) -> Any:
    inner = _doc(value, key, "pattern", "options")
    pattern = _str(inner["pattern"], key, "pattern")
    return _regex(pattern, _str(inner["options"], key, "options"), key)


def _p_dbpointer(value: Any, key: str, opts: JSONOptions) -> Any:
    # The object_pairs_hook has already made {"$ref": ..., "$id": ...} a DBRef.
    if not isinstance(value, DBRef) or set(value.as_doc()) != {"$ref", "$id"}:
        raise _fail(key, "$dbPointer must hold exactly {$ref: <string>, $id: <ObjectId>}")
    if not isinstance(value.id, ObjectId):
        raise _fail(key, f"$dbPointer's $id must be an ObjectId, not {type(value.id).__name__}")
    return value


def _millis_value(millis: int, key: str, opts: JSONOptions) -> Any:
    # What the BSON decoder returns for this datetime under the same options.
    conversion = opts.datetime_conversion
    if not _INT64_MIN <= millis <= _INT64_MAX:
        raise _fail(key, f"{millis} ms does not fit in a BSON datetime (int64)")
    if conversion == DatetimeConversion.DATETIME_MS:
        return DatetimeMS(millis)
    if not millis_in_range(millis):
        if conversion == DatetimeConversion.DATETIME_AUTO:
            return DatetimeMS(millis)
        if conversion == DatetimeConversion.DATETIME:
            raise _fail(
                key,
                f"{millis} ms since the epoch is outside the range of datetime.datetime; "
                "read it with datetime_conversion=DatetimeConversion.DATETIME_AUTO or DATETIME_MS",
            )
    try:
        return millis_to_datetime(millis, opts)
    except OverflowError:
        if conversion == DatetimeConversion.DATETIME_AUTO:
            return DatetimeMS(millis)
        raise _fail(key, f"{millis} ms is outside the range of datetime.datetime") from None


def _iso_millis(text: str, key: str) -> int:
    match = _ISO_DATE.match(text)
    if match is None:
        raise _fail(key, f"{text!r} is not an ISO-8601 date-time (e.g. 2020-01-02T03:04:05.678Z)")
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = match.groups()
    fields = tuple(int(part or 0) for part in (year, month, day, hour, minute, second))
    try:
        datetime.datetime(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5])
    except ValueError as exc:
        raise _fail(key, f"{text!r}: {exc}") from None
    millis = calendar.timegm((*fields, 0, 0, 0)) * 1000 + int((fraction or "0")[:3].ljust(3, "0"))
    if sign:
        hours, minutes = int(off_h), int(off_m or 0)
        if hours > 23 or minutes > 59:
            raise _fail(key, f"{text!r} has an invalid UTC offset")
        offset = (hours * 60 + minutes) * 60000
        millis += -offset if sign == "+" else offset
    return millis


def _p_date(value: Any, key: str, opts: JSONOptions) -> Any:
    if isinstance(value, Int64):  # {"$date": {"$numberLong": "..."}}, already parsed
        millis = int(value)
    elif isinstance(value, str):
        millis = _iso_millis(value, key)
    elif type(value) is int and opts.json_mode == JSONMode.LEGACY:
        millis = value  # PyMongo's legacy {"$date": <ms>}
    else:
        raise _fail(key, f"$date must be an ISO-8601 string or {{$numberLong: ...}}, not {value!r}")
    return _millis_value(millis, key, opts)


def _p_one(kind: Callable[[], Any]) -> Callable[[Any, str, JSONOptions], Any]:
    def parse(value: Any, key: str, opts: JSONOptions) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or value != 1:
            raise _fail(key, f"{key} must be the integer 1, not {value!r}")
        return kind()

    return parse


def _p_undefined(value: Any, key: str, opts: JSONOptions) -> Any:
    if value is not True:
        raise _fail(key, f"$undefined must be true, not {value!r}")
    return None  # the BSON decoder also reads undefined as None


# The spec's type wrappers: any of these keys makes the object a wrapper (or an error).
# Single-key wrappers get the value; the others get the whole object.
_SINGLE: dict[str, Callable[[Any, str, JSONOptions], Any]] = {
    "$oid": _p_oid,
    "$symbol": lambda v, k, o: _str(v, k, k),  # the BSON decoder also reads symbols as str
    "$numberInt": lambda v, k, o: _int_text(v, k, _INT32_MIN, _INT32_MAX),
    "$numberLong": lambda v, k, o: Int64(_int_text(v, k, _INT64_MIN, _INT64_MAX)),
    "$numberDouble": _p_double,
    "$numberDecimal": _p_decimal,
    "$uuid": _p_uuid,
    "$timestamp": _p_timestamp,
    "$regularExpression": _p_regex,
    "$dbPointer": _p_dbpointer,
    "$date": _p_date,
    "$minKey": _p_one(MinKey),
    "$maxKey": _p_one(MaxKey),
    "$undefined": _p_undefined,
}
_MULTI: dict[str, Callable[[Mapping[str, Any], str, JSONOptions], Any]] = {
    "$binary": _p_binary,
    "$code": _p_code,
    "$scope": _p_code,
}


def _legacy_regex(doc: dict[str, Any]) -> Regex[str] | None:
    # {"$regex": "<pattern>", "$options": "<flags>"}; anything else (such as the $regex
    # query operator holding a $regularExpression) stays a document.
    pattern = doc["$regex"]
    options = doc.get("$options", "")
    if not isinstance(pattern, str) or not isinstance(options, str):
        return None
    if not set(doc) <= {"$regex", "$options"}:
        return None
    return _regex(pattern, options, "$regex")


def _document(doc: dict[str, Any], opts: JSONOptions) -> Any:
    doc_class: Any = opts.document_class
    if doc_class is dict:
        return doc
    if getattr(doc_class, "_type_marker", None) == 101:  # RawBSONDocument
        from driver.bson import encode

        return doc_class(encode(doc, codec_options=opts), opts)
    result = doc_class()
    result.update(doc)
    return result


def _convert(doc: dict[str, Any], opts: JSONOptions) -> Any:
    if len(doc) == 1:  # fast path for the commonest wrappers ({"$numberInt": "1"}...)
        for key, value in doc.items():
            single = _SINGLE.get(key)
            if single is not None:
                return single(value, key, opts)
    dollar = False
    for key in doc:
        if "\x00" in key:
            raise _fail(key, "keys must not contain the NUL character")
        if key[:1] == "$":
            dollar = True
    if not dollar:
        return _document(doc, opts)
    for key in doc:
        single = _SINGLE.get(key)
        if single is not None:
            _only(doc, key, key)  # raises: the fast path above took the valid ones
            return single(doc[key], key, opts)
        multi = _MULTI.get(key)
        if multi is not None:
            return multi(doc, key, opts)
    if "$regex" in doc:
        regex = _legacy_regex(doc)
        if regex is not None:
            return regex
    # A DBRef by the rule the BSON decoder applies to embedded documents.
    if (
        isinstance(doc.get("$ref"), str)
        and "$id" in doc
        and isinstance(doc.get("$db"), (str, type(None)))
    ):
        rest = dict(doc)
        return DBRef(rest.pop("$ref"), rest.pop("$id"), rest.pop("$db", None), rest)
    return _document(doc, opts)


def object_pairs_hook(
    pairs: Sequence[tuple[str, Any]], json_options: JSONOptions = DEFAULT_JSON_OPTIONS
) -> Any:
    """Turn one parsed JSON object (as key/value pairs) into its BSON value.

    For ``json.loads(s, object_pairs_hook=...)``; duplicate keys: the last one wins.

    >>> object_pairs_hook([("$numberLong", "7")])
    Int64(7)
    """
    return _convert(dict(pairs), json_options)


def object_hook(dct: Mapping[str, Any], json_options: JSONOptions = DEFAULT_JSON_OPTIONS) -> Any:
    """Turn one parsed JSON object (a mapping) into its BSON value.

    >>> object_hook({"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"})
    ObjectId('5f43a1b2c3d4e5f6a7b8c9d0')
    """
    return _convert(dict(dct), json_options)


def _options(value: Any) -> JSONOptions:
    if not isinstance(value, JSONOptions):
        raise TypeError(f"json_options must be a JSONOptions, not {type(value).__name__}")
    return value


def loads(s: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Any:
    """Read Extended JSON (relaxed, canonical or legacy) into BSON values.

    ``json_options`` gives the codec options (``document_class``, ``tz_aware``,
    ``uuid_representation``, ``datetime_conversion``...). Other arguments go to
    :func:`json.loads` (its ``object_hook``/``object_pairs_hook`` are ours). Raises
    InvalidBSON for bad JSON or a bad type wrapper.

    >>> loads('{"when": {"$date": "2020-01-02T03:04:05.678Z"}, "n": 1.5}')
    {'when': datetime.datetime(2020, 1, 2, 3, 4, 5, 678000), 'n': 1.5}
    >>> loads('{"x": {"$oid": 42}}')
    Traceback (most recent call last):
    ...
    driver.errors.InvalidBSON: invalid Extended JSON for '$oid': $oid must be a string, not int
    """
    opts = _options(kwargs.pop("json_options", DEFAULT_JSON_OPTIONS))
    last: list[Any] = [None, None]

    def hook(doc: dict[str, Any]) -> Any:
        value = _convert(doc, opts)
        if value.__class__ is DBRef:
            last[0], last[1] = value, doc
        return value

    # object_hook, not object_pairs_hook: json builds the dicts in C (last key wins).
    kwargs.pop("object_pairs_hook", None)
    kwargs["object_hook"] = hook
    try:
        result = json.loads(s, *args, **kwargs)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidBSON(f"invalid JSON: {exc}") from exc
    except RecursionError:
        raise InvalidBSON("invalid JSON: nested too deeply") from None
    if isinstance(result, DBRef) and result is last[0]:
        # The top-level object is a document even when it looks like a DBRef, as in BSON.
        result = _document(last[1], opts)
    return result
