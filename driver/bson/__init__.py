"""BSON: MongoDB's binary document format, with PyMongo's ``bson`` API.

``encode`` turns a mapping into BSON bytes and ``decode`` turns them back; every BSON
type has a Python type here (``ObjectId``, ``Int64``, ``Decimal128``, ``Binary``...).
Extended JSON lives in :mod:`driver.bson.json_util`.

Example::

    >>> from driver.bson import ObjectId, decode, encode
    >>> data = encode({"_id": ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"), "n": 1})
    >>> decode(data)
    {'_id': ObjectId('5f43a1b2c3d4e5f6a7b8c9d0'), 'n': 1}
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Mapping
from typing import IO, Any, TypeVar, overload

from driver.bson import _codec
from driver.bson._codec import decode_document, encode_document
from driver.bson._decoder import document_size
from driver.bson._encoder import MAX_BSON_SIZE
from driver.bson.binary import (
    ALL_UUID_SUBTYPES,
    CSHARP_LEGACY,
    JAVA_LEGACY,
    OLD_UUID_SUBTYPE,
    PYTHON_LEGACY,
    STANDARD,
    UUID_SUBTYPE,
    Binary,
    BinaryVector,
    BinaryVectorDtype,
    UuidRepresentation,
)
from driver.bson.code import Code
from driver.bson.codec_options import (
    DEFAULT_CODEC_OPTIONS,
    CodecOptions,
    DatetimeConversion,
    TypeCodec,
    TypeDecoder,
    TypeEncoder,
    TypeRegistry,
)
from driver.bson.datetime_ms import EPOCH_AWARE, EPOCH_NAIVE, DatetimeMS
from driver.bson.dbref import DBRef
from driver.bson.decimal128 import Decimal128
from driver.bson.int64 import Int64
from driver.bson.max_key import MaxKey
from driver.bson.min_key import MinKey
from driver.bson.objectid import ObjectId
from driver.bson.raw_bson import RawBSONDocument
from driver.bson.regex import Regex
from driver.bson.son import SON
from driver.bson.timestamp import Timestamp
from driver.bson.tz_util import utc
from driver.errors import (
    BSONError,
    DocumentTooLarge,
    InvalidBSON,
    InvalidDocument,
    InvalidId,
    InvalidStringData,
)

__all__ = [
    "ALL_UUID_SUBTYPES",
    "BSON",
    "CSHARP_LEGACY",
    "DEFAULT_CODEC_OPTIONS",
    "EPOCH_AWARE",
    "EPOCH_NAIVE",
    "JAVA_LEGACY",
    "MAX_BSON_SIZE",
    "OLD_UUID_SUBTYPE",
    "PYTHON_LEGACY",
    "RE_TYPE",
    "SON",
    "STANDARD",
    "UUID_SUBTYPE",
    "BSONError",
    "Binary",
    "BinaryVector",
    "BinaryVectorDtype",
    "Code",
    "CodecOptions",
    "DBRef",
    "DatetimeConversion",
    "DatetimeMS",
    "Decimal128",
    "DocumentTooLarge",
    "Int64",
    "InvalidBSON",
    "InvalidDocument",
    "InvalidId",
    "InvalidStringData",
    "MaxKey",
    "MinKey",
    "ObjectId",
    "RawBSONDocument",
    "Regex",
    "Timestamp",
    "TypeCodec",
    "TypeDecoder",
    "TypeEncoder",
    "TypeRegistry",
    "UuidRepresentation",
    "decode",
    "decode_all",
    "decode_file_iter",
    "decode_iter",
    "encode",
    "has_c",
    "is_valid",
    "utc",
]

RE_TYPE = re.Pattern
_DocumentType = TypeVar("_DocumentType", bound=Mapping[str, Any])
_unpack_i = struct.Struct("<i").unpack_from


def has_c() -> bool:
    """Whether the C accelerator (``driver.bson._cbson``) is in use.

    False when it was not built or when ``FELDSPAR_NO_C`` is set; the pure-Python
    codec then serves everything, with the same results.
    """
    return _codec.USING_C


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise TypeError(
            f"BSON data must be bytes or another buffer, not {type(data).__name__}"
        ) from None


def _check_options(codec_options: Any) -> CodecOptions[Any]:
    if codec_options is None:
        return DEFAULT_CODEC_OPTIONS
    if not isinstance(codec_options, CodecOptions):
        raise TypeError(f"codec_options must be a CodecOptions, not {type(codec_options).__name__}")
    return codec_options


def encode(
    document: Mapping[str, Any],
    check_keys: bool = False,
    codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS,
    *,
    max_size: int = MAX_BSON_SIZE,
) -> bytes:
    """Encode a mapping as BSON.

    ``check_keys=True`` refuses keys that start with ``$`` or contain ``.`` (at any
    depth). Raises InvalidDocument for a value BSON cannot hold (or a cycle),
    DocumentTooLarge past ``max_size`` bytes, TypeError if ``document`` is not a
    mapping, OverflowError for an int beyond 64 bits.

    >>> encode({"a": 1})
    b'\\x0c\\x00\\x00\\x00\\x10a\\x00\\x01\\x00\\x00\\x00\\x00'
    """
    opts = _check_options(codec_options)
    given: object = document  # typed as Mapping, but callers may pass anything
    # A dict first: the ABC check costs more than encoding a small document in C.
    if type(given) is not dict and not isinstance(given, Mapping):
        raise TypeError(f"encoder expected a mapping type but got: {document!r}")
    return encode_document(document, check_keys, opts, max_size)


@overload
def decode(data: Any, codec_options: None = None) -> dict[str, Any]: ...
@overload
def decode(data: Any, codec_options: CodecOptions[_DocumentType]) -> _DocumentType: ...
def decode(data: Any, codec_options: CodecOptions[Any] | None = None) -> Any:
    """Decode exactly one BSON document; InvalidBSON if the bytes are not one.

    >>> decode(b'\\x0c\\x00\\x00\\x00\\x10a\\x00\\x01\\x00\\x00\\x00\\x00')
    {'a': 1}
    """
    opts = _check_options(codec_options)
    raw = _as_bytes(data)
    return decode_document(raw, 0, len(raw), opts)


def _split(raw: bytes) -> Iterator[tuple[int, int]]:
    position = 0
    total = len(raw)
    while position < total:
        size = document_size(raw, position, total)
        yield position, position + size
        position += size


@overload
def decode_all(data: Any, codec_options: None = None) -> list[dict[str, Any]]: ...
@overload
def decode_all(data: Any, codec_options: CodecOptions[_DocumentType]) -> list[_DocumentType]: ...
def decode_all(data: Any, codec_options: CodecOptions[Any] | None = None) -> list[Any]:
    """Decode concatenated BSON documents into a list.

    >>> decode_all(encode({"a": 1}) + encode({"b": 2}))
    [{'a': 1}, {'b': 2}]
    """
    opts = _check_options(codec_options)
    raw = _as_bytes(data)
    return [decode_document(raw, start, stop, opts) for start, stop in _split(raw)]


@overload
def decode_iter(data: Any, codec_options: None = None) -> Iterator[dict[str, Any]]: ...
@overload
def decode_iter(data: Any, codec_options: CodecOptions[_DocumentType]) -> Iterator[_DocumentType]: ...
def decode_iter(data: Any, codec_options: CodecOptions[Any] | None = None) -> Iterator[Any]:
    """Decode concatenated BSON documents one at a time (a generator)."""
    opts = _check_options(codec_options)
    raw = _as_bytes(data)
    for start, stop in _split(raw):
        yield decode_document(raw, start, stop, opts)


@overload
def decode_file_iter(file_obj: IO[bytes], codec_options: None = None) -> Iterator[dict[str, Any]]: ...
@overload
def decode_file_iter(
    file_obj: IO[bytes], codec_options: CodecOptions[_DocumentType]
) -> Iterator[_DocumentType]: ...
def decode_file_iter(file_obj: IO[bytes], codec_options: CodecOptions[Any] | None = None) -> Iterator[Any]:
    """Decode BSON documents read one by one from a binary file.

    A truncated last document raises InvalidBSON (nothing is dropped silently).
    """
    opts = _check_options(codec_options)
    while True:
        header = file_obj.read(4)
        if not header:
            return
        if len(header) != 4:
            raise InvalidBSON("file ends inside a document's length prefix")
        size = _unpack_i(header, 0)[0]
        if size < 5:
            raise InvalidBSON(f"invalid document length {size}: the minimum is 5")
        if size > MAX_BSON_SIZE:
            raise InvalidBSON(f"invalid document length {size}")
        # Read in bounded chunks so a lying length cannot make us allocate it up front.
        chunks = [header]
        remaining = size - 4
        while remaining:
            chunk = file_obj.read(min(remaining, 1 << 20))
            if not chunk:
                raise InvalidBSON(
                    f"file ends inside a document: {remaining} of {size} bytes missing"
                )
            chunks.append(chunk)
            remaining -= len(chunk)
        raw = b"".join(chunks)
        yield decode_document(raw, 0, size, opts)


def is_valid(bson: bytes) -> bool:
    """Whether ``bson`` is exactly one valid BSON document (TypeError if not bytes).

    >>> is_valid(encode({"a": 1})), is_valid(b"junk")
    (True, False)
    """
    if not isinstance(bson, bytes):
        raise TypeError(f"BSON data must be bytes, not {type(bson).__name__}")
    try:
        decode_document(bson, 0, len(bson), DEFAULT_CODEC_OPTIONS)
    except InvalidBSON:
        return False
    return True


class BSON(bytes):
    """BSON bytes with ``encode``/``decode`` methods (PyMongo's legacy class).

    >>> BSON.encode({"a": 1}).decode()
    {'a': 1}
    """

    @classmethod
    def encode(
        cls,
        document: Mapping[str, Any],
        check_keys: bool = False,
        codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS,
    ) -> BSON:
        """Encode a mapping as a new BSON instance."""
        return cls(encode(document, check_keys, codec_options))

    def decode(self, codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS) -> Any:  # type: ignore[override]
        """Decode this BSON into a document."""
        return decode(self, codec_options)

