"""Running one command for an operation: the single path every operation takes.

Select a server (by read preference, or the one a cursor lives on), check out a
connection, attach the implicit session (``lsid``), ``$clusterTime``,
``$readPreference`` and, for a retryable write, ``txnNumber``; run; check in. Errors
that say something about the server update the topology; a retryable write or read
is retried once on a new selection, as the retryable writes/reads specs say.

Example (needs a server)::

    executor = AsyncExecutor(topology, retry_writes=True, retry_reads=True)
    reply, address = await executor.run(Command("test", {"insert": "c"},
        sequences={"documents": [{"x": 1}]}, write=True, retryable=True))
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from driver._async.connection import Address, AsyncConnection
from driver._async.topology import AsyncServer, AsyncTopology
from driver.bson import DEFAULT_CODEC_OPTIONS, CodecOptions
from driver.errors import (
    ConnectionFailure,
    OperationFailure,
    PoolClearedError,
    PyMongoError,
    WaitQueueTimeoutError,
)
from driver.protocol.commands import check_command_reply
from driver.protocol.retry import (
    NO_WRITES_PERFORMED,
    RETRYABLE_WRITE_LABEL,
    is_retryable_read_error,
    is_retryable_write_error,
    supports_retryable_writes,
)
from driver.protocol.sessions import ServerSession, ServerSessionPool, greater_cluster_time
from driver.read_preferences import PrimaryPreferred

__all__ = ["AsyncExecutor", "Command"]

_WIRE_VERSION_50 = 13


@dataclass
class Command:
    """One command an operation asks to run (the executor adds the rest).

    ``read_preference`` None means the primary (writes, and ``Database.command``'s
    default). ``retryable`` marks a retryable write (with ``write``) or read.
    ``address`` pins the server (a cursor's ``getMore``/``killCursors``). ``session``
    is a session the caller owns (a cursor keeps one from first batch to last);
    otherwise an implicit one is taken and given back. ``unacknowledged`` (``w: 0``)
    sends with moreToCome and gets no reply.
    """

    dbname: str
    body: Mapping[str, Any]
    sequences: Mapping[str, Any] | None = None
    read_preference: Any = None
    write: bool = False
    retryable: bool = False
    codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS
    check: bool = True
    address: Address | None = None
    session: ServerSession | None = None
    unacknowledged: bool = False
    keep_session: bool = False
    deprioritized: list[Address] = field(default_factory=list)
    selection_timeout: float | None = None  # default: serverSelectionTimeoutMS
    client_session: Any = None  # an explicit ClientSession: its times advance
    # An aggregate with $out/$merge: it follows the read preference on servers from
    # MongoDB 5.0 (wire 13), and goes to the primary on older ones.
    write_stage: bool = False
    implicit_session: bool = True  # False: no lsid (an unacknowledged write awaited)


class AsyncExecutor:
    """Runs commands for a client: sessions, cluster time, retries, topology updates."""

    def __init__(
        self, topology: AsyncTopology, *, retry_writes: bool = True, retry_reads: bool = True
    ) -> None:
        self.topology = topology
        self.retry_writes = retry_writes
        self.retry_reads = retry_reads
        self.sessions = ServerSessionPool()
        self.cluster_time: Mapping[str, Any] | None = None

    # -- sessions

    def session_timeout(self) -> int | None:
        """``logicalSessionTimeoutMinutes`` of the deployment (None: no sessions)."""
        return self.topology.description.logical_session_timeout_minutes

    def release_session(self, session: ServerSession | None) -> None:
        """Give back a session an operation kept (a cursor that is done)."""
        if session is not None:
            self.sessions.release(session, self.session_timeout())

    async def end_sessions(self) -> None:
        """Tell the server the pooled sessions are over (at close; best effort, quick)."""
        lsids = self.sessions.drain()
        if not lsids or self.topology.description.logical_session_timeout_minutes is None:
            return
        command = Command(
            "admin",
            {"endSessions": lsids},
            read_preference=PrimaryPreferred(),
            check=False,
            session=None,
            unacknowledged=False,
            selection_timeout=1.0,
        )
        # Best effort: the server forgets them after logicalSessionTimeoutMinutes anyway.
        with contextlib.suppress(PyMongoError):
            await self.run(command)

    # -- running

    async def run(self, command: Command) -> tuple[Any, Address, ServerSession | None]:
        """Run ``command``; its reply (checked unless ``check=False``), the server's
        address, and the session used if ``keep_session`` (the caller releases it)."""
        session = command.session
        owns_session = session is None
        txn_number: int | None = None
        first_error: PyMongoError | None = None
        try:
            while True:
                server: AsyncServer | None = None
                conn: AsyncConnection | None = None
                retry_write = command.write and command.retryable and self.retry_writes
                try:
                    server, conn = await self._checkout(command)
                    if session is None and not command.unacknowledged and (
                        command.implicit_session
                    ):
                        timeout = self.session_timeout()
                        if timeout is not None:
                            session = self.sessions.acquire(timeout)
                    retry_write = self._may_retry_write(command, server, session)
                    if retry_write and txn_number is None and session is not None:
                        txn_number = session.next_txn_number()
                    reply = await self._send(
                        command, server, conn, session, txn_number if retry_write else None
                    )
                    return reply, server.address, session if command.keep_session else None
                except PyMongoError as exc:
                    wire = conn.max_wire_version if conn is not None else None
                    retryable = self._retryable(command, exc, wire, retry_write)
                    if retryable and command.write:
                        exc._add_error_label(RETRYABLE_WRITE_LABEL)  # every attempt's error
                    if first_error is None and retryable:
                        first_error = exc
                        if server is not None:
                            command.deprioritized.append(server.address)
                        continue
                    if first_error is not None and exc.has_error_label(NO_WRITES_PERFORMED):
                        raise first_error from exc
                    raise
                finally:
                    if server is not None and conn is not None:
                        await server.pool.checkin(conn)
                        await self.topology.done(server)
        finally:
            if owns_session and session is not None and not command.keep_session:
                self.release_session(session)

    async def _send(
        self,
        command: Command,
        server: AsyncServer,
        conn: AsyncConnection,
        session: ServerSession | None,
        txn_number: int | None,
    ) -> Any:
        body = self._prepare(command, server, session, txn_number)
        try:
            reply = await conn.command(
                command.dbname,
                body,
                codec_options=command.codec_options,
                check=False,
                sequences=command.sequences,
                unacknowledged=command.unacknowledged,
            )
        except ConnectionFailure as exc:
            if session is not None:
                session.dirty = True  # the server may still hold it
            await self._server_error(server, conn, exc)
            raise
        if reply is not None:
            self._gossip(reply)
            if command.client_session is not None:
                command.client_session._advance(reply)
            if command.check or not reply.get("ok"):
                try:
                    check_command_reply(reply, conn.max_wire_version)
                except PyMongoError as exc:  # OperationFailure, or NotPrimaryError
                    await self._server_error(server, conn, exc)
                    if command.check:
                        raise
        return reply

    async def _checkout(self, command: Command) -> tuple[AsyncServer, AsyncConnection]:
        topology = self.topology
        server = await topology.select_server(
            None if command.write else command.read_preference,
            deprioritized=command.deprioritized,
            address=command.address,
            timeout=command.selection_timeout,
        )
        if command.write_stage and command.read_preference is not None:
            chosen = topology.description.servers.get(server.address)
            if chosen is None or (chosen.max_wire_version or 0) < _WIRE_VERSION_50:
                await topology.done(server)
                command.read_preference = None  # this attempt, and a retry: the primary
                server = await topology.select_server(
                    None, deprioritized=command.deprioritized, timeout=command.selection_timeout
                )
        pool = server.pool
        generation = pool.generation
        try:
            conn = await pool.checkout()
        except BaseException as exc:
            await topology.done(server)
            if isinstance(exc, (ConnectionFailure, OperationFailure)) and not isinstance(
                exc, (WaitQueueTimeoutError, PoolClearedError)
            ):
                # Opening the connection failed (network, TLS or authentication). A
                # full pool (waitQueueTimeoutMS) or one cleared meanwhile says nothing
                # new of the server.
                await topology.handle_error(
                    server.address,
                    exc,
                    generation=generation,
                    completed_handshake=False,
                    max_wire_version=None,
                )
            raise
        return server, conn

    def _may_retry_write(
        self, command: Command, server: AsyncServer, session: ServerSession | None
    ) -> bool:
        if not (command.write and command.retryable and self.retry_writes):
            return False
        if session is None or command.unacknowledged:
            return False
        description = self.topology.description.servers.get(server.address)
        return description is not None and supports_retryable_writes(
            description, self.session_timeout()
        )

    def _prepare(
        self,
        command: Command,
        server: AsyncServer,
        session: ServerSession | None,
        txn_number: int | None,
    ) -> dict[str, Any]:
        body = dict(command.body)
        if session is not None:
            body["lsid"] = session.lsid
            session.touch()
        if txn_number is not None:
            body["txnNumber"] = txn_number
        cluster_time = self.cluster_time
        if command.client_session is not None:
            cluster_time = greater_cluster_time(cluster_time, command.client_session.cluster_time)
        if cluster_time is not None:
            body["$clusterTime"] = cluster_time
        if not command.write:
            field = self.topology.read_preference_field(server, command.read_preference)
            if field is not None:
                body["$readPreference"] = field
        return body

    def _gossip(self, reply: Mapping[str, Any]) -> None:
        seen = reply.get("$clusterTime")
        if isinstance(seen, Mapping):
            self.cluster_time = greater_cluster_time(self.cluster_time, seen)

    def _retryable(
        self, command: Command, error: PyMongoError, max_wire_version: int | None, retry_write: bool
    ) -> bool:
        if command.address is not None:
            return False  # a cursor's server: nowhere else to go
        if command.write:
            return retry_write and is_retryable_write_error(
                error, max_wire_version=max_wire_version
            )
        return command.retryable and self.retry_reads and is_retryable_read_error(error)

    async def _server_error(
        self, server: AsyncServer, conn: AsyncConnection, error: BaseException
    ) -> None:
        await self.topology.handle_error(
            server.address,
            error,
            generation=conn.generation,
            completed_handshake=True,
            max_wire_version=conn.max_wire_version,
            service_id=conn.hello.service_id if conn.hello is not None else None,
        )
