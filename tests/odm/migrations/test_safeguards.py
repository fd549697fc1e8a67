"""Safeguards around applying: bad targets are usage errors, two histories under one
number are refused, edited migrations are drift, ``init`` never rewrites a recorded
history, views are not listed for indexes, and a rebuild without a bridge is flagged
in the generated file."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver import MongoClient
from odm.migrations import MigrationError, Migrator, plan
from odm.migrations.cli import main
from odm.migrations.files import render
from tests.odm.migrations.runner_helpers import create, database, spec, write_history

__all__ = ["database"]


def _uri(mongodb_uri: str, name: str) -> str:
    base, _, query = mongodb_uri.partition("?")
    return f"{base.rstrip('/')}/{name}" + (f"?{query}" if query else "")


def test_bad_targets_are_usage_errors(
    capsys: pytest.CaptureFixture[str], database: tuple[MongoClient, str], mongodb_uri: str,
    tmp_path: Path,
) -> None:
    _, name = database
    write_history(tmp_path, [("first", [create("c", spec("a_1", [("a", 1)]))])])
    common = ["--uri", mongodb_uri, "--database", name, "--dir", str(tmp_path)]
    assert main(["apply", "--to", "9", *common]) == 2
    assert "no migration 0009" in capsys.readouterr().err
    assert main(["rollback", "--to", "-1", *common]) == 2
    assert main(["apply", "--lock-ttl", "0", *common]) == 2
    assert main(["apply", "--lock-ttl", "30", *common]) == 0


def test_two_histories_under_one_number_are_refused(
    database: tuple[MongoClient, str], mongodb_uri: str, tmp_path: Path
) -> None:
    client, name = database
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    write_history(ours, [("first", [create("c", spec("a_1", [("a", 1)]))])])
    write_history(theirs, [("other", [create("c", spec("b_1", [("b", 1)]))])])
    with Migrator(client, ours, database=name) as migrator:
        migrator.apply()
    with Migrator(client, theirs, database=name) as migrator, pytest.raises(
        MigrationError, match=r"0001_first recorded.*0001_other"
    ):
        migrator.apply()
    assert "b_1" not in [i["name"] for i in client[name]["c"].list_indexes()]


def test_an_edited_applied_migration_is_drift(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path, [
        ("first", [create("c", spec("a_1", [("a", 1)]))]),
        ("second", [create("c", spec("b_1", [("b", 1)]))]),
    ])
    with Migrator(client, tmp_path, database=name) as migrator:
        migrator.apply()
        assert migrator.check().is_clean
        first = tmp_path / "0001_first.py"
        first.write_text(first.read_text() + "\n# edited after it was applied\n")
        drift = migrator.check()
        assert not drift.is_clean
        assert any("0001_first was edited" in line for line in drift.lines())


def test_init_never_rewrites_a_recorded_history(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path / "old", [("first", [create("c", spec("a_1", [("a", 1)]))])])
    with Migrator(client, tmp_path / "old", database=name) as migrator:
        migrator.apply()
    with Migrator(client, tmp_path / "new", database=name) as migrator, pytest.raises(
        MigrationError, match="recorded already"
    ):
        migrator.init_from_db()
    assert not (tmp_path / "new").exists() or not list((tmp_path / "new").iterdir())


def test_views_are_left_out_of_the_live_state(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    client[name]["c"].create_index("a")
    try:
        client[name].command({"create": "v", "viewOn": "c", "pipeline": []})
    except Exception as exc:  # the server's own refusal, named in the skip
        pytest.skip(f"the test server cannot create views: {exc}")
    with Migrator(client, tmp_path, database=name) as migrator:
        assert sorted(migrator.live_state()) == ["c"]


def test_a_rebuild_without_a_bridge_is_flagged_in_the_file() -> None:
    text_index = {"name": "_fts_text", "keys": [["_fts", "text"], ["_ftsx", 1]]}
    old = {"c": [{**text_index, "options": {"weights": {"a": 1}}}]}
    new = {"c": [{**text_index, "options": {"weights": {"a": 2}}}]}
    operations = plan(old, new)
    assert [op["op"] for op in operations] == ["drop_index", "create_index"]
    assert "Rebuilt without a bridge" in render(2, "weights", operations, new)
    plain = {"c": [{"name": "a_1", "keys": [["a", 1]], "options": {}}]}
    assert "without a bridge" not in render(1, "add", plan({}, plain), plain)
