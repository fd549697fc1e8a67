"""The Pydantic v2 hooks every BSON type class shares (Pydantic imported on use).

A class sets ``_pydantic_kind`` (``"objectid"``...); its core schema and JSON schema
come from ``driver.bson._pydantic.<kind>_schema`` and ``<kind>_json_schema``, which say
what each mode accepts and produces. ``driver`` itself never needs Pydantic.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["PydanticHooks"]


class PydanticHooks:
    """Mixin: makes a BSON type usable as a Pydantic field type (and in FastAPI)."""

    __slots__ = ()
    _pydantic_kind: ClassVar[str]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Pydantic v2 support: see :mod:`driver.bson._pydantic` for each mode."""
        from driver.bson import _pydantic

        return getattr(_pydantic, f"{cls._pydantic_kind}_schema")(cls)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The JSON Schema of the JSON form (FastAPI's OpenAPI documents show it)."""
        from driver.bson import _pydantic

        schema: dict[str, Any] = getattr(_pydantic, f"{cls._pydantic_kind}_json_schema")()
        return schema
