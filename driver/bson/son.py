"""SON: an ordered dict kept for PyMongo compatibility.

Python dicts keep insertion order, so ``SON`` is a plain ``dict`` subclass; use it
where code expects the name, or as ``CodecOptions(document_class=SON)``.

Example::

    >>> from driver.bson.son import SON
    >>> SON([("b", 1), ("a", 2)])
    SON([('b', 1), ('a', 2)])
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

__all__ = ["SON"]

_KT = TypeVar("_KT")
_VT = TypeVar("_VT")


class SON(dict[_KT, _VT]):
    """An ordered mapping; ``to_dict`` converts it (recursively) to plain dicts."""

    def __repr__(self) -> str:
        return f"SON({list(self.items())!r})"

    def to_dict(self) -> dict[_KT, _VT]:
        """A plain ``dict`` copy, with nested SONs converted too."""

        def convert(value: Any) -> Any:
            if isinstance(value, SON):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, list):
                return [convert(v) for v in value]
            return value

        return {k: convert(v) for k, v in self.items()}

    def copy(self) -> SON[_KT, _VT]:
        return SON(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> SON[_KT, _VT]:
        out: SON[_KT, _VT] = SON()
        memo[id(self)] = out
        for key, value in self.items():
            out[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
        return out
