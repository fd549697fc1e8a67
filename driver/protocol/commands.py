"""Reading a command reply: success, or the typed error the server's code calls for.

Errors are keyed on the server's ``code`` (what regulated users audit against), with
the reply kept as ``details``. "Not writable primary" and "node is recovering" errors
become :class:`NotPrimaryError` so the topology layer can react to them.

Example::

    >>> check_command_reply({"ok": 1, "n": 1})
    >>> try:
    ...     check_command_reply({"ok": 0, "code": 11000, "errmsg": "E11000 duplicate key"})
    ... except DuplicateKeyError as exc:
    ...     print(exc.code)
    11000
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driver.errors import (
    CursorNotFound,
    DuplicateKeyError,
    ExecutionTimeout,
    NotPrimaryError,
    OperationFailure,
    WriteConcernError,
    WTimeoutError,
)

__all__ = [
    "NODE_IS_RECOVERING_CODES",
    "NOT_WRITABLE_PRIMARY_CODES",
    "check_command_reply",
    "is_not_primary_or_recovering",
]

NOT_WRITABLE_PRIMARY_CODES = frozenset({10107, 13435, 10058})
NODE_IS_RECOVERING_CODES = frozenset({11600, 11602, 13436, 189, 91})
_DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})


def is_not_primary_or_recovering(code: int | None, message: str) -> bool:
    """The SDAM rule: by code when there is one, else by the legacy message text."""
    if code is not None:
        return code in NOT_WRITABLE_PRIMARY_CODES or code in NODE_IS_RECOVERING_CODES
    return "not master" in message or "node is recovering" in message


def _message(reply: Mapping[str, Any]) -> str:
    text = reply.get("errmsg") or reply.get("$err") or "command failed"
    return str(text)


def check_command_reply(reply: Mapping[str, Any], max_wire_version: int | None = None) -> None:
    """Raise the matching error if ``reply`` says the command failed."""
    if reply.get("ok") and "writeConcernError" not in reply:
        return
    if not reply.get("ok"):
        code = reply.get("code")
        message = _message(reply)
        if is_not_primary_or_recovering(code, message):
            raise NotPrimaryError(message, dict(reply))
        if code in _DUPLICATE_KEY_CODES:
            raise DuplicateKeyError(message, code, reply, max_wire_version)
        if code == 50:
            raise ExecutionTimeout(message, code, reply, max_wire_version)
        if code == 43:
            raise CursorNotFound(message, code, reply, max_wire_version)
        raise OperationFailure(message, code, reply, max_wire_version)
    concern = reply["writeConcernError"]
    code = concern.get("code")
    message = str(concern.get("errmsg", "write concern error"))
    details = dict(reply)
    if code == 64 and (concern.get("errInfo") or {}).get("wtimeout"):
        raise WTimeoutError(message, code, details, max_wire_version)
    raise WriteConcernError(message, code, details, max_wire_version)
