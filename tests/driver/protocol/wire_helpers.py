"""Builders shared by the wire protocol tests: raw frames, sections, a drain-all reader."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from driver.bson import DEFAULT_CODEC_OPTIONS, encode
from driver.errors import ProtocolError
from driver.protocol.wire import (
    OP_MSG,
    Message,
    MessageReader,
    parse_message,
)

OPTS = DEFAULT_CODEC_OPTIONS
PING = {"ping": 1, "$db": "admin"}


def frame(body: bytes, op_code: int = OP_MSG, request_id: int = 1, response_to: int = 0) -> bytes:
    """A message with a correct header around ``body``."""
    return struct.pack("<iiii", 16 + len(body), request_id, response_to, op_code) + body


def op_msg_body(*sections: bytes, flags: int = 0) -> bytes:
    return struct.pack("<I", flags) + b"".join(sections)


def kind0(document: dict[str, Any]) -> bytes:
    return b"\x00" + encode(document)


def kind1(identifier: str, documents: list[dict[str, Any]]) -> bytes:
    payload = identifier.encode() + b"\x00" + b"".join(encode(d) for d in documents)
    return b"\x01" + struct.pack("<i", 4 + len(payload)) + payload


def read_all(data: bytes, chunk: int | None = None, **options: Any) -> list[Message]:
    reader = MessageReader(**options)
    messages: list[Message] = []
    step = chunk or len(data) or 1
    for start in range(0, len(data), step):
        reader.feed(data[start : start + step])
        while (message := reader.next_message()) is not None:
            messages.append(message)
    assert reader.bytes_needed() == 16
    return messages


def parse(data: bytes, **options: Any) -> Message:
    return parse_message(data[:16], data[16:], **options)


def protocol_error(data: bytes, match: str, **options: Any) -> ProtocolError:
    """Both paths (the reader and read_header + parse_message) refuse ``data``."""
    with pytest.raises(ProtocolError, match=match) as caught:
        parse(data, **options)
    reader = MessageReader(**options)
    with pytest.raises(ProtocolError, match=match):
        reader.feed(data)
        reader.next_message()
    return caught.value
