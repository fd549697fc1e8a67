"""Feldspar's benchmarks, after the MongoDB driver benchmark spec ("DriverBench").

Run them with ``python -m tests.benchmarks`` (``make bench``); ``--help`` lists the
options. Each suite is a module named in ``SUITES`` (in ``__main__``) with a
``run(scheme) -> dict`` (JSON-able results, printed as it goes) and a
``render(results) -> str`` (the summary table).

Measurement scheme. The spec times many iterations of a task (each iteration is e.g.
10,000 encodes), for at least a minute and up to 100 iterations or 5 minutes per
task, and scores the task by its size in MB (10^6 bytes) over the *median* iteration
time. That is hours for pure-Python codecs, so we use a reduced scheme
(:class:`Scheme`, defaults in ``FULL``): per task, each implementation first runs
``warmup`` untimed operations; then rounds, each timing one repetition of
``iterations`` operations per implementation (the order rotating), for at least
``min_repeat`` rounds and at most ``repeat``, stopping once the task has used
``budget`` seconds (``FULL``: exactly 5 rounds of 10,000 operations, about two
minutes for the BSON suite). The score is the median repetition
(``statistics.median``, not the spec's nearest-rank index, which for 5 samples is
the second fastest, not the middle one).
Interleaving matters on a shared machine: speed drifts by tens of percent over a
minute, and timing one implementation after the other would turn that drift into a
false ratio. The garbage collector stays on (its cost is part of decoding) but runs a
full collection before each repetition. Wall time (``time.perf_counter``) gives the
score; client CPU time (``time.process_time``, in the process that did the work) is
recorded beside it.

This module imports nothing outside the standard library: the pure-PyMongo worker
(``_pure_pymongo``) imports it before it blocks PyMongo's C extension.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

__all__ = [
    "FULL",
    "QUICK",
    "Runner",
    "Sample",
    "Scheme",
    "Timing",
    "calls_runner",
    "format_table",
    "interleaved",
    "time_calls",
]


@dataclass(frozen=True)
class Scheme:
    """How long to time each task (see the module docstring)."""

    iterations: int = 10_000
    repeat: int = 5
    min_repeat: int = 5
    budget: float = 0.0
    warmup: int = 1_000

    def as_dict(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "repeat": self.repeat,
            "min_repeat": self.min_repeat,
            "budget": self.budget,
            "warmup": self.warmup,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scheme:
        return cls(**data)


FULL = Scheme()
QUICK = Scheme(iterations=500, repeat=3, min_repeat=3, budget=0.0, warmup=50)


@dataclass(frozen=True)
class Timing:
    """The timed repetitions of one task: seconds per repetition, wall and CPU."""

    iterations: int
    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    def mb_per_s(self, bytes_per_op: int) -> float:
        """The spec's score: task size in MB (10^6 bytes) over the median wall time."""
        return bytes_per_op * self.iterations / self.median_wall / 1e6

    def us_per_op(self) -> float:
        return self.median_wall / self.iterations * 1e6

    def cpu_us_per_op(self) -> float:
        return self.median_cpu / self.iterations * 1e6

    def as_dict(self, bytes_per_op: int) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "repetitions": len(self.wall),
            "wall_s": list(self.wall),
            "cpu_s": list(self.cpu),
            "median_wall_s": self.median_wall,
            "median_cpu_s": self.median_cpu,
            "mb_per_s": self.mb_per_s(bytes_per_op),
            "best_mb_per_s": bytes_per_op * self.iterations / min(self.wall) / 1e6,
            "us_per_op": self.us_per_op(),
            "cpu_us_per_op": self.cpu_us_per_op(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timing:
        return cls(data["iterations"], tuple(data["wall_s"]), tuple(data["cpu_s"]))


Sample = tuple[float, float]
"""One timed repetition: (wall seconds, CPU seconds)."""

Runner = Callable[[int], Sample]
"""Times ``n`` operations of one task in one implementation: ``runner(n) -> Sample``."""


def time_calls(fn: Callable[[Any], object], arg: Any, n: int) -> Sample:
    """Time ``n`` calls of ``fn(arg)``, after a full garbage collection.

    ``fn`` is called directly in the loop (no wrapper), so the only overhead per
    operation is one ``for`` step over ``itertools.repeat``.
    """
    gc.collect()
    process_time, perf_counter = time.process_time, time.perf_counter
    cpu0 = process_time()
    wall0 = perf_counter()
    for _ in repeat(None, n):
        fn(arg)
    wall = perf_counter() - wall0
    cpu = process_time() - cpu0
    return wall, cpu


def calls_runner(fn: Callable[[Any], object], arg: Any) -> Runner:
    """A :data:`Runner` timing ``fn(arg)``."""
    return lambda n: time_calls(fn, arg, n)


def interleaved(runners: Mapping[str, Runner], scheme: Scheme) -> dict[str, Timing]:
    """Time one task in several implementations, in rounds.

    After each runner's warm-up, every round times each runner once (the order
    rotates from round to round), so a slow spell of a shared machine hits all of
    them alike rather than whichever happened to run then. Rounds stop at
    ``scheme.repeat``, or after ``scheme.min_repeat`` once the task has used
    ``scheme.budget`` seconds (all implementations together).
    """
    names = list(runners)
    if scheme.warmup:
        for name in names:
            runners[name](scheme.warmup)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    spent = 0.0
    rounds = 0
    while rounds < scheme.repeat and (rounds < scheme.min_repeat or spent < scheme.budget):
        shift = rounds % len(names)
        for name in names[shift:] + names[:shift]:
            sample = runners[name](scheme.iterations)
            samples[name].append(sample)
            spent += sample[0]
        rounds += 1
    return {
        name: Timing(
            scheme.iterations,
            tuple(wall for wall, _ in taken),
            tuple(cpu for _, cpu in taken),
        )
        for name, taken in samples.items()
    }


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])
