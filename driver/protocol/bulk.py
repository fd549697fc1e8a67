"""Bulk writes, sans-I/O: the batches to send, and what their replies add up to.

:func:`plan_bulk_write` turns ``bulk_write``'s list of write models into
:class:`Batch` es, each one ``insert`` / ``update`` / ``delete`` command to send as an
OP_MSG: :attr:`Batch.command` as the body and :attr:`Batch.documents` (already BSON) as
the kind-1 document sequence :attr:`Batch.identifier` (``documents`` / ``updates`` /
``deletes``). Grouping is PyMongo's: an ordered bulk keeps runs of consecutive
operations of one kind; an unordered bulk sends all inserts, then all updates (and
replacements), then all deletes. Every batch keeps :attr:`Batch.indexes`, the position
of each of its operations in the caller's list, so errors and upserts are reported
against the caller's indexes. Batches never exceed ``maxWriteBatchSize`` operations or
``maxMessageSizeBytes`` bytes (:class:`BatchLimits`).

:class:`BulkResultMerger` folds each reply into PyMongo's ``bulk_api_result`` and says
when an ordered bulk must stop; :meth:`BulkResultMerger.check` raises
:class:`~driver.errors.BulkWriteError` as PyMongo does. :func:`check_write_reply` is
the single-write twin (``insert_one``...): WriteError, DuplicateKeyError or
WriteConcernError.

Sizes are all checked before anything is sent: an oversized document raises
:class:`~driver.errors.DocumentTooLarge` naming its index and sizes (never its
contents), so a bulk never fails half way on size. (PyMongo sends the batches before
the oversized document first.)

Inserts: a mapping without ``_id`` gets a new ObjectId *in the caller's mapping*, as in
PyMongo, so the caller sees the ids afterwards (a RawBSONDocument is left alone; the
server assigns one).

Example::

    >>> from driver.operations import DeleteOne, InsertOne, UpdateOne
    >>> plan = plan_bulk_write(
    ...     [InsertOne({"_id": 1}), InsertOne({"_id": 2}), DeleteOne({"_id": 1}),
    ...      UpdateOne({"_id": 2}, {"$set": {"x": 1}}, upsert=True)],
    ...     collection="things", ordered=False)
    >>> [(dict(b.command), b.indexes) for b in plan.batches]  # doctest: +NORMALIZE_WHITESPACE
    [({'insert': 'things', 'ordered': False}, (0, 1)),
     ({'update': 'things', 'ordered': False}, (3,)),
     ({'delete': 'things', 'ordered': False}, (2,))]
    >>> merger = BulkResultMerger()
    >>> merger.merge(plan.batches[0], {"n": 2, "ok": 1.0})
    False
    >>> merger.merge(plan.batches[1], {"n": 1, "nModified": 0, "ok": 1.0,
    ...                                "upserted": [{"index": 0, "_id": 2}]})
    False
    >>> merger.merge(plan.batches[2], {"n": 1, "ok": 1.0})
    False
    >>> merger.check()
    >>> merger.result["nInserted"], merger.result["upserted"], merger.result["nRemoved"]
    (2, [{'index': 3, '_id': 2}], 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol, TypeAlias

from driver.bson import DEFAULT_CODEC_OPTIONS, encode
from driver.bson.codec_options import CodecOptions
from driver.bson.objectid import ObjectId
from driver.bson.raw_bson import RawBSONDocument
from driver.errors import (
    BulkWriteError,
    ConfigurationError,
    DocumentTooLarge,
    DuplicateKeyError,
    InvalidOperation,
    OperationFailure,
    ProtocolError,
    WriteConcernError,
    WriteError,
    WTimeoutError,
)
from driver.operations import (
    DeleteMany,
    DeleteOne,
    InsertOne,
    ReplaceOne,
    UpdateMany,
    UpdateOne,
    WriteModel,
)
from driver.protocol._wire_common import (
    COMMAND_OVERHEAD,
    DEFAULT_MAX_BSON_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    HEADER_SIZE,
)
from driver.results import BulkWriteResult
from driver.write_concern import WriteConcern

__all__ = [
    "DEFAULT_MAX_WRITE_BATCH_SIZE",
    "DEFAULT_RESERVE",
    "Batch",
    "BatchLimits",
    "BulkPlan",
    "BulkResultMerger",
    "Kind",
    "check_bulk_result",
    "check_unacknowledged",
    "check_write_reply",
    "ensure_id",
    "new_bulk_result",
    "plan_bulk_write",
    "plan_inserts",
]

#: Which write command a batch is.
Kind: TypeAlias = Literal["insert", "update", "delete"]

#: The server's default ``maxWriteBatchSize`` (MongoDB 3.6+).
DEFAULT_MAX_WRITE_BATCH_SIZE: Final = 100_000
#: Bytes kept free in every message for what the I/O layer adds to the command body
#: after planning (``$db``, ``lsid``, ``txnNumber``, ``$clusterTime``, ``$readPreference``,
#: ``apiVersion``, the checksum...). 16 KiB of a 48 MB message costs nothing.
DEFAULT_RESERVE: Final = 16 * 1024

_IDENTIFIERS: Final[Mapping[str, str]] = MappingProxyType(
    {"insert": "documents", "update": "updates", "delete": "deletes"}
)
# Unordered bulks send each kind in this order, as PyMongo does.
_KIND_ORDER: Final[tuple[Kind, ...]] = ("insert", "update", "delete")


class _HasLimits(Protocol):
    """What a ``hello`` reply (:class:`~driver.protocol.handshake.HelloReply`) gives."""

    @property
    def max_bson_object_size(self) -> int: ...
    @property
    def max_message_size_bytes(self) -> int: ...
    @property
    def max_write_batch_size(self) -> int: ...


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """The server's size limits a bulk is split by, and the bytes kept in reserve.

    >>> BatchLimits()
    BatchLimits(max_bson_size=16777216, max_message_size=48000000, max_write_batch_size=100000, reserve=16384)
    """

    max_bson_size: int = DEFAULT_MAX_BSON_SIZE
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_write_batch_size: int = DEFAULT_MAX_WRITE_BATCH_SIZE
    reserve: int = DEFAULT_RESERVE

    def __post_init__(self) -> None:
        for name in ("max_bson_size", "max_message_size", "max_write_batch_size", "reserve"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if value < (0 if name == "reserve" else 1):
                raise ValueError(f"{name} must be positive, not {value}")

    @classmethod
    def from_hello(cls, hello: _HasLimits, reserve: int = DEFAULT_RESERVE) -> BatchLimits:
        """The limits a connection's ``hello`` reply announced."""
        return cls(
            hello.max_bson_object_size,
            hello.max_message_size_bytes,
            hello.max_write_batch_size,
            reserve,
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """One write command to send, and which of the caller's operations it carries.

    ``command`` is the body without ``$db`` or session fields (read-only: copy it to
    add them); ``documents`` are the encoded entries of the ``identifier`` sequence and
    ``statements`` the same entries as documents (a write error's ``op``, command
    monitoring); ``indexes[i]`` is the position of ``statements[i]`` in the caller's
    list. ``size`` is the sum of ``len(documents)``.
    """

    kind: Kind
    command: Mapping[str, Any] = field(repr=False)
    documents: tuple[bytes, ...] = field(repr=False)
    statements: tuple[Any, ...] = field(repr=False)
    indexes: tuple[int, ...]
    size: int

    @property
    def identifier(self) -> str:
        """The document sequence's name: ``documents``, ``updates`` or ``deletes``."""
        return _IDENTIFIERS[self.kind]

    @property
    def ordered(self) -> bool:
        """Whether the bulk this batch belongs to is ordered."""
        return bool(self.command["ordered"])

    @property
    def sequences(self) -> dict[str, list[bytes]]:
        """``encode_op_msg``'s ``sequences`` argument for this batch."""
        return {self.identifier: list(self.documents)}

    def command_document(self) -> dict[str, Any]:
        """The whole command as one document (sequence inlined), for command monitoring."""
        return {**self.command, self.identifier: list(self.statements)}

    def __len__(self) -> int:
        return len(self.indexes)


@dataclass(frozen=True, slots=True)
class BulkPlan:
    """Every batch of one bulk write, in sending order, and what the bulk uses.

    ``retryable`` is False when an operation may touch several documents
    (``UpdateMany`` / ``DeleteMany``): such a bulk is never retried. The ``uses_*``
    flags feed :func:`check_unacknowledged`.
    """

    ordered: bool
    batches: tuple[Batch, ...]
    count: int
    retryable: bool
    uses_collation: bool = False
    uses_array_filters: bool = False
    uses_hint_update: bool = False
    uses_hint_delete: bool = False
    uses_sort: bool = False
    bypass_document_validation: bool | None = None


def ensure_id(document: Any) -> Any:
    """Give ``document`` an ``_id`` (a new ObjectId, set in place) if it has none; return it.

    A RawBSONDocument cannot be changed: its ``_id`` (or None) is returned as is.

    >>> doc = {"x": 1}
    >>> ensure_id(doc) is doc["_id"], list(doc)
    (True, ['x', '_id'])
    """
    if isinstance(document, RawBSONDocument):
        return document.get("_id")
    if "_id" not in document:
        document["_id"] = ObjectId()
    return document["_id"]


@dataclass(slots=True)
class _Statement:
    kind: Kind
    index: int
    document: Any
    raw: bytes


@dataclass(slots=True)
class _Usage:
    retryable: bool = True
    collation: bool = False
    array_filters: bool = False
    hint_update: bool = False
    hint_delete: bool = False
    sort: bool = False

    def note(self, statement: Mapping[str, Any], kind: Kind) -> None:
        self.collation |= "collation" in statement
        self.array_filters |= "arrayFilters" in statement
        self.sort |= "sort" in statement
        if kind == "update":
            self.hint_update |= "hint" in statement
            self.retryable &= not statement.get("multi")
        else:
            self.hint_delete |= "hint" in statement
            self.retryable &= statement.get("limit") != 0


def _statement(model: Any, usage: _Usage) -> tuple[Kind, Any]:
    if isinstance(model, InsertOne):
        ensure_id(model._doc)
        return "insert", model._doc
    if isinstance(model, (UpdateOne, UpdateMany, ReplaceOne)):
        statement = model._statement()
        usage.note(statement, "update")
        return "update", statement
    if isinstance(model, (DeleteOne, DeleteMany)):
        statement = model._statement()
        usage.note(statement, "delete")
        return "delete", statement
    raise TypeError(
        f"{model!r} is not a valid request: use InsertOne, UpdateOne, UpdateMany, "
        "ReplaceOne, DeleteOne or DeleteMany"
    )


def _encode(
    kind: Kind, index: int, document: Any, limits: BatchLimits, opts: CodecOptions[Any]
) -> bytes:
    raw = document.raw if isinstance(document, RawBSONDocument) else encode(document, False, opts)
    if kind == "insert":
        if len(raw) > limits.max_bson_size:
            raise DocumentTooLarge(
                f"the document of operation {index} (insert) is {len(raw)} bytes, over the "
                f"server's maxBsonObjectSize of {limits.max_bson_size} bytes"
            )
    elif len(raw) > limits.max_bson_size + COMMAND_OVERHEAD:
        # An update or delete statement wraps a user document: the server allows the
        # command overhead on top, as it does for a command body.
        raise DocumentTooLarge(
            f"the {kind} statement of operation {index} is {len(raw)} bytes, over the limit "
            f"of {limits.max_bson_size + COMMAND_OVERHEAD} bytes (maxBsonObjectSize "
            f"{limits.max_bson_size} + {COMMAND_OVERHEAD})"
        )
    return raw


def _body(
    kind: Kind,
    collection: str,
    ordered: bool,
    write_concern: WriteConcern | None,
    bypass_document_validation: bool | None,
    comment: Any,
    let: Mapping[str, Any] | None,
) -> dict[str, Any]:
    # PyMongo's field order, so command monitoring shows the same documents.
    body: dict[str, Any] = {kind: collection, "ordered": ordered}
    if comment is not None:
        body["comment"] = comment
    if write_concern is not None and not write_concern.is_server_default:
        body["writeConcern"] = write_concern.document
    if bypass_document_validation is not None:
        body["bypassDocumentValidation"] = bypass_document_validation
    if let is not None and kind != "insert":
        body["let"] = let
    return body


def _groups(statements: list[_Statement], ordered: bool) -> list[list[_Statement]]:
    if not ordered:
        by_kind = [[s for s in statements if s.kind == kind] for kind in _KIND_ORDER]
        return [group for group in by_kind if group]
    groups: list[list[_Statement]] = []
    for statement in statements:
        if groups and groups[-1][0].kind == statement.kind:
            groups[-1].append(statement)
        else:
            groups.append([statement])
    return groups


def _split(
    group: list[_Statement], body: Mapping[str, Any], limits: BatchLimits, opts: CodecOptions[Any]
) -> list[Batch]:
    kind = group[0].kind
    identifier = _IDENTIFIERS[kind]
    encoded_body = encode(body, False, opts)
    if len(encoded_body) > limits.max_bson_size + COMMAND_OVERHEAD:
        raise DocumentTooLarge(
            f"the {kind} command document is {len(encoded_body)} bytes (its comment or let "
            f"is too large), over the limit of {limits.max_bson_size + COMMAND_OVERHEAD} bytes"
        )
    # header, flagBits, kind-0 byte, body, kind-1 byte, section size, identifier + NUL
    fixed = HEADER_SIZE + 4 + 1 + len(encoded_body) + 1 + 4 + len(identifier) + 1
    fixed += limits.reserve
    frozen_body = MappingProxyType(body)
    batches: list[Batch] = []
    current: list[_Statement] = []
    size = 0

    def flush() -> None:
        batches.append(
            Batch(
                kind=kind,
                command=frozen_body,
                documents=tuple(s.raw for s in current),
                statements=tuple(s.document for s in current),
                indexes=tuple(s.index for s in current),
                size=size,
            )
        )

    for statement in group:
        length = len(statement.raw)
        if fixed + length > limits.max_message_size:
            raise DocumentTooLarge(
                f"operation {statement.index} ({kind}) is {length} bytes: with its command it "
                f"would make a message of {fixed + length} bytes (including {limits.reserve} "
                f"reserved), over the server's maxMessageSizeBytes of "
                f"{limits.max_message_size} bytes"
            )
        full = len(current) == limits.max_write_batch_size
        if current and (full or fixed + size + length > limits.max_message_size):
            flush()
            current, size = [], 0
        current.append(statement)
        size += length
    if current:
        flush()
    return batches


def _plan(
    items: Iterable[tuple[Kind, Any]],
    usage: _Usage,
    *,
    collection: str,
    ordered: bool,
    write_concern: WriteConcern | None,
    bypass_document_validation: bool | None,
    comment: Any,
    let: Mapping[str, Any] | None,
    limits: BatchLimits,
    codec_options: CodecOptions[Any],
    empty_error: Exception,
) -> BulkPlan:
    if not isinstance(collection, str) or not collection:
        raise TypeError("collection must be a non-empty str (the collection's name)")
    if not isinstance(ordered, bool):
        raise TypeError(f"ordered must be True or False, not {ordered!r}")
    if bypass_document_validation is not None and not isinstance(bypass_document_validation, bool):
        raise TypeError(
            f"bypass_document_validation must be True, False or None, not "
            f"{bypass_document_validation!r}"
        )
    if let is not None and not isinstance(let, Mapping):
        raise TypeError(f"let must be a mapping, not {type(let).__name__}")
    if write_concern is not None and not isinstance(write_concern, WriteConcern):
        raise TypeError(f"write_concern must be a WriteConcern, not {type(write_concern).__name__}")
    # Everything is encoded and checked before the first batch exists, so nothing is
    # sent for a bulk that cannot be sent whole.
    statements = [
        _Statement(kind, index, document, _encode(kind, index, document, limits, codec_options))
        for index, (kind, document) in enumerate(items)
    ]
    if not statements:
        raise empty_error
    batches: list[Batch] = []
    for group in _groups(statements, ordered):
        kind = group[0].kind
        body = _body(
            kind, collection, ordered, write_concern, bypass_document_validation, comment, let
        )
        batches.extend(_split(group, body, limits, codec_options))
    return BulkPlan(
        ordered=ordered,
        batches=tuple(batches),
        count=len(statements),
        retryable=usage.retryable,
        uses_collation=usage.collation,
        uses_array_filters=usage.array_filters,
        uses_hint_update=usage.hint_update,
        uses_hint_delete=usage.hint_delete,
        uses_sort=usage.sort,
        bypass_document_validation=bypass_document_validation,
    )


def plan_bulk_write(
    requests: Iterable[WriteModel],
    *,
    collection: str,
    ordered: bool = True,
    write_concern: WriteConcern | None = None,
    bypass_document_validation: bool | None = None,
    comment: Any = None,
    let: Mapping[str, Any] | None = None,
    limits: BatchLimits | None = None,
    codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS,
) -> BulkPlan:
    """Plan ``bulk_write(requests)`` on ``collection``: every batch, in sending order.

    ``write_concern`` goes into every body unless it is None or the server default
    (pass None inside a transaction, and an acknowledged one for an ordered ``w=0``
    bulk, which must stop at its first error). ``comment`` goes into every body,
    ``let`` into updates and deletes. ``InsertOne`` documents lacking ``_id`` get one,
    in place. Raises TypeError for a request that is not a write model,
    InvalidOperation for no requests, DocumentTooLarge for a document over the limits.

    >>> from driver.operations import InsertOne
    >>> plan = plan_bulk_write([InsertOne({"_id": i}) for i in range(5)], collection="c",
    ...                        limits=BatchLimits(max_write_batch_size=2))
    >>> [batch.indexes for batch in plan.batches]
    [(0, 1), (2, 3), (4,)]
    """
    usage = _Usage()
    if isinstance(requests, (Mapping, str, bytes)):
        raise TypeError(f"requests must be a list of write models, not {type(requests).__name__}")
    return _plan(
        (_statement(model, usage) for model in requests),
        usage,
        collection=collection,
        ordered=ordered,
        write_concern=write_concern,
        bypass_document_validation=bypass_document_validation,
        comment=comment,
        let=let,
        limits=limits or BatchLimits(),
        codec_options=codec_options,
        # PyMongo's type and message for bulk_write([]).
        empty_error=InvalidOperation("No operations to execute"),
    )


def plan_inserts(
    documents: Iterable[Any],
    *,
    collection: str,
    ordered: bool = True,
    write_concern: WriteConcern | None = None,
    bypass_document_validation: bool | None = None,
    comment: Any = None,
    limits: BatchLimits | None = None,
    codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS,
) -> BulkPlan:
    """Plan ``insert_many(documents)``: like :func:`plan_bulk_write` of ``InsertOne`` s.

    Each document is checked as ``InsertOne`` checks it and gets an ``_id`` in place;
    the ids are then ``[doc["_id"] for doc in documents]`` (RawBSONDocument aside).

    >>> docs = [{"_id": 1}, {"x": 2}]
    >>> plan = plan_inserts(docs, collection="c")
    >>> plan.count, plan.batches[0].identifier, "_id" in docs[1]
    (2, 'documents', True)
    """
    if isinstance(documents, (Mapping, str, bytes)):
        raise TypeError(
            f"documents must be a list of documents, not {type(documents).__name__}"
        )

    def items() -> Iterable[tuple[Kind, Any]]:
        for document in documents:
            if type(document) is dict:  # the commonest case, without the ABC checks
                if "_id" not in document:
                    document["_id"] = ObjectId()
            else:
                ensure_id(InsertOne(document).document)  # PyMongo's type check of each
            yield "insert", document

    return _plan(
        items(),
        _Usage(),
        collection=collection,
        ordered=ordered,
        write_concern=write_concern,
        bypass_document_validation=bypass_document_validation,
        comment=comment,
        let=None,
        limits=limits or BatchLimits(),
        codec_options=codec_options,
        # PyMongo's type and message for insert_many([]).
        empty_error=TypeError("documents must be a non-empty list"),
    )


# ------------------------------------------------------------------ unacknowledged


def check_unacknowledged(plan: BulkPlan, max_wire_version: int) -> None:
    """Refuse what an unacknowledged (``w=0``) bulk cannot do, before sending it.

    The server would silently ignore the problem (nobody reads the reply), so PyMongo
    refuses collation, arrayFilters, bypass_document_validation, and sort before
    MongoDB 8.0 (wire version 25); so do we, with its types.

    >>> from driver.operations import DeleteOne
    >>> plan = plan_bulk_write([DeleteOne({}, collation={"locale": "fr"})], collection="c")
    >>> check_unacknowledged(plan, 21)
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: Collation is unsupported for unacknowledged writes.
    """
    if plan.uses_collation:
        raise ConfigurationError("Collation is unsupported for unacknowledged writes.")
    if plan.uses_array_filters:
        raise ConfigurationError("arrayFilters is unsupported for unacknowledged writes.")
    if plan.uses_sort and max_wire_version < 25:
        raise ConfigurationError(
            "Must be connected to MongoDB 8.0+ to use sort on unacknowledged update commands."
        )
    if plan.bypass_document_validation:
        # PyMongo raises OperationFailure here (not ConfigurationError); kept for
        # except clauses written against it.
        raise OperationFailure(
            "Cannot set bypass_document_validation with unacknowledged write concern"
        )


# ------------------------------------------------------------------ replies

_DUPLICATE_KEY_CODES: Final = frozenset({11000, 11001, 12582})


def new_bulk_result() -> dict[str, Any]:
    """An empty ``bulk_api_result`` in PyMongo's shape.

    >>> sorted(new_bulk_result())  # doctest: +NORMALIZE_WHITESPACE
    ['nInserted', 'nMatched', 'nModified', 'nRemoved', 'nUpserted', 'upserted',
     'writeConcernErrors', 'writeErrors']
    """
    return {
        "writeErrors": [],
        "writeConcernErrors": [],
        "nInserted": 0,
        "nUpserted": 0,
        "nMatched": 0,
        "nModified": 0,
        "nRemoved": 0,
        "upserted": [],
    }


def _write_concern_error(reply: Mapping[str, Any]) -> dict[str, Any] | None:
    concern = reply.get("writeConcernError")
    if not concern:
        return None
    document = dict(concern)
    # The server puts errorLabels at the top of the reply; PyMongo moves them onto the
    # writeConcernError, where a retry decision (and BulkWriteError.details) finds them.
    labels = reply.get("errorLabels")
    if labels:
        document["errorLabels"] = list(labels)
    return document


def _position(batch: Batch, entry: Mapping[str, Any], what: str) -> int:
    position = entry.get("index")
    if isinstance(position, bool) or not isinstance(position, int):
        raise ProtocolError(f"the server reported {what} without an integer index")
    if not 0 <= position < len(batch.indexes):
        raise ProtocolError(
            f"the server reported {what} at index {position} of a batch of "
            f"{len(batch.indexes)} operations"
        )
    return position


def _merge(result: dict[str, Any], batch: Batch, reply: Mapping[str, Any]) -> None:
    affected = int(reply.get("n", 0))
    if batch.kind == "insert":
        result["nInserted"] += affected
    elif batch.kind == "delete":
        result["nRemoved"] += affected
    else:
        upserted = reply.get("upserted") or ()
        for entry in upserted:
            mapped = dict(entry)
            mapped["index"] = batch.indexes[_position(batch, entry, "an upsert")]
            result["upserted"].append(mapped)
        result["nUpserted"] += len(upserted)
        # The server's n counts upserted documents too; they matched nothing.
        result["nMatched"] += affected - len(upserted)
        result["nModified"] += int(reply.get("nModified", 0))
    for error in reply.get("writeErrors") or ():
        position = _position(batch, error, "a write error")
        mapped = dict(error)  # the reply itself stays as the server sent it
        mapped["index"] = batch.indexes[position]
        mapped["op"] = batch.statements[position]
        result["writeErrors"].append(mapped)
    concern = _write_concern_error(reply)
    if concern:
        result["writeConcernErrors"].append(concern)


def _copy_result(result: Mapping[str, Any]) -> dict[str, Any]:
    # The lists are copied, their entries shared: merging only appends and replaces.
    return {key: list(value) if isinstance(value, list) else value for key, value in result.items()}


def check_bulk_result(result: dict[str, Any]) -> None:
    """Raise BulkWriteError(result) if it holds write errors or write concern errors.

    Write errors are sorted by operation index first (an unordered bulk reports them
    kind by kind), as PyMongo does. A first write error saying the server refused a
    ``txnNumber`` (code 20) raises OperationFailure asking for ``retryWrites=false``.

    >>> result = new_bulk_result()
    >>> result["writeConcernErrors"].append({"code": 64, "errmsg": "waiting for replication timed out"})
    >>> check_bulk_result(result)
    Traceback (most recent call last):
    ...
    driver.errors.BulkWriteError: batch op errors occurred, full error: {...}
    """
    if result["writeErrors"]:
        result["writeErrors"].sort(key=lambda error: error["index"])
        first = result["writeErrors"][0]
        if first.get("code") == 20 and str(first.get("errmsg", "")).startswith(
            "Transaction numbers"
        ):
            # A server without retryable writes (a standalone, MMAPv1) refused the
            # txnNumber: say what to do, as PyMongo does.
            raise OperationFailure(
                "This MongoDB deployment does not support retryable writes. Please add "
                "retryWrites=false to your connection string.",
                20,
                result,
            )
    if result["writeErrors"] or result["writeConcernErrors"]:
        raise BulkWriteError(result)


class BulkResultMerger:
    """Folds the replies of a bulk's batches into PyMongo's ``bulk_api_result``.

    Call :meth:`merge` with each batch and its (``ok: 1``) reply, in sending order; it
    returns True when the bulk must stop there (an ordered bulk after a write error;
    a write concern error never stops it). Then :meth:`check` raises BulkWriteError
    if anything failed, and :meth:`bulk_write_result` gives the result. A reply with
    ``ok: 0`` is a command failure: raise it (``check_command_reply``), do not merge it.
    """

    __slots__ = ("_result",)

    def __init__(self) -> None:
        self._result = new_bulk_result()

    @property
    def result(self) -> dict[str, Any]:
        """The merged ``bulk_api_result`` so far (live, not a copy)."""
        return self._result

    def merge(self, batch: Batch, reply: Mapping[str, Any]) -> bool:
        """Add one batch's reply; True if the bulk must not send its next batch."""
        _merge(self._result, batch, reply)
        return batch.ordered and bool(reply.get("writeErrors"))

    def merged_copy(self, batch: Batch, reply: Mapping[str, Any]) -> dict[str, Any]:
        """The result as it would be after ``merge``, leaving this merger unchanged.

        For a reply whose write concern error is retryable: raise
        ``BulkWriteError(merged_copy(...))`` and, if the retry succeeds, merge only
        the retry's reply.
        """
        result = _copy_result(self._result)
        _merge(result, batch, reply)
        return result

    def check(self) -> None:
        """Raise BulkWriteError if any write error or write concern error was merged."""
        check_bulk_result(self._result)

    def bulk_write_result(self) -> BulkWriteResult:
        """The :class:`~driver.results.BulkWriteResult` of an acknowledged bulk."""
        return BulkWriteResult(self._result, True)


def check_write_reply(reply: Mapping[str, Any]) -> None:
    """Raise the error a single write's ``ok: 1`` reply reports, as PyMongo does.

    The last write error becomes DuplicateKeyError (code 11000) or WriteError; else a
    write concern error becomes WTimeoutError (``errInfo.wtimeout``, or code 50) or
    WriteConcernError. ``details`` is the error document itself.

    >>> check_write_reply({"n": 1, "ok": 1.0})
    >>> try:
    ...     check_write_reply({"n": 0, "ok": 1.0, "writeErrors": [
    ...         {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key error"}]})
    ... except DuplicateKeyError as exc:
    ...     print(exc.code, exc.details["errmsg"])
    11000 E11000 duplicate key error
    """
    errors = reply.get("writeErrors")
    if errors:
        error = dict(errors[-1])
        code = error.get("code")
        message = str(error.get("errmsg", "write error"))
        if code in _DUPLICATE_KEY_CODES:
            raise DuplicateKeyError(message, code, error)
        raise WriteError(message, code, error)
    concern = _write_concern_error(reply)
    if concern:
        code = concern.get("code")
        message = str(concern.get("errmsg", "write concern error"))
        if code == 50 or (concern.get("errInfo") or {}).get("wtimeout"):
            raise WTimeoutError(message, code, concern)
        raise WriteConcernError(message, code, concern)
