"""``python -m tools.demo`` (``make demo``): run every example against a server.

Uses the server named by ``MONGODB_URI`` if set, else starts a SecantusDB test server
(:mod:`tools.testserver`) and always stops it again. Each ``examples/*.py`` (sorted;
files starting with ``_`` are helpers and are skipped) runs as its own process with
``MONGODB_URI`` in its environment, under a header, with its output shown as it comes.
Exits non-zero if any example fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.testserver import TestServer, TestServerError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_TIMEOUT = 300.0  # seconds; an example that hangs fails instead of hanging the demo


def find_examples(directory: Path = EXAMPLES) -> list[Path]:
    """The runnable examples: ``*.py`` in ``directory``, sorted, without ``_*`` helpers."""
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def example_env(uri: str | None) -> dict[str, str]:
    """The environment for an example: ours, the source tree importable, and the URI."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if uri is None:
        env.pop("MONGODB_URI", None)
    else:
        env["MONGODB_URI"] = uri
    return env


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***``, fit to print."""
    return re.sub(r"^(mongodb(?:\+srv)?://[^:@/]*):[^@/]*@", r"\1:***@", uri)


def shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def header(text: str) -> str:
    return f"\n=== {text} " + "=" * max(3, 76 - len(text))


def run_example(path: Path, uri: str) -> bool:
    print(header(shown(path)), flush=True)
    try:
        completed = subprocess.run(
            [sys.executable, str(path)],
            cwd=ROOT,
            env=example_env(uri),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,  # a traceback shows under the example's header
            timeout=EXAMPLE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        print(f"--- FAILED: still running after {EXAMPLE_TIMEOUT:g}s, stopped", flush=True)
        return False
    if completed.returncode != 0:
        print(f"--- FAILED: exit code {completed.returncode}", flush=True)
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    examples = find_examples()
    with contextlib.ExitStack() as stack:
        uri = os.environ.get("MONGODB_URI")
        if uri:
            print(f"demo: using MONGODB_URI={redact(uri)}", flush=True)
        else:
            try:
                server = stack.enter_context(TestServer())
            except TestServerError as exc:
                print(f"demo: could not start the test server:\n{exc}", file=sys.stderr)
                return 1
            uri = server.uri
            print(f"demo: started SecantusDB at {uri}", flush=True)
        if not examples:
            print(f"demo: no examples in {shown(EXAMPLES)}/", flush=True)
            return 0
        try:
            failed = [shown(path) for path in examples if not run_example(path, uri)]
        except KeyboardInterrupt:
            print("\ndemo: interrupted", file=sys.stderr)
            return 130
    print(header("summary"))
    passed = len(examples) - len(failed)
    print(f"{passed} passed, {len(failed)} failed", flush=True)
    for name in failed:
        print(f"FAILED {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
