"""ClientOptions: everything a client needs, derived once from a URI and keywords.

Pure: ``MongoClient(host, port, **kwargs)`` parses and validates here (through
:mod:`driver.uri` and :mod:`driver.options`), so the I/O shells only read settled
values. A keyword that contradicts the URI is refused in :mod:`driver.options`.

Example::

    >>> opts = ClientOptions.from_args("mongodb://db.example.com/?retryWrites=false", None, {})
    >>> opts.seeds, opts.retry_writes, opts.server_selection_timeout
    ([('db.example.com', 27017)], False, 30.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driver.auth_options import build_credential
from driver.bson.codec_options import CodecOptions
from driver.errors import ConfigurationError
from driver.options import URIOptions, validate_client_kwargs
from driver.protocol.auth import MongoCredential
from driver.srv import resolve_srv_uri
from driver.uri import ParsedURI, parse_host, parse_uri

__all__ = ["ClientOptions"]

_CODEC_KEYS = {
    "document_class": "document_class",
    "tz_aware": "tz_aware",
    "uuidRepresentation": "uuid_representation",
    "unicode_decode_error_handler": "unicode_decode_error_handler",
    "tzinfo": "tzinfo",
    "type_registry": "type_registry",
    "datetime_conversion": "datetime_conversion",
}


def _seconds(options: Mapping[str, Any], name: str, default: float | None) -> float | None:
    value = options.get(name)
    if value is None:
        return default
    # 0 means "no timeout" for the socket and connect timeouts, as in PyMongo.
    return None if value == 0 else float(value) / 1000.0


@dataclass(frozen=True)
class ClientOptions:
    """The settled options of one client (``client.options``)."""

    seeds: list[tuple[str, int | None]]
    options: URIOptions
    credential: MongoCredential | None
    codec_options: CodecOptions[Any]
    database: str | None
    srv_host: str | None = None  # the name of a mongodb+srv:// URI, for SRV polling

    @classmethod
    def from_args(
        cls,
        host: str | Sequence[str] | None,
        port: int | None,
        kwargs: Mapping[str, Any],
    ) -> ClientOptions:
        """Parse ``MongoClient``'s arguments (host may be a URI, a name or a list)."""
        port = 27017 if port is None else port
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ConfigurationError(f"port must be an integer from 1 to 65535, not {port!r}")
        hosts = ["localhost"] if host is None else [host] if isinstance(host, str) else list(host)
        seeds: list[tuple[str, int | None]] = []
        options = URIOptions()
        username = password = database = None
        parsed: ParsedURI | None = None
        for entity in hosts:
            if "://" in entity:
                if parsed is not None:
                    raise ConfigurationError("give at most one connection string as host")
                parsed = parse_uri(entity, default_port=port, warn=True)
                if parsed.is_srv:
                    # DNS is blocking; a client resolves once, when it is made. The
                    # URI's options win over the TXT record; keyword arguments are
                    # checked against both below (a contradiction is an error), but
                    # the two that steer the lookup itself apply now.
                    lookup = URIOptions(parsed.options)
                    for name in ("srvServiceName", "srvMaxHosts"):
                        if name in kwargs and name not in lookup:
                            lookup[name] = kwargs[name]
                    resolution = resolve_srv_uri(parsed, options=lookup)
                    seeds.extend(resolution.nodelist)
                    options = resolution.options
                else:
                    seeds.extend(parsed.nodelist)
                    options = parsed.options
                username, password, database = parsed.username, parsed.password, parsed.database
            else:
                seeds.append(parse_host(entity, port))
        merged = validate_client_kwargs(options, kwargs, seed_count=len(seeds))
        # Keyword arguments username=/password= stand in for the URI's user information.
        base = ParsedURI(
            nodelist=seeds,
            username=merged.get("username", username),
            password=merged.get("password", password),
            database=database,
            collection=None,
            options=merged,
        )
        credential = build_credential(base, merged)
        codec_args = {
            target: merged[source] for source, target in _CODEC_KEYS.items() if source in merged
        }
        return cls(
            seeds=seeds,
            options=merged,
            credential=credential,
            codec_options=CodecOptions(**codec_args),
            database=database,
            srv_host=parsed.fqdn if parsed is not None and parsed.is_srv else None,
        )

    @property
    def connect_timeout(self) -> float | None:
        return _seconds(self.options, "connectTimeoutMS", 20.0)

    @property
    def socket_timeout(self) -> float | None:
        return _seconds(self.options, "socketTimeoutMS", None)

    @property
    def server_selection_timeout(self) -> float:
        value = self.options.get("serverSelectionTimeoutMS")
        return 30.0 if value is None else float(value) / 1000.0

    @property
    def retry_writes(self) -> bool:
        return bool(self.options.get("retryWrites", True))

    @property
    def retry_reads(self) -> bool:
        return bool(self.options.get("retryReads", True))

    @property
    def direct_connection(self) -> bool:
        return bool(self.options.get("directConnection", False))

    @property
    def appname(self) -> str | None:
        value = self.options.get("appname")
        return None if value is None else str(value)
