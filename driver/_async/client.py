"""AsyncMongoClient: the entry point, with PyMongo's constructor and names.

This release talks to one server: a single seed, or ``directConnection=true``.
Discovering replica sets and sharded clusters (several seeds) is the next step; such a
URI is refused with a clear error rather than half-supported.

Example (needs a server)::

    async with AsyncMongoClient("mongodb://127.0.0.1:27017/?directConnection=true") as client:
        print(await client.admin.command("ping"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from driver._async.connection import Address, ConnectionSettings, format_address
from driver._async.database import AsyncDatabase
from driver._async.pool import AsyncPool, PoolOptions
from driver._backends.asyncio import monotonic, sleep
from driver.bson.codec_options import CodecOptions
from driver.client_options import ClientOptions
from driver.errors import (
    ConfigurationError,
    ConnectionFailure,
    InvalidOperation,
    NetworkTimeout,
    PoolClearedError,
    ServerSelectionTimeoutError,
    WaitQueueTimeoutError,
)
from driver.monitoring import ConnectionPoolListener, listeners_of
from driver.protocol.auth import ScramCache
from driver.tls import build_ssl_context

__all__ = ["AsyncMongoClient"]

# Between two failed attempts to reach the server while selecting it.
_RETRY_INTERVAL = 0.5


class AsyncMongoClient:
    """A client for one MongoDB deployment (PyMongo's ``AsyncMongoClient`` API).

    ``host`` is a connection string, a host name (``port`` beside it) or a list of
    either; keyword arguments are PyMongo's options (``maxPoolSize=10``,
    ``tz_aware=True``, ``tlsCAFile=...``). A keyword that contradicts the connection
    string raises ConfigurationError. Nothing connects until the first operation.
    """

    HOST = "localhost"
    PORT = 27017

    def __init__(
        self,
        host: str | Sequence[str] | None = None,
        port: int | None = None,
        document_class: type[Mapping[str, Any]] | None = None,
        tz_aware: bool | None = None,
        connect: bool | None = None,
        **kwargs: Any,
    ) -> None:
        extra = dict(kwargs)
        if document_class is not None:
            extra["document_class"] = document_class
        if tz_aware is not None:
            extra["tz_aware"] = tz_aware
        if connect is not None:
            extra["connect"] = connect
        self._options = ClientOptions.from_args(host, port, extra)
        opts = self._options
        if len(opts.seeds) != 1:
            raise ConfigurationError(
                f"this release connects to one server, but {len(opts.seeds)} hosts were "
                "given; discovering replica sets and sharded clusters is not built yet"
            )
        options = opts.options
        settings = ConnectionSettings(
            connect_timeout=opts.connect_timeout,
            socket_timeout=opts.socket_timeout,
            ssl_context=build_ssl_context(options),
            compressors=tuple(options.get("compressors") or ()),
            zlib_compression_level=int(options.get("zlibCompressionLevel", -1)),
            appname=opts.appname,
            load_balanced=bool(options.get("loadBalanced", False)),
            credential=opts.credential,
            scram_cache=ScramCache(),
        )
        max_idle = options.get("maxIdleTimeMS")
        wait_queue = options.get("waitQueueTimeoutMS")
        pool_options = PoolOptions(
            max_pool_size=int(options.get("maxPoolSize", 100)) or 2**31 - 1,
            min_pool_size=int(options.get("minPoolSize", 0)),
            max_connecting=int(options.get("maxConnecting", 2)),
            max_idle_time=None if not max_idle else max_idle / 1000.0,
            wait_queue_timeout=None if not wait_queue else wait_queue / 1000.0,
        )
        self._address: Address = opts.seeds[0]
        listeners = options.get("event_listeners") or ()
        self._pool = AsyncPool(
            self._address, settings, pool_options, listeners=listeners_of(ConnectionPoolListener, listeners)
        )
        self._closed = False

    # -- PyMongo's accessors

    @property
    def options(self) -> ClientOptions:
        """The settled options of this client."""
        return self._options

    @property
    def codec_options(self) -> CodecOptions[Any]:
        return self._options.codec_options

    @property
    def address(self) -> tuple[str, int | None]:
        """The (host, port) of the server this client talks to."""
        return self._address

    @property
    def admin(self) -> AsyncDatabase:
        return AsyncDatabase(self, "admin")

    def get_database(
        self, name: str | None = None, codec_options: CodecOptions[Any] | None = None
    ) -> AsyncDatabase:
        """A database; without ``name``, the one in the connection string."""
        if name is None:
            name = self._options.database
            if name is None:
                raise ConfigurationError("no database name was given or set in the URI")
        return AsyncDatabase(self, name, codec_options)

    get_default_database = get_database

    def __getitem__(self, name: str) -> AsyncDatabase:
        return AsyncDatabase(self, name)

    def __getattr__(self, name: str) -> AsyncDatabase:
        if name.startswith("_"):
            raise AttributeError(
                f"AsyncMongoClient has no attribute {name!r}; to reach a database with "
                f"that name use client[{name!r}]"
            )
        return AsyncDatabase(self, name)

    # -- running commands

    async def _run_command(
        self,
        dbname: str,
        command: Mapping[str, Any],
        codec_options: CodecOptions[Any],
    ) -> Any:
        """Run one command and return its reply unchecked (the caller reads ``ok``)."""
        if self._closed:
            raise InvalidOperation("cannot run a command on a closed client")
        conn = await self._select()
        try:
            reply = await conn.command(dbname, command, codec_options=codec_options, check=False)
        except ConnectionFailure as exc:
            if not isinstance(exc, NetworkTimeout):
                # The server went away: its other connections are suspect too. Until
                # server monitoring arrives, the next selection readies the pool again.
                await self._pool.clear()
            raise
        finally:
            # A connection that failed mid-exchange has closed itself and is discarded;
            # one that failed before sending (e.g. an unencodable document) is reused.
            await self._pool.checkin(conn)
        return reply

    async def _select(self) -> Any:
        """A connection to the server, retrying until serverSelectionTimeoutMS."""
        timeout = self._options.server_selection_timeout
        deadline = monotonic() + timeout
        wait_queue = self._pool.options.wait_queue_timeout
        while True:
            remaining = max(deadline - monotonic(), 0.001)
            if self._pool.paused:
                # Without a monitor (one server, this release), trying a connection is
                # the health check: the pool opens for it and is cleared again if it fails.
                await self._pool.ready()
            try:
                return await self._pool.checkout(
                    remaining if wait_queue is None else min(remaining, wait_queue)
                )
            except WaitQueueTimeoutError:
                raise  # the server answers; the pool is full (waitQueueTimeoutMS)
            except PoolClearedError:
                continue  # cleared while this waited: ready it again and retry at once
            except ConnectionFailure as exc:
                await self._pool.clear()
                if monotonic() + _RETRY_INTERVAL >= deadline:
                    raise ServerSelectionTimeoutError(
                        f"{format_address(self._address)}: {exc}, "
                        f"Timeout: {timeout}s, Topology: Single server "
                        f"{format_address(self._address)} (unreachable)"
                    ) from exc
                # Not a busy loop: one new attempt per interval, as a monitor would.
                await sleep(_RETRY_INTERVAL)

    # -- life cycle

    async def close(self) -> None:
        """Close every pooled connection; the client cannot be used afterwards."""
        self._closed = True
        await self._pool.close()

    async def __aenter__(self) -> AsyncMongoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncMongoClient(host={format_address(self._address)!r})"
