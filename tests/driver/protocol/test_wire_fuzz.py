"""Property tests for the wire reader: whatever a peer sends, the reader either waits for
more bytes or raises ProtocolError; never another exception, never a hang (Hypothesis'
deadline), never an allocation out of proportion to the input (tracemalloc). And any
message we encode reads back as what was encoded.
"""

from __future__ import annotations

import contextlib
import struct
import tracemalloc
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from driver.bson import DEFAULT_CODEC_OPTIONS
from driver.errors import ProtocolError, PyMongoError
from driver.protocol.wire import (
    EXHAUST_ALLOWED,
    MORE_TO_COME,
    OP_COMPRESSED,
    OP_MSG,
    OP_QUERY,
    OP_REPLY,
    Message,
    MessageReader,
    OpMsg,
    compress_message,
    decode_command_reply,
    encode_op_msg,
    encode_op_query,
    encode_op_reply,
)

OPTS = DEFAULT_CODEC_OPTIONS
LIMIT = 4096  # a small max_message_size, so length fields often land on both sides of it
SETTINGS: dict[str, Any] = {
    "deadline": 2000,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

keys = st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=8)
scalars = (
    st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=20)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=False)
    | st.binary(max_size=10)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
documents = st.dictionaries(keys, values, max_size=5)
identifiers = st.text(
    st.characters(exclude_characters="\x00", codec="utf-8"), min_size=1, max_size=10
)


@st.composite
def op_msgs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], bytes]:
    command = draw(documents)
    sequences = draw(
        st.dictionaries(
            identifiers.filter(lambda name: name not in command),
            st.lists(documents, max_size=3),
            max_size=2,
        )
    )
    data = encode_op_msg(
        draw(st.integers(-(2**31), 2**31 - 1)),
        command,
        sequences=sequences,
        flags=draw(st.sampled_from([0, MORE_TO_COME, EXHAUST_ALLOWED])),
        checksum=draw(st.booleans()),
        response_to=draw(st.integers(-(2**31), 2**31 - 1)),
        codec_options=OPTS,
    )
    return command, sequences, data


@st.composite
def valid_streams(draw: st.DrawFn) -> bytes:
    """One to three valid messages (for a client), some compressed, back to back."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["msg", "reply"]))
        if kind == "msg":
            data = draw(op_msgs())[2]
        else:
            data = encode_op_reply(1, 2, draw(st.lists(documents, max_size=2)), codec_options=OPTS)
        compressor = draw(st.sampled_from([None, "zlib", "noop"]))
        parts.append(compress_message(data, compressor) if compressor else data)
    return b"".join(parts)


_INT32_EDGES = [0, 1, 4, 5, 15, 16, 17, 21, 26, LIMIT, LIMIT + 1, -1, 2**31 - 1, -(2**31)]
_OPCODES = [OP_MSG, OP_REPLY, OP_QUERY, OP_COMPRESSED, 2012 + 1, 0]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(valid_streams()))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["flip", "byte", "int32", "truncate", "insert", "delete"]))
        index = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "flip" and data:
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif operation == "byte" and data:
            data[index] = draw(st.integers(0, 255))
        elif operation == "int32":
            value = draw(
                st.sampled_from(_INT32_EDGES + _OPCODES) | st.integers(-(2**31), 2**31 - 1)
            )
            data[index : index + 4] = struct.pack("<i", value)
        elif operation == "truncate":
            del data[index:]
        elif operation == "insert":
            data[index:index] = draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del data[index : index + draw(st.integers(1, 8))]
    return bytes(data)


def _drain(data: bytes, chunks: list[int], side: Any = "client") -> list[Message]:
    """Feed ``data`` in the given chunk sizes; only ProtocolError may escape."""
    reader = MessageReader(max_message_size=LIMIT, side=side)
    messages: list[Message] = []
    position = 0
    sizes = chunks or [len(data)]
    try:
        index = 0
        while position < len(data):
            size = max(1, sizes[index % len(sizes)])
            reader.feed(data[position : position + size])
            position += size
            index += 1
            while (message := reader.next_message()) is not None:
                messages.append(message)
            assert 0 < reader.bytes_needed() <= LIMIT
    except ProtocolError:
        pass
    return messages


chunkings = st.lists(st.integers(1, 64), max_size=5)


@settings(max_examples=300, **SETTINGS)
@given(st.binary(max_size=200), chunkings, st.sampled_from(["client", "server"]))
@example(b"HTTP/1.1 400 Bad Request\r\n\r\n", [], "client")
@example(struct.pack("<iiii", 26, 1, 0, OP_MSG) + b"\x00" * 10, [1], "client")
def test_random_bytes_only_raise_protocol_error(data: bytes, chunks: list[int], side: Any) -> None:
    _drain(data, chunks, side)


@settings(max_examples=400, **SETTINGS)
@given(mutated(), chunkings)
def test_mutated_messages_only_raise_protocol_error(data: bytes, chunks: list[int]) -> None:
    for message in _drain(data, chunks):
        # Decoding what the reader let through fails, if at all, with a driver error
        # (InvalidBSON for a corrupt document, OperationFailure for a QueryFailure...).
        with contextlib.suppress(PyMongoError):
            decode_command_reply(message, OPTS)


@settings(max_examples=100, **SETTINGS)
@given(mutated())
def test_memory_stays_proportional_to_the_input(data: bytes) -> None:
    tracemalloc.start()
    try:
        _drain(data, [])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # One message at most LIMIT bytes, decompressed at most once, plus the input.
    assert peak < 8 * (LIMIT + len(data)) + 64 * 1024


@settings(max_examples=200, **SETTINGS)
@given(op_msgs(), chunkings, st.sampled_from([None, "zlib", "noop"]))
def test_op_msg_round_trip(
    case: tuple[dict[str, Any], dict[str, list[dict[str, Any]]], bytes],
    chunks: list[int],
    compressor: str | None,
) -> None:
    command, sequences, data = case
    if compressor:
        data = compress_message(data, compressor)
    reader = MessageReader(side="server")
    step = chunks[0] if chunks else len(data)
    for start in range(0, len(data), step):
        reader.feed(data[start : start + step])
    message = reader.next_message()
    assert isinstance(message, OpMsg)
    assert reader.next_message() is None
    assert decode_command_reply(message, OPTS) == {**command, **sequences}


@settings(max_examples=100, **SETTINGS)
@given(documents, st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=20))
def test_op_query_round_trip(query: dict[str, Any], collection: str) -> None:
    data = encode_op_query(3, collection, query, codec_options=OPTS)
    reader = MessageReader(side="server")
    reader.feed(data)
    message = reader.next_message()
    assert message is not None and decode_command_reply(message, OPTS) == query
