"""One connection to one server: open, handshake, authenticate, run commands, close.

The shell is thin: framing, the handshake document, the authentication conversation
and reply checking are pure code in :mod:`driver.protocol`; this module only moves
their bytes over a stream from :mod:`driver._backends`. Any network or protocol
failure closes the connection (a half-read reply leaves the stream unusable) and
raises an error naming the server.

Example (needs a server)::

    conn = await AsyncConnection.open(("127.0.0.1", 27017), ConnectionSettings())
    reply = await conn.command("admin", {"ping": 1})
    await conn.close()
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from driver import monitoring
from driver._backends.asyncio import Stream, monotonic, open_stream, open_unix_stream
from driver.bson import DEFAULT_CODEC_OPTIONS, CodecOptions
from driver.errors import AutoReconnect, ConnectionFailure, ProtocolError, PyMongoError
from driver.protocol import command_log, redaction
from driver.protocol.auth import (
    MongoCredential,
    ScramCache,
    first_command,
    hello_auth_fields,
    next_command,
)
from driver.protocol.commands import check_command_reply
from driver.protocol.compression import may_compress, negotiate_compressor
from driver.protocol.handshake import (
    HelloReply,
    check_wire_version,
    client_metadata,
    default_platform_facts,
    handshake_command,
)
from driver.protocol.wire import (
    EXHAUST_ALLOWED,
    HEADER_SIZE,
    MORE_TO_COME,
    compress_message,
    decode_command_reply,
    encode_op_msg,
    encode_op_query,
    parse_message,
    read_header,
)

__all__ = ["AsyncConnection", "ConnectionSettings"]

Address = tuple[str, int | None]

# Request ids only need to be unique per connection; one process-wide counter is
# simplest and never repeats within a connection's life.
_request_ids = itertools.count(1)


_DEFAULT: Any = object()  # "not given" for arguments whose None means "no limit"


def _next_request_id() -> int:
    return next(_request_ids) & 0x7FFFFFFF


def format_address(address: Address) -> str:
    """``host:port``, ``[v6]:port``, or a UNIX socket path."""
    host, port = address
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class ConnectionSettings:
    """What every connection of a client is opened with."""

    connect_timeout: float | None = 20.0
    socket_timeout: float | None = None
    ssl_context: Any = None
    check_hostname: bool = True
    compressors: tuple[str, ...] = ()
    zlib_compression_level: int = -1
    appname: str | None = None
    load_balanced: bool = False
    server_api: Mapping[str, Any] | None = None
    credential: MongoCredential | None = None
    scram_cache: ScramCache | None = field(default=None, compare=False)
    # The client's CommandListeners: user commands (not handshakes, auth or monitoring
    # checks) are reported to them.
    command_listeners: tuple[Any, ...] = field(default=(), compare=False)
    metadata: Mapping[str, Any] | None = None

    def client_metadata(self) -> dict[str, Any]:
        if self.metadata is not None:
            return dict(self.metadata)
        return client_metadata(default_platform_facts(), appname=self.appname)


class AsyncConnection:
    """A connection that has finished its handshake (and authentication)."""

    def __init__(
        self,
        stream: Stream,
        address: Address,
        settings: ConnectionSettings,
        *,
        connection_id: int = 0,
        generation: int = 0,
    ) -> None:
        self._stream = stream
        self.address = address
        self.settings = settings
        self.id = connection_id
        self.generation = generation
        self.hello: HelloReply | None = None
        self.compressor: str | None = None
        self.pid = os.getpid()  # a pool never hands a parent's socket to a forked child
        self.opened_at = monotonic()
        self.last_used = self.opened_at
        self._closed = False
        self._stream_request_id: int | None = None  # set while an exhaust stream is open
        self._stream_origin: int | None = None  # the request that opened it

    @classmethod
    async def open(
        cls,
        address: Address,
        settings: ConnectionSettings,
        *,
        connection_id: int = 0,
        generation: int = 0,
        on_created: Callable[[AsyncConnection], None] | None = None,
        check_wire_version: bool = True,
    ) -> AsyncConnection:
        """Connect, shake hands and authenticate; on any failure nothing stays open.

        ``on_created`` is told about the connection once its socket is open, before the
        handshake: a pool uses it to interrupt a handshake that is no longer wanted.
        ``check_wire_version=False`` accepts any wire version: a monitor reports an
        incompatible server rather than failing to reach it.
        """
        host, port = address
        server_hostname = host if settings.ssl_context is not None else None
        if port is None:
            stream = await open_unix_stream(
                host, timeout=settings.connect_timeout, ssl_context=settings.ssl_context
            )
        else:
            stream = await open_stream(
                host,
                port,
                timeout=settings.connect_timeout,
                ssl_context=settings.ssl_context,
                server_hostname=server_hostname,
            )
        conn = cls(stream, address, settings, connection_id=connection_id, generation=generation)
        try:
            if on_created is not None:
                on_created(conn)
            await conn._handshake(check_wire_version)
        except BaseException:
            await conn.close()
            raise
        return conn

    @property
    def closed(self) -> bool:
        return self._closed or self._stream.is_closed

    @property
    def max_wire_version(self) -> int:
        return self.hello.max_wire_version if self.hello is not None else 0

    async def _handshake(self, check_wire: bool = True) -> None:
        settings = self.settings
        auth = hello_auth_fields(settings.credential) if settings.credential else None
        legacy = not (settings.load_balanced or settings.server_api)
        command = handshake_command(
            settings.client_metadata(),
            legacy=legacy,
            compressors=settings.compressors,
            load_balanced=settings.load_balanced,
            server_api=settings.server_api,
            sasl_supported_mechs=(auth.fields.get("saslSupportedMechs") if auth else None),
            speculative_authenticate=(
                auth.fields.get("speculativeAuthenticate") if auth else None
            ),
        )
        timeout = settings.connect_timeout
        if legacy:
            request_id = _next_request_id()
            message = encode_op_query(
                request_id, "admin.$cmd", command, codec_options=DEFAULT_CODEC_OPTIONS
            )
            reply = await self._round_trip(message, request_id, DEFAULT_CODEC_OPTIONS, timeout)
        else:
            reply = await self._send_command("admin", command, DEFAULT_CODEC_OPTIONS, timeout)
        check_command_reply(reply)
        hello = HelloReply.from_document(reply)
        if check_wire:
            check_wire_version(hello, format_address(self.address))
        self.hello = hello
        self.compressor = negotiate_compressor(settings.compressors, hello.compression)
        if auth is not None:
            conversation = auth.conversation(reply, cache=settings.scram_cache)
            source = auth.credential.source
            step = first_command(conversation)
            while step is not None:
                answer = await self._send_command(source, step, DEFAULT_CODEC_OPTIONS, timeout)
                step = next_command(conversation, answer)

    async def command(
        self,
        dbname: str,
        command: Mapping[str, Any],
        *,
        codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS,
        check: bool = True,
        timeout: float | None = _DEFAULT,
        exhaust_allowed: bool = False,
        sequences: Mapping[str, Any] | None = None,
        unacknowledged: bool = False,
    ) -> Any:
        """Run ``command`` on ``dbname`` and return the decoded reply.

        ``check`` raises the typed error for an ``ok: 0`` reply (OperationFailure and
        its subclasses, keyed on the server's code). ``timeout`` overrides
        ``socketTimeoutMS`` for this exchange. With ``exhaust_allowed`` the server may
        answer with a stream of replies (``moreToCome``): read the next ones with
        :meth:`next_reply` while :attr:`more_to_come` is true. ``sequences`` are sent
        as OP_MSG document sequences (``{"documents": [...]}`` for an insert).
        ``unacknowledged`` sends with ``moreToCome`` (``w: 0``): no reply, None.
        """
        if timeout is _DEFAULT:
            timeout = self.settings.socket_timeout
        flags = EXHAUST_ALLOWED if exhaust_allowed else 0
        if unacknowledged:
            flags |= MORE_TO_COME
        listeners = self.settings.command_listeners
        if listeners or command_log.enabled():
            return await self._monitored(
                dbname, command, codec_options, timeout, flags, sequences, check, listeners
            )
        reply = await self._send_command(dbname, command, codec_options, timeout, flags, sequences)
        if unacknowledged:
            return None
        if check:
            check_command_reply(reply, self.max_wire_version)
        return reply

    async def _monitored(
        self,
        dbname: str,
        command: Mapping[str, Any],
        codec_options: CodecOptions[Any],
        timeout: float | None,
        flags: int,
        sequences: Mapping[str, Any] | None,
        check: bool,
        listeners: tuple[Any, ...],
    ) -> Any:
        """:meth:`command` with command monitoring events and DEBUG logging."""
        request_id = _next_request_id()
        shown = redaction.command_with_sequences({**command, "$db": dbname}, sequences)
        hello = self.hello
        context = redaction.command_context(
            shown,
            dbname,
            request_id,
            self.address,
            driver_connection_id=self.id,
            server_connection_id=hello.connection_id if hello is not None else None,
            service_id=hello.service_id if hello is not None else None,
        )
        if listeners:
            monitoring.publish(listeners, redaction.started_event(context, shown))
        command_log.log_command_started(context, shown)
        started = monotonic()
        reply = None
        try:
            reply = await self._send_command(
                dbname, command, codec_options, timeout, flags, sequences, request_id
            )
            if reply is not None and not reply.get("ok"):
                check_command_reply(reply, self.max_wire_version)  # an ok: 0 reply fails
        except BaseException as exc:
            elapsed = monotonic() - started
            if listeners:
                monitoring.publish(listeners, redaction.failed_event(context, exc, elapsed))
            command_log.log_command_failed(context, exc, elapsed)
            if reply is not None and not check and isinstance(exc, PyMongoError):
                return reply  # the caller reads ``ok`` itself
            raise
        elapsed = monotonic() - started
        shown_reply = {"ok": 1} if reply is None else reply
        if listeners:
            monitoring.publish(listeners, redaction.succeeded_event(context, shown_reply, elapsed))
        command_log.log_command_succeeded(context, shown_reply, elapsed)
        return reply

    @property
    def more_to_come(self) -> bool:
        """Whether the server will send another reply without being asked (exhaust)."""
        return self._stream_request_id is not None

    async def next_reply(
        self, *, codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS, timeout: float | None
    ) -> Any:
        """The next reply of an exhaust stream (see :meth:`command`), unchecked."""
        if self._stream_request_id is None:
            raise ProtocolError("no exhaust stream is open on this connection")
        return await self._exchange(
            None, self._stream_request_id, codec_options, timeout, self._stream_origin
        )

    async def _send_command(
        self,
        dbname: str,
        command: Mapping[str, Any],
        codec_options: CodecOptions[Any],
        timeout: float | None,
        flags: int = 0,
        sequences: Mapping[str, Any] | None = None,
        request_id: int | None = None,
    ) -> Any:
        body = dict(command)
        body["$db"] = dbname
        hello = self.hello
        if request_id is None:
            request_id = _next_request_id()
        message = encode_op_msg(
            request_id,
            body,
            sequences=sequences,
            flags=flags,
            codec_options=codec_options,
            max_bson_size=hello.max_bson_object_size if hello else None,
            max_message_size=hello.max_message_size_bytes if hello else None,
        )
        if self.compressor is not None and may_compress(next(iter(command), "")):
            message = compress_message(
                message, self.compressor, self.settings.zlib_compression_level
            )
        if flags & MORE_TO_COME:
            await self._send_only(message, timeout)
            return None
        return await self._round_trip(message, request_id, codec_options, timeout)

    async def _send_only(self, message: bytes, timeout: float | None) -> None:
        # moreToCome: the server sends nothing back; a failure still closes the socket.
        if self.closed:
            raise AutoReconnect(f"connection to {format_address(self.address)} is closed")
        try:
            await self._stream.send_all(message, timeout)
        except ConnectionFailure:
            await self.close()
            raise
        except BaseException:
            self._closed = True
            await self._stream.close()
            raise

    async def _round_trip(
        self,
        message: bytes,
        request_id: int,
        codec_options: CodecOptions[Any],
        timeout: float | None,
    ) -> Any:
        if self._stream_request_id is not None:
            raise ProtocolError("an exhaust stream is still open on this connection")
        return await self._exchange(message, request_id, codec_options, timeout)

    async def _exchange(
        self,
        message: bytes | None,
        request_id: int,
        codec_options: CodecOptions[Any],
        timeout: float | None,
        origin: int | None = None,
    ) -> Any:
        """Send ``message`` (None: nothing, in an exhaust stream) and read the reply to
        ``request_id``; any failure closes the connection.

        In an exhaust stream each reply answers the previous reply (the spec), or, as
        some servers do, the request that opened the stream (``origin``): both are taken.
        """
        if self.closed:
            raise AutoReconnect(f"connection to {format_address(self.address)} is closed")
        max_size = self.hello.max_message_size_bytes if self.hello else 48_000_000
        try:
            if message is not None:
                await self._stream.send_all(message, timeout)
            header = await self._stream.receive_exactly(HEADER_SIZE, timeout)
            length = read_header(header, max_message_size=max_size)[0]
            payload = await self._stream.receive_exactly(length - HEADER_SIZE, timeout)
            reply = parse_message(header, payload, max_message_size=max_size)
            if reply.response_to != request_id and reply.response_to != origin:
                raise ProtocolError(
                    f"{format_address(self.address)} answered request {reply.response_to}, "
                    f"expected {request_id}"
                )
            if reply.more_to_come:
                self._stream_request_id = reply.request_id
                if message is not None:
                    self._stream_origin = request_id
            else:
                self._stream_request_id = self._stream_origin = None
            self.last_used = monotonic()
            return decode_command_reply(reply, codec_options)
        except ProtocolError as exc:
            await self.close()
            raise ProtocolError(f"{format_address(self.address)}: {exc}") from exc
        except ConnectionFailure:
            # The stream said what failed and where; a half-read reply makes the
            # connection unusable either way.
            await self.close()
            raise
        except PyMongoError:
            raise
        except OSError as exc:
            await self.close()
            raise AutoReconnect(f"{format_address(self.address)}: {exc}") from exc
        except BaseException:
            # Cancelled (or interrupted) mid-exchange: the reply may be half read, so the
            # connection must never be reused. Mark it first: closing can be cut short too.
            self._closed = True
            await self._stream.close()
            raise

    def interrupt(self) -> None:
        """Break the connection now, even while another task is using it.

        Its pending operation fails with a network error; the pool frees the connection
        when it is checked in. Used when a pool is cleared with
        ``interrupt_in_use_connections=True``.
        """
        self._closed = True
        self._stream.abort()

    async def close(self) -> None:
        """Close the socket (idempotent)."""
        self._closed = True
        await self._stream.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<AsyncConnection {self.id} to {format_address(self.address)} ({state})>"
