"""Explicit client sessions: ``client.start_session()`` (PyMongo's ClientSession).

A session groups operations under one ``lsid``: pass ``session=`` to any operation.
Cursors started in it keep using it. Transactions are not built yet (a later release):
their methods raise InvalidOperation; ``in_transaction`` is always False.

Example (needs a server)::

    async with client.start_session() as session:
        await client.db.c.insert_one({"x": 1}, session=session)
        print(session.session_id, session.operation_time)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from driver.errors import InvalidOperation
from driver.protocol.sessions import ServerSession, greater_cluster_time

if TYPE_CHECKING:
    from driver._async.client import AsyncMongoClient

__all__ = ["AsyncClientSession", "SessionOptions"]


class SessionOptions:
    """Options of a session (PyMongo's names); only ``causal_consistency`` is kept."""

    def __init__(
        self,
        causal_consistency: bool | None = None,
        default_transaction_options: Any = None,
        snapshot: bool | None = False,
    ) -> None:
        if snapshot:
            raise InvalidOperation("snapshot sessions are not supported yet")
        self._causal_consistency = True if causal_consistency is None else causal_consistency
        self._default_transaction_options = default_transaction_options

    @property
    def causal_consistency(self) -> bool:
        return self._causal_consistency

    @property
    def default_transaction_options(self) -> Any:
        return self._default_transaction_options

    @property
    def snapshot(self) -> bool:
        return False


class AsyncClientSession:
    """A session started with ``client.start_session()``; end it (or use ``with``)."""

    def __init__(self, client: AsyncMongoClient, options: SessionOptions) -> None:
        self._client = client
        self._options = options
        self._server_session: ServerSession | None = None
        self._ended = False
        self._cluster_time: Mapping[str, Any] | None = None
        self._operation_time: Any = None

    @property
    def client(self) -> AsyncMongoClient:
        return self._client

    @property
    def options(self) -> SessionOptions:
        return self._options

    @property
    def has_ended(self) -> bool:
        return self._ended

    @property
    def session_id(self) -> Mapping[str, Any]:
        """The ``lsid`` document the server knows this session by."""
        return self._server().lsid

    @property
    def cluster_time(self) -> Mapping[str, Any] | None:
        return self._cluster_time

    @property
    def operation_time(self) -> Any:
        return self._operation_time

    @property
    def in_transaction(self) -> bool:
        return False

    def advance_cluster_time(self, cluster_time: Mapping[str, Any]) -> None:
        """Move the session's cluster time forward (never back)."""
        if not isinstance(cluster_time, Mapping):
            raise TypeError("cluster_time must be a mapping")
        self._cluster_time = greater_cluster_time(self._cluster_time, cluster_time)

    def advance_operation_time(self, operation_time: Any) -> None:
        """Move the session's operation time forward (never back)."""
        if self._operation_time is None or operation_time > self._operation_time:
            self._operation_time = operation_time

    def _server(self) -> ServerSession:
        if self._ended:
            raise InvalidOperation("Cannot use ended session")
        if self._server_session is None:
            executor = self._client._executor
            self._server_session = executor.sessions.acquire(executor.session_timeout())
        return self._server_session

    def _use(self, client: Any) -> ServerSession:
        """The server session for an operation of ``client`` (checks ownership)."""
        if client is not self._client:
            raise InvalidOperation("Can only use session with the MongoClient that started it")
        return self._server()

    def _advance(self, reply: Mapping[str, Any]) -> None:
        seen = reply.get("$clusterTime")
        if isinstance(seen, Mapping):
            self.advance_cluster_time(seen)
        if reply.get("operationTime") is not None:
            self.advance_operation_time(reply["operationTime"])

    async def end_session(self) -> None:
        """End the session: its server session goes back to the pool (idempotent)."""
        if self._ended:
            return
        self._ended = True
        session, self._server_session = self._server_session, None
        self._client._executor.release_session(session)

    # -- transactions: a later release

    def start_transaction(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidOperation("transactions are not supported yet")

    async def commit_transaction(self) -> None:
        raise InvalidOperation("transactions are not supported yet")

    async def abort_transaction(self) -> None:
        raise InvalidOperation("transactions are not supported yet")

    async def with_transaction(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidOperation("transactions are not supported yet")

    async def __aenter__(self) -> AsyncClientSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.end_session()
