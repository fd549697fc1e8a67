"""Every example and every Python block in the docs runs, so none of them rots.

- ``examples/*.py`` (sorted; ``_*`` helpers skipped) each run as a script in their own
  process. One that mentions ``MONGODB_URI`` gets the session server's URI in its
  environment; the others run with no ``MONGODB_URI`` and so need no server.
- ``docs/*.md``: the fenced ``python`` blocks of a page run in order in one namespace,
  like one script, in a temporary directory. A block right after an
  ``<!-- no-test -->`` line is not run; each such block is listed as a skipped test
  (``-ra`` prints them in the summary). A page that mentions ``MONGODB_URI`` gets the
  session server's URI in the environment. Tracebacks point at the page's own lines.

No examples or no docs means no tests here, not an error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TIMEOUT = 240.0  # below pytest-timeout's 300 s, so the example's output is shown

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
_NO_TEST = re.compile(r"^\s*<!--\s*no-test\s*-->\s*$")
_PYTHON_INFO = frozenset({"python", "py", "python3"})


@dataclass(frozen=True)
class CodeBlock:
    """A fenced Python block of a docs page; ``line`` is that of its first code line."""

    page: Path
    line: int
    code: str
    skipped: bool

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def python_blocks(page: Path) -> list[CodeBlock]:
    """The fenced ``python`` blocks of a Markdown page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    previous = ""  # the last non-blank line before the current one
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if opening is None:
            if lines[index].strip():
                previous = lines[index]
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        info = opening["info"].split()
        if info and info[0].lower() in _PYTHON_INFO:
            body = [_dedent(line, indent) for line in lines[index + 1 : end]]
            blocks.append(
                CodeBlock(page, index + 2, "\n".join(body) + "\n", bool(_NO_TEST.match(previous)))
            )
        previous = lines[end] if end < len(lines) else ""
        index = end + 1
    return blocks


def _dedent(line: str, indent: int) -> str:
    """Drop the fence's own indentation (a fence inside a list item) from a code line."""
    stripped = len(line) - len(line.lstrip(" \t"))
    return line[min(indent, stripped) :]


def python_env(uri: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("MONGODB_URI", None)
    if uri is not None:
        env["MONGODB_URI"] = uri
    return env


def needs_server(text: str) -> bool:
    return "MONGODB_URI" in text


def _params(paths: list[Path]) -> list[object]:
    return [
        pytest.param(
            path,
            id=str(path.relative_to(ROOT)),
            marks=[pytest.mark.server] if needs_server(path.read_text(encoding="utf-8")) else [],
        )
        for path in paths
    ]


EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
PAGES = sorted((ROOT / "docs").glob("*.md"))
PAGES_WITH_CODE = [page for page in PAGES if python_blocks(page)]
SKIPPED_BLOCKS = [block for page in PAGES for block in python_blocks(page) if block.skipped]


def _uri_if_needed(request: pytest.FixtureRequest, text: str) -> str | None:
    if not needs_server(text):
        return None
    uri: str = request.getfixturevalue("mongodb_uri")  # starts the server lazily
    return uri


# Each test below exists only when there is something for it to run.

if EXAMPLES:

    @pytest.mark.parametrize("example", _params(EXAMPLES))
    def test_example_runs(example: Path, request: pytest.FixtureRequest) -> None:
        uri = _uri_if_needed(request, example.read_text(encoding="utf-8"))
        try:
            completed = subprocess.run(
                [sys.executable, str(example)],
                cwd=ROOT,
                env=python_env(uri),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=EXAMPLE_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{example.name} still ran after {EXAMPLE_TIMEOUT:g}s:\n{exc.output}")
        if completed.returncode != 0:
            pytest.fail(
                f"{example.name} exited with {completed.returncode}\n"
                f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}",
                pytrace=False,
            )


if PAGES_WITH_CODE:

    @pytest.mark.parametrize("page", _params(PAGES_WITH_CODE))
    def test_doc_page_runs(
        page: Path,
        request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        uri = _uri_if_needed(request, page.read_text(encoding="utf-8"))
        if uri is None:
            monkeypatch.delenv("MONGODB_URI", raising=False)
        else:
            monkeypatch.setenv("MONGODB_URI", uri)
        monkeypatch.chdir(tmp_path)  # files a page writes land in a scratch directory
        # A real module, so that dataclasses, pydantic, typing.get_type_hints and pickle
        # find the names a page defines.
        module = types.ModuleType("docs_" + re.sub(r"\W", "_", page.stem))
        module.__file__ = str(page)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        namespace = module.__dict__
        for block in python_blocks(page):
            if block.skipped:
                continue
            # Pad with blank lines so tracebacks name the page's own line numbers.
            source = "\n" * (block.line - 1) + block.code
            exec(compile(source, str(page), "exec"), namespace)


if SKIPPED_BLOCKS:

    @pytest.mark.parametrize("block", SKIPPED_BLOCKS, ids=[b.where for b in SKIPPED_BLOCKS])
    def test_doc_block_marked_no_test(block: CodeBlock) -> None:
        pytest.skip(f"{block.where}: marked <!-- no-test -->, not run")


def test_python_blocks_reads_fences_and_no_test_marks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n"  # 1
        "```python\n"  # 2
        "a = 1\n"  # 3
        "```\n"  # 4
        "<!-- no-test -->\n"  # 5
        "\n"  # 6
        "```py\n"  # 7
        "raise SystemExit\n"  # 8
        "```\n"  # 9
        "```console\n"  # 10
        "$ make test\n"  # 11
        "```\n"  # 12
        "- a list item:\n"  # 13
        "  ~~~~python\n"  # 14
        "  if a:\n"  # 15
        "      b = a\n"  # 16
        "  ```\n"  # 17: not a closing fence for ~~~~
        "  ~~~~\n",  # 18
        encoding="utf-8",
    )
    blocks = python_blocks(page)
    assert [(b.line, b.code, b.skipped) for b in blocks] == [
        (3, "a = 1\n", False),
        (8, "raise SystemExit\n", True),
        (15, "if a:\n    b = a\n```\n", False),
    ]
