"""Review of the index migrations (issue 7): the planner on tricky changes, the runner
after crashes, the lock, the command line. ``xfail(strict=True)`` marks a bug found
in review: it fails today and passes once fixed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from driver import MongoClient
from driver.monitoring import CommandListener
from odm import Document, DocumentConfig, Index
from odm.migrations import (
    apply_operations,
    commands,
    expand,
    invert,
    load_migrations,
    make,
    plan,
)
from odm.migrations.cli import main
from odm.migrations.records import format_command
from odm.migrations.runner import (
    MIGRATIONS_COLLECTION,
    MigrationError,
    MigrationLockError,
    Migrator,
)
from odm.migrations.state import normalize_state, states_equal
from tests.odm.migrations.runner_helpers import (
    ROOT,
    create,
    database,
    index_names,
    spec,
    write_history,
)

__all__ = ["database"]  # the fixture, used by name


def st(**collections: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return normalize_state(collections)


def _prefix_covered(keys: list[Any], state: dict[str, Any], collection: str) -> bool:
    want = [tuple(pair) for pair in keys]
    return any(
        [tuple(pair) for pair in entry["keys"]][: len(want)] == want
        for entry in state.get(collection, [])
    )


def replaced_indexes_stay_covered(
    start: dict[str, Any], operations: list[dict[str, Any]], end: dict[str, Any]
) -> None:
    """Every index of ``start`` whose keys an index of ``end`` still has (same
    collection), or whose name ``end`` still uses, is covered (an index with its keys as
    a prefix) at every step until the indexes of ``end`` are all built; fails on an
    impossible plan."""
    watched = []
    for collection, entries in start.items():
        for entry in entries:
            later = end.get(collection, [])
            if any(e["keys"] == entry["keys"] or e["name"] == entry["name"] for e in later):
                watched.append((collection, entry["keys"]))
    state = start
    for operation in operations:
        for step in expand(operation):
            state = apply_operations(state, [step])
            for collection, keys in watched:
                # Free to go once its replacements are all built (not just bridged).
                done = keys not in [e["keys"] for e in end.get(collection, [])] and all(
                    e in state.get(collection, []) for e in end.get(collection, [])
                )
                assert done or _prefix_covered(keys, state, collection), (collection, keys, step)
    assert state == normalize_state(end)


# ------------------------------------------------------------------ planner: passing


def test_many_changes_on_one_collection_at_once_reach_the_new_state_and_back() -> None:
    old = st(c=[
        spec("a_1_b_1", [("a", 1), ("b", 1)]),
        spec("t_1", [("t", 1)], expireAfterSeconds=60),
        spec("u_1", [("u", 1)]),
        spec("p_1", [("p", 1)], partialFilterExpression={"p": {"$gt": 1}}),
        spec("s_1", [("s", 1)]),
        spec("k_1", [("k", 1)], collation={"locale": "fr"}),
        spec("ttl_off", [("x", 1)], expireAfterSeconds=5),
        spec("gone", [("g", 1)]),
    ])
    new = st(c=[
        spec("b_1_a_1", [("b", 1), ("a", 1)]),  # compound order changed
        spec("t_1", [("t", 1)], expireAfterSeconds=120),  # TTL changed: collMod
        spec("u_1", [("u", 1)], unique=True),  # unique on: collMod
        spec("p_1", [("p", 1)], partialFilterExpression={"p": {"$gt": 2}}),  # rebuilt
        spec("s_1", [("s", 1)], sparse=True),  # rebuilt
        spec("k_1", [("k", 1)], collation={"locale": "de"}),  # rebuilt
        spec("ttl_off", [("x", 1)]),  # TTL removed: rebuilt
        spec("n_1", [("n", 1)]),  # new
    ])
    ops = plan(old, new)
    assert apply_operations(old, ops) == new
    assert apply_operations(new, invert(ops)) == old
    modified = {op["name"]: op["options"] for op in ops if op["op"] == "modify_index"}
    assert modified == {"t_1": {"expireAfterSeconds": 120}, "u_1": {"unique": True}}
    replaced_indexes_stay_covered(old, ops, new)
    # The old compound index is dropped only after the new one exists.
    names = [(op["op"], op.get("index", {}).get("name")) for op in ops]
    assert names.index(("create_index", "b_1_a_1")) < names.index(("drop_index", "a_1_b_1"))
    assert plan(new, new) == []


def test_ttl_added_and_removed_keep_the_index_through_a_bridge() -> None:
    plain = st(c=[spec("t_1", [("t", 1)])])
    ttl = st(c=[spec("t_1", [("t", 1)], expireAfterSeconds=30)])
    for old, new in ((plain, ttl), (ttl, plain)):
        ops = plan(old, new)
        assert "modify_index" not in [op["op"] for op in ops]
        replaced_indexes_stay_covered(old, ops, new)


def test_unique_off_is_an_in_place_change_both_ways() -> None:
    on = st(c=[spec("e_1", [("e", 1)], unique=True)])
    off = st(c=[spec("e_1", [("e", 1)])])
    ops = plan(on, off)
    assert ops == [{"op": "modify_index", "collection": "c", "name": "e_1",
                    "options": {"unique": None}, "previous": {"unique": True}}]
    assert [cmd["index"] for _, cmd in commands(ops[0], "db")] == [
        {"name": "e_1", "unique": False}, {"name": "e_1", "prepareUnique": False},
    ]
    assert [cmd["index"] for _, cmd in commands(invert(ops)[0], "db")] == [
        {"name": "e_1", "prepareUnique": True}, {"name": "e_1", "unique": True},
    ]


def test_key_order_inside_states_does_not_change_the_plan_nor_the_file(tmp_path: Path) -> None:
    from odm.migrations import render

    a = {"c": [spec("p_1", [("p", 1)], partialFilterExpression={"p": 1, "q": {"$gt": 2}},
                    collation={"locale": "fr", "strength": 2})]}
    b = {"c": [{"options": {"collation": {"strength": 2, "locale": "fr"},
                            "partialFilterExpression": {"q": {"$gt": 2}, "p": 1}},
                "name": "p_1", "keys": [["p", 1]]}]}
    assert plan(a, b) == [] and plan(b, a) == []
    # OPERATIONS and STATE are written with sorted keys whatever the declaration order.
    body = [render(1, "x", plan({}, s), s).split('"""\n\n', 2)[-1] for s in (a, b)]
    assert body[0] == body[1]


def test_file_bytes_do_not_depend_on_the_key_order_of_a_declaration() -> None:
    from odm.migrations import render

    a = {"c": [spec("p_1", [("p", 1)], collation={"locale": "fr", "strength": 2})]}
    b = {"c": [spec("p_1", [("p", 1)], collation={"strength": 2, "locale": "fr"})]}
    assert render(1, "x", plan({}, a), a) == render(1, "x", plan({}, b), b)


# ------------------------------------------------------------------ planner: bugs


def test_two_indexes_swapping_names_give_a_runnable_plan() -> None:
    old = st(c=[spec("x", [("a", 1)]), spec("y", [("b", 1)])])
    new = st(c=[spec("x", [("b", 1)]), spec("y", [("a", 1)])])
    ops = plan(old, new)
    assert apply_operations(old, ops) == new
    replaced_indexes_stay_covered(old, ops, new)


def test_a_name_moving_to_the_keys_of_a_dropped_index_gives_a_runnable_plan() -> None:
    old = st(c=[spec("a_1", [("a", 1)]), spec("b_1", [("b", 1)])])
    new = st(c=[spec("b_1", [("a", 1)])])
    ops = plan(old, new)
    assert apply_operations(old, ops) == new


def test_rename_plus_name_reuse_keeps_the_keys_covered() -> None:
    old = st(c=[spec("a_1", [("a", 1)])])
    new = st(c=[spec("a_idx", [("a", 1)]), spec("a_1", [("b", 1)])])
    ops = plan(old, new)
    replaced_indexes_stay_covered(old, ops, new)


def test_downgrade_of_a_rebuild_keeps_the_dropped_index_covered() -> None:
    old = st(c=[spec("by_x", [("a", 1)])])
    new = st(c=[spec("by_x", [("b", 1)])])
    ops = plan(old, new)
    replaced_indexes_stay_covered(old, ops, new)  # the upgrade is fine
    replaced_indexes_stay_covered(new, plan(new, old), old)  # so is planning the way back
    replaced_indexes_stay_covered(new, invert(ops), old)  # the downgrade is not


def test_an_index_moving_between_two_live_models_is_not_a_collection_rename(tmp_path: Path) -> None:
    class User1(Document, collection="users"):
        model_config = DocumentConfig(indexes=[Index("email")])
        email: str

    class User2(Document, collection="users"):
        email: str

    class Member(Document, collection="members"):
        model_config = DocumentConfig(indexes=[Index("email")])
        email: str

    assert make([User1], tmp_path) is not None
    assert make([User2, Member], tmp_path) is not None
    ops = load_migrations(tmp_path)[-1].operations
    assert "rename_collection" not in [op["op"] for op in ops], ops


# ------------------------------------------------------------------ generation: passing


MODELS = '''
from datetime import datetime
from odm import Document, DocumentConfig, Index

class Event(Document, collection="events"):
    model_config = DocumentConfig(indexes=[
        Index("kind", ("at", -1), name="by_kind"),
        Index("at", expire_after=3600),
        Index("who", unique=True, partial={"who": {"$exists": True}, "at": {"$gt": datetime(2024, 1, 1)}}),
        Index("name", collation={"strength": 2, "locale": "en"}),
    ])
    kind: str
    at: datetime
    who: str
    name: str

class Tag(Document, collection="tags"):
    model_config = DocumentConfig(indexes=[Index("slug", unique=True), Index("b", "a")])
    slug: str
'''


def _make_in_process(cwd: Path, seed: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=seed,
               PYTHONPATH=os.pathsep.join([str(ROOT), str(cwd)]))
    return subprocess.run(
        [sys.executable, "-m", "odm.migrations", "make", "--models", "app_models", "--dir", "m"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_generation_is_byte_stable_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for seed in ("0", "1", "12345"):
        work = tmp_path / seed
        work.mkdir()
        (work / "app_models.py").write_text(MODELS)
        first = _make_in_process(work, seed)
        assert first.returncode == 0, first.stderr
        again = _make_in_process(work, seed)
        assert (again.returncode, again.stdout) == (0, "no index changes: nothing written\n"), again.stderr
        files = sorted((work / "m").iterdir())
        assert [f.name for f in files] == ["0001_initial.py"]
        outputs.append(files[0].read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


# ------------------------------------------------------------------ runner


class Sent(CommandListener):
    def __init__(self) -> None:
        self.commands: list[str] = []

    def started(self, event: Any) -> None:
        if event.command_name in ("createIndexes", "dropIndexes", "collMod", "renameCollection"):
            command = {k: v for k, v in event.command.items()
                       if not k.startswith("$") and k not in ("lsid", "txnNumber")}
            self.commands.append(format_command(event.database_name, command))


HISTORY = [
    ("initial", [create("items", spec("a_1", [("a", 1)])),
                 create("items", spec("t_1", [("t", 1)], expireAfterSeconds=60))]),
    ("change", plan(
        st(items=[spec("a_1", [("a", 1)]), spec("t_1", [("t", 1)], expireAfterSeconds=60)]),
        st(items=[spec("a_1", [("a", 1), ("z", 1)]), spec("t_1", [("t", 1)], expireAfterSeconds=90),
                  spec("n_1", [("n", 1)], unique=True)]),
    )),
    ("rename_index", [{"op": "rename_index", "collection": "items",
                       "from": spec("n_1", [("n", 1)], unique=True),
                       "to": spec("n_unique", [("n", 1)], unique=True)}]),
]


def test_dry_run_prints_exactly_the_commands_apply_sends(mongodb_uri: str, tmp_path: Path,
                                                         database: tuple[MongoClient, str]) -> None:
    _, name = database
    write_history(tmp_path, HISTORY)
    listener = Sent()
    client = MongoClient(mongodb_uri, event_listeners=[listener])
    try:
        lines: list[str] = []
        Migrator(client, tmp_path, database=name, log=lines.append).apply(dry_run=True)
        printed = [line.strip() for line in lines if line.startswith("    ")]
        assert listener.commands == [] and MIGRATIONS_COLLECTION not in client[name].list_collection_names()
        Migrator(client, tmp_path, database=name).apply()
        assert listener.commands == printed
    finally:
        client.close()


class Crash(BaseException):
    pass


def test_a_crash_after_every_operation_is_finished_by_the_next_apply(
    database: tuple[MongoClient, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import odm._sync.migrate as sync_migrate

    client, name = database
    client[name]["items"].insert_many([{"a": i, "t": i, "n": i} for i in range(3)])
    states = write_history(tmp_path, HISTORY)
    total = len(HISTORY[1][1])
    for crash_at in range(1, total + 1):
        client.drop_database(name)
        client[name]["items"].insert_many([{"a": i, "t": i, "n": i} for i in range(3)])
        runner = Migrator(client, tmp_path, database=name)
        runner.apply(to=1)

        def hook(count: int, crash_at: int = crash_at) -> None:
            if count == crash_at:
                raise Crash

        monkeypatch.setattr(sync_migrate, "_hook_after_op", hook)
        with pytest.raises(Crash):
            runner.apply(to=2)
        monkeypatch.setattr(sync_migrate, "_hook_after_op", lambda count: None)
        entry = runner.status()[1]
        assert (entry.state, entry.done) == (("partial", crash_at) if crash_at < total
                                             else ("partial", total)), crash_at
        assert runner.apply(to=2) == ["0002_change"]
        assert states_equal(states[1], runner.live_state()), crash_at
        assert runner.check(states[1]).differences == ()


def test_an_interrupted_index_rename_leaves_no_bridge(database: tuple[MongoClient, str],
                                                       tmp_path: Path) -> None:
    client, name = database
    write_history(tmp_path, HISTORY)
    runner = Migrator(client, tmp_path, database=name)
    runner.apply(to=2)
    migration = load_migrations(tmp_path)[2]
    # The state a kill leaves between "create n_unique" and "drop n_1__bridge".
    items = client[name]["items"]
    items.create_index([("n", 1), ("__odm_migration_bridge", 1)], name="n_1__bridge", unique=True)
    items.drop_index("n_1")
    items.create_index([("n", 1)], name="n_unique", unique=True)
    client[name][MIGRATIONS_COLLECTION].insert_one(
        {"_id": 3, "number": 3, "name": "rename_index", "state": "applying", "done": 0,
         "checksum": migration.checksum})
    runner.apply()
    assert "n_1__bridge" not in index_names(client, name, "items")


def test_init_from_db_then_rollback_to_zero_leaves_only_the_id_index(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    db = client[name]
    db["a"].create_index([("x", 1), ("y", -1)], unique=True)
    db["a"].create_index("when", expireAfterSeconds=10)
    db["b"].create_index("k", partialFilterExpression={"k": {"$gt": 1}}, sparse=False)
    runner = Migrator(client, tmp_path, database=name)
    live = runner.live_state()
    runner.init_from_db()
    assert [e.state for e in runner.status()] == ["applied"]
    assert runner.check().is_clean
    assert load_migrations(tmp_path)[0].state == live
    runner.rollback(to=0)
    for collection in ("a", "b"):
        assert index_names(client, name, collection) == ["_id_"]
    assert index_names(client, name, MIGRATIONS_COLLECTION) == ["_id_"]
    assert runner.status()[0].state == "pending"
    runner.apply()
    assert runner.check().is_clean


def test_init_from_db_refuses_a_database_with_recorded_migrations(
    database: tuple[MongoClient, str], tmp_path: Path
) -> None:
    client, name = database
    write_history(tmp_path / "old", HISTORY)
    Migrator(client, tmp_path / "old", database=name).apply()
    with pytest.raises(MigrationError):
        Migrator(client, tmp_path / "new", database=name).init_from_db()


def test_stale_lock_of_another_host_is_taken_over_and_a_live_one_is_not(
    database: tuple[MongoClient, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    mongodb_uri: str,
) -> None:
    client, name = database
    write_history(tmp_path, HISTORY[:1])
    records = client[name][MIGRATIONS_COLLECTION]
    now = datetime.now(timezone.utc)
    records.insert_one({"_id": "lock", "owner": "x", "host": "elsewhere", "pid": 1,
                        "command": "apply", "expires_at": now + timedelta(hours=1)})
    with pytest.raises(MigrationLockError, match="apply by pid 1 on elsewhere"):
        Migrator(client, tmp_path, database=name, lock_timeout=0.2).apply()
    uri = mongodb_uri.rstrip("/")
    code = main(["apply", "--uri", uri, "--database", name, "--dir", str(tmp_path),
                 "--lock-timeout", "0"])
    assert code == 4 and "holds the migration lock" in capsys.readouterr().err
    records.update_one({"_id": "lock"}, {"$set": {"expires_at": now - timedelta(seconds=1)}})
    lines: list[str] = []
    Migrator(client, tmp_path, database=name, lock_timeout=0.2, log=lines.append).apply()
    assert any(line.startswith("took over a stale lock") for line in lines)
    assert records.find_one({"_id": "lock"}) is None
    assert index_names(client, name, "items") == ["_id_", "a_1", "t_1"]


# ------------------------------------------------------------------ command line


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_exits_1_on_an_option_drift_and_status_names_a_changed_file(
    database: tuple[MongoClient, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    mongodb_uri: str,
) -> None:
    client, name = database
    write_history(tmp_path, HISTORY[:1])
    common = ["--uri", mongodb_uri, "--database", name, "--dir", str(tmp_path)]
    assert run(capsys, "apply", *common)[0] == 0
    assert run(capsys, "check", *common)[0] == 0
    client[name].command({"collMod": "items", "index": {"name": "t_1", "expireAfterSeconds": 5}})
    code, out, _ = run(capsys, "check", *common)
    assert code == 1 and "items: index t_1 expireAfterSeconds: expected 60, found 5" in out
    path = next(tmp_path.glob("0001_*.py"))
    path.write_text(path.read_text() + "\n# edited\n")
    code, out, _ = run(capsys, "status", *common)
    assert code == 0 and "0001_initial: changed" in out


def test_a_broken_file_exits_2_naming_it(mongodb_uri: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    write_history(tmp_path, HISTORY[:1])
    (tmp_path / "0002_broken.py").write_text("NUMBER = 2\nthis is not python\n")
    code, _, err = run(capsys, "status", "--uri", mongodb_uri, "--database", "x_review",
                       "--dir", str(tmp_path))
    assert code == 2 and "0002_broken.py" in err
    (tmp_path / "0002_broken.py").rename(tmp_path / "0003_gap.py")
    code, _, err = run(capsys, "apply", "--uri", mongodb_uri, "--database", "x_review",
                       "--dir", str(tmp_path), "--dry-run")
    assert code == 2 and "expected migration 0002" in err


def test_apply_to_a_missing_number_is_a_usage_error(
    mongodb_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_history(tmp_path, HISTORY[:1])
    code, _, err = run(capsys, "apply", "--uri", mongodb_uri, "--database", "x_review",
                       "--dir", str(tmp_path), "--to", "9")
    assert "no migration 0009" in err
    assert code == 2


@pytest.mark.parametrize("uri", [
    "mongodb://ada:s3/cret@127.0.0.1:1/db",
    "mongodb://ada:s3@cret@127.0.0.1:1/db",
    "MONGODB://ada:s3cret@127.0.0.1:1/db?x=%zz",
])
def test_a_mistyped_password_is_never_printed(uri: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "status", "--uri", uri, "--dir", str(tmp_path))
    assert code == 2
    assert "cret" not in out + err, err

