"""The runner's own self-tests (unified-test-format/tests): every valid-pass case must
pass and every valid-fail case must fail, each async and sync."""

from __future__ import annotations

import pytest

from tests.unified.known import (
    SECANTUS_ON_PRIMARY_TRANSACTIONAL_WRITE,
    SECANTUS_WRITE_CONCERN_ERROR_ON_RETRY,
)
from tests.unified.runner import run_case
from tests.unified.support import UNSUPPORTED_CLIENT_OPTIONS, Case, ServerFacts, plan

SKIPS: dict[str, str] = {
    "poc-retryable-writes.json: FindOneAndUpdate is never committed":
        SECANTUS_ON_PRIMARY_TRANSACTIONAL_WRITE,
    "poc-retryable-writes.json: InsertOne fails after multiple retryable writeConcernErrors":
        SECANTUS_WRITE_CONCERN_ERROR_ON_RETRY,
}

DRIVER_BUGS: dict[str, str] = {}

FAIL_SKIPS: dict[str, str] = {
    # The unused client entity is not made: the driver has no serverApi to refuse.
    "entity-client-apiVersion-unsupported.json": UNSUPPORTED_CLIENT_OPTIONS["serverApi"],
}

CASES, PASS_SKIPS = plan(
    "unified-test-format/valid-pass", "unified-test-format/tests/valid-pass", SKIPS, DRIVER_BUGS
)
FAIL_CASES, FAIL_SPEC_SKIPS = plan(
    "unified-test-format/valid-fail", "unified-test-format/tests/valid-fail", FAIL_SKIPS, {}
)
SPEC_SKIPS = [
    *((f"valid-pass/{name}", reason) for name, reason in PASS_SKIPS),
    *((f"valid-fail/{name}", reason) for name, reason in FAIL_SPEC_SKIPS),
]


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", CASES)
def test_valid_pass(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    run_case(case, mode, unified_facts)


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", FAIL_CASES)
def test_valid_fail(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any failure of the case is the point
        run_case(case, mode, unified_facts)
