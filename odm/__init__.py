"""Feldspar's object-document mapper: Pydantic v2 models stored in MongoDB.

Models hold data and never do I/O; an :class:`Engine` (sync) or :class:`AsyncEngine`
(async) reads and writes them through one database. Class attribute access on a
model gives field proxies for typed filters, sorts and updates::

    from odm import Document, Engine, Indexed, update
    from typing import Annotated

    class User(Document, collection="users"):
        name: Annotated[str, Indexed(unique=True)]
        age: int = 0

    with Engine("mongodb://127.0.0.1:27017", database="app") as engine:
        engine.insert(User(name="Ada", age=36))
        adults = engine.find(User, User.age >= 18).sort(-User.age).to_list()
        engine.update_one(User, User.name == "Ada", update.inc(User.age, 1))

See ``docs/odm.md`` for a tutorial and ``docs/odm-operators.md`` for every operator.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from odm import aggregation, bulk, update
from odm._async.cursor import AsyncAggregation, AsyncModelCursor
from odm._async.engine import AsyncEngine
from odm._sync.cursor import Aggregation, ModelCursor
from odm._sync.engine import Engine
from odm.aggregation import Pipeline
from odm.codec import from_document, to_document
from odm.errors import DocumentNotFound, DuplicateKeyError, ODMError, ValidationError
from odm.fields import FieldProxy, proxy
from odm.index import Index, IndexDiff, Indexed, IndexSpec
from odm.model import BaseDocument, Document, DocumentConfig, collection_name
from odm.query import QueryExpression, and_, nor_, or_, raw, text
from odm.types import Binary, Decimal128, Int64, ObjectId, Regex, Timestamp, UTCDateTime
from odm.update import Update

__all__ = [
    "Aggregation",
    "AsyncAggregation",
    "AsyncEngine",
    "AsyncModelCursor",
    "BaseDocument",
    "Binary",
    "Decimal128",
    "Document",
    "DocumentConfig",
    "DocumentNotFound",
    "DuplicateKeyError",
    "Engine",
    "FieldProxy",
    "Index",
    "IndexDiff",
    "IndexSpec",
    "Indexed",
    "Int64",
    "ModelCursor",
    "ODMError",
    "ObjectId",
    "Pipeline",
    "QueryExpression",
    "Regex",
    "Timestamp",
    "UTCDateTime",
    "Update",
    "ValidationError",
    "__version__",
    "aggregation",
    "and_",
    "bulk",
    "collection_name",
    "from_document",
    "nor_",
    "or_",
    "proxy",
    "raw",
    "text",
    "to_document",
    "update",
]

try:
    __version__: str = version("feldspar")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
