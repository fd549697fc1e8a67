"""Code: BSON JavaScript code, optionally with a scope document.

Example::

    >>> from driver.bson.code import Code
    >>> Code("return x", {"x": 1}).scope
    {'x': 1}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Code"]


class Code(str):
    """JavaScript code (type 0x0D), or code with scope (0x0F) when ``scope`` is set.

    Keyword arguments are added to the scope.
    """

    __slots__ = ("__scope",)

    _type_marker = 13
    __scope: dict[str, Any] | None

    def __new__(
        cls, code: str | bytes, scope: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Code:
        if isinstance(code, bytes):
            code = code.decode("utf-8")
        if not isinstance(code, str):
            raise TypeError(f"code must be str or bytes, not {type(code).__name__}")
        self = str.__new__(cls, code)
        own: dict[str, Any] | None
        try:
            own = dict(code.scope)  # type: ignore[attr-defined]
        except AttributeError:
            own = None
        if scope is not None:
            if not isinstance(scope, Mapping):
                raise TypeError(f"scope must be a mapping, not {type(scope).__name__}")
            own = {**own, **scope} if own is not None else dict(scope)
        if kwargs:
            own = {**own, **kwargs} if own is not None else dict(kwargs)
        self.__scope = own
        return self

    @classmethod
    def _from_parts(cls, code: str, scope: dict[str, Any] | None) -> Code:
        """Build from decoded parts, skipping the checks and the scope copy (decoder)."""
        self = str.__new__(cls, code)
        self.__scope = scope
        return self

    @property
    def scope(self) -> dict[str, Any] | None:
        """The scope document, or None for plain code."""
        return self.__scope

    def __repr__(self) -> str:
        return f"Code({str.__repr__(self)}, {self.__scope!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Code):
            return (self.__scope, str(self)) == (other.scope, str(other))
        return False

    __hash__ = None  # type: ignore[assignment]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle protocols 0 and 1 cannot save the slot otherwise.
        return (type(self), (str(self), self.__scope))
