"""What ``driver`` and ``odm`` import, and which names they export.

- Neither package ever imports PyMongo or its relatives, not even indirectly or inside
  a ``try``: a fresh interpreter blocks those names and records every attempt, then
  imports every module of both packages.
- ``driver`` never imports ``odm``.
- The public ``__all__`` of ``driver``, ``driver.bson`` and ``odm`` is pinned here, so
  a change to the public API shows up in review.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The public API, sorted. A change here is a change to what users can import.
EXPECTED_DRIVER_ALL: tuple[str, ...] = (
    "ASCENDING",
    "AsyncMongoClient",
    "BSONError",
    "ConfigurationError",
    "CursorType",
    "DESCENDING",
    "DeleteMany",
    "DeleteOne",
    "DocumentTooLarge",
    "DriverError",
    "GEO2D",
    "GEOSPHERE",
    "HASHED",
    "IndexModel",
    "InsertOne",
    "InvalidBSON",
    "InvalidDocument",
    "InvalidId",
    "InvalidStringData",
    "MongoClient",
    "PyMongoError",
    "ReadConcern",
    "ReadPreference",
    "ReplaceOne",
    "ReturnDocument",
    "TEXT",
    "UpdateMany",
    "UpdateOne",
    "WriteConcern",
    "__version__",
    "version",
)
EXPECTED_DRIVER_BSON_ALL: tuple[str, ...] = (
    "ALL_UUID_SUBTYPES",
    "BSON",
    "BSONError",
    "Binary",
    "BinaryVector",
    "BinaryVectorDtype",
    "CSHARP_LEGACY",
    "Code",
    "CodecOptions",
    "DBRef",
    "DEFAULT_CODEC_OPTIONS",
    "DatetimeConversion",
    "DatetimeMS",
    "Decimal128",
    "DocumentTooLarge",
    "EPOCH_AWARE",
    "EPOCH_NAIVE",
    "Int64",
    "InvalidBSON",
    "InvalidDocument",
    "InvalidId",
    "InvalidStringData",
    "JAVA_LEGACY",
    "MAX_BSON_SIZE",
    "MaxKey",
    "MinKey",
    "OLD_UUID_SUBTYPE",
    "ObjectId",
    "PYTHON_LEGACY",
    "RE_TYPE",
    "RawBSONDocument",
    "Regex",
    "SON",
    "STANDARD",
    "Timestamp",
    "TypeCodec",
    "TypeDecoder",
    "TypeEncoder",
    "TypeRegistry",
    "UUID_SUBTYPE",
    "UuidRepresentation",
    "decode",
    "decode_all",
    "decode_file_iter",
    "decode_iter",
    "encode",
    "has_c",
    "is_valid",
    "utc",
)
EXPECTED_ODM_ALL: tuple[str, ...] = (
    "Aggregation",
    "AsyncAggregation",
    "AsyncEngine",
    "AsyncModelCursor",
    "BaseDocument",
    "Binary",
    "Decimal128",
    "Document",
    "DocumentConfig",
    "DocumentNotFound",
    "DuplicateKeyError",
    "Engine",
    "FieldProxy",
    "Index",
    "IndexDiff",
    "IndexSpec",
    "Indexed",
    "Int64",
    "ModelCursor",
    "ODMError",
    "ObjectId",
    "Pipeline",
    "QueryExpression",
    "Regex",
    "Timestamp",
    "UTCDateTime",
    "Update",
    "ValidationError",
    "__version__",
    "aggregation",
    "and_",
    "bulk",
    "collection_name",
    "from_document",
    "nor_",
    "or_",
    "proxy",
    "raw",
    "text",
    "to_document",
    "update",
)

# PyMongo's distribution ships pymongo, bson and gridfs; motor and mongomock sit on it.
FORBIDDEN = ("pymongo", "bson", "gridfs", "motor", "mongomock")

# Runs in a fresh interpreter: argv = JSON list of sys.path entries to put first,
# comma-separated blocked top-level names, then the packages to import whole.
SCRIPT = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import json
    import pkgutil
    import sys
    import traceback

    paths, blocked, packages = json.loads(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
    sys.path[:0] = paths

    def is_blocked(name):
        return name.partition(".")[0] in blocked

    preloaded = sorted(name for name in sys.modules if is_blocked(name))
    attempts = []

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if is_blocked(fullname):
                attempts.append(fullname)
                raise ImportError(f"{fullname} is blocked by tests/test_imports.py")
            return None

    sys.meta_path.insert(0, Blocker())
    errors, imported, files, loaded_after = {}, [], {}, {}

    def record_error(name):
        errors.setdefault(name, traceback.format_exc())

    for package in packages:
        try:
            module = importlib.import_module(package)
            names = [package]
            names += sorted(
                info.name
                for info in pkgutil.walk_packages(
                    module.__path__, package + ".", onerror=record_error
                )
            )
        except BaseException:
            record_error(package)
            continue
        files[package] = getattr(module, "__file__", None)
        for name in names:
            try:
                importlib.import_module(name)
            except BaseException:
                record_error(name)
            else:
                imported.append(name)
        loaded_after[package] = sorted(sys.modules)

    print(json.dumps({
        "preloaded": preloaded,
        "attempts": attempts,
        "leaked": sorted(name for name in sys.modules if is_blocked(name)),
        "errors": errors,
        "imported": imported,
        "files": files,
        "loaded_after": loaded_after,
    }))
    """
)


def import_in_fresh_interpreter(packages: list[str], paths: list[Path]) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-I",  # no PYTHONPATH, user site or cwd on sys.path: only what we put there
            "-c",
            SCRIPT,
            json.dumps([str(path) for path in paths]),
            ",".join(FORBIDDEN),
            *packages,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, f"import scan crashed:\n{completed.stderr}"
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def scan() -> dict[str, Any]:
    return import_in_fresh_interpreter(["driver", "odm"], [ROOT])


def test_every_module_of_driver_and_odm_imports(scan: dict[str, Any]) -> None:
    errors = "\n".join(f"--- {name}\n{trace}" for name, trace in scan["errors"].items())
    assert not scan["errors"], f"modules that failed to import:\n{errors}"
    assert {"driver", "driver.bson", "driver.errors", "odm"} <= set(scan["imported"])
    for package, file in scan["files"].items():  # the source tree, not some other copy
        assert file is not None and Path(file).resolve().is_relative_to(ROOT), (package, file)


def test_driver_and_odm_never_import_pymongo_and_friends(scan: dict[str, Any]) -> None:
    assert not scan["preloaded"], (
        f"the interpreter loaded {scan['preloaded']} before the check began (a .pth file "
        "or sitecustomize?), so the check cannot see whether driver/odm import them"
    )
    assert not scan["attempts"], f"driver/odm tried to import: {scan['attempts']}"
    assert not scan["leaked"], f"in sys.modules after importing driver/odm: {scan['leaked']}"


def test_driver_never_imports_odm(scan: dict[str, Any]) -> None:
    odm_modules = [
        name for name in scan["loaded_after"]["driver"] if name == "odm" or name.startswith("odm.")
    ]
    assert not odm_modules, f"importing driver loaded {odm_modules}"


def test_the_scan_catches_indirect_and_swallowed_imports(tmp_path: Path) -> None:
    package = tmp_path / "sneaky"
    package.mkdir()
    (package / "__init__.py").write_text("from . import inner\n")
    (package / "inner.py").write_text(
        "try:\n    from bson import ObjectId\nexcept ImportError:\n    ObjectId = None\n"
    )
    (package / "lazy.py").write_text("import pymongo.errors\n")
    result = import_in_fresh_interpreter(["sneaky"], [tmp_path])
    assert result["attempts"] == ["bson", "pymongo"]
    assert list(result["errors"]) == ["sneaky.lazy"]
    assert not result["leaked"]


def pasteable(names: list[str]) -> str:
    return "(\n" + "".join(f"    {name!r},\n" for name in names) + ")"


@pytest.mark.parametrize(
    ("module_name", "expected"),
    [
        ("driver", EXPECTED_DRIVER_ALL),
        ("driver.bson", EXPECTED_DRIVER_BSON_ALL),
        ("odm", EXPECTED_ODM_ALL),
    ],
    ids=["driver", "driver.bson", "odm"],
)
def test_public_names_are_pinned(module_name: str, expected: tuple[str, ...]) -> None:
    module = importlib.import_module(module_name)
    exported = list(module.__all__)
    duplicates = sorted({name for name in exported if exported.count(name) > 1})
    assert not duplicates, f"{module_name}.__all__ lists these twice: {duplicates}"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what the module lacks: {missing}"
    actual = sorted(exported)
    assert actual == sorted(expected), (
        f"{module_name}.__all__ changed. If that is intended, pin it in "
        f"tests/test_imports.py as:\n{pasteable(actual)}"
    )


def test_the_sync_client_never_loads_asyncio() -> None:
    """``import driver`` and a MongoClient leave asyncio unloaded; the async client
    loads it on first use."""
    code = textwrap.dedent(
        """
        import sys
        import driver
        driver.MongoClient("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=1")
        before = "asyncio" in sys.modules
        from driver import AsyncMongoClient
        print(before, "asyncio" in sys.modules, AsyncMongoClient.__name__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "AsyncMongoClient"]
