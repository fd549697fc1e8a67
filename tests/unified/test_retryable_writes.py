"""The retryable-writes spec's unified tests (tests/specs/retryable-writes/tests/unified)."""

from __future__ import annotations

import pytest

from tests.unified.known import (
    SECANTUS_ON_PRIMARY_TRANSACTIONAL_WRITE,
    SECANTUS_WRITE_CONCERN_ERROR_ON_RETRY,
)
from tests.unified.runner import run_case
from tests.unified.support import Case, ServerFacts, plan

SKIPS: dict[str, str] = {
    **{
        name: SECANTUS_ON_PRIMARY_TRANSACTIONAL_WRITE
        for name in [
            "bulkWrite.json: First command is retried",
            "bulkWrite.json: BulkWrite with unordered execution",
            "bulkWrite.json: First insertOne is never committed",
            "bulkWrite.json: Second updateOne is never committed",
            "bulkWrite.json: Third updateOne is never committed",
            "deleteOne.json: DeleteOne is committed on first attempt",
            "deleteOne.json: DeleteOne is never committed",
            "findOneAndDelete.json: FindOneAndDelete is committed on first attempt",
            "findOneAndDelete.json: FindOneAndDelete is never committed",
            "findOneAndReplace.json: FindOneAndReplace is committed on first attempt",
            "findOneAndReplace.json: FindOneAndReplace is never committed",
            "findOneAndUpdate.json: FindOneAndUpdate is committed on first attempt",
            "findOneAndUpdate.json: FindOneAndUpdate is never committed",
            "insertMany.json: InsertMany succeeds after one network error",
            "insertMany.json: InsertMany with unordered execution",
            "insertMany.json: InsertMany fails after multiple network errors",
            "insertOne.json: InsertOne is committed on first attempt",
            "insertOne.json: InsertOne is never committed",
            "replaceOne.json: ReplaceOne is committed on first attempt",
            "replaceOne.json: ReplaceOne is never committed",
            "updateOne.json: UpdateOne is committed on first attempt",
            "updateOne.json: UpdateOne is never committed",
            "updateOne.json: UpdateOne with upsert is never committed",
        ]
    },
    "insertOne-errorLabels.json: InsertOne fails after multiple retryable writeConcernErrors":
        SECANTUS_WRITE_CONCERN_ERROR_ON_RETRY,
}

DRIVER_BUGS: dict[str, str] = {}

CASES, SPEC_SKIPS = plan("retryable-writes", "retryable-writes/tests/unified", SKIPS, DRIVER_BUGS)


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("case", CASES)
def test_retryable_writes(case: Case, mode: str, unified_facts: ServerFacts) -> None:
    run_case(case, mode, unified_facts)
