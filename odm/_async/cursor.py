"""Lazy, immutable queries of models: ``engine.find(User, ...)`` and ``engine.aggregate``.

A query is a value until it is iterated: ``sort``, ``skip``, ``limit`` and
``batch_size`` return new queries, ``to_filter()`` and ``to_command()`` show what
would be sent. Iterating (``async for`` / ``to_list`` / ``first``) runs it through the
driver and decodes each document into the model.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from odm.codec import from_document
from odm.model import collection_name
from odm.query import build_sort

if TYPE_CHECKING:
    from odm._async.engine import AsyncEngine

__all__ = ["AsyncAggregation", "AsyncModelCursor"]

T = TypeVar("T", bound=BaseModel)


def _non_negative(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, not {value}")
    return value


@dataclass(frozen=True)
class AsyncModelCursor(Generic[T]):
    """The documents of ``model``'s collection matching a filter, as ``output`` models.

    Build one with ``engine.find(Model, *filters)``; chain ``sort``/``skip``/``limit``;
    iterate with ``async for``, or ``await to_list()`` / ``await first()``.
    """

    engine: AsyncEngine
    model: type[BaseModel]
    output: type[T]
    filter: Mapping[str, Any]
    sort_keys: tuple[tuple[str, int], ...] = ()
    skip_count: int = 0
    limit_count: int = 0
    batch: int = 0
    projection: Mapping[str, Any] | None = None
    trusted: bool | None = None
    session: Any = None
    rename_id: bool = False  # a plain output model's `id` reads the document's `_id`

    # -- building (each returns a new query)

    def sort(self, *keys: Any) -> AsyncModelCursor[T]:
        """Sort by ``-User.age``, ``+User.name``, proxies, names or (name, 1/-1) pairs."""
        return replace(self, sort_keys=self.sort_keys + tuple(build_sort(*keys)))

    def skip(self, count: int) -> AsyncModelCursor[T]:
        """Skip the first ``count`` matches."""
        return replace(self, skip_count=_non_negative("skip", count))

    def limit(self, count: int) -> AsyncModelCursor[T]:
        """At most ``count`` models (0: no limit)."""
        return replace(self, limit_count=_non_negative("limit", count))

    def batch_size(self, size: int) -> AsyncModelCursor[T]:
        """Documents per round trip (0: the server decides)."""
        return replace(self, batch=_non_negative("batch_size", size))

    # -- rendering

    def to_filter(self) -> dict[str, Any]:
        """The filter document this query sends (a copy: changing it changes nothing)."""
        return copy.deepcopy(dict(self.filter))

    def to_command(self) -> dict[str, Any]:
        """The ``find`` command this query sends (before the driver adds its fields)."""
        command: dict[str, Any] = {"find": collection_name(self.model), "filter": self.to_filter()}
        if self.sort_keys:
            command["sort"] = dict(self.sort_keys)
        if self.projection is not None:
            command["projection"] = copy.deepcopy(dict(self.projection))
        if self.skip_count:
            command["skip"] = self.skip_count
        if self.limit_count:
            command["limit"] = self.limit_count
        if self.batch:
            command["batchSize"] = self.batch
        return command

    # -- running

    def _driver_cursor(self) -> Any:
        return self.engine.collection(self.model).find(
            self.filter,
            projection=self.projection,
            sort=list(self.sort_keys) or None,
            skip=self.skip_count,
            limit=self.limit_count,
            batch_size=self.batch,
            session=self.session,
        )

    def _decode(self, document: Any) -> T:
        if self.rename_id and "_id" in document and "id" not in document:
            document["id"] = document.pop("_id")
        return from_document(self.output, document, trusted=self.trusted)

    async def __aiter__(self) -> AsyncIterator[T]:
        cursor = self._driver_cursor()
        try:
            async for document in cursor:
                yield self._decode(document)
        finally:
            await cursor.close()

    async def to_list(self, length: int | None = None) -> list[T]:
        """Every model (or the first ``length``) as a list."""
        query = self if length is None else self.limit(
            length if not self.limit_count else min(length, self.limit_count)
        )
        if length == 0:
            return []
        documents = await query._driver_cursor().to_list(None)
        if self.rename_id:
            return [self._decode(document) for document in documents]
        output, trusted = self.output, self.trusted
        return [from_document(output, document, trusted=trusted) for document in documents]

    async def first(self) -> T | None:
        """The first model, or None when nothing matches."""
        found = await self.limit(1).to_list()
        return found[0] if found else None


@dataclass(frozen=True)
class AsyncAggregation(Generic[T]):
    """An aggregation over ``model``'s collection whose results are ``output`` models."""

    engine: AsyncEngine
    model: type[BaseModel]
    output: type[T]
    pipeline: Sequence[Mapping[str, Any]]
    options: Mapping[str, Any]
    trusted: bool | None = None
    session: Any = None

    def to_pipeline(self) -> list[dict[str, Any]]:
        """The stages this aggregation sends (a copy: changing it changes nothing)."""
        return copy.deepcopy([dict(stage) for stage in self.pipeline])

    def to_command(self) -> dict[str, Any]:
        """The ``aggregate`` command this aggregation sends (before the driver's fields)."""
        return {
            "aggregate": collection_name(self.model),
            "pipeline": self.to_pipeline(),
            "cursor": {},
            **copy.deepcopy(dict(self.options)),
        }

    async def _open(self) -> Any:
        collection = self.engine.collection(self.model)
        return await collection.aggregate(
            list(self.pipeline), session=self.session, **self.options
        )

    async def __aiter__(self) -> AsyncIterator[T]:
        cursor = await self._open()
        output, trusted = self.output, self.trusted
        try:
            async for document in cursor:
                yield from_document(output, document, trusted=trusted)
        finally:
            await cursor.close()

    async def to_list(self) -> list[T]:
        """Every result as a list."""
        cursor = await self._open()
        documents = await cursor.to_list(None)
        output, trusted = self.output, self.trusted
        return [from_document(output, document, trusted=trusted) for document in documents]

    async def first(self) -> T | None:
        """The first result, or None; the server's cursor is closed at once."""
        cursor = await self._open()
        try:
            async for document in cursor:
                return from_document(self.output, document, trusted=self.trusted)
            return None
        finally:
            await cursor.close()
