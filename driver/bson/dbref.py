"""DBRef: a conventional reference to a document in another collection.

Example::

    >>> from driver.bson.dbref import DBRef
    >>> DBRef("users", 5, "app").as_doc()
    {'$ref': 'users', '$id': 5, '$db': 'app'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DBRef"]


class DBRef:
    """A ``{"$ref": collection, "$id": id, "$db": database, ...}`` reference.

    Extra keyword arguments become extra fields, readable as attributes.
    """

    __slots__ = ("__collection", "__database", "__id", "__kwargs")

    _type_marker = 100

    def __init__(
        self,
        collection: str,
        id: Any,
        database: str | None = None,
        _extra: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(collection, str):
            raise TypeError(f"collection must be a str, not {type(collection).__name__}")
        if database is not None and not isinstance(database, str):
            raise TypeError(f"database must be a str, not {type(database).__name__}")
        self.__collection = collection
        self.__id = id
        self.__database = database
        extra = dict(_extra) if _extra else {}
        extra.update(kwargs)
        self.__kwargs = extra

    @property
    def collection(self) -> str:
        return self.__collection

    @property
    def id(self) -> Any:
        return self.__id

    @property
    def database(self) -> str | None:
        return self.__database

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__kwargs[key]
        except KeyError:
            raise AttributeError(key) from None

    def as_doc(self) -> dict[str, Any]:
        """The reference as the document that is stored."""
        doc: dict[str, Any] = {"$ref": self.__collection, "$id": self.__id}
        if self.__database is not None:
            doc["$db"] = self.__database
        doc.update(self.__kwargs)
        return doc

    def __getstate__(self) -> Any:
        return (self.__collection, self.__id, self.__database, self.__kwargs)

    def __setstate__(self, state: Any) -> None:
        self.__collection, self.__id, self.__database, self.__kwargs = state

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.__kwargs.items())
        db = f", {self.__database!r}" if self.__database is not None else ""
        return f"DBRef({self.__collection!r}, {self.__id!r}{db}{extra})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBRef):
            return self.as_doc() == other.as_doc()
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(
            (self.__collection, self.__id, self.__database, tuple(sorted(self.__kwargs.items())))
        )
