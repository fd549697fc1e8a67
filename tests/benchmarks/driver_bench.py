"""The spec's single- and multi-document tasks: our ``MongoClient`` against PyMongo's.

Two implementations run in the same process, in the same run, against the same
server, taking turns (:func:`tests.benchmarks.interleaved`):

- ``ours``: :class:`driver.MongoClient`;
- ``pymongo_c``: :class:`pymongo.MongoClient` with its C extensions (``pymongo_pure``
  if they are missing; the environment records which).

Tasks (``source/benchmarking/benchmarking.md``, "Single-Doc" and "Multi-Doc"):

==========================  ================================================  ==========
task                        one timed repetition ("do task")                   spec size
==========================  ================================================  ==========
run_command                 ``db.command("hello", True)``, n times             10,000
find_one_by_id              ``find_one({"_id": i})`` for i in 1..n             10,000
small_doc_insert_one        ``insert_one(SMALL_DOC copy)``, n times            10,000
large_doc_insert_one        ``insert_one(LARGE_DOC copy)``, n times            10
find_many_and_empty_cursor  ``find({})`` over the n-tweet corpus, iterated     10,000 docs
small_doc_bulk_insert       ``insert_many`` of n SMALL_DOC copies (ordered)    10,000 docs
large_doc_bulk_insert       ``insert_many`` of n LARGE_DOC copies (ordered)    10 docs
==========================  ================================================  ==========

"Per operation" means per document for the multi-document tasks, as the spec counts
them. The spec's "before task" phase runs untimed before every repetition: the insert
tasks drop and ``create`` the ``corpus`` collection and make fresh shallow copies of
the document (both drivers add ``_id`` to the mapping they insert, so a copy may be
inserted only once). Set-up, resets and checks go through a separate PyMongo client,
so both implementations see the same data; every repetition is checked afterwards
(documents found, documents inserted).

Scale (the spec asks for 10,000 operations per iteration, at least a minute and up to
100 iterations per task; that is about an hour here). The suite's own schemes:

- ``FULL_SCHEME`` (``make bench``): the three small single-document tasks do
  ``iterations`` = 1,000 operations per repetition, a scale factor of 1/10 of the
  spec; the multi-document and large-document tasks do the spec's full work per
  repetition (10,000 documents, 10 large documents), since their batching depends on
  it. 5 to 10 interleaved repetitions per task, stopping after 5 once a task has
  used 10 s; a warm-up of 100 operations (one whole repetition for multi-document
  tasks). About a minute and a half in all on a 2-CPU machine.
- With another ``iterations`` (``--iterations``, ``--quick``), the single-document
  tasks do that many operations and the others ``spec x min(1, iterations / 1,000)``
  documents (at least 2): ``--iterations 10000`` is the spec's size for every task,
  ``--quick`` a smoke run whose figures are noise.

Servers: unless ``BENCH_MONGODB_URI`` names one, each group of tasks gets a fresh
SecantusDB (:class:`tools.testserver.TestServer`): the three small single-document
tasks share one, the two multi-document tasks another, and each large-document task
gets its own, started with ``--cache-size 6G --oplog-max-entries 100`` (an in-memory
SecantusDB keeps old writes in its cache). Both clients connect with
``retryWrites=false``: SecantusDB 0.7 re-checks every earlier retryable write on each
write, which slows long write-heavy runs down. The database is ``perftest`` (dropped
before and after each group, as the spec says).

Timing: wall time (``time.perf_counter``) gives the score; client CPU time
(``time.process_time`` of this process, where only the client runs: the server is
another process) is recorded beside it. Ratios are ours over PyMongo's time per
operation, so above 1 means we are slower. MB/s is the spec's score, with a task's size
taken as the BSON size of its document (13 bytes for ``{hello: true}``) times the
operations per repetition. Note that the wall time includes the server's work (the
same for both), so wall ratios understate client differences; CPU ratios do not.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import repeat
from pathlib import Path
from typing import Any

from tests.benchmarks import Runner, Sample, Scheme, Timing, format_table, interleaved

__all__ = [
    "FULL_SCHEME",
    "GROUPS",
    "IMPLEMENTATIONS",
    "QUICK_SCHEME",
    "TASKS",
    "BenchmarkError",
    "Task",
    "load_document",
    "render",
    "run",
    "task_ops",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
DATABASE = "perftest"
COLLECTION = "corpus"
SPEC_OPS = 10_000
URI_VARIABLE = "BENCH_MONGODB_URI"

#: ``make bench``: see the module docstring ("Scale").
FULL_SCHEME = Scheme(iterations=1_000, repeat=10, min_repeat=5, budget=10.0, warmup=100)
#: ``--quick``: a smoke run (a few seconds per task), not a score.
QUICK_SCHEME = Scheme(iterations=100, repeat=2, min_repeat=2, budget=0.0, warmup=10)

LARGE_SERVER_ARGS = ("--cache-size", "6G", "--oplog-max-entries", "100")


class BenchmarkError(RuntimeError):
    """A task did not do what it should have (documents missing, a wrong count)."""


@dataclass(frozen=True)
class Task:
    """One benchmark task: its spec title, dataset and spec size, and its server group."""

    name: str
    title: str
    dataset: str | None  # a file in data/ without ".json"; None for run_command
    spec_ops: int
    multi: bool  # one call per repetition, over all its documents
    group: str


TASKS: tuple[Task, ...] = (
    Task("run_command", "Run command", None, SPEC_OPS, False, "single"),
    Task("find_one_by_id", "Find one by ID", "tweet", SPEC_OPS, False, "single"),
    Task("small_doc_insert_one", "Small doc insertOne", "small_doc", SPEC_OPS, False, "single"),
    Task("large_doc_insert_one", "Large doc insertOne", "large_doc", 10, False, "large_one"),
    Task("find_many_and_empty_cursor", "Find many, empty cursor", "tweet", SPEC_OPS, True, "multi"),
    Task("small_doc_bulk_insert", "Small doc bulk insert", "small_doc", SPEC_OPS, True, "multi"),
    Task("large_doc_bulk_insert", "Large doc bulk insert", "large_doc", 10, True, "large_bulk"),
)
TASKS_BY_NAME = {task.name: task for task in TASKS}

#: Server group -> extra ``secantusd-py`` arguments (a fresh server per group).
GROUPS: dict[str, tuple[str, ...]] = {
    "single": (),
    "multi": (),
    "large_one": LARGE_SERVER_ARGS,
    "large_bulk": LARGE_SERVER_ARGS,
}

IMPLEMENTATIONS = ("ours", "pymongo_c")


def task_ops(task: Task, scheme: Scheme) -> int:
    """Operations (documents, for multi-document tasks) per timed repetition."""
    if task.spec_ops == SPEC_OPS and not task.multi:
        return scheme.iterations
    factor = min(1.0, scheme.iterations / FULL_SCHEME.iterations)
    return max(2, round(task.spec_ops * factor))


def task_scheme(task: Task, scheme: Scheme) -> Scheme:
    """``scheme`` for one task: its operation count, and a warm-up that fits it."""
    ops = task_ops(task, scheme)
    warmup = ops if task.multi else min(scheme.warmup, ops)
    return replace(scheme, iterations=ops, warmup=warmup)


@cache
def load_document(name: str) -> dict[str, Any]:
    """A dataset (strict JSON, no extended types) as a plain dict; copy before inserting."""
    document: dict[str, Any] = json.loads((DATA_DIR / f"{name}.json").read_text("utf-8"))
    return document


def bytes_per_op(task: Task) -> int:
    """The BSON size of what one operation sends or reads (without the ``_id`` added)."""
    from bson import encode

    if task.dataset is None:
        return len(encode({"hello": True}))
    return len(encode(load_document(task.dataset)))


def pymongo_name() -> str:
    import bson
    import pymongo

    return "pymongo_c" if pymongo.has_c() and bson.has_c() else "pymongo_pure"


def client_factories() -> dict[str, Callable[[str], Any]]:
    """Implementation name -> ``make(uri)`` returning a connected sync client."""
    import pymongo

    import driver

    options = {"retryWrites": False, "serverSelectionTimeoutMS": 20_000}
    return {
        "ours": lambda uri: driver.MongoClient(uri, **options),
        pymongo_name(): lambda uri: pymongo.MongoClient(uri, **options),
    }


# ----------------------------------------------------------------------------- timing


def _timed(action: Callable[[], object]) -> tuple[Sample, object]:
    """Run ``action`` once after a full collection; (wall, CPU) seconds and its result."""
    gc.collect()
    process_time, perf_counter = time.process_time, time.perf_counter
    cpu0 = process_time()
    wall0 = perf_counter()
    result = action()
    wall = perf_counter() - wall0
    cpu = process_time() - cpu0
    return (wall, cpu), result


class _Setup:
    """The PyMongo client that prepares and checks the data, outside the timings."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.database = database
        self.db = client[database]
        self.collection = self.db[COLLECTION]

    def reset_collection(self) -> None:
        """The spec's "before task" of the insert tasks: drop, then ``create``."""
        self.db.drop_collection(COLLECTION)
        self.db.command("create", COLLECTION)

    def fill(self, document: Mapping[str, Any], count: int, *, numbered: bool) -> None:
        """``count`` copies of ``document``, ``_id`` 1..count or driver-made ids."""
        self.reset_collection()
        copies = [
            {**document, "_id": i} if numbered else dict(document) for i in range(1, count + 1)
        ]
        self.collection.insert_many(copies)
        self.expect_count(count)

    def expect_count(self, count: int) -> None:
        found = self.collection.estimated_document_count()
        if found != count:
            raise BenchmarkError(
                f"{self.database}.{COLLECTION} holds {found} documents, not {count}"
            )


def _check(ok: bool, task: Task, what: str) -> None:
    if not ok:
        raise BenchmarkError(f"{task.name}: {what}")


def make_runner(task: Task, client: Any, setup: _Setup, corpus: int) -> Runner:
    """A runner timing ``task`` on ``client`` (the corpus, if any, is in place)."""
    db = client[setup.database]
    collection = db[COLLECTION]
    document = load_document(task.dataset) if task.dataset else {}

    if task.name == "run_command":
        command = db.command

        def run_command(n: int) -> Sample:
            def do() -> object:
                reply = None
                for _ in repeat(None, n):
                    reply = command("hello", True)
                return reply

            sample, reply = _timed(do)
            _check(
                n == 0 or (isinstance(reply, Mapping) and reply.get("ok") == 1),
                task,
                f"hello answered {reply!r}",
            )
            return sample

        return run_command

    if task.name == "find_one_by_id":
        find_one = collection.find_one

        def find_by_id(n: int) -> Sample:
            _check(n <= corpus, task, f"{n} lookups in a corpus of {corpus}")
            filters = [{"_id": i} for i in range(1, n + 1)]

            def do() -> object:
                found = None
                for query in filters:
                    found = find_one(query)
                return found

            sample, last = _timed(do)
            _check(
                isinstance(last, Mapping) and last.get("_id") == n,
                task,
                f"find_one({{'_id': {n}}}) returned {last!r:.80}",
            )
            return sample

        return find_by_id

    if task.name in ("small_doc_insert_one", "large_doc_insert_one"):
        insert_one = collection.insert_one

        def insert_each(n: int) -> Sample:
            setup.reset_collection()
            copies = [dict(document) for _ in range(n)]

            def do() -> object:
                for copy in copies:
                    insert_one(copy)
                return None

            sample, _ = _timed(do)
            setup.expect_count(n)
            return sample

        return insert_each

    if task.name == "find_many_and_empty_cursor":
        find = collection.find

        def find_many(n: int) -> Sample:
            _check(n == corpus, task, f"a repetition of {n} documents over a corpus of {corpus}")

            def do() -> object:
                count = 0
                for _ in find({}):
                    count += 1
                return count

            sample, count = _timed(do)
            _check(count == corpus, task, f"the cursor gave {count} documents, not {corpus}")
            return sample

        return find_many

    if task.name in ("small_doc_bulk_insert", "large_doc_bulk_insert"):
        insert_many = collection.insert_many

        def bulk_insert(n: int) -> Sample:
            setup.reset_collection()
            copies = [dict(document) for _ in range(n)]
            sample, _ = _timed(lambda: insert_many(copies, ordered=True))
            setup.expect_count(n)
            return sample

        return bulk_insert

    raise ValueError(f"unknown driver task {task.name!r}")


# ------------------------------------------------------------------------ the suite


@contextlib.contextmanager
def _server(group: str, uri: str | None) -> Iterator[str]:
    """The URI for a group: the given one, or a fresh SecantusDB stopped afterwards."""
    if uri is not None:
        yield uri
        return
    from tools.testserver import TestServer

    with TestServer(GROUPS[group]) as server:
        yield server.uri


def _prepare_corpus(task: Task, setup: _Setup, ops: int) -> int:
    """The spec's set-up of a task; the number of documents it leaves in ``corpus``."""
    if task.name == "find_one_by_id":
        setup.fill(load_document("tweet"), ops, numbered=True)
        return ops
    if task.name == "find_many_and_empty_cursor":
        setup.fill(load_document("tweet"), ops, numbered=False)
        return ops
    return 0


def _environment(setup_client: Any) -> dict[str, Any]:
    import bson
    import pymongo

    try:
        from importlib.metadata import version

        secantus: str | None = version("SecantusDB")
    except Exception:
        secantus = None
    build = setup_client.admin.command("buildInfo")
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "pymongo": pymongo.version,
        "pymongo_has_c": pymongo.has_c() and bson.has_c(),
        "server_version": build.get("version"),
        "secantusdb": secantus,
    }


def _progress(task: Task, timings: Mapping[str, Timing]) -> None:
    parts = [
        f"{name} {t.us_per_op():.1f} us ({t.cpu_us_per_op():.1f} cpu)"
        for name, t in timings.items()
    ]
    rounds = max(len(t.wall) for t in timings.values())
    ops = next(iter(timings.values())).iterations
    print(
        f"  {task.name:<27} per op: {', '.join(parts)}  ({rounds} rounds of {ops})",
        file=sys.stderr,
        flush=True,
    )


def run(
    scheme: Scheme,
    tasks: Sequence[str] | None = None,
    *,
    uri: str | None = None,
    database: str | None = None,
) -> dict[str, Any]:
    """Run the suite (progress on stderr); JSON-able results for :func:`render`.

    ``uri``: a server to use for every task (default: ``BENCH_MONGODB_URI``, else a
    fresh SecantusDB per group). ``database`` (default ``perftest``) is dropped before
    and after each group.
    """
    database = database or DATABASE
    import pymongo

    selected = [TASKS_BY_NAME[name] for name in (tasks or [t.name for t in TASKS])]
    uri = uri or os.environ.get(URI_VARIABLE) or None
    factories = client_factories()
    results: dict[str, Any] = {
        "suite": "driver",
        "scheme": scheme.as_dict(),
        "environment": {},
        "server": "external" if uri else "SecantusDB, a fresh server per group",
        "database": database,
        "bytes_per_op": {task.name: bytes_per_op(task) for task in selected},
        "notes": [],
        "tasks": {},
    }
    if "pymongo_c" not in factories:
        results["notes"].append("PyMongo's C extensions are not available: PyMongo is pure")
    print(
        f"driver suite: {scheme.iterations} ops per repetition for single-document tasks, "
        f"{scheme.min_repeat}-{scheme.repeat} rounds per task",
        file=sys.stderr,
        flush=True,
    )
    groups = list(dict.fromkeys(task.group for task in selected))
    for group in groups:
        with _server(group, uri) as group_uri:
            setup_client = pymongo.MongoClient(group_uri, retryWrites=False)
            try:
                if not results["environment"]:
                    results["environment"] = _environment(setup_client)
                setup_client.drop_database(database)
                for task in (t for t in selected if t.group == group):
                    results["tasks"][task.name] = _run_task(
                        task, scheme, group_uri, factories, _Setup(setup_client, database)
                    )
                setup_client.drop_database(database)
            finally:
                setup_client.close()
    return results


def _run_task(
    task: Task,
    scheme: Scheme,
    uri: str,
    factories: Mapping[str, Callable[[str], Any]],
    setup: _Setup,
) -> dict[str, Any]:
    this = task_scheme(task, scheme)
    corpus = _prepare_corpus(task, setup, this.iterations)
    with contextlib.ExitStack() as stack:
        runners: dict[str, Runner] = {}
        for name, make in factories.items():
            client = make(uri)
            stack.callback(client.close)
            client.admin.command("ping")  # connected before anything is timed
            runners[name] = make_runner(task, client, setup, corpus)
        timings = interleaved(runners, this)
    _progress(task, timings)
    size = bytes_per_op(task)
    return {name: timing.as_dict(size) for name, timing in timings.items()}


# ---------------------------------------------------------------------------- output


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}"


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def ratios(results: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per task: ours over PyMongo's wall and CPU time per operation."""
    out: dict[str, dict[str, float]] = {}
    for task, by_impl in results["tasks"].items():
        ours = by_impl.get("ours")
        theirs = by_impl.get("pymongo_c") or by_impl.get("pymongo_pure")
        if ours and theirs and theirs["us_per_op"] and theirs["cpu_us_per_op"]:
            out[task] = {
                "wall": ours["us_per_op"] / theirs["us_per_op"],
                "cpu": ours["cpu_us_per_op"] / theirs["cpu_us_per_op"],
            }
    return out


def render(results: dict[str, Any]) -> str:
    """The summary: time per operation (wall and CPU) and ours/PyMongo ratios."""
    other = "pymongo_c"
    if not any(other in by_impl for by_impl in results["tasks"].values()):
        other = "pymongo_pure"
    label = "C" if other == "pymongo_c" else "pure"
    rows: list[list[str]] = []
    for name, by_impl in results["tasks"].items():
        task = TASKS_BY_NAME.get(name)
        ours, theirs = by_impl.get("ours"), by_impl.get(other)
        some = ours or theirs or {}
        rows.append(
            [
                task.title if task else name,
                str(some.get("iterations", "-")),
                _cell(ours and ours["us_per_op"], ".1f"),
                _cell(theirs and theirs["us_per_op"], ".1f"),
                _ratio(ours and ours["us_per_op"], theirs and theirs["us_per_op"]),
                _cell(ours and ours["cpu_us_per_op"], ".1f"),
                _cell(theirs and theirs["cpu_us_per_op"], ".1f"),
                _ratio(ours and ours["cpu_us_per_op"], theirs and theirs["cpu_us_per_op"]),
                _cell(ours and ours["mb_per_s"], ".2f"),
                _cell(theirs and theirs["mb_per_s"], ".2f"),
            ]
        )
    env = results.get("environment") or {}
    scheme = results["scheme"]
    rounds = sorted(
        {len(t["wall_s"]) for by_impl in results["tasks"].values() for t in by_impl.values()}
    )
    span = "-".join(map(str, rounds[:1] + rounds[1:][-1:])) or "0"
    header = (
        f"Driver benchmarks, single- and multi-document (Python {env.get('python')}, "
        f"PyMongo {env.get('pymongo')} {label}, server {env.get('server_version')} "
        f"[{results.get('server')}]):\n"
        f"median of {span} interleaved repetitions per task; 'ops' = operations "
        f"(documents for bulk and find-many) per repetition; single-document tasks at "
        f"{scheme['iterations']}/{SPEC_OPS} of the spec's size.\n"
        f"Times per operation in microseconds, wall and client CPU; ratios are ours/PyMongo "
        f"time (above 1: we are slower)."
    )
    table = format_table(
        [
            "task",
            "ops",
            "ours us",
            f"{label} us",
            "wall ours/" + label,
            "ours cpu",
            f"{label} cpu",
            "cpu ours/" + label,
            "ours MB/s",
            f"{label} MB/s",
        ],
        rows,
    )
    parts = [header, "", table]
    parts.extend(f"note: {note}" for note in results.get("notes", []))
    return "\n".join(parts)
