"""What a write returns: PyMongo's ``pymongo.results`` classes.

Every result knows whether the server acknowledged the write (``acknowledged``). An
unacknowledged write (``w=0``) has no counts: asking for one raises
:class:`~driver.errors.InvalidOperation`, as in PyMongo, rather than inventing a zero.
The ids the driver chose itself (``inserted_id``, ``inserted_ids``) are known either way.

Results compare by identity and have PyMongo's reprs.

Example::

    >>> from driver.results import DeleteResult, InsertOneResult
    >>> InsertOneResult(7, acknowledged=True)
    InsertOneResult(7, acknowledged=True)
    >>> DeleteResult({"n": 2, "ok": 1.0}, acknowledged=True).deleted_count
    2
    >>> DeleteResult(None, acknowledged=False).deleted_count
    Traceback (most recent call last):
    ...
    driver.errors.InvalidOperation: A value for deleted_count is not available when the write is unacknowledged. Check the acknowledged attribute to avoid this error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driver.errors import InvalidOperation

__all__ = [
    "BulkWriteResult",
    "DeleteResult",
    "InsertManyResult",
    "InsertOneResult",
    "UpdateResult",
]


class _WriteResult:
    """The part every result shares: whether the write was acknowledged."""

    __slots__ = ("__acknowledged",)

    def __init__(self, acknowledged: bool) -> None:
        self.__acknowledged = acknowledged

    def _raise_if_unacknowledged(self, property_name: str) -> None:
        if not self.__acknowledged:
            # PyMongo's wording, so log searches and docs carry over.
            raise InvalidOperation(
                f"A value for {property_name} is not available when the write is "
                "unacknowledged. Check the acknowledged attribute to avoid this error."
            )

    @property
    def acknowledged(self) -> bool:
        """Whether the server acknowledged the write.

        False with ``WriteConcern(w=0)``; then every count raises InvalidOperation,
        since the server never said what it did.
        """
        return self.__acknowledged


class InsertOneResult(_WriteResult):
    """What ``insert_one`` returns: the new document's ``_id``.

    >>> result = InsertOneResult("a", acknowledged=False)
    >>> result.inserted_id, result.acknowledged
    ('a', False)
    """

    __slots__ = ("__inserted_id",)

    def __init__(self, inserted_id: Any, acknowledged: bool) -> None:
        self.__inserted_id = inserted_id
        super().__init__(acknowledged)

    @property
    def inserted_id(self) -> Any:
        """The inserted document's ``_id`` (known even when unacknowledged)."""
        return self.__inserted_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__inserted_id!r}, acknowledged={self.acknowledged})"


class InsertManyResult(_WriteResult):
    """What ``insert_many`` returns: the ``_id`` of each document, in the order given.

    >>> InsertManyResult([1, 2], acknowledged=True).inserted_ids
    [1, 2]
    """

    __slots__ = ("__inserted_ids",)

    def __init__(self, inserted_ids: list[Any], acknowledged: bool) -> None:
        self.__inserted_ids = inserted_ids
        super().__init__(acknowledged)

    @property
    def inserted_ids(self) -> list[Any]:
        """The ``_id`` of every document given, in order.

        As in PyMongo this lists every document the driver tried to insert: after a
        :class:`~driver.errors.BulkWriteError` some of them may not be in the collection.
        """
        return self.__inserted_ids

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__inserted_ids!r}, acknowledged={self.acknowledged})"


class UpdateResult(_WriteResult):
    """What ``update_one``, ``update_many`` and ``replace_one`` return.

    ``raw_result`` is the server's reply (``None`` when unacknowledged).

    >>> result = UpdateResult({"n": 1, "nModified": 0, "upserted": 5, "ok": 1.0}, True)
    >>> result.matched_count, result.modified_count, result.upserted_id, result.did_upsert
    (0, 0, 5, True)
    """

    __slots__ = ("__raw_result",)

    def __init__(self, raw_result: Mapping[str, Any] | None, acknowledged: bool) -> None:
        self.__raw_result = raw_result
        super().__init__(acknowledged)

    @property
    def raw_result(self) -> Mapping[str, Any] | None:
        """The server's raw reply (``None`` for an unacknowledged write)."""
        return self.__raw_result

    def _raw(self, property_name: str) -> Mapping[str, Any]:
        self._raise_if_unacknowledged(property_name)
        # An acknowledged result always has a reply; {} only guards hand-built ones.
        return self.__raw_result if self.__raw_result is not None else {}

    @property
    def matched_count(self) -> int:
        """How many documents matched the filter (0 when the write upserted)."""
        raw = self._raw("matched_count")
        if "upserted" in raw:
            # The server counts the upserted document in "n"; it matched nothing. (By key,
            # not value: PyMongo misses an upsert whose _id is None here.)
            return 0
        return int(raw.get("n", 0))

    @property
    def modified_count(self) -> int:
        """How many documents were changed (a no-op ``$set`` matches but does not modify)."""
        # Every server since 2.6 sends nModified; 0 rather than PyMongo's None if absent.
        return int(self._raw("modified_count").get("nModified", 0))

    @property
    def upserted_id(self) -> Any:
        """The ``_id`` of the upserted document, or ``None`` if no upsert happened."""
        return self._raw("upserted_id").get("upserted")

    @property
    def did_upsert(self) -> bool:
        """Whether the write inserted a document because nothing matched (an upsert)."""
        # PyMongo trips an assertion here when unacknowledged; we raise InvalidOperation
        # like every other property of an unacknowledged result. An upsert's _id may
        # be None, so the key is what counts.
        return "upserted" in self._raw("did_upsert")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__raw_result!r}, acknowledged={self.acknowledged})"


class DeleteResult(_WriteResult):
    """What ``delete_one`` and ``delete_many`` return.

    >>> DeleteResult({"n": 0, "ok": 1.0}, acknowledged=True)
    DeleteResult({'n': 0, 'ok': 1.0}, acknowledged=True)
    """

    __slots__ = ("__raw_result",)

    def __init__(self, raw_result: Mapping[str, Any] | None, acknowledged: bool) -> None:
        self.__raw_result = raw_result
        super().__init__(acknowledged)

    @property
    def raw_result(self) -> Mapping[str, Any] | None:
        """The server's raw reply (``None`` for an unacknowledged write)."""
        return self.__raw_result

    @property
    def deleted_count(self) -> int:
        """How many documents were deleted."""
        self._raise_if_unacknowledged("deleted_count")
        raw = self.__raw_result if self.__raw_result is not None else {}
        return int(raw.get("n", 0))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__raw_result!r}, acknowledged={self.acknowledged})"


class BulkWriteResult(_WriteResult):
    """What ``bulk_write`` returns, read from the merged ``bulk_api_result``.

    ``bulk_api_result`` has PyMongo's shape: ``nInserted``, ``nUpserted``,
    ``nMatched``, ``nModified``, ``nRemoved``, ``upserted`` (``[{"index", "_id"}]``,
    indexes into the list of operations given), ``writeErrors`` and
    ``writeConcernErrors``.

    >>> result = BulkWriteResult({"nInserted": 2, "nUpserted": 1, "nMatched": 0,
    ...     "nModified": 0, "nRemoved": 0, "upserted": [{"index": 2, "_id": 9}],
    ...     "writeErrors": [], "writeConcernErrors": []}, acknowledged=True)
    >>> result.inserted_count, result.upserted_count, result.upserted_ids
    (2, 1, {2: 9})
    """

    __slots__ = ("__bulk_api_result",)

    def __init__(self, bulk_api_result: dict[str, Any], acknowledged: bool) -> None:
        self.__bulk_api_result = bulk_api_result
        super().__init__(acknowledged)

    @property
    def bulk_api_result(self) -> dict[str, Any]:
        """The merged raw result (``{}`` for an unacknowledged write)."""
        return self.__bulk_api_result

    def _count(self, property_name: str, key: str) -> int:
        self._raise_if_unacknowledged(property_name)
        # The merger always fills every count; 0 (not PyMongo's None) for a bare dict.
        return int(self.__bulk_api_result.get(key, 0))

    @property
    def inserted_count(self) -> int:
        """How many documents were inserted."""
        return self._count("inserted_count", "nInserted")

    @property
    def matched_count(self) -> int:
        """How many documents matched an update's or a replacement's filter."""
        return self._count("matched_count", "nMatched")

    @property
    def modified_count(self) -> int:
        """How many documents were changed by updates and replacements."""
        return self._count("modified_count", "nModified")

    @property
    def deleted_count(self) -> int:
        """How many documents were deleted."""
        return self._count("deleted_count", "nRemoved")

    @property
    def upserted_count(self) -> int:
        """How many documents were upserted."""
        return self._count("upserted_count", "nUpserted")

    @property
    def upserted_ids(self) -> dict[int, Any]:
        """A map from the index of each upserting operation to the ``_id`` it upserted."""
        self._raise_if_unacknowledged("upserted_ids")
        upserted = self.__bulk_api_result.get("upserted") or ()
        return {entry["index"]: entry["_id"] for entry in upserted}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.__bulk_api_result!r}, "
            f"acknowledged={self.acknowledged})"
        )
