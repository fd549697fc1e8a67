"""Smoke tests of the benchmarks: tiny runs, correctness only, no timing asserts.

The BSON suite needs no server; the driver and ODM suites run against the session's
server (``BENCH_MONGODB_URI`` pointed at it, a database of their own). The ODM suite
measures the peer ODMs that are installed (the ``bench`` extra); each missing one is a
skipped ``test_odm_implementation_measured[...]`` saying so.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bson as pybson
import pytest
from bson import json_util

from driver import bson as ours
from tests.benchmarks import Scheme, bson_bench, driver_bench, odm_bench
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


# ------------------------------------------------------------------ the driver suite


def test_driver_task_sizes_follow_the_scheme() -> None:
    def sizes(scheme: Scheme) -> dict[str, int]:
        return {task.name: driver_bench.task_ops(task, scheme) for task in driver_bench.TASKS}

    full = sizes(driver_bench.FULL_SCHEME)
    assert full["run_command"] == full["find_one_by_id"] == full["small_doc_insert_one"] == 1_000
    assert full["find_many_and_empty_cursor"] == full["small_doc_bulk_insert"] == 10_000
    assert full["large_doc_insert_one"] == full["large_doc_bulk_insert"] == 10
    # --iterations 10000 is the spec's size for every task.
    spec = sizes(replace(driver_bench.FULL_SCHEME, iterations=10_000))
    assert spec == {task.name: task.spec_ops for task in driver_bench.TASKS}
    tiny = sizes(TINY)
    assert tiny["find_one_by_id"] == 3
    assert tiny["small_doc_bulk_insert"] == 30
    assert tiny["large_doc_bulk_insert"] == 2
    multi = driver_bench.task_scheme(driver_bench.TASKS_BY_NAME["small_doc_bulk_insert"], TINY)
    assert multi.warmup == multi.iterations == 30


def test_driver_datasets_are_the_specs() -> None:
    sizes = {task.name: driver_bench.bytes_per_op(task) for task in driver_bench.TASKS}
    assert sizes["run_command"] == 13  # {hello: true}, as the spec says
    assert 1_000 < sizes["find_one_by_id"] < 2_000  # TWEET
    assert 200 < sizes["small_doc_insert_one"] < 400  # SMALL_DOC
    assert 2_000_000 < sizes["large_doc_insert_one"] < 3_000_000  # LARGE_DOC
    assert "_id" not in driver_bench.load_document("small_doc")


def test_driver_runner_refuses_more_lookups_than_documents() -> None:
    collection = SimpleNamespace(find_one=lambda query: None)
    database = {"corpus": collection}
    setup = SimpleNamespace(database="db")
    task = driver_bench.TASKS_BY_NAME["find_one_by_id"]
    runner = driver_bench.make_runner(task, {"db": database}, setup, corpus=2)
    with pytest.raises(driver_bench.BenchmarkError, match="3 lookups in a corpus of 2"):
        runner(3)
    with pytest.raises(driver_bench.BenchmarkError, match="returned None"):
        runner(2)


def test_driver_suite_runs_every_task_against_the_server(
    mongodb_uri: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(driver_bench.URI_VARIABLE, mongodb_uri)
    monkeypatch.setattr(driver_bench, "DATABASE", "feldspar_bench_smoke")
    out = tmp_path / "bench.json"
    argv = ["--only", "driver", "--iterations", "3", "--repeat", "1", "--json", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "wall ours/" in printed and "cpu ours/" in printed
    results = json.loads(out.read_text(encoding="utf-8"))["driver"]
    assert results["server"] == "external"
    assert results["database"] == "feldspar_bench_smoke"
    assert results["scheme"]["iterations"] == 3
    impls = {"ours", driver_bench.pymongo_name()}
    for task in driver_bench.TASKS:
        by_impl = results["tasks"][task.name]
        assert set(by_impl) == impls
        for timing in by_impl.values():
            assert timing["iterations"] == driver_bench.task_ops(task, TINY)
            assert timing["repetitions"] == 1
            assert timing["us_per_op"] > 0 and timing["cpu_us_per_op"] >= 0
    assert set(driver_bench.ratios(results)) == {task.name for task in driver_bench.TASKS}
    assert "Large doc bulk insert" in driver_bench.render(results)
    # The suite cleans up after itself.
    import pymongo

    with pymongo.MongoClient(mongodb_uri) as client:
        assert "feldspar_bench_smoke" not in client.list_database_names()


# --------------------------------------------------------------------- the ODM suite


def test_odm_task_sizes_follow_the_scheme() -> None:
    def sizes(scheme: Scheme) -> dict[str, int]:
        return {task.name: odm_bench.task_ops(task, scheme) for task in odm_bench.TASKS}

    full = sizes(odm_bench.FULL_SCHEME)
    assert full.pop("large_flat_create") == 100  # 1/100 of the spec: a 2.4 MB document
    assert set(full.values()) == {1_000}  # 1/10 of the spec
    large = odm_bench.task_scheme(
        odm_bench.TASKS_BY_NAME["large_flat_create"], odm_bench.FULL_SCHEME
    )
    assert (large.iterations, large.warmup) == (100, 10)
    assert (large.min_repeat, large.repeat) == (15, 15)
    # An exact --repeat wins.
    exact = replace(odm_bench.FULL_SCHEME, repeat=2, min_repeat=2)
    large = odm_bench.task_scheme(odm_bench.TASKS_BY_NAME["large_flat_create"], exact)
    assert (large.min_repeat, large.repeat) == (2, 2)
    tiny = sizes(TINY)
    assert tiny["small_create"] == 3 and tiny["large_flat_create"] == 2


def test_odm_datasets_are_the_specs() -> None:
    sizes = {task.dataset: odm_bench.bytes_per_op(task) for task in odm_bench.TASKS}
    assert 200 < sizes["small"] < 300  # SMALL_DOC: 13 fields
    assert 2_400_000 < sizes["large_flat"] < 2_500_000  # 250 fields and a 2.4 MB image
    assert 6_000 < sizes["large_nested"] < 7_000
    small = odm_bench.model_shape("small")
    assert [kind for _, kind in small.fields] == ["str"] * 7 + ["int"] * 6
    flat = dict(odm_bench.model_shape("large_flat").fields)
    assert len(flat) == 251 and flat["image_field"] == "bytes"
    assert isinstance(odm_bench.load_document("large_flat")["image_field"], bytes)
    nested = dict(odm_bench.model_shape("large_nested").fields)
    embedded = [kind for kind in nested.values() if isinstance(kind, odm_bench.Embedded)]
    assert len(embedded) == len(nested) == 13
    assert {kind.name for kind in embedded} == {"StrEmbedded", "IntEmbedded"}
    assert [name for name, kind in nested.items() if kind.many] == ["embedded_str_doc_array"]
    # The paths the update and find tasks use exist in the document.
    document = odm_bench.load_document("large_nested")
    assert isinstance(odm_bench.get_path(document, odm_bench.NESTED_FILTER_PATH), str)


def test_odm_uri_gets_retry_writes_off() -> None:
    fix = odm_bench.with_retry_writes_off
    assert fix("mongodb://h:1") == "mongodb://h:1/?retryWrites=false"
    assert (
        fix("mongodb://h:1,k:2/db?directConnection=true&retryWrites=true")
        == "mongodb://h:1,k:2/db?directConnection=true&retryWrites=false"
    )


def test_odm_missing_implementations_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(odm_bench.REQUIRES, "beanie", ("no_such_module_for_the_bench",))
    ok, missing = odm_bench.available(["driver", "beanie"])
    assert ok == ["driver"]
    assert "no_such_module_for_the_bench" in missing["beanie"]
    results = {"implementations": ok, "missing": missing, "tasks": {}, "ops": {}}
    assert "missing: beanie: ModuleNotFoundError" in odm_bench.render(results)


def test_odm_checks_reject_wrong_results() -> None:
    document = odm_bench.load_document("small")
    assert odm_bench._same_document({"_id": 1, **document}, document)
    assert not odm_bench._same_document({"_id": 1, **document, "extra": 1}, document)
    assert not odm_bench._same_document(None, document)
    # A find returning nothing is caught (outside the timing).
    ops = odm_bench.Ops(
        create=lambda data: None,
        update=lambda instance, value: None,
        find=lambda id, nested: [],
        load=lambda: [{"_id": 1}, {"_id": 2}],
        id_of=lambda document: document["_id"],
        model=None,
    )
    bound = odm_bench.Bound(odm_bench.DriverImpl(), None)
    task = odm_bench.TASKS_BY_NAME["small_find"]
    runner = odm_bench.make_runner(task, bound, ops, SimpleNamespace(), "c")  # type: ignore[arg-type]
    with pytest.raises(odm_bench.BenchmarkError, match="3 lookups in a corpus of 2"):
        runner(3)
    with pytest.raises(odm_bench.BenchmarkError, match=r"small_find \[driver\]: the last find"):
        runner(2)


@pytest.fixture(scope="module")
def odm_run(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The ODM suite run once through the CLI, tiny, against the session's server."""
    out = tmp_path_factory.mktemp("odm") / "bench.json"
    argv = ["--only", "odm", "--iterations", "3", "--repeat", "1", "--json", str(out)]
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(odm_bench.URI_VARIABLE, mongodb_uri)
        patch.setattr(odm_bench, "DATABASE", "feldspar_odm_bench_smoke")
        with contextlib.redirect_stdout(printed):
            assert cli.main(argv) == 0
    results: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))["odm"]
    results["printed"] = printed.getvalue()
    return results


def test_odm_suite_runs_every_task_against_the_server(
    odm_run: dict[str, Any], mongodb_uri: str
) -> None:
    results = odm_run
    assert results["server"] == "external"
    assert results["scheme"]["iterations"] == 3
    assert set(results["tasks"]) == {task.name for task in odm_bench.TASKS}
    names = results["implementations"]
    assert {"ours", "driver"} <= set(names)
    # Every implementation either ran or is named as missing, in the results and the output.
    assert set(names) | set(results["missing"]) == set(odm_bench.IMPLEMENTATIONS)
    for name in results["missing"]:
        assert f"missing: {name}:" in results["printed"]
    for task in odm_bench.TASKS:
        by_impl = results["tasks"][task.name]
        assert set(by_impl) == set(names)
        for timing in by_impl.values():
            assert timing["iterations"] == odm_bench.task_ops(task, TINY)
            assert timing["repetitions"] == 1
            assert timing["us_per_op"] > 0 and timing["cpu_us_per_op"] >= 0
    assert "Client CPU per operation" in results["printed"]
    assert set(odm_bench.ratios(results)) == set(results["tasks"])
    import pymongo

    with pymongo.MongoClient(mongodb_uri) as client:
        assert "feldspar_odm_bench_smoke" not in client.list_database_names()


@pytest.mark.parametrize("name", odm_bench.IMPLEMENTATIONS)
def test_odm_implementation_measured(odm_run: dict[str, Any], name: str) -> None:
    """One line per implementation: measured, or skipped with why (peers: the ``bench``
    extra, which ``make test`` does not install)."""
    if name in odm_run["missing"]:
        reason = odm_run["missing"][name]
        if name not in odm_bench.PEERS:  # ours and our driver are never optional
            pytest.fail(f"{name} cannot run the ODM suite: {reason}")
        hint = " (pip install -e '.[bench]')" if name in odm_bench.PEERS else ""
        pytest.skip(f"{name} not measured: {reason}{hint}")
    assert all(name in by_impl for by_impl in odm_run["tasks"].values())
