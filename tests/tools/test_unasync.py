"""tools/unasync.py: every rewrite rule on small snippets, the markers, the header, the
file-level regenerate/check cycle, and the repository's generated files being current.

``fixtures/_async/lines.py`` is a small real module using every rule; its reviewed sync
twin ``fixtures/_sync/lines.py`` is what the generator must produce (and what ruff and
mypy must accept). After changing the generator on purpose, rewrite that twin with
``python -m tools.unasync --pair tests/tools/fixtures/_async:tests/tools/fixtures/_sync``
and review the diff.
"""

from __future__ import annotations

import doctest
import importlib.util
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools import unasync
from tools.unasync import HEADER, PAIRS, Pair, UnasyncError, generate, plan, rewrite

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_PAIR = Pair("tests/tools/fixtures/_async", "tests/tools/fixtures/_sync")


def sync(source: str) -> str:
    """The rewrite of a dedented snippet."""
    return rewrite(textwrap.dedent(source))


def dedent(text: str) -> str:
    return textwrap.dedent(text)


# ------------------------------------------------------------------ code rules

CODE_CASES = {
    "async def": (
        """
        async def fetch(self) -> int:
            return 1
        """,
        """
        def fetch(self) -> int:
            return 1
        """,
    ),
    "await in statements and expressions": (
        """
        async def run(conn, pool):
            await conn.send(b"x")
            reply = await conn.receive(16)
            total = (await pool.size()) + await pool.free()
            return await conn.result(await reply.decode())
        """,
        """
        def run(conn, pool):
            conn.send(b"x")
            reply = conn.receive(16)
            total = (pool.size()) + pool.free()
            return conn.result(reply.decode())
        """,
    ),
    "async with, async for, async comprehension": (
        """
        async def run(lock, cursor):
            async with lock, cursor as c:
                async for doc in c:
                    print(doc)
            return [d async for d in cursor], {d: 1 async for d in cursor}
        """,
        """
        def run(lock, cursor):
            with lock, cursor as c:
                for doc in c:
                    print(doc)
            return [d for d in cursor], {d: 1 for d in cursor}
        """,
    ),
    "async protocol methods": (
        """
        class Cursor:
            def __aiter__(self) -> AsyncIterator[int]:
                return self

            async def __anext__(self) -> int:
                raise StopAsyncIteration

            async def __aenter__(self) -> Cursor:
                return self

            async def __aexit__(self, *args: object) -> None:
                await self.aclose()
        """,
        """
        class Cursor:
            def __iter__(self) -> Iterator[int]:
                return self

            def __next__(self) -> int:
                raise StopIteration

            def __enter__(self) -> Cursor:
                return self

            def __exit__(self, *args: object) -> None:
                self.close()
        """,
    ),
    "module paths": (
        """
        from driver._async.pool import AsyncPool
        from driver._backends.asyncio import Lock, sleep
        from .._backends.asyncio import Event
        import driver._backends.asyncio as backend
        from . import _async
        """,
        """
        from driver._sync.pool import Pool
        from driver._backends.sync import Lock, sleep
        from .._backends.sync import Event
        import driver._backends.sync as backend
        from . import _sync
        """,
    ),
    "parts of a dotted rename alone are left alone": (
        """
        _backends = 1
        x = _backends
        """,
        """
        _backends = 1
        x = _backends
        """,
    ),
    "Awaitable[X] becomes X": (
        """
        def f(op: Callable[[], Awaitable[int]]) -> Awaitable[list[Awaitable[str]]]:
            x: typing.Awaitable[dict[str, int]]
            y: collections.abc.Awaitable[AsyncCursor]
        """,
        """
        def f(op: Callable[[], int]) -> list[str]:
            x: dict[str, int]
            y: Cursor
        """,
    ),
    "Awaitable leaves import lists": (
        """
        from collections.abc import Awaitable, Callable
        from collections.abc import Callable, Awaitable
        from collections.abc import Callable, Awaitable, Mapping
        from typing import Awaitable
        from collections.abc import (
            AsyncIterator,
            Awaitable,
            Callable,
        )
        from collections.abc import (
            Callable,
            Awaitable as Aw,
        )
        x = 1
        """,
        """
        from collections.abc import Callable
        from collections.abc import Callable
        from collections.abc import Callable, Mapping
        from collections.abc import (
            Iterator,
            Callable,
        )
        from collections.abc import (
            Callable,
        )
        x = 1
        """,
    ),
    "whole identifiers only": (
        """
        MyAsyncCursorish = aclosed = anextra = run_async = _async_helper = 1
        value = obj.anext_value + my_aclose
        """,
        """
        MyAsyncCursorish = aclosed = anextra = run_async = _async_helper = 1
        value = obj.anext_value + my_aclose
        """,
    ),
    "code without async is unchanged": (
        """
        import sys

        def f(x: int) -> int:
            '''Nothing here to rewrite.'''
            return x + len(sys.argv)  # a comment
        """,
        """
        import sys

        def f(x: int) -> int:
            '''Nothing here to rewrite.'''
            return x + len(sys.argv)  # a comment
        """,
    ),
}


@pytest.mark.parametrize("name", CODE_CASES)
def test_code_rules(name: str) -> None:
    source, expected = CODE_CASES[name]
    assert sync(source) == dedent(expected)


@pytest.mark.parametrize(("name", "replacement"), sorted(unasync.RENAMES.items()))
def test_every_rename_in_code_and_text(name: str, replacement: str) -> None:
    source = f"value = owner.{name}\nother = {name}  # uses {name}\ndoc = 'see {name}.'\n"
    expected = (
        f"value = owner.{replacement}\nother = {replacement}  # uses {replacement}\n"
        f"doc = 'see {replacement}.'\n"
    )
    assert rewrite(source) == expected


def test_the_rename_tables_are_sorted_one_entry_per_line_and_final() -> None:
    for table in (unasync.RENAMES, unasync.MODULE_RENAMES):
        assert list(table) == sorted(table)
        # A sync name that is also an async name would make a second run change things.
        assert not set(table.values()) & set(unasync.RENAMES)
    source = Path(unasync.__file__).read_text(encoding="utf-8")
    for table_name, table in (("RENAMES", unasync.RENAMES), ("MODULE_RENAMES", unasync.MODULE_RENAMES)):
        match = re.search(table_name + r": dict\[str, str\] = \{\n(.*?)\n\}", source, re.S)
        assert match is not None, table_name
        lines = match.group(1).splitlines()
        assert lines == [f'    "{key}": "{value}",' for key, value in table.items()]


def test_the_table_holds_what_the_design_names() -> None:
    design = {
        "AsyncClientSession": "ClientSession",
        "AsyncCollection": "Collection",
        "AsyncCommandCursor": "CommandCursor",
        "AsyncConnection": "Connection",
        "AsyncCursor": "Cursor",
        "AsyncDatabase": "Database",
        "AsyncEngine": "Engine",
        "AsyncGenerator": "Generator",
        "AsyncIterable": "Iterable",
        "AsyncIterator": "Iterator",
        "AsyncMongoClient": "MongoClient",
        "AsyncPool": "Pool",
        "AsyncTopology": "Topology",
        "StopAsyncIteration": "StopIteration",
        "__aenter__": "__enter__",
        "__aexit__": "__exit__",
        "__aiter__": "__iter__",
        "__anext__": "__next__",
        "_async": "_sync",
        "aclose": "close",
        "anext": "next",
    }
    assert design.items() <= unasync.RENAMES.items()
    assert unasync.MODULE_RENAMES["_backends.asyncio"] == "_backends.sync"


# ------------------------------------------------------------------ strings, docstrings, comments

TEXT_CASES = {
    "docstring example": (
        '''
        def f():
            """Ping.

            Example::

                client = AsyncMongoClient()
                reply = await client.admin.command("ping")
                async with await client.start_session() as session:
                    async for doc in client.db.coll.find({}):
                        first = await anext(cursor)
                await client.aclose()
            """
        ''',
        '''
        def f():
            """Ping.

            Example::

                client = MongoClient()
                reply = client.admin.command("ping")
                with client.start_session() as session:
                    for doc in client.db.coll.find({}):
                        first = next(cursor)
                client.close()
            """
        ''',
    ),
    "prose is left alone": (
        """
        x = "We await the reply; the async client and Asynchronous I/O stay as written."
        """,
        """
        x = "We await the reply; the async client and Asynchronous I/O stay as written."
        """,
    ),
    "module paths and Awaitable in text": (
        """
        x = "see driver._async.pool and driver._backends.asyncio: Callable[[], Awaitable[list[int]]]"
        """,
        """
        x = "see driver._sync.pool and driver._backends.sync: Callable[[], list[int]]"
        """,
    ),
    "bytes are data, not text": (
        """
        x = b"AsyncCursor await f()"
        y = rb"AsyncCursor"
        """,
        """
        x = b"AsyncCursor await f()"
        y = rb"AsyncCursor"
        """,
    ),
    "f-strings, with braces and nesting": (
        """
        x = f"{{AsyncCursor}} {value!r:>{width}} {'AsyncPool'} {f'{AsyncCursor.__name__}'}"
        """,
        """
        x = f"{{Cursor}} {value!r:>{width}} {'Pool'} {f'{Cursor.__name__}'}"
        """,
    ),
    "comments": (
        """
        x = 1  # like AsyncMongoClient: await conn.aclose() first
        # driver._async.topology wakes the monitor with `async with cond:`
        """,
        """
        x = 1  # like MongoClient: conn.close() first
        # driver._sync.topology wakes the monitor with `with cond:`
        """,
    ),
}


@pytest.mark.parametrize("name", TEXT_CASES)
def test_text_rules(name: str) -> None:
    source, expected = TEXT_CASES[name]
    assert sync(source) == dedent(expected)


# ------------------------------------------------------------------ markers

MARKER_CASES = {
    "remove a statement": (
        """
        import asyncio  # unasync: remove
        import os
        """,
        """
        import os
        """,
    ),
    "remove a statement spanning lines": (
        """
        x = 1
        loop = asyncio.get_running_loop(  # unasync: remove
            flag,
        )
        y = 2
        """,
        """
        x = 1
        y = 2
        """,
    ),
    "remove a block by its header": (
        """
        async def read(stream):
            try:
                return await stream.receive()
            except asyncio.CancelledError:  # unasync: remove
                # half a reply is on the wire
                await stream.aclose()
                raise
            except OSError:
                return None
        """,
        """
        def read(stream):
            try:
                return stream.receive()
            except OSError:
                return None
        """,
    ),
    "remove a whole method": (
        """
        class C:
            def __await__(self):  # unasync: remove
                return asyncio.sleep(0).__await__()

            def ok(self):
                return 1
        """,
        """
        class C:

            def ok(self):
                return 1
        """,
    ),
    "remove a decorated method, marked on the def or on a decorator": (
        """
        class C:
            @property
            @cache
            def loop(self):  # unasync: remove
                return asyncio.get_running_loop()

            @staticmethod  # unasync: remove
            @cache
            def other():
                return asyncio.get_running_loop()

            @property
            def ok(self):
                return 1
        """,
        """
        class C:

            @property
            def ok(self):
                return 1
        """,
    ),
    "replace a statement": (
        """
        def who():
            if True:
                task = asyncio.current_task()  # unasync: sync=return threading.current_thread().name
                return task.get_name()  # unasync: remove
        """,
        """
        def who():
            if True:
                return threading.current_thread().name
        """,
    ),
    "replace a block header keeps the block": (
        """
        async def f(lock):
            async with lock:  # unasync: sync=with lock, other:
                await g()
        """,
        """
        def f(lock):
            with lock, other:
                g()
        """,
    ),
}


@pytest.mark.parametrize("name", MARKER_CASES)
def test_markers(name: str) -> None:
    source, expected = MARKER_CASES[name]
    assert sync(source) == dedent(expected)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1  # unasync: drop\n", "1: unknown marker `# unasync: drop`"),
        ("# unasync: remove\nx = 1\n", "1: an `# unasync:` marker must end a statement"),
        ("x = 1  # unasync: sync=\n", "1: `# unasync: sync=` needs the sync code"),
    ],
)
def test_bad_markers_are_errors(source: str, message: str) -> None:
    with pytest.raises(UnasyncError, match=re.escape(f"mod.py:{message}")):
        rewrite(source, "mod.py")


# ------------------------------------------------------------------ what must not reach sync code


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import asyncio\n", "mod.py:1: `asyncio` in sync code: use driver._backends.asyncio"),
        ("x = 1\ny = asyncio.Lock()\n", "mod.py:2: `asyncio` in sync code"),
        ("from driver._backends import asyncio\n", "mod.py:1: `asyncio` in sync code"),
        ("x: Coroutine[Any, Any, int]\n", "mod.py:1: `Coroutine` in sync code"),
        ("ok = isinstance(x, Awaitable)\n", "mod.py:1: `Awaitable` in sync code"),
        (
            "class AsyncChangeStreamX:\n    pass\n",
            "mod.py:1: `AsyncChangeStreamX` has no entry in RENAMES in tools/unasync.py",
        ),
        ("x = _AsyncBulk()\n", "mod.py:1: `_AsyncBulk` has no entry in RENAMES"),
    ],
)
def test_async_leftovers_are_errors_naming_the_line(source: str, message: str) -> None:
    with pytest.raises(UnasyncError, match=re.escape(message)):
        rewrite(source, "mod.py")


def test_output_that_does_not_compile_is_an_error() -> None:
    source = "if flag:\n    import asyncio  # unasync: remove\n"
    with pytest.raises(UnasyncError, match=r"mod\.py: the sync output does not compile"):
        rewrite(source, "mod.py")


def test_await_left_in_an_fstring_is_caught_by_the_compile_check() -> None:
    with pytest.raises(UnasyncError, match="does not compile"):
        rewrite("async def f(x):\n    return f'{await x}'\n", "mod.py")


def test_source_that_does_not_tokenize_is_an_error() -> None:
    with pytest.raises(UnasyncError, match=r"mod\.py: cannot tokenize"):
        rewrite("x = (1,\n", "mod.py")


def test_a_generated_file_is_not_a_source() -> None:
    with pytest.raises(UnasyncError, match="is itself generated"):
        rewrite(generate("x = 1\n", "driver/_async/x.py"), "driver/_async/x.py")


# ------------------------------------------------------------------ header, idempotence


def test_header() -> None:
    text = generate('"""Doc."""\n', "driver/_async/pool.py")
    lines = text.splitlines()
    assert lines[0] == "# Generated by tools/unasync.py from driver/_async/pool.py. DO NOT EDIT."
    assert lines[1] == "# Edit the source, then run `python -m tools.unasync`."
    assert lines[2] == '"""Doc."""'
    assert text == HEADER.format(source="driver/_async/pool.py") + '"""Doc."""\n'
    assert unasync.is_generated(text) and not unasync.is_generated('"""Doc."""\n')


ALL_SNIPPETS = [
    dedent(source)
    for cases in (CODE_CASES, TEXT_CASES, MARKER_CASES)
    for source, _ in cases.values()
] + [(FIXTURES / "_async" / "lines.py").read_text(encoding="utf-8")]


@pytest.mark.parametrize("source", ALL_SNIPPETS)
def test_rewriting_sync_output_again_changes_nothing(source: str) -> None:
    once = rewrite(source)
    assert rewrite(once) == once


def test_module_doctests() -> None:
    result = doctest.testmod(unasync, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


# ------------------------------------------------------------------ the fixture pair


def test_the_fixture_generates_its_reviewed_twin() -> None:
    source = (FIXTURES / "_async" / "lines.py").read_text(encoding="utf-8")
    expected = (FIXTURES / "_sync" / "lines.py").read_text(encoding="utf-8")
    assert generate(source, "tests/tools/fixtures/_async/lines.py") == expected
    result = plan([FIXTURE_PAIR], ROOT)
    assert result.changes == () and result.errors == () and result.up_to_date == 1


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A scratch repository holding a copy of the fixture pair as pkg/_async, pkg/_sync."""
    (tmp_path / "pkg").mkdir()
    shutil.copytree(FIXTURES / "_async", tmp_path / "pkg" / "_async")
    (tmp_path / "pkg" / "_async" / "__init__.py").write_text('"""Async shells."""\n')
    assert unasync.main(["--root", str(tmp_path), "--pair", "pkg/_async:pkg/_sync"]) == 0
    return tmp_path


def run_main(repo: Path, *args: str) -> int:
    return unasync.main(["--root", str(repo), "--pair", "pkg/_async:pkg/_sync", *args])


def test_generate_writes_every_file_with_its_header(repo: Path) -> None:
    names = sorted(path.name for path in (repo / "pkg" / "_sync").iterdir())
    assert names == ["__init__.py", "lines.py"]
    init = (repo / "pkg" / "_sync" / "__init__.py").read_text()
    assert init.startswith("# Generated by tools/unasync.py from pkg/_async/__init__.py.")


def test_check_passes_when_current_and_a_second_run_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    target = repo / "pkg" / "_sync" / "lines.py"
    before = target.stat().st_mtime_ns
    assert run_main(repo) == 0
    assert "0 changed, 2 up to date" in capsys.readouterr().out
    assert target.stat().st_mtime_ns == before
    assert run_main(repo, "--check") == 0
    assert "2 generated file(s) up to date" in capsys.readouterr().out


def test_check_catches_an_edited_generated_file(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = repo / "pkg" / "_sync" / "lines.py"
    target.write_text(target.read_text().replace("self.close()", "self.close()  # hand edit"))
    capsys.readouterr()
    assert run_main(repo, "--check") == 1
    out = capsys.readouterr().out
    assert "out of date: would write pkg/_sync/lines.py" in out
    assert "-        self.close()  # hand edit" in out and "+        self.close()\n" in out
    assert "1 generated file(s) out of date; run `python -m tools.unasync`" in out
    assert "hand edit" in target.read_text()  # --check writes nothing
    assert run_main(repo) == 0
    assert "hand edit" not in target.read_text()
    assert run_main(repo, "--check") == 0


def test_check_catches_an_edited_source(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = repo / "pkg" / "_async" / "lines.py"
    source.write_text(source.read_text() + "\n\nasync def extra() -> None:\n    await sleep(1)\n")
    capsys.readouterr()
    assert run_main(repo, "--check") == 1
    assert "+def extra() -> None:" in capsys.readouterr().out
    assert run_main(repo) == 0
    assert "def extra() -> None:\n    sleep(1)\n" in (repo / "pkg" / "_sync" / "lines.py").read_text()


def test_missing_and_stale_generated_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "pkg" / "_sync" / "lines.py").unlink()
    (repo / "pkg" / "_async" / "__init__.py").unlink()
    capsys.readouterr()
    assert run_main(repo, "--check") == 1
    out = capsys.readouterr().out
    assert "would write pkg/_sync/lines.py" in out
    assert "would delete pkg/_sync/__init__.py" in out
    assert run_main(repo) == 0
    assert sorted(path.name for path in (repo / "pkg" / "_sync").iterdir()) == ["lines.py"]


def test_a_hand_written_file_in_a_generated_directory_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stray = repo / "pkg" / "_sync" / "helpers.py"
    stray.write_text("x = 1\n")
    assert run_main(repo) == 1
    assert "pkg/_sync/helpers.py: not generated (no header)" in capsys.readouterr().err
    assert stray.exists()  # never deleted


def test_a_bad_source_fails_the_run_and_names_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "pkg" / "_async" / "bad.py").write_text("x = 1\ny = asyncio.sleep(1)\n")
    assert run_main(repo, "--check") == 1
    assert "pkg/_async/bad.py:2: `asyncio` in sync code" in capsys.readouterr().err


def test_the_command_line(repo: Path) -> None:
    command = [sys.executable, "-m", "tools.unasync", "--root", str(repo)]
    command += ["--pair", "pkg/_async:pkg/_sync", "--check"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (repo / "pkg" / "_sync" / "lines.py").write_text("# Generated by tools/unasync.py from x\n")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "would write pkg/_sync/lines.py" in done.stdout


def test_generated_fixture_passes_ruff_and_mypy(tmp_path: Path) -> None:
    files = [str(FIXTURES / "_async" / "lines.py"), str(FIXTURES / "_sync" / "lines.py")]
    for tool in ("ruff", "mypy"):
        if importlib.util.find_spec(tool) is None:
            pytest.skip(f"{tool} is not installed")
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


# ------------------------------------------------------------------ the repository


def test_the_repository_generated_files_are_current() -> None:
    """Every configured `_sync` directory matches its `_async` source (trivially so while
    there are none). On failure run `python -m tools.unasync` and commit the result."""
    result = plan(PAIRS, ROOT)
    problems = [change.describe(ROOT) for change in result.changes] + list(result.errors)
    assert not problems, "run `python -m tools.unasync`:\n" + "\n".join(problems)
