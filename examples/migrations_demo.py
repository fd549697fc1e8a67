"""Index migrations: generate one migration from a model, review it, apply it, check.

Runs against ``MONGODB_URI`` (``make demo`` starts a test server) in a temporary
directory and a database of its own, dropped at the end. The same steps from a shell::

    python -m odm.migrations make  --models app.models        # writes migrations/0001_initial.py
    python -m odm.migrations apply --dry-run                  # prints the exact commands
    python -m odm.migrations apply                            # applies and records them
    python -m odm.migrations check                            # exit 1 on drift (CI, deploys)
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

from driver import MongoClient
from odm.migrations.cli import main

MODELS = textwrap.dedent('''
    from typing import Annotated

    from odm import Document, DocumentConfig, Index, Indexed


    class Order(Document, collection="orders"):
        model_config = DocumentConfig(indexes=[Index("customer", ("placed", -1))])
        number: Annotated[str, Indexed(unique=True)]
        customer: str
        placed: int
''')


def step(title: str, *args: str) -> int:
    print(f"\n$ python -m odm.migrations {' '.join(args)}    # {title}", flush=True)
    return main(list(args))


def demo() -> None:
    uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
    database = f"migrations_demo_{uuid.uuid4().hex[:8]}"
    client = MongoClient(uri)
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "demo_models.py").write_text(MODELS)
        sys.path.insert(0, folder)
        os.chdir(folder)
        os.environ["MONGODB_URI"] = uri
        try:
            assert step("generate from the models", "make", "--models", "demo_models") == 0
            print("\n--- migrations/0001_initial.py ---")
            print(Path("migrations/0001_initial.py").read_text())
            assert step("nothing changed: nothing written", "make", "--models", "demo_models") == 0
            target = ("--database", database)
            assert step("exit 1: pending", "check", *target) == 1
            assert step("the exact commands", "apply", "--dry-run", *target) == 0
            assert step("apply and record", "apply", *target) == 0
            assert step("recorded", "status", *target) == 0
            assert step("exit 0: matches", "check", *target) == 0
        finally:
            os.chdir("/")
            client.drop_database(database)
            client.close()


if __name__ == "__main__":
    demo()
