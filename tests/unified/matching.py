"""Evaluating matches: the unified test format's rules for expected vs actual values.

``match(expected, actual, entities)`` raises :class:`MatchError` (an AssertionError)
naming the path of the first difference. The rules (unified-test-format.md,
"Evaluating Matches"):

- a root-level document may hold extra fields, a nested one may not;
- keys in any order; arrays of the same length, element by element;
- 32-bit, 64-bit and floating point numbers are equal when their values are (never a
  bool, never a Decimal128);
- the special operators ``$$exists``, ``$$type``, ``$$unsetOrMatches``,
  ``$$matchesEntity``, ``$$matchesHexBytes``, ``$$lte``, ``$$matchAsDocument``,
  ``$$matchAsRoot`` (``$$sessionLsid`` needs explicit sessions: a later issue).

``exactly_equal`` is the stricter comparison the outcome check uses (no operators, no
extra fields anywhere, key order free).
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from driver.bson import (
    Binary,
    Code,
    DatetimeMS,
    DBRef,
    Decimal128,
    Int64,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Timestamp,
    json_util,
)

__all__ = ["MISSING", "MatchError", "bson_type", "exactly_equal", "is_operator", "match"]


class MatchError(AssertionError):
    """An expected value did not match the actual one."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
"""The actual value of a key that is not there (or of an operation that returns nothing)."""

_INT32 = range(-(2**31), 2**31)

_NUMBER_TYPES = ("int", "long", "double", "decimal")


def bson_type(value: Any) -> str:
    """The ``$type`` alias of a Python value as the driver decodes BSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "long"
    if isinstance(value, int):
        return "int" if value in _INT32 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Decimal128):
        return "decimal"
    if isinstance(value, ObjectId):
        return "objectId"
    if isinstance(value, (datetime.datetime, DatetimeMS)):
        return "date"
    if isinstance(value, Timestamp):
        return "timestamp"
    if isinstance(value, (Binary, bytes, uuid.UUID)):
        return "binData"
    if isinstance(value, (Regex, re.Pattern)):
        return "regex"
    if isinstance(value, Code):
        return "javascriptWithScope" if value.scope is not None else "javascript"
    if isinstance(value, MinKey):
        return "minKey"
    if isinstance(value, MaxKey):
        return "maxKey"
    if isinstance(value, (Mapping, DBRef)):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def is_operator(value: Any) -> bool:
    """Whether ``value`` is a special operator: a document whose only key starts ``$$``."""
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)).startswith("$$")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fail(path: str, message: str) -> MatchError:
    return MatchError(f"at {path or '<root>'}: {message}")


def match(
    expected: Any,
    actual: Any,
    entities: Mapping[str, Any] | None = None,
    *,
    root: bool = True,
    path: str = "",
) -> None:
    """Assert that ``actual`` matches ``expected`` (raises :class:`MatchError`)."""
    entities = entities or {}
    if is_operator(expected):
        _operator(expected, actual, entities, root, path)
        return
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            raise _fail(path, f"expected a document {expected!r}, got {actual!r}")
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else key
            if is_operator(value):
                name = next(iter(value))
                if name == "$$exists":
                    if bool(value[name]) != (key in actual):
                        raise _fail(sub, f"expected $$exists {value[name]}, actual {actual!r}")
                    continue
                if name == "$$unsetOrMatches":
                    if key not in actual:
                        continue
                    match(value[name], actual[key], entities, root=False, path=sub)
                    continue
            if key not in actual:
                raise _fail(sub, f"missing; expected {value!r} in {dict(actual)!r}")
            match(value, actual[key], entities, root=False, path=sub)
        if not root:
            extra = [key for key in actual if key not in expected]
            if extra:
                raise _fail(path, f"unexpected fields {extra} in {dict(actual)!r}")
        return
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            raise _fail(path, f"expected an array {expected!r}, got {actual!r}")
        if len(expected) != len(actual):
            raise _fail(path, f"expected {len(expected)} elements, got {len(actual)}: {actual!r}")
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            match(want, got, entities, root=False, path=f"{path}[{index}]")
        return
    if not _scalars_equal(expected, actual):
        raise _fail(path, f"expected {expected!r} ({bson_type(expected)}), "
                          f"got {actual!r} ({bson_type(actual)})")


def _scalars_equal(expected: Any, actual: Any) -> bool:
    if _is_number(expected) and _is_number(actual):
        return bool(expected == actual)
    if isinstance(expected, Binary) or isinstance(actual, Binary):
        return bytes(expected) == bytes(actual) and getattr(expected, "subtype", 0) == getattr(
            actual, "subtype", 0
        )
    if bson_type(expected) != bson_type(actual):
        return False
    return bool(expected == actual)


def _operator(
    expected: Mapping[str, Any], actual: Any, entities: Mapping[str, Any], root: bool, path: str
) -> None:
    name, argument = next(iter(expected.items()))
    if name == "$$exists":
        raise _fail(path, "$$exists is only valid as the value of a key")
    if name == "$$type":
        kinds = [argument] if isinstance(argument, str) else list(argument)
        if "number" in kinds:
            kinds.extend(_NUMBER_TYPES)
        if actual is MISSING or bson_type(actual) not in kinds:
            raise _fail(path, f"expected $$type {argument!r}, got {actual!r}")
        return
    if name == "$$unsetOrMatches":
        if actual is MISSING:  # a key that is not there is handled by the caller
            return
        match(argument, actual, entities, root=root, path=path)
        return
    if name == "$$matchesEntity":
        if argument not in entities:
            raise KeyError(f"$$matchesEntity: no entity named {argument!r}")
        match(entities[argument], actual, entities, root=root, path=path)
        return
    if name == "$$matchesHexBytes":
        want = bytes.fromhex(argument)
        if not isinstance(actual, (bytes, Binary)) or bytes(actual) != want:
            raise _fail(path, f"expected bytes {argument}, got {actual!r}")
        return
    if name == "$$lte":
        if not (_is_number(actual) and _is_number(argument)) or not actual <= argument:
            raise _fail(path, f"expected a number <= {argument!r}, got {actual!r}")
        return
    if name == "$$matchAsDocument":
        if not isinstance(actual, str):
            raise _fail(path, f"$$matchAsDocument needs an Extended JSON string, got {actual!r}")
        match(argument, json_util.loads(actual), entities, root=False, path=path)
        return
    if name == "$$matchAsRoot":
        match(argument, actual, entities, root=True, path=path)
        return
    if name == "$$sessionLsid":
        raise NotImplementedError("$$sessionLsid needs explicit sessions (a later issue)")
    raise NotImplementedError(f"unknown special operator {name!r}")


def exactly_equal(expected: Any, actual: Any) -> bool:
    """Equal values, documents in any key order, numbers across int/long/double."""
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and set(expected) == set(actual)
            and all(exactly_equal(value, actual[key]) for key, value in expected.items())
        )
    if isinstance(expected, Sequence) and not isinstance(expected, (str, bytes)):
        return (
            isinstance(actual, Sequence)
            and not isinstance(actual, (str, bytes))
            and len(expected) == len(actual)
            and all(exactly_equal(a, b) for a, b in zip(expected, actual, strict=True))
        )
    return _scalars_equal(expected, actual)
