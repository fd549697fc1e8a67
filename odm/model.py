"""``Document``: a Pydantic v2 model stored as one MongoDB document.

A document class names its collection (``class User(Document, collection="users")`` or
``model_config = DocumentConfig(collection="users")``; otherwise the class name in
snake_case), has an ``id`` field stored as ``_id`` (an ObjectId made for each new
instance unless the class declares ``id`` with another type), and gives field proxies
on class attribute access, for queries::

    >>> from odm import Document
    >>> class User(Document, collection="users"):
    ...     name: str
    ...     age: int = 0
    >>> collection_name(User)
    'users'
    >>> (User.age >= 18).to_filter()
    {'age': {'$gte': 18}}

Models never do I/O: an :class:`odm.Engine` reads and writes them.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic._internal._model_construction import ModelMetaclass

from odm.types import ObjectId

if TYPE_CHECKING:
    from collections.abc import Callable

    from odm.index import Index, IndexSpec

__all__ = ["BaseDocument", "Document", "DocumentConfig", "collection_name", "document_config"]


class DocumentConfig(ConfigDict, total=False):
    """``model_config`` of a :class:`Document`: Pydantic's options plus the ODM's.

    ``collection``: the collection's name. ``indexes``: compound and other indexes
    (:class:`odm.Index`) beyond the ``Indexed`` fields, or a function returning them
    (the class's own field proxies exist only after its body). ``trusted``: decode stored
    documents without running validators (see :mod:`odm.codec`).
    """

    collection: str
    indexes: list[Index | IndexSpec] | Callable[[], list[Index | IndexSpec]]
    trusted: bool


_ODM_KEYS = ("collection", "indexes", "trusted")


class _DocumentMeta(ModelMetaclass):
    """Pydantic's metaclass, plus ``collection=`` in the class statement and field
    proxies on class attribute access (``User.age`` -> a proxy for queries)."""

    def __new__(
        mcs,
        cls_name: str,
        bases: tuple[type[Any], ...],
        namespace: dict[str, Any],
        *,
        collection: str | None = None,
        **kwargs: Any,
    ) -> type:
        if collection is not None:
            if not isinstance(collection, str) or not collection:
                raise TypeError(f"collection must be a non-empty str, not {collection!r}")
            config = dict(namespace.get("model_config") or {})
            config["collection"] = collection
            namespace["model_config"] = config
        # A base's field looks like a class attribute here (the proxy above), so
        # Pydantic would warn that redeclaring it (``id: str`` in a Document subclass)
        # "shadows an attribute in parent": silence exactly those, nothing else.
        inherited = {
            name
            for base in bases
            for name in (base.__dict__.get("__pydantic_fields__") or ())
            if name in namespace.get("__annotations__", {})
        }
        with warnings.catch_warnings():
            for name in inherited:
                warnings.filterwarnings(
                    "ignore", message=f'Field name "{re.escape(name)}" in .* shadows an attribute'
                )
            return super().__new__(mcs, cls_name, bases, namespace, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        # Only reached when normal lookup fails: Pydantic keeps fields off the class.
        fields = cls.__dict__.get("__pydantic_fields__")
        if fields is not None and name in fields:
            from odm.fields import proxy_for

            return proxy_for(cls, name)  # type: ignore[arg-type]
        return super().__getattr__(name)  # type: ignore[misc]


class BaseDocument(BaseModel, metaclass=_DocumentMeta):
    """Base class of stored models that declare their own ``id`` (stored as ``_id``).

    Use it for an id of another type than ObjectId, so that type checkers see the
    field's own type: ``id: str``, ``id: int``, ``id: uuid.UUID = Field(default_factory=
    uuid.uuid4)``. Reads and writes move ``id`` to and from ``_id`` whatever its alias.
    """

    model_config: ClassVar[DocumentConfig] = DocumentConfig(
        populate_by_name=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    def __init_subclass__(cls, *, collection: str | None = None, **kwargs: Any) -> None:
        # Only for type checkers: the metaclass takes ``collection`` before this runs.
        super().__init_subclass__(**kwargs)


class Document(BaseDocument):
    """Base class of stored models: an ObjectId ``id`` (stored as ``_id``), made for
    each new instance, and a collection.

    Build instances by field name (``User(id=..., name=...)``; ``_id=`` works too). For an id of another type, derive from
    :class:`BaseDocument` and declare ``id`` there.
    """

    # No alias (type checkers then take ``id=`` in the constructor, and JSON shows
    # ``id``); ``_id`` is accepted on validation too, as a stored document has it.
    id: ObjectId = Field(default_factory=ObjectId, validation_alias=AliasChoices("id", "_id"))


def document_config(model: type[BaseModel]) -> DocumentConfig:
    """The ODM keys of ``model``'s config (collection, indexes, trusted) that are set."""
    config: dict[str, Any] = dict(model.model_config)
    found: DocumentConfig = {k: config[k] for k in _ODM_KEYS if k in config}  # type: ignore[assignment]
    return found


def collection_name(model: type[BaseModel]) -> str:
    """The collection ``model`` is stored in: its config's, else its name in snake_case."""
    name = model.model_config.get("collection")
    if isinstance(name, str) and name:
        return name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", model.__name__).lower()
