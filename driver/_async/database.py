"""AsyncDatabase: a database of a client, and running commands on it.

Example (needs a server)::

    client = AsyncMongoClient("mongodb://127.0.0.1:27017/?directConnection=true")
    reply = await client.admin.command("ping")
    assert reply["ok"] == 1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driver.bson.codec_options import DEFAULT_CODEC_OPTIONS, CodecOptions
from driver.errors import ConfigurationError, InvalidName
from driver.protocol.commands import check_command_reply

if TYPE_CHECKING:
    from driver._async.client import AsyncMongoClient

__all__ = ["AsyncDatabase"]


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidName("database name cannot be empty")
    for char in ' ./\\"$\x00':
        if char in name:
            raise InvalidName(f"database name {name!r} must not contain {char!r}")


class AsyncDatabase:
    """A database: ``client[name]`` or ``client.get_database(name)``."""

    def __init__(
        self,
        client: AsyncMongoClient,
        name: str,
        codec_options: CodecOptions[Any] | None = None,
    ) -> None:
        _check_name(name)
        self._client = client
        self._name = name
        self._codec_options = codec_options or client.codec_options

    @property
    def name(self) -> str:
        return self._name

    @property
    def client(self) -> AsyncMongoClient:
        return self._client

    @property
    def codec_options(self) -> CodecOptions[Any]:
        return self._codec_options

    async def command(
        self,
        command: str | Mapping[str, Any],
        value: Any = 1,
        check: bool = True,
        allowable_errors: Sequence[str | int] | None = None,
        read_preference: Any = None,
        codec_options: CodecOptions[Any] = DEFAULT_CODEC_OPTIONS,
        session: Any = None,
        comment: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Run a command and return its reply (PyMongo's ``Database.command``).

        ``command`` is a document, or a command name (``value`` is its value and
        ``kwargs`` become further fields, in order). A failed command raises
        :class:`~driver.errors.OperationFailure` (or a subclass keyed on the code),
        unless ``check`` is false or its ``errmsg`` or ``code`` is in
        ``allowable_errors``. The reply decodes with ``codec_options`` (PyMongo's
        default options, not the database's, as in PyMongo). ``read_preference``
        chooses the server (default: the primary, as in PyMongo).
        """
        if session is not None:
            raise ConfigurationError(
                "explicit sessions are not supported yet: call command() without session="
            )
        if isinstance(command, str):
            document: dict[str, Any] = {command: value, **kwargs}
        else:
            document = {**command, **kwargs}
        if comment is not None:
            document["comment"] = comment
        reply = await self._client._run_command(
            self._name, document, codec_options, read_preference
        )
        if check and not (
            allowable_errors
            and (reply.get("errmsg") in allowable_errors or reply.get("code") in allowable_errors)
        ):
            check_command_reply(reply)
        return reply

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AsyncDatabase):
            return self._client is other._client and self._name == other._name
        return NotImplemented

    def __hash__(self) -> int:
        return hash((id(self._client), self._name))

    def __repr__(self) -> str:
        return f"AsyncDatabase({self._client!r}, {self._name!r})"
