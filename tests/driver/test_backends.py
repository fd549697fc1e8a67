"""driver._backends: the asyncio and sync primitives behave the same.

Each scenario is written once, as a coroutine, against ``h.backend`` and runs twice:

- on :mod:`driver._backends.asyncio` inside ``asyncio.run``;
- on :mod:`driver._backends.sync`, driven without an event loop: every ``await`` there
  is on :meth:`Harness.get`, which for the sync backend returns a value that was
  already computed, so the coroutine never suspends (the harness checks that).

Nothing sleeps to wait for another party: parties wait on the primitives with
timeouts. Streams talk to small servers on 127.0.0.1 run by threads in this module;
TLS uses throwaway certificates from ``trustme`` (in the dev extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest

from driver._backends import asyncio as async_backend
from driver._backends import base
from driver._backends import sync as sync_backend
from driver.errors import AutoReconnect, ConfigurationError, NetworkTimeout
from tools.unasync import RENAMES

T = TypeVar("T")
Scenario = Callable[[], Coroutine[Any, Any, T]]

SLACK = 1.5  # seconds of scheduling noise a slow CI machine may add to a timed wait
JOIN_TIMEOUT = 10.0


# ------------------------------------------------------------------ the harness


def drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that must never suspend (a sync scenario) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coroutine.close()
    raise AssertionError("a sync scenario suspended: it awaited something other than h.get")


class Harness:
    """How a scenario runs, waits and starts a second party on one backend."""

    name: str
    backend: Any

    def run(self, scenario: Scenario[T]) -> T:
        raise NotImplementedError

    async def get(self, value: Any) -> Any:
        """The result of a backend call that is async in the asyncio backend."""
        raise NotImplementedError

    def hold(self, manager: Any) -> contextlib.AbstractAsyncContextManager[None]:
        """``async with`` on the asyncio backend, ``with`` on the sync one."""
        raise NotImplementedError

    def spawn(self, scenario: Scenario[T]) -> Any:
        """Start a second party (a task, or a thread) running ``scenario``."""
        raise NotImplementedError

    async def join(self, party: Any) -> Any:
        """Wait for a party from :meth:`spawn` and return its result."""
        raise NotImplementedError


class AsyncioHarness(Harness):
    name = "asyncio"
    backend = async_backend

    def run(self, scenario: Scenario[T]) -> T:
        return asyncio.run(scenario())

    async def get(self, value: Any) -> Any:
        assert inspect.isawaitable(value), f"{value!r} should be awaitable in the asyncio backend"
        return await value

    @contextlib.asynccontextmanager
    async def hold(self, manager: Any) -> AsyncIterator[None]:
        async with manager:
            yield

    def spawn(self, scenario: Scenario[T]) -> asyncio.Task[T]:
        return asyncio.ensure_future(scenario())

    async def join(self, party: Any) -> Any:
        return await asyncio.wait_for(party, JOIN_TIMEOUT)


class _Thread(threading.Thread):
    def __init__(self, scenario: Scenario[Any]) -> None:
        super().__init__(daemon=True)
        self.scenario = scenario
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = drive(self.scenario())
        except BaseException as exc:
            self.error = exc


class SyncHarness(Harness):
    name = "sync"
    backend = sync_backend

    def run(self, scenario: Scenario[T]) -> T:
        return drive(scenario())

    async def get(self, value: Any) -> Any:
        assert not inspect.isawaitable(value), f"{value!r} is awaitable in the sync backend"
        return value

    @contextlib.asynccontextmanager
    async def hold(self, manager: Any) -> AsyncIterator[None]:
        with manager:
            yield

    def spawn(self, scenario: Scenario[T]) -> _Thread:
        thread = _Thread(scenario)
        thread.start()
        return thread

    async def join(self, party: Any) -> Any:
        party.join(JOIN_TIMEOUT)
        assert not party.is_alive(), "the second party did not finish"
        if party.error is not None:
            raise party.error
        return party.result


@pytest.fixture(params=[SyncHarness, AsyncioHarness], ids=["sync", "asyncio"])
def h(request: pytest.FixtureRequest) -> Harness:
    harness: Harness = request.param()
    return harness


def assert_took(elapsed: float, timeout: float) -> None:
    # asyncio may run a timer up to its clock resolution early.
    assert timeout * 0.9 <= elapsed < timeout + SLACK, (elapsed, timeout)


# ------------------------------------------------------------------ the API is one API


def _public_members(cls: type) -> dict[str, Any]:
    members = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, type) or klass.__module__ in ("typing", "typing_extensions"):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") or (name.startswith("__") and name in _DUNDERS):
                members[name] = value
    return members


_DUNDERS = {"__init__", "__aenter__", "__aexit__", "__enter__", "__exit__"}


def _signature(function: Any) -> str:
    return str(inspect.signature(function))


def test_the_backends_offer_the_same_names_and_signatures() -> None:
    assert async_backend.__all__ == sync_backend.__all__
    for name in async_backend.__all__:
        async_object, sync_object = getattr(async_backend, name), getattr(sync_backend, name)
        if async_object is sync_object:  # shared outright (monotonic)
            continue
        if not inspect.isclass(async_object):
            assert _signature(async_object) == _signature(sync_object), name
            continue
        async_members, sync_members = _public_members(async_object), _public_members(sync_object)
        renamed = {RENAMES.get(member, member): value for member, value in async_members.items()}
        assert sorted(renamed) == sorted(sync_members), name
        for member, async_value in renamed.items():
            sync_value = sync_members[member]
            if isinstance(async_value, property):
                assert isinstance(sync_value, property), (name, member)
                continue
            where = f"{name}.{member}"
            assert _signature(async_value) == _signature(sync_value), where
            assert not inspect.iscoroutinefunction(sync_value), where
    # What is async in the asyncio backend: every wait and every I/O call.
    assert inspect.iscoroutinefunction(async_backend.sleep)
    assert inspect.iscoroutinefunction(async_backend.open_stream)
    assert inspect.iscoroutinefunction(async_backend.Condition.wait)
    assert not inspect.iscoroutinefunction(async_backend.Condition.notify)
    assert async_backend.monotonic is sync_backend.monotonic


def test_the_concrete_streams_have_every_protocol_member() -> None:
    for protocol, concrete in (
        (base.AsyncStream, async_backend._AsyncioStream),
        (base.SyncStream, sync_backend._SocketStream),
    ):
        for member in ("peer", "is_closed", "send_all", "receive_exactly", "close"):
            assert hasattr(concrete, member), (concrete, member)
            if callable(getattr(protocol, member)):
                expected = inspect.signature(getattr(protocol, member)).parameters
                actual = inspect.signature(getattr(concrete, member)).parameters
                assert list(actual) == list(expected), member
                assert inspect.iscoroutinefunction(getattr(concrete, member)) == (
                    protocol is base.AsyncStream
                )


# ------------------------------------------------------------------ locks and friends


def test_sleep_and_monotonic(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        start = b.monotonic()
        await h.get(b.sleep(0.05))
        assert_took(b.monotonic() - start, 0.05)
        start = b.monotonic()
        await h.get(b.sleep(-1))
        assert b.monotonic() - start < SLACK

    h.run(scenario)


def test_lock_excludes_a_second_party(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        lock, inside, log = b.Lock(), b.Event(), []

        async def contender() -> None:
            async with h.hold(lock):
                log.append("contender")

        async with h.hold(lock):
            assert lock.locked()
            party = h.spawn(contender)
            # The contender cannot get in while we hold the lock.
            assert not await h.get(inside.wait(0.1))
            log.append("holder")
        await h.join(party)
        assert log == ["holder", "contender"]
        assert not lock.locked()
        await h.get(lock.acquire())
        assert lock.locked()
        lock.release()
        with pytest.raises(RuntimeError):
            lock.release()

    h.run(scenario)


def test_condition_wait_times_out(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        condition = b.Condition()
        async with h.hold(condition):
            start = b.monotonic()
            assert await h.get(condition.wait(0.2)) is False
            assert_took(b.monotonic() - start, 0.2)
            start = b.monotonic()
            assert await h.get(condition.wait(0)) is False
            assert await h.get(condition.wait(-1)) is False
            assert b.monotonic() - start < SLACK
            start = b.monotonic()
            assert await h.get(condition.wait_for(lambda: False, 0.2)) is False
            assert_took(b.monotonic() - start, 0.2)

    h.run(scenario)


def test_condition_notify_wakes_a_waiter(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        lock = b.Lock()
        condition, ready = b.Condition(lock), b.Event()

        async def waiter() -> bool:
            async with h.hold(condition):
                ready.set()  # set under the lock: once we get it, the waiter waits
                result: bool = await h.get(condition.wait(JOIN_TIMEOUT))
                assert lock.locked()  # the lock is held again on return
                return result

        party = h.spawn(waiter)
        assert await h.get(ready.wait(JOIN_TIMEOUT))
        async with h.hold(lock):  # the shared lock is the condition's lock
            condition.notify()
        assert await h.join(party) is True

    h.run(scenario)


def test_condition_notify_all_and_wait_for(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        condition, state = b.Condition(), {"waiting": 0, "value": 0}

        async def consumer() -> bool:
            async with h.hold(condition):
                state["waiting"] += 1
                condition.notify_all()  # tell the producer another consumer waits
                result: bool = await h.get(
                    condition.wait_for(lambda: state["value"] == 3, JOIN_TIMEOUT)
                )
                return result

        parties = [h.spawn(consumer) for _ in range(3)]
        async with h.hold(condition):
            assert await h.get(condition.wait_for(lambda: state["waiting"] == 3, JOIN_TIMEOUT))
            for _ in range(3):
                state["value"] += 1
                condition.notify_all()  # wakes everyone; wait_for re-checks and waits on
        for party in parties:
            assert await h.join(party) is True

    h.run(scenario)


def test_condition_needs_its_lock_held(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        condition = b.Condition()
        with pytest.raises(RuntimeError):
            await h.get(condition.wait(0.01))
        with pytest.raises(RuntimeError):
            condition.notify()
        with pytest.raises(RuntimeError):
            condition.notify_all()

    h.run(scenario)


def test_event(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        event = b.Event()
        assert not event.is_set()
        start = b.monotonic()
        assert await h.get(event.wait(0.2)) is False
        assert_took(b.monotonic() - start, 0.2)
        assert await h.get(event.wait(0)) is False

        async def setter() -> None:
            event.set()

        async def waiter() -> bool:
            result: bool = await h.get(event.wait(JOIN_TIMEOUT))
            return result

        waiting = h.spawn(waiter)
        await h.join(h.spawn(setter))
        assert await h.join(waiting) is True
        assert event.is_set()
        assert await h.get(event.wait(0)) is True
        assert await h.get(event.wait(None)) is True
        event.clear()
        assert not event.is_set()
        assert await h.get(event.wait(0.01)) is False

    h.run(scenario)


def test_semaphore(h: Harness) -> None:
    b = h.backend

    async def scenario() -> None:
        semaphore = b.Semaphore(2)
        assert await h.get(semaphore.acquire()) is True
        assert await h.get(semaphore.acquire(timeout=1)) is True
        assert await h.get(semaphore.acquire(timeout=0)) is False
        start = b.monotonic()
        assert await h.get(semaphore.acquire(timeout=0.2)) is False
        assert_took(b.monotonic() - start, 0.2)

        async def blocked() -> bool:
            result: bool = await h.get(semaphore.acquire(timeout=JOIN_TIMEOUT))
            return result

        party = h.spawn(blocked)
        semaphore.release()  # goes to the blocked party
        assert await h.join(party) is True
        semaphore.release()
        semaphore.release()
        with pytest.raises(ValueError, match="released too many times"):
            semaphore.release()
        async with h.hold(semaphore):
            assert await h.get(semaphore.acquire(timeout=0)) is True
            assert await h.get(semaphore.acquire(timeout=0)) is False
            semaphore.release()
        with pytest.raises(ValueError, match=">= 0"):
            b.Semaphore(-1)
        empty = b.Semaphore(0)
        assert await h.get(empty.acquire(timeout=0.01)) is False

    h.run(scenario)


# ------------------------------------------------------------------ asyncio only: cancellation


def test_asyncio_condition_wait_cancelled_still_holds_the_lock_and_passes_wakeups_on() -> None:
    b = async_backend

    async def scenario() -> None:
        condition, ready = b.Condition(), b.Event()

        async def waiter() -> bool:
            async with condition:
                ready.set()
                result = await condition.wait()
                return result

        first = asyncio.ensure_future(waiter())
        await ready.wait(JOIN_TIMEOUT)
        ready.clear()
        second = asyncio.ensure_future(waiter())
        await ready.wait(JOIN_TIMEOUT)
        async with condition:
            condition.notify(1)  # the wake-up goes to `first`...
        first.cancel()  # ...which is cancelled before it runs: `second` must get it
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await asyncio.wait_for(second, JOIN_TIMEOUT) is True
        assert not condition._lock.locked()

    asyncio.run(scenario())


def test_asyncio_semaphore_permit_of_a_cancelled_waiter_is_not_lost() -> None:
    b = async_backend

    async def scenario() -> None:
        semaphore = b.Semaphore(1)
        assert await semaphore.acquire()
        waiter = asyncio.ensure_future(semaphore.acquire(timeout=JOIN_TIMEOUT))
        await asyncio.sleep(0)  # let it queue
        semaphore.release()  # handed to the waiter...
        waiter.cancel()  # ...which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert await semaphore.acquire(timeout=0) is True

    asyncio.run(scenario())


# ------------------------------------------------------------------ test servers


Handler = Callable[[socket.socket], None]


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


class Server:
    """A listening socket (127.0.0.1, or a Unix path) whose connections each run
    ``handler`` in a thread, after a TLS handshake if ``ssl_context`` is given."""

    def __init__(
        self,
        handler: Handler = echo,
        *,
        unix_path: Path | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(unix_path))
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)  # so the accept loop sees `stopped`
        self.handler, self.ssl_context = handler, ssl_context
        self.stopped = threading.Event()
        self.connections: list[socket.socket] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(JOIN_TIMEOUT)
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
                self.connections.append(conn)
            self.handler(conn)
        except (OSError, ssl.SSLError) as exc:  # the client went away or refused us
            self.errors.append(exc)
        finally:
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(JOIN_TIMEOUT)
        self.sock.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(handler: Handler = echo, **kwargs: Any) -> Server:
        server = Server(handler, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ------------------------------------------------------------------ streams


def test_stream_round_trips(h: Harness, serve: Callable[..., Server]) -> None:
    b, server = h.backend, serve()

    async def scenario() -> None:
        stream = await h.get(b.open_stream("127.0.0.1", server.port, timeout=5))
        assert stream.peer == f"127.0.0.1:{server.port}" and not stream.is_closed
        await h.get(stream.send_all(b"hello world", 5))
        assert await h.get(stream.receive_exactly(5, 5)) == b"hello"
        assert await h.get(stream.receive_exactly(6, 5)) == b" world"
        for number in range(200):
            message = b"%d" % number * 10
            await h.get(stream.send_all(message, 5))
            assert await h.get(stream.receive_exactly(len(message), 5)) == message
        big = bytes(range(256)) * (5 * 4096)  # 5 MiB: grows the buffer, fills the socket
        await h.get(stream.send_all(memoryview(big), 10))
        assert await h.get(stream.receive_exactly(len(big), 10)) == big
        await h.get(stream.send_all(bytearray(b"after"), 5))
        assert await h.get(stream.receive_exactly(5, None)) == b"after"
        await h.get(stream.close())
        assert stream.is_closed
        await h.get(stream.close())  # idempotent
        with pytest.raises(AutoReconnect, match="is closed"):
            await h.get(stream.send_all(b"x", 1))
        with pytest.raises(AutoReconnect, match="is closed"):
            await h.get(stream.receive_exactly(1, 1))

    h.run(scenario)


def test_stream_by_hostname(h: Harness, serve: Callable[..., Server]) -> None:
    b, server = h.backend, serve()

    async def scenario() -> None:
        stream = await h.get(
            b.open_stream("localhost", server.port, timeout=5, keepalive=False, nodelay=False)
        )
        assert stream.peer == f"localhost:{server.port}"
        await h.get(stream.send_all(b"ping", 5))
        assert await h.get(stream.receive_exactly(4, 5)) == b"ping"
        await h.get(stream.close())

    h.run(scenario)


def test_stream_receive_timeout_keeps_the_stream_usable(
    h: Harness, serve: Callable[..., Server]
) -> None:
    def handler(conn: socket.socket) -> None:
        conn.sendall(b"abc")
        conn.recv(1)  # the client's go-ahead
        conn.sendall(b"defghij")
        echo(conn)

    b, server = h.backend, serve(handler)

    async def scenario() -> None:
        stream = await h.get(b.open_stream("127.0.0.1", server.port, timeout=5))
        start = b.monotonic()
        with pytest.raises(NetworkTimeout) as caught:
            await h.get(stream.receive_exactly(10, 0.2))
        assert_took(b.monotonic() - start, 0.2)
        message = str(caught.value)
        assert f"timed out after 0.2s receiving 10 bytes from 127.0.0.1:{server.port}" in message
        assert "(got 3)" in message and caught.value.timeout
        assert not stream.is_closed
        with pytest.raises(NetworkTimeout, match="timed out after 0s"):
            await h.get(stream.receive_exactly(10, 0))
        await h.get(stream.send_all(b"!", 5))
        assert await h.get(stream.receive_exactly(10, 5)) == b"abcdefghij"
        await h.get(stream.close())

    h.run(scenario)


def test_stream_eof_and_reset_raise_autoreconnect(h: Harness, serve: Callable[..., Server]) -> None:
    def half_then_close(conn: socket.socket) -> None:
        conn.sendall(b"xy")

    def reset(conn: socket.socket) -> None:
        conn.recv(1)
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    b = h.backend
    eof_server, reset_server = serve(half_then_close), serve(reset)

    async def scenario() -> None:
        stream = await h.get(b.open_stream("127.0.0.1", eof_server.port, timeout=5))
        with pytest.raises(AutoReconnect) as caught:
            await h.get(stream.receive_exactly(4, 5))
        assert not isinstance(caught.value, NetworkTimeout)
        assert str(caught.value) == (
            f"connection closed by 127.0.0.1:{eof_server.port} while receiving 4 bytes (got 2)"
        )
        assert stream.is_closed
        await h.get(stream.close())

        stream = await h.get(b.open_stream("127.0.0.1", reset_server.port, timeout=5))
        await h.get(stream.send_all(b"!", 5))
        with pytest.raises(AutoReconnect, match=f"127.0.0.1:{reset_server.port}"):
            await h.get(stream.receive_exactly(4, 5))
        assert stream.is_closed
        await h.get(stream.close())

    h.run(scenario)


def test_stream_send_timeout_closes_the_stream(h: Harness, serve: Callable[..., Server]) -> None:
    never_reads = threading.Event()

    def stall(conn: socket.socket) -> None:
        never_reads.wait(JOIN_TIMEOUT)

    b, server = h.backend, serve(stall)

    async def scenario() -> None:
        stream = await h.get(b.open_stream("127.0.0.1", server.port, timeout=5))
        start = b.monotonic()
        with pytest.raises(NetworkTimeout) as caught:
            await h.get(stream.send_all(b"x" * (64 * 1024 * 1024), 0.3))
        assert_took(b.monotonic() - start, 0.3)
        assert f"sending 67108864 bytes to 127.0.0.1:{server.port}" in str(caught.value)
        assert stream.is_closed  # half a message went out: the stream is done
        never_reads.set()
        await h.get(stream.close())

    h.run(scenario)


def test_connect_refused_is_quick_and_says_so(h: Harness) -> None:
    b, port = h.backend, closed_port()

    async def scenario() -> None:
        start = b.monotonic()
        with pytest.raises(AutoReconnect) as caught:
            await h.get(b.open_stream("127.0.0.1", port, timeout=5))
        assert b.monotonic() - start < SLACK
        assert not isinstance(caught.value, NetworkTimeout)
        message = str(caught.value)
        assert message.startswith(f"could not connect to 127.0.0.1:{port}: ")
        assert "connection refused" in message.lower()
        assert isinstance(caught.value.__cause__, ConnectionRefusedError)
        with pytest.raises(NetworkTimeout, match="timed out after 0s connecting"):
            await h.get(b.open_stream("127.0.0.1", port, timeout=0))

    h.run(scenario)


def test_unknown_host(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # No DNS query leaves the machine: the resolver itself says no (both backends, and
    # asyncio's executor thread, call socket.getaddrinfo).
    def no_such_host(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    b = h.backend

    async def scenario() -> None:
        with pytest.raises(AutoReconnect) as caught:
            await h.get(b.open_stream("db.invalid", 27017, timeout=5))
        assert str(caught.value) == (
            "could not connect to db.invalid:27017: cannot resolve 'db.invalid': "
            f"[Errno {socket.EAI_NONAME}] Name or service not known"
        )
        assert isinstance(caught.value.__cause__, socket.gaierror)

    h.run(scenario)


def test_ipv6_loopback(h: Harness) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        listener.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    listener.listen(1)
    port = listener.getsockname()[1]
    b = h.backend

    async def scenario() -> None:
        stream = await h.get(b.open_stream("::1", port, timeout=5))
        assert stream.peer == f"[::1]:{port}"
        conn, _ = listener.accept()
        conn.sendall(b"v6")
        assert await h.get(stream.receive_exactly(2, 5)) == b"v6"
        conn.close()
        await h.get(stream.close())

    try:
        h.run(scenario)
    finally:
        listener.close()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix domain sockets here")
def test_unix_stream(h: Harness, serve: Callable[..., Server], tmp_path: Path) -> None:
    path = tmp_path / "mongodb.sock"
    serve(unix_path=path)
    b = h.backend

    async def scenario() -> None:
        stream = await h.get(b.open_unix_stream(str(path), timeout=5))
        assert stream.peer == str(path)
        await h.get(stream.send_all(b"unix", 5))
        assert await h.get(stream.receive_exactly(4, 5)) == b"unix"
        await h.get(stream.close())
        with pytest.raises(AutoReconnect, match=f"could not connect to {tmp_path}/missing.sock"):
            await h.get(b.open_unix_stream(str(tmp_path / "missing.sock"), timeout=5))
        context = ssl.create_default_context()
        with pytest.raises(ConfigurationError, match="server_hostname is required"):
            await h.get(b.open_unix_stream(str(path), timeout=5, ssl_context=context))

    h.run(scenario)


# ------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def tls() -> dict[str, Any]:
    """A throwaway CA, a server context for localhost/127.0.0.1, and client contexts."""
    trustme = pytest.importorskip("trustme", reason="trustme is in the dev extra")
    ca, other_ca = trustme.CA(), trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    untrusting = ssl.create_default_context()
    other_ca.configure_trust(untrusting)
    return {"server": server_context, "trusting": trusting, "untrusting": untrusting}


def test_tls_verified_handshake(h: Harness, serve: Callable[..., Server], tls: dict[str, Any]) -> None:
    b, server = h.backend, serve(ssl_context=tls["server"])

    async def scenario() -> None:
        for host in ("localhost", "127.0.0.1"):
            stream = await h.get(
                b.open_stream(host, server.port, timeout=5, ssl_context=tls["trusting"])
            )
            payload = b"secret" * 50000  # several TLS records
            await h.get(stream.send_all(payload, 5))
            assert await h.get(stream.receive_exactly(len(payload), 5)) == payload
            await h.get(stream.close())
            assert stream.is_closed

    h.run(scenario)


def test_tls_wrong_hostname_is_refused(
    h: Harness, serve: Callable[..., Server], tls: dict[str, Any]
) -> None:
    b, server = h.backend, serve(ssl_context=tls["server"])

    async def scenario() -> None:
        with pytest.raises(AutoReconnect) as caught:
            await h.get(
                b.open_stream(
                    "127.0.0.1",
                    server.port,
                    timeout=5,
                    ssl_context=tls["trusting"],
                    server_hostname="wrong.example",
                )
            )
        message = str(caught.value)
        assert message.startswith(f"TLS handshake with 127.0.0.1:{server.port} failed: ")
        assert "certificate verify failed: Hostname mismatch" in message
        assert "'wrong.example'" in message
        assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)

    h.run(scenario)


def test_tls_untrusted_ca_is_refused(
    h: Harness, serve: Callable[..., Server], tls: dict[str, Any]
) -> None:
    b, server = h.backend, serve(ssl_context=tls["server"])

    async def scenario() -> None:
        with pytest.raises(AutoReconnect) as caught:
            await h.get(
                b.open_stream("localhost", server.port, timeout=5, ssl_context=tls["untrusting"])
            )
        message = str(caught.value)
        assert "certificate verify failed: unable to get local issuer certificate" in message
        assert f"localhost:{server.port}" in message
        assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)

    h.run(scenario)


def test_tls_handshake_timeout(h: Harness, serve: Callable[..., Server], tls: dict[str, Any]) -> None:
    silent = threading.Event()

    def never_speaks(conn: socket.socket) -> None:
        silent.wait(JOIN_TIMEOUT)

    b, server = h.backend, serve(never_speaks)

    async def scenario() -> None:
        start = b.monotonic()
        with pytest.raises(NetworkTimeout) as caught:
            await h.get(
                b.open_stream("localhost", server.port, timeout=0.3, ssl_context=tls["trusting"])
            )
        assert_took(b.monotonic() - start, 0.3)
        assert str(caught.value) == (
            f"timed out after 0.3s in the TLS handshake with localhost:{server.port}"
        )
        silent.set()

    h.run(scenario)


# ------------------------------------------------------------------ shared pieces


def test_receive_buffer_reuses_and_grows() -> None:
    buffer = base.ReceiveBuffer()
    space = buffer.free_space()
    space[:5] = b"hello"
    del space
    buffer.advance(5)
    assert len(buffer) == 5 and buffer.take(2) == b"he"
    buffer.reserve(3 * 1024 * 1024)  # a large reply is read in place
    space = buffer.free_space()
    assert len(space) >= 3 * 1024 * 1024 - 3
    del space
    assert buffer.take(3) == b"llo" and len(buffer) == 0
    assert len(buffer.free_space()) == 64 * 1024  # emptied: back to the small buffer


def test_error_messages() -> None:
    assert base.format_peer("db.example", 27017) == "db.example:27017"
    assert base.format_peer("::1", 1) == "[::1]:1"
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")
    both = base.connect_error("localhost:1", [("[::1]:1", refused), ("127.0.0.1:1", refused)], 5)
    assert str(both) == (
        "could not connect to localhost:1: [::1]:1: [Errno 111] Connection refused; "
        "127.0.0.1:1: [Errno 111] Connection refused"
    )
    timeouts = base.connect_error("h:1", [("10.0.0.1:1", TimeoutError())], 2.5)
    assert isinstance(timeouts, NetworkTimeout)
    assert str(timeouts) == "timed out after 2.5s connecting to h:1 (tried 10.0.0.1:1)"
    assert str(base.send_timeout("h:1", 10, None)) == "timed out after no timeout sending 10 bytes to h:1"
    assert base.literal_addrinfo("db.example", 1) is None
    assert base.literal_addrinfo("::1", 1) is not None


def test_modules_import_without_pulling_in_each_other() -> None:
    # The sync client must not pay for asyncio; this checks the module list, not timing.
    assert isinstance(sync_backend, ModuleType)
    assert "asyncio" not in vars(sync_backend)
    assert "asyncio" not in vars(base)
