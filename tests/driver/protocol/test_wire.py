"""The wire protocol: encoders against the spec's layout (and PyMongo's bytes), and the
reader's round trips, compressed or not, and its response-id checks.

Malformed input (one test per way a peer can break the protocol) is in
test_wire_errors.py; hostile-input properties are in test_wire_fuzz.py.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import pytest

from driver.bson import SON, ObjectId, RawBSONDocument, decode, encode
from driver.bson.raw_bson import DEFAULT_RAW_BSON_OPTIONS
from driver.errors import (
    CursorNotFound,
    DocumentTooLarge,
    InvalidDocument,
    InvalidStringData,
    OperationFailure,
    ProtocolError,
)
from driver.protocol import compression
from driver.protocol.crc32c import crc32c
from driver.protocol.wire import (
    CHECKSUM_PRESENT,
    COMMAND_OVERHEAD,
    EXHAUST_ALLOWED,
    MORE_TO_COME,
    OP_COMPRESSED,
    OP_MSG,
    OP_QUERY,
    OP_REPLY,
    REPLY_CURSOR_NOT_FOUND,
    REPLY_QUERY_FAILURE,
    MessageReader,
    OpMsg,
    OpQuery,
    OpReply,
    check_response_to,
    compress_message,
    decode_command_reply,
    encode_op_msg,
    encode_op_query,
    encode_op_reply,
    may_compress,
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
    read_all,
)

# ------------------------------------------------------------------ encoding: OP_MSG


def test_op_msg_layout_matches_the_spec() -> None:
    data = encode_op_msg(0x01020304, PING, codec_options=OPTS)
    body = encode(PING)
    assert data == struct.pack("<iiiiIB", 21 + len(body), 0x01020304, 0, OP_MSG, 0, 0) + body


def test_op_msg_sequences_layout() -> None:
    docs: list[dict[str, Any]] = [{"_id": 1}, {"_id": 2, "x": "y"}]
    data = encode_op_msg(
        7,
        {"insert": "coll", "$db": "db"},
        sequences={"documents": docs, "empty": []},
        codec_options=OPTS,
    )
    expected_body = op_msg_body(
        kind0({"insert": "coll", "$db": "db"}), kind1("documents", docs), kind1("empty", [])
    )
    assert data == frame(expected_body, request_id=7)


def test_op_msg_flags_and_response_to() -> None:
    data = encode_op_msg(
        3, PING, flags=MORE_TO_COME | EXHAUST_ALLOWED, response_to=99, codec_options=OPTS
    )
    assert struct.unpack_from("<iiiiI", data) == (len(data), 3, 99, OP_MSG, 0x10002)


def test_op_msg_checksum_is_crc32c_of_everything_before_it() -> None:
    data = encode_op_msg(5, PING, codec_options=OPTS, checksum=True)
    flags, checksum = struct.unpack_from("<I", data, 16)[0], struct.unpack("<I", data[-4:])[0]
    assert flags == CHECKSUM_PRESENT
    assert checksum == crc32c(data[:-4])
    assert struct.unpack_from("<i", data)[0] == len(data)
    # Setting the flag by hand means the same thing.
    assert encode_op_msg(5, PING, codec_options=OPTS, flags=CHECKSUM_PRESENT) == data


def test_pre_encoded_commands_and_documents_give_the_same_bytes() -> None:
    command = {"insert": "c", "$db": "d"}
    docs: list[dict[str, Any]] = [{"_id": ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"), "n": 1}, {"_id": 2}]
    expected = encode_op_msg(1, command, sequences={"documents": docs}, codec_options=OPTS)
    raw = encode(command)
    for given in (raw, bytearray(raw), memoryview(raw), RawBSONDocument(raw)):
        pre: list[Any] = [encode(docs[0]), RawBSONDocument(encode(docs[1]))]
        got = encode_op_msg(1, given, sequences={"documents": pre}, codec_options=OPTS)
        assert got == expected


def test_codec_options_are_used_for_encoding() -> None:
    import uuid

    from driver.bson import STANDARD, CodecOptions

    value = uuid.UUID(int=1)
    options: CodecOptions[Any] = CodecOptions(uuid_representation=STANDARD)
    data = encode_op_msg(1, {"u": value}, codec_options=options, sequences={"s": [{"u": value}]})
    message = parse(data)
    assert decode_command_reply(message, options) == {"u": value, "s": [{"u": value}]}


@pytest.mark.parametrize(
    "given",
    [b"\x05\x00\x00\x00", b"\x07\x00\x00\x00\x00\x00", b"\x05\x00\x00\x00\x01", b""],
)
def test_bytes_that_are_not_one_document_are_refused(given: bytes) -> None:
    with pytest.raises(InvalidDocument, match="the command document is given as bytes"):
        encode_op_msg(1, given, codec_options=OPTS)
    with pytest.raises(InvalidDocument, match="a document of sequence 'documents'"):
        encode_op_msg(1, PING, sequences={"documents": [given]}, codec_options=OPTS)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"request_id": 2**31}, ValueError, "request_id must fit"),
        ({"request_id": -(2**31) - 1}, ValueError, "request_id must fit"),
        ({"request_id": True}, TypeError, "request_id must be an int"),
        ({"request_id": "1"}, TypeError, "request_id must be an int"),
        ({"response_to": 2**31}, ValueError, "response_to must fit"),
        ({"flags": 1 << 2}, ValueError, "flags may only set"),
        ({"flags": -1}, ValueError, "flags may only set"),
        ({"command": [("ping", 1)]}, TypeError, "must be a mapping or BSON bytes"),
        ({"sequences": {"documents": {"_id": 1}}}, TypeError, "must be a list of documents"),
        ({"sequences": {"documents": b"xx"}}, TypeError, "must be a list of documents"),
        ({"sequences": {"do\x00cs": []}}, InvalidDocument, "must not contain a NUL"),
        ({"sequences": {1: []}}, TypeError, "identifier must be a str"),
        ({"sequences": {"\ud800": []}}, InvalidStringData, "identifier is not valid UTF-8"),
        ({"sequences": {"documents": [1]}}, TypeError, "must be a mapping or BSON bytes"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    arguments: dict[str, Any] = {"request_id": 1, "command": PING, "codec_options": OPTS}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        encode_op_msg(**arguments)


def test_ids_at_the_int32_limits_are_fine() -> None:
    for request_id in (-(2**31), 2**31 - 1, 0):
        assert parse(encode_op_msg(request_id, PING, codec_options=OPTS)).request_id == request_id


# ------------------------------------------------------------------ encoding: size limits

SECRET = "TOP-SECRET-PATIENT-DATA"


def _big(size: int) -> dict[str, Any]:
    """A document of exactly ``size`` encoded bytes."""
    doc = {"_id": 1, "secret": SECRET, "pad": ""}
    doc["pad"] = "x" * (size - len(encode(doc)))
    assert len(encode(doc)) == size
    return doc


def test_sequence_document_over_max_bson_size() -> None:
    docs = [_big(1000), _big(1000), _big(1001)]
    with pytest.raises(DocumentTooLarge) as caught:
        encode_op_msg(
            1, PING, sequences={"documents": docs}, codec_options=OPTS, max_bson_size=1000
        )
    text = str(caught.value)
    assert text == (
        "the document at index 2 of sequence 'documents' is 1001 bytes, over the server's "
        "maxBsonObjectSize of 1000 bytes"
    )
    assert SECRET not in text
    # At the limit exactly: fine.
    encode_op_msg(
        1, PING, sequences={"documents": docs[:2]}, codec_options=OPTS, max_bson_size=1000
    )


def test_command_document_may_exceed_max_bson_size_by_the_command_overhead() -> None:
    limit = 1000
    encode_op_msg(1, _big(limit + COMMAND_OVERHEAD), codec_options=OPTS, max_bson_size=limit)
    with pytest.raises(DocumentTooLarge) as caught:
        encode_op_msg(
            1, _big(limit + COMMAND_OVERHEAD + 1), codec_options=OPTS, max_bson_size=limit
        )
    assert str(caught.value) == (
        f"the command document is {limit + COMMAND_OVERHEAD + 1} bytes, over the limit of "
        f"{limit + COMMAND_OVERHEAD} bytes (maxBsonObjectSize 1000 + 16384 for the command)"
    )
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("checksum", [False, True])
def test_whole_message_over_max_message_size(checksum: bool) -> None:
    docs = [_big(500) for _ in range(10)]
    data = encode_op_msg(
        1, PING, sequences={"documents": docs}, codec_options=OPTS, checksum=checksum
    )
    # The limit is inclusive, and the checksum counts.
    same = encode_op_msg(
        1,
        PING,
        sequences={"documents": docs},
        codec_options=OPTS,
        checksum=checksum,
        max_message_size=len(data),
    )
    assert same == data
    with pytest.raises(DocumentTooLarge) as caught:
        encode_op_msg(
            1,
            PING,
            sequences={"documents": docs},
            codec_options=OPTS,
            checksum=checksum,
            max_message_size=len(data) - 1,
        )
    assert str(caught.value) == (
        f"the OP_MSG is {len(data)} bytes, over the server's maxMessageSizeBytes of "
        f"{len(data) - 1} bytes"
    )
    assert SECRET not in str(caught.value)


def test_message_size_is_checked_before_the_whole_batch_is_encoded() -> None:
    encoded: list[int] = []

    def documents() -> Iterator[dict[str, Any]]:
        for index in range(1000):
            encoded.append(index)
            yield _big(1000)

    with pytest.raises(DocumentTooLarge):
        encode_op_msg(
            1, PING, sequences={"documents": documents()}, codec_options=OPTS, max_message_size=5000
        )
    assert len(encoded) < 10


# ------------------------------------------------------------------ encoding: differential


def test_op_msg_bytes_equal_pymongos() -> None:
    message: Any = pytest.importorskip("pymongo.message", reason="PyMongo is not installed")
    from bson.codec_options import DEFAULT_CODEC_OPTIONS as PYMONGO_OPTS

    cases: list[tuple[int, dict[str, Any], str | None]] = [
        (0, {"find": "coll", "filter": {"a": {"$gt": 1}}, "limit": 5}, None),
        (
            0,
            {"insert": "coll", "documents": [{"_id": i, "v": "x" * i} for i in range(5)]},
            "documents",
        ),
        (0, {"update": "coll", "updates": [{"q": {}, "u": {"$set": {"a": 1}}}]}, "updates"),
        (EXHAUST_ALLOWED, {"getMore": 12345, "collection": "coll"}, None),
        (MORE_TO_COME, {"delete": "coll", "deletes": [{"q": {"a": 1}, "limit": 0}]}, "deletes"),
    ]
    for flags, command, identifier in cases:
        request_id, theirs, _, _ = message._op_msg(flags, dict(command), "db", None, PYMONGO_OPTS)
        ours_command = {k: v for k, v in command.items() if k != identifier}
        ours_command["$db"] = "db"
        sequences = {identifier: command[identifier]} if identifier else None
        ours = encode_op_msg(
            request_id, ours_command, sequences=sequences, flags=flags, codec_options=OPTS
        )
        assert ours == theirs, command


def test_compressed_op_msg_bytes_equal_pymongos() -> None:
    message: Any = pytest.importorskip("pymongo.message", reason="PyMongo is not installed")
    support: Any = pytest.importorskip("pymongo.compression_support")
    from bson.codec_options import DEFAULT_CODEC_OPTIONS as PYMONGO_OPTS

    command = {"find": "coll", "filter": {"name": "x" * 200}}
    for level in (-1, 1, 9):
        request_id, theirs, _, _ = message._op_msg(
            0, dict(command), "db", None, PYMONGO_OPTS, support.ZlibContext(level)
        )
        plain = encode_op_msg(request_id, {**command, "$db": "db"}, codec_options=OPTS)
        assert compress_message(plain, "zlib", level) == theirs


# ------------------------------------------------------------------ encoding: OP_QUERY / OP_REPLY


def test_op_query_layout_matches_the_wire_reference() -> None:
    query = {"isMaster": 1, "client": {"driver": {"name": "feldspar"}}}
    data = encode_op_query(9, "admin.$cmd", query, codec_options=OPTS)
    body = struct.pack("<i", 0) + b"admin.$cmd\x00" + struct.pack("<ii", 0, -1) + encode(query)
    assert data == frame(body, op_code=OP_QUERY, request_id=9)
    data = encode_op_query(
        9, "db.c", query, flags=4, number_to_skip=2, number_to_return=3, codec_options=OPTS
    )
    assert data[16:20] == struct.pack("<i", 4) and data[25:33] == struct.pack("<ii", 2, 3)


def test_op_query_arguments_are_checked() -> None:
    with pytest.raises(InvalidDocument, match="NUL"):
        encode_op_query(1, "admin\x00.$cmd", PING, codec_options=OPTS)
    with pytest.raises(ValueError, match="number_to_return must fit"):
        encode_op_query(1, "admin.$cmd", PING, number_to_return=2**31, codec_options=OPTS)
    with pytest.raises(InvalidStringData, match="collection_full_name is not valid UTF-8"):
        encode_op_query(1, "admin.\udfff", PING, codec_options=OPTS)
    with pytest.raises(TypeError, match="collection_full_name must be a str"):
        encode_op_query(1, b"admin.$cmd", PING, codec_options=OPTS)  # type: ignore[arg-type]


def test_op_reply_layout_matches_the_wire_reference() -> None:
    docs: list[dict[str, Any]] = [{"ok": 1.0}, {"b": 2}]
    data = encode_op_reply(4, 3, docs, flags=8, cursor_id=77, starting_from=1, codec_options=OPTS)
    body = struct.pack("<iqii", 8, 77, 1, 2) + encode(docs[0]) + encode(docs[1])
    assert data == frame(body, op_code=OP_REPLY, request_id=4, response_to=3)


# ------------------------------------------------------------------ reading: round trips


@pytest.mark.parametrize("chunk", [None, 1, 7, 64])
def test_op_msg_round_trip_in_any_chunking(chunk: int | None) -> None:
    docs = [{"_id": i, "name": f"n{i}"} for i in range(3)]
    data = encode_op_msg(
        42,
        {"insert": "c", "$db": "d"},
        sequences={"documents": docs, "other": [{"x": 1}]},
        flags=EXHAUST_ALLOWED,
        response_to=41,
        checksum=True,
        codec_options=OPTS,
    )
    (message,) = read_all(data, chunk, side="server")
    assert isinstance(message, OpMsg)
    assert (message.request_id, message.response_to, message.op_code) == (42, 41, OP_MSG)
    assert message.exhaust_allowed and message.checksum_present and not message.more_to_come
    assert message.compressor_id is None
    assert decode(message.body) == {"insert": "c", "$db": "d"}
    assert [decode(d) for d in message.sequences["documents"]] == docs
    assert decode_command_reply(message, OPTS) == {
        "insert": "c",
        "$db": "d",
        "documents": docs,
        "other": [{"x": 1}],
    }


def test_sequences_merge_for_raw_and_son_document_classes() -> None:
    data = encode_op_msg(1, {"ok": 1}, sequences={"docs": [{"a": 1}, {"b": 2}]}, codec_options=OPTS)
    message = parse(data)
    raw = decode_command_reply(message, DEFAULT_RAW_BSON_OPTIONS)
    assert isinstance(raw, RawBSONDocument)
    assert raw["ok"] == 1 and [dict(d) for d in raw["docs"]] == [{"a": 1}, {"b": 2}]
    son = decode_command_reply(message, OPTS.with_options(document_class=SON))
    assert isinstance(son, SON) and list(son) == ["ok", "docs"]


def test_a_sequence_section_may_come_before_the_body() -> None:
    data = frame(op_msg_body(kind1("docs", [{"a": 1}]), kind0({"ok": 1})))
    assert decode_command_reply(parse(data), OPTS) == {"ok": 1, "docs": [{"a": 1}]}


def test_several_messages_in_one_feed() -> None:
    stream = b"".join(encode_op_msg(i, {"n": i}, codec_options=OPTS) for i in range(5))
    messages = read_all(stream)
    assert [decode_command_reply(m, OPTS)["n"] for m in messages] == list(range(5))
    assert [m.request_id for m in read_all(stream, 3)] == list(range(5))


def test_bytes_needed_supports_exact_reads() -> None:
    data = encode_op_msg(1, PING, codec_options=OPTS)
    reader = MessageReader()
    assert reader.bytes_needed() == 16
    reader.feed(data[:5])
    assert reader.bytes_needed() == 11
    reader.feed(data[5:16])
    assert reader.bytes_needed() == len(data) - 16
    reader.feed(data[16:])
    assert reader.bytes_needed() == 0
    assert reader.next_message() is not None
    assert reader.bytes_needed() == 16


def test_exact_read_path_with_read_header() -> None:
    data = encode_op_msg(11, PING, response_to=10, codec_options=OPTS)
    length, request_id, response_to, op_code = read_header(data[:16])
    assert (length, request_id, response_to, op_code) == (len(data), 11, 10, OP_MSG)
    message = parse_message(data[:16], data[16:length])
    check_response_to(message, 10)
    with pytest.raises(
        ProtocolError, match="reply to request 10 while waiting for the reply to request 9"
    ):
        check_response_to(message, 9)


@pytest.mark.parametrize("compressor", ["zlib", "noop", "zstd", "snappy"])
@pytest.mark.parametrize("checksum", [False, True])
def test_compressed_round_trip(compressor: str, checksum: bool) -> None:
    reason = compression.compressor_status(compressor)
    if reason is not None:
        pytest.skip(reason)
    docs = [{"_id": i, "text": "lorem ipsum " * 20} for i in range(20)]
    plain = encode_op_msg(
        8,
        {"insert": "c", "$db": "d"},
        sequences={"documents": docs},
        checksum=checksum,
        response_to=3,
        codec_options=OPTS,
    )
    packed = compress_message(plain, compressor, 9)
    assert read_header(packed[:16]) == (len(packed), 8, 3, OP_COMPRESSED)
    assert struct.unpack_from("<iiB", packed, 16) == (
        OP_MSG,
        len(plain) - 16,
        compression.COMPRESSOR_IDS[compressor],
    )
    (message,) = read_all(packed, 5)
    assert isinstance(message, OpMsg)
    assert message.compressor_id == compression.COMPRESSOR_IDS[compressor]
    assert (message.request_id, message.response_to, message.checksum_present) == (8, 3, checksum)
    assert decode_command_reply(message, OPTS)["documents"] == docs
    # The same message, not compressed, parses to the same thing.
    plain_message = parse(plain)
    assert isinstance(plain_message, OpMsg) and message.body == plain_message.body


def test_compress_message_arguments() -> None:
    plain = encode_op_msg(1, PING, codec_options=OPTS)
    with pytest.raises(ValueError, match="needs a whole encoded message"):
        compress_message(plain[:10], "zlib")
    with pytest.raises(ValueError, match="header says"):
        compress_message(plain + b"x", "zlib")
    with pytest.raises(ValueError, match="already compressed"):
        compress_message(compress_message(plain, "zlib"), "zlib")
    assert compress_message(plain, 2) == compress_message(plain, "zlib")
    assert may_compress("find") and not may_compress("hello")


def test_op_reply_round_trip_and_handshake_decoding() -> None:
    reply = encode_op_reply(5, 4, [{"ismaster": True, "maxWireVersion": 6}], codec_options=OPTS)
    (message,) = read_all(reply)
    assert isinstance(message, OpReply)
    assert (message.request_id, message.response_to, message.more_to_come) == (5, 4, False)
    assert decode_command_reply(message, OPTS) == {"ismaster": True, "maxWireVersion": 6}
    packed = compress_message(reply, "zlib")
    (message,) = read_all(packed)
    assert isinstance(message, OpReply) and message.compressor_id == 2


def test_op_reply_query_failure_and_cursor_not_found() -> None:
    failure = OpReply(1, 1, REPLY_QUERY_FAILURE, 0, 0, (encode({"$err": "bad query", "code": 2}),))
    with pytest.raises(OperationFailure, match="bad query") as caught:
        decode_command_reply(failure, OPTS)
    assert caught.value.code == 2
    with pytest.raises(CursorNotFound, match="cursor id 17 not found"):
        decode_command_reply(OpReply(1, 1, REPLY_CURSOR_NOT_FOUND, 17, 0, ()), OPTS)
    with pytest.raises(ProtocolError, match="no document"):
        decode_command_reply(OpReply(1, 1, 0, 0, 0, ()), OPTS)


def test_server_side_reads_op_query() -> None:
    query = {"isMaster": 1, "helloOk": True}
    data = encode_op_query(3, "admin.$cmd", query, flags=4, codec_options=OPTS)
    (message,) = read_all(data, side="server")
    assert isinstance(message, OpQuery)
    assert (
        message.collection,
        message.flags,
        message.number_to_skip,
        message.number_to_return,
    ) == (
        "admin.$cmd",
        4,
        0,
        -1,
    )
    assert message.fields is None and decode_command_reply(message, OPTS) == query
    with_fields = frame(data[16:] + encode({"a": 1}), op_code=OP_QUERY)
    assert parse(with_fields, side="server").fields == encode({"a": 1})  # type: ignore[union-attr]
    (message,) = read_all(compress_message(data, "zlib"), side="server")
    assert isinstance(message, OpQuery) and message.compressor_id == 2


# ------------------------------------------------------------------ reading: response ids


def test_expect_response_to() -> None:
    reader = MessageReader()
    reader.expect_response_to(5)
    reader.feed(encode_op_msg(100, {"ok": 1}, response_to=6, codec_options=OPTS))
    with pytest.raises(
        ProtocolError, match="reply to request 6 while waiting for the reply to request 5"
    ):
        reader.next_message()


def test_exhaust_replies_chain_their_ids() -> None:
    replies = [
        encode_op_msg(200, {"n": 0}, response_to=7, flags=MORE_TO_COME, codec_options=OPTS),
        encode_op_msg(201, {"n": 1}, response_to=200, flags=MORE_TO_COME, codec_options=OPTS),
        encode_op_msg(202, {"n": 2}, response_to=201, codec_options=OPTS),
    ]
    reader = MessageReader()
    reader.expect_response_to(7)
    reader.feed(b"".join(replies))
    got = [reader.next_message() for _ in replies]
    assert [m.more_to_come for m in got if m] == [True, True, False]
    assert reader.next_message() is None
    # A follow-up that answers the original request instead of the previous reply is wrong.
    reader = MessageReader()
    reader.expect_response_to(7)
    reader.feed(replies[0] + encode_op_msg(201, {"n": 1}, response_to=7, codec_options=OPTS))
    reader.next_message()
    with pytest.raises(
        ProtocolError, match="reply to request 7 while waiting for the reply to request 200"
    ):
        reader.next_message()


def test_no_check_without_an_expectation() -> None:
    reader = MessageReader()
    reader.feed(encode_op_msg(1, {"ok": 1}, response_to=12345, codec_options=OPTS))
    assert reader.next_message() is not None
