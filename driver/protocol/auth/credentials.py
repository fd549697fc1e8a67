"""MongoCredential: who authenticates, how, and against which database.

The password never appears in ``repr`` or ``str``: credentials end up in logs and
tracebacks, and a medical-device audit trail must not carry secrets.

Example::

    >>> c = MongoCredential("SCRAM-SHA-256", "admin", "ada", "s3cret")
    >>> c
    MongoCredential(mechanism='SCRAM-SHA-256', source='admin', username='ada', password='***', mechanism_properties={})
    >>> "s3cret" in repr(c) or "s3cret" in str(c)
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MongoCredential"]


@dataclass(frozen=True, eq=True, repr=False)
class MongoCredential:
    """A credential: mechanism (``DEFAULT`` negotiates), source database, user, secret.

    ``mechanism_properties`` holds ``authMechanismProperties`` (normalised keys).
    """

    mechanism: str
    source: str
    username: str | None
    password: str | None = None
    mechanism_properties: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        secret = None if self.password is None else "***"
        return (
            f"MongoCredential(mechanism={self.mechanism!r}, source={self.source!r}, "
            f"username={self.username!r}, password={secret!r}, "
            f"mechanism_properties={dict(self.mechanism_properties)!r})"
        )

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash((self.mechanism, self.source, self.username, self.password))
