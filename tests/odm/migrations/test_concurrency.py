"""Two processes applying at once, and an apply killed in the middle: real processes
(``python -m odm.migrations``) on one database, coordinated through the runner's test
hook (``FELDSPAR_MIGRATIONS_TEST_HOOK``) and files, never by sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from driver import MongoClient
from odm.migrations.runner import MIGRATIONS_COLLECTION, Migrator
from odm.migrations.state import states_equal
from tests.odm.migrations.runner_helpers import cli, database, write_history
from tests.odm.migrations.test_runner import HISTORY

__all__ = ["database"]

TIMEOUT = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def uri_of(mongodb_uri: str, name: str) -> list[str]:
    return ["--uri", mongodb_uri, "--database", name]


def test_two_processes_apply_at_once_one_waits(
    database: tuple[MongoClient, str], mongodb_uri: str, tmp_path: Path
) -> None:
    client, name = database
    states = write_history(tmp_path / "migrations", HISTORY)
    signal = tmp_path / "signal"
    directory = ["--dir", str(tmp_path / "migrations")]
    first = cli("apply", *uri_of(mongodb_uri, name), *directory,
                env={"FELDSPAR_MIGRATIONS_TEST_HOOK": f"hold-lock:{signal}"})
    wait_for(Path(f"{signal}.locked").exists, "the first process to take the lock")
    second = cli("apply", *uri_of(mongodb_uri, name), *directory)
    assert second.stdout is not None
    line = second.stdout.readline()  # blocks until the second one reports its wait
    assert line.startswith("waiting for the migration lock: apply by pid "), line
    assert f"pid {first.pid} " in line
    Path(f"{signal}.go").touch()
    out1, err1 = first.communicate(timeout=TIMEOUT)
    out2, err2 = second.communicate(timeout=TIMEOUT)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    assert "0005_rename_items: applied" in out1
    assert "applied" not in out2.replace("migration(s) applied", "")
    assert "nothing to apply: 5 migration(s) applied" in out2
    runner = Migrator(client, tmp_path / "migrations", database=name)
    assert states_equal(states[-1], runner.live_state())
    assert client[name][MIGRATIONS_COLLECTION].count_documents({"number": {"$exists": True}}) == 5


def test_second_process_gives_up_after_its_lock_timeout(
    database: tuple[MongoClient, str], mongodb_uri: str, tmp_path: Path
) -> None:
    _, name = database
    write_history(tmp_path / "migrations", HISTORY[:1])
    signal = tmp_path / "signal"
    directory = ["--dir", str(tmp_path / "migrations")]
    first = cli("apply", *uri_of(mongodb_uri, name), *directory,
                env={"FELDSPAR_MIGRATIONS_TEST_HOOK": f"hold-lock:{signal}"})
    try:
        wait_for(Path(f"{signal}.locked").exists, "the first process to take the lock")
        second = cli("apply", *uri_of(mongodb_uri, name), *directory, "--lock-timeout", "0.2")
        out2, err2 = second.communicate(timeout=TIMEOUT)
        assert second.returncode == 4, (out2, err2)
        assert err2.startswith("error: another process holds the migration lock of database ")
        assert f"apply by pid {first.pid} on " in err2
    finally:
        Path(f"{signal}.go").touch()
        first.communicate(timeout=TIMEOUT)
    assert first.returncode == 0


def test_a_killed_apply_is_finished_by_the_next(
    database: tuple[MongoClient, str], mongodb_uri: str, tmp_path: Path
) -> None:
    client, name = database
    client[name]["items"].insert_many([{"a": i, "b": i} for i in range(3)])
    states = write_history(tmp_path / "migrations", HISTORY)
    directory = ["--dir", str(tmp_path / "migrations")]
    killed = cli("apply", *uri_of(mongodb_uri, name), *directory,
                 env={"FELDSPAR_MIGRATIONS_TEST_HOOK": "exit-after-op:2"})
    out, err = killed.communicate(timeout=TIMEOUT)
    assert killed.returncode == 70, (out, err)  # gone without releasing anything
    runner = Migrator(client, tmp_path / "migrations", database=name)
    assert [(e.state, e.done) for e in runner.status()][:2] == [("partial", 2), ("pending", None)]
    assert client[name][MIGRATIONS_COLLECTION].find_one({"_id": "lock"}) is not None
    # The lock's holder is gone (same host, dead pid): the next apply takes over.
    again = cli("apply", *uri_of(mongodb_uri, name), *directory, "--lock-timeout", "5")
    out, err = again.communicate(timeout=TIMEOUT)
    assert again.returncode == 0, (out, err)
    assert "took over a stale lock: apply by pid" in out
    assert "0001_initial: resuming upgrade at operation 3 of 3" in out
    assert states_equal(states[-1], runner.live_state())
    assert [e.state for e in runner.status()] == ["applied"] * 5
    assert client[name][MIGRATIONS_COLLECTION].find_one({"_id": "lock"}) is None
