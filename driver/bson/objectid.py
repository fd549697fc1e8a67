"""ObjectId: the 12-byte BSON identifier (PyMongo's ``bson.objectid``).

Layout per the ObjectId specification: a 4-byte big-endian timestamp (seconds), a
5-byte random value unique to the process, and a 3-byte big-endian counter that starts
at a random value. The random value is drawn again in a child after ``os.fork()`` so a
parent and child never produce the same ids.

Example::

    >>> from driver.bson.objectid import ObjectId
    >>> oid = ObjectId("5f43a1b2c3d4e5f6a7b8c9d0")
    >>> str(oid), len(oid.binary)
    ('5f43a1b2c3d4e5f6a7b8c9d0', 12)
"""

from __future__ import annotations

import datetime
import os
import struct
import threading
import time
from random import SystemRandom
from typing import Any

from driver.bson._hooks import PydanticHooks
from driver.errors import InvalidId

__all__ = ["ObjectId"]

_MAX_COUNTER = 0xFFFFFF
_rng = SystemRandom()
_lock = threading.Lock()
_process_random = os.urandom(5)
_counter = _rng.randint(0, _MAX_COUNTER)
_pack_time = struct.Struct(">I").pack
_HEX = frozenset("0123456789abcdefABCDEF")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _after_fork_in_child() -> None:
    global _process_random, _counter
    _process_random = os.urandom(5)
    _counter = _rng.randint(0, _MAX_COUNTER)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _next_counter() -> int:
    global _counter
    with _lock:
        value = _counter
        _counter = (value + 1) & _MAX_COUNTER
    return value


class ObjectId(PydanticHooks):
    """A BSON ObjectId.

    ``ObjectId()`` makes a new unique id; ``ObjectId(str)`` parses 24 hex digits;
    ``ObjectId(bytes)`` takes 12 raw bytes; ``ObjectId(oid)`` copies.

    >>> ObjectId("000000000000000000000000") < ObjectId("000000000000000000000001")
    True
    """

    _pydantic_kind = "objectid"

    __slots__ = ("__id",)

    _type_marker = 7

    def __init__(self, oid: str | bytes | ObjectId | None = None) -> None:
        if oid is None:
            self.__id = (
                _pack_time(int(time.time()) & 0xFFFFFFFF)
                + _process_random
                + _next_counter().to_bytes(3, "big")
            )
        elif isinstance(oid, bytes) and len(oid) == 12:
            self.__id = bytes(oid)
        elif isinstance(oid, ObjectId):
            self.__id = oid.binary
        else:
            self.__id = self._parse(oid)

    @staticmethod
    def _parse(oid: object) -> bytes:
        if isinstance(oid, str):
            if len(oid) == 24 and _HEX.issuperset(oid):
                return bytes.fromhex(oid)
            raise InvalidId(f"{oid!r} is not a valid ObjectId: it must be 24 hex digits")
        if isinstance(oid, (bytes, bytearray)):
            raise InvalidId(f"{oid!r} is not a valid ObjectId: it must be 12 bytes")
        raise TypeError(
            f"id must be an instance of str, bytes or ObjectId, not {type(oid).__name__}"
        )

    @classmethod
    def _from_binary(cls, data: bytes) -> ObjectId:
        """Build from 12 trusted bytes, skipping the checks (decoder fast path)."""
        oid = cls.__new__(cls)
        oid.__id = data
        return oid

    @classmethod
    def from_datetime(cls, generation_time: datetime.datetime) -> ObjectId:
        """An ObjectId for range queries on time: the timestamp set, the rest zero.

        A naive datetime is taken as UTC.

        >>> ObjectId.from_datetime(datetime.datetime(2020, 1, 1))
        ObjectId('5e0be1000000000000000000')
        """
        if generation_time.utcoffset() is not None:
            generation_time = generation_time - generation_time.utcoffset()  # type: ignore[operator]
        seconds = int(
            (generation_time.replace(tzinfo=datetime.timezone.utc) - _EPOCH).total_seconds()
        )
        return cls(_pack_time(seconds & 0xFFFFFFFF) + b"\x00" * 8)

    @classmethod
    def is_valid(cls, oid: Any) -> bool:
        """Whether ``oid`` can be turned into an ObjectId.

        >>> ObjectId.is_valid("nope"), ObjectId.is_valid(b"x" * 12)
        (False, True)
        """
        if not oid:
            return False
        try:
            ObjectId(oid)
        except (InvalidId, TypeError):
            return False
        return True

    @property
    def binary(self) -> bytes:
        """The 12 raw bytes."""
        return self.__id

    @property
    def generation_time(self) -> datetime.datetime:
        """The creation time stored in the id, as an aware UTC datetime."""
        seconds = int.from_bytes(self.__id[:4], "big")
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)

    def __getstate__(self) -> bytes:
        return self.__id

    def __setstate__(self, value: Any) -> None:
        # PyMongo pickles store either the bytes or a {"_ObjectId__id": bytes} dict.
        oid = value["_ObjectId__id"] if isinstance(value, dict) else value
        if isinstance(oid, str):
            oid = oid.encode("latin-1")
        self.__id = oid

    def __str__(self) -> str:
        return self.__id.hex()

    def __repr__(self) -> str:
        return f"ObjectId('{self.__id.hex()}')"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ObjectId):
            return self.__id == other.binary
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, ObjectId):
            return self.__id != other.binary
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, ObjectId):
            return self.__id < other.binary
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, ObjectId):
            return self.__id <= other.binary
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, ObjectId):
            return self.__id > other.binary
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, ObjectId):
            return self.__id >= other.binary
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.__id)
