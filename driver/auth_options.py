"""The credential a connection string asks for, with the auth spec's defaults.

Authentication is configured by user information (``user:pw@``) or by
``authMechanism``; a database in the path or ``authSource`` alone configure nothing.
Defaults (auth spec): SCRAM and the negotiated default authenticate against
``authSource``, else the URI's database, else ``admin``; PLAIN against ``authSource``,
else the database, else ``$external``; MONGODB-X509 always against ``$external``.

GSSAPI, MONGODB-AWS and MONGODB-OIDC are deliberately not built: asking for one is a
:class:`~driver.errors.ConfigurationError`. Error messages never contain the password.

Example::

    >>> from driver.auth_options import build_credential
    >>> from driver.uri import parse_uri
    >>> build_credential(parse_uri("mongodb://ada:s3cret@localhost/shop"))
    MongoCredential(mechanism='DEFAULT', source='shop', username='ada', password='***', mechanism_properties={})
    >>> build_credential(parse_uri("mongodb://localhost/shop?authSource=admin")) is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driver.errors import ConfigurationError
from driver.options import CaseInsensitiveDict
from driver.protocol.auth.credentials import MongoCredential
from driver.uri import ParsedURI

__all__ = [
    "SUPPORTED_MECHANISMS",
    "UNSUPPORTED_MECHANISMS",
    "build_credential",
    "credential_from_parts",
]

SUPPORTED_MECHANISMS = ("DEFAULT", "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN", "MONGODB-X509")
UNSUPPORTED_MECHANISMS = ("GSSAPI", "MONGODB-AWS", "MONGODB-OIDC")


def build_credential(
    parsed: ParsedURI, options: Mapping[str, Any] | None = None
) -> MongoCredential | None:
    """The credential of a parsed URI, or ``None`` when it configures no authentication.

    ``options`` overrides ``parsed.options`` (e.g. merged with keyword arguments).

    >>> from driver.uri import parse_uri
    >>> build_credential(parse_uri("mongodb://localhost/?authMechanism=MONGODB-X509"))
    MongoCredential(mechanism='MONGODB-X509', source='$external', username=None, password=None, mechanism_properties={})
    """
    return credential_from_parts(
        parsed.username,
        parsed.password,
        parsed.database,
        parsed.options if options is None else options,
    )


def credential_from_parts(
    username: str | None,
    password: str | None,
    database: str | None,
    options: Mapping[str, Any],
) -> MongoCredential | None:
    """The credential for a username, password, URI database and validated options.

    >>> credential_from_parts(None, None, None, {"authMechanism": "PLAIN"})
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: authMechanism PLAIN needs a username
    """
    opts = CaseInsensitiveDict(options)
    mechanism = opts.get("authMechanism")
    if username is None and mechanism is None:
        return None
    mechanism = mechanism or "DEFAULT"
    if mechanism in UNSUPPORTED_MECHANISMS:
        raise ConfigurationError(
            f"authMechanism {mechanism} is not supported by this driver (supported: "
            f"{', '.join(SUPPORTED_MECHANISMS)})"
        )
    if mechanism not in SUPPORTED_MECHANISMS:
        raise ConfigurationError(f"Unknown authMechanism {mechanism!r}")
    source = opts.get("authSource")
    if source == "":
        raise ConfigurationError("authSource must not be empty")
    if opts.get("authMechanismProperties"):
        raise ConfigurationError(f"authMechanism {mechanism} takes no authMechanismProperties")
    if mechanism == "MONGODB-X509":
        if password is not None:
            raise ConfigurationError(
                "authMechanism MONGODB-X509 takes no password: the certificate is the proof"
            )
        if source not in (None, "$external"):
            raise ConfigurationError(
                f"authMechanism MONGODB-X509 authenticates against $external, not {source!r}"
            )
        return MongoCredential(mechanism, "$external", username, None, {})
    label = (
        "a connection string with user information"
        if mechanism == "DEFAULT"
        else (f"authMechanism {mechanism}")
    )
    if not username:
        raise ConfigurationError(f"{label} needs a username")
    if password is None:
        raise ConfigurationError(f"{label} needs a password (user:password@...)")
    default_source = "$external" if mechanism == "PLAIN" else "admin"
    return MongoCredential(mechanism, source or database or default_source, username, password, {})
