"""MongoDB's wire protocol, sans-I/O: messages to bytes, bytes to messages.

Requests: :func:`encode_op_msg` (every command), :func:`encode_op_query` (only the
first ``hello`` on a connection to a server of unknown version), and
:func:`compress_message` to wrap either in OP_COMPRESSED. Replies: a
:class:`MessageReader` is fed bytes as they arrive and hands back whole, checked
messages (:class:`OpMsg`, or :class:`OpReply` for the legacy handshake), undoing
OP_COMPRESSED on the way; :func:`decode_command_reply` turns one into a document.
Shells that read exactly instead call :func:`read_header` on 16 bytes, read the rest,
and call :func:`parse_message`.

Anything a peer sends that is not a well-formed message for us (a bad length, an
unknown opcode or section, a wrong checksum, a reply to another request...) raises
:class:`~driver.errors.ProtocolError`: the connection must then be closed. A length is
checked against ``max_message_size`` before a single byte of the body is awaited, so a
peer that is not MongoDB (say an HTTP server) fails at once rather than after 1 GB.

Example::

    >>> from driver.bson import DEFAULT_CODEC_OPTIONS
    >>> from driver.protocol.wire import MessageReader, decode_command_reply, encode_op_msg
    >>> request = encode_op_msg(7, {"ping": 1, "$db": "admin"}, codec_options=DEFAULT_CODEC_OPTIONS)
    >>> reply = encode_op_msg(8, {"ok": 1.0}, response_to=7, codec_options=DEFAULT_CODEC_OPTIONS)
    >>> reader = MessageReader()
    >>> reader.expect_response_to(7)
    >>> reader.feed(reply[:10]); reader.next_message() is None
    True
    >>> reader.feed(reply[10:]); message = reader.next_message()
    >>> message.response_to, decode_command_reply(message, DEFAULT_CODEC_OPTIONS)
    (7, {'ok': 1.0})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from driver.bson import encode
from driver.bson.codec_options import CodecOptions
from driver.bson.raw_bson import RawBSONDocument
from driver.errors import DocumentTooLarge, InvalidDocument, InvalidStringData
from driver.protocol._wire_common import (
    _INT32_MAX,
    _INT32_MIN,
    _REQUEST_FLAGS,
    CHECKSUM_PRESENT,
    COMMAND_OVERHEAD,
    DEFAULT_MAX_BSON_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    EXHAUST_ALLOWED,
    HEADER_SIZE,
    MORE_TO_COME,
    OP_COMPRESSED,
    OP_MSG,
    OP_QUERY,
    OP_REPLY,
    QUERY_SECONDARY_OK,
    REPLY_AWAIT_CAPABLE,
    REPLY_CURSOR_NOT_FOUND,
    REPLY_QUERY_FAILURE,
    REPLY_SHARD_CONFIG_STALE,
    Document,
    Side,
    _compressed_prefix,
    _header,
    _int32,
    _msg_prefix,
    _reply_prefix,
    _uint32,
)
from driver.protocol._wire_reader import (
    Message,
    MessageReader,
    OpMsg,
    OpQuery,
    OpReply,
    check_response_to,
    decode_command_reply,
    parse_message,
    read_header,
)
from driver.protocol.compression import COMPRESSOR_IDS, compress, may_compress
from driver.protocol.crc32c import crc32c

__all__ = [
    "CHECKSUM_PRESENT",
    "COMMAND_OVERHEAD",
    "DEFAULT_MAX_BSON_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "EXHAUST_ALLOWED",
    "HEADER_SIZE",
    "MORE_TO_COME",
    "OP_COMPRESSED",
    "OP_MSG",
    "OP_QUERY",
    "OP_REPLY",
    "QUERY_SECONDARY_OK",
    "REPLY_AWAIT_CAPABLE",
    "REPLY_CURSOR_NOT_FOUND",
    "REPLY_QUERY_FAILURE",
    "REPLY_SHARD_CONFIG_STALE",
    "Document",
    "Message",
    "MessageReader",
    "OpMsg",
    "OpQuery",
    "OpReply",
    "Side",
    "check_response_to",
    "compress_message",
    "decode_command_reply",
    "encode_op_msg",
    "encode_op_query",
    "encode_op_reply",
    "may_compress",
    "parse_message",
    "read_header",
]

# ------------------------------------------------------------------ encoding


def _check_int32(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise ValueError(f"{name} must fit in a signed 32-bit int, not {value}")


def _cstring(value: str, name: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidDocument(f"{name} must not contain a NUL character: {value!r}")
    try:
        return value.encode("utf-8") + b"\x00"
    except UnicodeEncodeError:  # a lone surrogate
        raise InvalidStringData(f"{name} is not valid UTF-8: {value!r}") from None


def _to_bson(document: Document, codec_options: CodecOptions[Any], what: str) -> bytes:
    if isinstance(document, RawBSONDocument):
        return document.raw
    if isinstance(document, (bytes, bytearray, memoryview)):
        raw = bytes(document)
        # Cheap envelope check only: pre-encoded BSON is trusted to be valid inside.
        if len(raw) < 5 or _int32.unpack_from(raw, 0)[0] != len(raw) or raw[-1] != 0:
            raise InvalidDocument(f"{what} is given as bytes that are not one BSON document")
        return raw
    if not isinstance(document, Mapping):
        raise TypeError(f"{what} must be a mapping or BSON bytes, not {type(document).__name__}")
    return encode(document, codec_options=codec_options)


def _check_message_size(size: int, limit: int, max_message_size: int | None) -> None:
    if size > limit:
        if max_message_size is not None and max_message_size <= _INT32_MAX:
            raise DocumentTooLarge(
                f"the OP_MSG is {size} bytes, over the server's maxMessageSizeBytes of "
                f"{max_message_size} bytes"
            )
        raise DocumentTooLarge(f"the OP_MSG is {size} bytes, over the wire protocol's 2 GiB limit")


def _finish(
    parts: list[bytes], size: int, request_id: int, response_to: int, op_code: int
) -> bytes:
    parts[0] = _header.pack(size, request_id, response_to, op_code)
    return b"".join(parts)


def encode_op_msg(
    request_id: int,
    command: Document,
    *,
    sequences: Mapping[str, Iterable[Document]] | None = None,
    flags: int = 0,
    codec_options: CodecOptions[Any],
    max_bson_size: int | None = None,
    max_message_size: int | None = None,
    checksum: bool = False,
    response_to: int = 0,
) -> bytes:
    """Encode an OP_MSG: ``command`` as the body section, ``sequences`` as kind-1 sections.

    ``command`` (a mapping, or pre-encoded BSON bytes / RawBSONDocument) must already
    hold ``$db`` and every other global argument. ``sequences`` maps an identifier such
    as ``"documents"`` to the documents to send outside the command. ``flags`` may set
    MORE_TO_COME and EXHAUST_ALLOWED; ``checksum=True`` appends a CRC-32C and sets
    CHECKSUM_PRESENT. ``response_to`` is for servers (the test mock) answering a request.

    DocumentTooLarge when a sequence document exceeds ``max_bson_size`` (the command
    may exceed it by COMMAND_OVERHEAD, as the server allows) or the whole message
    exceeds ``max_message_size``; the message gives both sizes, never the document.

    >>> from driver.bson import DEFAULT_CODEC_OPTIONS as opts
    >>> data = encode_op_msg(1, {"insert": "c", "$db": "test"},
    ...                      sequences={"documents": [{"_id": 1}]}, codec_options=opts)
    >>> len(data), data[12:16]
    (83, b'\\xdd\\x07\\x00\\x00')
    >>> encode_op_msg(2, {"_id": "x" * 100}, codec_options=opts, max_message_size=64)
    Traceback (most recent call last):
    ...
    driver.errors.DocumentTooLarge: the OP_MSG is 136 bytes, over the server's maxMessageSizeBytes of 64 bytes
    """
    _check_int32(request_id, "request_id")
    _check_int32(response_to, "response_to")
    if isinstance(flags, bool) or not isinstance(flags, int) or flags & ~_REQUEST_FLAGS:
        raise ValueError(
            f"OP_MSG flags may only set MORE_TO_COME and EXHAUST_ALLOWED (or CHECKSUM_PRESENT), "
            f"not {flags!r}"
        )
    if checksum:
        flags |= CHECKSUM_PRESENT
    body = _to_bson(command, codec_options, "the command document")
    if max_bson_size is not None and len(body) > max_bson_size + COMMAND_OVERHEAD:
        raise DocumentTooLarge(
            f"the command document is {len(body)} bytes, over the limit of "
            f"{max_bson_size + COMMAND_OVERHEAD} bytes (maxBsonObjectSize {max_bson_size} "
            f"+ {COMMAND_OVERHEAD} for the command)"
        )
    limit = _INT32_MAX if max_message_size is None else min(max_message_size, _INT32_MAX)
    parts = [b"", _msg_prefix.pack(flags, 0), body]
    # The checksum's 4 bytes are counted from the start, so every check sees the total.
    size = HEADER_SIZE + 5 + len(body) + (4 if flags & CHECKSUM_PRESENT else 0)
    _check_message_size(size, limit, max_message_size)
    for identifier, documents in (sequences or {}).items():
        if isinstance(documents, (Mapping, str, bytes, bytearray, memoryview)):
            # A lone document here would otherwise be iterated key by key.
            raise TypeError(
                f"sequence {identifier!r} must be a list of documents, not a "
                f"{type(documents).__name__}"
            )
        name = _cstring(identifier, "a document sequence identifier")
        parts.append(b"")  # the section's prefix, once its size is known
        prefix_index = len(parts) - 1
        section = 4 + len(name)
        for index, doc in enumerate(documents):
            raw = _to_bson(doc, codec_options, f"a document of sequence {identifier!r}")
            if max_bson_size is not None and len(raw) > max_bson_size:
                raise DocumentTooLarge(
                    f"the document at index {index} of sequence {identifier!r} is "
                    f"{len(raw)} bytes, over the server's maxBsonObjectSize of "
                    f"{max_bson_size} bytes"
                )
            section += len(raw)
            # Checked per document: a huge batch fails before it is all encoded.
            _check_message_size(size + 1 + section, limit, max_message_size)
            parts.append(raw)
        parts[prefix_index] = b"\x01" + _int32.pack(section) + name
        size += 1 + section
    message = _finish(parts, size, request_id, response_to, OP_MSG)
    if flags & CHECKSUM_PRESENT:
        message += _uint32.pack(crc32c(message))
    return message


def encode_op_query(
    request_id: int,
    collection_full_name: str,
    query: Document,
    *,
    flags: int = 0,
    number_to_skip: int = 0,
    number_to_return: int = -1,
    codec_options: CodecOptions[Any],
) -> bytes:
    """Encode a legacy OP_QUERY: only for the first hello to a server of unknown version.

    ``collection_full_name`` is ``"admin.$cmd"`` for a command; ``number_to_return``
    of -1 asks for a single reply document and no cursor.

    >>> from driver.bson import DEFAULT_CODEC_OPTIONS as opts
    >>> data = encode_op_query(1, "admin.$cmd", {"isMaster": 1}, codec_options=opts)
    >>> len(data), data[20:31]
    (58, b'admin.$cmd\\x00')
    """
    _check_int32(request_id, "request_id")
    for value, name in (
        (flags, "flags"),
        (number_to_skip, "number_to_skip"),
        (number_to_return, "number_to_return"),
    ):
        _check_int32(value, name)
    name_bytes = _cstring(collection_full_name, "collection_full_name")
    document = _to_bson(query, codec_options, "the query document")
    parts = [
        b"",
        _int32.pack(flags),
        name_bytes,
        _int32.pack(number_to_skip),
        _int32.pack(number_to_return),
        document,
    ]
    size = HEADER_SIZE + 12 + len(name_bytes) + len(document)
    return _finish(parts, size, request_id, 0, OP_QUERY)


def encode_op_reply(
    request_id: int,
    response_to: int,
    documents: Iterable[Document],
    *,
    flags: int = 0,
    cursor_id: int = 0,
    starting_from: int = 0,
    codec_options: CodecOptions[Any],
) -> bytes:
    """Encode a legacy OP_REPLY, as a server answers OP_QUERY (for the test mock server).

    >>> from driver.bson import DEFAULT_CODEC_OPTIONS as opts
    >>> len(encode_op_reply(2, 1, [{"ok": 1.0}], codec_options=opts))
    53
    """
    _check_int32(request_id, "request_id")
    _check_int32(response_to, "response_to")
    _check_int32(flags, "flags")
    encoded = [_to_bson(doc, codec_options, "a reply document") for doc in documents]
    parts = [b"", _reply_prefix.pack(flags, cursor_id, starting_from, len(encoded)), *encoded]
    size = HEADER_SIZE + _reply_prefix.size + sum(map(len, encoded))
    return _finish(parts, size, request_id, response_to, OP_REPLY)


def compress_message(message: bytes, compressor: str | int, level: int = -1) -> bytes:
    """Wrap one encoded message (OP_MSG, OP_QUERY...) in OP_COMPRESSED.

    The request id and responseTo are kept, so the reply still matches the request.
    ``level`` is the zlib level (-1 to 9). Check :func:`may_compress` first: hello and
    authentication commands must travel uncompressed.

    >>> from driver.bson import DEFAULT_CODEC_OPTIONS as opts
    >>> plain = encode_op_msg(5, {"find": "c", "$db": "test"}, codec_options=opts)
    >>> packed = compress_message(plain, "zlib")
    >>> read_header(packed[:16])[1:]
    (5, 0, 2012)
    """
    if len(message) < HEADER_SIZE:
        raise ValueError("compress_message needs a whole encoded message, header included")
    length, request_id, response_to, op_code = _header.unpack_from(message, 0)
    if length != len(message):
        raise ValueError(f"the message's header says {length} bytes but {len(message)} were given")
    if op_code == OP_COMPRESSED:
        raise ValueError("the message is already compressed")
    body = bytes(message[HEADER_SIZE:])
    compressed = compress(compressor, body, level)
    number = compressor if isinstance(compressor, int) else COMPRESSOR_IDS[compressor]
    prefix = _compressed_prefix.pack(op_code, len(body), number)
    parts = [b"", prefix, compressed]
    return _finish(
        parts, HEADER_SIZE + len(prefix) + len(compressed), request_id, response_to, OP_COMPRESSED
    )
