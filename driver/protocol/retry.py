"""Retryable reads and writes (the specs of those names), pure: what may be retried.

A retryable write carries ``txnNumber`` (with its session's ``lsid``) so the server
can tell a retry from a new write and never applies it twice. It is retried once,
on a new server selection, after a network error or an error the server labels
``RetryableWriteError`` (MongoDB 4.4+; older servers: a list of codes). A retryable
read is retried once after a network error or one of the same state-change codes.
With ``retryWrites=false`` nothing carries ``txnNumber`` (Amazon DocumentDB before
8.0.2 rejects it).

>>> from driver.errors import AutoReconnect, OperationFailure
>>> is_retryable_write_error(AutoReconnect("connection reset"), max_wire_version=21)
True
>>> is_retryable_read_error(OperationFailure("stepped down", code=189))
True
>>> is_retryable_read_error(OperationFailure("bad query", code=2))
False
"""

from __future__ import annotations

from driver.errors import (
    ConnectionFailure,
    NotPrimaryError,
    OperationFailure,
    PyMongoError,
    WaitQueueTimeoutError,
)
from driver.protocol.descriptions import ServerDescription, ServerType

__all__ = [
    "NO_WRITES_PERFORMED",
    "RETRYABLE_READ_CODES",
    "RETRYABLE_WRITE_CODES",
    "RETRYABLE_WRITE_LABEL",
    "is_retryable_read_error",
    "is_retryable_write_error",
    "supports_retryable_writes",
]

RETRYABLE_WRITE_LABEL = "RetryableWriteError"
NO_WRITES_PERFORMED = "NoWritesPerformed"

# State changes and network trouble seen by the server (retryable writes spec). Used
# for servers before 4.4, which do not label their errors.
RETRYABLE_WRITE_CODES = frozenset(
    {
        6,  # HostUnreachable
        7,  # HostNotFound
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        189,  # PrimarySteppedDown
        262,  # ExceededTimeLimit
        9001,  # SocketException
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)
RETRYABLE_READ_CODES = RETRYABLE_WRITE_CODES | {134}  # ReadConcernMajorityNotAvailableYet

_WIRE_VERSION_44 = 9


def _is_network_error(error: BaseException) -> bool:
    # A full pool is not the network; a cleared one (PoolClearedError) is retryable. A
    # "not primary" reply is a ConnectionFailure in the error tree, but it is a server
    # answer: the label (4.4+) or its code decides, as for any other command error.
    return isinstance(error, ConnectionFailure) and not isinstance(
        error, (WaitQueueTimeoutError, NotPrimaryError)
    )


def _code(error: BaseException) -> int | None:
    """The server's code of a command error (OperationFailure or NotPrimaryError)."""
    if isinstance(error, OperationFailure):
        return error.code
    details = getattr(error, "details", None)
    code = details.get("code") if isinstance(details, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def is_retryable_write_error(error: BaseException, *, max_wire_version: int | None) -> bool:
    """Whether a write that failed with ``error`` may be retried once.

    Network errors always; from MongoDB 4.4 the server's ``RetryableWriteError`` label
    decides; before, the codes in :data:`RETRYABLE_WRITE_CODES` (also in a write
    concern error).
    """
    if _is_network_error(error):
        return True
    if not isinstance(error, PyMongoError):
        return False
    if error.has_error_label(RETRYABLE_WRITE_LABEL):
        return True
    if max_wire_version is not None and max_wire_version >= _WIRE_VERSION_44:
        return False
    return _code(error) in RETRYABLE_WRITE_CODES


def is_retryable_read_error(error: BaseException) -> bool:
    """Whether a read that failed with ``error`` may be retried once."""
    if _is_network_error(error):
        return True
    return _code(error) in RETRYABLE_READ_CODES


def supports_retryable_writes(server: ServerDescription, session_timeout: int | None) -> bool:
    """Whether ``txnNumber`` may be sent to ``server``: it supports sessions and is not
    a standalone (the spec)."""
    return (
        session_timeout is not None
        and server.server_type is not ServerType.Standalone
        and (server.max_wire_version or 0) >= 6
    )
