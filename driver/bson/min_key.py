"""MinKey: compares lower than every other BSON value.

Example::

    >>> from driver.bson.min_key import MinKey
    >>> MinKey() < 0, MinKey() == MinKey()
    (True, True)
"""

from __future__ import annotations

__all__ = ["MinKey"]


class MinKey:
    """The BSON MinKey (type 0xFF)."""

    __slots__ = ()

    _type_marker = 255

    def __getstate__(self) -> object:
        return {}

    def __setstate__(self, state: object) -> None:
        pass

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MinKey)

    def __hash__(self) -> int:
        return hash(self._type_marker)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __le__(self, other: object) -> bool:
        return True

    def __lt__(self, other: object) -> bool:
        return not isinstance(other, MinKey)

    def __ge__(self, other: object) -> bool:
        return isinstance(other, MinKey)

    def __gt__(self, other: object) -> bool:
        return False

    def __repr__(self) -> str:
        return "MinKey()"
