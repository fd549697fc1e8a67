"""Model instances <-> BSON-ready documents: pure functions, no I/O.

The engine writes ``to_document(instance)``, finds an instance's stored document by
``id_of(instance)`` and reads with ``from_document(Model, decoded)``, decoding with
:data:`CODEC_OPTIONS`. Queries and updates check their values with :func:`dump_value`
and name fields with :func:`stored_name`.

The rules (:mod:`odm.types` lists how each type is stored):

- Stored names: a field is stored under its serialization alias (``Field(alias=...)``,
  ``Field(serialization_alias=...)``, an alias generator), else its name. The ``id`` of
  a document (:class:`odm.Document`, or a :class:`odm.BaseDocument` that declares its
  own) is always stored as ``_id``, whatever its alias, first in the document; an
  ``id`` that is None (``id: ObjectId | None = None``) is left out, for the driver or
  server to assign.
- ``Field(exclude=True)`` fields are not stored; they take their default on reads.
- Computed fields (``@computed_field``) are not stored: they are derived from stored
  fields, and stored copies would go stale when the code changes. (Index or query a
  value? Make it a real field.)
- ``None`` is stored as BSON null. To leave a field out when it is None, declare it
  with ``Field(default=None, exclude_if=lambda v: v is None)``.
- Pydantic serializers (``field_serializer``, ``PlainSerializer``, ``model_serializer``)
  apply: the stored form is what they return in Python mode, and reads validate it.
- Extra fields (``extra="allow"``) are stored and read back as they are.

Reads validate by default: Pydantic's full validation, after converting the few BSON
values it does not accept itself (Decimal128 for ``Decimal``, a regex for
``re.Pattern``, a UUID still in Binary form). A failure raises
:class:`odm.errors.ValidationError` naming the model, the document's ``_id`` and the
failing paths. Validation follows the model's config, so a ``strict=True`` model
refuses the arrays its sets and tuples are stored as: keep stored models lax.

Trusted reads (``trusted=True``, or ``trusted=True`` in the model's config) build the
instance without Pydantic's validation, for speed and for models whose validators are
costly:

- They convert what validation would: Decimal128 to Decimal, int64 to int, int to
  float, arrays to sets and tuples, values to enum members, embedded documents to
  models, union members picked as Pydantic's smart mode would (discriminated unions by
  their tag); defaults fill missing fields; ``model_post_init`` runs. (A missing field
  whose default Pydantic validates, ``validate_default`` or a :data:`odm.types.UTCDateTime`,
  makes the read validate the document, which gets that default right.)
- They do not run field, model or ``Annotated`` validators (a ``BeforeValidator``
  that reshapes stored data does not run), check constraints (``gt``,
  ``max_length``...), or copy lists and dicts (the instance shares them with the
  document passed in).
- They check the types they convert (numbers, decimals, UUIDs, enums, containers,
  embedded documents, union members): a value of the wrong type there, or a missing
  required field, makes the read validate the whole document instead, which repairs
  it or raises ``ValidationError``. Strings, booleans, bytes and BSON values
  (ObjectId, datetime...) are taken as stored.
- Types the ODM has no rule for (URLs, dataclasses, TypedDicts, custom types) are
  validated even in trusted mode.

Example::

    >>> import decimal
    >>> from odm import Document
    >>> class Item(Document, collection="items"):
    ...     name: str
    ...     price: decimal.Decimal
    >>> item = Item(id="5f43a1b2c3d4e5f6a7b8c9d0", name="pen", price=decimal.Decimal("1.50"))
    >>> doc = to_document(item)
    >>> doc
    {'_id': ObjectId('5f43a1b2c3d4e5f6a7b8c9d0'), 'name': 'pen', 'price': Decimal128('1.50')}
    >>> from_document(Item, doc) == item, from_document(Item, doc, trusted=True) == item
    (True, True)
    >>> stored_name(Item, "id"), dump_value(decimal.Decimal, "2.5", field="price")
    ('_id', Decimal128('2.5'))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel

from driver.bson import CodecOptions, ObjectId
from driver.bson.binary import UuidRepresentation
from odm._convert import Node, compile_annotation
from odm._plan import StoreError, plan_for
from odm.errors import ValidationError

__all__ = [
    "CODEC_OPTIONS",
    "dump_value",
    "from_document",
    "id_of",
    "stored_name",
    "to_document",
]

_M = TypeVar("_M", bound=BaseModel)

CODEC_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions(
    tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
)
"""The options the engine decodes (and encodes) with.

Datetimes decode as aware UTC datetimes (``tzinfo`` is left unset: the decoder's
default for ``tz_aware=True`` is already UTC, and naming it would cost an
``astimezone`` call per value); UUIDs use the standard representation (subtype 4).
"""


def to_document(instance: BaseModel) -> dict[str, Any]:
    """The BSON-ready document for ``instance``: stored names, ``_id`` first.

    Raises :class:`odm.errors.ValidationError` naming the field when a value cannot be
    stored (a Decimal with more than 34 digits, say).

    >>> from pydantic import BaseModel, Field
    >>> class Point(BaseModel):
    ...     x: int = Field(alias="X")
    ...     tags: set[str] = set()
    >>> to_document(Point(X=1, tags={"b", "a"}))
    {'X': 1, 'tags': ['a', 'b']}
    """
    plan = plan_for(type(instance))
    try:
        return plan.write_instance(instance)
    except StoreError as exc:
        raise _store_error(instance, exc) from exc.cause


def id_of(instance: BaseModel) -> Any:
    """The ``_id`` ``instance`` is stored under: ``to_document(instance).get("_id")``,
    without building the whole document when the id is stored as it is.

    None when the instance has no ``_id`` to store (an ``id`` left None, for the server
    to assign; a model with no field stored as ``_id``).

    >>> import uuid
    >>> from odm import BaseDocument, Document
    >>> class Note(Document):
    ...     text: str = ""
    >>> id_of(Note(id="5f43a1b2c3d4e5f6a7b8c9d0"))
    ObjectId('5f43a1b2c3d4e5f6a7b8c9d0')
    >>> class Ticket(BaseDocument):
    ...     id: uuid.UUID
    >>> stored = id_of(Ticket(id=uuid.UUID(int=1)))  # as to_document stores it
    >>> type(stored).__name__, stored.subtype, stored.as_uuid() == uuid.UUID(int=1)
    ('Binary', 4, True)
    """
    plan = plan_for(type(instance))
    try:
        return plan.stored_id(instance)
    except StoreError as exc:
        raise _store_error(instance, exc) from exc.cause


def _store_error(instance: BaseModel, exc: StoreError) -> ValidationError:
    return ValidationError(
        f"cannot store {type(instance).__qualname__}.{'.'.join(exc.path)}: {exc.cause}",
        model=type(instance),
        document_id=getattr(instance, "id", None),
        errors=[
            {
                "type": "bson_value",
                "loc": tuple(exc.path),
                "msg": str(exc.cause),
                "input": exc.value,
            }
        ],
        field=".".join(exc.path),
    )


def from_document(
    model: type[_M], document: Mapping[str, Any], *, trusted: bool | None = None
) -> _M:
    """An instance of ``model`` from a stored document (validated unless trusted).

    ``trusted=None`` uses the model config's ``trusted`` (default False). See the
    module documentation for what a trusted read skips.

    >>> from pydantic import BaseModel
    >>> class Point(BaseModel):
    ...     x: int
    >>> from_document(Point, {"x": 1})
    Point(x=1)
    >>> from_document(Point, {"_id": 7, "x": "one"})
    Traceback (most recent call last):
      ...
    odm.errors.ValidationError: stored Point document (_id=7) does not validate: 1 error
      x: Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input='one']
    """
    plan = plan_for(model)
    if trusted or (trusted is None and plan.trusted):
        try:
            return plan.build(document)  # type: ignore[no-any-return]
        except Exception:
            pass  # validation below reports the problem, or gets the value right
    fixed = plan.fix(document) if plan.fixers else document
    try:
        if plan.by_name:
            return model.model_validate(fixed, by_alias=True, by_name=True)
        return model.model_validate(fixed)
    except pydantic.ValidationError as exc:
        document_id = document.get("_id") if isinstance(document, Mapping) else None
        raise ValidationError.from_pydantic(
            exc, model=model, document_id=document_id, hide_input=plan.hide_input
        ) from exc


def stored_name(model: type[BaseModel], field_name: str) -> str:
    """The name a field is stored (and queried) under.

    >>> from pydantic import BaseModel, Field
    >>> class Point(BaseModel):
    ...     x: int = Field(alias="X")
    >>> stored_name(Point, "x")
    'X'
    """
    try:
        return plan_for(model).stored[field_name]
    except KeyError:
        raise AttributeError(f"{model.__qualname__} has no field {field_name!r}") from None


class _ValueCodec:
    __slots__ = ("adapter", "annotation", "node")

    def __init__(self, annotation: Any) -> None:
        self.annotation = annotation
        self.adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)
        self.node: Node = compile_annotation(annotation)


_VALUE_CODECS: dict[Any, _ValueCodec] = {}
_VALUE_CODECS_BY_ID: dict[int, _ValueCodec] = {}


def _value_codec(annotation: Any) -> _ValueCodec:
    try:
        codec = _VALUE_CODECS.get(annotation)
    except TypeError:  # unhashable (an Annotated with unhashable metadata)
        codec = _VALUE_CODECS_BY_ID.get(id(annotation))
        if codec is None or codec.annotation is not annotation:
            codec = _VALUE_CODECS_BY_ID[id(annotation)] = _ValueCodec(annotation)
        return codec
    if codec is None:
        codec = _VALUE_CODECS[annotation] = _ValueCodec(annotation)
    return codec


# Types whose instances are stored as they are (bool and int excluded: int needs the
# 64-bit check, and an exact-type test keeps bool out of int anyway).
_AS_IS: frozenset[Any] = frozenset({str, float, ObjectId})


def dump_value(
    annotation: Any, value: Any, *, field: str, model: type[BaseModel] | None = None
) -> Any:
    """Validate ``value`` against ``annotation`` and return its stored (BSON-ready) form.

    For filter and update values. Validation is Pydantic's (lax: ``"5f43..."`` becomes
    an ObjectId, ``"3"`` an int), constraints included when the annotation carries them
    (pass the bare type for filters, where ``age > -1`` is a fine query on a field
    declared ``ge=0``). A value that does not fit raises
    :class:`odm.errors.ValidationError` naming ``field`` (and ``model``, if given) and
    the expected type.

    >>> from driver.bson import ObjectId
    >>> dump_value(ObjectId, "5f43a1b2c3d4e5f6a7b8c9d0", field="author")
    ObjectId('5f43a1b2c3d4e5f6a7b8c9d0')
    >>> dump_value(set[str], {"b", "a"}, field="tags")
    ['a', 'b']
    >>> dump_value(int, "x", field="age")
    Traceback (most recent call last):
      ...
    odm.errors.ValidationError: invalid value for field 'age' (expected int): Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input='x']
    """
    if type(value) is annotation and annotation in _AS_IS:
        # The commonest filter value (`User.id == an_id`): already of the field's exact
        # type, nothing to validate or convert (Pydantic would return it unchanged).
        return value
    codec = _value_codec(annotation)
    try:
        validated = codec.adapter.validate_python(value)
    except pydantic.ValidationError as exc:
        raise ValidationError.for_value(
            field=field, expected=annotation, errors=exc.errors(include_url=False), model=model
        ) from exc
    dumped = codec.adapter.dump_python(validated, by_alias=True, exclude_computed_fields=True)
    write = codec.node.write
    if write is None:
        return dumped
    try:
        return write(dumped)
    except StoreError as exc:
        raise ValidationError(
            f"cannot store a value for field {field!r}: {exc.cause}",
            model=model,
            field=field,
            errors=[{"type": "bson_value", "loc": (field, *exc.path), "msg": str(exc.cause)}],
        ) from exc.cause
    except Exception as exc:
        raise ValidationError(
            f"cannot store a value for field {field!r}: {exc}",
            model=model,
            field=field,
            errors=[{"type": "bson_value", "loc": (field,), "msg": str(exc), "input": value}],
        ) from exc

