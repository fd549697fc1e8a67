"""TLS settings from connection options: one ``ssl.SSLContext`` per client.

Certificates and host names are verified by default. Turning a check off is allowed
(``tlsInsecure``, ``tlsAllowInvalidCertificates``, ``tlsAllowInvalidHostnames``) but
logs a warning once per client, so an audit of the logs shows it. Files that cannot be
read give a ``ConfigurationError`` naming the option and the file, never the key
password.

Example::

    >>> ctx = build_ssl_context({"tls": True})
    >>> ctx is not None and ctx.verify_mode.name, ctx.check_hostname
    ('CERT_REQUIRED', True)
    >>> build_ssl_context({}) is None
    True
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from typing import Any

from driver.errors import ConfigurationError

__all__ = ["build_ssl_context", "tls_enabled"]

_log = logging.getLogger("driver.tls")


def tls_enabled(options: Mapping[str, Any]) -> bool:
    """Whether the options ask for TLS (``tls``/``ssl``, or any ``tls*`` file option)."""
    flag = options.get("tls")
    if flag is not None:
        return bool(flag)
    return any(
        options.get(name) is not None for name in ("tlsCAFile", "tlsCertificateKeyFile")
    )


def build_ssl_context(options: Mapping[str, Any]) -> ssl.SSLContext | None:
    """An SSL context for the options, or None when TLS is off."""
    if not tls_enabled(options):
        return None
    insecure = bool(options.get("tlsInsecure"))
    allow_invalid_certs = insecure or bool(options.get("tlsAllowInvalidCertificates"))
    allow_invalid_hosts = (
        insecure or allow_invalid_certs or bool(options.get("tlsAllowInvalidHostnames"))
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ca_file = options.get("tlsCAFile")
    try:
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"tlsCAFile {ca_file!r} could not be loaded: {exc}") from None
    cert_file = options.get("tlsCertificateKeyFile")
    if cert_file:
        password = options.get("tlsCertificateKeyFilePassword")
        try:
            ctx.load_cert_chain(cert_file, password=password)
        except (OSError, ssl.SSLError) as exc:
            # The key password is never part of the message, even if ssl quoted it.
            reason = str(exc).replace(password, "***") if password else str(exc)
            raise ConfigurationError(
                f"tlsCertificateKeyFile {cert_file!r} could not be loaded: {reason}"
            ) from None
    crl_file = options.get("tlsCRLFile")
    if crl_file:
        try:
            ctx.load_verify_locations(cafile=crl_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"tlsCRLFile {crl_file!r} could not be loaded: {exc}") from None
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if allow_invalid_hosts:
        ctx.check_hostname = False
    if allow_invalid_certs:
        ctx.verify_mode = ssl.CERT_NONE
    if allow_invalid_certs or allow_invalid_hosts:
        _log.warning(
            "TLS verification is relaxed (%s): the server's identity is not fully checked",
            "certificates not verified" if allow_invalid_certs else "host names not verified",
        )
    return ctx
