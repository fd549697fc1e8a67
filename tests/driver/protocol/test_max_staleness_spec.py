"""The Max Staleness spec tests (tests/specs/max-staleness), every case.

Each file is a server selection case with lastWrite/lastUpdateTime data, an optional
``heartbeatFrequencyMS`` and possibly ``error: true`` (a maxStalenessSeconds that
must be refused when the read preference is built or at selection). The selection
runner's helpers do the work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driver.bson import json_util
from tests.driver.protocol.test_selection_spec import check_selection

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs" / "max-staleness" / "tests"

# Every case this runner skips, by id, with the reason (printed at the end of the run).
SPEC_SKIPS: list[tuple[str, str]] = []
_SKIPPED = dict(SPEC_SKIPS)


def _cases() -> list[Any]:
    return [
        pytest.param(path, id=str(path.relative_to(SPEC_DIR).with_suffix("")))
        for path in sorted(SPEC_DIR.rglob("*.json"))
    ]


@pytest.mark.parametrize("path", _cases())
def test_max_staleness(path: Path, request: pytest.FixtureRequest) -> None:
    if request.node.callspec.id in _SKIPPED:
        pytest.skip(_SKIPPED[request.node.callspec.id])
    spec = json_util.loads(path.read_text(encoding="utf-8"))
    check_selection(spec, spec.get("heartbeatFrequencyMS"))


def test_the_suite_is_all_there() -> None:
    assert len(_cases()) == 32
