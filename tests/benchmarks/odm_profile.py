"""Profile one implementation on one ODM-benchmark task with cProfile.

``python -m tests.benchmarks.odm_profile`` (``--help`` for the options) starts a
SecantusDB (or uses ``BENCH_MONGODB_URI``), prepares the task as
:mod:`tests.benchmarks.odm_bench` does, warms up, then runs ``--ops`` operations of the
task's timed loop under :mod:`cProfile` and prints the top functions by cumulative and
by own time (``--out`` also keeps the raw profile for ``python -m pstats`` or
snakeviz). Only the loop is profiled: set-up and checks (done with PyMongo) stay
outside. ``--impl`` picks the implementation (default ``ours``: ``odm.Engine``; the
async peers are profiled through their event loop). cProfile slows Python-heavy code
down by about 1.5-2x: read the shares, not the absolute times.

Example::

    python -m tests.benchmarks.odm_profile --task small_create --ops 5000
    python -m tests.benchmarks.odm_profile --task small_find --sort tottime --limit 40
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks import odm_bench


def _items(
    task: odm_bench.Task, bound: odm_bench.Bound, ops: odm_bench.Ops, setup: Any, n: int
) -> tuple[odm_bench.Call, list[tuple[Any, ...]]]:
    """The task's timed operation and its arguments for ``n`` operations, the spec's
    set-up and before-task phases done."""
    collection = f"{task.dataset}_{bound.impl.name}"
    document = odm_bench.load_document(task.dataset)
    if task.kind == "create":
        setup.reset(collection)
        return ops.create, [(dict(document),) for _ in range(n)]
    setup.fill(collection, document, n)
    instances = bound.call(ops.load)
    if task.kind == "update":
        return ops.update, [(instance, "profiled_value") for instance in instances]
    nested = None
    if task.dataset == "large_nested":
        nested = odm_bench.get_path(document, odm_bench.NESTED_FILTER_PATH)
    return ops.find, [(ops.id_of(instance), nested) for instance in instances]


def profile(
    task_name: str, impl_name: str, ops_count: int, uri: str, warmup: int = 200
) -> cProfile.Profile:
    """Profile ``ops_count`` operations of a task in one implementation on ``uri``."""
    import pymongo

    task = odm_bench.TASKS_BY_NAME[task_name]
    names, missing = odm_bench.available([impl_name])
    if not names:
        raise SystemExit(f"{impl_name} cannot run: {missing[impl_name]}")
    uri = odm_bench.with_retry_writes_off(uri)
    loop = asyncio.new_event_loop()
    profiler = cProfile.Profile()
    try:
        with pymongo.MongoClient(uri) as setup_client:
            setup = odm_bench._Setup(setup_client, odm_bench.DATABASE)
            setup_client.drop_database(setup.database)
            with odm_bench._connected([impl_name], uri, setup.database, loop) as bound_all:
                bound = bound_all[impl_name]
                collection = f"{task.dataset}_{impl_name}"
                ops = bound.call(bound.impl.bind, task.dataset, collection)
                fn, items = _items(task, bound, ops, setup, min(warmup, ops_count))
                bound.timed(fn, items)  # connections, caches, schema building
                fn, items = _items(task, bound, ops, setup, ops_count)
                profiler.runcall(bound.timed, fn, items)
            setup_client.drop_database(setup.database)
    finally:
        loop.close()
    return profiler


def report(profiler: cProfile.Profile, sort: str, limit: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats(sort).print_stats(limit)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.odm_profile",
        description="cProfile one implementation on one ODM-benchmark task.",
    )
    parser.add_argument("--task", choices=list(odm_bench.TASKS_BY_NAME), default="small_create")
    parser.add_argument("--impl", choices=odm_bench.IMPLEMENTATIONS, default="ours")
    parser.add_argument("--ops", type=int, default=5_000, help="operations profiled")
    parser.add_argument(
        "--sort",
        action="append",
        choices=("cumulative", "tottime", "ncalls"),
        help="pstats order (repeatable; default: cumulative, then tottime)",
    )
    parser.add_argument("--limit", type=int, default=30, help="functions shown per table")
    parser.add_argument("--out", type=Path, help="also write the raw profile here")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        uri = os.environ.get(odm_bench.URI_VARIABLE)
        if not uri:
            from tools.testserver import TestServer

            group = odm_bench.TASKS_BY_NAME[args.task].group
            uri = stack.enter_context(TestServer(odm_bench.GROUPS[group])).uri
        profiler = profile(args.task, args.impl, args.ops, uri)
    if args.out is not None:
        profiler.dump_stats(args.out)
    for sort in args.sort or ["cumulative", "tottime"]:
        print(f"== {args.task} [{args.impl}]: {args.ops} operations, by {sort} ==")
        print(report(profiler, sort, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
