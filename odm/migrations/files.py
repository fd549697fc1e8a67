"""Migration files: write them from a plan, read them back, check their numbering.

A migration is a module ``NNNN_<slug>.py`` (``0001`` first) in the migrations
directory, with ``NUMBER``, ``NAME``, ``OPERATIONS`` (operations of
:mod:`odm.migrations.plan`), ``STATE`` (the index state once it is applied) and the
functions ``upgrade(ctx)`` and ``downgrade(ctx)``. A generated file runs
``ctx.run(OPERATIONS)`` and ``ctx.run(invert(OPERATIONS))``; a manual one has empty
operations, the previous state, and bodies for you to write (``ctx.database`` is the
database). Generated text is deterministic (sorted keys, fixed layout, no dates), so
generating again from unchanged models writes nothing, and a file's checksum (sha256
of its bytes) tells whether it changed after it was applied.

Reading a file runs it (``importlib`` from its path, never ``sys.path``): only read a
migrations directory you trust, as you would any code of your project.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from odm.index import IndexSpec
from odm.migrations.plan import Operation, bridge, describe, plan
from odm.migrations.state import State, normalize_state, state_from_models
from odm.model import collection_name

__all__ = [
    "Migration",
    "MigrationFileError",
    "checksum",
    "latest_state",
    "load_migrations",
    "make",
    "make_manual",
    "render",
    "render_manual",
    "slugify",
]

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.py$")
_LOOKS_LIKE = re.compile(r"^\d+_.*\.py$")
_WIDTH = 88  # ruff's and black's default: generated files pass their checks


class MigrationFileError(ValueError):
    """A migrations directory or file that cannot be used: bad name, gap or duplicate
    in the numbering, missing or malformed constants; the message names the file."""


@dataclass(frozen=True)
class Migration:
    """One migration file, read: ``upgrade``/``downgrade`` are its functions."""

    number: int
    name: str
    path: Path
    checksum: str
    operations: list[Operation]
    state: State
    upgrade: Callable[[Any], Any]
    downgrade: Callable[[Any], Any]

    @property
    def manual(self) -> bool:
        """True for a file without planned operations (written by hand)."""
        return not self.operations

    @property
    def label(self) -> str:
        """``0003_add_email`` (the file's stem)."""
        return self.path.stem


def checksum(path: Path | str) -> str:
    """The sha256 of the file's bytes, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def slugify(name: str) -> str:
    """``name`` as a file name part: lower case, ``[a-z0-9_]``, at most 60 characters."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60].strip("_")
    if not slug:
        raise ValueError(f"a migration name needs a letter or a digit: {name!r}")
    return slug


# ------------------------------------------------------------------ reading


def _import(path: Path) -> ModuleType:
    module_name = f"_odm_migration_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise MigrationFileError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationFileError(f"{path}: importing it failed: {exc!r}") from exc
    finally:
        sys.modules.pop(module_name, None)
    return module


def _read(path: Path, number: int) -> Migration:
    module = _import(path)
    missing = [
        name
        for name in ("NUMBER", "NAME", "OPERATIONS", "STATE", "upgrade", "downgrade")
        if not hasattr(module, name)
    ]
    if missing:
        raise MigrationFileError(f"{path}: missing {', '.join(missing)}")
    if number != module.NUMBER:
        raise MigrationFileError(f"{path}: NUMBER is {module.NUMBER!r}, the file name says {number}")
    if not isinstance(module.NAME, str) or not isinstance(module.OPERATIONS, list):
        raise MigrationFileError(f"{path}: NAME must be a str and OPERATIONS a list")
    if not callable(module.upgrade) or not callable(module.downgrade):
        raise MigrationFileError(f"{path}: upgrade and downgrade must be functions")
    try:
        for operation in module.OPERATIONS:
            describe(operation)  # checks its kind
        state = normalize_state(module.STATE)
    except (ValueError, TypeError, KeyError) as exc:
        raise MigrationFileError(f"{path}: {exc}") from exc
    return Migration(
        number=number,
        name=module.NAME,
        path=path,
        checksum=checksum(path),
        operations=list(module.OPERATIONS),
        state=state,
        upgrade=module.upgrade,
        downgrade=module.downgrade,
    )


def _numbered(directory: Path) -> list[tuple[int, Path]]:
    if not directory.is_dir():
        return []
    found: list[tuple[int, Path]] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.suffix != ".py":
            continue
        match = _FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
        elif _LOOKS_LIKE.match(path.name):
            raise MigrationFileError(
                f"{path}: a migration file is named NNNN_<name>.py (four digits, then "
                "lower-case letters, digits and _)"
            )
    numbers = [number for number, _ in found]
    for position, (number, path) in enumerate(sorted(found), start=1):
        if numbers.count(number) > 1:
            same = sorted(p.name for n, p in found if n == number)
            raise MigrationFileError(f"{directory}: two migrations numbered {number:04d}: {same}")
        if number != position:
            raise MigrationFileError(
                f"{path}: expected migration {position:04d} here (numbers start at 0001 "
                "and have no gaps)"
            )
    return sorted(found)


def load_migrations(directory: Path | str) -> list[Migration]:
    """Every migration in ``directory``, in order (an absent directory has none).
    Raises :class:`MigrationFileError` on a gap, a duplicate number or a bad file."""
    return [_read(path, number) for number, path in _numbered(Path(directory))]


def latest_state(migrations: Sequence[Migration]) -> State:
    """The index state once every migration is applied: the last file's ``STATE``."""
    return migrations[-1].state if migrations else {}


# ------------------------------------------------------------------ writing


def _literal(value: Any, indent: int, used: int) -> str:
    """``value`` as Python source: sorted keys, one item a line when it does not fit
    (``used``: characters before it on its line)."""
    flat = _flat(value)
    if used + len(flat) + 1 <= _WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [
            f"{pad}{key!r}: {_literal(value[key], indent + 4, indent + 4 + len(repr(key)) + 2)},"
            for key in sorted(value)
        ]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(item, indent + 4, indent + 4)}," for item in value]
    return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_flat(value[key])}" for key in sorted(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flat(item) for item in value) + "]"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"not plain data: {value!r}")


def _docstring_lines(lines: Iterable[str]) -> str:
    wrapped: list[str] = []
    for line in lines:
        line = line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        indent = "  " if line.startswith("- ") else ""
        wrapped += textwrap.wrap(
            line, _WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
        ) or [""]
    return "\n".join(wrapped)


def render(number: int, name: str, operations: Sequence[Operation], state: State) -> str:
    """The text of a generated migration file."""
    notes = [f"- {describe(operation)}" for operation in operations]
    if any(operation["op"] == "rename_collection" for operation in operations):
        notes += [
            "",
            "A collection rename was detected (a collection left the models and one with",
            "the same indexes arrived): check it is one model renamed, not two models.",
        ]
    unbridged = sorted(
        {
            f"{operation['collection']}.{operation['index']['name']}"
            for operation in operations
            if operation["op"] == "drop_index"
            and bridge(IndexSpec.from_dict(operation["index"])) is None
            and any(
                other["op"] == "create_index" and other["collection"] == operation["collection"]
                for other in operations
            )
        }
    )
    if unbridged:
        notes += [
            "",
            "Rebuilt without a bridge (a text or wildcard index cannot have one): "
            + ", ".join(unbridged),
            "has no index between its drop and the new build; queries that need it scan",
            "(a $text query fails) meanwhile. Apply at a quiet time.",
        ]
    docstring = _docstring_lines([f"Migration {number:04d}: {name}.", "", *notes])
    return (
        f'"""{docstring}\n\nGenerated by ``python -m odm.migrations make``: review it; edit it only\n'
        "with care (its checksum is recorded when it is applied).\n"
        '"""\n\n'
        "from odm.migrations import invert\n\n"
        f"NUMBER = {number}\n"
        f"NAME = {name!r}\n\n"
        f"OPERATIONS = {_literal(list(operations), 0, 13)}\n\n"
        f"STATE = {_literal(normalize_state(state), 0, 8)}\n\n\n"
        "def upgrade(ctx):\n"
        "    ctx.run(OPERATIONS)\n\n\n"
        "def downgrade(ctx):\n"
        "    ctx.run(invert(OPERATIONS))\n"
    )


def render_manual(number: int, name: str, state: State) -> str:
    """The text of a manual migration: no planned operations, the previous state."""
    return (
        f'"""Migration {number:04d}: {name} (manual).\n\n'
        "Write what ``upgrade`` does and how ``downgrade`` undoes it. ``ctx.database`` is\n"
        "the target database (a driver ``Database``); ``ctx.run(operations)`` runs planned\n"
        "operations (see odm.migrations.plan). Make each step safe to run twice: a migration\n"
        "interrupted half-way is run again from the start.\n"
        '"""\n\n'
        f"NUMBER = {number}\n"
        f"NAME = {name!r}\n\n"
        "OPERATIONS: list[dict] = []\n\n"
        f"STATE = {_literal(normalize_state(state), 0, 8)}\n\n\n"
        "def upgrade(ctx):\n"
        "    pass\n\n\n"
        "def downgrade(ctx):\n"
        "    pass\n"
    )


def _auto_name(operations: Sequence[Operation], first: bool) -> str:
    if first:
        return "initial"
    collections = sorted(
        {operation.get("collection") or operation["to"] for operation in operations}
    )
    kinds = {operation["op"] for operation in operations}
    if len(operations) == 1:
        operation = operations[0]
        if operation["op"] == "rename_collection":
            return f"rename_{operation['from']}_to_{operation['to']}"
        index = operation.get("index") or operation.get("to") or {"name": operation.get("name")}
        verb = operation["op"].replace("_index", "")
        return f"{verb}_{collections[0]}_{index['name']}"
    verb = "add" if kinds == {"create_index"} else "drop" if kinds == {"drop_index"} else "change"
    return f"{verb}_{'_'.join(collections)}_indexes"


def _write(directory: Path, number: int, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{number:04d}_{slugify(name)}.py"
    with open(path, "x", encoding="utf-8", newline="\n") as handle:  # never overwrite
        handle.write(text)
    return path


def make(
    models: Iterable[type[BaseModel]], directory: Path | str, name: str | None = None
) -> Path | None:
    """Write the next migration: what turns the last file's state into the indexes
    ``models`` declare. Returns its path, or None when there is nothing to do (no file
    written). Needs no database."""
    directory = Path(directory)
    migrations = load_migrations(directory)
    models = list(models)
    declared = state_from_models(models)
    # A model's collection stays even when it declares no index: never renamed away.
    collections = {collection_name(model) for model in models}
    operations = plan(latest_state(migrations), declared, declared=collections)
    if not operations:
        return None
    number = len(migrations) + 1
    label = slugify(name) if name else slugify(_auto_name(operations, not migrations))
    return _write(directory, number, label, render(number, label, operations, declared))


def make_manual(directory: Path | str, name: str) -> Path:
    """Write the next migration as an empty template (see :func:`render_manual`)."""
    directory = Path(directory)
    migrations = load_migrations(directory)
    number = len(migrations) + 1
    label = slugify(name)
    return _write(directory, number, label, render_manual(number, label, latest_state(migrations)))


