"""``python -m tests.benchmarks``: run the benchmark suites and print their tables.

Examples::

    python -m tests.benchmarks                  # every suite, the full scheme
    python -m tests.benchmarks --only bson      # one suite
    python -m tests.benchmarks --only driver    # ours vs PyMongo against SecantusDB
    python -m tests.benchmarks --only odm       # our ODM vs the driver, Beanie, ODMantic, MongoEngine
    python -m tests.benchmarks --quick          # a few seconds: a smoke run, not a score
    python -m tests.benchmarks --json /tmp/bench.json

A new suite is a module with ``run(scheme) -> dict`` and ``render(results) -> str``,
added to ``SUITES`` below (imported only when selected). A suite whose default sizes
differ from the package's ``FULL``/``QUICK`` defines ``FULL_SCHEME``/``QUICK_SCHEME``
(the driver suite does: its operations cost a server round trip);
``--iterations``/``--repeat`` then adjust those.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.benchmarks import FULL, QUICK, Scheme

# name -> (module, one-line description)
SUITES: dict[str, tuple[str, str]] = {
    "bson": (
        "tests.benchmarks.bson_bench",
        "BSON encode/decode of flat, deep and full documents: ours vs PyMongo C and pure",
    ),
    "driver": (
        "tests.benchmarks.driver_bench",
        "single- and multi-document tasks (command, find, insert, bulk insert) against "
        "SecantusDB: ours vs PyMongo C, wall and CPU per op (BENCH_MONGODB_URI: your server)",
    ),
    "odm": (
        "tests.benchmarks.odm_bench",
        "ODM spec tasks (small/large/nested models: create, update, find) against "
        "SecantusDB: our odm.Engine vs our raw driver, Beanie, ODMantic, MongoEngine "
        "(peers from the bench extra; missing ones are reported)",
    ),
}

#: Suites whose ``run`` takes ``tasks=[names]`` (``--task``); their ``TASKS`` have names.
TASK_SUITES = ("driver", "odm")


def build_scheme(args: argparse.Namespace, full: Scheme = FULL, quick: Scheme = QUICK) -> Scheme:
    """The scheme for one suite: its default (``full``/``quick``), then the options."""
    scheme = quick if args.quick else full
    if args.iterations is not None:
        scheme = replace(
            scheme, iterations=args.iterations, warmup=min(scheme.warmup, args.iterations)
        )
    if args.repeat is not None:
        scheme = replace(scheme, repeat=args.repeat, min_repeat=args.repeat)
    return scheme


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description="Feldspar's benchmarks (after the MongoDB driver benchmark spec).",
        epilog="suites: "
        + "; ".join(f"{name}: {description}" for name, (_, description) in SUITES.items()),
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(SUITES),
        metavar="SUITE",
        help=f"run only this suite (repeatable); one of: {', '.join(sorted(SUITES))}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few operations and repetitions: checks the benchmarks run, scores are noise",
    )
    parser.add_argument("--iterations", type=positive_int, help="operations per timed repetition")
    parser.add_argument(
        "--repeat", type=positive_int, help="exactly this many timed repetitions per task"
    )
    parser.add_argument(
        "--task",
        action="append",
        metavar="NAME",
        help="run only this task (repeatable) of the driver or odm suite, e.g. "
        "find_one_by_id or small_create; suites without the named tasks are skipped",
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH"
    )
    args = parser.parse_args(argv)

    modules = {name: importlib.import_module(SUITES[name][0]) for name in args.only or SUITES}
    # --task: each suite of TASK_SUITES runs the named tasks it has; the other suites
    # are skipped, and a name no selected suite has is an error.
    chosen: dict[str, list[str] | None] = {name: None for name in modules}
    if args.task:
        known = {
            name: {task.name for task in module.TASKS} if name in TASK_SUITES else set()
            for name, module in modules.items()
        }
        unknown = [t for t in args.task if not any(t in names for names in known.values())]
        if unknown:
            parser.error(f"--task: no selected suite has {', '.join(unknown)}")
        chosen = {
            name: [t for t in args.task if t in known[name]]
            for name in modules
            if any(t in known[name] for t in args.task)
        }

    results: dict[str, Any] = {}
    for name, tasks in chosen.items():
        module = modules[name]
        scheme = build_scheme(
            args, getattr(module, "FULL_SCHEME", FULL), getattr(module, "QUICK_SCHEME", QUICK)
        )
        if tasks is not None:
            results[name] = module.run(scheme, tasks=tasks)
        else:
            results[name] = module.run(scheme)
        print(module.render(results[name]), flush=True)
        print()
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
