"""Generate the sync I/O shells from the async ones: ``driver/_async`` -> ``driver/_sync``.

The I/O shells are written once, async. This script writes their sync twins by
rewriting tokens (:mod:`tokenize`, never regular expressions over raw code), so the
output is exactly the source minus ``async`` plus a few renames::

    python -m tools.unasync            # regenerate every configured directory
    python -m tools.unasync --check    # CI: list what differs, exit 1 if anything does

What the rewrite does, in code:

- ``async def`` / ``async with`` / ``async for`` lose ``async``; ``await`` goes.
- Each name in :data:`RENAMES` becomes its sync name (``AsyncMongoClient`` ->
  ``MongoClient``, ``__aenter__`` -> ``__enter__``, ``aclose`` -> ``close``, ``_async``
  -> ``_sync``, ...), and each dotted path in :data:`MODULE_RENAMES` its sync path
  (``driver._backends.asyncio`` -> ``driver._backends.sync``).
- ``Awaitable[X]`` becomes ``X`` (also ``typing.Awaitable[X]``), and ``Awaitable``
  leaves ``from ... import`` lists (a list it empties goes whole).

In strings (docstrings included) and comments, whole identifiers from both tables are
renamed the same way, ``Awaitable[X]`` becomes ``X``, ``async`` goes before
``def``/``with``/``for``, and ``await`` goes before a call, subscript or attribute
(``await client.admin.command(...)`` -> ``client.admin.command(...)``). Prose is left
alone otherwise: write docs that read right for both clients ("the client", not "the
async client").

Where the two really differ, put the difference in ``driver/_backends`` first. For the
rest, a trailing comment marks a statement:

- ``# unasync: remove`` drops the statement from the sync output; on a block header
  (``if``/``try``/``except``/``def``/... ending in ``:``) it drops the whole block, and
  on a decorated ``def``/``class`` (or one of its decorators) the decorators too.
- ``# unasync: sync=<code>`` replaces the statement (a header only, not its block)
  with ``<code>`` at the same indentation, written as sync code (no rewriting).

Any other ``# unasync:`` comment is an error. The rewrite also fails, naming the source
line, when the sync output would still use ``asyncio``, ``Awaitable``, ``Coroutine`` or
an ``Async...`` name missing from :data:`RENAMES`, or would not compile.

Generated files start with :data:`HEADER`. ``python -m tools.unasync`` only writes
files whose text changes, deletes generated files whose source is gone, and refuses to
touch a file in a generated directory that lacks the header. Running it twice changes
nothing the second time. Only ``*.py`` files are generated.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import sys
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HEADER",
    "MODULE_RENAMES",
    "PAIRS",
    "RENAMES",
    "Change",
    "Pair",
    "Plan",
    "UnasyncError",
    "apply",
    "generate",
    "main",
    "plan",
    "rewrite",
    "rewrite_text",
]

ROOT = Path(__file__).resolve().parent.parent

# The rename table: async name -> sync name. Sorted, one entry per line. A name that
# starts with "Async" and is missing here stops the rewrite, so adding a class to an
# `_async` module means adding its line here.
RENAMES: dict[str, str] = {
    "AbstractAsyncContextManager": "AbstractContextManager",
    "AsyncAggregation": "Aggregation",
    "AsyncClientSession": "ClientSession",
    "AsyncCollection": "Collection",
    "AsyncCommandCursor": "CommandCursor",
    "AsyncConnection": "Connection",
    "AsyncCursor": "Cursor",
    "AsyncDatabase": "Database",
    "AsyncEngine": "Engine",
    "AsyncExecutor": "Executor",
    "AsyncExitStack": "ExitStack",
    "AsyncGenerator": "Generator",
    "AsyncIterable": "Iterable",
    "AsyncIterator": "Iterator",
    "AsyncMigrator": "Migrator",
    "AsyncModelCursor": "ModelCursor",
    "AsyncMongoClient": "MongoClient",
    "AsyncPool": "Pool",
    "AsyncServer": "Server",
    "AsyncServerMonitor": "ServerMonitor",
    "AsyncTopology": "Topology",
    "StopAsyncIteration": "StopIteration",
    "_AsyncBatches": "_Batches",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "_async": "_sync",
    "aclose": "close",
    "aclosing": "closing",
    "aiter": "iter",
    "anext": "next",
    "asynccontextmanager": "contextmanager",
}

# Dotted paths renamed as a whole (their parts alone are ordinary names). Sorted.
MODULE_RENAMES: dict[str, str] = {
    "_backends.asyncio": "_backends.sync",
}

# Generic types that wrap what an await returns: `Awaitable[X]` is `X` in sync code.
_UNWRAP = "Awaitable"

# Names that must not survive into sync code, with what to do instead.
_FORBIDDEN: dict[str, str] = {
    "Awaitable": "only `Awaitable[X]` and imports of it are rewritten",
    "Coroutine": "annotate with `Awaitable[X]`, which becomes `X`",
    "asyncio": "use driver._backends.asyncio, or mark the line `# unasync: remove`",
}
_ASYNC_NAME = re.compile(r"_*Async[A-Z0-9_]")


@dataclass(frozen=True)
class Pair:
    """An async source directory and the sync directory generated from it (repo-relative)."""

    source: str
    target: str


PAIRS: tuple[Pair, ...] = (
    Pair("driver/_async", "driver/_sync"),
    Pair("odm/_async", "odm/_sync"),
)

HEADER = (
    "# Generated by tools/unasync.py from {source}. DO NOT EDIT.\n"
    "# Edit the source, then run `python -m tools.unasync`.\n"
)
_HEADER_PREFIX = "# Generated by tools/unasync.py from "


class UnasyncError(Exception):
    """A source cannot be rewritten; the message names the file and line."""


# ------------------------------------------------------------------ text (strings, comments)

_TEXT_NAMES = re.compile(
    r"\b("
    + "|".join(
        re.escape(name) for name in sorted({*RENAMES, *MODULE_RENAMES}, key=len, reverse=True)
    )
    + r")\b"
)
_TEXT_ASYNC = re.compile(r"\basync\s+(?=(?:def|with|for)\b)")
# `await` before a call, subscript or attribute: code, not the English verb.
_TEXT_AWAIT = re.compile(r"\bawait\s+(?=[A-Za-z_][\w.]*\s*[(\[]|[A-Za-z_]\w*\.\w)")
_TEXT_UNWRAP = re.compile(r"\b" + _UNWRAP + r"\[")
_ALL_RENAMES = {**RENAMES, **MODULE_RENAMES}


def rewrite_text(text: str) -> str:
    """Rewrite the code-like parts of a string or comment (see the module docstring).

    >>> rewrite_text('Example: `await AsyncMongoClient().admin.command("ping")`')
    'Example: `MongoClient().admin.command("ping")`'
    >>> rewrite_text("We await the reply from driver._async.pool.")
    'We await the reply from driver._sync.pool.'
    """
    text = _TEXT_ASYNC.sub("", text)
    text = _TEXT_AWAIT.sub("", text)
    text = _unwrap_text(text)
    return _TEXT_NAMES.sub(lambda match: _ALL_RENAMES[match.group(1)], text)


def _unwrap_text(text: str) -> str:
    while (match := _TEXT_UNWRAP.search(text)) is not None:
        depth, index = 1, match.end()
        while index < len(text) and depth:
            depth += {"[": 1, "]": -1}.get(text[index], 0)
            index += 1
        if depth:  # unbalanced: leave the rest as it is
            break
        text = text[: match.start()] + text[match.end() : index - 1] + text[index:]
    return text


# ------------------------------------------------------------------ code


_NON_CODE = frozenset(
    {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE}
)
_MARKER = re.compile(r"#\s*unasync\s*:\s*(?P<directive>.*?)\s*$")
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class _Statement:
    first: int  # index of its first code token
    last: int  # index of its NEWLINE token
    markers: tuple[tuple[int, str], ...]  # (comment token index, directive)


class _Rewriter:
    """One source file's rewrite: collects text edits by offset, then applies them."""

    def __init__(self, source: str, origin: str) -> None:
        self.source = source
        self.origin = origin
        self.line_starts = [0]
        for line in io.StringIO(source):
            self.line_starts.append(self.line_starts[-1] + len(line))
        try:
            raw = list(tokenize.generate_tokens(io.StringIO(source).readline))
        except (tokenize.TokenError, SyntaxError) as exc:
            raise UnasyncError(f"{origin}: cannot tokenize: {exc}") from exc
        self.tokens = self._join_fstrings(raw)
        self.edits: list[tuple[int, int, str]] = []
        self.dropped_rows: set[int] = set()
        self.deleted: set[int] = set()  # token indices already handled

    # -- positions

    def offset(self, position: tuple[int, int]) -> int:
        row, col = position
        return self.line_starts[row - 1] + col

    def error(self, row: int, message: str) -> UnasyncError:
        return UnasyncError(f"{self.origin}:{row}: {message}")

    def _join_fstrings(self, tokens: list[tokenize.TokenInfo]) -> list[tokenize.TokenInfo]:
        # 3.12+ splits f-strings into parts whose positions are unreliable (`{{`); as one
        # STRING, as 3.10 and 3.11 tokenize them, every version gives the same output.
        if _FSTRING_START is None:
            return tokens
        joined: list[tokenize.TokenInfo] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.type != _FSTRING_START:
                joined.append(token)
                index += 1
                continue
            depth, end = 0, index
            while True:
                depth += {_FSTRING_START: 1, _FSTRING_END: -1}.get(tokens[end].type, 0)
                if depth == 0:
                    break
                end += 1
            text = self.source[self.offset(token.start) : self.offset(tokens[end].end)]
            joined.append(
                tokenize.TokenInfo(tokenize.STRING, text, token.start, tokens[end].end, token.line)
            )
            index = end + 1
        return joined

    # -- the passes

    def run(self) -> str:
        statements = self._statements()
        for number in range(len(statements)):
            self._apply_markers(statements, number)
        for statement in statements:
            if self.tokens[statement.first].start[0] not in self.dropped_rows:
                self._rewrite_from_import(statement)
        for index, token in enumerate(self.tokens):
            if index not in self.deleted and token.start[0] not in self.dropped_rows:
                self._rewrite_token(index, token)
        output = self._apply_edits()
        try:
            compile(output, self.origin, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise UnasyncError(
                f"{self.origin}: the sync output does not compile ({exc.msg}, output line "
                f"{exc.lineno}); check the `# unasync:` markers"
            ) from exc
        return output

    def _statements(self) -> list[_Statement]:
        statements: list[_Statement] = []
        first: int | None = None
        markers: list[tuple[int, str]] = []
        for index, token in enumerate(self.tokens):
            if token.type == tokenize.COMMENT:
                match = _MARKER.match(token.string)
                if match is None:
                    continue
                if first is None:
                    raise self.error(token.start[0], "an `# unasync:` marker must end a statement")
                markers.append((index, match.group("directive")))
            elif token.type == tokenize.NEWLINE:
                if first is not None:
                    statements.append(_Statement(first, index, tuple(markers)))
                first, markers = None, []
            elif first is None and token.type not in _NON_CODE and token.type != tokenize.ENDMARKER:
                first = index
        return statements

    def _apply_markers(self, statements: list[_Statement], number: int) -> None:
        statement = statements[number]
        if not statement.markers:
            return
        if len(statement.markers) > 1:
            raise self.error(self.tokens[statement.first].start[0], "one marker per statement")
        comment, directive = statement.markers[0]
        first_row = self.tokens[statement.first].start[0]
        last_row = self.tokens[statement.last].start[0]
        if first_row in self.dropped_rows:  # inside a block that is already gone
            return
        if directive == "remove":
            # A decorated definition goes whole, from its first decorator to its body's end.
            first, last = number, number
            while first > 0 and self._is_decorator(statements[first - 1]):
                first -= 1
            while last + 1 < len(statements) and self._is_decorator(statements[last]):
                last += 1
            first_row = self.tokens[statements[first].first].start[0]
            last_row = self._block_end_row(statements[last]) or self.tokens[
                statements[last].last
            ].start[0]
            self._drop_rows(first_row, last_row, "")
        elif directive.startswith("sync="):
            code = directive.removeprefix("sync=").strip()
            if not code:
                raise self.error(first_row, "`# unasync: sync=` needs the sync code after `=`")
            line = self.source[self.line_starts[first_row - 1] : self.line_starts[first_row]]
            indent = line[: len(line) - len(line.lstrip())]
            self._drop_rows(first_row, last_row, f"{indent}{code}\n")
        else:
            raise self.error(
                self.tokens[comment].start[0],
                f"unknown marker `# unasync: {directive}` (use `remove` or `sync=<code>`)",
            )

    def _is_decorator(self, statement: _Statement) -> bool:
        return self.tokens[statement.first].string == "@"

    def _block_end_row(self, statement: _Statement) -> int | None:
        """The last row of the block a header statement opens, or None if not a header."""
        tokens = self.tokens
        last_code = statement.last - 1
        while tokens[last_code].type in (tokenize.COMMENT, tokenize.NL):
            last_code -= 1
        if tokens[last_code].string != ":":
            return None
        index = statement.last + 1
        while index < len(tokens) and tokens[index].type in (tokenize.COMMENT, tokenize.NL):
            index += 1
        if index >= len(tokens) or tokens[index].type != tokenize.INDENT:
            return None
        depth, end_row = 0, tokens[statement.last].start[0]
        for token in tokens[index:]:
            if token.type == tokenize.INDENT:
                depth += 1
            elif token.type == tokenize.DEDENT:
                depth -= 1
                if depth == 0:
                    break
            elif token.type == tokenize.NEWLINE:
                end_row = token.start[0]
        return end_row

    def _row_is_blank(self, row: int) -> bool:
        if row < 1 or row >= len(self.line_starts):
            return False
        return not self.source[self.line_starts[row - 1] : self.line_starts[row]].strip()

    def _drop_rows(self, first_row: int, last_row: int, replacement: str) -> None:
        if not replacement and self._row_is_blank(first_row - 1) and self._row_is_blank(last_row + 1):
            last_row += 1  # keep one blank line where the dropped code sat between two
        rows = range(first_row, last_row + 1)
        self.dropped_rows.update(rows)
        start = self.line_starts[first_row - 1]
        end = self.line_starts[min(last_row, len(self.line_starts) - 1)]
        self.edits.append((start, end, replacement))

    def _rewrite_from_import(self, statement: _Statement) -> None:
        """Drop `Awaitable` from `from X import ...` (the whole statement if it empties)."""
        tokens = self.tokens
        if tokens[statement.first].string != "from":
            return
        index = statement.first
        while index < statement.last and tokens[index].string != "import":
            index += 1
        # The imported names: (index of the name, index of the alias if any).
        entries: list[tuple[int, int]] = []
        for position in range(index + 1, statement.last):
            token = tokens[position]
            if token.type != tokenize.NAME:
                continue
            if token.string == "as":
                continue
            if tokens[position - 1].string == "as":
                entries[-1] = (entries[-1][0], position)
            else:
                entries.append((position, position))
        doomed = [entry for entry in entries if tokens[entry[0]].string == _UNWRAP]
        if not doomed:
            return
        if len(doomed) == len(entries):
            first_row = tokens[statement.first].start[0]
            self._drop_rows(first_row, tokens[statement.last].start[0], "")
            return
        for number, (name, alias) in enumerate(entries):
            if (name, alias) not in doomed:
                continue
            self.deleted.update(range(name, alias + 1))
            if number + 1 < len(entries):  # "Awaitable, " up to the next name
                start, end = tokens[name].start, tokens[entries[number + 1][0]].start
            else:  # ", Awaitable" back to the previous name
                start, end = tokens[entries[number - 1][1]].end, tokens[alias].end
            self.edits.append((self.offset(start), self.offset(end), ""))

    def _rewrite_token(self, index: int, token: tokenize.TokenInfo) -> None:
        tokens = self.tokens
        start, end = self.offset(token.start), self.offset(token.end)
        if token.type == tokenize.NAME:
            name = token.string
            if name in ("async", "await"):
                following = tokens[index + 1]
                if name == "async" and following.string not in ("def", "with", "for"):
                    raise self.error(token.start[0], f"unexpected `async {following.string}`")
                self.edits.append((start, self.offset(following.start), ""))
            elif name == _UNWRAP and tokens[index + 1].string == "[":
                self._unwrap(index)
            elif (dotted := self._dotted_rename(index)) is not None:
                last, replacement = dotted
                self.deleted.update(range(index, last + 1))
                self.edits.append((start, self.offset(tokens[last].end), replacement))
            elif name in RENAMES:
                self.edits.append((start, end, RENAMES[name]))
            elif name in _FORBIDDEN:
                raise self.error(token.start[0], f"`{name}` in sync code: {_FORBIDDEN[name]}")
            elif _ASYNC_NAME.match(name):
                raise self.error(
                    token.start[0],
                    f"`{name}` has no entry in RENAMES in tools/unasync.py: add one",
                )
        elif _is_text(token):
            rewritten = rewrite_text(token.string)
            if rewritten != token.string:
                self.edits.append((start, end, rewritten))

    def _dotted_rename(self, index: int) -> tuple[int, str] | None:
        tokens = self.tokens
        for dotted, replacement in MODULE_RENAMES.items():
            parts = dotted.split(".")
            last = index + 2 * (len(parts) - 1)
            if last >= len(tokens):
                continue
            if all(tokens[index + 2 * k].string == part for k, part in enumerate(parts)) and all(
                tokens[index + 2 * k + 1].string == "." for k in range(len(parts) - 1)
            ):
                return last, replacement
        return None

    def _unwrap(self, index: int) -> None:
        tokens = self.tokens
        start = index
        # Include a qualifier: typing.Awaitable[X], collections.abc.Awaitable[X].
        while start >= 2 and tokens[start - 1].string == "." and tokens[start - 2].type == tokenize.NAME:
            start -= 2
        depth, close = 0, index + 1
        for close in range(index + 1, len(tokens)):
            depth += {"[": 1, "]": -1}.get(tokens[close].string, 0)
            if depth == 0:
                break
        self.edits.append((self.offset(tokens[start].start), self.offset(tokens[index + 1].end), ""))
        self.edits.append((self.offset(tokens[close].start), self.offset(tokens[close].end), ""))
        self.deleted.update({index, index + 1, close})

    def _apply_edits(self) -> str:
        pieces: list[str] = []
        position = 0
        for start, end, replacement in sorted(self.edits):
            if start < position:  # inside a dropped statement: the row edit wins
                continue
            pieces.append(self.source[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(self.source[position:])
        return "".join(pieces)


def _is_text(token: tokenize.TokenInfo) -> bool:
    """A string (not bytes) or a comment (not a marker): rewritten as text."""
    if token.type == tokenize.STRING:
        prefix = token.string[: len(token.string) - len(token.string.lstrip("bBrRuUfF"))]
        return "b" not in prefix.lower()
    return token.type == tokenize.COMMENT and _MARKER.match(token.string) is None


def rewrite(source: str, origin: str = "<string>") -> str:
    """The sync version of async ``source`` (without the header).

    ``origin`` names the source in errors. Raises :class:`UnasyncError`.

    >>> print(rewrite("async def f(c: AsyncCursor) -> None:\\n    await c.aclose()\\n"), end="")
    def f(c: Cursor) -> None:
        c.close()
    """
    if source.startswith(_HEADER_PREFIX):
        raise UnasyncError(f"{origin}: is itself generated (it starts with the header)")
    return _Rewriter(source, origin).run()


def generate(source: str, origin: str) -> str:
    """The whole generated file: :data:`HEADER` naming ``origin``, then :func:`rewrite`."""
    return HEADER.format(source=origin) + rewrite(source, origin)


def is_generated(text: str) -> bool:
    """Whether a file's text carries the generated header."""
    return text.startswith(_HEADER_PREFIX)


# ------------------------------------------------------------------ files


@dataclass(frozen=True)
class Change:
    """One file that regenerating would write (``text``) or delete (``text is None``)."""

    path: Path
    text: str | None
    current: str | None

    def describe(self, root: Path) -> str:
        """``write <path>`` or ``delete <path>``, repo-relative."""
        verb = "delete" if self.text is None else "write"
        return f"{verb} {_relative(self.path, root)}"

    def diff(self, root: Path, limit: int = 40) -> list[str]:
        """The first ``limit`` lines of a unified diff from the file to what it should be."""
        name = _relative(self.path, root)
        lines = difflib.unified_diff(
            (self.current or "").splitlines(keepends=True),
            (self.text or "").splitlines(keepends=True),
            f"{name} (on disk)",
            f"{name} (generated)",
        )
        shown = [line if line.endswith("\n") else line + "\n" for line in lines]
        if len(shown) > limit:
            shown = [*shown[:limit], f"... ({len(shown) - limit} more diff lines)\n"]
        return shown


@dataclass(frozen=True)
class Plan:
    """What regenerating would change, the sources that failed, and how many files match."""

    changes: tuple[Change, ...]
    errors: tuple[str, ...]
    up_to_date: int


def plan(pairs: Iterable[Pair] = PAIRS, root: Path = ROOT) -> Plan:
    """Compare every generated file with what its source generates; write nothing."""
    changes: list[Change] = []
    errors: list[str] = []
    up_to_date = 0
    for pair in pairs:
        source_dir, target_dir = root / pair.source, root / pair.target
        expected: dict[Path, str] = {}
        for source in _python_files(source_dir):
            origin = _relative(source, root)
            try:
                expected[target_dir / source.relative_to(source_dir)] = generate(
                    source.read_text(encoding="utf-8"), origin
                )
            except UnasyncError as exc:
                errors.append(str(exc))
        for target in _python_files(target_dir):
            if target in expected:
                continue
            stale = target.read_text(encoding="utf-8")
            if is_generated(stale):
                changes.append(Change(target, None, stale))
            else:
                errors.append(
                    f"{_relative(target, root)}: not generated (no header) but in the generated "
                    f"directory {pair.target}: move it out of there"
                )
        for target, text in sorted(expected.items()):
            current = target.read_text(encoding="utf-8") if target.exists() else None
            if current == text:
                up_to_date += 1
            else:
                changes.append(Change(target, text, current))
    return Plan(tuple(changes), tuple(errors), up_to_date)


def apply(changes: Iterable[Change]) -> None:
    """Write or delete each changed file."""
    for change in changes:
        if change.text is None:
            change.path.unlink()
        else:
            change.path.parent.mkdir(parents=True, exist_ok=True)
            with change.path.open("w", encoding="utf-8", newline="\n") as file:
                file.write(change.text)


def _python_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.rglob("*.py") if "__pycache__" not in path.parts)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# ------------------------------------------------------------------ command line


def _parse_pair(text: str) -> Pair:
    source, separator, target = text.partition(":")
    if not separator or not source or not target:
        raise argparse.ArgumentTypeError(f"expected SOURCE:TARGET, got {text!r}")
    return Pair(source, target)


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate (or with ``--check``, verify) the sync directories; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.unasync", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if any file differs"
    )
    parser.add_argument(
        "--pair",
        action="append",
        type=_parse_pair,
        metavar="SOURCE:TARGET",
        help="a directory pair instead of the configured ones (repeatable)",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    pairs: list[Pair] = args.pair or list(PAIRS)

    result = plan(pairs, root)
    for error in result.errors:
        print(f"unasync: error: {error}", file=sys.stderr)
    if args.check:
        for change in result.changes:
            print(f"unasync: out of date: would {change.describe(root)}")
            sys.stdout.writelines(change.diff(root))
        if result.changes:
            print(
                f"unasync: {len(result.changes)} generated file(s) out of date; "
                "run `python -m tools.unasync`"
            )
        else:
            print(f"unasync: {result.up_to_date} generated file(s) up to date")
    else:
        apply(result.changes)
        for change in result.changes:
            print(f"unasync: {change.describe(root)}")
        print(f"unasync: {len(result.changes)} changed, {result.up_to_date} up to date")
    return 1 if result.errors or (args.check and result.changes) else 0


if __name__ == "__main__":
    sys.exit(main())
