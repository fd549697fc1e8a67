"""AsyncCollection: CRUD, aggregation, bulk writes and indexes (PyMongo's Collection API).

Every method builds its command from the pure pieces (:mod:`driver.operations`,
:mod:`driver.protocol.bulk`, :mod:`driver.results`) and runs it through the client's
executor: one code path for server selection, sessions, retries and monitoring.

Example (needs a server)::

    orders = client.shop.orders
    await orders.insert_one({"sku": "A-1", "qty": 2})
    async for order in orders.find({"qty": {"$gte": 2}}).sort("qty", -1):
        print(order)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driver._async.cursor import AsyncCommandCursor, AsyncCursor
from driver._async.executor import Command
from driver._async.session import AsyncClientSession
from driver.bson.codec_options import CodecOptions
from driver.errors import InvalidName, OperationFailure
from driver.operations import (
    IndexModel,
    ReturnDocument,
    collation_document,
    hint_document,
    index_keys,
    sort_document,
    validate_ok_for_replace,
    validate_ok_for_update,
)
from driver.protocol.bulk import (
    BatchLimits,
    BulkResultMerger,
    check_unacknowledged,
    check_write_reply,
    ensure_id,
    plan_bulk_write,
    plan_inserts,
)
from driver.read_concern import ReadConcern
from driver.results import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
)
from driver.write_concern import WriteConcern

if TYPE_CHECKING:
    from driver._async.database import AsyncDatabase
    from driver.protocol.bulk import BulkPlan

__all__ = ["AsyncCollection"]

_UNSET: Any = object()


def _check_collection_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if not name or ".." in name or name.startswith(".") or name.endswith("."):
        raise InvalidName(f"collection name {name!r} is not valid")
    if "$" in name and not (name.startswith("oplog.$main") or name.startswith("$cmd")):
        raise InvalidName(f"collection name {name!r} must not contain '$'")
    if "\x00" in name:
        raise InvalidName("collection names must not contain the null character")


def _session_args(collection: AsyncCollection, session: Any) -> dict[str, Any]:
    """The executor arguments for an explicit session (``session=``), or none."""
    if session is None:
        return {}
    if not isinstance(session, AsyncClientSession):
        raise TypeError(f"session must be a ClientSession, not {type(session).__name__}")
    return {
        "session": session._use(collection.database.client),
        "client_session": session,
    }


class AsyncCollection:
    """A collection of a database: ``db.orders`` or ``db["orders"]``."""

    def __init__(
        self,
        database: AsyncDatabase,
        name: str,
        codec_options: CodecOptions[Any] | None = None,
        read_preference: Any = None,
        write_concern: WriteConcern | None = None,
        read_concern: ReadConcern | None = None,
    ) -> None:
        _check_collection_name(name)
        self._database = database
        self._name = name
        self._codec_options = codec_options or database.codec_options
        self._read_preference = read_preference or database.read_preference
        self._write_concern = write_concern or database.write_concern
        self._read_concern = read_concern or database.read_concern

    # -- PyMongo's accessors

    @property
    def name(self) -> str:
        return self._name

    @property
    def full_name(self) -> str:
        return f"{self._database.name}.{self._name}"

    @property
    def database(self) -> AsyncDatabase:
        return self._database

    @property
    def codec_options(self) -> CodecOptions[Any]:
        return self._codec_options

    @property
    def read_preference(self) -> Any:
        return self._read_preference

    @property
    def write_concern(self) -> WriteConcern:
        return self._write_concern

    @property
    def read_concern(self) -> ReadConcern:
        return self._read_concern

    def with_options(
        self,
        codec_options: CodecOptions[Any] | None = None,
        read_preference: Any = None,
        write_concern: WriteConcern | None = None,
        read_concern: ReadConcern | None = None,
    ) -> AsyncCollection:
        """A copy of this collection with some options changed."""
        return AsyncCollection(
            self._database,
            self._name,
            codec_options or self._codec_options,
            read_preference or self._read_preference,
            write_concern or self._write_concern,
            read_concern or self._read_concern,
        )

    def __getitem__(self, name: str) -> AsyncCollection:
        return AsyncCollection(self._database, f"{self._name}.{name}", self._codec_options,
                               self._read_preference, self._write_concern, self._read_concern)

    def __getattr__(self, name: str) -> AsyncCollection:
        if name.startswith("_"):
            raise AttributeError(
                f"AsyncCollection has no attribute {name!r}; to reach a sub-collection "
                f"use collection[{name!r}]"
            )
        return self[name]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AsyncCollection):
            return self._database == other._database and self._name == other._name
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._database, self._name))

    def __repr__(self) -> str:
        return f"AsyncCollection({self._database!r}, {self._name!r})"

    def __bool__(self) -> bool:
        raise NotImplementedError(
            "Collection objects do not implement truth value testing or bool(); compare "
            "with None instead: collection is not None"
        )

    # -- running

    @property
    def _executor(self) -> Any:
        return self._database.client._executor

    def _write_concern_field(self, command: dict[str, Any]) -> bool:
        """Add the write concern; whether the write is acknowledged."""
        concern = self._write_concern
        if not concern.is_server_default:
            command["writeConcern"] = concern.document
        return concern.acknowledged

    def _read_concern_field(self, command: dict[str, Any]) -> None:
        if not self._read_concern.is_server_default:
            command["readConcern"] = self._read_concern.document

    async def _write(
        self,
        command: dict[str, Any],
        *,
        retryable: bool = True,
        sequences: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        acknowledged = self._write_concern_field(command)
        reply, _, _ = await self._executor.run(
            Command(
                self._database.name,
                command,
                sequences=sequences,
                write=True,
                retryable=retryable,
                codec_options=self._codec_options,
                unacknowledged=not acknowledged,
                **(extra or {}),
            )
        )
        if reply is not None:
            check_write_reply(reply)
        return reply

    async def _read(
        self,
        command: dict[str, Any],
        *,
        retryable: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        self._read_concern_field(command)
        reply, _, _ = await self._executor.run(
            Command(
                self._database.name,
                command,
                read_preference=self._read_preference,
                retryable=retryable,
                codec_options=self._codec_options,
                **(extra or {}),
            )
        )
        return reply

    # -- inserts

    async def insert_one(
        self,
        document: Any,
        bypass_document_validation: bool | None = None,
        session: Any = None,
        comment: Any = None,
    ) -> InsertOneResult:
        """Insert one document (given an ``_id`` first if it has none, in place)."""
        extra = _session_args(self, session)
        if not isinstance(document, Mapping):
            raise TypeError(f"document must be a mapping, not {type(document).__name__}")
        inserted_id = ensure_id(document)
        command: dict[str, Any] = {"insert": self._name, "ordered": True}
        if bypass_document_validation is not None:
            command["bypassDocumentValidation"] = bypass_document_validation
        if comment is not None:
            command["comment"] = comment
        reply = await self._write(command, sequences={"documents": [document]}, extra=extra)
        return InsertOneResult(inserted_id, reply is not None)

    async def insert_many(
        self,
        documents: Iterable[Any],
        ordered: bool = True,
        bypass_document_validation: bool | None = None,
        session: Any = None,
        comment: Any = None,
    ) -> InsertManyResult:
        """Insert documents in batches; BulkWriteError reports any that failed."""
        extra = _session_args(self, session)
        if isinstance(documents, Mapping) or not isinstance(documents, Iterable):
            raise TypeError("documents must be a non-empty list")
        docs = list(documents)
        plan = plan_inserts(
            docs,
            limits=await self._write_limits() if docs else None,
            collection=self._name,
            ordered=ordered,
            write_concern=self._bulk_write_concern(ordered),
            bypass_document_validation=bypass_document_validation,
            comment=comment,
            codec_options=self._codec_options,
        )
        ids = [doc["_id"] if type(doc) is dict else ensure_id(doc) for doc in docs]
        acknowledged = await self._run_plan(plan, extra)
        return InsertManyResult(ids, acknowledged is not None)

    # -- bulk

    def _bulk_write_concern(self, ordered: bool) -> WriteConcern | None:
        # Sent as given, w:0 included (the CRUD spec's tests expect it): an ordered
        # unacknowledged bulk still goes batch by batch, each awaited so the order holds.
        return self._write_concern

    async def _write_limits(self) -> BatchLimits:
        # Batches are planned before they are sent: split them by what the server
        # that takes writes announced (a selection now, cheap and cached; the first
        # batch selects again, and a server that changes its limits meanwhile would
        # reject an oversized batch rather than lose it).
        topology = self._database.client._topology
        server = await topology.select_server(None)
        await topology.done(server)
        description = topology.description.servers.get(server.address)
        return BatchLimits() if description is None else BatchLimits.from_hello(description)

    async def _run_plan(
        self, plan: BulkPlan, extra: Mapping[str, Any]
    ) -> BulkWriteResult | None:
        """Send every batch of a bulk; None for an unacknowledged one."""
        acknowledged = self._write_concern.acknowledged
        merger = BulkResultMerger()
        for batch in plan.batches:
            unacknowledged = not acknowledged and not plan.ordered
            reply, _, _ = await self._executor.run(
                Command(
                    self._database.name,
                    dict(batch.command),
                    sequences=batch.sequences,
                    write=True,
                    # w:0 writes carry neither txnNumber nor an implicit lsid (spec).
                    retryable=plan.retryable and acknowledged,
                    implicit_session=acknowledged,
                    codec_options=self._codec_options,
                    unacknowledged=unacknowledged,
                    **extra,
                )
            )
            if reply is None:
                continue
            if merger.merge(batch, reply):
                break
        if not acknowledged:
            return None
        merger.check()
        return merger.bulk_write_result()

    async def bulk_write(
        self,
        requests: Sequence[Any],
        ordered: bool = True,
        bypass_document_validation: bool | None = None,
        session: Any = None,
        comment: Any = None,
        let: Mapping[str, Any] | None = None,
    ) -> BulkWriteResult:
        """Run InsertOne/UpdateOne/.../DeleteMany requests in as few commands as fit."""
        extra = _session_args(self, session)
        plan = plan_bulk_write(
            requests,
            limits=await self._write_limits() if requests else None,
            collection=self._name,
            ordered=ordered,
            write_concern=self._bulk_write_concern(ordered),
            bypass_document_validation=bypass_document_validation,
            comment=comment,
            let=let,
            codec_options=self._codec_options,
        )
        if not self._write_concern.acknowledged:
            servers = self._database.client._topology.description.servers.values()
            newest = max((sd.max_wire_version or 0 for sd in servers), default=0)
            check_unacknowledged(plan, newest)
        result = await self._run_plan(plan, extra)
        return result if result is not None else BulkWriteResult({}, False)

    # -- updates and deletes

    async def _update(
        self,
        filter: Mapping[str, Any],
        update: Any,
        *,
        multi: bool,
        upsert: bool,
        collation: Any,
        array_filters: Any,
        hint: Any,
        let: Any,
        comment: Any,
        bypass_document_validation: bool | None,
        sort: Any = None,
        extra: Mapping[str, Any],
    ) -> UpdateResult:
        if not isinstance(filter, Mapping):
            raise TypeError(f"filter must be a mapping, not {type(filter).__name__}")
        statement: dict[str, Any] = {"q": filter, "u": update, "multi": multi, "upsert": upsert}
        if collation is not None:
            statement["collation"] = collation_document(collation)
        if array_filters is not None:
            statement["arrayFilters"] = list(array_filters)
        if hint is not None:
            statement["hint"] = hint_document(hint)
        if sort is not None:
            statement["sort"] = sort_document(sort)
        command: dict[str, Any] = {"update": self._name, "ordered": True}
        for key, value in (("let", let), ("comment", comment),
                           ("bypassDocumentValidation", bypass_document_validation)):
            if value is not None:
                command[key] = value
        reply = await self._write(
            command, retryable=not multi, sequences={"updates": [statement]}, extra=extra
        )
        if reply is None:
            return UpdateResult({}, False)
        raw = dict(reply)
        # PyMongo's raw_result: updatedExisting (as the legacy reply had), and the
        # upserted _id itself rather than the server's [{index, _id}] array.
        raw["updatedExisting"] = bool(raw.get("n")) and "upserted" not in raw
        if "upserted" in raw:
            raw["upserted"] = raw["upserted"][0]["_id"]
        return UpdateResult(raw, True)

    async def update_one(
        self,
        filter: Mapping[str, Any],
        update: Any,
        upsert: bool = False,
        bypass_document_validation: bool | None = None,
        collation: Any = None,
        array_filters: Any = None,
        hint: Any = None,
        session: Any = None,
        let: Mapping[str, Any] | None = None,
        comment: Any = None,
        sort: Any = None,
    ) -> UpdateResult:
        """Update the first document matching ``filter`` (``$set``-style or a pipeline)."""
        extra = _session_args(self, session)
        validate_ok_for_update(update)
        return await self._update(
            filter, update, multi=False, upsert=upsert, collation=collation,
            array_filters=array_filters, hint=hint, let=let, comment=comment,
            bypass_document_validation=bypass_document_validation, sort=sort, extra=extra,
        )

    async def update_many(
        self,
        filter: Mapping[str, Any],
        update: Any,
        upsert: bool = False,
        array_filters: Any = None,
        bypass_document_validation: bool | None = None,
        collation: Any = None,
        hint: Any = None,
        session: Any = None,
        let: Mapping[str, Any] | None = None,
        comment: Any = None,
    ) -> UpdateResult:
        """Update every document matching ``filter``."""
        extra = _session_args(self, session)
        validate_ok_for_update(update)
        return await self._update(
            filter, update, multi=True, upsert=upsert, collation=collation,
            array_filters=array_filters, hint=hint, let=let, comment=comment,
            bypass_document_validation=bypass_document_validation, extra=extra,
        )

    async def replace_one(
        self,
        filter: Mapping[str, Any],
        replacement: Mapping[str, Any],
        upsert: bool = False,
        bypass_document_validation: bool | None = None,
        collation: Any = None,
        hint: Any = None,
        session: Any = None,
        let: Mapping[str, Any] | None = None,
        comment: Any = None,
        sort: Any = None,
    ) -> UpdateResult:
        """Replace the first document matching ``filter`` (no ``$`` operators)."""
        extra = _session_args(self, session)
        validate_ok_for_replace(replacement)
        return await self._update(
            filter, replacement, multi=False, upsert=upsert, collation=collation,
            array_filters=None, hint=hint, let=let, comment=comment,
            bypass_document_validation=bypass_document_validation, sort=sort, extra=extra,
        )

    async def _delete(
        self, filter: Mapping[str, Any], *, limit: int, collation: Any, hint: Any,
        let: Any, comment: Any, extra: Mapping[str, Any],
    ) -> DeleteResult:
        if not isinstance(filter, Mapping):
            raise TypeError(f"filter must be a mapping, not {type(filter).__name__}")
        statement: dict[str, Any] = {"q": filter, "limit": limit}
        if collation is not None:
            statement["collation"] = collation_document(collation)
        if hint is not None:
            statement["hint"] = hint_document(hint)
        command: dict[str, Any] = {"delete": self._name, "ordered": True}
        for key, value in (("let", let), ("comment", comment)):
            if value is not None:
                command[key] = value
        reply = await self._write(
            command, retryable=limit == 1, sequences={"deletes": [statement]}, extra=extra
        )
        return DeleteResult({} if reply is None else reply, reply is not None)

    async def delete_one(
        self, filter: Mapping[str, Any], collation: Any = None, hint: Any = None,
        session: Any = None, let: Mapping[str, Any] | None = None, comment: Any = None,
    ) -> DeleteResult:
        """Delete the first document matching ``filter``."""
        extra = _session_args(self, session)
        return await self._delete(filter, limit=1, collation=collation, hint=hint, let=let,
                                  comment=comment, extra=extra)

    async def delete_many(
        self, filter: Mapping[str, Any], collation: Any = None, hint: Any = None,
        session: Any = None, let: Mapping[str, Any] | None = None, comment: Any = None,
    ) -> DeleteResult:
        """Delete every document matching ``filter``."""
        extra = _session_args(self, session)
        return await self._delete(filter, limit=0, collation=collation, hint=hint, let=let,
                                  comment=comment, extra=extra)

    # -- reads

    def find(self, *args: Any, **kwargs: Any) -> AsyncCursor:
        """A cursor over the documents matching ``filter`` (nothing is sent yet)."""
        return AsyncCursor(self, *args, **kwargs)

    async def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> Any:
        """The first matching document, or None. ``filter`` may be an ``_id`` value."""
        if filter is not None and not isinstance(filter, Mapping):
            filter = {"_id": filter}
        if not args and not kwargs:
            return await self._find_one_plain({} if filter is None else filter)
        cursor = self.find(filter, *args, **kwargs).limit(-1)
        for document in await cursor.to_list(1):
            return document
        return None

    async def _find_one_plain(self, filter: Mapping[str, Any]) -> Any:
        # The commonest read, without a cursor object: the same command a cursor with
        # limit(-1) sends, one batch, and the session given back at once.
        client = self._database.client
        if client._cursors_to_kill:
            await client._kill_dropped_cursors()
        command: dict[str, Any] = {
            "find": self._name,
            "filter": filter,
            "limit": 1,
            "singleBatch": True,
        }
        self._read_concern_field(command)
        reply, address, _ = await self._executor.run(
            Command(
                self._database.name,
                command,
                read_preference=self._read_preference,
                retryable=True,
                codec_options=self._codec_options,
            )
        )
        cursor = reply["cursor"]
        if cursor.get("id"):  # singleBatch closes it; a server that did not gets a kill
            namespace = cursor.get("ns") or f"{self._database.name}.{self._name}"
            client._cursors_to_kill.append((address, namespace, cursor["id"], None))
        batch = cursor["firstBatch"]
        return batch[0] if batch else None

    async def count_documents(
        self, filter: Mapping[str, Any], session: Any = None, comment: Any = None,
        **kwargs: Any,
    ) -> int:
        """How many documents match ``filter`` (an aggregation; exact)."""
        extra = _session_args(self, session)
        pipeline: list[dict[str, Any]] = [{"$match": filter}]
        if "skip" in kwargs:
            pipeline.append({"$skip": kwargs.pop("skip")})
        if "limit" in kwargs:
            pipeline.append({"$limit": kwargs.pop("limit")})
        pipeline.append({"$group": {"_id": 1, "n": {"$sum": 1}}})
        command: dict[str, Any] = {"aggregate": self._name, "pipeline": pipeline, "cursor": {}}
        if comment is not None:
            command["comment"] = comment
        if "hint" in kwargs:
            command["hint"] = hint_document(kwargs.pop("hint"))
        if "maxTimeMS" in kwargs:
            command["maxTimeMS"] = kwargs.pop("maxTimeMS")
        command.update(kwargs)
        reply = await self._read(command, extra=extra)
        batch = reply["cursor"]["firstBatch"]
        return int(batch[0]["n"]) if batch else 0

    async def estimated_document_count(self, comment: Any = None, **kwargs: Any) -> int:
        """The count from the collection's metadata (fast; may be off after a crash)."""
        command: dict[str, Any] = {"count": self._name, **kwargs}
        if comment is not None:
            command["comment"] = comment
        try:
            reply = await self._read(command)
        except OperationFailure as exc:
            if exc.code == 26:  # NamespaceNotFound: no collection, no documents
                return 0
            raise
        return int(reply["n"])

    async def distinct(
        self, key: str, filter: Mapping[str, Any] | None = None, session: Any = None,
        comment: Any = None, **kwargs: Any,
    ) -> list[Any]:
        """The distinct values of ``key`` among the matching documents."""
        extra = _session_args(self, session)
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, not {type(key).__name__}")
        command: dict[str, Any] = {"distinct": self._name, "key": key, **kwargs}
        if filter is not None:
            command["query"] = filter
        if comment is not None:
            command["comment"] = comment
        reply = await self._read(command, extra=extra)
        return list(reply["values"])

    async def aggregate(
        self, pipeline: Sequence[Mapping[str, Any]], session: Any = None,
        let: Mapping[str, Any] | None = None, comment: Any = None, **kwargs: Any,
    ) -> AsyncCommandCursor:
        """Run an aggregation pipeline; a cursor over its results.

        A pipeline ending in ``$out`` or ``$merge`` is a write: it goes to the primary.
        """
        return await self._aggregate_on(
            self._name, pipeline, session=session, let=let, comment=comment, **kwargs
        )

    async def _aggregate_on(
        self, target: Any, pipeline: Sequence[Mapping[str, Any]], *, session: Any = None,
        let: Mapping[str, Any] | None = None, comment: Any = None, **kwargs: Any,
    ) -> AsyncCommandCursor:
        # ``target``: the collection name, or 1 for a database-level aggregation.
        extra = _session_args(self, session)
        if not isinstance(pipeline, Sequence) or isinstance(pipeline, (str, bytes, Mapping)):
            raise TypeError("pipeline must be a list of stages")
        stages = list(pipeline)
        writes = bool(stages) and any(key in ("$out", "$merge") for key in stages[-1])
        batch_size = kwargs.pop("batchSize", kwargs.pop("batch_size", None))
        command: dict[str, Any] = {"aggregate": target, "pipeline": stages, "cursor": {}}
        if batch_size is not None and not (writes and batch_size == 0):
            command["cursor"] = {"batchSize": batch_size}  # none for a $out/$merge of 0
        renames = {"allow_disk_use": "allowDiskUse", "max_time_ms": "maxTimeMS",
                   "max_await_time_ms": None}
        max_await = kwargs.pop("max_await_time_ms", kwargs.pop("maxAwaitTimeMS", None))
        for key, value in list(kwargs.items()):
            name = renames.get(key, key)
            if name == "hint":
                command[name] = hint_document(value)
            elif name == "collation":
                command[name] = collation_document(value)
            elif name is not None:
                command[name] = value
        for key, value in (("let", let), ("comment", comment)):
            if value is not None:
                command[key] = value
        self._read_concern_field(command)
        if writes:
            self._write_concern_field(command)
        # From MongoDB 5.0 a $out/$merge may run on a secondary: the read preference
        # applies; the executor falls back to the primary for an older server.
        reply, address, kept = await self._executor.run(
            Command(
                self._database.name,
                command,
                read_preference=self._read_preference,
                write_stage=writes,
                retryable=not writes,
                codec_options=self._codec_options,
                keep_session=True,
                **extra,
            )
        )
        return AsyncCommandCursor(self, reply, address, kept, batch_size=batch_size or 0,
                                  max_await_time_ms=max_await, comment=comment,
                                  client_session=extra.get("client_session"))

    # -- find and modify

    async def _find_and_modify(
        self, filter: Mapping[str, Any], *, projection: Any, sort: Any, upsert: Any,
        return_document: bool, hint: Any, let: Any, comment: Any, fields: dict[str, Any],
        extra: Mapping[str, Any],
    ) -> Any:
        if not isinstance(filter, Mapping):
            raise TypeError(f"filter must be a mapping, not {type(filter).__name__}")
        command: dict[str, Any] = {"findAndModify": self._name, "query": filter, **fields}
        if projection is not None:
            command["fields"] = (
                dict(projection) if isinstance(projection, Mapping)
                else dict.fromkeys(projection, 1)
            )
        if sort is not None:
            command["sort"] = sort_document(sort)
        if upsert is not None:
            command["upsert"] = upsert
        if return_document:
            command["new"] = True
        for key, value in (("hint", hint), ("let", let), ("comment", comment)):
            if value is not None:
                command[key] = hint_document(value) if key == "hint" else value
        reply = await self._write(command, extra=extra)
        return None if reply is None else reply.get("value")

    async def find_one_and_delete(
        self, filter: Mapping[str, Any], projection: Any = None, sort: Any = None,
        hint: Any = None, session: Any = None, let: Mapping[str, Any] | None = None,
        comment: Any = None, **kwargs: Any,
    ) -> Any:
        """Delete the first matching document and return it (or None)."""
        extra = _session_args(self, session)
        return await self._find_and_modify(
            filter, projection=projection, sort=sort, upsert=None, return_document=False,
            hint=hint, let=let, comment=comment, fields={"remove": True, **kwargs}, extra=extra,
        )

    async def find_one_and_replace(
        self, filter: Mapping[str, Any], replacement: Mapping[str, Any], projection: Any = None,
        sort: Any = None, upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE, hint: Any = None, session: Any = None,
        let: Mapping[str, Any] | None = None, comment: Any = None, **kwargs: Any,
    ) -> Any:
        """Replace the first matching document; the document before (or after) it."""
        extra = _session_args(self, session)
        validate_ok_for_replace(replacement)
        return await self._find_and_modify(
            filter, projection=projection, sort=sort, upsert=upsert,
            return_document=return_document, hint=hint, let=let, comment=comment,
            fields={"update": replacement, **kwargs}, extra=extra,
        )

    async def find_one_and_update(
        self, filter: Mapping[str, Any], update: Any, projection: Any = None, sort: Any = None,
        upsert: bool = False, return_document: bool = ReturnDocument.BEFORE,
        array_filters: Any = None, hint: Any = None, session: Any = None,
        let: Mapping[str, Any] | None = None, comment: Any = None, **kwargs: Any,
    ) -> Any:
        """Update the first matching document; the document before (or after) it."""
        extra = _session_args(self, session)
        validate_ok_for_update(update)
        fields: dict[str, Any] = {"update": update, **kwargs}
        if array_filters is not None:
            fields["arrayFilters"] = list(array_filters)
        return await self._find_and_modify(
            filter, projection=projection, sort=sort, upsert=upsert,
            return_document=return_document, hint=hint, let=let, comment=comment,
            fields=fields, extra=extra,
        )

    # -- indexes

    async def create_indexes(
        self, indexes: Sequence[IndexModel], session: Any = None, comment: Any = None,
        **kwargs: Any,
    ) -> list[str]:
        """Create indexes; their names."""
        extra = _session_args(self, session)
        models = list(indexes)
        if not models or not all(isinstance(model, IndexModel) for model in models):
            raise TypeError("indexes must be a non-empty list of IndexModel")
        command: dict[str, Any] = {
            "createIndexes": self._name,
            "indexes": [model.document for model in models],
            **kwargs,
        }
        if comment is not None:
            command["comment"] = comment
        await self._write(command, retryable=False, extra=extra)
        return [model.document["name"] for model in models]

    async def create_index(
        self, keys: Any, session: Any = None, comment: Any = None, **kwargs: Any
    ) -> str:
        """Create one index (keys as a name, or (key, direction) pairs); its name."""
        command_options = {
            key: kwargs.pop(key) for key in ("maxTimeMS", "commitQuorum") if key in kwargs
        }
        (name,) = await self.create_indexes(
            [IndexModel(keys, **kwargs)], session=session, comment=comment, **command_options
        )
        return name

    async def drop_index(
        self, index_or_name: Any, session: Any = None, comment: Any = None, **kwargs: Any
    ) -> None:
        """Drop one index, by name or by its keys."""
        extra = _session_args(self, session)
        name = index_or_name
        if isinstance(index_or_name, IndexModel):
            name = index_or_name.document["name"]
        elif not isinstance(index_or_name, str):
            from driver.operations import index_name

            name = index_name(index_keys(index_or_name))
        if name == "*":
            raise ValueError("use drop_indexes() to drop every index")
        command: dict[str, Any] = {"dropIndexes": self._name, "index": name, **kwargs}
        if comment is not None:
            command["comment"] = comment
        await self._write(command, retryable=False, extra=extra)

    async def drop_indexes(self, session: Any = None, comment: Any = None, **kwargs: Any) -> None:
        """Drop every index but ``_id_``."""
        extra = _session_args(self, session)
        command: dict[str, Any] = {"dropIndexes": self._name, "index": "*", **kwargs}
        if comment is not None:
            command["comment"] = comment
        await self._write(command, retryable=False, extra=extra)

    async def list_indexes(self, session: Any = None, comment: Any = None) -> AsyncCommandCursor:
        """A cursor over the index documents."""
        extra = _session_args(self, session)
        command: dict[str, Any] = {"listIndexes": self._name, "cursor": {}}
        if comment is not None:
            command["comment"] = comment
        try:
            reply, address, kept = await self._executor.run(
                Command(self._database.name, command, retryable=True,
                        codec_options=self._codec_options, keep_session=True, **extra)
            )
        except OperationFailure as exc:
            if exc.code != 26:  # NamespaceNotFound: no collection, no indexes
                raise
            reply, address, kept = (
                {"cursor": {"id": 0, "firstBatch": [], "ns": self.full_name}}, None, None
            )
        return AsyncCommandCursor(
            self, reply, address, kept, client_session=extra.get("client_session")
        )

    async def index_information(self, session: Any = None, comment: Any = None) -> dict[str, Any]:
        """``{name: {"key": [(field, direction), ...], ...options}}`` for every index."""
        info: dict[str, Any] = {}
        async for index in await self.list_indexes(session=session, comment=comment):
            entry = dict(index)
            name = entry.pop("name")
            entry["key"] = list(entry["key"].items())
            info[name] = entry
        return info

    # -- the collection itself

    async def drop(self, session: Any = None, comment: Any = None, **kwargs: Any) -> None:
        """Drop the collection (dropping a missing one is not an error)."""
        await self._database.drop_collection(self._name, session=session, comment=comment,
                                             **kwargs)

    async def rename(
        self, new_name: str, session: Any = None, comment: Any = None, **kwargs: Any
    ) -> Any:
        """Rename the collection (``dropTarget=True`` to replace an existing one)."""
        extra = _session_args(self, session)
        _check_collection_name(new_name)
        command: dict[str, Any] = {
            "renameCollection": self.full_name,
            "to": f"{self._database.name}.{new_name}",
            **kwargs,
        }
        if comment is not None:
            command["comment"] = comment
        self._write_concern_field(command)
        reply, _, _ = await self._executor.run(
            Command("admin", command, write=True, codec_options=self._codec_options, **extra)
        )
        return reply

    async def options(self, session: Any = None, comment: Any = None) -> dict[str, Any]:
        """The options the collection was created with (``{}`` if none)."""
        for info in await self._database._list_collections(
            filter={"name": self._name}, comment=comment
        ):
            return dict(info.get("options", {}))
        return {}
