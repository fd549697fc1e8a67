"""Per-model plans: stored names, and the converters of every field, compiled once.

A :class:`ModelPlan` is built the first time the codec sees a model class and cached
for the life of the class. It holds what :mod:`odm.codec` needs on every read and
write, so the hot paths do no introspection:

- the stored name of each field;
- the writers of the fields whose dumped value needs converting for BSON;
- the fixers and renames that must run before Pydantic validates a stored document;
- for trusted reads, a function generated for the model (straight-line code, one
  dictionary display for all fields) that builds an instance from a stored document,
  falling back to a loop that handles missing fields, defaults and extras.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, PlainSerializer, WrapSerializer
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from driver.bson import Decimal128, Int64, ObjectId
from odm._convert import Conv, Node, Untrusted, bsonify, compile_annotation

__all__ = ["ModelPlan", "StoreError", "model_node", "plan_for"]

_PLANS: dict[type[BaseModel], ModelPlan] = {}
# Re-entrant: compiling a model compiles its embedded models in the same thread.
_COMPILING = threading.RLock()
# How a missing field gets its value: none (required), a shared constant, a call with
# no argument (a factory, or a copy of a mutable default), a call with the values so far,
# or validation (a default Pydantic validates: ``validate_default``, ``UTCDateTime``).
_REQUIRED, _CONSTANT, _CALL, _CALL_WITH_DATA, _VALIDATE = 0, 1, 2, 3, 4
# Defaults that can be shared between instances (anything else is copied by
# FieldInfo.get_default, as Pydantic does).
_IMMUTABLE = (str, int, float, bool, bytes, type(None), enum.Enum, ObjectId, Decimal128,
              decimal.Decimal, uuid.UUID, datetime.date, datetime.time)  # fmt: skip
_object_setattr = object.__setattr__


def _not_ready() -> Any:
    raise Untrusted("the model's plan is still being compiled")


def _is_document(model: type[BaseModel]) -> bool:
    from odm.model import BaseDocument

    return issubclass(model, BaseDocument)


def _default_of(info: FieldInfo, validate_default: bool = False) -> tuple[int, Any]:
    """How a trusted read fills the field when the stored document lacks it.

    ``validate_default``: the model config's (a field's own setting wins). A default
    that validation changes (``UTCDateTime`` truncates to milliseconds) cannot be taken
    as it is: the read validates the document instead.
    """
    factory = info.default_factory
    if info.default is PydanticUndefined and factory is None:
        return _REQUIRED, None
    if info.validate_default if info.validate_default is not None else validate_default:
        return _VALIDATE, None
    if factory is not None:
        # Asked once here: FieldInfo.get_default() inspects the signature every call.
        if info.default_factory_takes_validated_data:
            return _CALL_WITH_DATA, factory
        return _CALL, factory
    if isinstance(info.default, _IMMUTABLE):
        return _CONSTANT, info.default
    # A mutable default: each instance gets its own copy, as Pydantic does.
    return _CALL, functools.partial(info.get_default, call_default_factory=False)


# The values a plain ``_id`` field holds that the serializer returns as they are.
_AS_IS_IDS: frozenset[type] = frozenset(
    {ObjectId, str, int, bool, float, bytes, type(None), Int64, Decimal128, datetime.datetime}
)


def _serialized_as_is(model: type[BaseModel], name: str, info: FieldInfo) -> bool:
    """Whether Pydantic serializes field ``name`` of ``model`` as its value is (no
    field or model serializer, no ``Annotated`` serializer, not excluded)."""
    decorators = model.__pydantic_decorators__
    if decorators.model_serializers or info.exclude or info.exclude_if is not None:
        return False
    for decorator in decorators.field_serializers.values():
        if name in decorator.info.fields or "*" in decorator.info.fields:
            return False
    return not any(
        isinstance(item, (PlainSerializer, WrapSerializer)) for item in info.metadata
    )


class StoreError(Exception):
    """A value that cannot be stored; :mod:`odm.codec` reports it as a ValidationError."""

    def __init__(self, model: type[BaseModel], name: str, value: Any, cause: Exception) -> None:
        super().__init__(str(cause))
        self.model = model
        self.path = [name]
        self.value = value
        self.cause = cause

    def nested(self, name: str) -> StoreError:
        self.path.insert(0, name)
        return self


@dataclass(eq=False)
class ModelPlan:
    """What the codec knows about one model class, compiled on first use."""

    model: type[BaseModel]
    ready: bool = False
    #: field name -> stored name (alias, serialization alias; ``id`` of a Document: ``_id``)
    stored: dict[str, str] = field(default_factory=dict)
    #: (stored name, field name, writer) for the fields whose dumped value needs converting
    writers: list[tuple[str, str, Conv]] = field(default_factory=list)
    #: (stored name, key validation looks for, fixer or None) where either is needed
    fixers: list[tuple[str, str, Conv | None]] = field(default_factory=list)
    #: (field name, stored name, builder or None, default kind, default)
    readers: list[tuple[str, str, Conv | None, int, Any]] = field(default_factory=list)
    #: fields never stored (``Field(exclude=True)``): always their default on reads
    excluded: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    known: frozenset[str] = frozenset()
    extra_allowed: bool = False
    extra_forbidden: bool = False
    #: the key ``model_dump(by_alias=True)`` gives ``id`` when it is not ``_id``
    id_dump_key: str | None = None
    #: the field stored as ``_id`` (None: the model has none)
    id_field: str | None = None
    #: the ``_id`` field's value is stored as it is (no serializer, no converter), so
    #: :meth:`stored_id` may read it off the instance when it is a BSON-native value
    id_as_is: bool = False
    is_document: bool = False
    #: validation must accept field names (some stored names are not validation aliases)
    by_name: bool = False
    post_init: bool = False
    hide_input: bool = False
    trusted: bool = False
    #: trusted read: stored document -> instance (generated by ``compile``)
    build: Callable[[Any], Any] = field(default=lambda document: _not_ready())

    def compile(self) -> None:
        model = self.model
        if not model.__pydantic_complete__:
            model.model_rebuild(raise_errors=True)
        config = model.model_config
        self.is_document = _is_document(model)
        self.extra_allowed = config.get("extra") == "allow"
        self.extra_forbidden = config.get("extra") == "forbid"
        self.post_init = bool(model.__pydantic_post_init__)
        self.hide_input = bool(config.get("hide_input_in_errors", False))
        self.trusted = bool(config.get("trusted", False))
        by_alias = config.get("validate_by_alias", True)
        by_name = config.get("validate_by_name", False) or config.get("populate_by_name", False)
        required: set[str] = set()
        excluded: set[str] = set()
        for name, info in model.__pydantic_fields__.items():
            if info.exclude is True:
                excluded.add(name)
            dumped = info.serialization_alias or info.alias or name
            stored = dumped
            if self.is_document and name == "id":
                stored = "_id"
                if dumped != "_id":
                    self.id_dump_key = dumped
            self.stored[name] = stored
            node = compile_annotation(info.annotation, tuple(info.metadata), info.discriminator)
            if stored == "_id":
                self.id_field = name
                self.id_as_is = node.write is None and _serialized_as_is(model, name, info)
            if node.write is not None:
                self.writers.append((stored, name, node.write))
            # The key validation looks for; a stored name it would not accept is renamed.
            alias = info.validation_alias
            if by_alias and isinstance(alias, str):
                key = alias
            else:
                key = name
                if alias is not None and by_alias and not by_name:
                    self.by_name = True  # AliasPath/AliasChoices: only the name is sure
            if node.fix is not None or key != stored:
                self.fixers.append((stored, key, node.fix))
            kind, default = _default_of(info, bool(config.get("validate_default", False)))
            if kind == _REQUIRED:
                required.add(stored)
            self.readers.append((name, stored, node.build, kind, default))
        self.required = frozenset(required)
        self.excluded = frozenset(excluded)
        self.known = frozenset(self.stored.values())
        self.build = self._generate_build()
        self.ready = True

    # -- writing --

    def write_instance(self, instance: BaseModel) -> dict[str, Any]:
        # The serializer itself, not model_dump(): that wrapper costs about a third as
        # much again as the Rust serialization of a small document.
        document = type(instance).__pydantic_serializer__.to_python(
            instance, by_alias=True, exclude_computed_fields=True
        )
        written: dict[str, Any] = self.write_dict(document)
        return written

    def write_dict(self, document: Any) -> Any:
        """Convert a dumped document in place (it is the dump's own dict)."""
        if type(document) is not dict:
            return self.write_dict(dict(document)) if isinstance(document, Mapping) else document
        if self.is_document:
            if self.id_dump_key is not None and self.id_dump_key in document:
                document["_id"] = document.pop(self.id_dump_key)
            if "_id" in document and document["_id"] is None:
                # An id left None is for the server to assign: storing null as _id
                # would make it the one document of the collection with that id.
                del document["_id"]
        for stored, name, writer in self.writers:
            if stored in document:
                try:
                    document[stored] = writer(document[stored])
                except StoreError as exc:
                    raise exc.nested(name) from exc.__cause__
                except Exception as exc:
                    raise StoreError(self.model, name, document[stored], exc) from exc
        if self.extra_allowed:
            for key in document.keys() - self.known:
                document[key] = bsonify(document[key])
        if self.is_document and "_id" in document and next(iter(document)) != "_id":
            document = {"_id": document.pop("_id"), **document}
        return document

    def stored_id(self, instance: BaseModel) -> Any:
        """The ``_id`` ``instance`` is stored under, as :meth:`write_instance` stores
        it (None when it is left out), without writing the whole document when the
        value can be read off the instance."""
        name = self.id_field
        if name is None:
            # No field is stored as _id: only an extra field could be.
            return self.write_instance(instance).get("_id") if self.extra_allowed else None
        value = instance.__dict__.get(name)
        if self.id_as_is and type(value) in _AS_IS_IDS:
            return value
        document = type(instance).__pydantic_serializer__.to_python(
            instance, include={name}, by_alias=True, exclude_computed_fields=True
        )
        return self.write_dict(document).get("_id")

    # -- reading --

    def fix(self, document: Any) -> Any:
        """The stored document as Pydantic's validation accepts it (copied if changed)."""
        if not isinstance(document, Mapping):
            return document
        copy: dict[str, Any] | None = None
        for stored, key, fixer in self.fixers:
            if stored in document:
                value = document[stored]
                new = value if fixer is None else fixer(value)
                if new is not value or key != stored:
                    if copy is None:
                        copy = dict(document)
                    if key != stored:
                        del copy[stored]
                    copy[key] = new
        return document if copy is None else copy

    def _generate_build(self) -> Callable[[Any], Any]:
        """A function building an instance from a complete stored document.

        Straight-line code: the fields are read in one dict display, which is several
        times faster than a loop over the fields. A document that is not complete (a
        field missing, an extra key where extras are kept or refused) goes to
        :meth:`build_slow`.
        """
        namespace: dict[str, Any] = {
            "slow": self.build_slow,
            "new": self.model.__new__,
            "cls": self.model,
            "setattr": _object_setattr,
            "names": frozenset(self.stored) - self.excluded,
        }
        items = []
        stored_count = 0
        for index, (name, stored, builder, kind, default) in enumerate(self.readers):
            read = f"document[{stored!r}]"
            if name in self.excluded and kind == _CONSTANT:
                namespace[f"d{index}"] = default
                read = f"d{index}"
            elif name in self.excluded and kind == _CALL:
                namespace[f"d{index}"] = default
                read = f"d{index}()"
            else:
                stored_count += 1
                if builder is not None:
                    namespace[f"b{index}"] = builder
                    read = f"b{index}({read})"
            items.append(f"{name!r}: {read}")
        lines = [
            "def build(document):",
            "    if type(document) is not dict:",
            "        return slow(document)",
        ]
        if self.extra_allowed or self.extra_forbidden:
            lines += [f"    if len(document) != {stored_count}:", "        return slow(document)"]
        lines += [
            "    try:",
            f"        values = {{{', '.join(items)}}}",
            "    except KeyError:",
            "        return slow(document)",
            "    instance = new(cls)",
            "    setattr(instance, '__dict__', values)",
            "    setattr(instance, '__pydantic_fields_set__', set(names))",
            f"    setattr(instance, '__pydantic_extra__', {'{}' if self.extra_allowed else 'None'})",
            "    setattr(instance, '__pydantic_private__', None)",
        ]
        if self.post_init:
            lines.append("    instance.model_post_init(None)")
        lines.append("    return instance")
        source = "\n".join(lines)
        exec(compile(source, f"<odm trusted reader for {self.model.__qualname__}>", "exec"), namespace)
        built: Callable[[Any], Any] = namespace["build"]
        return built

    def build_slow(self, document: Any) -> Any:
        """The trusted read for any stored document: defaults, extras, checks."""
        if type(document) is not dict:
            if not isinstance(document, Mapping):
                raise Untrusted
            document = dict(document)
        values: dict[str, Any] = {}
        fields_set: set[str] = set()
        for name, stored, builder, kind, default in self.readers:
            try:
                if name in self.excluded:
                    raise KeyError(stored)
                value = document[stored]
            except KeyError:
                if kind == _CONSTANT:
                    values[name] = default
                elif kind == _CALL:
                    values[name] = default()
                elif kind == _CALL_WITH_DATA:
                    values[name] = default(values)
                else:  # required, or a default only validation gets right
                    raise Untrusted from None
                continue
            values[name] = value if builder is None else builder(value)
            fields_set.add(name)
        extra: dict[str, Any] | None = None
        if self.extra_allowed:
            extra = {k: v for k, v in document.items() if k not in self.known}
        elif self.extra_forbidden and document.keys() - self.known:
            raise Untrusted
        instance = self.model.__new__(self.model)
        _object_setattr(instance, "__dict__", values)
        _object_setattr(instance, "__pydantic_fields_set__", fields_set)
        _object_setattr(instance, "__pydantic_extra__", extra)
        _object_setattr(instance, "__pydantic_private__", None)
        if self.post_init:
            instance.model_post_init(None)
        return instance

    # -- union membership (trusted reads of a union of models) --

    def strict(self, value: Any) -> bool:
        """A stored document that fits exactly: required fields there, no unknown keys."""
        if type(value) is not dict:
            return False
        keys = value.keys()
        return self.required <= keys and (self.extra_allowed or not (keys - self.known))

    def lax(self, value: Any) -> bool:
        """A stored document with the required fields."""
        return type(value) is dict and self.required <= value.keys()


def plan_for(model: type[BaseModel]) -> ModelPlan:
    """The model's compiled plan (compiled on first use, cached per class)."""
    plan = _PLANS.get(model)
    if plan is not None and plan.ready:
        return plan
    with _COMPILING:
        plan = _PLANS.get(model)
        if plan is None:
            plan = ModelPlan(model)
            # Registered before compiling, so a recursive model finds itself. Other
            # threads wait on the lock meanwhile: they never see a plan half-built.
            _PLANS[model] = plan
            try:
                plan.compile()
            except BaseException:
                del _PLANS[model]
                raise
        return plan


def model_node(model: type[BaseModel]) -> Node:
    """The converters of an embedded model."""
    plan = plan_for(model)
    if plan.ready:
        needs_write = bool(plan.writers) or plan.is_document or plan.extra_allowed
        return Node(
            write=plan.write_dict if needs_write or plan.id_dump_key else None,
            fix=plan.fix if plan.fixers else None,
            build=plan.build,
            strict=plan.strict,
            lax=plan.lax,
        )
    # Still compiling (a recursive model): every converter may be needed, and the
    # generated reader does not exist yet, so look it up on each call.
    return Node(
        write=plan.write_dict,
        fix=plan.fix,
        build=lambda value: plan.build(value),
        strict=plan.strict,
        lax=plan.lax,
    )
