"""The typing checks are real: mypy passes on ``odm_api.py`` (``make typecheck`` runs
it too) and fails on misuse that only precise types catch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def _mypy(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *paths],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )


def test_public_api_usage_type_checks() -> None:
    result = _mypy(str(HERE / "odm_api.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad_usage.py"
    bad.write_text(
        "from odm import Document, Engine\n"
        "class User(Document):\n"
        "    name: str\n"
        "def use(engine: Engine) -> None:\n"
        "    user = engine.get(User, 1)\n"
        "    user.nickname\n"  # no such field: an error only if get() returns User
        "    engine.find(User).to_list()[0].age\n"
        "    engine.insert(42)\n",  # not a model
        encoding="utf-8",
    )
    result = _mypy(str(bad))
    out = result.stdout
    assert result.returncode != 0
    assert '"User" has no attribute "nickname"' in out, out
    assert '"User" has no attribute "age"' in out, out
    assert "insert" in out and '"int"' in out, out
