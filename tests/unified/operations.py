"""Entity operations: the spec's operation names and arguments to the driver's API.

Each handler takes the runner, the target entity and an :class:`Args` of the
operation's arguments; it calls PyMongo's API (snake_case keywords) through
:func:`~tests.unified.entities.resolve`, so one handler serves the async and the sync
client, and returns the result as the spec wants to match it (model objects turned into
documents, iterables fully iterated). An argument no handler knows is an error of the
case (the spec: "MUST raise an error for an unsupported argument").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from driver.operations import (
    DeleteMany,
    DeleteOne,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
)
from driver.read_concern import ReadConcern
from driver.read_preferences import make_read_preference, read_pref_mode_from_name
from driver.results import BulkWriteResult
from driver.write_concern import WriteConcern
from tests.unified.entities import CursorEntity, RunnerError, next_document, resolve
from tests.unified.matching import MISSING

if TYPE_CHECKING:
    from tests.unified.runner import UnifiedRunner

__all__ = ["CLIENT", "COLLECTION", "CURSOR", "DATABASE", "Args", "bulk_result", "read_preference",
           "read_concern", "write_concern"]

Handler = Callable[["UnifiedRunner", Any, "Args"], Awaitable[Any]]
CLIENT: dict[str, Handler] = {}
DATABASE: dict[str, Handler] = {}
COLLECTION: dict[str, Handler] = {}
CURSOR: dict[str, Handler] = {}


def _on(*tables: dict[str, Handler], name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for table in tables:
            table[name] = handler
        return handler

    return register


class Args:
    """An operation's arguments, taken one by one; what is left over is an error."""

    def __init__(self, operation: str, arguments: Mapping[str, Any] | None) -> None:
        self.operation = operation
        self._left = dict(arguments or {})

    def required(self, name: str) -> Any:
        if name not in self._left:
            raise RunnerError(f"{self.operation}: argument {name!r} is required")
        return self._left.pop(name)

    def optional(self, name: str, default: Any = None) -> Any:
        return self._left.pop(name, default)

    def kwargs(self, names: Mapping[str, str | None]) -> dict[str, Any]:
        """The arguments in ``names`` that are present, as keywords (renamed; a None
        rename keeps the spec's name, for options the driver passes to the server)."""
        found = {}
        for name, keyword in names.items():
            if name in self._left:
                value = self._left.pop(name)
                found[keyword or name] = _convert(name, value)
        return found

    def done(self) -> None:
        if self._left:
            raise RunnerError(f"{self.operation}: unsupported arguments {sorted(self._left)}")


def read_concern(document: Mapping[str, Any]) -> ReadConcern:
    return ReadConcern(document.get("level"))


def write_concern(document: Mapping[str, Any]) -> WriteConcern:
    return WriteConcern(
        w=document.get("w"), wtimeout=document.get("wtimeoutMS"), j=document.get("journal")
    )


def read_preference(document: Mapping[str, Any]) -> Any:
    mode = read_pref_mode_from_name(document["mode"])
    return make_read_preference(
        mode, document.get("tagSets"), document.get("maxStalenessSeconds", -1)
    )


def _convert(name: str, value: Any) -> Any:
    if name == "readConcern":
        return read_concern(value)
    if name == "writeConcern":
        return write_concern(value)
    if name == "readPreference":
        return read_preference(value)
    if name == "returnDocument":
        text = str(value).lower()
        if text not in ("before", "after"):
            raise RunnerError(f"returnDocument must be Before or After, not {value!r}")
        return ReturnDocument.AFTER if text == "after" else ReturnDocument.BEFORE
    if name == "cursorType":
        from driver import CursorType

        kinds = {"nonTailable": CursorType.NON_TAILABLE, "tailable": CursorType.TAILABLE,
                 "tailableAwait": CursorType.TAILABLE_AWAIT}
        if value not in kinds:
            raise RunnerError(f"unknown cursorType {value!r}")
        return kinds[value]
    return value


# ---------------------------------------------------------------------------- results


def _write_result(result: Any, **fields: Callable[[Any], Any]) -> dict[str, Any]:
    if not result.acknowledged:
        return {"acknowledged": False}
    return {name: read(result) for name, read in fields.items()}


def bulk_result(result: BulkWriteResult) -> dict[str, Any]:
    if not result.acknowledged:
        return {"acknowledged": False}
    return {
        "deletedCount": result.deleted_count,
        "insertedCount": result.inserted_count,
        "matchedCount": result.matched_count,
        "modifiedCount": result.modified_count,
        "upsertedCount": result.upserted_count,
        "upsertedIds": {str(index): value for index, value in result.upserted_ids.items()},
    }


def _update_result(result: Any) -> dict[str, Any]:
    if not result.acknowledged:
        return {"acknowledged": False}
    document = {
        "matchedCount": result.matched_count,
        "modifiedCount": result.modified_count,
        "upsertedCount": 1 if result.did_upsert else 0,
    }
    if result.upserted_id is not None:
        document["upsertedId"] = result.upserted_id
    return document


async def _drain(cursor: Any) -> list[Any]:
    return list(await resolve(cursor.to_list()))


# ---------------------------------------------------------------------------- client


@_on(CLIENT, name="listDatabases")
async def _list_databases(runner: UnifiedRunner, client: Any, args: Args) -> Any:
    kwargs = args.kwargs({"filter": None, "nameOnly": None, "authorizedDatabases": None,
                          "comment": None})
    return await _drain(await resolve(client.client.list_databases(**kwargs)))


@_on(CLIENT, name="listDatabaseNames")
async def _list_database_names(runner: UnifiedRunner, client: Any, args: Args) -> Any:
    kwargs = args.kwargs({"comment": "comment"})
    return await resolve(client.client.list_database_names(**kwargs))


@_on(CLIENT, name="close")
async def _close_client(runner: UnifiedRunner, client: Any, args: Args) -> Any:
    await client.close()
    return MISSING


# ---------------------------------------------------------------------------- database


@_on(DATABASE, name="runCommand")
async def _run_command(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    command = args.required("command")
    args.required("commandName")
    kwargs = args.kwargs({"readPreference": "read_preference"})
    return await resolve(database.command(command, **kwargs))


def _cursor_command_args(args: Args) -> tuple[Any, dict[str, Any]]:
    command = args.required("command")
    args.required("commandName")
    kwargs = args.kwargs({"readPreference": "read_preference", "comment": "comment",
                          "maxTimeMS": "max_await_time_ms"})
    batch_size = args.optional("batchSize")
    cursor_type = args.optional("cursorType")
    if cursor_type not in (None, "nonTailable", "tailable", "tailableAwait"):
        raise RunnerError(f"unknown cursorType {cursor_type!r}")
    return command, {**kwargs, "batch_size": batch_size}


async def _open_command_cursor(database: Any, args: Args) -> Any:
    command, kwargs = _cursor_command_args(args)
    batch_size = kwargs.pop("batch_size")
    cursor = await resolve(database.cursor_command(command, **kwargs))
    if batch_size is not None:
        cursor._batch_size = batch_size  # getMore's batchSize (PyMongo: cursor.batch_size)
    return cursor


@_on(DATABASE, name="runCursorCommand")
async def _run_cursor_command(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    return await _drain(await _open_command_cursor(database, args))


@_on(DATABASE, name="createCommandCursor")
async def _create_command_cursor(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    return CursorEntity(await _open_command_cursor(database, args))


@_on(DATABASE, name="listCollections")
async def _list_collections(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    kwargs = args.kwargs({"filter": "filter", "comment": "comment", "nameOnly": None,
                          "authorizedCollections": None})
    batch_size = args.optional("batchSize")
    if batch_size is not None:
        kwargs["cursor"] = {"batchSize": batch_size}
    return await _drain(await resolve(database.list_collections(**kwargs)))


@_on(DATABASE, name="listCollectionNames")
async def _list_collection_names(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    kwargs = args.kwargs({"filter": "filter", "comment": "comment"})
    return await resolve(database.list_collection_names(**kwargs))


@_on(DATABASE, name="createCollection")
async def _create_collection(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    name = args.required("collection")
    options = args.kwargs({key: None for key in list(args._left)})
    # check_exists=False: the server says whether it exists (NamespaceExists), and no
    # listCollections is sent first.
    return await resolve(database.create_collection(name, check_exists=False, **options))


@_on(DATABASE, name="modifyCollection")
async def _modify_collection(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    # Not a PyMongo helper: PyMongo applications send collMod through command().
    name = args.required("collection")
    options = args.kwargs({key: None for key in list(args._left)})
    return await resolve(database.command({"collMod": name, **options}))


@_on(DATABASE, name="dropCollection")
async def _drop_collection(runner: UnifiedRunner, database: Any, args: Args) -> Any:
    name = args.required("collection")
    kwargs = args.kwargs({"comment": "comment", "encryptedFields": "encrypted_fields"})
    await resolve(database.drop_collection(name, **kwargs))
    return MISSING


# ---------------------------------------------------------------------------- collection
# (aggregate serves both: a database-level aggregation goes through Database.aggregate)

_AGGREGATE = {"batchSize": None, "allowDiskUse": None, "let": "let", "comment": "comment",
              "collation": None, "hint": None, "maxTimeMS": None, "maxAwaitTimeMS": None,
              "bypassDocumentValidation": None}


@_on(COLLECTION, DATABASE, name="aggregate")
async def _aggregate(runner: UnifiedRunner, target: Any, args: Args) -> Any:
    pipeline = args.required("pipeline")
    kwargs = args.kwargs(_AGGREGATE)
    return await _drain(await resolve(target.aggregate(pipeline, **kwargs)))


@_on(COLLECTION, name="insertOne")
async def _insert_one(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    document = args.required("document")
    kwargs = args.kwargs({"bypassDocumentValidation": "bypass_document_validation",
                          "comment": "comment"})
    result = await resolve(collection.insert_one(document, **kwargs))
    if not result.acknowledged:
        return {"acknowledged": False, "insertedId": result.inserted_id}
    return {"insertedId": result.inserted_id}


@_on(COLLECTION, name="insertMany")
async def _insert_many(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    documents = args.required("documents")
    kwargs = args.kwargs({"ordered": "ordered", "comment": "comment",
                          "bypassDocumentValidation": "bypass_document_validation"})
    result = await resolve(collection.insert_many(documents, **kwargs))
    ids = {str(index): value for index, value in enumerate(result.inserted_ids)}
    if not result.acknowledged:
        return {"acknowledged": False, "insertedIds": ids}
    return {"insertedIds": ids}


_FILTER_OPTIONS = {"collation": "collation", "hint": "hint", "let": "let", "comment": "comment"}
_UPDATE_OPTIONS = {**_FILTER_OPTIONS, "upsert": "upsert", "arrayFilters": "array_filters",
                   "bypassDocumentValidation": "bypass_document_validation", "sort": "sort"}


@_on(COLLECTION, name="updateOne")
async def _update_one(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter, update = args.required("filter"), args.required("update")
    kwargs = args.kwargs(_UPDATE_OPTIONS)
    return _update_result(await resolve(collection.update_one(filter, update, **kwargs)))


@_on(COLLECTION, name="updateMany")
async def _update_many(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter, update = args.required("filter"), args.required("update")
    kwargs = args.kwargs({k: v for k, v in _UPDATE_OPTIONS.items() if k != "sort"})
    return _update_result(await resolve(collection.update_many(filter, update, **kwargs)))


@_on(COLLECTION, name="replaceOne")
async def _replace_one(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter, replacement = args.required("filter"), args.required("replacement")
    kwargs = args.kwargs({k: v for k, v in _UPDATE_OPTIONS.items() if k != "arrayFilters"})
    return _update_result(await resolve(collection.replace_one(filter, replacement, **kwargs)))


@_on(COLLECTION, name="deleteOne")
async def _delete_one(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter = args.required("filter")
    result = await resolve(collection.delete_one(filter, **args.kwargs(_FILTER_OPTIONS)))
    return _write_result(result, deletedCount=lambda r: r.deleted_count)


@_on(COLLECTION, name="deleteMany")
async def _delete_many(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter = args.required("filter")
    result = await resolve(collection.delete_many(filter, **args.kwargs(_FILTER_OPTIONS)))
    return _write_result(result, deletedCount=lambda r: r.deleted_count)


_MODELS: dict[str, tuple[type, tuple[str, ...], dict[str, str]]] = {
    "insertOne": (InsertOne, ("document",), {}),
    "updateOne": (UpdateOne, ("filter", "update"),
                  {"upsert": "upsert", "collation": "collation", "arrayFilters": "array_filters",
                   "hint": "hint", "sort": "sort"}),
    "updateMany": (UpdateMany, ("filter", "update"),
                   {"upsert": "upsert", "collation": "collation",
                    "arrayFilters": "array_filters", "hint": "hint"}),
    "replaceOne": (ReplaceOne, ("filter", "replacement"),
                   {"upsert": "upsert", "collation": "collation", "hint": "hint",
                    "sort": "sort"}),
    "deleteOne": (DeleteOne, ("filter",), {"collation": "collation", "hint": "hint"}),
    "deleteMany": (DeleteMany, ("filter",), {"collation": "collation", "hint": "hint"}),
}


def _model(request: Mapping[str, Any]) -> Any:
    ((kind, arguments),) = request.items()
    if kind not in _MODELS:
        raise RunnerError(f"bulkWrite: unknown request {kind!r}")
    model, positional, options = _MODELS[kind]
    args = Args(f"bulkWrite {kind}", arguments)
    values = [args.required(name) for name in positional]
    kwargs = args.kwargs(options)
    args.done()
    return model(*values, **kwargs)


@_on(COLLECTION, name="bulkWrite")
async def _bulk_write(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    requests = args.required("requests")
    kwargs = args.kwargs({"ordered": "ordered", "comment": "comment", "let": "let",
                          "bypassDocumentValidation": "bypass_document_validation"})
    args.done()
    models = [_model(request) for request in requests]
    return bulk_result(await resolve(collection.bulk_write(models, **kwargs)))


_FIND = {"projection": "projection", "skip": "skip", "limit": "limit",
         "sort": "sort", "batchSize": "batch_size", "hint": "hint", "maxTimeMS": "max_time_ms",
         "maxAwaitTimeMS": "max_await_time_ms", "comment": "comment", "collation": "collation",
         "allowDiskUse": "allow_disk_use", "min": "min", "max": "max",
         "returnKey": "return_key", "showRecordId": "show_record_id",
         "cursorType": "cursor_type", "let": "let", "noCursorTimeout": "no_cursor_timeout",
         "allowPartialResults": "allow_partial_results"}


def _find_args(args: Args) -> dict[str, Any]:
    filter = args.required("filter")  # required by the CRUD spec (a valid-fail test checks)
    return {"filter": filter, **args.kwargs(_FIND)}


@_on(COLLECTION, name="find")
async def _find(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    return await _drain(collection.find(**_find_args(args)))


@_on(COLLECTION, name="findOne")
async def _find_one(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    return await resolve(collection.find_one(**_find_args(args)))


@_on(COLLECTION, name="createFindCursor")
async def _create_find_cursor(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    cursor = collection.find(**_find_args(args))
    first = await next_document(cursor)  # the server-side cursor exists from here on
    return CursorEntity(cursor, [] if first is MISSING else [first])


@_on(COLLECTION, name="countDocuments")
async def _count_documents(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter = args.required("filter")
    kwargs = args.kwargs({"skip": None, "limit": None, "collation": None, "hint": None,
                          "maxTimeMS": None, "comment": "comment"})
    return await resolve(collection.count_documents(filter, **kwargs))


@_on(COLLECTION, name="estimatedDocumentCount")
async def _estimated_document_count(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    kwargs = args.kwargs({"maxTimeMS": None, "comment": "comment"})
    return await resolve(collection.estimated_document_count(**kwargs))


@_on(COLLECTION, name="distinct")
async def _distinct(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    key = args.required("fieldName")
    filter = args.required("filter")
    kwargs = args.kwargs({"collation": None, "comment": "comment", "hint": None,
                          "maxTimeMS": None})
    return await resolve(collection.distinct(key, filter, **kwargs))


_FIND_AND_MODIFY = {"projection": "projection", "sort": "sort", "hint": "hint", "let": "let",
                    "comment": "comment", "collation": None, "maxTimeMS": None}


@_on(COLLECTION, name="findOneAndDelete")
async def _find_one_and_delete(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter = args.required("filter")
    kwargs = args.kwargs(_FIND_AND_MODIFY)
    return await resolve(collection.find_one_and_delete(filter, **kwargs))


_FIND_AND_WRITE = {**_FIND_AND_MODIFY, "upsert": "upsert", "returnDocument": "return_document",
                   "bypassDocumentValidation": None}


@_on(COLLECTION, name="findOneAndReplace")
async def _find_one_and_replace(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter, replacement = args.required("filter"), args.required("replacement")
    kwargs = args.kwargs(_FIND_AND_WRITE)
    return await resolve(collection.find_one_and_replace(filter, replacement, **kwargs))


@_on(COLLECTION, name="findOneAndUpdate")
async def _find_one_and_update(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    filter, update = args.required("filter"), args.required("update")
    kwargs = args.kwargs({**_FIND_AND_WRITE, "arrayFilters": "array_filters"})
    return await resolve(collection.find_one_and_update(filter, update, **kwargs))


@_on(COLLECTION, name="createIndex")
async def _create_index(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    keys = args.required("keys")
    options = args.kwargs({key: None for key in list(args._left)})
    return await resolve(collection.create_index(list(keys.items()), **options))


@_on(COLLECTION, name="dropIndex")
async def _drop_index(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    name = args.required("name")
    await resolve(collection.drop_index(name, **args.kwargs({"comment": "comment"})))
    return MISSING


@_on(COLLECTION, name="dropIndexes")
async def _drop_indexes(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    await resolve(collection.drop_indexes(**args.kwargs({"comment": "comment"})))
    return MISSING


@_on(COLLECTION, name="listIndexes")
async def _list_indexes(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    kwargs = args.kwargs({"comment": "comment"})
    return await _drain(await resolve(collection.list_indexes(**kwargs)))


@_on(COLLECTION, name="drop")
async def _drop(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    await resolve(collection.drop(**args.kwargs({"comment": "comment"})))
    return MISSING


@_on(COLLECTION, name="rename")
async def _rename(runner: UnifiedRunner, collection: Any, args: Args) -> Any:
    to = args.required("to")
    kwargs = args.kwargs({"dropTarget": None, "comment": "comment"})
    await resolve(collection.rename(to, **kwargs))
    return MISSING


# ---------------------------------------------------------------------------- cursors


@_on(CURSOR, name="iterateUntilDocumentOrError")
async def _iterate_until_document(runner: UnifiedRunner, entity: Any, args: Args) -> Any:
    if entity.buffered:
        return entity.buffered.pop(0)
    document = await next_document(entity.cursor)
    if document is MISSING:
        raise RunnerError("iterateUntilDocumentOrError: the cursor is exhausted")
    return document


@_on(CURSOR, name="iterateOnce")
async def _iterate_once(runner: UnifiedRunner, entity: Any, args: Args) -> Any:
    if entity.buffered:
        return entity.buffered.pop(0)
    cursor = entity.cursor
    # One iteration: a document already in the batch, else exactly one getMore.
    if not cursor._buffer and cursor.alive:
        await resolve(cursor._get_more())
    if cursor._buffer:
        return cursor._buffer.popleft()
    return MISSING


@_on(CURSOR, name="close")
async def _close_cursor(runner: UnifiedRunner, entity: Any, args: Args) -> Any:
    await entity.close()
    return MISSING
