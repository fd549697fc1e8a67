"""Pure session pool and retry rules."""

from __future__ import annotations

import os
import time

import pytest

from driver.errors import (
    AutoReconnect,
    NotPrimaryError,
    OperationFailure,
    PoolClearedError,
    WaitQueueTimeoutError,
    WriteConcernError,
)
from driver.protocol.descriptions import ServerDescription, ServerType
from driver.protocol.retry import (
    is_retryable_read_error,
    is_retryable_write_error,
    supports_retryable_writes,
)
from driver.protocol.sessions import ServerSession, ServerSessionPool


def test_the_pool_hands_out_the_most_recently_used_session() -> None:
    pool = ServerSessionPool()
    a, b = pool.acquire(30), pool.acquire(30)
    assert a.lsid != b.lsid
    pool.release(a, 30)
    pool.release(b, 30)
    assert pool.acquire(30) is b and pool.acquire(30) is a


def test_dirty_and_nearly_expired_sessions_are_never_reused() -> None:
    pool = ServerSessionPool()
    dirty = pool.acquire(30)
    dirty.dirty = True
    pool.release(dirty, 30)
    assert len(pool) == 0
    old = pool.acquire(30)
    pool.release(old, 30)
    old.last_use = time.monotonic() - 29.5 * 60  # less than a minute left on the server
    assert pool.acquire(30) is not old


def test_without_a_timeout_sessions_never_expire() -> None:
    session = ServerSession()
    session.last_use -= 10**6
    assert not session.expires_soon(None)


def test_txn_numbers_count_up() -> None:
    session = ServerSession()
    assert [session.next_txn_number() for _ in range(3)] == [1, 2, 3]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_with_an_empty_pool() -> None:
    pool = ServerSessionPool()
    pool.release(pool.acquire(30), 30)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if len(pool.drain()) == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0 and len(pool) == 1


@pytest.mark.parametrize(
    ("error", "wire", "expected"),
    [
        (AutoReconnect("reset"), 21, True),
        (PoolClearedError("cleared"), 21, True),
        (WaitQueueTimeoutError("full"), 21, False),
        # A "not primary" reply is a server answer: on 4.4+ only its label counts.
        (NotPrimaryError("not primary", {"code": 10107}), 21, False),
        (NotPrimaryError("not primary", {"code": 10107}), 8, True),
        (NotPrimaryError("np", {"code": 10107, "errorLabels": ["RetryableWriteError"]}), 21, True),
        (OperationFailure("stepped down", code=189), 8, True),  # before 4.4: codes
        (OperationFailure("stepped down", code=189), 9, False),  # 4.4+: labels only
        (OperationFailure("x", code=189, details={"errorLabels": ["RetryableWriteError"]}), 9, True),
        (WriteConcernError("wc", code=91), 8, True),
        (OperationFailure("dup", code=11000), 8, False),
    ],
)
def test_retryable_write_errors(error: Exception, wire: int, expected: bool) -> None:
    assert is_retryable_write_error(error, max_wire_version=wire) is expected


def test_retryable_read_errors() -> None:
    assert is_retryable_read_error(OperationFailure("majority", code=134))
    assert not is_retryable_write_error(OperationFailure("majority", code=134), max_wire_version=8)
    assert not is_retryable_read_error(WaitQueueTimeoutError("full"))
    assert not is_retryable_read_error(ValueError("not a driver error"))


def test_retryable_writes_need_sessions_and_not_a_standalone() -> None:
    primary = ServerDescription(("a", 1), ServerType.RSPrimary, max_wire_version=21)
    standalone = ServerDescription(("a", 1), ServerType.Standalone, max_wire_version=21)
    assert supports_retryable_writes(primary, 30)
    assert not supports_retryable_writes(primary, None)
    assert not supports_retryable_writes(standalone, 30)
