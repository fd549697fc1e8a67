"""The one exception tree of Feldspar, with PyMongo's names.

Everything the driver raises on purpose derives from :class:`PyMongoError` (also
exported as :class:`DriverError`), so ``except driver.errors.PyMongoError`` catches all
of it. BSON errors are part of the same tree (PyMongo keeps them apart; a single root
is the fix) and are re-exported from :mod:`driver.bson.errors` under PyMongo's module
path. Server errors carry the server's ``code`` so code can branch on it.

Example::

    >>> from driver.errors import InvalidBSON, OperationFailure, PyMongoError
    >>> issubclass(InvalidBSON, PyMongoError)
    True
    >>> err = OperationFailure("Authentication failed.", 18, {"ok": 0, "code": 18})
    >>> err.code, err.has_error_label("RetryableWriteError")
    (18, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "AutoReconnect",
    "BSONError",
    "BulkWriteError",
    "CollectionInvalid",
    "ConfigurationError",
    "ConnectionFailure",
    "CursorNotFound",
    "DocumentTooLarge",
    "DriverError",
    "DuplicateKeyError",
    "ExecutionTimeout",
    "InvalidBSON",
    "InvalidDocument",
    "InvalidId",
    "InvalidName",
    "InvalidOperation",
    "InvalidStringData",
    "InvalidURI",
    "NetworkTimeout",
    "NotPrimaryError",
    "OperationFailure",
    "PoolClearedError",
    "PoolClosedError",
    "ProtocolError",
    "PyMongoError",
    "ServerSelectionTimeoutError",
    "WTimeoutError",
    "WaitQueueTimeoutError",
    "WriteConcernError",
    "WriteError",
]


class PyMongoError(Exception):
    """Base class of every error the driver raises on purpose.

    ``error_labels`` are the labels the server (or the driver) attached, such as
    ``"RetryableWriteError"`` or ``"TransientTransactionError"``.
    """

    def __init__(self, message: str = "", error_labels: Iterable[str] | None = None) -> None:
        super().__init__(message)
        self._message = message
        self._error_labels = set(error_labels or ())

    def has_error_label(self, label: str) -> bool:
        """Whether the error carries ``label``."""
        return label in self._error_labels

    def _add_error_label(self, label: str) -> None:
        self._error_labels.add(label)

    def _remove_error_label(self, label: str) -> None:
        self._error_labels.discard(label)

    @property
    def timeout(self) -> bool:
        """Whether the error was caused by a timeout."""
        return False


DriverError = PyMongoError


# ------------------------------------------------------------------ configuration


class ConfigurationError(PyMongoError):
    """An option or argument is invalid: the message names which and why."""


class InvalidURI(ConfigurationError):
    """A connection string is malformed: the message says where."""


class InvalidName(PyMongoError):
    """A database or collection name is invalid."""


class InvalidOperation(PyMongoError):
    """The operation cannot be done in the current state (e.g. on a closed client)."""


class CollectionInvalid(PyMongoError):
    """A collection cannot be created or validated (e.g. it already exists)."""


# ------------------------------------------------------------------ network


class ConnectionFailure(PyMongoError):
    """The driver could not talk to the server."""


class AutoReconnect(ConnectionFailure):
    """A connection was lost or could not be made; the operation may be retried.

    ``errors`` holds the underlying error (or a map of address to error).
    """

    def __init__(
        self,
        message: str = "",
        errors: Any = None,
        error_labels: Iterable[str] | None = None,
    ) -> None:
        labels = set(error_labels or ())
        if isinstance(errors, Mapping):
            labels.update(errors.get("errorLabels", ()))
        super().__init__(message, labels)
        self.errors = self.details = errors if errors is not None else []


class NetworkTimeout(AutoReconnect):
    """A network operation timed out."""

    @property
    def timeout(self) -> bool:
        return True


class NotPrimaryError(AutoReconnect):
    """The server is no longer a writable primary (or is recovering)."""


class PoolClearedError(AutoReconnect):
    """The pool was cleared (the server looked unhealthy) while waiting for a connection.

    Like any :class:`AutoReconnect`, the operation may be retried once the server is
    found healthy again; retryable reads and writes do so by themselves.
    """


class ServerSelectionTimeoutError(AutoReconnect):
    """No suitable server was found within ``serverSelectionTimeoutMS``.

    The message describes the topology as the client last saw it.
    """

    @property
    def timeout(self) -> bool:
        return True


class WaitQueueTimeoutError(ConnectionFailure):
    """No pooled connection became free within ``waitQueueTimeoutMS``."""

    @property
    def timeout(self) -> bool:
        return True


class PoolClosedError(InvalidOperation):
    """A connection was asked of a pool that is closed (its client was closed)."""


class ProtocolError(PyMongoError):
    """The peer broke the wire protocol (malformed or oversized reply, not MongoDB)."""


# ------------------------------------------------------------------ server errors


class OperationFailure(PyMongoError):
    """The server answered a command with an error.

    ``code`` is the server's error code, ``details`` the whole reply document.
    """

    def __init__(
        self,
        error: str,
        code: int | None = None,
        details: Mapping[str, Any] | None = None,
        max_wire_version: int | None = None,
    ) -> None:
        labels = details.get("errorLabels", ()) if details else ()
        super().__init__(error, labels)
        self.__code = code
        self.__details = details
        self.__max_wire_version = max_wire_version

    @property
    def code(self) -> int | None:
        """The server's error code."""
        return self.__code

    @property
    def details(self) -> Mapping[str, Any] | None:
        """The server's whole error document."""
        return self.__details

    @property
    def _max_wire_version(self) -> int | None:
        return self.__max_wire_version

    @property
    def timeout(self) -> bool:
        return self.__code in (50, 262)

    def __reduce__(self) -> tuple[Any, Any]:
        return self.__class__, (self._message, self.__code, self.__details, self.__max_wire_version)

    def __str__(self) -> str:
        text = super().__str__()
        if self.__details is not None and "full error" not in text:
            return f"{text}, full error: {dict(self.__details)!r}"
        return text


class CursorNotFound(OperationFailure):
    """The server no longer knows the cursor (killed or timed out)."""


class ExecutionTimeout(OperationFailure):
    """The operation exceeded its ``maxTimeMS`` (server code 50)."""

    @property
    def timeout(self) -> bool:
        return True


class WriteConcernError(OperationFailure):
    """The write happened but its write concern was not satisfied."""


class WTimeoutError(WriteConcernError):
    """The write concern timed out (``wtimeout``)."""

    @property
    def timeout(self) -> bool:
        return True


class WriteError(OperationFailure):
    """A write was refused by the server."""


class DuplicateKeyError(WriteError):
    """A write would duplicate a value in a unique index (server code 11000)."""


class BulkWriteError(OperationFailure):
    """One or more writes of a bulk write failed; ``details`` holds the results."""

    def __init__(self, results: Mapping[str, Any]) -> None:
        super().__init__("batch op errors occurred", 65, results)

    def __reduce__(self) -> tuple[Any, Any]:
        return self.__class__, (self.details,)


# ------------------------------------------------------------------ BSON


class BSONError(PyMongoError):
    """Base class of the BSON errors."""


class InvalidBSON(BSONError):
    """Bytes that are not valid BSON were given to a decoder."""


class InvalidDocument(BSONError):
    """A value cannot be encoded as BSON (unknown type, bad key, cycle...)."""


class InvalidStringData(BSONError):
    """A string cannot be encoded as BSON (e.g. it is not valid UTF-8)."""


class InvalidId(BSONError):
    """A value cannot be turned into an ObjectId."""


class DocumentTooLarge(InvalidDocument):
    """An encoded document is larger than the size limit in force."""
