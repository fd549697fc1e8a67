"""Reading the wire: parsed message types, header checks, the sans-I/O MessageReader.

Everything here is re-exported by :mod:`driver.protocol.wire`, the public module.

Example::

    >>> from driver.protocol._wire_reader import read_header
    >>> read_header(bytes.fromhex("1a000000 07000000 00000000 dd070000"))
    (26, 7, 0, 2013)
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from driver.bson import decode
from driver.bson.codec_options import CodecOptions
from driver.errors import CursorNotFound, OperationFailure, ProtocolError
from driver.protocol._wire_common import (
    _D,
    _KNOWN_REQUIRED,
    _OP_NAMES,
    _REQUIRED_BITS,
    CHECKSUM_PRESENT,
    DEFAULT_MAX_MESSAGE_SIZE,
    EXHAUST_ALLOWED,
    HEADER_SIZE,
    MORE_TO_COME,
    OP_COMPRESSED,
    OP_MSG,
    OP_QUERY,
    OP_REPLY,
    REPLY_CURSOR_NOT_FOUND,
    REPLY_QUERY_FAILURE,
    Side,
    _compressed_prefix,
    _header,
    _int32,
    _reply_prefix,
    _uint32,
)
from driver.protocol.compression import decompress
from driver.protocol.crc32c import crc32c

__all__ = [
    "Message",
    "MessageReader",
    "OpMsg",
    "OpQuery",
    "OpReply",
    "check_response_to",
    "decode_command_reply",
    "parse_message",
    "read_header",
]

# ------------------------------------------------------------------ parsed messages


@dataclass(frozen=True, slots=True)
class OpMsg:
    """A parsed OP_MSG. ``body`` is the raw BSON of the kind-0 section, for the caller to
    decode with its own codec options; ``sequences`` maps each kind-1 identifier to its
    raw documents. ``compressor_id`` says which compressor it came in (None: plain).
    """

    request_id: int
    response_to: int
    flags: int
    body: bytes
    sequences: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)
    compressor_id: int | None = None
    op_code: ClassVar[int] = OP_MSG

    @property
    def more_to_come(self) -> bool:
        """The sender will send another message without waiting (exhaust, w:0)."""
        return bool(self.flags & MORE_TO_COME)

    @property
    def exhaust_allowed(self) -> bool:
        """The (request's) sender accepts several replies in a row."""
        return bool(self.flags & EXHAUST_ALLOWED)

    @property
    def checksum_present(self) -> bool:
        """The message carried a CRC-32C (already verified)."""
        return bool(self.flags & CHECKSUM_PRESENT)


@dataclass(frozen=True, slots=True)
class OpReply:
    """A parsed OP_REPLY (the answer to the legacy OP_QUERY handshake); raw documents."""

    request_id: int
    response_to: int
    flags: int
    cursor_id: int
    starting_from: int
    documents: tuple[bytes, ...]
    compressor_id: int | None = None
    op_code: ClassVar[int] = OP_REPLY
    more_to_come: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class OpQuery:
    """A parsed OP_QUERY, as a server sees a legacy handshake (``side="server"`` only)."""

    request_id: int
    response_to: int
    flags: int
    collection: str
    number_to_skip: int
    number_to_return: int
    query: bytes
    fields: bytes | None = None
    compressor_id: int | None = None
    op_code: ClassVar[int] = OP_QUERY
    more_to_come: ClassVar[bool] = False


Message: TypeAlias = OpMsg | OpReply | OpQuery

# ------------------------------------------------------------------ parsing


def _peer_hint(head: bytes) -> str:
    if head.startswith(b"HTTP"):  # four bytes are enough to tell
        return (
            f"the peer answered in HTTP ({head!r}), so the address is not a MongoDB "
            "server: check the host and port"
        )
    return f"the peer does not look like a MongoDB server (it sent {head!r})"


def _check_length(length: int, max_message_size: int, head: bytes) -> None:
    if length < HEADER_SIZE:
        raise ProtocolError(
            f"message length {length} is less than the 16-byte header: {_peer_hint(head)}"
        )
    if length > max_message_size:
        raise ProtocolError(
            f"message length {length} is over the limit of {max_message_size} bytes: "
            f"{_peer_hint(head)}"
        )


def read_header(
    header: bytes, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
) -> tuple[int, int, int, int]:
    """Check a 16-byte header: ``(length, request_id, response_to, op_code)``.

    ProtocolError if ``length`` is below 16 or above ``max_message_size``, or the
    opcode is not one a driver speaks; the body (``length - 16`` bytes) comes next.

    >>> read_header(bytes.fromhex("1a000000 07000000 00000000 dd070000"))
    (26, 7, 0, 2013)
    >>> read_header(b"HTTP/1.1 400 Bad")
    Traceback (most recent call last):
    ...
    driver.errors.ProtocolError: message length 1347703880 is over the limit of 48000000 bytes: the peer answered in HTTP (b'HTTP/1.1 400 Bad'), so the address is not a MongoDB server: check the host and port
    """
    if len(header) != HEADER_SIZE:
        raise ProtocolError(f"a message header is 16 bytes, not {len(header)}")
    length, request_id, response_to, op_code = _header.unpack_from(header, 0)
    _check_length(length, max_message_size, bytes(header))
    if op_code not in _OP_NAMES:
        raise ProtocolError(f"unknown opcode {op_code}: {_peer_hint(bytes(header))}")
    return length, request_id, response_to, op_code


def _document_at(data: bytes, position: int, end: int, what: str) -> int:
    """The end offset of the BSON document at ``position``; its envelope must fit."""
    if position + 5 > end:
        raise ProtocolError(f"{what} is truncated: {end - position} bytes left for a document")
    size: int = _int32.unpack_from(data, position)[0]
    if size < 5 or size > end - position:
        raise ProtocolError(f"{what} declares {size} bytes but {end - position} remain")
    if data[position + size - 1] != 0:
        raise ProtocolError(f"{what} does not end with a NUL byte")
    return position + size


def _parse_op_msg(
    header: bytes, body: bytes, request_id: int, response_to: int, compressor_id: int | None
) -> OpMsg:
    end = len(body)
    if end < 5:
        raise ProtocolError(
            f"OP_MSG of {end + HEADER_SIZE} bytes is too short for flags and a section"
        )
    flags: int = _uint32.unpack_from(body, 0)[0]
    unknown = flags & _REQUIRED_BITS & ~_KNOWN_REQUIRED
    if unknown:
        raise ProtocolError(f"OP_MSG sets unknown required flag bits {unknown:#06x}")
    if flags & CHECKSUM_PRESENT:
        if end < 9:
            raise ProtocolError("OP_MSG has the checksum flag but no room for a checksum")
        end -= 4
        declared: int = _uint32.unpack_from(body, end)[0]
        actual = crc32c(memoryview(body)[:end], crc32c(header))
        if declared != actual:
            raise ProtocolError(
                f"OP_MSG checksum mismatch: it carries {declared:#010x}, its bytes give "
                f"{actual:#010x} (corrupted in transit?)"
            )
    document: bytes | None = None
    sequences: dict[str, tuple[bytes, ...]] = {}
    position = 4
    while position < end:
        kind = body[position]
        position += 1
        if kind == 0:
            stop = _document_at(body, position, end, "the OP_MSG body section")
            if document is not None:
                raise ProtocolError("OP_MSG has two body (kind 0) sections")
            document = body[position:stop]
            position = stop
        elif kind == 1:
            if position + 4 > end:
                raise ProtocolError("OP_MSG document sequence section is truncated")
            size: int = _int32.unpack_from(body, position)[0]
            if size < 5 or size > end - position:
                raise ProtocolError(
                    f"OP_MSG document sequence declares {size} bytes but {end - position} remain"
                )
            section_end = position + size
            nul = body.find(b"\x00", position + 4, section_end)
            if nul < 0:
                raise ProtocolError("OP_MSG document sequence identifier has no terminating NUL")
            try:
                identifier = body[position + 4 : nul].decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("OP_MSG document sequence identifier is not UTF-8") from None
            if identifier in sequences:
                raise ProtocolError(f"OP_MSG has two document sequences named {identifier!r}")
            documents: list[bytes] = []
            cursor = nul + 1
            while cursor < section_end:
                stop = _document_at(
                    body, cursor, section_end, f"a document of sequence {identifier!r}"
                )
                documents.append(body[cursor:stop])
                cursor = stop
            sequences[identifier] = tuple(documents)
            position = section_end
        else:
            raise ProtocolError(f"OP_MSG has a section of unknown kind {kind}")
    if document is None:
        raise ProtocolError("OP_MSG has no body (kind 0) section")
    return OpMsg(request_id, response_to, flags, document, sequences, compressor_id)


def _parse_op_reply(
    body: bytes, request_id: int, response_to: int, compressor_id: int | None
) -> OpReply:
    if len(body) < _reply_prefix.size:
        raise ProtocolError(
            f"OP_REPLY body of {len(body)} bytes is shorter than its 20-byte prefix"
        )
    flags, cursor_id, starting_from, count = _reply_prefix.unpack_from(body, 0)
    documents: list[bytes] = []
    position = _reply_prefix.size
    while position < len(body):
        stop = _document_at(body, position, len(body), "an OP_REPLY document")
        documents.append(body[position:stop])
        position = stop
    if count != len(documents):
        raise ProtocolError(
            f"OP_REPLY says it returns {count} documents but carries {len(documents)}"
        )
    return OpReply(
        request_id, response_to, flags, cursor_id, starting_from, tuple(documents), compressor_id
    )


def _parse_op_query(
    body: bytes, request_id: int, response_to: int, compressor_id: int | None
) -> OpQuery:
    end = len(body)
    nul = body.find(b"\x00", 4)
    if end < 4 or nul < 0:
        raise ProtocolError("OP_QUERY is truncated before its collection name ends")
    try:
        collection = body[4:nul].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("OP_QUERY collection name is not UTF-8") from None
    position = nul + 1
    if position + 8 > end:
        raise ProtocolError("OP_QUERY is truncated before its query document")
    flags: int = _int32.unpack_from(body, 0)[0]
    skip, count = struct.unpack_from("<ii", body, position)
    position += 8
    stop = _document_at(body, position, end, "the OP_QUERY query document")
    query = body[position:stop]
    fields = None
    if stop < end:
        last = _document_at(body, stop, end, "the OP_QUERY field selector")
        if last != end:
            raise ProtocolError(f"OP_QUERY has {end - last} stray bytes after its documents")
        fields = body[stop:last]
    return OpQuery(
        request_id, response_to, flags, collection, skip, count, query, fields, compressor_id
    )


_ACCEPTED: dict[str, frozenset[int]] = {
    "client": frozenset({OP_MSG, OP_REPLY}),
    "server": frozenset({OP_MSG, OP_QUERY}),
}


def parse_message(
    header: bytes,
    body: bytes,
    *,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    side: Side = "client",
) -> Message:
    """Parse one message from its 16-byte header and its body (the other length-16 bytes).

    OP_COMPRESSED is undone (its declared size checked against ``max_message_size``
    first). A client accepts OP_MSG and OP_REPLY; a server (``side="server"``, the
    test mock) accepts OP_MSG and OP_QUERY. Anything malformed is a ProtocolError.

    >>> from driver.bson import DEFAULT_CODEC_OPTIONS as opts
    >>> from driver.protocol.wire import encode_op_msg
    >>> data = encode_op_msg(3, {"ok": 1}, codec_options=opts, checksum=True)
    >>> message = parse_message(data[:16], data[16:])
    >>> message.request_id, message.checksum_present, message.sequences
    (3, True, {})
    """
    fields = read_header(header, max_message_size=max_message_size)
    if len(body) != fields[0] - HEADER_SIZE:
        raise ProtocolError(
            f"message body is {len(body)} bytes but its header declares {fields[0] - HEADER_SIZE}"
        )
    if side not in _ACCEPTED:
        raise ValueError(f"side must be 'client' or 'server', not {side!r}")
    return _parse_checked(bytes(header), bytes(body), fields, max_message_size, side)


def _parse_checked(
    header: bytes,
    body: bytes,
    fields: tuple[int, int, int, int],
    max_message_size: int,
    side: Side,
) -> Message:
    """Parse a message whose header :func:`read_header` accepted and whose body fits it."""
    _, request_id, response_to, op_code = fields
    accepted = _ACCEPTED[side]
    compressor_id: int | None = None
    if op_code == OP_COMPRESSED:
        if len(body) < _compressed_prefix.size:
            raise ProtocolError("OP_COMPRESSED is too short for its 9-byte prefix")
        op_code, size, compressor_id = _compressed_prefix.unpack_from(body, 0)
        if op_code not in accepted:
            raise ProtocolError(
                f"OP_COMPRESSED wraps opcode {op_code}, which a {side} does not accept"
            )
        if size < 0:
            raise ProtocolError(f"OP_COMPRESSED declares a negative size ({size} bytes)")
        if size > max_message_size - HEADER_SIZE:
            # Checked before decompressing: the declared size bounds every allocation.
            raise ProtocolError(
                f"OP_COMPRESSED declares {size} bytes uncompressed, over the limit of "
                f"{max_message_size} bytes for a message"
            )
        body = decompress(compressor_id, body[_compressed_prefix.size :], size)
        # The checksum (if any) covers the original header, which compression replaced.
        header = _header.pack(size + HEADER_SIZE, request_id, response_to, op_code)
    elif op_code not in accepted:
        raise ProtocolError(f"a {side} does not accept {_OP_NAMES[op_code]} messages")
    if op_code == OP_MSG:
        return _parse_op_msg(header, body, request_id, response_to, compressor_id)
    if op_code == OP_REPLY:
        return _parse_op_reply(body, request_id, response_to, compressor_id)
    return _parse_op_query(body, request_id, response_to, compressor_id)


def check_response_to(message: Message, request_id: int) -> None:
    """ProtocolError unless ``message`` answers request ``request_id``.

    >>> check_response_to(OpReply(9, 4, 0, 0, 0, ()), 5)
    Traceback (most recent call last):
    ...
    driver.errors.ProtocolError: got a reply to request 4 while waiting for the reply to request 5
    """
    if message.response_to != request_id:
        raise ProtocolError(
            f"got a reply to request {message.response_to} while waiting for the reply to "
            f"request {request_id}"
        )


class MessageReader:
    """Turns the bytes a connection receives into whole messages (sans-I/O, like h11).

    ``feed`` whatever arrived, then call ``next_message`` until it returns None (more
    bytes needed). ``bytes_needed()`` says how many more to read for progress. The
    length of each message is checked (at 4 bytes) before its body is awaited, and
    nothing larger than ``max_message_size`` is ever accepted; update that attribute
    from the hello reply's ``maxMessageSizeBytes``. After a ProtocolError the reader
    stays failed: close the connection.

    ``expect_response_to(request_id)`` makes the next message a checked reply to that
    request; while replies carry moreToCome (exhaust), each next one must answer the
    previous reply, as the spec says.

    >>> reader = MessageReader()
    >>> reader.feed(b"HTTP/1.1 400 Bad Request\\r\\n")
    Traceback (most recent call last):
    ...
    driver.errors.ProtocolError: message length 1347703880 is over the limit of 48000000 bytes: the peer answered in HTTP (b'HTTP/1.1 400 Bad'), so the address is not a MongoDB server: check the host and port
    """

    def __init__(
        self, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, side: Side = "client"
    ) -> None:
        if side not in _ACCEPTED:
            raise ValueError(f"side must be 'client' or 'server', not {side!r}")
        self._side: Side = side
        self._buffer = bytearray()
        self._expected: int | None = None
        self._failure: str | None = None
        # The buffered message's validated header, kept so it is checked only once.
        self._fields: tuple[int, int, int, int] | None = None
        self._max_message_size = DEFAULT_MAX_MESSAGE_SIZE
        self.max_message_size = max_message_size

    @property
    def max_message_size(self) -> int:
        """The largest message accepted, header included (the server's maxMessageSizeBytes)."""
        return self._max_message_size

    @max_message_size.setter
    def max_message_size(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < HEADER_SIZE:
            raise ValueError(f"max_message_size must be an int of at least 16, not {value!r}")
        self._max_message_size = value
        self._fields = None  # a header already buffered is checked again, against the new limit

    def _fail(self, error: ProtocolError) -> ProtocolError:
        self._failure = str(error)
        self._buffer.clear()  # nothing after a framing error can be trusted
        self._fields = None
        return error

    def _check_failed(self) -> None:
        if self._failure is not None:
            raise ProtocolError(f"the connection's stream is broken: {self._failure}")

    def _check_head(self) -> int | None:
        """The buffered message's length once its header is complete and valid."""
        if self._fields is not None:
            return self._fields[0]
        buffer = self._buffer
        if len(buffer) < 4:
            return None
        head = bytes(buffer[:HEADER_SIZE])
        if len(buffer) < HEADER_SIZE:
            _check_length(_int32.unpack_from(head, 0)[0], self.max_message_size, head)
            return None
        self._fields = read_header(head, max_message_size=self.max_message_size)
        return self._fields[0]

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes; ProtocolError at once if a header is already bad."""
        self._check_failed()
        self._buffer += data
        try:
            self._check_head()
        except ProtocolError as exc:
            raise self._fail(exc) from None

    def bytes_needed(self) -> int:
        """How many more bytes the next message needs (0: one is ready to take)."""
        self._check_failed()
        try:
            length = self._check_head()
        except ProtocolError as exc:
            raise self._fail(exc) from None
        if length is None:
            return HEADER_SIZE - len(self._buffer)
        return max(length - len(self._buffer), 0)

    def expect_response_to(self, request_id: int | None) -> None:
        """Check that the next message answers ``request_id`` (None: stop checking)."""
        self._expected = request_id

    def next_message(self) -> Message | None:
        """The next whole message, or None until more bytes are fed."""
        self._check_failed()
        try:
            length = self._check_head()
            if length is None or len(self._buffer) < length:
                return None
            fields, self._fields = self._fields, None
            assert fields is not None  # set by _check_head
            header = bytes(self._buffer[:HEADER_SIZE])
            body = bytes(self._buffer[HEADER_SIZE:length])
            del self._buffer[:length]
            message = _parse_checked(header, body, fields, self.max_message_size, self._side)
            if self._expected is not None:
                check_response_to(message, self._expected)
                self._expected = message.request_id if message.more_to_come else None
        except ProtocolError as exc:
            raise self._fail(exc) from None
        return message


# ------------------------------------------------------------------ decoding replies


def _merge_sequences(body: bytes, sequences: Mapping[str, tuple[bytes, ...]]) -> bytes:
    """The body with each sequence appended as an array field, as BSON bytes."""
    out = bytearray(body[:-1])
    for identifier, documents in sequences.items():
        array = bytearray(4)
        for index, raw in enumerate(documents):
            array += b"\x03" + str(index).encode() + b"\x00" + raw
        array += b"\x00"
        _int32.pack_into(array, 0, len(array))
        out += b"\x04" + identifier.encode("utf-8") + b"\x00" + array
    out += b"\x00"
    _int32.pack_into(out, 0, len(out))
    return bytes(out)


def decode_command_reply(message: Message, codec_options: CodecOptions[_D]) -> _D:
    """The command document a message carries, decoded with ``codec_options``.

    OP_MSG: the body, with any document sequences added as arrays (identifier as the
    field name). OP_REPLY: the first document; a QueryFailure flag raises
    OperationFailure (``$err``, ``code``) and CursorNotFound raises CursorNotFound, as
    PyMongo does. OP_QUERY (server side): the query. Bad BSON raises InvalidBSON.

    >>> from driver.bson import DEFAULT_CODEC_OPTIONS as opts, encode
    >>> decode_command_reply(OpReply(1, 2, 0, 0, 0, (encode({"ok": 1}),)), opts)
    {'ok': 1}
    """
    if isinstance(message, OpMsg):
        raw = (
            _merge_sequences(message.body, message.sequences) if message.sequences else message.body
        )
        return decode(raw, codec_options)
    if isinstance(message, OpQuery):
        return decode(message.query, codec_options)
    if message.flags & REPLY_CURSOR_NOT_FOUND:
        raise CursorNotFound(f"cursor id {message.cursor_id} not found", 43)
    if not message.documents:
        raise ProtocolError("OP_REPLY carries no document")
    if message.flags & REPLY_QUERY_FAILURE:
        error = decode(message.documents[0])
        raise OperationFailure(str(error.get("$err", "query failure")), error.get("code"), error)
    return decode(message.documents[0], codec_options)
