"""DatetimeMS and DatetimeConversion: BSON datetimes beyond Python's range.

A BSON datetime is a signed 64-bit count of milliseconds since the Unix epoch, a far
wider range than ``datetime.datetime`` (years 1 to 9999). ``DatetimeMS`` holds the raw
count; ``CodecOptions(datetime_conversion=...)`` chooses what decoding returns.

Example::

    >>> from driver.bson.datetime_ms import DatetimeMS
    >>> DatetimeMS(0).as_datetime()
    datetime.datetime(1970, 1, 1, 0, 0)
"""

from __future__ import annotations

import datetime
import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driver.bson.codec_options import CodecOptions

__all__ = ["DatetimeConversion", "DatetimeMS"]

EPOCH_AWARE = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
EPOCH_NAIVE = datetime.datetime(1970, 1, 1)
# The millisecond values that datetime.datetime can represent (in UTC).
_MIN_MS = -62135596800000
_MAX_MS = 253402300799999
_MAX_DATETIME_MS_PRECISION = datetime.datetime.max.replace(microsecond=999000)
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class DatetimeConversion(enum.IntEnum):
    """What a BSON datetime decodes to.

    - ``DATETIME``: ``datetime.datetime``; a value out of its range raises InvalidBSON.
    - ``DATETIME_CLAMP``: ``datetime.datetime``, clamped to ``datetime.min``/``max``.
    - ``DATETIME_MS``: always ``DatetimeMS``.
    - ``DATETIME_AUTO``: ``datetime.datetime`` when in range, else ``DatetimeMS``.
    """

    DATETIME = 1
    DATETIME_CLAMP = 2
    DATETIME_MS = 3
    DATETIME_AUTO = 4


_ONE_MS = datetime.timedelta(milliseconds=1)


def datetime_to_millis(value: datetime.datetime) -> int:
    """Milliseconds since the epoch, rounded down; a naive datetime is taken as UTC."""
    # timedelta floor division is exact integer arithmetic, several times faster than
    # calendar.timegm, and rounds sub-millisecond parts down as BSON requires.
    if value.tzinfo is None:
        return (value - EPOCH_NAIVE) // _ONE_MS
    if value.utcoffset() is None:
        return (value.replace(tzinfo=None) - EPOCH_NAIVE) // _ONE_MS
    return (value - EPOCH_AWARE) // _ONE_MS


def millis_in_range(millis: int) -> bool:
    return _MIN_MS <= millis <= _MAX_MS


def millis_to_datetime(millis: int, options: CodecOptions[Any]) -> datetime.datetime:
    """A datetime for ``millis`` as the codec options ask (tz_aware, tzinfo)."""
    if options.datetime_conversion == DatetimeConversion.DATETIME_CLAMP:
        millis = max(_MIN_MS, min(_MAX_MS, millis))
    if options.tz_aware:
        value = EPOCH_AWARE + datetime.timedelta(milliseconds=millis)
        tzinfo = options.tzinfo
        if tzinfo is not None:
            try:
                value = value.astimezone(tzinfo)
            except OverflowError:
                # Near datetime.min/max the shift can leave the range; clamping is
                # the only value that exists, and only when the caller asked for it.
                if options.datetime_conversion != DatetimeConversion.DATETIME_CLAMP:
                    raise
                # BSON keeps milliseconds: the top bound is .999000, as in PyMongo.
                bound = datetime.datetime.min if millis < 0 else _MAX_DATETIME_MS_PRECISION
                value = bound.replace(tzinfo=tzinfo)
        return value
    return EPOCH_NAIVE + datetime.timedelta(milliseconds=millis)


class DatetimeMS:
    """A BSON datetime as a raw millisecond count, for values ``datetime`` cannot hold.

    >>> DatetimeMS(2**62)
    DatetimeMS(4611686018427387904)
    """

    __slots__ = ("_value",)

    def __init__(self, value: int | datetime.datetime) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise OverflowError(f"DatetimeMS value {value} does not fit in a signed int64")
            self._value = value
        elif isinstance(value, datetime.datetime):
            self._value = datetime_to_millis(value)
        else:
            raise TypeError(f"{type(value).__name__} is not a valid type for DatetimeMS")

    def as_datetime(self, codec_options: CodecOptions[Any] | None = None) -> datetime.datetime:
        """A ``datetime`` as ``codec_options`` say (naive UTC by default, as in PyMongo).

        OverflowError when out of range, unless the options clamp.
        """
        from driver.bson.codec_options import DEFAULT_CODEC_OPTIONS

        options = codec_options or DEFAULT_CODEC_OPTIONS
        if not millis_in_range(self._value) and (
            options.datetime_conversion != DatetimeConversion.DATETIME_CLAMP
        ):
            raise OverflowError(
                f"DatetimeMS({self._value}) is outside the range of datetime.datetime"
            )
        return millis_to_datetime(self._value, options)

    def __int__(self) -> int:
        return self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"DatetimeMS({self._value})"

    def __getstate__(self) -> Any:
        return self._value

    def __setstate__(self, state: Any) -> None:
        self._value = state

    def _other(self, other: object) -> int | None:
        if isinstance(other, DatetimeMS):
            return other._value
        if isinstance(other, int) and not isinstance(other, bool):
            return other
        return None

    def __eq__(self, other: object) -> bool:
        value = self._other(other)
        return NotImplemented if value is None else self._value == value

    def __ne__(self, other: object) -> bool:
        value = self._other(other)
        return NotImplemented if value is None else self._value != value

    def __lt__(self, other: object) -> bool:
        value = self._other(other)
        return NotImplemented if value is None else self._value < value

    def __le__(self, other: object) -> bool:
        value = self._other(other)
        return NotImplemented if value is None else self._value <= value

    def __gt__(self, other: object) -> bool:
        value = self._other(other)
        return NotImplemented if value is None else self._value > value

    def __ge__(self, other: object) -> bool:
        value = self._other(other)
        return NotImplemented if value is None else self._value >= value
