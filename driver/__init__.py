"""Feldspar's MongoDB driver, with PyMongo's public API.

Today it holds the BSON and Extended JSON codec (:mod:`driver.bson`) and the error
tree (:mod:`driver.errors`); connecting, CRUD and the rest arrive in later releases.

Example::

    >>> import driver
    >>> from driver.bson import decode, encode
    >>> decode(encode({"hello": "world"}))
    {'hello': 'world'}
"""

from __future__ import annotations

from importlib import metadata as _metadata

from driver.errors import (
    BSONError,
    ConfigurationError,
    DocumentTooLarge,
    DriverError,
    InvalidBSON,
    InvalidDocument,
    InvalidId,
    InvalidStringData,
    PyMongoError,
)

try:
    __version__ = _metadata.version("feldspar")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

version = __version__

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
    "__version__",
    "version",
]
