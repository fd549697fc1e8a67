"""Start and stop a SecantusDB server for tests, benchmarks and the demo.

SecantusDB (``pip install SecantusDB``, a test-only tool) speaks the MongoDB wire
protocol. :class:`TestServer` runs ``secantusd-py`` as a subprocess on 127.0.0.1 with a
free port and in-memory storage, waits until it answers a real OP_MSG ``hello``, and
stops it again::

    with TestServer() as server:
        print(server.uri)  # mongodb://127.0.0.1:PORT/?directConnection=true

The server never outlives this process: :meth:`TestServer.stop` runs from the context
manager, from ``atexit`` (so also after Ctrl-C), and from a SIGTERM/SIGHUP handler; on
Linux the kernel also kills the server if this process dies without cleaning up
(``PR_SET_PDEATHSIG``). Server output goes to a log file in a temporary directory, and a
server that fails to start raises :class:`TestServerError` with the end of that log.

This module depends on the standard library only (no ``driver``, no ``pymongo``): the
readiness check hand-packs its one BSON document.

Run ``python -m tools.testserver [secantusd options]`` to keep a server in the
foreground until Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shlex
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from urllib.parse import quote

__all__ = [
    "DEFAULT_START_TIMEOUT",
    "DEFAULT_STOP_TIMEOUT",
    "TestServer",
    "TestServerError",
    "find_secantusd",
    "main",
]

EXECUTABLE_NAME = "secantusd-py"
HOST = "127.0.0.1"
DEFAULT_START_TIMEOUT = 30.0
DEFAULT_STOP_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 40
_OP_MSG = 2013
_MAX_REPLY_BYTES = 48 * 1000 * 1000
_PR_SET_PDEATHSIG = 1
_WORKDIR_PREFIX = "feldspar-secantusd-"
_OWNER_FILE = "owner.pids"


class TestServerError(RuntimeError):
    """The test server could not be found, started, or reached."""

    __test__ = False  # not a pytest test class


# --------------------------------------------------------------------------- finding


def find_secantusd() -> str:
    """Return the path of ``secantusd-py``: next to ``sys.executable`` first, then PATH."""
    beside = Path(sys.executable).parent / EXECUTABLE_NAME
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    on_path = shutil.which(EXECUTABLE_NAME)
    if on_path is not None:
        return on_path
    raise TestServerError(
        f"{EXECUTABLE_NAME} was not found next to {sys.executable} nor on PATH. "
        "Install SecantusDB into this environment (`make` does it through the dev "
        "extra: pip install -e '.[dev]'), or set MONGODB_URI to use a running server."
    )


# ------------------------------------------------------------- the readiness probe


def _cstring(text: str) -> bytes:
    data = text.encode("utf-8")
    if b"\x00" in data:
        raise ValueError(f"NUL byte in BSON key {text!r}")
    return data + b"\x00"


def _encode_document(doc: Mapping[str, int | str]) -> bytes:
    """Encode a flat document of int32 and string values as BSON."""
    body = bytearray()
    for key, value in doc.items():
        if isinstance(value, bool):
            raise TypeError("booleans are not supported by this tiny encoder")
        if isinstance(value, int):
            body += b"\x10" + _cstring(key) + struct.pack("<i", value)
        else:
            data = value.encode("utf-8")
            body += b"\x02" + _cstring(key) + struct.pack("<i", len(data) + 1) + data + b"\x00"
    return struct.pack("<i", len(body) + 5) + bytes(body) + b"\x00"


def _hello_message(request_id: int) -> bytes:
    """An OP_MSG (flagBits 0, one kind-0 section) carrying ``{hello: 1, $db: "admin"}``."""
    section = b"\x00" + _encode_document({"hello": 1, "$db": "admin"})
    body = struct.pack("<I", 0) + section
    return struct.pack("<iiii", 16 + len(body), request_id, 0, _OP_MSG) + body


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            raise ConnectionResetError("connection closed before the whole reply arrived")
        chunks += chunk
    return bytes(chunks)


class _PortTaken(Exception):
    """The picked port was taken between choosing it and the server binding it."""


class _NotMongoDB(Exception):
    """Something answered on the port, but not with an OP_MSG reply to our hello."""


def _probe(host: str, port: int, timeout: float, tls: ssl.SSLContext | None) -> None:
    """Send one ``hello`` and read the whole reply; OSError means "not ready yet"."""
    request_id = int.from_bytes(os.urandom(3), "little") + 1
    with socket.create_connection((host, port), timeout=timeout) as raw:
        sock = raw if tls is None else tls.wrap_socket(raw, server_hostname=host)
        try:
            sock.sendall(_hello_message(request_id))
            length, _, response_to, op_code = struct.unpack("<iiii", _recv_exactly(sock, 16))
            if op_code != _OP_MSG or response_to != request_id:
                raise _NotMongoDB(
                    f"reply has opCode {op_code} and responseTo {response_to}, "
                    f"expected {_OP_MSG} and {request_id}"
                )
            if not 21 <= length <= _MAX_REPLY_BYTES:
                raise _NotMongoDB(f"reply claims an impossible length of {length} bytes")
            body = _recv_exactly(sock, length - 16)
            if body[4] != 0 or struct.unpack_from("<i", body, 5)[0] != len(body) - 5:
                raise _NotMongoDB("reply body is not one kind-0 section holding one document")
        finally:
            if sock is not raw:
                sock.close()


# ------------------------------------------------------- cleanup at exit and signals

_LIVE: set[TestServer] = set()
_LIVE_LOCK = threading.RLock()
_SIGNALS_INSTALLED = False


def _stop_all() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def _on_fatal_signal(signum: int, frame: FrameType | None) -> None:
    _stop_all()
    # Die from the same signal, as if this handler had never been installed.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_signal_handlers() -> None:
    """Stop servers on SIGTERM/SIGHUP where nobody else handles those signals.

    SIGINT needs nothing: it raises KeyboardInterrupt, which unwinds context managers
    and then runs ``atexit``.
    """
    global _SIGNALS_INSTALLED
    if _SIGNALS_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    _SIGNALS_INSTALLED = True
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _on_fatal_signal)


def _forget_all_in_child() -> None:
    # A forked child (a fork-safety test, multiprocessing) inherits the parent's
    # list; the servers are the parent's to stop, never the child's.
    _LIVE.clear()


atexit.register(_stop_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_all_in_child)


def _libc_function(name: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    return function


_PRCTL = _libc_function("prctl")
_TGKILL = _libc_function("tgkill")


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when this process dies.

    SIGKILL because nothing else is sure to work: the kernel sends this signal to the
    whole process, and SecantusDB misses a SIGTERM that lands on one of its worker
    threads (see :meth:`TestServer._terminate`). The server's files are in its log
    directory, which a later start sweeps away. The kernel ties the signal to the
    thread that forks, so it is only used from the main thread (a worker thread that
    started a server and then ended would kill it).
    """
    prctl = _PRCTL
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    sigkill = int(signal.SIGKILL)

    def set_parent_death_signal() -> None:  # runs in the child, between fork and exec
        prctl(_PR_SET_PDEATHSIG, sigkill)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return set_parent_death_signal


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale_workdirs() -> None:
    """Remove the directories of servers whose starter and server are both gone.

    They are left behind only when the starting process was killed outright. A
    directory without an owner file is still being set up, so it is left alone.
    """
    for workdir in Path(tempfile.gettempdir()).glob(_WORKDIR_PREFIX + "*"):
        try:
            pids = [int(word) for word in (workdir / _OWNER_FILE).read_text().split()]
        except (OSError, ValueError):
            continue
        if pids and not any(_pid_alive(pid) for pid in pids):
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _has_option(args: Sequence[str], name: str) -> bool:
    return any(arg == name or arg.startswith(name + "=") for arg in args)


def _option_value(args: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1 :]
    return None


class TestServer:
    """One SecantusDB server process on 127.0.0.1.

    ``extra_args`` go to ``secantusd-py`` after the defaults, e.g. ``["--standalone"]``,
    ``["--auth", "--storage-path", str(path)]`` or the ``--tls-*`` options. A
    ``--storage-path`` there replaces the default ``:memory:``; ``--host`` and ``--port``
    are not allowed (use ``port=``). With ``--tls-cert-file`` the readiness probe speaks
    TLS with ``tls_context`` (default: encrypt, do not verify); a server started with
    ``--tls-require-client-cert`` needs a ``tls_context`` holding a client certificate.

    Without ``port`` a free port is picked for each start (retried if another process
    takes it first). ``keep_log`` keeps the log directory after :meth:`stop`; it is
    always kept when the server fails to start or dies on its own.
    """

    __test__ = False  # a tool, not a pytest test class

    def __init__(
        self,
        extra_args: Sequence[str] = (),
        *,
        port: int | None = None,
        executable: str | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
        keep_log: bool = False,
    ) -> None:
        args = [str(arg) for arg in extra_args]
        for forbidden in ("--host", "--port"):
            if _has_option(args, forbidden):
                raise ValueError(f"{forbidden} is chosen by TestServer; do not pass it")
        self.tls = _has_option(args, "--tls-cert-file")
        if self.tls and _has_option(args, "--tls-require-client-cert") and tls_context is None:
            raise ValueError(
                "--tls-require-client-cert needs tls_context= with a client certificate "
                "so that the readiness probe can connect"
            )
        if self.tls and tls_context is None:
            tls_context = ssl.create_default_context()
            tls_context.check_hostname = False
            tls_context.verify_mode = ssl.CERT_NONE
        self.extra_args: tuple[str, ...] = tuple(args)
        self.host = HOST
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.keep_log = keep_log
        self._requested_port = port
        self._executable = executable
        self._tls_context = tls_context if self.tls else None
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._command: list[str] = []
        self._lock = threading.RLock()
        self._owner_pid = os.getpid()

    # -- what callers read

    @property
    def port(self) -> int:
        """The port of the running (or last started) server."""
        if self._port is None:
            raise TestServerError("the test server has not been started")
        return self._port

    @property
    def uri(self) -> str:
        """``mongodb://127.0.0.1:PORT/?directConnection=true`` (plus TLS options if on)."""
        uri = f"mongodb://{self.host}:{self.port}/?directConnection=true"
        if self.tls:
            uri += "&tls=true"
            ca_file = _option_value(self.extra_args, "--tls-ca-file")
            if ca_file is not None:
                uri += "&tlsCAFile=" + quote(ca_file, safe="")
        return uri

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.pid

    @property
    def log_path(self) -> Path | None:
        """The server's output (stdout and stderr), while its directory exists."""
        return None if self._workdir is None else self._workdir / "server.log"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        path = self.log_path
        if path is None:
            return ""
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        where = f"{self.host}:{self._port}" if self._port is not None else "no port"
        return f"<TestServer {where} {state} pid={self.pid}>"

    # -- start and stop

    def start(self) -> TestServer:
        """Start the server and return once it answers ``hello``; returns ``self``."""
        with self._lock:
            if self._proc is not None:
                raise TestServerError(f"{self!r} is already started")
            executable = self._executable or find_secantusd()
            attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
            for attempt in range(1, attempts + 1):
                port = self._requested_port or _free_port()
                try:
                    self._launch(executable, port)
                    self._wait_until_ready()
                    return self
                except _PortTaken:
                    self._stop(keep_workdir=False)
                    if attempt == attempts:
                        raise TestServerError(
                            f"port {port} was taken by another process; gave up after "
                            f"{attempts} attempts"
                        ) from None
                except BaseException:
                    self._stop(keep_workdir=True)
                    raise
            raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``stop_timeout``); idempotent.

        The log directory is removed unless ``keep_log`` is set or the server had
        already died on its own (then its log tells why).
        """
        proc = self._proc
        died_on_its_own = proc is not None and proc.poll() is not None
        self._stop(keep_workdir=self.keep_log or died_on_its_own)

    def wait(self, timeout: float | None = None) -> int:
        """Block until the server exits and return its exit code."""
        proc = self._proc
        if proc is None:
            raise TestServerError("the test server has not been started")
        return proc.wait(timeout)

    def __enter__(self) -> TestServer:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals

    def _launch(self, executable: str, port: int) -> None:
        _sweep_stale_workdirs()
        workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
        command = [executable]
        if not _has_option(self.extra_args, "--config"):
            # An empty config file turns off secantusd's auto-discovery of
            # ./secantusd.toml and ~/.secantus/, so the developer's files cannot leak in.
            config = workdir / "secantusd.toml"
            config.write_text("# empty: every setting comes from the command line\n")
            command += ["--config", str(config)]
        command += ["--host", self.host, "--port", str(port)]
        if not _has_option(self.extra_args, "--storage-path"):
            command += ["--storage-path", ":memory:"]
        if "--enable-test-commands" not in self.extra_args:
            command.append("--enable-test-commands")
        command += self.extra_args
        self._workdir = workdir
        self._command = command
        self._owner_pid = os.getpid()
        self._port = port
        try:
            with open(workdir / "server.log", "wb") as log:
                self._proc = subprocess.Popen(
                    command,
                    # SecantusDB's ":memory:" storage is a temporary directory: keep
                    # it inside ours, so that removing ours never leaves it behind.
                    env={**os.environ, "TMPDIR": str(workdir)},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C in a terminal reaches us, not the server
                    preexec_fn=_parent_death_signal(),
                )
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            self._workdir = None
            raise TestServerError(f"cannot run {executable}: {exc}") from exc
        with _LIVE_LOCK:
            _LIVE.add(self)
        _install_signal_handlers()
        (workdir / _OWNER_FILE).write_text(f"{os.getpid()} {self._proc.pid}\n")

    def _wait_until_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + self.start_timeout
        last_error: OSError | None = None
        while True:
            code = proc.poll()
            if code is not None:
                tail = self.log_tail()
                if "address already in use" in tail.lower() and self._requested_port is None:
                    raise _PortTaken
                raise TestServerError(self._describe(f"exited with code {code} before it answered"))
            remaining = deadline - time.monotonic()
            try:
                _probe(self.host, self.port, max(0.05, min(2.0, remaining)), self._tls_context)
                return
            except _NotMongoDB as exc:
                raise TestServerError(
                    self._describe(f"answered, but not as MongoDB: {exc}")
                ) from None
            except OSError as exc:
                last_error = exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TestServerError(
                    self._describe(
                        f"did not answer hello within {self.start_timeout:g}s "
                        f"(last error: {last_error!r})"
                    )
                )
            # Wait for the process to exit or for the next probe, whichever is first.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=min(_POLL_INTERVAL, remaining))

    def _describe(self, what: str) -> str:
        return (
            f"SecantusDB on {self.host}:{self._port} {what}.\n"
            f"command: {shlex.join(self._command)}\n"
            f"log: {self.log_path}\n"
            f"--- last lines of the server's output ---\n{self.log_tail() or '(no output)'}"
        )

    def _kill_group(self, proc: subprocess.Popen[bytes], signum: int) -> None:
        # The server leads its own process group (start_new_session), so signal the
        # group. Only called while the child is unreaped, so its pid is still ours.
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass
        except OSError:
            proc.send_signal(signum)

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        """Ask the server to shut down cleanly (it then removes its storage).

        SecantusDB's main thread sleeps on a lock until its SIGTERM handler stops it,
        and Python runs signal handlers only in the main thread. A signal sent to the
        process may be handed by the kernel to another thread, which does not wake
        the main thread, and the server would hang. So on Linux aim it at the main
        thread, whose thread id is the pid.
        """
        if _TGKILL is not None and _TGKILL(proc.pid, proc.pid, int(signal.SIGTERM)) == 0:
            return
        self._kill_group(proc, signal.SIGTERM)

    def _poke(self) -> None:
        """Connect once: that wakes the server's accept thread, so it sees the stop."""
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.2):
            pass

    def _stop(self, *, keep_workdir: bool) -> None:
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            if os.getpid() != self._owner_pid:  # in a forked child: not ours to stop
                return
            try:
                if proc.poll() is None:
                    self._terminate(proc)
                    deadline = time.monotonic() + self.stop_timeout
                    while True:
                        remaining = deadline - time.monotonic()
                        try:
                            proc.wait(timeout=max(0.0, min(_POLL_INTERVAL, remaining)))
                            break
                        except subprocess.TimeoutExpired:
                            pass
                        if remaining <= 0:
                            self._kill_group(proc, signal.SIGKILL)
                            proc.wait(timeout=self.stop_timeout)
                            break
                        self._poke()
            finally:
                self._proc = None
                with _LIVE_LOCK:
                    _LIVE.discard(self)
                if self._workdir is not None and not keep_workdir:
                    shutil.rmtree(self._workdir, ignore_errors=True)
                    self._workdir = None


def main(argv: Sequence[str] | None = None) -> int:
    """Run a server in the foreground until Ctrl-C; arguments go to ``secantusd-py``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        server = TestServer(args).start()
    except (TestServerError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"SecantusDB is up: {server.uri}\nlog: {server.log_path}\nCtrl-C stops it.", flush=True)
    try:
        code = server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
    print(f"SecantusDB exited with code {code}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
