"""Read preferences: which members of a replica set a read may go to.

PyMongo's ``pymongo.read_preferences`` value objects, without ``hedge`` (the server
deprecated hedged reads in 8.0; passing ``hedge=`` is a ``TypeError`` here). Server
selection itself (applying a preference to a topology) lives elsewhere; these are
the values only.

Example::

    >>> from driver.read_preferences import ReadPreference, Secondary
    >>> ReadPreference.PRIMARY.document
    {'mode': 'primary'}
    >>> Secondary(tag_sets=[{"dc": "ny"}, {}], max_staleness=120).document
    {'mode': 'secondary', 'tags': [{'dc': 'ny'}, {}], 'maxStalenessSeconds': 120}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from driver.errors import ConfigurationError

__all__ = [
    "Nearest",
    "Primary",
    "PrimaryPreferred",
    "ReadPreference",
    "Secondary",
    "SecondaryPreferred",
    "make_read_preference",
    "read_pref_mode_from_name",
    "read_preference_from_options",
]

_PRIMARY = 0
_PRIMARY_PREFERRED = 1
_SECONDARY = 2
_SECONDARY_PREFERRED = 3
_NEAREST = 4

# The names the server (and the connection string) uses, indexed by mode number.
_MONGOS_MODES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")

TagSets = list[dict[str, str]]


def _validate_tag_sets(tag_sets: Any) -> TagSets | None:
    if tag_sets is None:
        return None
    if isinstance(tag_sets, (str, bytes, Mapping)) or not isinstance(tag_sets, Sequence):
        raise TypeError(f"tag_sets must be a list of dicts, not {type(tag_sets).__name__}")
    if not tag_sets:
        raise ValueError("tag_sets must not be empty; use [{}] (or None) to match any member")
    result: TagSets = []
    for tag_set in tag_sets:
        if not isinstance(tag_set, Mapping):
            raise TypeError(
                f"each tag set must be a dict (a Mapping), not {type(tag_set).__name__}"
            )
        for key, value in tag_set.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"tag set keys and values must be strings, got {key!r}: {value!r}")
        result.append(dict(tag_set))
    return result


def _validate_max_staleness(max_staleness: Any) -> int:
    # -1 means "no maximum". Positive values below 90 s are accepted here and refused
    # at server selection, as the max-staleness spec requires ("no validation" at
    # construction: the real floor depends on heartbeatFrequencyMS).
    if isinstance(max_staleness, bool) or not isinstance(max_staleness, int):
        raise TypeError(f"max_staleness must be an integer, not {type(max_staleness).__name__}")
    if max_staleness != -1 and max_staleness <= 0:
        raise ValueError(
            f"max_staleness must be -1 (no maximum) or a positive number of seconds, "
            f"got {max_staleness}"
        )
    return max_staleness


class _ServerMode:
    """A read preference: a mode, tag sets to match in order, and a staleness bound."""

    __slots__ = ("__max_staleness", "__mode", "__tag_sets")

    def __init__(self, mode: int, tag_sets: Any = None, max_staleness: int = -1) -> None:
        self.__mode = mode
        self.__tag_sets = _validate_tag_sets(tag_sets)
        self.__max_staleness = _validate_max_staleness(max_staleness)

    @property
    def name(self) -> str:
        """The class name, e.g. ``"SecondaryPreferred"``."""
        return type(self).__name__

    @property
    def mongos_mode(self) -> str:
        """The mode as the server spells it, e.g. ``"secondaryPreferred"``."""
        return _MONGOS_MODES[self.__mode]

    @property
    def mode(self) -> int:
        """The mode number (0 = primary ... 4 = nearest), as in PyMongo."""
        return self.__mode

    @property
    def document(self) -> dict[str, Any]:
        """The read preference as the ``$readPreference`` document."""
        doc: dict[str, Any] = {"mode": self.mongos_mode}
        if self.__tag_sets not in (None, [{}]):
            doc["tags"] = [dict(tag_set) for tag_set in self.__tag_sets or ()]
        if self.__max_staleness != -1:
            doc["maxStalenessSeconds"] = self.__max_staleness
        return doc

    @property
    def tag_sets(self) -> TagSets:
        """The tag sets, in order; ``[{}]`` (match any member) when none were given."""
        return [dict(tag_set) for tag_set in self.__tag_sets] if self.__tag_sets else [{}]

    @property
    def max_staleness(self) -> int:
        """The maximum replication lag in seconds, or -1 for no maximum."""
        return self.__max_staleness

    @property
    def min_wire_version(self) -> int:
        """The lowest wire version that understands this preference."""
        return 5 if self.__max_staleness != -1 else 0

    @property
    def secondary_ok(self) -> bool:
        """Whether a secondary may serve reads under this preference."""
        return self.__mode != _PRIMARY

    def __repr__(self) -> str:
        return f"{self.name}(tag_sets={self.__tag_sets!r}, max_staleness={self.__max_staleness!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _ServerMode):
            return (
                self.mode == other.mode
                and self.tag_sets == other.tag_sets
                and self.max_staleness == other.max_staleness
            )
        return NotImplemented

    def __hash__(self) -> int:
        tags = tuple(tuple(sorted(tag_set.items())) for tag_set in self.tag_sets)
        return hash((self.__mode, tags, self.__max_staleness))


class Primary(_ServerMode):
    """Read from the primary only (the default).

    >>> Primary()
    Primary()
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(_PRIMARY)

    def __repr__(self) -> str:
        return "Primary()"


class PrimaryPreferred(_ServerMode):
    """Read from the primary, or a matching secondary when there is no primary.

    >>> PrimaryPreferred(max_staleness=90).document
    {'mode': 'primaryPreferred', 'maxStalenessSeconds': 90}
    """

    __slots__ = ()

    def __init__(self, tag_sets: Any = None, max_staleness: int = -1) -> None:
        super().__init__(_PRIMARY_PREFERRED, tag_sets, max_staleness)


class Secondary(_ServerMode):
    """Read from a matching secondary only.

    >>> Secondary([{"dc": "ny"}]).tag_sets
    [{'dc': 'ny'}]
    """

    __slots__ = ()

    def __init__(self, tag_sets: Any = None, max_staleness: int = -1) -> None:
        super().__init__(_SECONDARY, tag_sets, max_staleness)


class SecondaryPreferred(_ServerMode):
    """Read from a matching secondary, or the primary when there is none.

    >>> SecondaryPreferred().mongos_mode
    'secondaryPreferred'
    """

    __slots__ = ()

    def __init__(self, tag_sets: Any = None, max_staleness: int = -1) -> None:
        super().__init__(_SECONDARY_PREFERRED, tag_sets, max_staleness)


class Nearest(_ServerMode):
    """Read from any matching member within the latency window.

    >>> Nearest().mode
    4
    """

    __slots__ = ()

    def __init__(self, tag_sets: Any = None, max_staleness: int = -1) -> None:
        super().__init__(_NEAREST, tag_sets, max_staleness)


class ReadPreference:
    """The five modes without tags or staleness bounds, as in PyMongo.

    >>> ReadPreference.SECONDARY_PREFERRED
    SecondaryPreferred(tag_sets=None, max_staleness=-1)
    """

    PRIMARY = Primary()
    PRIMARY_PREFERRED = PrimaryPreferred()
    SECONDARY = Secondary()
    SECONDARY_PREFERRED = SecondaryPreferred()
    NEAREST = Nearest()


_CLASSES: tuple[type[_ServerMode], ...] = (
    Primary,
    PrimaryPreferred,
    Secondary,
    SecondaryPreferred,
    Nearest,
)


def read_pref_mode_from_name(name: str) -> int:
    """The mode number of a mode name as the server spells it.

    >>> read_pref_mode_from_name("secondaryPreferred")
    3
    """
    try:
        return _MONGOS_MODES.index(name)
    except ValueError:
        raise ValueError(
            f"{name!r} is not a read preference mode; use one of {', '.join(_MONGOS_MODES)}"
        ) from None


def make_read_preference(mode: int, tag_sets: Any, max_staleness: int = -1) -> _ServerMode:
    """A read preference from a mode number, tag sets and a staleness bound.

    Mode primary takes neither tags nor a staleness bound: a
    :class:`~driver.errors.ConfigurationError` says so.

    >>> make_read_preference(2, [{"dc": "ny"}], 120)
    Secondary(tag_sets=[{'dc': 'ny'}], max_staleness=120)
    >>> make_read_preference(0, [{"dc": "ny"}])
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: Read preference mode primary cannot be combined with tags
    """
    if mode == _PRIMARY:
        if tag_sets not in (None, [{}]):
            raise ConfigurationError("Read preference mode primary cannot be combined with tags")
        if max_staleness != -1:
            raise ConfigurationError(
                "Read preference mode primary cannot be combined with maxStalenessSeconds"
            )
        return Primary()
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode < len(_CLASSES):
        raise ValueError(f"{mode!r} is not a read preference mode number (0 to 4)")
    cls: Any = _CLASSES[mode]
    result: _ServerMode = cls(tag_sets, max_staleness)
    return result


def read_preference_from_options(options: Mapping[str, Any]) -> _ServerMode:
    """The read preference that validated client options ask for.

    ``options`` uses the canonical names ``readPreference``, ``readPreferenceTags``
    and ``maxStalenessSeconds``; a missing mode means primary.

    >>> read_preference_from_options({"readPreference": "nearest"})
    Nearest(tag_sets=None, max_staleness=-1)
    """
    mode = read_pref_mode_from_name(options.get("readPreference") or "primary")
    tags = options.get("readPreferenceTags")
    max_staleness = options.get("maxStalenessSeconds", -1)
    return make_read_preference(mode, tags or None, max_staleness)
