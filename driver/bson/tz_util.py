"""Time-zone helpers: ``utc`` and ``FixedOffset`` (PyMongo's ``bson.tz_util``).

Example::

    >>> from driver.bson.tz_util import FixedOffset, utc
    >>> FixedOffset(60, "CET").utcoffset(None)
    datetime.timedelta(seconds=3600)
"""

from __future__ import annotations

import datetime

__all__ = ["FixedOffset", "utc"]

utc: datetime.timezone = datetime.timezone.utc


def FixedOffset(offset: float | datetime.timedelta, name: str) -> datetime.timezone:
    """A fixed offset from UTC, in minutes or as a timedelta, with a name."""
    if not isinstance(offset, datetime.timedelta):
        offset = datetime.timedelta(minutes=offset)
    return datetime.timezone(offset, name)
