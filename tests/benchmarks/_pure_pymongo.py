"""Worker: PyMongo's pure-Python BSON codec, timed in a process of its own.

PyMongo chooses its codec once, when ``bson`` is imported: ``bson/__init__.py`` does
``from bson import _cbson`` and falls back to its pure-Python functions on
ImportError. So the only honest way to time the pure path is a fresh process in
which that import fails. Before anything imports ``bson``, this worker puts a
meta-path finder first in ``sys.meta_path`` that raises ModuleNotFoundError for
``bson._cbson`` (and ``pymongo._cmessage``, which is built against it); it then
checks that ``bson.has_c()`` is False, that no C module got loaded and that the
functions behind ``bson.encode``/``decode`` (``_dict_to_bson``, ``_bson_to_dict``) are
Python functions, and reports all three, before timing anything.

Run by :class:`tests.benchmarks.bson_bench.PurePyMongoWorker` as
``python -m tests.benchmarks._pure_pymongo``, it speaks JSON lines: first it writes
its ``info`` (``has_c``, ``c_modules_loaded``, ``python_internals``, ``bson_file``),
then for each request ``{"task": "flat_bson_encode", "n": 10000}`` on stdin it times
``n`` operations and writes ``{"wall": seconds, "cpu": seconds}`` (or
``{"error": ...}``), until stdin closes. Only the standard library and
``tests.benchmarks`` (standard library only) are imported before the finder is in
place.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

BLOCKED = frozenset({"bson._cbson", "pymongo._cmessage"})


class BlockCExtensions(MetaPathFinder):
    """Makes every import of a module in ``BLOCKED`` fail."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname in BLOCKED:
            raise ModuleNotFoundError(
                f"{fullname} is blocked to time PyMongo's pure-Python codec", name=fullname
            )
        return None


def block_c_extensions() -> None:
    """Install the finder; RuntimeError if ``bson`` was imported already (too late)."""
    too_late = sorted((BLOCKED | {"bson", "pymongo"}) & sys.modules.keys())
    if too_late:
        raise RuntimeError(f"already imported, cannot block the C extension: {too_late}")
    sys.meta_path.insert(0, BlockCExtensions())


def main() -> int:
    block_c_extensions()
    import bson

    from tests.benchmarks import Runner, bson_bench

    c_loaded = sorted(BLOCKED & sys.modules.keys())
    # The functions bson.encode/decode call: Python functions only on the pure path.
    internals = {
        name: hasattr(getattr(bson, name, None), "__code__")
        for name in ("_dict_to_bson", "_bson_to_dict")
    }
    info = {
        "has_c": bson.has_c(),
        "c_modules_loaded": c_loaded,
        "python_internals": internals,
        "bson_file": bson.__file__,
    }
    _reply(info)
    if bson.has_c() or c_loaded or not all(internals.values()):
        return 1

    codec = bson_bench.pymongo_codec()
    datasets = bson_bench.load_datasets()
    runners: dict[str, Runner] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            task = request["task"]
            if task not in runners:
                runners[task] = bson_bench.codec_runner(codec, task, datasets)
            wall, cpu = runners[task](int(request["n"]))
        except Exception as exc:
            _reply({"error": f"{type(exc).__name__}: {exc}"})
            continue
        _reply({"wall": wall, "cpu": cpu})
    return 0


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
