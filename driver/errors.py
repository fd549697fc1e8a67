"""The one exception tree of Feldspar, with PyMongo's names.

Everything the driver raises on purpose derives from :class:`PyMongoError` (also
exported as :class:`DriverError`), so ``except driver.errors.PyMongoError`` catches all
of it. BSON errors are part of the same tree (PyMongo keeps them apart; a single root
is the fix) and are re-exported from :mod:`driver.bson.errors` under PyMongo's module
path.

Example::

    >>> from driver.errors import InvalidBSON, PyMongoError
    >>> issubclass(InvalidBSON, PyMongoError)
    True
"""

from __future__ import annotations

__all__ = [
    "BSONError",
    "ConfigurationError",
    "DocumentTooLarge",
    "DriverError",
    "InvalidBSON",
    "InvalidDocument",
    "InvalidId",
    "InvalidStringData",
    "PyMongoError",
]


class PyMongoError(Exception):
    """Base class of every error the driver raises on purpose."""


DriverError = PyMongoError


class ConfigurationError(PyMongoError):
    """An option or argument is invalid: the message names which and why."""


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
