"""Smoke test of the BSON benchmarks: tiny runs, correctness only, no timing asserts."""

from __future__ import annotations

import json
from pathlib import Path

import bson as pybson
import pytest
from bson import json_util

from driver import bson as ours
from tests.benchmarks import Scheme, bson_bench
from tests.benchmarks import __main__ as cli

TINY = Scheme(iterations=3, repeat=2, min_repeat=2, budget=0.0, warmup=1)


def _pymongo_document(name: str) -> dict[str, object]:
    text = (bson_bench.DATA_DIR / f"{name}.json").read_text(encoding="utf-8")
    document: dict[str, object] = json_util.loads(text)
    return document


@pytest.mark.parametrize("name", bson_bench.DATASETS)
def test_ours_encodes_like_pymongo_and_round_trips(name: str) -> None:
    expected = pybson.encode(_pymongo_document(name))
    assert expected == bson_bench.load_dataset(name)
    document = ours.decode(expected)
    encoded = ours.encode(document)
    assert encoded == expected
    assert ours.decode(encoded) == document
    # And PyMongo reads our bytes as the document it started from.
    assert pybson.decode(encoded) == pybson.decode(expected)


def test_measure_returns_numbers_for_every_task() -> None:
    datasets = bson_bench.load_datasets()
    for codec in (bson_bench.ours_codec(), bson_bench.pymongo_codec()):
        timings = bson_bench.measure(codec, datasets, TINY)
        assert set(timings) == set(bson_bench.TASKS)
        for task, timing in timings.items():
            size = len(datasets[bson_bench.split_task(task)[0]])
            assert len(timing.wall) == len(timing.cpu) == 2
            assert timing.iterations == 3
            assert timing.mb_per_s(size) > 0
            assert timing.cpu_us_per_op() >= 0


def test_round_trip_check_rejects_a_codec_that_changes_bytes() -> None:
    bad = bson_bench.Codec("bad", lambda doc: ours.encode(doc) + b"x", ours.decode)
    with pytest.raises(bson_bench.BenchmarkError):
        bson_bench.native_document(bad, bson_bench.load_dataset("flat_bson"))


def test_cli_runs_all_three_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not pybson.has_c():
        pytest.skip("PyMongo's C extension is not installed")
    out = tmp_path / "bench.json"
    argv = ["--only", "bson", "--iterations", "2", "--repeat", "1", "--json", str(out)]
    assert cli.main(argv) == 0
    assert "ours/pure" in capsys.readouterr().out
    results = json.loads(out.read_text(encoding="utf-8"))["bson"]
    assert results["scheme"]["iterations"] == 2
    worker = results["pure_worker"]
    assert worker["has_c"] is False
    assert worker["c_modules_loaded"] == []
    assert all(worker["python_internals"].values())
    for task in bson_bench.TASKS:
        by_impl = results["tasks"][task]
        assert set(by_impl) == set(bson_bench.IMPLEMENTATIONS)
        assert all(timing["mb_per_s"] > 0 for timing in by_impl.values())
    assert "Full BSON Decode" in bson_bench.render(results)


def test_pure_worker_times_on_request_and_reports_errors() -> None:
    with bson_bench.PurePyMongoWorker() as worker:
        assert worker.info["has_c"] is False
        wall, cpu = worker.time("deep_bson_decode", 2)
        assert wall > 0 and cpu >= 0
        with pytest.raises(bson_bench.BenchmarkError, match="unknown BSON task"):
            worker.time("no_such_task", 1)
        assert worker.time("full_bson_encode", 1)[0] > 0
