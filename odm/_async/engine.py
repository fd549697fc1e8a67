"""The engine: reads and writes models through one database of a driver client.

Models never do I/O; an engine does, for any number of models and with nothing stored
on their classes, so two engines (two databases, two clusters) can share one model.

Example (needs a server)::

    engine = AsyncEngine("mongodb://127.0.0.1:27017", database="shop")
    user = await engine.insert(User(name="Ada", age=36))
    adults = await engine.find(User, User.age >= 18).sort(-User.age).to_list()
    await engine.update_one(User, User.id == user.id, update.inc(User.age, 1))
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel

from driver import AsyncMongoClient
from driver.errors import BulkWriteError, ConfigurationError
from driver.errors import DuplicateKeyError as DriverDuplicateKeyError
from driver.results import BulkWriteResult, DeleteResult, UpdateResult
from driver.uri import parse_uri
from odm._async.cursor import AsyncAggregation, AsyncModelCursor
from odm.bulk import BulkOperation, new_document, stored_id, to_write_models, update_parts
from odm.codec import CODEC_OPTIONS, dump_value, from_document, id_of, stored_name, to_document
from odm.errors import DocumentNotFound, DuplicateKeyError
from odm.index import IndexDiff, diff_indexes, index_specs
from odm.model import BaseDocument, collection_name
from odm.query import build_filter
from odm.update import Update

__all__ = ["AsyncEngine"]

M = TypeVar("M", bound=BaseModel)
O = TypeVar("O", bound=BaseModel)  # noqa: E741

def _projection(output: type[BaseModel]) -> tuple[dict[str, Any], bool]:
    # The stored names of the smaller model's fields (`_id` comes whether asked or
    # not). A plain model's `id` field means the document's `_id` (a response model):
    # True says to read `_id` into it.
    fields: dict[str, Any] = {}
    rename_id = False
    for name in output.model_fields:
        stored = stored_name(output, name)
        if stored == "id" and not issubclass(output, BaseDocument):
            stored, rename_id = "_id", True
        fields[stored] = 1
    return fields, rename_id


class AsyncEngine:
    """Runs queries for models in one database.

    ``client_or_uri``: a driver client (the engine uses it; you close it) or a
    connection string (the engine makes a client and closes it in :meth:`close`).
    ``database``: the database name; default, the one in the connection string.
    """

    def __init__(self, client_or_uri: AsyncMongoClient | str, database: str | None = None) -> None:
        if isinstance(client_or_uri, str):
            name = database or parse_uri(client_or_uri).database
        elif isinstance(client_or_uri, AsyncMongoClient):
            name = database or client_or_uri.options.database
        else:
            raise TypeError(
                "client_or_uri must be an AsyncMongoClient or a connection string, not "
                f"{type(client_or_uri).__name__}"
            )
        if not name:
            raise ConfigurationError(
                "the engine needs a database: pass database=... or put one in the URI"
            )
        # Only now a client (and its threads) for a connection string: the checks passed.
        self._owns_client = isinstance(client_or_uri, str)
        self.client = (
            AsyncMongoClient(client_or_uri) if isinstance(client_or_uri, str) else client_or_uri
        )
        self.database = self.client.get_database(name, codec_options=CODEC_OPTIONS)
        self._collections: weakref.WeakKeyDictionary[type[BaseModel], Any] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"AsyncEngine(database={self.database.name!r})"

    async def close(self) -> None:
        """Close the client if the engine made it."""
        if self._owns_client:
            await self.client.close()

    async def __aenter__(self) -> AsyncEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def collection(self, model: type[BaseModel]) -> Any:
        """The driver collection ``model`` is stored in (decoding as the ODM reads)."""
        # Kept per engine (never on the model): every operation asks.
        found = self._collections.get(model)
        if found is None:
            found = self.database.get_collection(
                collection_name(model), codec_options=CODEC_OPTIONS
            )
            self._collections[model] = found
        return found

    # -- writes

    async def insert(self, instance: M, *, session: Any = None) -> M:
        """Insert a new document; the instance (with the ``_id`` it was stored under)."""
        document = new_document(instance)
        try:
            await self.collection(type(instance)).insert_one(document, session=session)
        except DriverDuplicateKeyError as exc:
            raise _duplicate(type(instance), exc) from exc
        return instance

    async def insert_many(
        self, instances: Sequence[M], *, ordered: bool = True, session: Any = None
    ) -> list[M]:
        """Insert several instances of one model in as few round trips as fit."""
        items = list(instances)
        if not items:
            return []
        model = _one_model(items)
        documents = [new_document(item) for item in items]
        try:
            await self.collection(model).insert_many(documents, ordered=ordered, session=session)
        except BulkWriteError as exc:
            mapped = _mapped(model, exc)
            if mapped is None:
                raise
            raise mapped from exc
        return items

    async def save(self, instance: M, *, session: Any = None) -> M:
        """Insert, or replace the stored document with the same ``id`` (an upsert)."""
        if id_of(instance) is None:
            return await self.insert(instance, session=session)
        document = to_document(instance)
        try:
            await self.collection(type(instance)).replace_one(
                {"_id": document["_id"]}, document, upsert=True, session=session
            )
        except DriverDuplicateKeyError as exc:
            raise _duplicate(type(instance), exc) from exc
        return instance

    async def replace(self, instance: BaseModel, *, session: Any = None) -> None:
        """Replace the stored document with this ``id``; DocumentNotFound if none."""
        where = {"_id": stored_id(instance, "replace")}
        try:
            result = await self.collection(type(instance)).replace_one(
                where, to_document(instance), session=session
            )
        except DriverDuplicateKeyError as exc:
            raise _duplicate(type(instance), exc) from exc
        if result.matched_count == 0:
            raise DocumentNotFound(type(instance), where)

    async def delete(self, instance: BaseModel, *, session: Any = None) -> None:
        """Delete the stored document with this ``id``; DocumentNotFound if none."""
        where = {"_id": stored_id(instance, "delete")}
        result = await self.collection(type(instance)).delete_one(where, session=session)
        if result.deleted_count == 0:
            raise DocumentNotFound(type(instance), where)

    async def delete_many(self, model: type[BaseModel], *filters: Any, session: Any = None) -> int:
        """Delete every match; how many went. No filter deletes all (say so: ``{}``)."""
        result: DeleteResult = await self.collection(model).delete_many(
            build_filter(*filters), session=session
        )
        return result.deleted_count

    async def update_one(
        self,
        model: type[BaseModel],
        filter: Any,
        update: Update | Mapping[str, Any],
        *,
        upsert: bool = False,
        session: Any = None,
    ) -> UpdateResult:
        """Apply ``update`` (an :class:`odm.update.Update` or a raw document) to one match."""
        return await self._update(model, filter, update, upsert, session, many=False)

    async def update_many(
        self,
        model: type[BaseModel],
        filter: Any,
        update: Update | Mapping[str, Any],
        *,
        upsert: bool = False,
        session: Any = None,
    ) -> UpdateResult:
        """Apply ``update`` to every match."""
        return await self._update(model, filter, update, upsert, session, many=True)

    async def _update(
        self,
        model: type[BaseModel],
        filter: Any,
        update: Update | Mapping[str, Any],
        upsert: bool,
        session: Any,
        *,
        many: bool,
    ) -> UpdateResult:
        document, array_filters = update_parts(update)
        collection = self.collection(model)
        method = collection.update_many if many else collection.update_one
        try:
            result: UpdateResult = await method(
                build_filter(filter),
                document,
                upsert=upsert,
                array_filters=array_filters,
                session=session,
            )
        except DriverDuplicateKeyError as exc:
            raise _duplicate(model, exc) from exc
        return result

    async def bulk(
        self,
        model: type[BaseModel],
        operations: Iterable[BulkOperation],
        *,
        ordered: bool = True,
        session: Any = None,
    ) -> BulkWriteResult:
        """Send inserts, saves, replaces, updates and deletes of one model as one
        ``bulk_write`` (split into batches only by the server's limits)."""
        requests = to_write_models(model, operations)
        try:
            result: BulkWriteResult = await self.collection(model).bulk_write(
                requests, ordered=ordered, session=session
            )
        except BulkWriteError as exc:
            mapped = _mapped(model, exc)
            if mapped is None:
                raise
            raise mapped from exc
        return result

    # -- reads

    @overload
    def find(
        self,
        model: type[M],
        *filters: Any,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        projection: None = None,
        trusted: bool | None = None,
        session: Any = None,
    ) -> AsyncModelCursor[M]: ...

    @overload
    def find(
        self,
        model: type[M],
        *filters: Any,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        projection: type[O],
        trusted: bool | None = None,
        session: Any = None,
    ) -> AsyncModelCursor[O]: ...

    def find(
        self,
        model: type[BaseModel],
        *filters: Any,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        projection: type[BaseModel] | None = None,
        trusted: bool | None = None,
        session: Any = None,
    ) -> AsyncModelCursor[Any]:
        """The models matching every filter (nothing is sent until iterated).

        Filters: ``User.age >= 18`` style expressions and raw dicts, all ANDed.
        ``projection``: a smaller model whose fields are read (results are of it).
        """
        fields, rename_id = (None, False) if projection is None else _projection(projection)
        cursor: AsyncModelCursor[Any] = AsyncModelCursor(
            engine=self,
            model=model,
            output=projection or model,
            filter=build_filter(*filters),
            projection=fields,
            trusted=trusted,
            session=session,
            rename_id=rename_id,
        )
        if sort is not None:
            cursor = cursor.sort(sort)  # build_sort reads lists, pairs and single keys
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return cursor

    @overload
    async def find_one(
        self,
        model: type[M],
        *filters: Any,
        sort: Any = None,
        required: Literal[True],
        trusted: bool | None = None,
        session: Any = None,
    ) -> M: ...

    @overload
    async def find_one(
        self,
        model: type[M],
        *filters: Any,
        sort: Any = None,
        required: bool = False,
        trusted: bool | None = None,
        session: Any = None,
    ) -> M | None: ...

    async def find_one(
        self,
        model: type[M],
        *filters: Any,
        sort: Any = None,
        required: bool = False,
        trusted: bool | None = None,
        session: Any = None,
    ) -> M | None:
        """The first match, or None (``required=True``: DocumentNotFound instead)."""
        query = self.find(model, *filters, sort=sort, trusted=trusted, session=session)
        found = await query.first()
        if found is None and required:
            raise DocumentNotFound(model, query.to_filter())
        return found

    async def get(
        self, model: type[M], id: Any, *, trusted: bool | None = None, session: Any = None
    ) -> M:
        """The model with this ``id``; DocumentNotFound if there is none."""
        where = {"_id": _id_value(model, id)}
        document = await self.collection(model).find_one(where, session=session)
        if document is None:
            raise DocumentNotFound(model, where)
        return from_document(model, document, trusted=trusted)

    async def count(self, model: type[BaseModel], *filters: Any, session: Any = None) -> int:
        """How many documents match (exact)."""
        result: int = await self.collection(model).count_documents(
            build_filter(*filters), session=session
        )
        return result

    async def exists(self, model: type[BaseModel], *filters: Any, session: Any = None) -> bool:
        """Whether anything matches."""
        found = await self.collection(model).find_one(
            build_filter(*filters), {"_id": 1}, session=session
        )
        return found is not None

    async def distinct(
        self, model: type[BaseModel], field: Any, *filters: Any, session: Any = None
    ) -> list[Any]:
        """The distinct stored values of ``field`` (a proxy or a stored path)."""
        path = field if isinstance(field, str) else field.path
        values: list[Any] = await self.collection(model).distinct(
            path, build_filter(*filters), session=session
        )
        return values

    @overload
    def aggregate(
        self,
        model: type[BaseModel],
        pipeline: Any,
        *,
        output: type[O],
        trusted: bool | None = None,
        session: Any = None,
        **options: Any,
    ) -> AsyncAggregation[O]: ...

    @overload
    def aggregate(
        self,
        model: type[M],
        pipeline: Any,
        *,
        output: None = None,
        trusted: bool | None = None,
        session: Any = None,
        **options: Any,
    ) -> AsyncAggregation[M]: ...

    def aggregate(
        self,
        model: type[BaseModel],
        pipeline: Any,
        *,
        output: type[BaseModel] | None = None,
        trusted: bool | None = None,
        session: Any = None,
        **options: Any,
    ) -> AsyncAggregation[Any]:
        """Run ``pipeline`` (an :class:`odm.aggregation.Pipeline` or a list of stages)
        on ``model``'s collection; results decoded as ``output`` (default ``model``).
        ``options`` go to the driver's ``aggregate`` (allowDiskUse, batchSize, let...)."""
        stages = pipeline.to_pipeline() if hasattr(pipeline, "to_pipeline") else list(pipeline)
        return AsyncAggregation(
            engine=self,
            model=model,
            output=output or model,
            pipeline=copy.deepcopy(stages),  # the caller's list may change later
            options=options,
            trusted=trusted,
            session=session,
        )

    # -- indexes

    async def index_diff(self, model: type[BaseModel], *, session: Any = None) -> IndexDiff:
        """What the database's indexes lack or have beyond ``model``'s declared ones,
        and which differ in options. Changes nothing."""
        cursor = await self.collection(model).list_indexes(session=session)
        existing = [dict(index) async for index in cursor]
        return diff_indexes(index_specs(model), existing)

    async def create_indexes(self, model: type[BaseModel], *, session: Any = None) -> list[str]:
        """Create the declared indexes the database lacks; their names. Indexes that
        exist with other options are left alone (see :meth:`index_diff`)."""
        diff = await self.index_diff(model, session=session)
        if not diff.missing:
            return []
        names: list[str] = await self.collection(model).create_indexes(
            [spec.to_index_model() for spec in diff.missing], session=session
        )
        return names


# -- helpers (pure)


def _one_model(items: Sequence[BaseModel]) -> type[BaseModel]:
    model = type(items[0])
    for item in items:
        if type(item) is not model:
            raise TypeError(
                f"insert_many takes instances of one model: got {model.__name__} and "
                f"{type(item).__name__}"
            )
    return model


def _id_value(model: type[BaseModel], value: Any) -> Any:
    field = model.model_fields.get("id")
    if field is None:
        return value
    return dump_value(field.annotation, value, field="id")


def _duplicate(model: type[BaseModel], error: BaseException) -> DuplicateKeyError:
    return DuplicateKeyError.from_driver(model, error)


def _mapped(model: type[BaseModel], error: BulkWriteError) -> DuplicateKeyError | None:
    # The first duplicate of a bulk, mapped (the driver error, with all of them, as its
    # cause); None for any other bulk error (raised as it is).
    for write_error in (error.details or {}).get("writeErrors", []):
        if write_error.get("code") in (11000, 11001, 12582):
            return DuplicateKeyError.from_driver(model, error, write_error)
    return None
