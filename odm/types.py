"""Field types: how each Python annotation is stored in BSON and read back.

The BSON classes are the driver's own (``odm.ObjectId is driver.bson.ObjectId``); they
carry Pydantic schemas, so they work as annotations in any Pydantic model, a FastAPI
body included, and as constructors (``Field(default_factory=ObjectId)``).

======================  ===============================  ================================
annotation              stored as                        read back as
======================  ===============================  ================================
``str``, ``bool``,      string, boolean, double          the same
``float``
``int``                 int32 when it fits, else int64   ``int`` (values beyond 64 bits
                        (the BSON encoder's rule)        cannot be stored)
``Int64``               int64 always                     ``Int64`` (an ``int`` subclass)
``ObjectId``            ObjectId                         ``ObjectId``; JSON mode: the
                                                         24-hex string, accepted as input
``decimal.Decimal``     Decimal128 (at most 34 digits)   ``decimal.Decimal``
``Decimal128``          Decimal128                       ``Decimal128``
``uuid.UUID``           binary subtype 4 (standard)      ``uuid.UUID``
``datetime.datetime``   UTC datetime, milliseconds       aware, UTC, milliseconds
``datetime.date``       UTC datetime at midnight         ``datetime.date``
``bytes``               binary subtype 0                 ``bytes``
``Binary``              binary with its subtype          ``Binary``
``Regex``,              regular expression               ``Regex``; a compiled pattern
``re.Pattern``                                           for ``re.Pattern``
``Timestamp``           BSON timestamp                   ``Timestamp``; JSON mode:
                                                         ``{"t": int, "i": int}``
``Enum`` subclasses     the member's value               the member
``list``, ``tuple``,    array (sets sorted when their    the annotated container
``set``, ``frozenset``  items can be ordered)
``dict[K, V]``          embedded document (keys as str)  ``dict`` with ``K`` keys
a ``BaseModel``         embedded document                the model
======================  ===============================  ================================

Datetimes: BSON keeps milliseconds since the epoch in UTC. A naive datetime is taken as
UTC; an aware one is converted to UTC; microseconds below the millisecond are truncated
(rounded down, as the BSON encoder does), so ``12:00:00.123999`` is stored and read as
``12:00:00.123000+00:00``. The instance you saved keeps the value you gave it; annotate
:data:`UTCDateTime` to make the model itself hold the stored form from the start.

A bare container (``dict``, ``list``, ``set``, ``tuple``, ``typing.Dict``...) holds
``Any``, as in Pydantic: its values are stored by their own types' rules.

Other types Pydantic knows (URLs, IP addresses, paths, ``timedelta``...) are stored as
Pydantic's JSON form of the value (a string, mostly) and validated back on read.

Example::

    >>> from pydantic import BaseModel, Field
    >>> from odm.types import ObjectId
    >>> class Ref(BaseModel):
    ...     id: ObjectId = Field(default_factory=ObjectId)
    >>> Ref(id="5f43a1b2c3d4e5f6a7b8c9d0").model_dump_json()
    '{"id":"5f43a1b2c3d4e5f6a7b8c9d0"}'
    >>> Ref.model_json_schema()["properties"]["id"]["type"]
    'string'
"""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic.fields import FieldInfo

from driver.bson import Binary, Decimal128, Int64, ObjectId, Regex, Timestamp

__all__ = [
    "Binary",
    "Decimal128",
    "Int64",
    "ObjectId",
    "Regex",
    "Timestamp",
    "UTCDateTime",
    "to_stored_datetime",
]

_UTC = datetime.timezone.utc


def to_stored_datetime(value: datetime.datetime) -> datetime.datetime:
    """``value`` as BSON stores it: aware, in UTC, microseconds truncated to milliseconds.

    A naive datetime is taken as UTC.

    >>> to_stored_datetime(datetime.datetime(2024, 5, 1, 12, 0, 0, 123999))
    datetime.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)
    """
    tzinfo = value.tzinfo
    if tzinfo is not _UTC:
        if tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=_UTC)
        else:
            value = value.astimezone(_UTC)
    micro = value.microsecond
    if micro % 1000:
        value = value.replace(microsecond=micro - micro % 1000)
    return value


class _FieldDefaults(FieldInfo):  # type: ignore[misc]  # final for Pydantic's users
    """Field-level settings carried by a type alias (``Annotated[T, ...]``).

    Pydantic merges a ``FieldInfo`` in a field's ``Annotated`` metadata into the field.
    Where the alias is not a whole field's type (``list[UTCDateTime]``,
    ``UTCDateTime | None``) the settings have no effect, and Pydantic warns about a
    plain ``Field()`` there; it does not warn about subclasses (FastAPI's own are
    one), so this one says nothing where it cannot apply.
    """

    __slots__ = ()


UTCDateTime = Annotated[
    datetime.datetime,
    AfterValidator(to_stored_datetime),
    # Pydantic does not validate defaults unless told: without this a
    # ``Field(default_factory=...)`` value would keep its microseconds.
    _FieldDefaults(validate_default=True),
]
"""A ``datetime`` that the model holds as it will be stored: aware UTC, milliseconds.

Defaults are normalised too (``validate_default``) when ``UTCDateTime`` is the whole
type of the field; for ``UTCDateTime | None`` with a default factory, add
``Field(validate_default=True)`` yourself.

>>> from pydantic import BaseModel, Field
>>> class Event(BaseModel):
...     at: UTCDateTime
...     seen: UTCDateTime = Field(
...         default_factory=lambda: datetime.datetime(2024, 5, 1, 12, 0, 0, 123999))
>>> Event(at=datetime.datetime(2024, 5, 1, 12, 0, 0, 123999)).at
datetime.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)
>>> Event(at=datetime.datetime(2024, 5, 1)).seen
datetime.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)
"""
