"""MaxKey: compares higher than every other BSON value.

Example::

    >>> from driver.bson.max_key import MaxKey
    >>> MaxKey() > 10**100, MaxKey() == MaxKey()
    (True, True)
"""

from __future__ import annotations

__all__ = ["MaxKey"]


class MaxKey:
    """The BSON MaxKey (type 0x7F)."""

    __slots__ = ()

    _type_marker = 127

    def __getstate__(self) -> object:
        return {}

    def __setstate__(self, state: object) -> None:
        pass

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaxKey)

    def __hash__(self) -> int:
        return hash(self._type_marker)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __le__(self, other: object) -> bool:
        return isinstance(other, MaxKey)

    def __lt__(self, other: object) -> bool:
        return False

    def __ge__(self, other: object) -> bool:
        return True

    def __gt__(self, other: object) -> bool:
        return not isinstance(other, MaxKey)

    def __repr__(self) -> str:
        return "MaxKey()"
