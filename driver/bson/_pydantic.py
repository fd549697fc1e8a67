"""Pydantic v2 schemas for the BSON value classes, built only when Pydantic asks.

``driver`` does not depend on Pydantic: each BSON class (``ObjectId``, ``Int64``,
``Decimal128``, ``Binary``, ``Regex``, ``Timestamp``) has a
``__get_pydantic_core_schema__`` hook
that imports this module, and this module imports ``pydantic_core`` inside its
functions. So the classes work as annotations in any Pydantic model (an ODM
document, a FastAPI body) while ``import driver`` never loads Pydantic.

Each schema keeps the BSON class in Python mode (``model_dump()`` returns the
instance, ready for the BSON encoder) and uses a plain JSON form in JSON mode:

=============  ==========================  =========================================
class          Python mode accepts          JSON mode (input and output)
=============  ==========================  =========================================
ObjectId       ObjectId, 24-hex ``str``     24-hex string
Int64          ``int`` in the int64 range   integer
Decimal128     Decimal128, Decimal, str,    string (the decimal128 canonical form);
               int, float                   numbers accepted on input
Binary         Binary, bytes (subtype 0)    ``{"base64": str, "subtype": int}``;
                                            a base64 string accepted (subtype 0)
Regex          Regex, ``re.Pattern``, str   ``{"pattern": str, "flags": str}``;
                                            a string accepted (no flags)
Timestamp      Timestamp, ``{"t": int,      ``{"t": int, "i": int}`` (seconds and
               "i": int}``                  increment, as Extended JSON's $timestamp)
=============  ==========================  =========================================

Example::

    >>> from pydantic import BaseModel
    >>> from driver.bson import ObjectId
    >>> class Out(BaseModel):
    ...     id: ObjectId
    >>> m = Out(id="5f43a1b2c3d4e5f6a7b8c9d0")
    >>> m.id, m.model_dump_json()
    (ObjectId('5f43a1b2c3d4e5f6a7b8c9d0'), '{"id":"5f43a1b2c3d4e5f6a7b8c9d0"}')
    >>> Out.model_json_schema()["properties"]["id"]["pattern"]
    '^[0-9a-fA-F]{24}$'
"""

from __future__ import annotations

import base64
import binascii
import decimal
import re
from typing import TYPE_CHECKING, Any

from driver.errors import InvalidId

if TYPE_CHECKING:
    from pydantic_core import CoreSchema

    from driver.bson.binary import Binary
    from driver.bson.decimal128 import Decimal128
    from driver.bson.int64 import Int64
    from driver.bson.objectid import ObjectId
    from driver.bson.regex import Regex
    from driver.bson.timestamp import Timestamp

__all__ = [
    "OBJECTID_PATTERN",
    "binary_json_schema",
    "binary_schema",
    "decimal128_json_schema",
    "decimal128_schema",
    "int64_json_schema",
    "int64_schema",
    "objectid_json_schema",
    "objectid_schema",
    "regex_json_schema",
    "regex_schema",
    "timestamp_json_schema",
    "timestamp_schema",
]

OBJECTID_PATTERN = "^[0-9a-fA-F]{24}$"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _error(kind: str, message: str) -> Exception:
    from pydantic_core import PydanticCustomError

    return PydanticCustomError(kind, message)


# -- ObjectId -----------------------------------------------------------------------


def objectid_schema(cls: type[ObjectId]) -> CoreSchema:
    """ObjectId, or 24 hex digits; JSON: the hex string."""
    from pydantic_core import core_schema as cs

    def validate(value: Any) -> ObjectId:
        # One Python call covers both inputs: cheaper than a union of two schemas on
        # the read path, where every document's _id passes through here.
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except InvalidId:
                pass
        raise _error(
            "objectid_type", "Input should be an ObjectId or a string of 24 hex digits"
        )

    def from_json(value: str) -> ObjectId:
        try:
            return cls(value)
        except InvalidId:
            raise _error("objectid_type", "Input should be a string of 24 hex digits") from None

    return cs.json_or_python_schema(
        json_schema=cs.no_info_after_validator_function(from_json, cs.str_schema()),
        python_schema=cs.no_info_plain_validator_function(validate),
        serialization=cs.plain_serializer_function_ser_schema(
            str, when_used="json", return_schema=cs.str_schema()
        ),
    )


def objectid_json_schema() -> dict[str, Any]:
    return {"type": "string", "pattern": OBJECTID_PATTERN, "format": "objectid"}


# -- Int64 --------------------------------------------------------------------------


def int64_schema(cls: type[Int64]) -> CoreSchema:
    """An int in the signed 64-bit range, kept as Int64 in Python mode; JSON: integer."""
    from pydantic_core import core_schema as cs

    def to_int64(value: int) -> Int64:
        return value if type(value) is cls else cls(value)

    def serialize(value: Any) -> Any:
        # The int serializer would turn the subclass into a plain int (stored as
        # int32 when it fits): keep it so the 64-bit type reaches the encoder.
        return value

    return cs.no_info_after_validator_function(
        to_int64,
        cs.int_schema(ge=_INT64_MIN, le=_INT64_MAX),
        serialization=cs.plain_serializer_function_ser_schema(
            serialize, when_used="unless-none", return_schema=cs.int_schema()
        ),
    )


def int64_json_schema() -> dict[str, Any]:
    return {"type": "integer", "format": "int64", "minimum": _INT64_MIN, "maximum": _INT64_MAX}


# -- Decimal128 ---------------------------------------------------------------------


def decimal128_schema(cls: type[Decimal128]) -> CoreSchema:
    """Decimal128 (also from Decimal, str, int, float); JSON: the canonical string."""
    from pydantic_core import core_schema as cs

    def from_decimal(value: decimal.Decimal) -> Decimal128:
        try:
            return cls(value)
        except (decimal.DecimalException, ValueError) as exc:
            raise _error(
                "decimal128_value",
                "Input cannot be stored as a decimal128 exactly (at most 34 digits, "
                "exponent within range)",
            ) from exc

    # pydantic's decimal schema does the lax parsing (str, int, float, Decimal).
    convert = cs.no_info_after_validator_function(from_decimal, cs.decimal_schema(allow_inf_nan=True))
    return cs.json_or_python_schema(
        json_schema=convert,
        python_schema=cs.union_schema(
            [cs.is_instance_schema(cls), convert],
            custom_error_type="decimal128_type",
            custom_error_message="Input should be a Decimal128 or a decimal value",
        ),
        serialization=cs.plain_serializer_function_ser_schema(
            str, when_used="json", return_schema=cs.str_schema()
        ),
    )


def decimal128_json_schema() -> dict[str, Any]:
    return {"type": "string", "format": "decimal128"}


# -- Binary -------------------------------------------------------------------------


def binary_schema(cls: type[Binary]) -> CoreSchema:
    """Binary (bytes become subtype 0); JSON: ``{"base64": ..., "subtype": n}``."""
    from pydantic_core import core_schema as cs

    def validate(value: Any) -> Binary:
        if isinstance(value, cls):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls(bytes(value))
        raise _error("binary_type", "Input should be a Binary or bytes")

    def from_json(value: Any) -> Binary:
        try:
            if isinstance(value, str):
                return cls(base64.b64decode(value, validate=True))
            if isinstance(value, dict) and set(value) == {"base64", "subtype"}:
                data, subtype = value["base64"], value["subtype"]
                if isinstance(data, str) and type(subtype) is int:
                    return cls(base64.b64decode(data, validate=True), subtype)
        except (binascii.Error, ValueError):
            pass
        raise _error(
            "binary_type",
            'Input should be a base64 string or {"base64": <base64 string>, "subtype": <0-255>}',
        )

    def to_json(value: Binary) -> dict[str, Any]:
        return {"base64": base64.b64encode(value).decode("ascii"), "subtype": value.subtype}

    def serialize(value: Any, info: cs.SerializationInfo) -> Any:
        # Python mode returns the instance: inference would give plain bytes and lose
        # the subtype.
        return to_json(value) if info.mode_is_json() else value

    return cs.json_or_python_schema(
        json_schema=cs.no_info_plain_validator_function(from_json),
        python_schema=cs.no_info_plain_validator_function(validate),
        serialization=cs.plain_serializer_function_ser_schema(serialize, info_arg=True),
    )


def binary_json_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "base64": {"type": "string", "contentEncoding": "base64"},
            "subtype": {"type": "integer", "minimum": 0, "maximum": 255},
        },
        "required": ["base64", "subtype"],
    }


# -- Regex --------------------------------------------------------------------------


def regex_schema(cls: type[Regex[Any]]) -> CoreSchema:
    """Regex (also from ``re.Pattern`` or a pattern str); JSON: pattern and flags."""
    from pydantic_core import core_schema as cs

    from driver.bson.regex import str_flags

    def validate(value: Any) -> Regex[Any]:
        if isinstance(value, cls):
            return value
        if isinstance(value, re.Pattern):
            return cls.from_native(value)
        if isinstance(value, str):
            return cls(value)
        raise _error("regex_type", "Input should be a Regex, a compiled pattern or a str")

    def from_json(value: Any) -> Regex[Any]:
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and set(value) <= {"pattern", "flags"}:
            pattern, flags = value.get("pattern"), value.get("flags", "")
            if isinstance(pattern, str) and isinstance(flags, str):
                return cls(pattern, flags)
        raise _error(
            "regex_type", 'Input should be a str or {"pattern": <str>, "flags": <str>}'
        )

    def serialize(value: Any, info: cs.SerializationInfo) -> Any:
        if info.mode_is_json():
            pattern = value.pattern
            if isinstance(pattern, bytes):
                pattern = pattern.decode("utf-8", "backslashreplace")
            return {"pattern": pattern, "flags": str_flags(value.flags)}
        return value

    return cs.json_or_python_schema(
        json_schema=cs.no_info_plain_validator_function(from_json),
        python_schema=cs.no_info_plain_validator_function(validate),
        serialization=cs.plain_serializer_function_ser_schema(serialize, info_arg=True),
    )


def regex_json_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"pattern": {"type": "string"}, "flags": {"type": "string"}},
        "required": ["pattern"],
    }


# -- Timestamp ----------------------------------------------------------------------


def timestamp_schema(cls: type[Timestamp]) -> CoreSchema:
    """Timestamp (also from ``{"t": seconds, "i": increment}``); JSON: that object."""
    from pydantic_core import core_schema as cs

    def validate(value: Any) -> Timestamp:
        if isinstance(value, cls):
            return value
        if isinstance(value, dict) and set(value) == {"t", "i"}:
            time, inc = value["t"], value["i"]
            if type(time) is int and type(inc) is int:
                try:
                    return cls(time, inc)
                except ValueError:
                    pass
        raise _error(
            "timestamp_type",
            'Input should be a Timestamp or {"t": <seconds>, "i": <increment>}, '
            "both unsigned 32-bit integers",
        )

    def serialize(value: Any, info: cs.SerializationInfo) -> Any:
        return {"t": value.time, "i": value.inc} if info.mode_is_json() else value

    return cs.no_info_plain_validator_function(
        validate,
        serialization=cs.plain_serializer_function_ser_schema(serialize, info_arg=True),
    )


def timestamp_json_schema() -> dict[str, Any]:
    word = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
    return {
        "type": "object",
        "properties": {"t": word, "i": word},
        "required": ["t", "i"],
    }
