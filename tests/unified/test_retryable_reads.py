"""The retryable-reads spec's unified tests (tests/specs/retryable-reads/tests/unified)."""

from __future__ import annotations

import pytest

from tests.unified.runner import run_case
from tests.unified.support import Case, ServerFacts, plan

SKIPS: dict[str, str] = {}

DRIVER_BUGS: dict[str, str] = {}

CASES, SPEC_SKIPS = plan("retryable-reads", "retryable-reads/tests/unified", SKIPS, DRIVER_BUGS)


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", CASES)
def test_retryable_reads(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    run_case(case, mode, unified_facts)
