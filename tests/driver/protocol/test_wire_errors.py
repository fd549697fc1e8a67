"""The wire reader refuses every way a peer can break the protocol with ProtocolError
(and a clear message), and never allocates ahead of what it has checked.
"""

from __future__ import annotations

import contextlib
import struct
import tracemalloc
import zlib
from typing import Any

import pytest

from driver.bson import encode
from driver.errors import ProtocolError
from driver.protocol.wire import (
    CHECKSUM_PRESENT,
    EXHAUST_ALLOWED,
    OP_COMPRESSED,
    OP_MSG,
    OP_QUERY,
    OP_REPLY,
    MessageReader,
    OpMsg,
    compress_message,
    encode_op_msg,
    encode_op_query,
    encode_op_reply,
    parse_message,
    read_header,
)
from tests.driver.protocol.wire_helpers import (
    OPTS,
    PING,
    frame,
    kind0,
    kind1,
    op_msg_body,
    parse,
    protocol_error,
    read_all,
)

# ------------------------------------------------------------------ reading: protocol errors


def test_http_peer_fails_at_once_and_says_so() -> None:
    reader = MessageReader()
    with pytest.raises(ProtocolError, match=r"answered in HTTP .* not a MongoDB server"):
        reader.feed(b"HTTP")  # four bytes are enough to know
    with pytest.raises(ProtocolError, match="HTTP"):
        read_header(b"HTTP/1.1 400 Bad")


@pytest.mark.parametrize(
    ("length", "match"),
    [
        (15, "message length 15 is less than the 16-byte header"),
        (0, "message length 0 is less than"),
        (-1, "message length -1 is less than"),
        (-(2**31), "message length -2147483648 is less than"),
        (48_000_001, "message length 48000001 is over the limit of 48000000 bytes"),
        (2**31 - 1, "over the limit"),
    ],
)
def test_bad_lengths_fail_before_the_body_is_read(length: int, match: str) -> None:
    head = struct.pack("<i", length)
    reader = MessageReader()
    with pytest.raises(ProtocolError, match=match):
        reader.feed(head)
    with pytest.raises(ProtocolError, match=match):
        read_header(head + struct.pack("<iii", 1, 0, OP_MSG))


def test_the_limit_is_configurable() -> None:
    data = encode_op_msg(1, {"x": "y" * 100}, codec_options=OPTS)
    assert read_all(data, max_message_size=len(data))
    protocol_error(
        data,
        f"message length {len(data)} is over the limit of {len(data) - 1}",
        max_message_size=len(data) - 1,
    )
    reader = MessageReader()
    reader.max_message_size = 100  # as a hello reply would set it
    with pytest.raises(ProtocolError, match="over the limit of 100"):
        reader.feed(data)


@pytest.mark.parametrize("op_code", [2001, 2002, 2004 + 1000, 0, -1, 2010, 2011])
def test_unknown_opcodes(op_code: int) -> None:
    protocol_error(frame(b"xxxx", op_code=op_code), f"unknown opcode {op_code}")


def test_opcodes_for_the_other_side() -> None:
    query = encode_op_query(1, "admin.$cmd", PING, codec_options=OPTS)
    protocol_error(query, "a client does not accept OP_QUERY messages")
    reply = encode_op_reply(1, 0, [{"ok": 1}], codec_options=OPTS)
    protocol_error(reply, "a server does not accept OP_REPLY messages", side="server")
    protocol_error(
        compress_message(query, "zlib"), "wraps opcode 2004, which a client does not accept"
    )


def test_header_must_be_16_bytes() -> None:
    with pytest.raises(ProtocolError, match="16 bytes, not 15"):
        read_header(bytes(15))


def test_body_must_match_the_header() -> None:
    data = encode_op_msg(1, PING, codec_options=OPTS)
    with pytest.raises(ProtocolError, match="body is 3 bytes but its header declares"):
        parse_message(data[:16], data[16:19])


def test_truncated_stream_just_waits() -> None:
    data = encode_op_msg(1, PING, codec_options=OPTS)
    reader = MessageReader()
    reader.feed(data[:-1])
    assert reader.next_message() is None
    assert reader.bytes_needed() == 1


# Malformed OP_MSG bodies: (body, expected message).
_GOOD_DOC = encode({"a": 1})
OP_MSG_CASES = [
    pytest.param(b"\x00\x00\x00", "too short for flags and a section", id="no-flags"),
    pytest.param(op_msg_body(), "too short for flags and a section", id="no-sections"),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), flags=1 << 2),
        "unknown required flag bits 0x0004",
        id="required-bit",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), flags=1 << 15),
        "unknown required flag bits 0x8000",
        id="required-bit-15",
    ),
    pytest.param(op_msg_body(b"\x02" + _GOOD_DOC), "section of unknown kind 2", id="kind-2"),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), b"\xff"), "section of unknown kind 255", id="kind-255"
    ),
    pytest.param(
        op_msg_body(kind1("docs", [{"a": 1}])), "no body \\(kind 0\\) section", id="no-body"
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), kind0({"ok": 1})),
        "two body \\(kind 0\\) sections",
        id="two-bodies",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), kind1("d", []), kind1("d", [])),
        "two document sequences named 'd'",
        id="duplicate-sequence",
    ),
    pytest.param(
        op_msg_body(b"\x00" + _GOOD_DOC[:-2]),
        "body section is truncated|declares 12 bytes but 10 remain",
        id="body-truncated",
    ),
    pytest.param(
        op_msg_body(b"\x00\x04\x00\x00\x00\x00"),
        "body section declares 4 bytes",
        id="body-length-4",
    ),
    pytest.param(
        op_msg_body(b"\x00\xff\xff\xff\xff" + _GOOD_DOC),
        "declares -1 bytes",
        id="body-length-negative",
    ),
    pytest.param(
        op_msg_body(b"\x00" + _GOOD_DOC[:-1] + b"\x01"),
        "does not end with a NUL byte",
        id="body-no-nul",
    ),
    pytest.param(
        op_msg_body(b"\x00" + b"\x0d" + _GOOD_DOC[1:]),
        "body section declares 13 bytes but 12 remain",
        id="body-length-too-big",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), b"\x01\x03\x00"),
        "sequence section is truncated",
        id="sequence-truncated",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), b"\x01\x04\x00\x00\x00"),
        "sequence declares 4 bytes",
        id="sequence-size-4",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), b"\x01\x64\x00\x00\x00abc\x00"),
        "sequence declares 100 bytes but 8 remain",
        id="sequence-too-big",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), b"\x01\x07\x00\x00\x00abc"),
        "identifier has no terminating NUL",
        id="identifier-no-nul",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), b"\x01\x07\x00\x00\x00\xff\xfe\x00"),
        "identifier is not UTF-8",
        id="identifier-not-utf8",
    ),
    pytest.param(
        op_msg_body(kind0({"ok": 1}), b"\x01\x09\x00\x00\x00d\x00\x05\x00\x00"),
        "a document of sequence 'd' is truncated",
        id="sequence-doc-truncated",
    ),
    pytest.param(
        op_msg_body(
            kind0({"ok": 1}),
            b"\x01" + struct.pack("<i", 6 + len(_GOOD_DOC) - 1) + b"d\x00" + _GOOD_DOC[:-1],
            kind0({}),
        ),
        "sequence 'd' declares 12 bytes but 11 remain",
        id="sequence-doc-overflows-section",
    ),
]


@pytest.mark.parametrize(("body", "match"), OP_MSG_CASES)
def test_malformed_op_msg(body: bytes, match: str) -> None:
    protocol_error(frame(body), match)


def test_unknown_optional_flag_bits_are_ignored() -> None:
    message = parse(frame(op_msg_body(kind0({"ok": 1}), flags=1 << 20 | EXHAUST_ALLOWED)))
    assert isinstance(message, OpMsg) and message.flags == 1 << 20 | EXHAUST_ALLOWED


def test_wrong_checksum() -> None:
    data = bytearray(encode_op_msg(1, {"ok": 1, "v": "payload"}, checksum=True, codec_options=OPTS))
    data[-10] ^= 0x01  # a bit flipped in transit
    error = protocol_error(bytes(data), "checksum mismatch")
    assert "corrupted in transit" in str(error)
    # The header is covered too.
    data = bytearray(encode_op_msg(1, {"ok": 1}, checksum=True, codec_options=OPTS))
    data[4] ^= 0x01
    protocol_error(bytes(data), "checksum mismatch")


def test_checksum_flag_without_room_for_it() -> None:
    protocol_error(frame(struct.pack("<I", CHECKSUM_PRESENT)), "too short")
    protocol_error(
        frame(struct.pack("<I", CHECKSUM_PRESENT) + b"\x00\x00\x00\x00"), "no room for a checksum"
    )


def test_checksum_inside_compression_is_verified() -> None:
    plain = bytearray(encode_op_msg(1, {"ok": 1}, checksum=True, codec_options=OPTS))
    plain[-1] ^= 0xFF
    protocol_error(compress_message(bytes(plain), "zlib"), "checksum mismatch")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"\x00" * 19, "shorter than its 20-byte prefix"),
        (struct.pack("<iqii", 0, 0, 0, 2) + _GOOD_DOC, "says it returns 2 documents but carries 1"),
        (struct.pack("<iqii", 0, 0, 0, -1), "says it returns -1 documents but carries 0"),
        (struct.pack("<iqii", 0, 0, 0, 2**31 - 1), "returns 2147483647 documents but carries 0"),
        (struct.pack("<iqii", 0, 0, 0, 1) + _GOOD_DOC + b"\x00", "OP_REPLY document is truncated"),
    ],
)
def test_malformed_op_reply(body: bytes, match: str) -> None:
    protocol_error(frame(body, op_code=OP_REPLY), match)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"\x00\x00\x00\x00admin", "before its collection name ends"),
        (b"\x00\x00\x00\x00a\x00\x00", "before its query document"),
        (b"\x00\x00\x00\x00\xff\x00" + bytes(8) + _GOOD_DOC, "collection name is not UTF-8"),
        (
            b"\x00\x00\x00\x00a\x00" + bytes(8) + _GOOD_DOC + _GOOD_DOC + b"\x00",
            "1 stray bytes after",
        ),
        (
            b"\x00\x00\x00\x00a\x00" + bytes(8) + _GOOD_DOC + _GOOD_DOC[:-3],
            "field selector declares 12",
        ),
        (b"\x00\x00\x00\x00a\x00" + bytes(8) + _GOOD_DOC + b"\x01", "field selector is truncated"),
        (b"\x00\x00\x00\x00a\x00" + bytes(8) + b"\x03\x00\x00\x00", "query document is truncated"),
    ],
)
def test_malformed_op_query(body: bytes, match: str) -> None:
    protocol_error(frame(body, op_code=OP_QUERY), match, side="server")


def _compressed(original: int, size: int, compressor_id: int, payload: bytes) -> bytes:
    return frame(
        struct.pack("<iiB", original, size, compressor_id) + payload, op_code=OP_COMPRESSED
    )


def test_malformed_op_compressed() -> None:
    inner = encode_op_msg(1, {"ok": 1}, codec_options=OPTS)[16:]
    packed = zlib.compress(inner)
    protocol_error(
        frame(b"\xdd\x07\x00\x00\x10", op_code=OP_COMPRESSED), "too short for its 9-byte prefix"
    )
    protocol_error(_compressed(OP_COMPRESSED, len(inner), 2, packed), "wraps opcode 2012")
    protocol_error(_compressed(2004 + 1, len(inner), 2, packed), "wraps opcode 2005")
    protocol_error(_compressed(OP_MSG, -5, 2, packed), "declares a negative size \\(-5 bytes\\)")
    protocol_error(
        _compressed(OP_MSG, 48_000_000 - 15, 2, packed),
        "declares 47999985 bytes uncompressed, over the limit",
    )
    protocol_error(_compressed(OP_MSG, len(inner) + 1, 2, packed), "declared .* but zlib data gave")
    protocol_error(
        _compressed(OP_MSG, len(inner) - 1, 2, packed), "declared .* but zlib data gave more"
    )
    protocol_error(_compressed(OP_MSG, len(inner), 9, packed), "unknown compressor id 9")
    protocol_error(
        _compressed(OP_MSG, len(inner), 2, b"junk" + packed),
        "zlib data in OP_COMPRESSED is corrupt",
    )
    # A well-formed wrapper around a malformed OP_MSG still fails in the OP_MSG parser.
    protocol_error(_compressed(OP_MSG, 5, 0, b"\x00\x00\x00\x00\x07"), "unknown kind 7")
    assert parse(_compressed(OP_MSG, len(inner), 2, packed)).compressor_id == 2


def test_decompressed_size_may_reach_the_limit_exactly() -> None:
    plain = encode_op_msg(1, {"x": "y" * 1000}, codec_options=OPTS)
    packed = compress_message(plain, "zlib")
    assert read_all(packed, max_message_size=len(plain))
    protocol_error(packed, "uncompressed, over the limit", max_message_size=len(plain) - 1)


def test_a_failed_reader_stays_failed() -> None:
    reader = MessageReader()
    with pytest.raises(ProtocolError):
        reader.feed(frame(b"xxxx", op_code=1234))
    with pytest.raises(ProtocolError, match="stream is broken: unknown opcode 1234"):
        reader.feed(encode_op_msg(1, PING, codec_options=OPTS))
    with pytest.raises(ProtocolError, match="stream is broken"):
        reader.next_message()
    with pytest.raises(ProtocolError, match="stream is broken"):
        reader.bytes_needed()


def test_reader_arguments() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        MessageReader(max_message_size=15)
    with pytest.raises(ValueError, match="at least 16"):
        MessageReader(max_message_size=True)
    with pytest.raises(ValueError, match="side must be"):
        MessageReader(side="proxy")  # type: ignore[arg-type]


# ------------------------------------------------------------------ reading: memory


def _peak(function: Any) -> int:
    tracemalloc.start()
    with contextlib.suppress(ProtocolError):
        function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_a_large_declared_length_allocates_nothing_up_front() -> None:
    def run() -> None:
        reader = MessageReader()
        reader.feed(struct.pack("<iiii", 48_000_000, 1, 0, OP_MSG) + b"\x00" * 100)
        assert reader.next_message() is None
        assert reader.bytes_needed() == 48_000_000 - 116

    assert _peak(run) < 64 * 1024


def test_a_compression_bomb_allocates_at_most_the_limit() -> None:
    packer = zlib.compressobj(9)
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(200)) + packer.flush()
    message = _compressed(OP_MSG, 1000, 2, bomb)  # 200 MB of zeros in 200 KB, claiming 1 KB

    def run() -> None:
        MessageReader().feed(message)
        parse(message)

    with pytest.raises(ProtocolError, match="gave more than that"):
        parse(message)
    assert _peak(run) < 4 * len(message) + (1 << 20)


def test_lowering_the_limit_rechecks_a_buffered_header() -> None:
    data = encode_op_msg(1, {"x": "y" * 100}, codec_options=OPTS)
    reader = MessageReader()
    reader.feed(data[:20])
    reader.max_message_size = 50
    with pytest.raises(ProtocolError, match="over the limit of 50"):
        reader.next_message()
    with pytest.raises(ValueError, match="at least 16"):
        MessageReader().max_message_size = 0
