"""Timestamp: the BSON internal timestamp (seconds + increment), used by replication.

Example::

    >>> from driver.bson.timestamp import Timestamp
    >>> ts = Timestamp(1600000000, 7)
    >>> ts.time, ts.inc, ts < Timestamp(1600000000, 8)
    (1600000000, 7, True)
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from driver.bson._hooks import PydanticHooks

__all__ = ["Timestamp"]

_UPPER = 2**32


class Timestamp(PydanticHooks):
    """A BSON timestamp (type 0x11): ``time`` in seconds and an ordinal ``inc``.

    ``time`` may be a datetime (a naive one is taken as UTC). Both parts must fit
    in an unsigned 32-bit integer.
    """

    _pydantic_kind = "timestamp"

    __slots__ = ("__inc", "__time")

    _type_marker = 17

    def __init__(self, time: datetime.datetime | int, inc: int) -> None:
        if isinstance(time, datetime.datetime):
            offset = time.utcoffset()
            if offset is not None:
                time = time - offset
            time = int(calendar.timegm(time.timetuple()))
        if not isinstance(time, int) or isinstance(time, bool):
            raise TypeError(f"time must be an int or datetime, not {type(time).__name__}")
        if not isinstance(inc, int) or isinstance(inc, bool):
            raise TypeError(f"inc must be an int, not {type(inc).__name__}")
        if not 0 <= time < _UPPER:
            raise ValueError(f"time must be within [0, 2**32), got {time}")
        if not 0 <= inc < _UPPER:
            raise ValueError(f"inc must be within [0, 2**32), got {inc}")
        self.__time = time
        self.__inc = inc

    @property
    def time(self) -> int:
        """Seconds since the epoch."""
        return self.__time

    @property
    def inc(self) -> int:
        """The increment within the second."""
        return self.__inc

    def as_datetime(self) -> datetime.datetime:
        """``time`` as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.__time, datetime.timezone.utc)

    def _key(self) -> tuple[int, int]:
        return (self.__time, self.__inc)

    def __getstate__(self) -> Any:
        return (self.__time, self.__inc)

    def __setstate__(self, state: Any) -> None:
        self.__time, self.__inc = state

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self._key() < other._key()
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self._key() <= other._key()
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self._key() > other._key()
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self._key() >= other._key()
        return NotImplemented

    def __repr__(self) -> str:
        return f"Timestamp({self.__time}, {self.__inc})"
