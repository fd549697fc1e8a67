"""The monitoring part of command-logging-and-monitoring (its unified tests under
tests/specs/command-logging-and-monitoring/tests/monitoring), async and sync. The
logging part (expectLogMessages) is not run here."""

from __future__ import annotations

import pytest

from tests.unified.runner import run_case
from tests.unified.support import Case, ServerFacts, plan

SKIPS: dict[str, str] = {}

DRIVER_BUGS: dict[str, str] = {}

CASES, SPEC_SKIPS = plan(
    "command-logging-and-monitoring",
    "command-logging-and-monitoring/tests/monitoring",
    SKIPS,
    DRIVER_BUGS,
)


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", CASES)
def test_command_monitoring(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    run_case(case, mode, unified_facts)
