"""Profile our driver on one driver-benchmark task with cProfile.

``python -m tests.benchmarks.driver_profile`` (``--help`` for the options) starts a
SecantusDB (or uses ``BENCH_MONGODB_URI``), prepares the task as
:mod:`tests.benchmarks.driver_bench` does, warms up, then runs ``--ops`` operations of
the task's timed loop under :mod:`cProfile` with :class:`driver.MongoClient` and prints
the top functions by cumulative and by own time (``--out`` also keeps the raw
profile for ``python -m pstats`` or snakeviz). Only the loop is profiled: set-up and
checks (done with PyMongo) stay outside. cProfile roughly doubles the time of
Python-heavy code, so read the shares, not the absolute times.

Example::

    python -m tests.benchmarks.driver_profile --task find_one_by_id --ops 5000
    python -m tests.benchmarks.driver_profile --task small_doc_insert_one --sort tottime
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks import driver_bench

PROFILED = ("run_command", "find_one_by_id", "small_doc_insert_one", "find_many_and_empty_cursor")


def _loop(task: str, client: Any, setup: Any, ops: int) -> Callable[[], None]:
    """The task's "do task" loop for ``ops`` operations, its before-task already done."""
    db = client[setup.database]
    collection = db[driver_bench.COLLECTION]
    if task == "run_command":
        command = db.command

        def run_command() -> None:
            for _ in range(ops):
                command("hello", True)

        return run_command
    if task == "find_one_by_id":
        find_one = collection.find_one
        filters = [{"_id": i} for i in range(1, ops + 1)]

        def find_by_id() -> None:
            for query in filters:
                find_one(query)

        return find_by_id
    if task == "small_doc_insert_one":
        insert_one = collection.insert_one
        setup.reset_collection()
        copies = [dict(driver_bench.load_document("small_doc")) for _ in range(ops)]

        def insert_each() -> None:
            for copy in copies:
                insert_one(copy)

        return insert_each
    if task == "find_many_and_empty_cursor":
        find = collection.find

        def find_many() -> None:
            for _ in find({}):
                pass

        return find_many
    raise ValueError(f"cannot profile {task!r}; one of {', '.join(PROFILED)}")


def profile(task: str, ops: int, uri: str, warmup: int = 200) -> cProfile.Profile:
    """Profile ``ops`` operations of ``task`` on ``uri`` with our client."""
    import pymongo

    import driver

    spec = driver_bench.TASKS_BY_NAME[task]
    with pymongo.MongoClient(uri, retryWrites=False) as setup_client:
        setup = driver_bench._Setup(setup_client, driver_bench.DATABASE)
        setup_client.drop_database(setup.database)
        if spec.dataset == "tweet":
            numbered = task == "find_one_by_id"
            setup.fill(driver_bench.load_document("tweet"), ops, numbered=numbered)
        with driver.MongoClient(uri, retryWrites=False) as client:
            _loop(task, client, setup, min(warmup, ops))()  # connections, caches
            loop = _loop(task, client, setup, ops)
            profiler = cProfile.Profile()
            profiler.runcall(loop)
        setup_client.drop_database(setup.database)
    return profiler


def report(profiler: cProfile.Profile, sort: str, limit: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats(sort).print_stats(limit)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.driver_profile",
        description="cProfile our MongoClient on one driver-benchmark task.",
    )
    parser.add_argument("--task", choices=PROFILED, default="find_one_by_id")
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
        uri = os.environ.get(driver_bench.URI_VARIABLE)
        if not uri:
            from tools.testserver import TestServer

            uri = stack.enter_context(TestServer()).uri
        profiler = profile(args.task, args.ops, uri)
    if args.out is not None:
        profiler.dump_stats(args.out)
    for sort in args.sort or ["cumulative", "tottime"]:
        print(f"== {args.task}: {args.ops} operations, by {sort} ==")
        print(report(profiler, sort, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
