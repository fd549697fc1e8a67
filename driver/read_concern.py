"""ReadConcern: which snapshot of the data a read may see.

PyMongo's ``pymongo.read_concern.ReadConcern``. Any level string is accepted (the
server decides which exist), so new server levels work without a driver release.

Example::

    >>> from driver.read_concern import ReadConcern
    >>> ReadConcern("majority").document, ReadConcern().document
    ({'level': 'majority'}, {})
    >>> ReadConcern("local").ok_for_legacy, ReadConcern("majority").ok_for_legacy
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_READ_CONCERN", "ReadConcern", "read_concern_from_options"]


class ReadConcern:
    """A read concern; ``level=None`` leaves it to the server's default.

    >>> ReadConcern("snapshot")
    ReadConcern(level='snapshot')
    >>> ReadConcern(5)
    Traceback (most recent call last):
    ...
    TypeError: level must be a string or None, not int
    """

    __slots__ = ("__level",)

    def __init__(self, level: str | None = None) -> None:
        if level is not None and not isinstance(level, str):
            raise TypeError(f"level must be a string or None, not {type(level).__name__}")
        self.__level = level

    @property
    def level(self) -> str | None:
        """The read concern level, or ``None``."""
        return self.__level

    @property
    def ok_for_legacy(self) -> bool:
        """Whether servers before read concern support (3.0) can honour it."""
        return self.__level is None or self.__level == "local"

    @property
    def document(self) -> dict[str, Any]:
        """The read concern as a command document (a fresh copy each time)."""
        return {} if self.__level is None else {"level": self.__level}

    @property
    def is_server_default(self) -> bool:
        """Whether no level was set, so the server's default applies."""
        return self.__level is None

    def __repr__(self) -> str:
        return "ReadConcern()" if self.__level is None else f"ReadConcern(level={self.__level!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReadConcern):
            return self.__level == other.__level
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.__level)


DEFAULT_READ_CONCERN = ReadConcern()


def read_concern_from_options(options: Mapping[str, Any]) -> ReadConcern:
    """The read concern that validated client options ask for (``readConcernLevel``).

    >>> read_concern_from_options({"readConcernLevel": "majority"})
    ReadConcern(level='majority')
    """
    return ReadConcern(options.get("readConcernLevel"))
