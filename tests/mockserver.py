"""A small scriptable MongoDB server for tests: topologies and faults one real server cannot show.

:class:`MockServer` listens on 127.0.0.1 (a free port), serves each connection in a
daemon thread (so a sync client and an async client can use it at once), reads OP_MSG
and legacy OP_QUERY with :mod:`driver.protocol.wire` (OP_COMPRESSED included) and
answers with our own BSON codec:

- ``hello``/``isMaster``/``ismaster`` from a hello document the test sets
  (:meth:`~MockServer.set_hello`; role shapes in :mod:`tests.mockserver_hello`). A hello
  carrying ``topologyVersion`` + ``maxAwaitTimeMS`` waits until the test changes the hello
  (or the time passes); with ``exhaustAllowed`` the replies are streamed (moreToCome).
- other commands from :attr:`~MockServer.replies`: a reply document or a callable
  ``(command, ConnectionInfo) -> reply`` per command name; ``ping`` and ``endSessions``
  answer ok, anything else ``CommandNotFound`` (code 59).
- one-shot faults queued for the next matching command: :meth:`~MockServer.fail`,
  :meth:`~MockServer.hang`, :meth:`~MockServer.close_connection`,
  :meth:`~MockServer.close_mid_reply`, :meth:`~MockServer.send_garbage`. The command
  name :data:`HANDSHAKE` matches only a connection's first hello.

Everything received is recorded (:attr:`~MockServer.received`, :meth:`~MockServer.commands`)
and can be waited for with a timeout (:meth:`~MockServer.wait_for`); never sleep in a test.
:meth:`~MockServer.stop` closes the listener and every connection (clients see the server
go away) and :meth:`~MockServer.start` brings it back on the same port.
:class:`tests.mockserver_cluster.MockReplicaSet` runs several servers as one replica set.

Example::

    from tests.mockserver import MockServer

    with MockServer() as server, MongoClient(server.uri) as client:
        server.set_hello(maxWireVersion=17, setName=None)
        server.replies["buildInfo"] = {"version": "6.0.0"}
        server.fail("find", code=91, errmsg="shutting down", error_labels=["RetryableWriteError"])
        assert client.admin.command("buildInfo")["version"] == "6.0.0"
        server.wait_for("buildInfo", count=1)

``uri`` is ``mongodb://127.0.0.1:PORT/?directConnection=true``; append options with ``&``.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, TypeAlias

from driver.bson import DEFAULT_CODEC_OPTIONS, Int64, ObjectId
from driver.protocol.wire import (
    MORE_TO_COME,
    REPLY_QUERY_FAILURE,
    MessageReader,
    OpMsg,
    OpQuery,
    OpReply,
    compress_message,
    decode_command_reply,
    encode_op_msg,
    encode_op_reply,
)
from tests.mockserver_hello import (
    HELLO_NAMES,
    default_hello,
    mongos,
    shape_hello,
)

__all__ = [
    "HANDSHAKE",
    "HELLO_NAMES",
    "HTTP_GARBAGE",
    "Command",
    "ConnectionInfo",
    "Fault",
    "MockServer",
]

HOST: Final = "127.0.0.1"
#: The fault pseudo-command matching only the first hello of each connection.
HANDSHAKE: Final = "handshake"
#: What :meth:`MockServer.send_garbage` sends by default: a web server's answer.
HTTP_GARBAGE: Final = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
    b"Connection: close\r\n\r\nBad Request"
)
STOP_TIMEOUT: Final = 5.0
WAIT_TIMEOUT: Final = 10.0

#: Which commands a fault or a query applies to: a name, several names, or None (any).
CommandSpec: TypeAlias = str | Collection[str] | None
Reply: TypeAlias = (
    Mapping[str, Any] | Callable[[dict[str, Any], "ConnectionInfo"], Mapping[str, Any]]
)
FaultKind = Literal["error", "hang", "close", "close_mid_reply", "garbage"]


def _matches(spec: CommandSpec, name: str) -> bool:
    if spec is None:
        return True
    return name == spec if isinstance(spec, str) else name in spec


@dataclass
class ConnectionInfo:
    """One client connection, as handlers see it (the second argument of a reply callable)."""

    id: int
    peer: tuple[str, int]
    #: The connection's first hello/isMaster command, once it has arrived.
    handshake: dict[str, Any] | None = None
    messages: int = 0

    @property
    def load_balanced(self) -> bool:
        return bool(self.handshake and self.handshake.get("loadBalanced"))


@dataclass(frozen=True)
class Command:
    """One received message: the command (document sequences merged in as arrays)."""

    name: str
    document: dict[str, Any]
    connection_id: int
    peer: tuple[str, int]
    op_code: int
    request_id: int
    flags: int
    database: str
    #: The compressor the request came in (1 snappy, 2 zlib, 3 zstd), None if plain.
    compressor_id: int | None = None


@dataclass
class Fault:
    """A queued misbehaviour; ``remaining`` None means every matching command forever."""

    kind: FaultKind
    command: CommandSpec
    remaining: int | None = 1
    reply: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    data: bytes = b""
    nbytes: int | None = None
    hits: int = 0

    def matches(self, name: str, first: bool) -> bool:
        spec = self.command
        names = (spec,) if isinstance(spec, str) else tuple(spec or ())
        if first and name in HELLO_NAMES and HANDSHAKE in names:
            return True
        return _matches(spec, name)


class _Run:
    """One start()..stop() of a server: its sockets and threads (a restart gets a new one)."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.wake_r, self.wake_w = socket.socketpair()
        self.stopping = False
        self.open: dict[socket.socket, ConnectionInfo] = {}
        self.threads: set[threading.Thread] = set()
        self.accept_thread: threading.Thread | None = None


class MockServer:
    """A scriptable MongoDB server on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        hello: Mapping[str, Any] | None = None,
        *,
        port: int = 0,
        service_id: ObjectId | None = None,
        name: str = "mock",
    ) -> None:
        # One lock for all shared state; the Condition's RLock lets wait_until
        # predicates read properties that take it again.
        self._cond = threading.Condition()
        self._port = port
        self.name = name
        self.service_id = service_id
        self.replies: dict[str, Reply] = {"ping": {"ok": 1.0}, "endSessions": {"ok": 1.0}}
        #: Internal troubles (a handler that raised, a malformed message...), for asserts.
        self.errors: list[str] = []
        self._hello_fields: dict[str, Any] = {}
        self._process_id = ObjectId()
        self._counter = 0
        self._faults: list[Fault] = []
        self._received: list[Command] = []
        self._connection_ids = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._opened = 0
        self._run: _Run | None = None
        if hello:
            self.set_hello(hello)

    # ------------------------------------------------------------ life cycle

    def start(self) -> MockServer:
        """Listen (on the same port as before, after a stop) and serve in the background."""
        with self._cond:
            if self._run is not None:
                return self
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                if os.name != "nt":  # rebinding a port whose old connections are in TIME_WAIT
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((HOST, self._port))
                listener.listen(128)
                listener.setblocking(False)
            except OSError:
                listener.close()
                raise
            self._port = listener.getsockname()[1]
            run = self._run = _Run(listener)
            # A restarted mongod has a new processId: clients must not trust the old counter.
            self._process_id, self._counter = ObjectId(), 0
            run.accept_thread = threading.Thread(
                target=self._accept_loop, args=(run,), name=f"{self.name}-accept", daemon=True
            )
            run.accept_thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Close the listener and every client connection; hangs and waits are released."""
        with self._cond:
            run, self._run = self._run, None
            if run is None:
                return
            run.stopping = True
            self._cond.notify_all()
            # shutdown() (not close) wakes the thread blocked on the socket; the thread
            # closes its own socket, so no descriptor is closed under another's feet.
            for sock in run.open:
                self._shutdown(sock)
            threads = [*run.threads, run.accept_thread]
        with contextlib.suppress(OSError):
            run.wake_w.send(b"x")
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not None:
                thread.join(max(deadline - time.monotonic(), 0.0))
                if thread.is_alive():
                    self._error(f"{thread.name} did not stop within {timeout}s")
        for sock in (run.listener, run.wake_r, run.wake_w):
            sock.close()

    def restart(self) -> None:
        """Stop, then start again on the same port (a node coming back)."""
        self.stop()
        self.start()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the mock server has no port until it is started")
        return self._port

    @property
    def host(self) -> str:
        return HOST

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def hostport(self) -> str:
        """``127.0.0.1:PORT``, as it appears in hello's ``hosts`` and ``me``."""
        return f"{HOST}:{self.port}"

    @property
    def uri(self) -> str:
        """``mongodb://127.0.0.1:PORT/?directConnection=true``."""
        return f"mongodb://{self.hostport}/?directConnection=true"

    def __repr__(self) -> str:
        state = f"port {self._port}" if self.running else "stopped"
        return f"<MockServer {self.name} {state}>"

    # ------------------------------------------------------------ the hello document

    @property
    def hello(self) -> Mapping[str, Any]:
        """The hello template (read-only; AUTO fields are filled per reply). Assigning
        replaces the test's fields: ``server.hello = {...}`` is :meth:`reset_hello`."""
        with self._cond:
            return MappingProxyType(self._template())

    @hello.setter
    def hello(self, fields: Mapping[str, Any]) -> None:
        self.reset_hello(fields)

    def set_hello(self, fields: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Change hello fields (None removes one); waiting hellos answer at once.

        Unless ``topologyVersion`` itself is given, its counter goes up, as on a real
        server whose state changed.
        """
        changes = {**(fields or {}), **more}
        with self._cond:
            self._hello_fields.update(copy.deepcopy(changes))
            self._changed(changes)

    def reset_hello(self, fields: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Back to the defaults (a 7.0 standalone), then :meth:`set_hello` ``fields``."""
        changes = {**(fields or {}), **more}
        with self._cond:
            self._hello_fields = copy.deepcopy(changes)
            self._changed(changes)

    def load_balancer_mode(self, service_id: ObjectId | None = None) -> ObjectId:
        """Answer as a mongos behind a load balancer: ``serviceId`` for loadBalanced hellos."""
        self.service_id = service_id or ObjectId()
        self.set_hello(mongos())
        return self.service_id

    def _changed(self, changes: Mapping[str, Any]) -> None:
        if "topologyVersion" not in changes:
            self._counter += 1
        self._cond.notify_all()

    def _template(self) -> dict[str, Any]:
        doc = default_hello()
        doc["topologyVersion"] = {"processId": self._process_id, "counter": Int64(self._counter)}
        for key, value in self._hello_fields.items():
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        return doc

    def _topology_version(self) -> tuple[Any, int] | None:
        return _tv_key(self._template().get("topologyVersion"))

    # ------------------------------------------------------------ faults

    def _add_fault(self, fault: Fault) -> Fault:
        with self._cond:
            self._faults.append(fault)
        return fault

    def fail(
        self,
        command: CommandSpec,
        code: int,
        errmsg: str | None = None,
        *,
        error_labels: Collection[str] = (),
        code_name: str | None = None,
        times: int | None = 1,
        **fields: Any,
    ) -> Fault:
        """Answer the next matching command(s) with ``{ok: 0, errmsg, code, ...}``."""
        reply: dict[str, Any] = {
            "ok": 0.0,
            "errmsg": errmsg or f"mock failure {code}",
            "code": code,
        }
        if code_name:
            reply["codeName"] = code_name
        if error_labels:
            reply["errorLabels"] = list(error_labels)
        reply.update(fields)
        return self._add_fault(Fault("error", command, times, reply=reply))

    def hang(
        self, command: CommandSpec = None, seconds: float | None = None, *, times: int | None = 1
    ) -> Fault:
        """Do not answer: never (until stop), or for ``seconds`` and then answer normally."""
        return self._add_fault(Fault("hang", command, times, seconds=seconds))

    def close_connection(self, command: CommandSpec = None, *, times: int | None = 1) -> Fault:
        """Close the connection instead of answering."""
        return self._add_fault(Fault("close", command, times))

    def close_mid_reply(
        self, command: CommandSpec = None, nbytes: int | None = None, *, times: int | None = 1
    ) -> Fault:
        """Send only ``nbytes`` of the reply (default: half) and close the connection."""
        return self._add_fault(Fault("close_mid_reply", command, times, nbytes=nbytes))

    def send_garbage(
        self, command: CommandSpec = None, data: bytes = HTTP_GARBAGE, *, times: int | None = 1
    ) -> Fault:
        """Answer with ``data`` (not a MongoDB message), then close the connection."""
        return self._add_fault(Fault("garbage", command, times, data=data))

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def _take_fault(self, name: str, first: bool) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.matches(name, first):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    self._cond.notify_all()
                    return fault
        return None

    # ------------------------------------------------------------ what arrived

    @property
    def received(self) -> list[Command]:
        """Every message received so far, in order (a copy)."""
        with self._cond:
            return list(self._received)

    def commands(self, name: CommandSpec = None) -> list[dict[str, Any]]:
        """The documents of the received commands named ``name`` (None: all)."""
        with self._cond:
            return [c.document for c in self._received if _matches(name, c.name)]

    def command_names(self) -> list[str]:
        with self._cond:
            return [c.name for c in self._received]

    def clear_received(self) -> None:
        with self._cond:
            self._received.clear()

    @property
    def connections_opened(self) -> int:
        """Connections accepted since the server object was made (across restarts)."""
        with self._cond:
            return self._opened

    @property
    def connections_open(self) -> int:
        with self._cond:
            return len(self._run.open) if self._run else 0

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT, what: str = "condition"
    ) -> None:
        """Block until ``predicate()`` holds (checked on every change); TimeoutError if not."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(
                    f"{self!r}: no {what} within {timeout}s; received {self.command_names()}, "
                    f"{self.connections_open} connection(s) open, errors {self.errors}"
                )

    def wait_for(
        self, name: CommandSpec, count: int = 1, timeout: float = WAIT_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` commands named ``name`` have arrived; return them all."""
        self.wait_until(lambda: len(self.commands(name)) >= count, timeout, f"{count} x {name!r}")
        return self.commands(name)

    def _error(self, text: str) -> None:
        with self._cond:
            self.errors.append(text)
            self._cond.notify_all()

    # ------------------------------------------------------------ serving

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already gone
            sock.shutdown(socket.SHUT_RDWR)

    def _accept_loop(self, run: _Run) -> None:
        # Waits on the listener and a wake socket, so stop() needs no timeout polling.
        with selectors.DefaultSelector() as selector:
            selector.register(run.listener, selectors.EVENT_READ)
            selector.register(run.wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is run.wake_r:
                        return
                    try:
                        sock, peer = run.listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue  # the client gave up between select and accept
                    except OSError:
                        return
                    self._adopt(run, sock, peer)

    def _adopt(self, run: _Run, sock: socket.socket, peer: tuple[str, int]) -> None:
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._cond:
            if run.stopping:
                sock.close()
                return
            info = ConnectionInfo(next(self._connection_ids), (peer[0], peer[1]))
            thread = threading.Thread(
                target=self._serve,
                args=(run, sock, info),
                name=f"{self.name}-conn-{info.id}",
                daemon=True,
            )
            run.open[sock] = info
            run.threads.add(thread)
            self._opened += 1
            self._cond.notify_all()
            thread.start()

    def _serve(self, run: _Run, sock: socket.socket, info: ConnectionInfo) -> None:
        reader = MessageReader(side="server")
        try:
            while True:
                message = reader.next_message()
                if message is None:
                    data = sock.recv(1 << 16)
                    if not data:
                        return  # the client closed, or stop() shut the socket down
                    reader.feed(data)
                elif isinstance(message, OpReply):  # never from side="server"; for the types
                    raise TypeError("a client sent OP_REPLY")
                elif not self._handle(run, sock, info, message):
                    return
        except OSError:
            pass  # the client went away (or stop() did it)
        except Exception as exc:  # a bad message or a reply our BSON cannot encode
            self._error(f"connection {info.id}: {type(exc).__name__}: {exc}")
        finally:
            with self._cond:
                run.open.pop(sock, None)
                run.threads.discard(threading.current_thread())
                self._cond.notify_all()
            sock.close()

    def _handle(
        self, run: _Run, sock: socket.socket, info: ConnectionInfo, message: OpMsg | OpQuery
    ) -> bool:
        """Record and answer one message; False closes the connection."""
        document: dict[str, Any] = decode_command_reply(message, DEFAULT_CODEC_OPTIONS)
        if isinstance(message, OpQuery):
            if isinstance(document.get("$query"), Mapping):  # the wrapped legacy form
                document = dict(document["$query"])
            database, _, collection = message.collection.partition(".")
        else:
            database, collection = str(document.get("$db", "")), "$cmd"
        name = next(iter(document), "")
        first = info.messages == 0
        info.messages += 1
        if first and name in HELLO_NAMES:
            info.handshake = document
        record = Command(
            name,
            document,
            info.id,
            info.peer,
            message.op_code,
            message.request_id,
            message.flags,
            database,
            message.compressor_id,
        )
        with self._cond:
            self._received.append(record)
            self._cond.notify_all()
        if collection != "$cmd":  # OP_QUERY on a collection: gone from servers since 5.1
            error = {"$err": f"OP_QUERY on {database}.{collection} is not supported", "code": 352}
            data = encode_op_reply(
                self._next_request_id(),
                message.request_id,
                [error],
                flags=REPLY_QUERY_FAILURE,
                codec_options=DEFAULT_CODEC_OPTIONS,
            )
            sock.sendall(data)
            return True
        return self._respond(run, sock, info, message, document, name, first)

    def _respond(
        self,
        run: _Run,
        sock: socket.socket,
        info: ConnectionInfo,
        message: OpMsg | OpQuery,
        document: dict[str, Any],
        name: str,
        first: bool,
    ) -> bool:
        fault = self._take_fault(name, first)
        if not self._before_reply(run, sock, fault):
            return False
        if message.more_to_come:
            return True  # an unacknowledged (w:0) command: nothing goes back
        is_hello = name in HELLO_NAMES
        known = _tv_key(document.get("topologyVersion"))
        max_await = document.get("maxAwaitTimeMS")
        awaitable = is_hello and known is not None and isinstance(max_await, int)
        wait = max_await / 1000.0 if awaitable and isinstance(max_await, int) else 0.0
        failing = fault is not None and fault.kind == "error"  # errors answer at once
        if awaitable and not failing and not self._await_change(run, known, wait, sock):
            return False
        reply = self._reply(name, document, info, fault)
        # Exhaust: the client allowed several replies; each one waits for a change.
        exhaust = awaitable and isinstance(message, OpMsg) and message.exhaust_allowed
        flags = MORE_TO_COME if exhaust and "topologyVersion" in reply else 0
        sent = self._send(sock, message, reply, message.request_id, flags, fault)
        while sent is not None and flags:
            known = _tv_key(reply.get("topologyVersion"))
            if not self._await_change(run, known, wait, sock):
                return False
            fault = self._take_fault(name, False)
            if not self._before_reply(run, sock, fault):
                return False
            reply = self._reply(name, document, info, fault)
            flags = MORE_TO_COME if "topologyVersion" in reply and reply.get("ok") else 0
            sent = self._send(sock, message, reply, sent, flags, fault)
        return sent is not None

    def _before_reply(self, run: _Run, sock: socket.socket, fault: Fault | None) -> bool:
        """Apply a fault that acts before any reply; False closes the connection."""
        if fault is None:
            return True
        if fault.kind == "hang":
            with self._cond:
                self._cond.wait_for(lambda: run.stopping, fault.seconds)
            return not run.stopping
        if fault.kind == "garbage":
            sock.sendall(fault.data)
        return fault.kind not in ("close", "garbage")

    def _await_change(
        self,
        run: _Run,
        known: tuple[Any, int] | None,
        timeout: float,
        sock: socket.socket | None = None,
    ) -> bool:
        """Wait until the topologyVersion is no longer ``known``; False if stopping, or
        if the client closed ``sock`` meanwhile (checked while an exhaust stream waits:
        the client sends nothing then, so anything readable is its close)."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            while True:
                remaining = deadline - time.monotonic()
                slice_ = remaining if sock is None else min(remaining, 0.05)
                if self._cond.wait_for(
                    lambda: run.stopping or self._topology_version() != known, max(slice_, 0.0)
                ):
                    return not run.stopping
                if remaining <= 0:
                    return True
                if sock is not None and _peer_closed(sock):
                    return False

    def _reply(
        self, name: str, document: dict[str, Any], info: ConnectionInfo, fault: Fault | None
    ) -> dict[str, Any]:
        if fault is not None and fault.kind == "error":
            return dict(fault.reply)
        if name in HELLO_NAMES and name not in self.replies:
            with self._cond:
                template = self._template()
            return shape_hello(
                template, document, connection_id=info.id, service_id=self.service_id
            )
        handler = self.replies.get(name)
        if handler is None:
            return {
                "ok": 0.0,
                "errmsg": f"no such command: '{name}'",
                "code": 59,
                "codeName": "CommandNotFound",
            }
        try:
            reply = dict(handler(document, info) if callable(handler) else handler)
        except Exception as exc:  # shown to the client and kept for the test's asserts
            self._error(f"the reply callable for {name!r} raised {exc!r}")
            return {
                "ok": 0.0,
                "errmsg": f"mock handler raised {exc!r}",
                "code": 1,
                "codeName": "InternalError",
            }
        reply.setdefault("ok", 1.0)
        return reply

    def _next_request_id(self) -> int:
        return next(self._request_ids) & 0x7FFFFFFF

    def _send(
        self,
        sock: socket.socket,
        request: OpMsg | OpQuery,
        reply: Mapping[str, Any],
        response_to: int,
        flags: int,
        fault: Fault | None,
    ) -> int | None:
        """Send one reply; its request id (the next streamed reply answers it), or None
        when the connection must close."""
        request_id = self._next_request_id()
        options = DEFAULT_CODEC_OPTIONS
        if isinstance(request, OpQuery):
            data = encode_op_reply(request_id, response_to, [reply], codec_options=options)
        else:
            data = encode_op_msg(
                request_id, reply, flags=flags, response_to=response_to, codec_options=options
            )
        if request.compressor_id is not None:  # a server answers in the request's compressor
            data = compress_message(data, request.compressor_id)
        if fault is not None and fault.kind == "close_mid_reply":
            sock.sendall(data[: len(data) // 2 if fault.nbytes is None else fault.nbytes])
            return None
        sock.sendall(data)
        return request_id


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the client closed (or broke) the connection; never blocks."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _tv_key(value: Any) -> tuple[Any, int] | None:
    """A topologyVersion as a comparable key (Int64 and int counters compare equal)."""
    if not isinstance(value, Mapping) or "processId" not in value:
        return None
    return (value["processId"], int(value.get("counter", 0)))
