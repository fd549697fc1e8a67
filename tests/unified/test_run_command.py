"""The run-command spec's unified tests (tests/specs/run-command/tests/unified)."""

from __future__ import annotations

import pytest

from tests.unified.runner import run_case
from tests.unified.support import Case, ServerFacts, plan

SKIPS: dict[str, str] = {}

DRIVER_BUGS: dict[str, str] = {}

CASES, SPEC_SKIPS = plan("run-command", "run-command/tests/unified", SKIPS, DRIVER_BUGS)


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", CASES)
def test_run_command(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    run_case(case, mode, unified_facts)
