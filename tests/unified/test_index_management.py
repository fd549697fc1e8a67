"""The index-management spec's unified tests (tests/specs/index-management/tests), async and
sync (today every case is skipped: search indexes and rawData)."""

from __future__ import annotations

import pytest

from tests.unified.runner import run_case
from tests.unified.support import Case, ServerFacts, plan

SKIPS: dict[str, str] = {}

DRIVER_BUGS: dict[str, str] = {}

CASES, SPEC_SKIPS = plan("index-management", "index-management/tests", SKIPS, DRIVER_BUGS)


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", CASES)
def test_index_management(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    run_case(case, mode, unified_facts)
