"""WriteConcern: how many servers must acknowledge a write, and how durably.

PyMongo's ``pymongo.write_concern.WriteConcern``: the same constructor, the same
``document`` / ``acknowledged`` / ``is_server_default`` properties and the same
error types (``TypeError`` for wrong types, ``ValueError`` for negative numbers,
:class:`~driver.errors.ConfigurationError` for contradictions).

Example::

    >>> from driver.write_concern import WriteConcern
    >>> wc = WriteConcern(w="majority", wtimeout=1000)
    >>> wc.document, wc.acknowledged
    ({'w': 'majority', 'wtimeout': 1000}, True)
    >>> WriteConcern(w=0).acknowledged, WriteConcern().is_server_default
    (False, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driver.errors import ConfigurationError

__all__ = ["DEFAULT_WRITE_CONCERN", "WriteConcern", "write_concern_from_options"]


class WriteConcern:
    """A write concern.

    ``w``: how many members (an ``int`` >= 0) or which tag set / ``"majority"`` (a
    ``str``) must acknowledge; ``wtimeout``: milliseconds to wait for that (an ``int``
    >= 0); ``j``: wait for the on-disk journal; ``fsync``: the legacy spelling of
    ``j`` on old servers. ``None`` leaves a field to the server's default.

    >>> WriteConcern(w=2, j=True)
    WriteConcern(w=2, j=True)
    >>> WriteConcern(w=0, j=True)
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: Cannot set w to 0 and j to True: an unacknowledged write cannot wait for the journal
    """

    __slots__ = ("__acknowledged", "__document")

    def __init__(
        self,
        w: int | str | None = None,
        wtimeout: int | None = None,
        j: bool | None = None,
        fsync: bool | None = None,
    ) -> None:
        document: dict[str, Any] = {}
        if w is not None:
            if isinstance(w, bool) or not isinstance(w, (int, str)):
                raise TypeError(f"w must be an integer or a string, not {type(w).__name__}")
            if isinstance(w, int) and w < 0:
                raise ValueError(f"w must not be negative, got {w}")
            document["w"] = w
        if wtimeout is not None:
            if isinstance(wtimeout, bool) or not isinstance(wtimeout, int):
                raise TypeError(f"wtimeout must be an integer, not {type(wtimeout).__name__}")
            if wtimeout < 0:
                raise ValueError(f"wtimeout must not be negative, got {wtimeout}")
            document["wtimeout"] = wtimeout
        if j is not None:
            if not isinstance(j, bool):
                raise TypeError(f"j must be True or False, not {type(j).__name__}")
            document["j"] = j
        if fsync is not None:
            if not isinstance(fsync, bool):
                raise TypeError(f"fsync must be True or False, not {type(fsync).__name__}")
            document["fsync"] = fsync
        if w == 0 and j is True:
            raise ConfigurationError(
                "Cannot set w to 0 and j to True: an unacknowledged write cannot wait for "
                "the journal"
            )
        if j and fsync:
            raise ConfigurationError("Cannot set both j and fsync: they ask for the same thing")
        self.__document = document
        self.__acknowledged = w != 0

    @property
    def document(self) -> dict[str, Any]:
        """The write concern as a command document (a fresh copy each time)."""
        return dict(self.__document)

    @property
    def acknowledged(self) -> bool:
        """Whether the server acknowledges writes (everything but ``w=0``)."""
        return self.__acknowledged

    @property
    def is_server_default(self) -> bool:
        """Whether nothing was set, so the server's default applies."""
        return not self.__document

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.__document.items())
        return f"WriteConcern({fields})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WriteConcern):
            return self.__document == other.__document
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, WriteConcern):
            return self.__document != other.__document
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.__document.items())))


DEFAULT_WRITE_CONCERN = WriteConcern()


def write_concern_from_options(options: Mapping[str, Any]) -> WriteConcern:
    """The write concern that validated client options ask for.

    ``options`` uses the canonical option names (``w``, ``wTimeoutMS``, ``journal``,
    ``fsync``), as :func:`driver.uri.parse_uri` produces them.

    >>> write_concern_from_options({"w": "majority", "wTimeoutMS": 500})
    WriteConcern(w='majority', wtimeout=500)
    """
    return WriteConcern(
        w=options.get("w"),
        wtimeout=_whole_ms(options.get("wTimeoutMS")),
        j=options.get("journal"),
        fsync=options.get("fsync"),
    )


def _whole_ms(value: Any) -> Any:
    # A keyword argument may give wTimeoutMS as a float; the server wants an int.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
