"""Cursors: results fetched lazily in batches (``find``, ``aggregate``, list commands).

A cursor sends nothing until it is iterated. Its first command returns a first batch
and a cursor id; each later batch comes from ``getMore`` on the same server, with the
same implicit session, and only when the previous batch is used up, so memory stays
flat however many documents there are. ``close()`` (or reaching the end) frees the
server-side cursor with ``killCursors``; a cursor dropped unfinished is killed when the
client next starts a cursor, or when it closes.

Example (needs a server)::

    async for doc in collection.find({"qty": {"$gt": 5}}).sort("qty").limit(10):
        print(doc)
"""

from __future__ import annotations

import contextlib
import copy
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driver._async.executor import Command
from driver.bson import Int64
from driver.errors import InvalidOperation
from driver.operations import collation_document, sort_document

if TYPE_CHECKING:
    from driver._async.collection import AsyncCollection
    from driver._async.connection import Address
    from driver.protocol.sessions import ServerSession

__all__ = ["AsyncCommandCursor", "AsyncCursor", "CursorType"]


class CursorType:
    """PyMongo's cursor types for ``find(cursor_type=...)``."""

    NON_TAILABLE = 0
    TAILABLE = 2
    TAILABLE_AWAIT = 34
    EXHAUST = 64


class _AsyncBatches:
    """What both cursor kinds share: the batch buffer, getMore, killCursors."""

    def __init__(self, collection: AsyncCollection, batch_size: int = 0) -> None:
        self._collection = collection
        self._executor = collection.database.client._executor
        self._buffer: deque[Any] = deque()
        self._id: int | None = None  # None: not started; 0: the server has no more
        self._address: Address | None = None
        self._session: ServerSession | None = None
        self._namespace = f"{collection.database.name}.{collection.name}"
        self._batch_size = batch_size
        self._limit = 0
        self._retrieved = 0
        self._max_await_time_ms: int | None = None
        self._killed = False
        self._comment: Any = None
        self._client_session: Any = None  # an explicit session (the caller ends it)

    # -- state

    @property
    def alive(self) -> bool:
        """Whether more documents may come (PyMongo's ``Cursor.alive``)."""
        return not self._killed and (self._id is None or self._id != 0 or bool(self._buffer))

    @property
    def cursor_id(self) -> int | None:
        """The server's cursor id (0 once exhausted), None before the first batch."""
        return self._id

    @property
    def address(self) -> Address | None:
        """The server the cursor lives on, once started."""
        return self._address

    @property
    def retrieved(self) -> int:
        """How many documents the server has returned so far."""
        return self._retrieved

    @property
    def session(self) -> Any:
        """The explicit session this cursor was started in, or None (implicit)."""
        return self._client_session

    @property
    def collection(self) -> AsyncCollection:
        """The collection this cursor reads (PyMongo's ``Cursor.collection``)."""
        return self._collection

    # -- batches

    def _take_batch(self, reply: Mapping[str, Any], first: bool) -> None:
        cursor = reply["cursor"]
        batch = cursor["firstBatch" if first else "nextBatch"]
        self._id = int(cursor.get("id", 0))
        namespace = cursor.get("ns")
        if namespace:
            self._namespace = str(namespace)
        self._retrieved += len(batch)
        if self._limit and self._retrieved >= self._limit:
            # The user's limit is reached: the server may still hold a cursor.
            self._buffer.extend(batch[: len(batch) - (self._retrieved - self._limit)])
        else:
            self._buffer.extend(batch)
        if self._id == 0 or (self._limit and self._retrieved >= self._limit):
            self._finish_session()

    async def _start(self) -> None:
        raise NotImplementedError

    async def _get_more(self) -> None:
        database, _, collection = self._namespace.partition(".")
        command: dict[str, Any] = {"getMore": Int64(self._id or 0), "collection": collection}
        batch = self._batch_size
        if self._limit:
            remaining = self._limit - self._retrieved
            batch = min(batch, remaining) if batch else remaining
        if batch:
            command["batchSize"] = batch
        if self._max_await_time_ms is not None:
            command["maxTimeMS"] = self._max_await_time_ms
        if self._comment is not None:
            command["comment"] = self._comment
        try:
            reply, _, _ = await self._executor.run(
                Command(
                    database,
                    command,
                    codec_options=self._collection.codec_options,
                    address=self._address,
                    session=self._session,
                    client_session=self._client_session,
                )
            )
        except BaseException:
            self._id = 0  # the server kills a cursor whose getMore failed
            self._finish_session()
            raise
        self._take_batch(reply, first=False)

    async def _refill(self) -> bool:
        """Fetch until a document is buffered or the cursor is done; whether one is."""
        if self._killed:
            return False
        if self._id is None:
            await self._start()
        while not self._buffer and self._id:
            if self._limit and self._retrieved >= self._limit:
                await self.close()
                return False
            await self._get_more()
        return bool(self._buffer)

    async def next(self) -> Any:
        """The next document; StopAsyncIteration at the end."""
        if self._buffer or await self._refill():
            return self._buffer.popleft()
        raise StopAsyncIteration

    def __aiter__(self) -> _AsyncBatches:
        return self

    async def __anext__(self) -> Any:
        return await self.next()

    async def to_list(self, length: int | None = None) -> list[Any]:
        """The remaining documents (at most ``length``) as a list."""
        if length is not None and length < 1:
            raise ValueError("to_list() length must be greater than 0")
        found: list[Any] = []
        while length is None or len(found) < length:
            if not self._buffer and not await self._refill():
                break
            found.append(self._buffer.popleft())
        return found

    # -- closing

    def _finish_session(self) -> None:
        session, self._session = self._session, None
        if self._client_session is None:  # an explicit session is its owner's to end
            self._executor.release_session(session)

    async def close(self) -> None:
        """Free the server-side cursor (``killCursors``) and the session; idempotent."""
        if self._killed:
            return
        self._killed = True
        self._buffer.clear()
        cursor_id, self._id = self._id, 0
        if cursor_id and self._address is not None:
            database, _, collection = self._namespace.partition(".")
            # Best effort: the server times idle cursors out anyway.
            with contextlib.suppress(Exception):
                await self._executor.run(
                    Command(
                        database,
                        {"killCursors": collection, "cursors": [Int64(cursor_id)]},
                        address=self._address,
                        session=self._session,
                        check=False,
                    )
                )
        self._finish_session()

    async def __aenter__(self) -> _AsyncBatches:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __del__(self) -> None:
        # Dropped unfinished: hand the kill to the client (no I/O in a finalizer).
        if getattr(self, "_id", 0) and not getattr(self, "_killed", True):
            client = self._collection.database.client
            client._cursors_to_kill.append(
                (self._address, self._namespace, self._id, self._session)
            )


class AsyncCursor(_AsyncBatches):
    """The result of ``find()``: chain modifiers, then iterate (PyMongo's ``Cursor``)."""

    def __init__(
        self,
        collection: AsyncCollection,
        filter: Mapping[str, Any] | None = None,
        projection: Mapping[str, Any] | Sequence[str] | None = None,
        skip: int = 0,
        limit: int = 0,
        sort: Any = None,
        batch_size: int = 0,
        hint: Any = None,
        max_time_ms: int | None = None,
        max_await_time_ms: int | None = None,
        comment: Any = None,
        collation: Mapping[str, Any] | None = None,
        allow_disk_use: bool | None = None,
        min: Any = None,
        max: Any = None,
        return_key: bool | None = None,
        show_record_id: bool | None = None,
        cursor_type: int = CursorType.NON_TAILABLE,
        let: Mapping[str, Any] | None = None,
        no_cursor_timeout: bool = False,
        allow_partial_results: bool = False,
        session: Any = None,
    ) -> None:
        super().__init__(collection, batch_size)
        if session is not None:
            from driver._async.collection import _session_args

            self._session = _session_args(collection, session)["session"]
            self._client_session = session
        if filter is not None and not isinstance(filter, Mapping):
            raise TypeError(f"filter must be a mapping, not {type(filter).__name__}")
        self._filter = dict(filter or {})
        self._projection = _projection(projection)
        self._skip = _non_negative("skip", skip)
        self._limit_value = limit
        self._sort = None if sort is None else sort_document(sort)
        self._hint = hint
        self._max_time_ms = max_time_ms
        self._max_await = max_await_time_ms
        self._comment = comment
        self._collation = collation
        self._allow_disk_use = allow_disk_use
        self._min, self._max = min, max
        self._return_key, self._show_record_id = return_key, show_record_id
        self._cursor_type = cursor_type
        self._let = let
        self._no_cursor_timeout = no_cursor_timeout
        self._allow_partial = allow_partial_results
        self._set_limit(limit)

    # -- modifiers (before iteration only)

    def _check_unstarted(self) -> None:
        if self._id is not None or self._killed:
            raise InvalidOperation("cannot set options after executing query")

    def _set_limit(self, limit: int) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise TypeError("limit must be an integer")
        self._limit_value = limit
        self._limit = abs(limit)

    def limit(self, limit: int) -> AsyncCursor:
        """At most ``limit`` documents; a negative limit also closes after one batch."""
        self._check_unstarted()
        self._set_limit(limit)
        return self

    def skip(self, skip: int) -> AsyncCursor:
        self._check_unstarted()
        self._skip = _non_negative("skip", skip)
        return self

    def sort(self, key_or_list: Any, direction: Any = None) -> AsyncCursor:
        """Sort by a key (with ``direction``) or a list of (key, direction) pairs."""
        self._check_unstarted()
        self._sort = sort_document(key_or_list if direction is None else [(key_or_list, direction)])
        return self

    def batch_size(self, batch_size: int) -> AsyncCursor:
        self._check_unstarted()
        self._batch_size = _non_negative("batch_size", batch_size)
        return self

    def hint(self, index: Any) -> AsyncCursor:
        self._check_unstarted()
        self._hint = index if isinstance(index, str) or index is None else sort_document(index)
        return self

    def max_time_ms(self, max_time_ms: int | None) -> AsyncCursor:
        self._check_unstarted()
        if max_time_ms is not None and (
            not isinstance(max_time_ms, int) or isinstance(max_time_ms, bool)
        ):
            raise TypeError("max_time_ms must be an integer or None")
        self._max_time_ms = max_time_ms
        return self

    def max_await_time_ms(self, max_await_time_ms: int | None) -> AsyncCursor:
        self._check_unstarted()
        self._max_await = max_await_time_ms
        return self

    def comment(self, comment: Any) -> AsyncCursor:
        self._check_unstarted()
        self._comment = comment
        return self

    def collation(self, collation: Mapping[str, Any] | None) -> AsyncCursor:
        self._check_unstarted()
        self._collation = collation_document(collation)  # TypeError for a bad one
        return self

    def allow_disk_use(self, allow_disk_use: bool) -> AsyncCursor:
        self._check_unstarted()
        self._allow_disk_use = allow_disk_use
        return self

    def min(self, spec: Any) -> AsyncCursor:
        self._check_unstarted()
        self._min = sort_document(spec)
        return self

    def max(self, spec: Any) -> AsyncCursor:
        self._check_unstarted()
        self._max = sort_document(spec)
        return self

    def where(self, code: str) -> AsyncCursor:
        self._check_unstarted()
        self._filter["$where"] = code
        return self

    def clone(self) -> AsyncCursor:
        """A new, unstarted cursor with the same query and options."""
        other = copy.copy(self)
        other._buffer = deque()
        other._id, other._address = None, None
        if other._client_session is None:
            other._session = None
        other._retrieved, other._killed = 0, False
        other._filter = copy.deepcopy(self._filter)
        return other

    async def rewind(self) -> AsyncCursor:
        """Start over: the next iteration runs the query again."""
        await self.close()
        self._buffer.clear()
        self._id, self._address = None, None
        if self._client_session is None:
            self._session = None
        self._retrieved, self._killed = 0, False
        return self

    # -- the query

    def _find_command(self) -> dict[str, Any]:
        command: dict[str, Any] = {"find": self._collection.name, "filter": self._filter}
        optional = {
            "sort": self._sort,
            "projection": self._projection,
            "hint": self._hint,
            "skip": self._skip or None,
            "limit": self._limit or None,
            "maxTimeMS": self._max_time_ms,
            "comment": self._comment,
            "collation": collation_document(self._collation),
            "allowDiskUse": self._allow_disk_use,
            "min": self._min,
            "max": self._max,
            "returnKey": self._return_key,
            "showRecordId": self._show_record_id,
            "let": self._let,
        }
        command.update((key, value) for key, value in optional.items() if value is not None)
        batch = self._batch_size
        if batch and self._limit and batch >= self._limit:
            # One more than the limit, so the first batch ends the cursor on the
            # server (the CRUD spec's rule, as PyMongo does).
            batch = self._limit + 1
        if batch and self._limit_value >= 0:
            command["batchSize"] = batch
        if self._limit_value < 0:
            command["singleBatch"] = True
        if self._cursor_type & CursorType.TAILABLE:
            command["tailable"] = True
            if self._cursor_type & 32:
                command["awaitData"] = True
                self._max_await_time_ms = self._max_await
        if self._no_cursor_timeout:
            command["noCursorTimeout"] = True
        if self._allow_partial:
            command["allowPartialResults"] = True
        concern = self._collection.read_concern
        if not concern.is_server_default:
            command["readConcern"] = concern.document
        return command

    async def _start(self) -> None:
        collection = self._collection
        client = collection.database.client
        if client._cursors_to_kill:
            await client._kill_dropped_cursors()
        reply, address, session = await self._executor.run(
            Command(
                collection.database.name,
                self._find_command(),
                read_preference=collection.read_preference,
                retryable=True,
                codec_options=collection.codec_options,
                keep_session=True,
                session=self._session,
                client_session=self._client_session,
            )
        )
        self._address, self._session = address, session
        self._take_batch(reply, first=True)
        if self._limit_value < 0 and self._id:
            await self.close()  # a negative limit: one batch and done

    async def explain(self, verbosity: str | None = None) -> Any:
        """The server's query plan for this query (``explain`` of ``find``)."""
        command: dict[str, Any] = {"explain": self._find_command()}
        if verbosity is not None:
            command["verbosity"] = verbosity
        collection = self._collection
        reply, _, _ = await self._executor.run(
            Command(
                collection.database.name,
                command,
                read_preference=collection.read_preference,
                codec_options=collection.codec_options,
            )
        )
        return reply

    async def distinct(self, key: str) -> list[Any]:
        """The distinct values of ``key`` among this query's documents (the cursor's
        collation, maxTimeMS and comment apply too)."""
        options: dict[str, Any] = {}
        if self._collation is not None:
            options["collation"] = collation_document(self._collation)
        if self._max_time_ms is not None:
            options["maxTimeMS"] = self._max_time_ms
        return await self._collection.distinct(
            key, self._filter, session=self._client_session, comment=self._comment, **options
        )


class AsyncCommandCursor(_AsyncBatches):
    """A cursor from a command's reply (``aggregate``, ``listCollections``, ...)."""

    def __init__(
        self,
        collection: AsyncCollection,
        reply: Mapping[str, Any],
        address: Address | None,
        session: ServerSession | None,
        *,
        batch_size: int = 0,
        max_await_time_ms: int | None = None,
        comment: Any = None,
        client_session: Any = None,
    ) -> None:
        super().__init__(collection, batch_size)
        self._address, self._session = address, session
        self._client_session = client_session
        self._max_await_time_ms = max_await_time_ms
        self._comment = comment
        self._take_batch(reply, first=True)

    async def _start(self) -> None:  # started by its command already
        return None

    def batch_size(self, batch_size: int) -> AsyncCommandCursor:
        """Documents per later ``getMore`` (0: the server decides); chainable.

        Unlike a ``find`` cursor's, it may change between batches: the first batch
        came with the command (set its size with the command's ``batchSize``).
        """
        self._batch_size = _non_negative("batch_size", batch_size)
        return self


def _non_negative(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0")
    return value


def _projection(projection: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any] | None:
    """A projection document; a list of field names means include those (PyMongo)."""
    if projection is None:
        return None
    if isinstance(projection, Mapping):
        return dict(projection)
    if isinstance(projection, str) or not isinstance(projection, Sequence):
        raise TypeError("projection must be a mapping or a list of field names")
    return dict.fromkeys(projection, 1)
