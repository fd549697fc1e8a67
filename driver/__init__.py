"""Feldspar's MongoDB driver, with PyMongo's public API.

Today: :class:`MongoClient` / :class:`AsyncMongoClient` following standalone servers,
replica sets, mongos and load balancers (commands, authentication, TLS, pooled
connections, monitoring events), the BSON and Extended JSON codec (:mod:`driver.bson`)
and the error tree (:mod:`driver.errors`). CRUD and the rest arrive in later releases.

Example::

    >>> import driver
    >>> from driver.bson import decode, encode
    >>> decode(encode({"hello": "world"}))
    {'hello': 'world'}
    >>> client = driver.MongoClient("mongodb://127.0.0.1:27017/?directConnection=true")
    >>> client.address
    ('127.0.0.1', 27017)
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from driver._sync.client import MongoClient
from driver._sync.cursor import CursorType
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
from driver.operations import (
    ASCENDING,
    DESCENDING,
    GEO2D,
    GEOSPHERE,
    HASHED,
    TEXT,
    DeleteMany,
    DeleteOne,
    IndexModel,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
)
from driver.read_concern import ReadConcern
from driver.read_preferences import ReadPreference
from driver.write_concern import WriteConcern

try:
    __version__ = _metadata.version("feldspar")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

version = __version__

if TYPE_CHECKING:
    from driver._async.client import AsyncMongoClient


def __getattr__(name: str) -> Any:
    # The async client is imported on first use, so a program that only uses the sync
    # client never loads asyncio.
    if name == "AsyncMongoClient":
        from driver._async.client import AsyncMongoClient

        globals()[name] = AsyncMongoClient
        return AsyncMongoClient
    raise AttributeError(f"module 'driver' has no attribute {name!r}")

__all__ = [
    "ASCENDING",
    "DESCENDING",
    "GEO2D",
    "GEOSPHERE",
    "HASHED",
    "TEXT",
    "AsyncMongoClient",
    "CursorType",
    "DeleteMany",
    "DeleteOne",
    "IndexModel",
    "InsertOne",
    "ReadConcern",
    "ReadPreference",
    "ReplaceOne",
    "ReturnDocument",
    "UpdateMany",
    "UpdateOne",
    "WriteConcern",
    "BSONError",
    "ConfigurationError",
    "DocumentTooLarge",
    "DriverError",
    "InvalidBSON",
    "InvalidDocument",
    "InvalidId",
    "InvalidStringData",
    "MongoClient",
    "PyMongoError",
    "__version__",
    "version",
]
