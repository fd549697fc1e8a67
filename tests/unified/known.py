"""Reasons shared by the suites' skip and driver-bug lists (one wording per cause).

Driver bugs (``BUG_*``) are strict xfails: when the driver is fixed the case passes,
the xfail turns into a failure, and the entry must go. Each text says what is observed,
what the spec test expects, and the likely cause in the driver. ``SECANTUS_*`` are
server differences (SecantusDB 0.7 is not MongoDB); ``BY_DESIGN_*`` are deliberate
deviations of the driver.
"""

from __future__ import annotations

__all__ = [
    "BUG_AGGREGATE_WRITE_READ_PREFERENCE",
    "BY_DESIGN_ORDERED_UNACKNOWLEDGED",
    "SECANTUS_ON_PRIMARY_TRANSACTIONAL_WRITE",
    "SECANTUS_WRITE_CONCERN_ERROR_ON_RETRY",
]

# ---------------------------------------------------------------------------- driver bugs

BUG_AGGREGATE_WRITE_READ_PREFERENCE = (
    "aggregate with $out/$merge on a 5.0+ server ignores the read preference on the "
    "client's first operation (no $readPreference sent); the spec expects $readPreference "
    "{mode: secondaryPreferred, maxStalenessSeconds: 600}. Cause: "
    "AsyncCollection._aggregate_on decides primary-or-read-preference from the topology's "
    "common_wire_version before selecting a server, and the topology is still unknown at "
    "the first operation; decide on the selected server's wire version instead"
)

# ---------------------------------------------------------------------------- the server

SECANTUS_ON_PRIMARY_TRANSACTIONAL_WRITE = (
    "SecantusDB: the onPrimaryTransactionalWrite fail point is accepted but has no effect "
    "(no connection closed after commit, no failBeforeCommitExceptionCode)"
)
SECANTUS_WRITE_CONCERN_ERROR_ON_RETRY = (
    "SecantusDB: failCommand's writeConcernError is not added to the reply of a retried "
    "write (same lsid/txnNumber: answered from the stored result), so times: 2 fails once"
)

# ---------------------------------------------------------------------------- by design

BY_DESIGN_ORDERED_UNACKNOWLEDGED = (
    "by design (as PyMongo): an ordered bulk write with w:0 is sent acknowledged so it "
    "stops at the first error (the driver sends w:1, PyMongo no writeConcern); the spec "
    "test expects writeConcern {w: 0}"
)
