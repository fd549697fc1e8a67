"""Binary data, UUID representations and binary vectors (PyMongo's ``bson.binary``).

Subtype 0 decodes to plain ``bytes``; other subtypes decode to :class:`Binary`.
UUIDs follow ``CodecOptions.uuid_representation``: with ``STANDARD`` a ``uuid.UUID``
is stored as subtype 4; the legacy representations use subtype 3 with the byte order
of the old Python, Java and C# drivers; ``UNSPECIFIED`` (the default, as in PyMongo)
refuses to encode a native ``uuid.UUID`` rather than guess.

Example::

    >>> import uuid
    >>> from driver.bson.binary import Binary, BinaryVectorDtype
    >>> u = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    >>> b = Binary.from_uuid(u)
    >>> b.subtype, b.as_uuid() == u
    (4, True)
    >>> Binary.from_vector([1, -2, 3], BinaryVectorDtype.INT8).as_vector().data
    [1, -2, 3]
"""

from __future__ import annotations

import enum
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from driver.bson._hooks import PydanticHooks

__all__ = [
    "ALL_UUID_REPRESENTATIONS",
    "ALL_UUID_SUBTYPES",
    "BINARY_SUBTYPE",
    "COLUMN_SUBTYPE",
    "CSHARP_LEGACY",
    "ENCRYPTED_BINARY_SUBTYPE",
    "FUNCTION_SUBTYPE",
    "JAVA_LEGACY",
    "MD5_SUBTYPE",
    "OLD_BINARY_SUBTYPE",
    "OLD_UUID_SUBTYPE",
    "PYTHON_LEGACY",
    "SENSITIVE_SUBTYPE",
    "STANDARD",
    "USER_DEFINED_SUBTYPE",
    "UUID_REPRESENTATION_NAMES",
    "UUID_SUBTYPE",
    "VECTOR_SUBTYPE",
    "Binary",
    "BinaryVector",
    "BinaryVectorDtype",
    "UuidRepresentation",
]

BINARY_SUBTYPE = 0
FUNCTION_SUBTYPE = 1
OLD_BINARY_SUBTYPE = 2
OLD_UUID_SUBTYPE = 3
UUID_SUBTYPE = 4
MD5_SUBTYPE = 5
ENCRYPTED_BINARY_SUBTYPE = 6
COLUMN_SUBTYPE = 7
SENSITIVE_SUBTYPE = 8
VECTOR_SUBTYPE = 9
USER_DEFINED_SUBTYPE = 128


class UuidRepresentation:
    """How ``uuid.UUID`` values are stored (PyMongo's constants, same values)."""

    UNSPECIFIED = 0
    STANDARD = UUID_SUBTYPE
    PYTHON_LEGACY = OLD_UUID_SUBTYPE
    JAVA_LEGACY = 5
    CSHARP_LEGACY = 6


STANDARD = UuidRepresentation.STANDARD
PYTHON_LEGACY = UuidRepresentation.PYTHON_LEGACY
JAVA_LEGACY = UuidRepresentation.JAVA_LEGACY
CSHARP_LEGACY = UuidRepresentation.CSHARP_LEGACY
ALL_UUID_SUBTYPES = (OLD_UUID_SUBTYPE, UUID_SUBTYPE)
ALL_UUID_REPRESENTATIONS = (
    UuidRepresentation.UNSPECIFIED,
    UuidRepresentation.STANDARD,
    UuidRepresentation.PYTHON_LEGACY,
    UuidRepresentation.JAVA_LEGACY,
    UuidRepresentation.CSHARP_LEGACY,
)
UUID_REPRESENTATION_NAMES = {
    UuidRepresentation.UNSPECIFIED: "UuidRepresentation.UNSPECIFIED",
    UuidRepresentation.STANDARD: "UuidRepresentation.STANDARD",
    UuidRepresentation.PYTHON_LEGACY: "UuidRepresentation.PYTHON_LEGACY",
    UuidRepresentation.JAVA_LEGACY: "UuidRepresentation.JAVA_LEGACY",
    UuidRepresentation.CSHARP_LEGACY: "UuidRepresentation.CSHARP_LEGACY",
}
_LEGACY = (PYTHON_LEGACY, JAVA_LEGACY, CSHARP_LEGACY)


def _java_order(data: bytes) -> bytes:
    # The Java driver wrote each 8-byte half in reverse order.
    return data[7::-1] + data[:7:-1]


def uuid_to_bytes(value: uuid.UUID, representation: int) -> tuple[bytes, int]:
    """(payload, subtype) for a UUID stored with ``representation``."""
    if representation == STANDARD:
        return value.bytes, UUID_SUBTYPE
    if representation == PYTHON_LEGACY:
        return value.bytes, OLD_UUID_SUBTYPE
    if representation == JAVA_LEGACY:
        return _java_order(value.bytes), OLD_UUID_SUBTYPE
    if representation == CSHARP_LEGACY:
        return value.bytes_le, OLD_UUID_SUBTYPE
    if representation == UuidRepresentation.UNSPECIFIED:
        raise ValueError(
            "cannot encode a native uuid.UUID with UuidRepresentation.UNSPECIFIED: "
            "convert it with Binary.from_uuid(value, representation) or set "
            "CodecOptions(uuid_representation=UuidRepresentation.STANDARD)"
        )
    raise ValueError(f"{representation!r} is not a valid UuidRepresentation")


def uuid_from_bytes(data: bytes, subtype: int, representation: int) -> uuid.UUID | None:
    """The UUID for a subtype 3/4 payload under ``representation``, or None to keep Binary."""
    if len(data) != 16:
        return None
    if subtype == UUID_SUBTYPE:
        return uuid.UUID(bytes=data) if representation == STANDARD else None
    if subtype == OLD_UUID_SUBTYPE:
        if representation == PYTHON_LEGACY:
            return uuid.UUID(bytes=data)
        if representation == JAVA_LEGACY:
            return uuid.UUID(bytes=_java_order(data))
        if representation == CSHARP_LEGACY:
            return uuid.UUID(bytes_le=data)
    return None


class BinaryVectorDtype(enum.Enum):
    """The element type of a vector (subtype 9): its first payload byte."""

    INT8 = b"\x03"
    FLOAT32 = b"\x27"
    PACKED_BIT = b"\x10"


@dataclass
class BinaryVector:
    """A decoded vector: elements, their dtype and (for PACKED_BIT) the padding bits."""

    data: Sequence[float | int]
    dtype: BinaryVectorDtype
    padding: int = 0

    def __len__(self) -> int:
        return len(self.data)


class Binary(bytes, PydanticHooks):
    """Bytes with a BSON binary subtype (0 to 255).

    >>> Binary(b"\\x01\\x02", 128)
    Binary(b'\\x01\\x02', 128)
    """

    _pydantic_kind = "binary"

    # No __slots__: CPython refuses non-empty slots on bytes subclasses.
    _type_marker = 5

    __subtype: int

    def __new__(cls, data: bytes | bytearray | memoryview, subtype: int = BINARY_SUBTYPE) -> Binary:
        if not isinstance(subtype, int) or isinstance(subtype, bool):
            raise TypeError(f"subtype must be an int, not {type(subtype).__name__}")
        if not 0 <= subtype <= 255:
            raise ValueError(f"subtype must be within 0 to 255, got {subtype}")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        self = bytes.__new__(cls, data)
        self.__subtype = subtype
        return self

    @classmethod
    def from_uuid(cls, uuid_value: uuid.UUID, uuid_representation: int = STANDARD) -> Binary:
        """Store a UUID with the given representation (STANDARD: subtype 4)."""
        if not isinstance(uuid_value, uuid.UUID):
            raise TypeError(f"uuid must be a uuid.UUID, not {type(uuid_value).__name__}")
        if uuid_representation not in ALL_UUID_REPRESENTATIONS:
            raise ValueError(f"{uuid_representation!r} is not a valid UuidRepresentation")
        payload, subtype = uuid_to_bytes(uuid_value, uuid_representation)
        return cls(payload, subtype)

    def as_uuid(self, uuid_representation: int = STANDARD) -> uuid.UUID:
        """The UUID stored here; ValueError if the subtype does not fit the representation."""
        if uuid_representation not in ALL_UUID_REPRESENTATIONS:
            raise ValueError(f"{uuid_representation!r} is not a valid UuidRepresentation")
        if uuid_representation == UuidRepresentation.UNSPECIFIED:
            raise ValueError("cannot decode a UUID with UuidRepresentation.UNSPECIFIED")
        expected = UUID_SUBTYPE if uuid_representation == STANDARD else OLD_UUID_SUBTYPE
        if self.__subtype != expected:
            raise ValueError(
                f"cannot decode subtype {self.__subtype} as a UUID with "
                f"{UUID_REPRESENTATION_NAMES[uuid_representation]}"
            )
        value = uuid_from_bytes(bytes(self), self.__subtype, uuid_representation)
        if value is None:
            raise ValueError(f"a UUID needs 16 bytes, this Binary has {len(self)}")
        return value

    @classmethod
    def from_vector(
        cls,
        vector: BinaryVector | Sequence[float | int],
        dtype: BinaryVectorDtype | None = None,
        padding: int | None = None,
    ) -> Binary:
        """Pack a vector as subtype 9: int8, float32 or packed bits (uint8 bytes)."""
        if isinstance(vector, BinaryVector):
            if dtype is not None or padding is not None:
                raise ValueError("give dtype and padding in the BinaryVector, not beside it")
            data, dtype, padding = vector.data, vector.dtype, vector.padding
        else:
            data = vector
            if dtype is None:
                raise ValueError("dtype is required when packing a plain sequence")
            padding = padding or 0
        if not isinstance(dtype, BinaryVectorDtype):
            raise TypeError(f"dtype must be a BinaryVectorDtype, not {type(dtype).__name__}")
        if dtype == BinaryVectorDtype.PACKED_BIT:
            if not 0 <= padding <= 7:
                raise ValueError(f"padding must be within 0 to 7, got {padding}")
            if padding and not data:
                raise ValueError("an empty PACKED_BIT vector cannot have padding")
            if data and padding and int(data[-1]) & ((1 << padding) - 1):
                raise ValueError("the padding bits of the last byte must be zero")
            body = struct.pack(f"<{len(data)}B", *data)
        elif padding:
            raise ValueError(f"padding applies only to PACKED_BIT vectors, not {dtype.name}")
        elif dtype == BinaryVectorDtype.INT8:
            body = struct.pack(f"<{len(data)}b", *data)
        else:
            body = struct.pack(f"<{len(data)}f", *data)
        return cls(dtype.value + bytes([padding]) + body, VECTOR_SUBTYPE)

    def as_vector(self) -> BinaryVector:
        """Unpack a subtype 9 payload; ValueError if it is malformed."""
        if self.__subtype != VECTOR_SUBTYPE:
            raise ValueError(f"cannot decode subtype {self.__subtype} as a vector")
        if len(self) < 2:
            raise ValueError("a vector payload needs at least 2 bytes (dtype, padding)")
        try:
            dtype = BinaryVectorDtype(self[:1])
        except ValueError:
            raise ValueError(f"unknown vector dtype byte {self[:1]!r}") from None
        padding = self[1]
        body = bytes(self[2:])
        if dtype == BinaryVectorDtype.PACKED_BIT:
            if padding > 7 or (padding and not body):
                raise ValueError(f"invalid padding {padding} for a PACKED_BIT vector")
            return BinaryVector(list(body), dtype, padding)
        if padding:
            raise ValueError(f"padding applies only to PACKED_BIT vectors, not {dtype.name}")
        if dtype == BinaryVectorDtype.INT8:
            return BinaryVector(list(struct.unpack(f"<{len(body)}b", body)), dtype)
        if len(body) % 4:
            raise ValueError("a FLOAT32 vector payload must be a multiple of 4 bytes")
        return BinaryVector(list(struct.unpack(f"<{len(body) // 4}f", body)), dtype)

    @property
    def subtype(self) -> int:
        """The BSON binary subtype."""
        return self.__subtype

    def __getnewargs__(self) -> tuple[bytes, int]:  # type: ignore[override]
        return bytes(self), self.__subtype

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Binary):
            return (self.__subtype, bytes(self)) == (other.subtype, bytes(other))
        # Not NotImplemented: bytes.__eq__ would then make Binary(b, 5) == b true.
        return False

    def __hash__(self) -> int:
        return bytes.__hash__(self) ^ hash(self.__subtype)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        if self.__subtype == 9:
            try:
                return f"<Binary vector {self.as_vector()!r}>"
            except ValueError:
                pass
        return f"Binary({bytes(self)!r}, {self.__subtype})"
