"""The spec's BSON micro-benchmarks: flat, deep and full BSON, encoding and decoding.

Three implementations are timed in the same run, on the same bytes:

- ``ours``: :mod:`driver.bson`;
- ``pymongo_c``: PyMongo's ``bson`` with its C extension (``bson.has_c()`` true),
  timed in this process;
- ``pymongo_pure``: PyMongo's pure-Python codec, timed in a worker subprocess in
  which the C extension cannot be imported (see :mod:`tests.benchmarks._pure_pymongo`).

For each task the three take turns, one repetition each per round
(:func:`tests.benchmarks.interleaved`); the worker times its repetitions on request.

Data: ``data/<name>.json`` (the spec's Extended JSON files) is read once with PyMongo's
``bson.json_util.loads`` and encoded by PyMongo; those bytes are the dataset. Each
implementation decodes them into its own document types and must encode that
document back to the very same bytes before it is timed (so every codec encodes an
equal document, and decodes equal bytes). Encoding times ``encode(document)``;
decoding times ``decode(data)``, both with the default codec options.

Score: the spec's MB/s, where a task's size is the BSON size of the document times
the operations per repetition (10,000). The spec's text quotes the size of the
source JSON files instead (e.g. 7,531 bytes for flat); PyMongo's own perf tests use
the BSON size (``len(encode(document)) * NUM_DOCS``), which is what gets encoded and
decoded. See the package docstring for the timing scheme.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.benchmarks import Runner, Sample, Scheme, Timing, calls_runner, format_table, interleaved

__all__ = [
    "DATASETS",
    "IMPLEMENTATIONS",
    "TASKS",
    "BenchmarkError",
    "Codec",
    "PurePyMongoWorker",
    "codec_runner",
    "load_datasets",
    "measure",
    "native_document",
    "ours_codec",
    "pymongo_codec",
    "render",
    "run",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]

DATASETS = ("flat_bson", "deep_bson", "full_bson")
OPERATIONS = ("encode", "decode")
TASKS = tuple(f"{dataset}_{op}" for dataset in DATASETS for op in OPERATIONS)
TASK_TITLES = {
    f"{dataset}_{op}": f"{dataset.split('_')[0].title()} BSON {op.title()}"
    for dataset in DATASETS
    for op in OPERATIONS
}
IMPLEMENTATIONS = ("ours", "pymongo_c", "pymongo_pure")


class BenchmarkError(RuntimeError):
    """A codec disagrees with the dataset, or the pure-PyMongo worker failed."""


@dataclass(frozen=True)
class Codec:
    """One implementation under test: its name and its ``encode``/``decode``."""

    name: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


def ours_codec() -> Codec:
    from driver import bson as ours

    return Codec("ours", ours.encode, ours.decode)


def pymongo_codec() -> Codec:
    """PyMongo's codec as this process imported it: C or pure, by ``bson.has_c()``."""
    import bson

    return Codec("pymongo_c" if bson.has_c() else "pymongo_pure", bson.encode, bson.decode)


def load_dataset(name: str) -> bytes:
    """The dataset's BSON: its Extended JSON file parsed and encoded by PyMongo."""
    from bson import encode, json_util

    text = (DATA_DIR / f"{name}.json").read_text(encoding="utf-8")
    return encode(json_util.loads(text))


def load_datasets(names: Sequence[str] = DATASETS) -> dict[str, bytes]:
    return {name: load_dataset(name) for name in names}


def native_document(codec: Codec, data: bytes) -> Any:
    """``data`` decoded by ``codec``, checked to encode back to exactly ``data``."""
    document = codec.decode(data)
    again = codec.encode(document)
    if again != data:
        raise BenchmarkError(
            f"{codec.name} does not round-trip the dataset: {len(again)} bytes out, {len(data)} in"
        )
    return document


def split_task(task: str) -> tuple[str, str]:
    dataset, _, op = task.rpartition("_")
    if dataset not in DATASETS or op not in OPERATIONS:
        raise ValueError(f"unknown BSON task {task!r}; the tasks are {', '.join(TASKS)}")
    return dataset, op


def codec_runner(codec: Codec, task: str, datasets: dict[str, bytes]) -> Runner:
    """A runner timing ``task`` with ``codec`` (its round trip checked first)."""
    dataset, op = split_task(task)
    data = datasets[dataset]
    document = native_document(codec, data)
    if op == "encode":
        return calls_runner(codec.encode, document)
    return calls_runner(codec.decode, data)


def measure(
    codec: Codec, datasets: dict[str, bytes], scheme: Scheme, tasks: Sequence[str] = TASKS
) -> dict[str, Timing]:
    """Time one codec alone on each task (no interleaving); the timings by task."""
    return {
        task: interleaved({codec.name: codec_runner(codec, task, datasets)}, scheme)[codec.name]
        for task in tasks
    }


class PurePyMongoWorker:
    """The subprocess timing PyMongo's pure-Python codec; use it as a context manager.

    It starts with a JSON line proving the C extension is out of use (``info``), then
    answers each request ``{"task", "n"}`` with ``{"wall", "cpu"}`` for ``n``
    operations. Its stderr is ours.
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks._pure_pymongo"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info: dict[str, Any] = self._receive()
        internals = self.info.get("python_internals") or {}
        if (
            self.info.get("has_c") is not False
            or self.info.get("c_modules_loaded")
            or not internals
            or not all(internals.values())
        ):
            self.close()
            raise BenchmarkError(f"the pure-PyMongo worker used the C extension: {self.info}")

    def _receive(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            status = self._proc.wait()
            raise BenchmarkError(f"the pure-PyMongo worker exited (status {status})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise BenchmarkError(f"pure-PyMongo worker: {reply['error']}")
        return reply

    def time(self, task: str, n: int) -> Sample:
        """Wall and CPU seconds the worker took for ``n`` operations of ``task``."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"task": task, "n": n}) + "\n")
        self._proc.stdin.flush()
        reply = self._receive()
        return reply["wall"], reply["cpu"]

    def runner(self, task: str) -> Runner:
        return lambda n: self.time(task, n)

    def close(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> PurePyMongoWorker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _environment() -> dict[str, Any]:
    import bson
    import pymongo

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "pymongo": pymongo.version,
        "pymongo_has_c": bson.has_c(),
    }


def _progress(task: str, timings: dict[str, Timing], size: int) -> None:
    parts = [f"{name} {t.mb_per_s(size):.2f}" for name, t in timings.items()]
    rounds = max(len(t.wall) for t in timings.values())
    print(f"  {task:<17} MB/s: {', '.join(parts)}  ({rounds} rounds)", file=sys.stderr, flush=True)


def run(scheme: Scheme, tasks: Sequence[str] = TASKS, *, pure: bool = True) -> dict[str, Any]:
    """Run the suite (progress on stderr); JSON-able results for :func:`render`."""
    for task in tasks:
        split_task(task)
    datasets = load_datasets()
    environment = _environment()
    sizes = {dataset: len(data) for dataset, data in datasets.items()}
    results: dict[str, Any] = {
        "suite": "bson",
        "scheme": scheme.as_dict(),
        "environment": environment,
        "bytes_per_op": sizes,
        "notes": [],
        "tasks": {},
    }
    codecs = [ours_codec(), pymongo_codec()]
    worker: PurePyMongoWorker | None = None
    if not environment["pymongo_has_c"]:
        results["notes"].append("PyMongo's C extension is not available: no PyMongo-C column")
    elif pure:
        worker = PurePyMongoWorker()
        results["pure_worker"] = worker.info
    print(
        f"BSON suite: {scheme.iterations} ops per repetition, "
        f"{scheme.min_repeat}-{scheme.repeat} rounds per task",
        file=sys.stderr,
    )
    try:
        for task in tasks:
            runners = {codec.name: codec_runner(codec, task, datasets) for codec in codecs}
            if worker is not None:
                runners["pymongo_pure"] = worker.runner(task)
            timings = interleaved(runners, scheme)
            size = sizes[split_task(task)[0]]
            results["tasks"][task] = {name: t.as_dict(size) for name, t in timings.items()}
            _progress(task, timings, size)
    finally:
        if worker is not None:
            worker.close()
    return results


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}x"


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(results: dict[str, Any]) -> str:
    """The summary: MB/s and ratios per task, then microseconds per operation."""
    speed_rows: list[list[str]] = []
    time_rows: list[list[str]] = []
    for task, by_impl in results["tasks"].items():
        mbs = {
            impl: by_impl[impl]["mb_per_s"] if impl in by_impl else None for impl in IMPLEMENTATIONS
        }
        speed_rows.append(
            [
                TASK_TITLES.get(task, task),
                *(_cell(mbs[impl], ".2f") for impl in IMPLEMENTATIONS),
                _ratio(mbs["ours"], mbs["pymongo_pure"]),
                _ratio(mbs["ours"], mbs["pymongo_c"]),
            ]
        )
        row = [TASK_TITLES.get(task, task)]
        for impl in IMPLEMENTATIONS:
            timing = by_impl.get(impl)
            row.append(_cell(timing and timing["us_per_op"], ".1f"))
            row.append(_cell(timing and timing["cpu_us_per_op"], ".1f"))
        time_rows.append(row)
    scheme = results["scheme"]
    env = results["environment"]
    rounds = sorted(
        {len(t["wall_s"]) for by_impl in results["tasks"].values() for t in by_impl.values()}
    )
    header = (
        f"BSON micro-benchmarks (Python {env['python']}, PyMongo {env['pymongo']}): median of "
        f"{'-'.join(map(str, rounds[:1] + rounds[1:][-1:]))} interleaved repetitions of "
        f"{scheme['iterations']} ops per task\n"
        f"MB = 10^6 bytes of BSON per op x ops "
        f"({', '.join(f'{k} {v} B' for k, v in results['bytes_per_op'].items())})"
    )
    speed = format_table(
        ["task", "ours MB/s", "PyMongo-C MB/s", "PyMongo-pure MB/s", "ours/pure", "ours/C"],
        speed_rows,
    )
    times = format_table(
        ["task", "ours us", "ours cpu", "C us", "C cpu", "pure us", "pure cpu"],
        time_rows,
    )
    parts = [
        header,
        "",
        speed,
        "",
        "Per operation (median; wall and client CPU, microseconds):",
        times,
    ]
    parts.extend(f"note: {note}" for note in results.get("notes", []))
    return "\n".join(parts)
