"""AsyncDatabase: a database of a client, and running commands on it.

Example (needs a server)::

    client = AsyncMongoClient("mongodb://127.0.0.1:27017/?directConnection=true")
    reply = await client.admin.command("ping")
    assert reply["ok"] == 1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driver._async.collection import AsyncCollection, _session_args
from driver._async.cursor import AsyncCommandCursor
from driver._async.executor import Command
from driver.bson.codec_options import DEFAULT_CODEC_OPTIONS, CodecOptions
from driver.errors import CollectionInvalid, InvalidName
from driver.protocol.commands import check_command_reply
from driver.read_concern import ReadConcern
from driver.write_concern import WriteConcern

if TYPE_CHECKING:
    from driver._async.client import AsyncMongoClient

__all__ = ["AsyncDatabase"]


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidName("database name cannot be empty")
    for char in ' ./\\"$\x00':
        if char in name:
            raise InvalidName(f"database name {name!r} must not contain {char!r}")


class AsyncDatabase:
    """A database: ``client[name]`` or ``client.get_database(name)``."""

    def __init__(
        self,
        client: AsyncMongoClient,
        name: str,
        codec_options: CodecOptions[Any] | None = None,
        read_preference: Any = None,
        write_concern: WriteConcern | None = None,
        read_concern: ReadConcern | None = None,
    ) -> None:
        _check_name(name)
        self._client = client
        self._name = name
        self._codec_options = codec_options or client.codec_options
        self._read_preference = read_preference or client.read_preference
        self._write_concern = write_concern or client.write_concern
        self._read_concern = read_concern or client.read_concern

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
    ) -> AsyncDatabase:
        """A copy of this database with some options changed."""
        return AsyncDatabase(
            self._client,
            self._name,
            codec_options or self._codec_options,
            read_preference or self._read_preference,
            write_concern or self._write_concern,
            read_concern or self._read_concern,
        )

    # -- collections

    def get_collection(
        self,
        name: str,
        codec_options: CodecOptions[Any] | None = None,
        read_preference: Any = None,
        write_concern: WriteConcern | None = None,
        read_concern: ReadConcern | None = None,
    ) -> AsyncCollection:
        """A collection of this database (nothing is sent)."""
        return AsyncCollection(
            self, name, codec_options, read_preference, write_concern, read_concern
        )

    def __getitem__(self, name: str) -> AsyncCollection:
        return AsyncCollection(self, name)

    def __getattr__(self, name: str) -> AsyncCollection:
        if name.startswith("_"):
            raise AttributeError(
                f"AsyncDatabase has no attribute {name!r}; to reach a collection with that "
                f"name use database[{name!r}]"
            )
        return AsyncCollection(self, name)

    async def _list_collections(
        self, filter: Mapping[str, Any] | None = None, comment: Any = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        cursor = await self.list_collections(filter=filter, comment=comment, **kwargs)
        return await cursor.to_list()

    async def list_collections(
        self,
        session: Any = None,
        filter: Mapping[str, Any] | None = None,
        comment: Any = None,
        **kwargs: Any,
    ) -> AsyncCommandCursor:
        """A cursor over the collections' information documents."""
        extra = _session_args(self["$cmd"], session)
        command: dict[str, Any] = {"listCollections": 1, "cursor": {}, **kwargs}
        if filter is not None:
            command["filter"] = filter
        if comment is not None:
            command["comment"] = comment
        reply, address, kept = await self._client._executor.run(
            Command(self._name, command, retryable=True, codec_options=self._codec_options,
                    keep_session=True, **extra)
        )
        return AsyncCommandCursor(
            self["$cmd"], reply, address, kept, client_session=extra.get("client_session")
        )

    async def list_collection_names(
        self,
        session: Any = None,
        filter: Mapping[str, Any] | None = None,
        comment: Any = None,
        **kwargs: Any,
    ) -> list[str]:
        """The names of the collections (and views), optionally filtered."""
        cursor = await self.list_collections(
            session=session, filter=filter, comment=comment, nameOnly=True, **kwargs
        )
        return [info["name"] async for info in cursor]

    async def create_collection(
        self,
        name: str,
        codec_options: CodecOptions[Any] | None = None,
        read_preference: Any = None,
        write_concern: WriteConcern | None = None,
        read_concern: ReadConcern | None = None,
        session: Any = None,
        check_exists: bool | None = True,
        **kwargs: Any,
    ) -> AsyncCollection:
        """Create a collection with options (validator, capped, timeseries, viewOn,
        pipeline, collation, clusteredIndex, ...); CollectionInvalid if it exists."""
        extra = _session_args(self["$cmd"], session)
        collection = self.get_collection(
            name, codec_options, read_preference, write_concern, read_concern
        )
        if check_exists and name in await self.list_collection_names(filter={"name": name}):
            raise CollectionInvalid(f"collection {self._name}.{name} already exists")
        command: dict[str, Any] = {"create": name, **kwargs}
        concern = collection.write_concern
        if not concern.is_server_default:
            command["writeConcern"] = concern.document
        await self._client._executor.run(
            Command(self._name, command, write=True, codec_options=self._codec_options, **extra)
        )
        return collection

    async def drop_collection(
        self, name_or_collection: Any, session: Any = None, comment: Any = None,
        encrypted_fields: Any = None, **kwargs: Any,
    ) -> dict[str, Any]:
        """Drop a collection; dropping one that does not exist is not an error."""
        extra = _session_args(self["$cmd"], session)
        name = getattr(name_or_collection, "name", name_or_collection)
        if not isinstance(name, str):
            raise TypeError("name_or_collection must be a str or a collection")
        command: dict[str, Any] = {"drop": name, **kwargs}
        if comment is not None:
            command["comment"] = comment
        if not self._write_concern.is_server_default:
            command["writeConcern"] = self._write_concern.document
        reply, _, _ = await self._client._executor.run(
            Command(self._name, command, write=True, check=False,
                    codec_options=self._codec_options, **extra)
        )
        if not reply.get("ok") and reply.get("code") != 26:  # 26: it did not exist
            check_command_reply(reply)
        return dict(reply)

    async def aggregate(
        self, pipeline: Sequence[Mapping[str, Any]], session: Any = None, **kwargs: Any
    ) -> AsyncCommandCursor:
        """A database-level aggregation (``$currentOp``, ``$listLocalSessions``, ...)."""
        return await AsyncCollection(self, "$cmd.aggregate")._aggregate_on(
            1, pipeline, session=session, **kwargs
        )

    async def cursor_command(
        self,
        command: str | Mapping[str, Any],
        value: Any = 1,
        read_preference: Any = None,
        codec_options: CodecOptions[Any] | None = None,
        session: Any = None,
        comment: Any = None,
        max_await_time_ms: int | None = None,
        **kwargs: Any,
    ) -> AsyncCommandCursor:
        """Run a command that answers with a cursor, and iterate it."""
        extra = _session_args(self["$cmd"], session)
        document = {command: value, **kwargs} if isinstance(command, str) else {**command, **kwargs}
        # ``comment`` goes on the getMores (the command carries its own), as in PyMongo.
        options = codec_options or self._codec_options
        reply, address, kept = await self._client._executor.run(
            Command(self._name, document, read_preference=read_preference,
                    codec_options=options, keep_session=True, **extra)
        )
        return AsyncCommandCursor(
            self["$cmd"].with_options(codec_options=options), reply, address, kept,
            max_await_time_ms=max_await_time_ms, comment=comment,
            client_session=extra.get("client_session"),
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def client(self) -> AsyncMongoClient:
        return self._client

    @property
    def codec_options(self) -> CodecOptions[Any]:
        return self._codec_options

    async def command(
        self,
        command: str | Mapping[str, Any],
        value: Any = 1,
        check: bool = True,
        allowable_errors: Sequence[str | int] | None = None,
        read_preference: Any = None,
        codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS,
        session: Any = None,
        comment: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Run a command and return its reply (PyMongo's ``Database.command``).

        ``command`` is a document, or a command name (``value`` is its value and
        ``kwargs`` become further fields, in order). A failed command raises
        :class:`~driver.errors.OperationFailure` (or a subclass keyed on the code),
        unless ``check`` is false or its ``errmsg`` or ``code`` is in
        ``allowable_errors``. The reply decodes with ``codec_options`` (PyMongo's
        default options, not the database's, as in PyMongo). ``read_preference``
        chooses the server (default: the primary, as in PyMongo).
        """
        extra = _session_args(self["$cmd"], session)
        if isinstance(command, str):
            document: dict[str, Any] = {command: value, **kwargs}
        else:
            document = {**command, **kwargs}
        if comment is not None:
            document["comment"] = comment
        reply = await self._client._run_command(
            self._name, document, codec_options, read_preference, extra
        )
        if check and not (
            allowable_errors
            and (reply.get("errmsg") in allowable_errors or reply.get("code") in allowable_errors)
        ):
            check_command_reply(reply)
        return reply

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AsyncDatabase):
            return self._client is other._client and self._name == other._name
        return NotImplemented

    def __hash__(self) -> int:
        return hash((id(self._client), self._name))

    def __repr__(self) -> str:
        return f"AsyncDatabase({self._client!r}, {self._name!r})"
