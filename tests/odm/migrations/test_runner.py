"""The migration runner against a server: apply, rollback, status, check, init, dry
runs, failures, and the async runner from code."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import pytest

from driver import AsyncMongoClient, MongoClient
from odm import Document, Indexed
from odm.migrations.runner import (
    MIGRATIONS_COLLECTION,
    AsyncMigrator,
    MigrationError,
    Migrator,
)
from odm.migrations.state import states_equal
from tests.odm.migrations.runner_helpers import (
    create,
    database,
    index_names,
    spec,
    write_history,
)

__all__ = ["database"]  # the fixture, used by name

A = spec("a_1", [("a", 1)])
B = spec("b_1", [("b", 1)], unique=True)
T = spec("t_1", [("t", 1)], expireAfterSeconds=60)
A_RENAMED = spec("a_idx", [("a", 1)])
CD = spec("c_1_d_-1", [("c", 1), ("d", -1)])

HISTORY = [
    ("initial", [create("items", A), create("items", B), create("items", T)]),
    ("ttl", [{"op": "modify_index", "collection": "items", "name": "t_1",
              "options": {"expireAfterSeconds": 120}, "previous": {"expireAfterSeconds": 60}}]),
    ("rename_a", [{"op": "rename_index", "collection": "items", "from": A, "to": A_RENAMED}]),
    ("compound", [create("items", CD), {"op": "drop_index", "collection": "items", "index": B}]),
    ("rename_items", [{"op": "rename_collection", "from": "items", "to": "goods"}]),
]


def migrator(client: MongoClient, name: str, directory: Path, lines: list[str] | None = None) -> Migrator:
    return Migrator(client, directory, database=name, log=None if lines is None else lines.append)


def test_history_applied_step_by_step_then_rolled_back_to_zero(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    client[name]["items"].insert_many([{"a": i, "b": i, "t": i, "c": i, "d": i} for i in range(5)])
    states = write_history(tmp_path, HISTORY)
    runner = migrator(client, name, tmp_path)
    for number, expected in enumerate(states, start=1):
        assert runner.apply(to=number) == [f"{number:04d}_{HISTORY[number - 1][0]}"]
        assert states_equal(expected, runner.live_state()), (number, runner.live_state())
        assert runner.check().is_clean if number == len(states) else not runner.check().is_clean
    assert runner.apply() == []
    assert [entry.state for entry in runner.status()] == ["applied"] * 5
    assert client[name]["goods"].count_documents({}) == 5
    assert runner.rollback(to=2) == ["0005_rename_items", "0004_compound", "0003_rename_a"]
    assert states_equal(states[1], runner.live_state())
    runner.rollback(to=0)
    assert runner.live_state() == {}
    assert index_names(client, name, "items") == ["_id_"]
    assert [entry.state for entry in runner.status()] == ["pending"] * 5
    assert client[name][MIGRATIONS_COLLECTION].count_documents({}) == 0  # no lock left


def test_records_hold_number_name_checksum_and_time(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path, HISTORY[:1])
    migrator(client, name, tmp_path).apply()
    record = client[name][MIGRATIONS_COLLECTION].find_one({"number": 1})
    assert record is not None
    assert record["name"] == "initial" and record["state"] == "applied" and record["done"] == 3
    assert len(record["checksum"]) == 64 and record["applied_at"] is not None


def test_status_reports_a_file_changed_after_it_was_applied(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path, HISTORY[:2])
    runner = migrator(client, name, tmp_path)
    runner.apply(to=1)
    path = tmp_path / "0001_initial.py"
    path.write_text(path.read_text() + "# edited\n")
    assert [(e.number, e.state) for e in runner.status()] == [(1, "changed"), (2, "pending")]
    assert str(runner.status()[1]) == "0002_ttl: pending"


def test_dry_run_prints_the_exact_commands_and_changes_nothing(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path, HISTORY[:3])
    lines: list[str] = []
    runner = migrator(client, name, tmp_path, lines)
    runner.apply(to=2)
    lines.clear()
    assert runner.apply(dry_run=True) == ["0003_rename_a"]
    assert lines == [
        f"would apply 1 migration(s) to database {name}",
        "0003_rename_a: upgrade, 1 operation(s)",
        "  [1/1] items: rename index a_1 to a_idx {a: 1}",
        f'    {name}: {{"createIndexes": "items", "indexes": [{{"name": "a_1__bridge", '
        '"key": {"a": 1, "__odm_migration_bridge": 1}}]}',
        f'    {name}: {{"dropIndexes": "items", "index": "a_1"}}',
        f'    {name}: {{"createIndexes": "items", "indexes": [{{"name": "a_idx", "key": {{"a": 1}}}}]}}',
        f'    {name}: {{"dropIndexes": "items", "index": "a_1__bridge"}}',
    ]
    assert "a_1" in index_names(client, name, "items")
    assert [entry.state for entry in runner.status()] == ["applied", "applied", "pending"]
    lines.clear()
    runner.rollback(to=1, dry_run=True)
    assert lines[-1] == (
        f'    {name}: {{"collMod": "items", "index": {{"name": "t_1", "expireAfterSeconds": 60}}}}'
    )
    assert client[name]["items"].index_information()["t_1"]["expireAfterSeconds"] == 120


def test_check_reports_an_index_added_by_hand(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path, HISTORY[:1])
    runner = migrator(client, name, tmp_path)
    runner.apply()
    assert runner.check().is_clean
    client[name]["items"].create_index([("manual", 1)], name="manual_1")
    drift = runner.check()
    assert not drift.is_clean
    assert drift.lines() == ["items: unexpected index manual_1 {manual: 1}"]


def test_check_against_models(database: tuple[MongoClient, str], tmp_path: Path) -> None:
    class Item(Document, collection="items"):
        a: Annotated[int, Indexed()]

    client, name = database
    write_history(tmp_path, HISTORY[:1])
    runner = migrator(client, name, tmp_path)
    runner.apply()
    lines = runner.check([Item]).lines()
    assert lines == [
        "items: unexpected index b_1 {b: 1}, unique=True",
        "items: unexpected index t_1 {t: 1}, expireAfterSeconds=60",
    ]


def test_unique_index_on_duplicates_names_the_problem_and_keeps_earlier_operations(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    items = client[name]["items"]
    items.insert_many([{"e": "same"}, {"e": "same"}, {"f": 1}])
    E = spec("e_1", [("e", 1)], unique=True)
    write_history(tmp_path, [
        ("initial", [create("items", A)]),
        ("unique_e", [create("items", spec("f_1", [("f", 1)])), create("items", E)]),
    ])
    runner = migrator(client, name, tmp_path)
    with pytest.raises(MigrationError) as caught:
        runner.apply()
    error = caught.value
    assert error.migration == "0002_unique_e"
    assert (error.collection, error.index, error.code) == ("items", "e_1", 11000)
    assert "duplicate key" in str(error) and "operation 2 of 2" in str(error)
    assert "items: create index e_1" in str(error)
    assert [(e.state, e.done) for e in runner.status()] == [("applied", None), ("partial", 1)]
    assert index_names(client, name, "items") == ["_id_", "a_1", "f_1"]
    assert client[name][MIGRATIONS_COLLECTION].find_one({"_id": "lock"}) is None
    # Fix the data: the next apply resumes at operation 2.
    items.delete_one({"e": "same"})
    lines: list[str] = []
    runner = migrator(client, name, tmp_path, lines)
    assert runner.apply() == ["0002_unique_e"]
    assert "0002_unique_e: resuming upgrade at operation 2 of 2" in lines
    assert runner.check().is_clean


def test_every_operation_is_safe_to_repeat(database: tuple[MongoClient, str], tmp_path: Path) -> None:
    client, name = database
    states = write_history(tmp_path, HISTORY)
    runner = migrator(client, name, tmp_path)
    records = client[name][MIGRATIONS_COLLECTION]
    for number, expected in enumerate(states, start=1):
        runner.apply(to=number)
        # As if killed before the record moved: every operation runs again.
        records.update_one({"_id": number}, {"$set": {"state": "applying", "done": 0}})
        assert runner.status()[number - 1].state == "partial"
        runner.apply(to=number)
        assert states_equal(expected, runner.live_state()), number
    # Rolling back is safe to repeat too.
    runner.rollback(to=3)
    records.insert_one({"_id": 4, "number": 4, "name": "compound", "state": "rolling back", "done": 0})
    runner.rollback(to=3)
    assert states_equal(states[2], runner.live_state())


def test_unique_change_with_collmod(database: tuple[MongoClient, str], tmp_path: Path) -> None:
    client, name = database
    client[name]["items"].insert_many([{"a": 1}, {"a": 2}])
    write_history(tmp_path, [
        ("initial", [create("items", A)]),
        ("unique_a", [{"op": "modify_index", "collection": "items", "name": "a_1",
                       "options": {"unique": True}, "previous": {"unique": None}}]),
    ])
    runner = migrator(client, name, tmp_path)
    runner.apply()
    assert client[name]["items"].index_information()["a_1"].get("unique") is True
    assert runner.check().is_clean


def test_init_from_db_writes_the_first_migration_and_records_it(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    client[name]["people"].create_index([("email", 1)], unique=True)
    client[name]["people"].create_index([("age", -1), ("name", 1)])
    runner = migrator(client, name, tmp_path / "migrations")
    path = runner.init_from_db()
    assert path.name == "0001_initial.py"
    assert [(e.number, e.state) for e in runner.status()] == [(1, "applied")]
    assert runner.check().is_clean
    assert runner.apply() == []
    with pytest.raises(MigrationError, match="has migrations already"):
        runner.init_from_db()
    runner.rollback(to=0)
    assert index_names(client, name, "people") == ["_id_"]


def test_a_bad_operation_in_a_manual_migration_names_the_file(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    (tmp_path / "0001_manual.py").write_text(
        "NUMBER = 1\nNAME = 'manual'\nOPERATIONS: list[dict] = []\nSTATE: dict = {}\n\n"
        "def upgrade(ctx):\n    ctx.run([{'op': 'explode'}])\n\n"
        "def downgrade(ctx):\n    pass\n"
    )
    with pytest.raises(MigrationError, match="migration 0001_manual: bad operation"):
        migrator(client, name, tmp_path).apply()


def test_manual_migration_uses_the_database(database: tuple[MongoClient, str], tmp_path: Path) -> None:
    client, name = database
    (tmp_path / "0001_seed.py").write_text(
        "NUMBER = 1\nNAME = 'seed'\nOPERATIONS: list[dict] = []\nSTATE: dict = {}\n\n"
        "def upgrade(ctx):\n"
        "    if not ctx.dry_run:\n"
        "        ctx.database['settings'].update_one({'_id': 1}, {'$set': {'v': 1}}, upsert=True)\n\n"
        "def downgrade(ctx):\n"
        "    if not ctx.dry_run:\n"
        "        ctx.database['settings'].delete_one({'_id': 1})\n"
    )
    runner = migrator(client, name, tmp_path)
    runner.apply(dry_run=True)
    assert client[name]["settings"].find_one({"_id": 1}) is None
    runner.apply()
    assert client[name]["settings"].find_one({"_id": 1}) == {"_id": 1, "v": 1}
    runner.rollback(to=0)
    assert client[name]["settings"].find_one({"_id": 1}) is None


def test_async_runner_from_code(database: tuple[MongoClient, str], mongodb_uri: str, tmp_path: Path) -> None:
    client, name = database
    states = write_history(tmp_path, HISTORY[:3])

    async def main() -> None:
        async_client = AsyncMongoClient(mongodb_uri)
        try:
            async with AsyncMigrator(async_client, tmp_path, database=name) as runner:
                assert await runner.apply() == ["0001_initial", "0002_ttl", "0003_rename_a"]
                assert states_equal(states[-1], await runner.live_state())
                assert (await runner.check()).is_clean
                assert [e.state for e in await runner.status()] == ["applied"] * 3
                await runner.rollback(to=0)
                assert await runner.live_state() == {}
        finally:
            await async_client.close()

    asyncio.run(main())
    assert index_names(client, name, "items") == ["_id_"]


def _collmod_sticks(client: MongoClient, name: str, option: str, value: object) -> bool:
    """Whether this server really changes ``option`` with collMod (SecantusDB 0.7
    answers ok to ``hidden`` and ``unique: false`` and changes nothing)."""
    probe = client[name]["collmod_probe"]
    probe.create_index([("p", 1)], name="p_1", unique=value is False)
    client[name].command({"collMod": "collmod_probe", "index": {"name": "p_1", option: value}})
    found = bool(probe.index_information()["p_1"].get(option, False)) == bool(value)
    probe.drop()
    return found


@pytest.mark.parametrize(
    ("option", "before", "after"), [("hidden", None, True), ("unique", True, None)]
)
def test_collmod_a_server_ignores_is_reported_not_recorded(
    database: tuple[MongoClient, str], tmp_path: Path, option: str, before: object, after: object
) -> None:
    client, name = database
    initial = spec("a_1", [("a", 1)], **({option: True} if before else {}))
    write_history(tmp_path, [
        ("initial", [create("items", initial)]),
        ("change", [{"op": "modify_index", "collection": "items", "name": "a_1",
                     "options": {option: after}, "previous": {option: before}}]),
    ])
    runner = migrator(client, name, tmp_path)
    runner.apply(to=1)
    if _collmod_sticks(client, name, option, bool(after)):
        runner.apply()
        assert runner.check().is_clean
        runner.rollback(to=1)
        assert runner.check().is_clean
        return
    with pytest.raises(MigrationError, match=f"the server accepted collMod but {option} is "):
        runner.apply()
    assert [entry.state for entry in runner.status()] == ["applied", "partial"]


def test_a_collection_rename_onto_an_existing_collection_says_what_to_do(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path, [
        ("initial", [create("users", A)]),
        ("rename", [{"op": "rename_collection", "from": "users", "to": "members"}]),
    ])
    runner = Migrator(client, tmp_path, database=name)
    runner.apply(to=1)
    client[name]["users"].insert_one({"a": 1})
    client[name]["members"].insert_one({"a": 2})
    with pytest.raises(MigrationError) as failed:
        runner.apply()
    message = str(failed.value)
    assert "collection members exists already" in message and "dropTarget: false" in message
    # Nothing moved, nothing dropped.
    assert client[name]["users"].count_documents({}) == 1
    assert client[name]["members"].count_documents({}) == 1
