"""BSON errors under PyMongo's module path; they live in :mod:`driver.errors`.

Example::

    >>> from driver.bson.errors import InvalidBSON
    >>> from driver.bson import decode
    >>> try:
    ...     decode(b"junk")
    ... except InvalidBSON as exc:
    ...     print(type(exc).__name__)
    InvalidBSON
"""

from driver.errors import (
    BSONError,
    DocumentTooLarge,
    InvalidBSON,
    InvalidDocument,
    InvalidId,
    InvalidStringData,
)

__all__ = [
    "BSONError",
    "DocumentTooLarge",
    "InvalidBSON",
    "InvalidDocument",
    "InvalidId",
    "InvalidStringData",
]
