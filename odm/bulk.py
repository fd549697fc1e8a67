"""Model operations for one ``bulk_write``: ``engine.bulk(User, [Insert(u), ...])``.

Each operation is a value; :func:`to_write_models` turns a list of them into the
driver's write models (pure: no I/O), checking that every instance is of the model.

    >>> from odm import Document
    >>> from odm.bulk import Delete, Insert, to_write_models
    >>> class Item(Document, collection="items"):
    ...     name: str
    >>> a = Item(name="a")
    >>> [type(m).__name__ for m in to_write_models(Item, [Insert(a), Delete(a)])]
    ['InsertOne', 'DeleteOne']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from driver import DeleteMany as _DeleteMany
from driver import DeleteOne as _DeleteOne
from driver import InsertOne as _InsertOne
from driver import ReplaceOne as _ReplaceOne
from driver import UpdateMany as _UpdateMany
from driver import UpdateOne as _UpdateOne
from driver.bson import ObjectId
from odm.codec import dump_value, id_of, to_document
from odm.errors import ValidationError
from odm.model import BaseDocument
from odm.query import build_filter
from odm.update import Update

__all__ = [
    "BulkOperation",
    "Delete",
    "DeleteMany",
    "Insert",
    "Replace",
    "Save",
    "UpdateMany",
    "UpdateOne",
    "to_write_models",
]


@dataclass(frozen=True)
class Insert:
    """Insert ``instance`` (a new document)."""

    instance: BaseModel


@dataclass(frozen=True)
class Save:
    """Insert or replace ``instance`` by its ``id`` (an upsert)."""

    instance: BaseModel


@dataclass(frozen=True)
class Replace:
    """Replace the stored document with ``instance``'s ``id`` (no upsert)."""

    instance: BaseModel


@dataclass(frozen=True)
class Delete:
    """Delete the stored document with ``instance``'s ``id``."""

    instance: BaseModel


@dataclass(frozen=True)
class UpdateOne:
    """Apply ``update`` to the first document matching ``filter``."""

    filter: Any
    update: Update | Mapping[str, Any]
    upsert: bool = False


@dataclass(frozen=True)
class UpdateMany:
    """Apply ``update`` to every document matching ``filter``."""

    filter: Any
    update: Update | Mapping[str, Any]
    upsert: bool = False


@dataclass(frozen=True)
class DeleteMany:
    """Delete every document matching ``filter``."""

    filter: Any


BulkOperation = Insert | Save | Replace | Delete | UpdateOne | UpdateMany | DeleteMany


def _checked(model: type[BaseModel], instance: BaseModel) -> BaseModel:
    if type(instance) is not model:
        raise TypeError(
            f"a bulk of {model.__name__} got a {type(instance).__name__} instance"
        )
    return instance


def new_document(instance: BaseModel) -> dict[str, Any]:
    """The document to insert for ``instance``, with its ``_id``.

    An instance whose ``id`` is None gets a new ObjectId now, on the instance too (as
    the driver would give one on insert), when its ``id`` type takes an ObjectId; for
    any other id type (a ``str | None`` id...) that is an error before anything is
    sent: the server would store an ObjectId the model could not read back.
    """
    document = to_document(instance)
    if "_id" in document or not isinstance(instance, BaseDocument):
        return document
    field = type(instance).model_fields.get("id")
    new_id = ObjectId()
    if field is not None:
        try:
            dump_value(field.annotation, new_id, field="id")
        except ValidationError:
            raise ValidationError(
                f"{type(instance).__name__}.id is None and its type "
                f"({field.annotation!r}) takes no ObjectId: give each instance an id",
                model=type(instance),
                field="id",
            ) from None
        object.__setattr__(instance, "id", new_id)
    return {"_id": new_id, **document}


def stored_id(instance: BaseModel, operation: str) -> Any:
    """The stored ``_id`` of an instance that must already have one."""
    value = id_of(instance)
    if value is None:
        raise ValueError(f"{operation}: {type(instance).__name__} instance has no id")
    return value


def update_parts(update: Update | Mapping[str, Any]) -> tuple[Any, list[Any] | None]:
    if isinstance(update, Update):
        return update.to_update(), update.array_filters
    if isinstance(update, Mapping):
        return dict(update), None
    raise TypeError(f"update must be an odm Update or a mapping, not {type(update).__name__}")


def to_write_models(model: type[BaseModel], operations: Iterable[BulkOperation]) -> list[Any]:
    """The driver write models for ``operations`` on ``model``'s collection, in order."""
    requests: list[Any] = []
    for operation in operations:
        if isinstance(operation, Insert):
            requests.append(_InsertOne(new_document(_checked(model, operation.instance))))
        elif isinstance(operation, Save) and id_of(_checked(model, operation.instance)) is None:
            requests.append(_InsertOne(new_document(operation.instance)))  # as engine.save
        elif isinstance(operation, (Save, Replace)):
            document = to_document(_checked(model, operation.instance))
            label = "Save" if isinstance(operation, Save) else "Replace"
            where = {"_id": stored_id(operation.instance, label)}
            requests.append(_ReplaceOne(where, document, upsert=isinstance(operation, Save)))
        elif isinstance(operation, Delete):
            where = {"_id": stored_id(_checked(model, operation.instance), "Delete")}
            requests.append(_DeleteOne(where))
        elif isinstance(operation, (UpdateOne, UpdateMany)):
            body, array_filters = update_parts(operation.update)
            kind = _UpdateOne if isinstance(operation, UpdateOne) else _UpdateMany
            requests.append(
                kind(
                    build_filter(operation.filter),
                    body,
                    upsert=operation.upsert,
                    array_filters=array_filters,
                )
            )
        elif isinstance(operation, DeleteMany):
            requests.append(_DeleteMany(build_filter(operation.filter)))
        else:
            raise TypeError(
                "bulk operations are Insert, Save, Replace, Delete, UpdateOne, UpdateMany "
                f"or DeleteMany, not {type(operation).__name__}"
            )
    if not requests:
        raise ValueError("a bulk needs at least one operation")
    return requests
