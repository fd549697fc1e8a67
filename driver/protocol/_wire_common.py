"""Wire protocol constants shared by the encoders and the reader (see :mod:`.wire`).

Opcodes, flag bits and default size limits, re-exported by :mod:`driver.protocol.wire`.

Example::

    >>> from driver.protocol._wire_common import MORE_TO_COME, OP_MSG
    >>> OP_MSG, MORE_TO_COME
    (2013, 2)
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, TypeVar

HEADER_SIZE = 16
OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013
_OP_NAMES = {
    OP_REPLY: "OP_REPLY",
    OP_QUERY: "OP_QUERY",
    OP_COMPRESSED: "OP_COMPRESSED",
    OP_MSG: "OP_MSG",
}

# OP_MSG flag bits. The low 16 are "required": an unknown one set is an error.
CHECKSUM_PRESENT = 1 << 0
MORE_TO_COME = 1 << 1
EXHAUST_ALLOWED = 1 << 16
_REQUIRED_BITS = 0xFFFF
_KNOWN_REQUIRED = CHECKSUM_PRESENT | MORE_TO_COME
_REQUEST_FLAGS = CHECKSUM_PRESENT | MORE_TO_COME | EXHAUST_ALLOWED

# OP_REPLY responseFlags and the one OP_QUERY flag a handshake may use.
REPLY_CURSOR_NOT_FOUND = 1 << 0
REPLY_QUERY_FAILURE = 1 << 1
REPLY_SHARD_CONFIG_STALE = 1 << 2
REPLY_AWAIT_CAPABLE = 1 << 3
QUERY_SECONDARY_OK = 1 << 2

#: The server's default ``maxMessageSizeBytes``, used until a hello says otherwise.
DEFAULT_MAX_MESSAGE_SIZE = 48_000_000
#: The server's default ``maxBsonObjectSize``.
DEFAULT_MAX_BSON_SIZE = 16 * 1024 * 1024
#: How far a command document may exceed ``maxBsonObjectSize``: the server accepts
#: commands up to its internal limit, 16 KiB more, so a document of the full user size
#: still fits inside an ``update`` or ``findAndModify``.
COMMAND_OVERHEAD = 16 * 1024

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_header = struct.Struct("<iiii")
_int32 = struct.Struct("<i")
_uint32 = struct.Struct("<I")
_msg_prefix = struct.Struct("<IB")  # flagBits + the body section's kind byte
_compressed_prefix = struct.Struct("<iiB")  # originalOpcode, uncompressedSize, compressorId
_reply_prefix = struct.Struct("<iqii")  # responseFlags, cursorID, startingFrom, numberReturned

_D = TypeVar("_D", bound=Mapping[str, Any])
#: A document to send: a mapping, or BSON already encoded (bytes or RawBSONDocument).
Document: TypeAlias = Mapping[str, Any] | bytes | bytearray | memoryview
#: Which end reads: a client takes OP_MSG/OP_REPLY, a server (the test mock) OP_MSG/OP_QUERY.
Side: TypeAlias = Literal["client", "server"]
