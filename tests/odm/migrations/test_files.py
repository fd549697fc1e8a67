"""Migration files: generated text (golden files), reading back, numbering, make()."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pytest

from odm import Document, DocumentConfig, Index, Indexed
from odm.migrations import (
    MigrationFileError,
    apply_operations,
    checksum,
    invert,
    latest_state,
    load_migrations,
    make,
    make_manual,
    state_from_models,
)

GOLDEN = Path(__file__).parent / "golden"


def history() -> list[list[type[Document]]]:
    """Five steps of one project's models."""

    class User1(Document, collection="users"):
        email: Annotated[str, Indexed(unique=True)]

    class User2(Document, collection="users"):
        model_config = DocumentConfig(indexes=[Index("age", ("name", -1))])
        email: Annotated[str, Indexed(unique=True)]
        name: str
        age: int

    class Session2(Document, collection="sessions"):
        seen: Annotated[int, Indexed(expire_after=3600)]

    class Session3(Document, collection="sessions"):
        seen: Annotated[int, Indexed(expire_after=7200)]

    class User4(Document, collection="users"):
        model_config = DocumentConfig(indexes=[Index("age", ("name", -1), name="by_age")])
        email: Annotated[str, Indexed(unique=True, partial={"email": {"$type": "string"}})]
        name: str
        age: int

    class Member5(Document, collection="members"):
        model_config = DocumentConfig(indexes=[Index("age", ("name", -1), name="by_age")])
        email: Annotated[str, Indexed(unique=True, partial={"email": {"$type": "string"}})]
        name: str
        age: int

    return [[User1], [User2, Session2], [User2, Session3], [User4, Session3], [Member5, Session3]]


def test_history_matches_golden_files(tmp_path: Path) -> None:
    written = []
    for models in history():
        path = make(models, tmp_path)
        assert path is not None
        written.append(path)
        assert make(models, tmp_path) is None  # twice: nothing
    names = [path.name for path in written]
    assert names == [
        "0001_initial.py",
        "0002_add_sessions_users_indexes.py",
        "0003_modify_sessions_seen_1.py",
        "0004_change_users_indexes.py",
        "0005_rename_users_to_members.py",
    ]
    if os.environ.get("ODM_UPDATE_GOLDEN"):
        for path in written:
            (GOLDEN / path.name).write_text(path.read_text())
    for path in written:
        assert path.read_text() == (GOLDEN / path.name).read_text(), path.name
    migrations = load_migrations(tmp_path)
    assert [m.number for m in migrations] == [1, 2, 3, 4, 5]
    assert latest_state(migrations) == state_from_models(history()[-1])
    # Applying every file in order, then undoing them all, is consistent.
    state: dict[str, Any] = {}
    for migration in migrations:
        state = apply_operations(state, migration.operations)
        assert state == migration.state
    for migration in reversed(migrations):
        state = apply_operations(state, invert(migration.operations))
    assert state == {}


def test_generated_files_are_ruff_clean_and_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    for models in history():
        make(models, tmp_path)
    ruff = Path(sys.executable).parent / "ruff"
    if ruff.exists():
        result = subprocess.run(
            [str(ruff), "check", "--no-cache", "--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF",
             str(tmp_path)],
            capture_output=True, text=True, check=False,
        )
        assert result.returncode == 0, result.stdout
    ran: list[list[dict[str, Any]]] = []

    class Ctx:
        def run(self, operations: list[dict[str, Any]]) -> None:
            ran.append(operations)

    migration = load_migrations(tmp_path)[1]
    migration.upgrade(Ctx())
    migration.downgrade(Ctx())
    assert ran == [migration.operations, invert(migration.operations)]


def test_checksum_changes_with_the_bytes(tmp_path: Path) -> None:
    path = make(history()[0], tmp_path)
    assert path is not None
    before = checksum(path)
    assert load_migrations(tmp_path)[0].checksum == before
    path.write_text(path.read_text() + "\n# edited\n")
    assert checksum(path) != before


def test_make_with_a_name_and_manual(tmp_path: Path) -> None:
    path = make(history()[0], tmp_path, name="Add users' e-mail!")
    assert path is not None and path.name == "0001_add_users_e_mail.py"
    manual = make_manual(tmp_path, "backfill emails")
    assert manual.name == "0002_backfill_emails.py"
    if os.environ.get("ODM_UPDATE_GOLDEN"):
        (GOLDEN / "manual.py").write_text(manual.read_text())
    assert manual.read_text() == (GOLDEN / "manual.py").read_text()
    migrations = load_migrations(tmp_path)
    assert migrations[1].manual and migrations[1].state == migrations[0].state
    assert make(history()[0], tmp_path) is None  # the manual file kept the state
    assert migrations[1].upgrade(object()) is None


def test_numbering_errors(tmp_path: Path) -> None:
    make(history()[0], tmp_path)
    make_manual(tmp_path, "two")
    (tmp_path / "0002_two.py").rename(tmp_path / "0003_two.py")
    with pytest.raises(MigrationFileError, match="expected migration 0002"):
        load_migrations(tmp_path)
    (tmp_path / "0003_two.py").rename(tmp_path / "0002_two.py")
    (tmp_path / "0002_again.py").write_text((tmp_path / "0002_two.py").read_text())
    with pytest.raises(MigrationFileError, match="two migrations numbered 0002"):
        load_migrations(tmp_path)
    (tmp_path / "0002_again.py").unlink()
    (tmp_path / "3_Bad-Name.py").write_text("")
    with pytest.raises(MigrationFileError, match=r"NNNN_<name>\.py"):
        load_migrations(tmp_path)
    (tmp_path / "3_Bad-Name.py").unlink()
    (tmp_path / "__init__.py").write_text("")  # other files are fine
    assert len(load_migrations(tmp_path)) == 2


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "0001_x.py").write_text("NUMBER = 1\n")
    with pytest.raises(MigrationFileError, match="missing NAME"):
        load_migrations(tmp_path)
    (tmp_path / "0001_x.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(MigrationFileError, match="boom"):
        load_migrations(tmp_path)
    text = "NUMBER = 2\nNAME = 'x'\nOPERATIONS = []\nSTATE = {}\ndef upgrade(c): pass\ndef downgrade(c): pass\n"
    (tmp_path / "0001_x.py").write_text(text)
    with pytest.raises(MigrationFileError, match="NUMBER is 2"):
        load_migrations(tmp_path)
    (tmp_path / "0001_x.py").write_text(text.replace("NUMBER = 2", "NUMBER = 1").replace("[]", "[{'op': 'x'}]"))
    with pytest.raises(MigrationFileError, match="not a migration operation"):
        load_migrations(tmp_path)


def test_absent_directory_has_no_migrations(tmp_path: Path) -> None:
    assert load_migrations(tmp_path / "nowhere") == []
    assert make([], tmp_path / "nowhere") is None
    assert not (tmp_path / "nowhere").exists()
