"""Int64: an int that is always stored as a BSON 64-bit integer.

Plain Python ints are stored as int32 when they fit, else int64; wrap a value in
``Int64`` to force the 64-bit type (and to read it back as ``Int64``).

Example::

    >>> from driver.bson.int64 import Int64
    >>> Int64(5) + 1, type(Int64(5)).__name__
    (6, 'Int64')
"""

from __future__ import annotations

from typing import Any

__all__ = ["Int64"]


class Int64(int):
    """A BSON int64 (type 0x12). Behaves as ``int`` in arithmetic."""

    __slots__ = ()

    _type_marker = 18

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Pydantic v2 support, imported on use (``driver`` does not need Pydantic).

        See :mod:`driver.bson._pydantic` for what each mode accepts and produces.
        """
        from driver.bson._pydantic import int64_schema

        return int64_schema(cls)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The JSON Schema of the JSON form (FastAPI's OpenAPI documents show it)."""
        from driver.bson._pydantic import int64_json_schema

        return int64_json_schema()

    def __getstate__(self) -> object:
        return {}

    def __setstate__(self, state: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"Int64({int(self)})"
