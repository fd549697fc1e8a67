"""The test server tooling: the session fixture answers, and a stopped server is gone."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from tools import testserver
from tools.testserver import TestServer, TestServerError

ROOT = Path(__file__).resolve().parent.parent


def port_is_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_until_closed(port: int, timeout: float = 15.0) -> bool:
    """Poll until nothing listens on ``port``, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_is_open(port):
            return True
        time.sleep(0.05)
    return not port_is_open(port)


def test_fixture_server_answers_ping_insert_and_find(mongodb_uri: str) -> None:
    pymongo = pytest.importorskip("pymongo")
    from bson import ObjectId  # PyMongo's, as a reference; allowed in tests only

    client = pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=10_000)
    try:
        assert client.admin.command("ping")["ok"] == 1.0
        coll = client["feldspar_test"]["testserver"]
        oid = ObjectId()
        coll.insert_one({"_id": oid, "name": "feldspar", "n": 1})
        assert coll.find_one({"_id": oid}) == {"_id": oid, "name": "feldspar", "n": 1}
        coll.delete_one({"_id": oid})
    finally:
        client.close()


def test_hand_rolled_hello_matches_bson() -> None:
    # {"hello": 1, "$db": "admin"} as the BSON spec lays it out, byte by byte.
    expected = (
        b"\x1f\x00\x00\x00\x10hello\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00"
    )
    assert testserver._encode_document({"hello": 1, "$db": "admin"}) == expected
    message = testserver._hello_message(7)
    header = struct.unpack("<iiii", message[:16])
    assert header == (len(message), 7, 0, 2013)  # length, requestID, responseTo, OP_MSG
    assert message[16:] == b"\x00\x00\x00\x00\x00" + expected


def test_stop_really_stops() -> None:
    server = TestServer()
    with server:
        port, pid = server.port, server.pid
        was_running = server.running
        assert server.uri == f"mongodb://127.0.0.1:{port}/?directConnection=true"
        testserver._probe("127.0.0.1", port, 5.0, None)  # answers a real hello
        log_dir = server.log_path.parent if server.log_path else None
    assert was_running
    assert (server.running, server.pid) == (False, None)
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stop() reaped it: the pid is gone, not a zombie
    assert not port_is_open(port)
    assert log_dir is not None and not log_dir.exists()
    server.stop()  # idempotent


def test_failed_start_reports_server_output() -> None:
    server = TestServer(["--no-such-option"])
    with pytest.raises(TestServerError, match="no-such-option") as info:
        server.start()
    assert "exited with code" in str(info.value)
    assert not server.running
    if server.log_path is not None:  # kept for the reader of the error; clean up here
        for path in sorted(server.log_path.parent.iterdir()):
            path.unlink()
        server.log_path.parent.rmdir()


def test_missing_executable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/bin/python")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TestServerError, match="secantusd-py was not found"):
        testserver.find_secantusd()
    with pytest.raises(TestServerError, match="cannot run"):
        TestServer(executable="/nonexistent/secantusd-py").start()


def test_host_and_port_options_are_refused() -> None:
    with pytest.raises(ValueError, match="--port"):
        TestServer(["--port", "1"])


CHILD = textwrap.dedent(
    """
    import sys
    from tools.testserver import TestServer
    server = TestServer().start()
    print(server.port, server.log_path.parent, flush=True)
    sys.stdin.read()  # block until the test signals us
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    "signum",
    [
        pytest.param(signal.SIGINT, id="SIGINT"),
        pytest.param(signal.SIGTERM, id="SIGTERM"),
        pytest.param(
            signal.SIGKILL,
            id="SIGKILL",
            marks=pytest.mark.skipif(
                not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only"
            ),
        ),
    ],
)
def test_server_dies_with_its_parent(signum: signal.Signals) -> None:
    """Ctrl-C, SIGTERM, even SIGKILL of the process that started it stop the server."""
    pythonpath = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # returns once the server is up (or the child died)
        if not line.strip():
            child.kill()
            _, err = child.communicate(timeout=30)
            pytest.fail(f"child did not start a server:\n{err}")
        port_text, log_dir = line.split(maxsplit=1)
        port = int(port_text)
        assert port_is_open(port)
        child.send_signal(signum)
        child.wait(timeout=30)
        if signum == signal.SIGKILL:
            # Nothing ran in the child; the kernel's parent-death signal kills the server.
            assert wait_until_closed(port), f"server on port {port} outlived a SIGKILLed parent"
        else:
            # atexit (after KeyboardInterrupt) or the SIGTERM handler stopped it first.
            assert not port_is_open(port), f"server on port {port} outlived its parent"
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)
    # A SIGKILLed parent cannot remove its log directory; do it for it.
    shutil.rmtree(log_dir.strip(), ignore_errors=True)


def test_stale_directories_are_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid.wait(timeout=30)  # reaped, so its pid is free
    stale = tmp_path / "feldspar-secantusd-stale"
    alive = tmp_path / "feldspar-secantusd-alive"
    unowned = tmp_path / "feldspar-secantusd-starting"
    for path in (stale, alive, unowned):
        path.mkdir()
    (stale / "owner.pids").write_text(f"{dead_pid.pid} {dead_pid.pid}\n")
    (alive / "owner.pids").write_text(f"{os.getpid()} {dead_pid.pid}\n")
    testserver._sweep_stale_workdirs()
    assert not stale.exists()
    assert alive.exists()
    assert unowned.exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_leaves_the_server_alone() -> None:
    with TestServer() as server:
        pid = os.fork()
        if pid == 0:  # the child: what a fork-safety test's child does on its way out
            try:
                server.stop()
                testserver._stop_all()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert server.running
        testserver._probe("127.0.0.1", server.port, 5.0, None)
