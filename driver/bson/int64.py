"""Int64: an int that is always stored as a BSON 64-bit integer.

Plain Python ints are stored as int32 when they fit, else int64; wrap a value in
``Int64`` to force the 64-bit type (and to read it back as ``Int64``).

Example::

    >>> from driver.bson.int64 import Int64
    >>> Int64(5) + 1, type(Int64(5)).__name__
    (6, 'Int64')
"""

from __future__ import annotations

from driver.bson._hooks import PydanticHooks

__all__ = ["Int64"]


class Int64(int, PydanticHooks):
    """A BSON int64 (type 0x12). Behaves as ``int`` in arithmetic."""

    _pydantic_kind = "int64"

    __slots__ = ()

    _type_marker = 18

    def __getstate__(self) -> object:
        return {}

    def __setstate__(self, state: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"Int64({int(self)})"
