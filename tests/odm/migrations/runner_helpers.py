"""Shared by the runner, CLI and concurrency tests: a fresh database per test and
migration files written from hand-made operation lists (through the real renderer)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from driver import MongoClient
from odm.migrations.files import render
from odm.migrations.plan import apply_operations
from odm.migrations.state import State

ROOT = Path(__file__).resolve().parents[3]


def spec(name: str, keys: Sequence[tuple[str, Any]], **options: Any) -> dict[str, Any]:
    return {"name": name, "keys": [list(pair) for pair in keys], "options": options}


def create(collection: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create_index", "collection": collection, "index": entry}


def write_history(directory: Path, steps: Sequence[tuple[str, list[dict[str, Any]]]]) -> list[State]:
    """One file per (name, operations), numbered from 0001; the states after each."""
    directory.mkdir(parents=True, exist_ok=True)
    state: State = {}
    states = []
    for number, (name, operations) in enumerate(steps, start=1):
        state = apply_operations(state, operations)
        states.append(state)
        (directory / f"{number:04d}_{name}.py").write_text(render(number, name, operations, state))
    return states


@pytest.fixture
def database(mongodb_uri: str) -> Iterator[tuple[MongoClient, str]]:
    """A client and a fresh database name, dropped after the test."""
    client = MongoClient(mongodb_uri)
    name = f"migr_{uuid.uuid4().hex[:12]}"
    try:
        yield client, name
    finally:
        client.drop_database(name)
        client.close()


def index_names(client: MongoClient, database: str, collection: str) -> list[str]:
    return sorted(index["name"] for index in client[database][collection].list_indexes())


def cli(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[str]:
    """``python -m odm.migrations ARGS`` as a process (stdout and stderr as text)."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    environment.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "odm.migrations", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, **kwargs,
    )
