"""The crud spec's unified tests (tests/specs/crud/tests/unified), async and sync."""

from __future__ import annotations

import pytest

from tests.unified.runner import run_case
from tests.unified.support import Case, ServerFacts, plan

SKIPS: dict[str, str] = {}

# A file name covers all its cases (the others are for older servers: skipped at run time).
DRIVER_BUGS: dict[str, str] = {}

CASES, SPEC_SKIPS = plan("crud", "crud/tests/unified", SKIPS, DRIVER_BUGS)


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", CASES)
def test_crud(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    run_case(case, mode, unified_facts)
