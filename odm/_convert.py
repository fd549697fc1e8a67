"""Compiled converters between Pydantic values and BSON values, one set per annotation.

:mod:`odm.codec` is the public face; this module does the work. Each annotation is
compiled once into a :class:`Node` of up to three functions, and ``None`` where the
value passes unchanged (the common case, so most fields cost nothing):

- ``write``: a value from ``model_dump()`` (Python mode) -> a BSON-ready value
  (Decimal -> Decimal128, UUID -> Binary subtype 4, enum -> its value, set/tuple ->
  list, date -> datetime, datetime -> aware UTC in milliseconds);
- ``fix``: a decoded BSON value -> something Pydantic's validation accepts (only what
  it does not accept itself: Decimal128 for Decimal, Regex for re.Pattern, a UUID
  stored as Binary);
- ``build``: a decoded BSON value -> the final Python value, without validation (the
  trusted read). It raises when a value does not look as expected; the caller then
  validates the whole document instead, so trusted reads never give a broken instance
  for data they cannot handle.

Every converter checks the runtime type before converting, so a converter can be
applied to a value that a custom serializer or another union member produced.
Models compile to a :class:`odm._plan.ModelPlan` (cached per class), which embedded
and recursive models share.
"""

from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import re
import sys
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import pydantic
from pydantic import BaseModel, RootModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticSerializationError, PydanticUndefined, to_jsonable_python

from driver.bson import (
    Binary,
    Code,
    DBRef,
    Decimal128,
    Int64,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Timestamp,
)
from driver.bson.binary import UUID_SUBTYPE
from driver.bson.datetime_ms import DatetimeMS

__all__ = ["Conv", "Node", "Untrusted", "bsonify", "compile_annotation", "unwrap"]

Conv = Callable[[Any], Any]
Check = Callable[[Any], bool]

_UTC = datetime.timezone.utc
_NoneType = type(None)
_object_setattr = object.__setattr__
_TypeAliasTypes: tuple[type, ...] = tuple(
    t for t in (getattr(typing, "TypeAliasType", None),) if isinstance(t, type)
)
try:  # typing_extensions' TypeAliasType is a different class before Python 3.12
    from typing_extensions import TypeAliasType as _TETypeAliasType

    _TypeAliasTypes = (*_TypeAliasTypes, _TETypeAliasType)
except ImportError:  # pragma: no cover - pydantic depends on typing_extensions
    pass


class Untrusted(Exception):
    """A trusted read met a value it cannot convert; the document is validated instead."""


def _never(value: Any) -> bool:
    return False


def _always(value: Any) -> bool:
    return True


@dataclass
class Node:
    """The compiled converters of one annotation (``None``: the value passes as is).

    ``strict`` and ``lax`` serve unions in trusted reads: the first member whose
    ``strict`` check accepts the stored value builds it, else the first whose ``lax``
    check does (the order Pydantic's smart unions follow).
    """

    write: Conv | None = None
    fix: Conv | None = None
    build: Conv | None = None
    strict: Check = _never
    lax: Check = _never


# -- scalars ------------------------------------------------------------------------


def _w_decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        try:
            return Decimal128(value)
        except (decimal.DecimalException, ValueError):
            raise ValueError(
                f"{value!r} cannot be stored as a Decimal128: it allows at most 34 "
                "significant digits and exponents from -6176 to 6111"
            ) from None
    return value


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _w_int(value: Any) -> Any:
    # BSON holds 64-bit integers at most: say which field, not the encoder's bare
    # OverflowError after the command was half built.
    if type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"{value} cannot be stored: BSON integers are 64-bit at most")
    return value


def _f_decimal(value: Any) -> Any:
    return value.to_decimal() if type(value) is Decimal128 else value


def _b_decimal(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal128:
        return value.to_decimal()
    if kind is decimal.Decimal:
        return value
    raise Untrusted


def _w_uuid(value: Any) -> Any:
    return Binary.from_uuid(value) if isinstance(value, uuid.UUID) else value


def _f_uuid(value: Any) -> Any:
    if isinstance(value, Binary) and value.subtype == UUID_SUBTYPE:
        return value.as_uuid()
    return value


def _b_uuid(value: Any) -> Any:
    if type(value) is uuid.UUID:
        return value
    if isinstance(value, Binary) and value.subtype == UUID_SUBTYPE:
        return value.as_uuid()
    raise Untrusted


def _l_uuid(value: Any) -> bool:
    return isinstance(value, Binary) and value.subtype == UUID_SUBTYPE and len(value) == 16


def _w_date(value: Any) -> Any:
    if type(value) is datetime.date:
        return datetime.datetime(value.year, value.month, value.day, tzinfo=_UTC)
    return value


def _b_date(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset():
            value = value.astimezone(_UTC)
        if value.hour or value.minute or value.second or value.microsecond:
            raise Untrusted  # validation explains the problem better
        return value.date()
    if type(value) is datetime.date:
        return value
    raise Untrusted


def _f_pattern(value: Any) -> Any:
    return value.try_compile() if isinstance(value, Regex) else value


def _b_pattern(value: Any) -> Any:
    if isinstance(value, Regex):
        return value.try_compile()
    if isinstance(value, re.Pattern):
        return value
    if isinstance(value, str):
        return re.compile(value)
    raise Untrusted


def _b_int(value: Any) -> Any:
    # Int64 is what the decoder gives for an int64; validation returns a plain int.
    kind = type(value)
    if kind is int or kind is bool:
        return value
    if kind is Int64:
        return int(value)
    raise Untrusted


def _b_float(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return value
    if kind is int or kind is Int64:
        return float(value)
    raise Untrusted


def _b_int64(value: Any) -> Any:
    kind = type(value)
    if kind is Int64:
        return value
    if kind is int:
        return Int64(value)
    raise Untrusted


def _b_binary(value: Any) -> Any:
    if isinstance(value, Binary):
        return value
    if isinstance(value, bytes):
        return Binary(value)
    raise Untrusted


def _is(kind: type) -> Check:
    return lambda value: type(value) is kind


def _isinstance(kind: type | tuple[type, ...]) -> Check:
    return lambda value: isinstance(value, kind)


def _is_int(value: Any) -> bool:
    return type(value) is int or type(value) is Int64


def _identity_node(kind: type | tuple[type, ...], lax: Check | None = None) -> Node:
    check = _isinstance(kind)
    return Node(strict=check, lax=lax or check)


_SCALARS: dict[Any, Node] = {
    str: Node(strict=_is(str), lax=_isinstance(str)),
    bool: Node(strict=_is(bool), lax=_is(bool)),
    int: Node(write=_w_int, build=_b_int, strict=_is_int, lax=_is_int),
    float: Node(
        build=_b_float, strict=_is(float), lax=lambda v: type(v) in (float, int, Int64)
    ),
    bytes: _identity_node(bytes),
    _NoneType: Node(strict=lambda v: v is None, lax=lambda v: v is None),
    ObjectId: _identity_node(ObjectId),
    Int64: Node(build=_b_int64, strict=_is(Int64), lax=_is_int),
    Decimal128: _identity_node(Decimal128),
    Binary: Node(build=_b_binary, strict=_isinstance(Binary), lax=_isinstance(bytes)),
    Regex: _identity_node(Regex),
    Timestamp: _identity_node(Timestamp),
    decimal.Decimal: Node(
        write=_w_decimal,
        fix=_f_decimal,
        build=_b_decimal,
        strict=_is(decimal.Decimal),
        lax=_is(Decimal128),
    ),
    uuid.UUID: Node(write=_w_uuid, fix=_f_uuid, build=_b_uuid, strict=_is(uuid.UUID), lax=_l_uuid),
    # Datetimes go to the encoder as they are: it takes naive ones as UTC, converts
    # aware ones, and keeps milliseconds (rounding down), in C and for free. Reads
    # decoded with CODEC_OPTIONS give aware UTC datetimes already.
    datetime.datetime: _identity_node(datetime.datetime),
    datetime.date: Node(
        write=_w_date, build=_b_date, strict=_is(datetime.date), lax=_isinstance(datetime.datetime)
    ),
    re.Pattern: Node(
        fix=_f_pattern,
        build=_b_pattern,
        strict=_isinstance(re.Pattern),
        lax=_isinstance((Regex, str)),
    ),
}
_SCALARS[Any] = _SCALARS[object] = Node(write=None, strict=_always, lax=_always)
# Any: Pydantic keeps whatever was given, so reads leave the value alone; writes
# still need the generic conversion (set it below, once bsonify exists).

# -- the generic conversion (Any, unions, unknown types) ------------------------------

# Values the BSON encoder takes as they are (exact types; subclasses go the long way).
_BSON_NATIVE: frozenset[type] = frozenset(
    {
        str, int, float, bool, _NoneType, bytes, ObjectId, Int64, Decimal128, Binary, Regex,
        Timestamp, Code, MinKey, MaxKey, DBRef, DatetimeMS, re.Pattern,
    }
)  # fmt: skip


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, str):
        return str.__str__(key)
    return str(key)


def _sorted_list(items: list[Any]) -> list[Any]:
    # A set has no order; sort so the same set is always stored the same way.
    try:
        return sorted(items)
    except TypeError:
        return items


def bsonify(value: Any) -> Any:
    """Any Python value -> a value the BSON encoder stores as the ODM's rules say.

    Used where the annotation does not say what to expect (``Any``, unions, types the
    ODM has no rule for). Types with no BSON form and no rule are stored as Pydantic's
    JSON form of them (``pydantic_core.to_jsonable_python``: URLs, IP addresses and
    paths as strings, ``timedelta`` as an ISO 8601 duration).
    """
    kind = type(value)
    if kind in _BSON_NATIVE:
        return value
    if kind is dict:
        return {_key(k): bsonify(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [bsonify(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, decimal.Decimal):
        return _w_decimal(value)
    if isinstance(value, uuid.UUID):
        return Binary.from_uuid(value)
    if isinstance(value, enum.Enum):
        return bsonify(value.value)
    if isinstance(value, (set, frozenset)):
        return _sorted_list([bsonify(v) for v in value])
    if isinstance(value, datetime.date):
        return _w_date(value)
    if isinstance(value, BaseModel):
        from odm._plan import plan_for

        return plan_for(type(value)).write_instance(value)
    if isinstance(value, (pydantic.SecretStr, pydantic.SecretBytes)):
        # The JSON form would be the mask ("**********"): store the secret itself.
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {_key(k): bsonify(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bytes)):  # subclasses of the native types
        return value
    if isinstance(value, (list, tuple)):
        return [bsonify(v) for v in value]
    return bsonify(to_jsonable_python(value))


def _fix_generic(value: Any) -> Any:
    # Inside types the ODM does not compile (dataclasses, TypedDicts, custom types),
    # Decimal128 is the one stored form Pydantic's validation would refuse.
    kind = type(value)
    if kind is Decimal128:
        return value.to_decimal()
    if kind is dict:
        return {k: _fix_generic(v) for k, v in value.items()}
    if kind is list:
        return [_fix_generic(v) for v in value]
    return value


_SCALARS[Any].write = bsonify
_SCALARS[object].write = bsonify

# -- annotations ---------------------------------------------------------------------


def unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip Annotated, NewType and type aliases; return the type and the metadata."""
    metadata: tuple[Any, ...] = ()
    while True:
        if get_origin(annotation) is typing.Annotated:
            metadata = metadata + tuple(annotation.__metadata__)
            annotation = annotation.__origin__
        elif _TypeAliasTypes and isinstance(annotation, _TypeAliasTypes):
            annotation = annotation.__value__  # type: ignore[attr-defined]
        elif hasattr(annotation, "__supertype__") and callable(annotation):  # NewType
            annotation = annotation.__supertype__
        else:
            return annotation, metadata


def _annotated(annotation: Any, metadata: tuple[Any, ...]) -> Any:
    """``Annotated[annotation, *metadata]``, built at run time."""
    annotated: Any = typing.Annotated
    args = (annotation, *metadata)
    return annotated[args]


def _discriminator_in(metadata: tuple[Any, ...]) -> Any:
    for item in metadata:
        if isinstance(item, pydantic.Discriminator):
            return item.discriminator
        if isinstance(item, FieldInfo) and item.discriminator is not None:
            found = item.discriminator
            return found.discriminator if isinstance(found, pydantic.Discriminator) else found
    return None


_SEQUENCES = {list, collections.abc.Sequence, collections.abc.MutableSequence, typing.Sequence}
_SETS = {set, frozenset, collections.abc.Set, collections.abc.MutableSet, typing.AbstractSet}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}
# Bare containers (``dict``, ``list``, ``typing.Tuple``, ``collections.abc.Sequence``)
# hold Any, as Pydantic reads them. (``typing.List``, ``typing.Dict``... need no entry:
# their origin is the container and their empty arguments read as Any below.)
_ONE_ARG: tuple[Any, ...] = tuple(k for k in (*_SEQUENCES, *_SETS) if isinstance(k, type))
_BARE_CONTAINERS: dict[Any, Any] = {
    tuple: tuple[Any, ...],
    typing.Tuple: tuple[Any, ...],  # noqa: UP006 - the bare typing alias, a key here
    **{kind: kind[Any] for kind in _ONE_ARG},
    **{kind: kind[Any, Any] for kind in _MAPPINGS},
}


def compile_annotation(
    annotation: Any, metadata: tuple[Any, ...] = (), discriminator: Any = None
) -> Node:
    """The converters for one annotation (with the metadata Pydantic split off it)."""
    from odm._plan import model_node

    inner, more = unwrap(annotation)
    metadata = metadata + more
    if discriminator is None:
        discriminator = _discriminator_in(metadata)
    if isinstance(discriminator, pydantic.Discriminator):
        discriminator = discriminator.discriminator
    try:
        scalar = _SCALARS.get(inner)
        bare = _BARE_CONTAINERS.get(inner)
    except TypeError:  # an unhashable annotation
        scalar = bare = None
    if scalar is not None:
        return scalar
    if bare is not None:
        return compile_annotation(bare)
    origin = get_origin(inner)
    if isinstance(inner, type) and origin is None:
        if issubclass(inner, BaseModel) and not issubclass(inner, RootModel):
            return model_node(inner)
        if issubclass(inner, enum.Enum):
            return _enum_node(inner)
        for base in (ObjectId, Int64, Decimal128, Binary, Regex, Timestamp, datetime.datetime):
            if issubclass(inner, base):
                return _SCALARS[base]
    if origin is Regex:  # Regex[str], Regex[bytes]
        return _SCALARS[Regex]
    if origin is Union or (sys.version_info >= (3, 10) and origin is types.UnionType):
        return _union_node(get_args(inner), discriminator, annotation, metadata)
    if origin is Literal:
        return _literal_node(get_args(inner))
    if origin in _SEQUENCES:
        (item,) = get_args(inner) or (Any,)
        return _sequence_node(compile_annotation(item), list, to_list=origin is not list)
    if origin in _SETS:
        (item,) = get_args(inner) or (Any,)
        return _set_node(compile_annotation(item), frozenset if origin is frozenset else set)
    if origin is tuple:
        args = get_args(inner)
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence_node(compile_annotation(args[0]), tuple, to_list=True)
        if args == ((),):  # tuple[()]
            args = ()
        return _fixed_tuple_node([compile_annotation(a) for a in args])
    if origin in _MAPPINGS:
        key, value = get_args(inner) or (Any, Any)
        return _mapping_node(key, compile_annotation(value))
    if inner is re.Pattern or origin is re.Pattern:
        return _SCALARS[re.Pattern]
    return _unknown_node(_annotated(inner, metadata) if metadata else annotation)


# -- containers ----------------------------------------------------------------------


def _sequence_node(item: Node, kind: type, *, to_list: bool) -> Node:
    w, f, b = item.write, item.fix, item.build

    def write(value: Any) -> Any:
        if type(value) is list or type(value) is tuple:
            return [w(v) for v in value] if w is not None else list(value)
        return value

    def fix(value: Any) -> Any:
        return [f(v) for v in value] if type(value) is list else value  # type: ignore[misc]

    def build(value: Any) -> Any:
        if type(value) is not list:
            raise Untrusted
        if kind is tuple:
            return tuple(value) if b is None else tuple([b(v) for v in value])
        return [b(v) for v in value]  # type: ignore[misc]

    needs_build = b is not None or kind is tuple
    check = _is(list)
    return Node(
        write=write if (w is not None or to_list) else None,
        fix=fix if f is not None else None,
        build=build if needs_build else None,
        strict=check,
        lax=check,
    )


def _set_node(item: Node, kind: type) -> Node:
    w, f, b = item.write, item.fix, item.build

    def write(value: Any) -> Any:
        if isinstance(value, (set, frozenset, list, tuple)):
            return _sorted_list([w(v) for v in value] if w is not None else list(value))
        return value

    def fix(value: Any) -> Any:
        return [f(v) for v in value] if type(value) is list else value  # type: ignore[misc]

    def build(value: Any) -> Any:
        if type(value) is not list:
            raise Untrusted
        return kind(value) if b is None else kind([b(v) for v in value])

    check = _is(list)
    return Node(write=write, fix=fix if f is not None else None, build=build, strict=check, lax=check)


def _fixed_tuple_node(items: list[Node]) -> Node:
    writers = [n.write for n in items]
    fixers = [n.fix for n in items]
    builders = [n.build for n in items]

    def write(value: Any) -> Any:
        if type(value) is tuple or type(value) is list:
            return [v if w is None else w(v) for w, v in zip(writers, value, strict=False)]
        return value

    def fix(value: Any) -> Any:
        if type(value) is list:
            return [v if f is None else f(v) for f, v in zip(fixers, value, strict=False)]
        return value

    def build(value: Any) -> Any:
        if type(value) is not list or len(value) != len(builders):
            raise Untrusted
        return tuple(v if b is None else b(v) for b, v in zip(builders, value, strict=True))

    check = _is(list)
    return Node(
        write=write,
        fix=fix if any(f is not None for f in fixers) else None,
        build=build,
        strict=check,
        lax=check,
    )


_ADAPTERS: dict[Any, pydantic.TypeAdapter[Any]] = {}


def _adapter(annotation: Any) -> pydantic.TypeAdapter[Any]:
    try:
        adapter = _ADAPTERS.get(annotation)
    except TypeError:
        return pydantic.TypeAdapter(annotation)
    if adapter is None:
        adapter = _ADAPTERS[annotation] = pydantic.TypeAdapter(annotation)
    return adapter


def _mapping_node(key_type: Any, value: Node) -> Node:
    w, f, b = value.write, value.fix, value.build
    key_inner, _ = unwrap(key_type)
    str_keys = key_inner is str or key_inner is Any
    key_builder: Conv | None = None
    if not str_keys:
        # Keys are stored as strings; Pydantic's lax mode parses them back.
        def key_builder(key: Any) -> Any:
            return _adapter(key_type).validate_python(key)

    def write(value: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            return value
        if w is None:
            return {_key(k): v for k, v in value.items()}
        return {_key(k): w(v) for k, v in value.items()}

    def fix(value: Any) -> Any:
        return {k: f(v) for k, v in value.items()} if type(value) is dict else value  # type: ignore[misc]

    def build(value: Any) -> Any:
        if type(value) is not dict:
            raise Untrusted
        if key_builder is None:
            return {k: b(v) for k, v in value.items()}  # type: ignore[misc]
        if b is None:
            return {key_builder(k): v for k, v in value.items()}
        return {key_builder(k): b(v) for k, v in value.items()}

    check = _is(dict)
    return Node(
        write=write if (w is not None or not str_keys) else None,
        fix=fix if f is not None else None,
        build=build if (b is not None or key_builder is not None) else None,
        strict=check,
        lax=check,
    )


def _enum_node(kind: type[enum.Enum]) -> Node:
    members = kind._value2member_map_

    def write(value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    def build(value: Any) -> Any:
        try:
            member = members.get(value)
        except TypeError:  # an unhashable stored value
            member = None
        if member is not None:
            return member
        try:
            return kind(value)
        except ValueError:
            raise Untrusted from None

    def lax(value: Any) -> bool:
        try:
            return value in members
        except TypeError:
            return False

    return Node(write=write, build=build, strict=_isinstance(kind), lax=lax)


def _literal_node(values: tuple[Any, ...]) -> Node:
    stored: dict[tuple[type, Any], Any] = {}
    has_enum = False
    for value in values:
        if isinstance(value, enum.Enum):
            has_enum = True
            stored[(type(value.value), value.value)] = value
        else:
            stored[(type(value), value)] = value

    def write(value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    def build(value: Any) -> Any:
        try:
            return stored[(type(value), value)]
        except (KeyError, TypeError):
            raise Untrusted from None

    def check(value: Any) -> bool:
        try:
            return (type(value), value) in stored
        except TypeError:
            return False

    return Node(
        write=write if has_enum else None,
        build=build if has_enum else None,
        strict=check,
        lax=check,
    )


def _unknown_node(annotation: Any) -> Node:
    def write(value: Any) -> Any:
        try:
            return bsonify(value)
        except PydanticSerializationError:
            # A type only its own schema knows how to put in JSON form.
            return bsonify(_adapter(annotation).dump_python(value, mode="json", warnings=False))

    def build(value: Any) -> Any:
        # No rule for this type: validating it is the only way to get it right.
        return _adapter(annotation).validate_python(_fix_generic(value))

    return Node(write=write, fix=_fix_generic, build=build, strict=_never, lax=_always)


# -- unions --------------------------------------------------------------------------


def _union_node(
    args: tuple[Any, ...], discriminator: Any, annotation: Any, metadata: tuple[Any, ...]
) -> Node:
    if discriminator is not None and not isinstance(discriminator, str):
        # A callable discriminator: nothing to dispatch on here, validate instead.
        return _unknown_node(_annotated(annotation, metadata) if metadata else annotation)
    nullable = _NoneType in args
    members = [a for a in args if a is not _NoneType]
    if isinstance(discriminator, str):
        return _tagged_union_node(members, discriminator, nullable)
    nodes = [compile_annotation(a) for a in members]
    if len(nodes) == 1:
        return _optional(nodes[0])
    if nullable:
        nodes.append(_SCALARS[_NoneType])
    fixers = [n.fix for n in nodes if n.fix is not None]

    def fix(value: Any) -> Any:
        # Each fixer converts only the stored types its member expects.
        for f in fixers:
            value = f(value)
        return value

    def build(value: Any) -> Any:
        for node in nodes:
            if node.strict(value):
                return value if node.build is None else node.build(value)
        for node in nodes:
            if node.lax(value):
                return value if node.build is None else node.build(value)
        raise Untrusted

    return Node(
        write=bsonify if any(n.write is not None for n in nodes) else None,
        fix=fixers[0] if len(fixers) == 1 else (fix if fixers else None),
        build=build,
        strict=lambda v: any(n.strict(v) for n in nodes),
        lax=lambda v: any(n.lax(v) for n in nodes),
    )


def _optional(node: Node) -> Node:
    b = node.build

    def build(value: Any) -> Any:
        return None if value is None else b(value)  # type: ignore[misc]

    return Node(
        write=node.write,  # every writer lets None through
        fix=node.fix,
        build=build if b is not None else None,
        strict=lambda v: v is None or node.strict(v),
        lax=lambda v: v is None or node.lax(v),
    )


def _tagged_union_node(members: list[Any], tag: str, nullable: bool) -> Node:
    """A union told apart by the value of field ``tag`` (``Field(discriminator=...)``)."""
    from odm._plan import model_node, plan_for

    table: dict[tuple[str, Any], Node] = {}
    keys: list[str] = []
    for member in members:
        model, _ = unwrap(member)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        plan = plan_for(model)
        info = model.__pydantic_fields__.get(tag)
        if info is None:
            continue
        key = plan.stored.get(tag, tag)
        if key not in keys:
            keys.append(key)
        node = model_node(model)
        literal, _ = unwrap(info.annotation)
        for value in get_args(literal) if get_origin(literal) is Literal else ():
            table[(key, value)] = node
            if isinstance(value, enum.Enum):
                table[(key, value.value)] = node

    def lookup(value: Any) -> Node | None:
        if type(value) is dict:
            for key in keys:
                tag_value = value.get(key, PydanticUndefined)
                if tag_value is not PydanticUndefined:
                    try:
                        return table.get((key, tag_value))
                    except TypeError:
                        return None
        return None

    def write(value: Any) -> Any:
        node = lookup(value)
        if node is None:
            return bsonify(value)
        return value if node.write is None else node.write(value)

    def fix(value: Any) -> Any:
        node = lookup(value)
        return value if node is None or node.fix is None else node.fix(value)

    def build(value: Any) -> Any:
        if value is None and nullable:
            return None
        node = lookup(value)
        if node is None or node.build is None:
            raise Untrusted
        return node.build(value)

    def check(value: Any) -> bool:
        return (value is None and nullable) or lookup(value) is not None

    nodes = list(table.values())
    return Node(
        write=write if any(n.write is not None for n in nodes) else None,
        fix=fix if any(n.fix is not None for n in nodes) else None,
        build=build,
        strict=check,
        lax=check,
    )


