"""``python -m odm.migrations``: commands, output and exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from driver import MongoClient
from odm.migrations import cli as cli_module
from odm.migrations.cli import main
from tests.odm.migrations.runner_helpers import cli, create, database, spec, write_history

__all__ = ["database"]

MODELS = '''
from typing import Annotated
from odm import Document, Indexed

class Item(Document, collection="items"):
    a: Annotated[int, Indexed()]
    b: Annotated[str, Indexed(unique=True)]
'''


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for line in ("0  done", "1  check: drift", "2  usage error", "3  a migration", "4  another process"):
        assert line in out
    assert "Exit codes:" in (cli_module.__doc__ or "")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Path) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    code, _, err = run(capsys, "status", "--dir", str(tmp_path))
    assert (code, err) == (2, "error: no connection string: pass --uri or set MONGODB_URI\n")
    code, _, err = run(capsys, "make", "--dir", str(tmp_path))
    assert code == 2 and "--models is required" in err
    code, _, err = run(capsys, "make", "--models", "no_such_module_here", "--dir", str(tmp_path))
    assert code == 2 and "cannot import the models module" in err
    code, _, err = run(capsys, "status", "--uri", "mongodb://127.0.0.1:1", "--dir", str(tmp_path))
    assert code == 2 and "no database" in err
    with pytest.raises(SystemExit) as exited:
        main(["rollback"])  # --to is required
    assert exited.value.code == 2


def test_passwords_are_never_printed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "status", "--uri", "mongodb://ada:s3cret@127.0.0.1:1/db?bad=%zz",
                         "--dir", str(tmp_path))
    assert code == 2 and "mongodb://ada:***@127.0.0.1:1/db" in err
    assert "s3cret" not in out + err


def test_make_apply_status_check_rollback(
    capsys: pytest.CaptureFixture[str], database: tuple[MongoClient, str], mongodb_uri: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, name = database
    (tmp_path / "cli_models_a.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MONGODB_URI", mongodb_uri)
    target = ["--database", name]
    assert run(capsys, "make", "--models", "cli_models_a") == (
        0, f"wrote {Path('migrations') / '0001_initial.py'}\n", "")
    assert run(capsys, "make", "--models", "cli_models_a") == (0, "no index changes: nothing written\n", "")
    code, out, _ = run(capsys, "make", "--manual", "--name", "Backfill things")
    assert code == 0 and "0002_backfill_things.py (manual" in out
    code, out, _ = run(capsys, "check", *target)
    assert code == 1
    assert out.splitlines() == [
        "pending migration: 0001_initial",
        "pending migration: 0002_backfill_things",
        "items: missing index a_1 {a: 1}",
        "items: missing index b_1 {b: 1}, unique=True",
        f"drift: 4 difference(s) in database {name}",
    ]
    code, out, _ = run(capsys, "apply", *target, "--to", "1")
    assert code == 0 and "0001_initial: applied" in out
    code, out, _ = run(capsys, "status", *target)
    lines = out.splitlines()
    assert lines[0].startswith("0001_initial: applied at ") and lines[1] == "0002_backfill_things: pending"
    assert run(capsys, "apply", *target)[0] == 0
    assert run(capsys, "check", *target) == (0, f"ok: database {name} has the expected indexes\n", "")
    assert run(capsys, "check", *target, "--models", "cli_models_a")[0] == 0
    client[name]["items"].create_index([("x", 1)])
    code, out, _ = run(capsys, "check", *target)
    assert code == 1 and "items: unexpected index x_1 {x: 1}" in out
    code, out, _ = run(capsys, "rollback", *target, "--to", "0")
    assert code == 0 and out.splitlines()[-1] == "0001_initial: rolled back"
    assert sorted(i["name"] for i in client[name]["items"].list_indexes()) == ["_id_", "x_1"]


def test_failure_exits_3_naming_the_index(
    database: tuple[MongoClient, str], mongodb_uri: str, tmp_path: Path
) -> None:
    client, name = database
    client[name]["items"].insert_many([{"e": 1}, {"e": 1}])
    write_history(tmp_path, [("unique_e", [create("items", spec("e_1", [("e", 1)], unique=True))])])
    process = cli("apply", "--uri", mongodb_uri, "--database", name, "--dir", str(tmp_path))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 3, (out, err)
    assert err.startswith("error: migration 0001_unique_e: operation 1 of 1 failed")
    assert "items: create index e_1" in err and "server error 11000" in err


def test_init_from_db(
    capsys: pytest.CaptureFixture[str], database: tuple[MongoClient, str], mongodb_uri: str,
    tmp_path: Path,
) -> None:
    client, name = database
    client[name]["people"].create_index([("email", 1)], unique=True)
    args = ["--uri", mongodb_uri, "--database", name, "--dir", str(tmp_path / "m")]
    code, out, _ = run(capsys, "init", "--from-db", *args)
    assert code == 0 and "0001_initial.py (1 operation(s)); recorded as applied" in out
    assert run(capsys, "check", *args)[0] == 0


def test_module_entry_point(tmp_path: Path) -> None:
    process = cli("--help")
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and out.startswith("usage: python -m odm.migrations")
    assert sys.executable
