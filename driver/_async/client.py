"""AsyncMongoClient: the entry point, with PyMongo's constructor and names.

One client follows a whole deployment: a standalone server, a replica set (through
elections, step-downs, members leaving and coming back), a set of mongos routers, or a
load balancer. A monitor per server keeps the client's view current
(:mod:`driver._async.topology`); each operation selects a server by its read
preference and runs on a pooled connection.

Example (needs a server)::

    async with AsyncMongoClient("mongodb://127.0.0.1:27017/?directConnection=true") as client:
        print(await client.admin.command("ping"))
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from driver._async.collection import _session_args
from driver._async.connection import Address, ConnectionSettings, format_address
from driver._async.cursor import AsyncCommandCursor
from driver._async.database import AsyncDatabase
from driver._async.executor import AsyncExecutor, Command
from driver._async.pool import PoolOptions
from driver._async.session import AsyncClientSession, SessionOptions
from driver._async.topology import AsyncTopology, SrvPolling
from driver._backends.asyncio import spawn
from driver.bson import Int64
from driver.bson.codec_options import CodecOptions
from driver.client_options import ClientOptions
from driver.errors import (
    ConfigurationError,
    InvalidOperation,
)
from driver.monitoring import CommandListener, listeners_of
from driver.protocol.auth import ScramCache
from driver.protocol.descriptions import (
    ServerType,
    TopologyDescription,
    TopologySettings,
    TopologyType,
)
from driver.read_concern import ReadConcern, read_concern_from_options
from driver.read_preferences import read_preference_from_options
from driver.tls import build_ssl_context
from driver.write_concern import WriteConcern, write_concern_from_options

__all__ = ["AsyncMongoClient"]

# PyMongo's default for ``connect``: the sync client starts discovering the deployment
# when it is made; the async one at its first operation (it may be made outside a loop).
_CONNECT_BY_DEFAULT = False  # unasync: sync=_CONNECT_BY_DEFAULT = True

# Options PyMongo has that this client parses but does not apply yet.
_NOT_BUILT = ("timeoutMS", "server_api", "driver")


def _srv_polling(opts: ClientOptions) -> SrvPolling | None:
    """SRV polling for a mongodb+srv:// URI that may name mongos (not a replica set,
    not a load balancer), as the polling spec says."""
    options = opts.options
    if opts.srv_host is None or options.get("replicaSet") or options.get("loadBalanced"):
        return None
    return SrvPolling(
        opts.srv_host,
        service_name=str(options.get("srvServiceName", "mongodb")),
        max_hosts=int(options.get("srvMaxHosts", 0)),
        timeout=opts.connect_timeout,
    )


class AsyncMongoClient:
    """A client for one MongoDB deployment (PyMongo's ``AsyncMongoClient`` API).

    ``host`` is a connection string, a host name (``port`` beside it) or a list of
    either; keyword arguments are PyMongo's options (``maxPoolSize=10``,
    ``tz_aware=True``, ``tlsCAFile=...``, ``event_listeners=[...]``). A keyword that
    contradicts the connection string raises ConfigurationError. With ``connect=True``
    (the default of PyMongo's sync ``MongoClient``, not of its async one) the client
    starts discovering the deployment in the background at once; otherwise at the first
    operation. Either way the constructor never waits for the network.
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
        options = opts.options
        ignored = [name for name in _NOT_BUILT if options.get(name) is not None]
        if ignored:
            # Accepted so PyMongo code runs, but said out loud: nothing applies them yet.
            warnings.warn(
                f"{', '.join(ignored)} not supported yet: ignored by this client",
                UserWarning,
                stacklevel=2,
            )
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
            command_listeners=listeners_of(
                CommandListener, options.get("event_listeners") or ()
            ),
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
        topology_settings = TopologySettings(
            seeds=tuple(opts.seeds),
            replica_set_name=options.get("replicaSet"),
            direct_connection=opts.direct_connection,
            load_balanced=bool(options.get("loadBalanced", False)),
            heartbeat_frequency=int(options.get("heartbeatFrequencyMS", 10_000)) / 1000.0,
            local_threshold=int(options.get("localThresholdMS", 15)) / 1000.0,
        )
        self._read_preference = read_preference_from_options(options)
        self._write_concern = write_concern_from_options(options)
        self._read_concern = read_concern_from_options(options)
        self._cursors_to_kill: list[Any] = []  # dropped unfinished: killed later
        self._topology = AsyncTopology(
            topology_settings,
            settings,
            pool_options,
            server_selection_timeout=opts.server_selection_timeout,
            listeners=options.get("event_listeners") or (),
            monitoring_mode=str(options.get("serverMonitoringMode", "auto")),
            srv_polling=_srv_polling(opts),
        )
        self._executor = AsyncExecutor(
            self._topology, retry_writes=opts.retry_writes, retry_reads=opts.retry_reads
        )
        self._closed = False
        if options.get("connect", _CONNECT_BY_DEFAULT):
            try:
                spawn(self._topology.open, name="connect")
            except RuntimeError as exc:  # asyncio: there is no running event loop
                raise ConfigurationError(
                    "connect=True starts monitoring at once, which needs a running event "
                    "loop: make the client inside one, or leave connect unset"
                ) from exc

    # -- PyMongo's accessors

    @property
    def options(self) -> ClientOptions:
        """The settled options of this client."""
        return self._options

    @property
    def codec_options(self) -> CodecOptions[Any]:
        return self._options.codec_options

    @property
    def read_preference(self) -> Any:
        """The read preference from the connection string or keywords (primary by default)."""
        return self._read_preference

    @property
    def write_concern(self) -> WriteConcern:
        """The write concern from the connection string or keywords."""
        return self._write_concern

    @property
    def read_concern(self) -> ReadConcern:
        """The read concern from the connection string or keywords."""
        return self._read_concern

    @property
    def topology_description(self) -> TopologyDescription:
        """The deployment as the client last saw it (servers, types, errors)."""
        return self._topology.description

    @property
    def address(self) -> Address | None:
        """The (host, port) writes go to: the server of a direct connection, the load
        balancer, or the primary or the one mongos known; None until one is known.

        Unlike PyMongo this never blocks to find one (see :attr:`topology_description`).
        """
        description = self._topology.description
        if description.topology_type in (TopologyType.Single, TopologyType.LoadBalanced):
            return next(iter(description.servers), None)
        writable = [sd.address for sd in description.servers.values() if sd.is_writable]
        if description.topology_type is TopologyType.Sharded and len(writable) > 1:
            raise InvalidOperation(
                "the client is connected to several mongos routers: there is no single address"
            )
        return writable[0] if writable else None

    @property
    def primary(self) -> Address | None:
        """The replica set's primary, if one is known."""
        return self._members_of(ServerType.RSPrimary, None)

    @property
    def secondaries(self) -> set[Address]:
        """The replica set's secondaries as last seen."""
        return self._members(ServerType.RSSecondary)

    @property
    def arbiters(self) -> set[Address]:
        """The replica set's arbiters as last seen."""
        return self._members(ServerType.RSArbiter)

    @property
    def nodes(self) -> frozenset[Address]:
        """Every server the client knows to be reachable."""
        return frozenset(
            sd.address
            for sd in self._topology.description.servers.values()
            if sd.server_type is not ServerType.Unknown
        )

    @property
    def is_primary(self) -> bool:
        """Whether writes have a server to go to (a primary, standalone or mongos)."""
        return any(sd.is_writable for sd in self._topology.description.servers.values())

    @property
    def is_mongos(self) -> bool:
        """Whether the client talks to mongos routers (a sharded cluster)."""
        return self._topology.description.topology_type is TopologyType.Sharded

    def _members(self, server_type: ServerType) -> set[Address]:
        return {
            sd.address
            for sd in self._topology.description.servers.values()
            if sd.server_type is server_type
        }

    def _members_of(self, server_type: ServerType, default: Address | None) -> Address | None:
        found = self._members(server_type)
        return next(iter(found)) if found else default

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
        read_preference: Any = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run one command and return its reply unchecked (the caller reads ``ok``).

        ``read_preference=None`` sends it to the primary (PyMongo's default for
        ``Database.command``); never retried, as in PyMongo.
        """
        if self._closed:
            raise InvalidOperation("cannot run a command on a closed client")
        reply, _, _ = await self._executor.run(
            Command(
                dbname,
                command,
                read_preference=read_preference,
                codec_options=codec_options,
                check=False,
                **(extra or {}),
            )
        )
        return reply

    # -- sessions

    def start_session(
        self,
        causal_consistency: bool | None = None,
        default_transaction_options: Any = None,
        snapshot: bool | None = False,
    ) -> AsyncClientSession:
        """A session to pass as ``session=`` to operations (end it, or use ``with``).

        Transactions are not supported yet.
        """
        if self._closed:
            raise InvalidOperation("cannot start a session on a closed client")
        options = SessionOptions(causal_consistency, default_transaction_options, snapshot)
        return AsyncClientSession(self, options)

    # -- databases

    async def list_databases(
        self, session: Any = None, comment: Any = None, **kwargs: Any
    ) -> AsyncCommandCursor:
        """A cursor over the databases' information documents."""
        command: dict[str, Any] = {"listDatabases": 1, **kwargs}
        if comment is not None:
            command["comment"] = comment
        extra = _session_args(self.admin["$cmd"], session)
        reply, _, _ = await self._executor.run(
            Command("admin", command, retryable=True, codec_options=self.codec_options, **extra)
        )
        cursor = {"id": 0, "firstBatch": reply["databases"], "ns": "admin.$cmd"}
        admin = self.admin["$cmd"]
        return AsyncCommandCursor(admin, {"cursor": cursor}, None, None)

    async def list_database_names(self, session: Any = None, comment: Any = None) -> list[str]:
        """The names of the databases."""
        cursor = await self.list_databases(session=session, comment=comment, nameOnly=True)
        return [info["name"] async for info in cursor]

    async def drop_database(
        self, name_or_database: Any, session: Any = None, comment: Any = None
    ) -> None:
        """Drop a database (and everything in it)."""
        name = getattr(name_or_database, "name", name_or_database)
        if not isinstance(name, str):
            raise TypeError("name_or_database must be a str or a database")
        command: dict[str, Any] = {"dropDatabase": 1}
        if comment is not None:
            command["comment"] = comment
        if not self._write_concern.is_server_default:
            command["writeConcern"] = self._write_concern.document
        await self[name].command(command, session=session)

    async def server_info(self, session: Any = None) -> dict[str, Any]:
        """The server's ``buildInfo``."""
        reply = await self.admin.command("buildinfo", session=session)
        return dict(reply)

    async def _kill_dropped_cursors(self) -> None:
        """killCursors for cursors dropped unfinished (queued by their finalizers)."""
        while self._cursors_to_kill:
            address, namespace, cursor_id, session = self._cursors_to_kill.pop()
            database, _, collection = namespace.partition(".")
            with contextlib.suppress(Exception):
                await self._executor.run(
                    Command(
                        database,
                        {"killCursors": collection, "cursors": [Int64(cursor_id)]},
                        address=address,
                        session=session,
                        check=False,
                        selection_timeout=1.0,
                    )
                )
            self._executor.release_session(session)

    # -- life cycle

    async def close(self) -> None:
        """Stop monitoring and close every connection; the client cannot be used again."""
        if self._closed:
            return
        await self._kill_dropped_cursors()
        self._closed = True
        await self._executor.end_sessions()
        await self._topology.close()

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
        hosts = [format_address(seed) for seed in self._options.seeds]
        return f"AsyncMongoClient(host={hosts!r})"
