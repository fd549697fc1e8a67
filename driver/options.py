"""Client options: the table of URI options, their validators, and how they merge.

Every option a connection string or a ``MongoClient(...)`` keyword may set is listed
here once, under its canonical name (the URI options spec's spelling, e.g.
``wTimeoutMS``), with a validator that accepts both the URI form (a string) and the
Python form (``True``, ``500``, ``["zlib"]``...). Names are case-insensitive.

Rules worth knowing (the spec leaves them open; these are Feldspar's choices):

- Booleans are ``true``/``false`` in any letter case; ``1``, ``yes``, ``y``, ``t``,
  ``0``, ``-1``, ``no``... are invalid values (the spec tests treat ``loadBalanced=1``
  as invalid).
- Integers in a URI are plain decimal digits with an optional ``-``: no ``+``, no
  spaces, no ``_``, no fractions. 32-bit unless the spec says 64 (``wTimeoutMS``).
  Keyword arguments may give a ``*MS`` timeout as a float.
- An empty value (``?maxPoolSize=``) means "not set": it is ignored with a warning,
  except ``authSource=`` (always an error, the auth spec) and ``readPreferenceTags=``
  (an empty tag set, which matches any member).
- Aliases: ``ssl`` is ``tls`` and ``j`` is ``journal`` (both spellings must agree);
  ``wtimeout`` is a deprecated spelling of ``wTimeoutMS`` that loses to it.
- A keyword argument that contradicts the connection string is an error naming both;
  the same value twice is fine. A keyword argument of ``None`` means "not given".

Example::

    >>> from driver.options import validate_client_kwargs
    >>> opts = validate_client_kwargs({"retryWrites": False}, {"maxpoolsize": 5})
    >>> opts["retryWrites"], opts["maxPoolSize"], "MAXPOOLSIZE" in opts
    (False, 5, True)
    >>> validate_client_kwargs({"retryWrites": False}, {"retryWrites": True})
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: retryWrites=True (keyword argument) contradicts retryWrites=False (connection string); give it once
"""

from __future__ import annotations

import datetime
import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from driver.bson.binary import UuidRepresentation
from driver.errors import ConfigurationError
from driver.monitoring import is_listener

__all__ = [
    "CaseInsensitiveDict",
    "OptionSpec",
    "URIOptions",
    "canonical_name",
    "check_combinations",
    "lookup",
    "normalize_names",
    "validate_client_kwargs",
]

_V = TypeVar("_V")

# The spec folds keys by lowercasing ASCII A-Z only; str.lower() would also fold
# non-ASCII letters and make two different unknown keys collide.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(key: str) -> str:
    """The case-folded form of an option name.

    >>> fold("wTimeoutMS")
    'wtimeoutms'
    """
    return key.translate(_ASCII_LOWER)


class CaseInsensitiveDict(MutableMapping[str, _V]):
    """A dict whose string keys match regardless of case; it remembers each spelling.

    >>> d = CaseInsensitiveDict({"replicaSet": "rs0"})
    >>> d["REPLICASET"], list(d), d == {"replicaset": "rs0"}
    ('rs0', ['replicaSet'], True)
    """

    def __init__(self, data: Mapping[str, _V] | Iterable[tuple[str, _V]] | None = None) -> None:
        self._store: dict[str, tuple[str, _V]] = {}
        if data is not None:
            self.update(data)

    def __getitem__(self, key: str) -> _V:
        return self._store[fold(key)][1]

    def __setitem__(self, key: str, value: _V) -> None:
        self._store[fold(key)] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._store[fold(key)]

    def __iter__(self) -> Iterator[str]:
        return (cased for cased, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and fold(key) in self._store

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        mine = {folded: value for folded, (_, value) in self._store.items()}
        theirs = {fold(str(key)): value for key, value in other.items()}
        return mine == theirs

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"

    def cased_key(self, key: str) -> str:
        """The spelling under which ``key`` was stored."""
        return self._store[fold(key)][0]

    def copy(self) -> CaseInsensitiveDict[_V]:
        """A shallow copy."""
        new = type(self)()
        new._store = dict(self._store)
        return new


# Values never shown in a repr, a warning or an error message.
_SECRET = frozenset({"proxypassword", "tlscertificatekeyfilepassword", "password"})
_SECRET_PROPERTIES = frozenset({"AWS_SESSION_TOKEN"})
_REDACTED = "'***'"


class URIOptions(CaseInsensitiveDict[Any]):
    """Validated client options by canonical name; the repr hides secrets.

    >>> URIOptions({"proxyPassword": "hunter2", "tls": True})
    URIOptions({'proxyPassword': '***', 'tls': True})
    """

    def __repr__(self) -> str:
        parts = []
        for key, value in self.items():
            shown = repr(value)
            if fold(key) in _SECRET:
                shown = _REDACTED
            elif fold(key) == "authmechanismproperties" and isinstance(value, Mapping):
                shown = repr(
                    {
                        k: "***" if str(k).upper() in _SECRET_PROPERTIES else v
                        for k, v in value.items()
                    }
                )
            parts.append(f"{key!r}: {shown}")
        return f"URIOptions({{{', '.join(parts)}}})"

    def copy(self) -> URIOptions:
        new = URIOptions()
        new._store = dict(self._store)
        return new


class Invalid(Exception):
    """Raised by a validator: ``reason`` says what a valid value looks like."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# A validator gets the value and a list to append warnings to; it returns the value in
# its Python form or raises Invalid.
Validator = Callable[[Any, list[str]], Any]

_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
_INT_RE = re.compile(r"-?[0-9]+")


def _integer(value: Any, *, allow_float: bool = False) -> int | float:
    if isinstance(value, bool):
        raise Invalid("must be an integer, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and allow_float:
        if not math.isfinite(value):
            raise Invalid("must be a finite number")
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value):
        return int(value)
    raise Invalid("must be an integer")


def _int_range(minimum: int, maximum: int = _INT32_MAX, *, allow_float: bool = False) -> Validator:
    if maximum in (_INT32_MAX, _INT64_MAX):
        wanted = f"an integer >= {minimum}"
    else:
        wanted = f"an integer from {minimum} to {maximum}"

    def validate(value: Any, notes: list[str]) -> Any:
        try:
            number = _integer(value, allow_float=allow_float)
        except Invalid:
            raise Invalid(f"must be {wanted}") from None
        if not minimum <= number <= maximum:
            raise Invalid(f"must be {wanted}")
        return number

    return validate


def _ms(minimum: int, maximum: int = _INT32_MAX) -> Validator:
    return _int_range(minimum, maximum, allow_float=True)


def _bool(value: Any, notes: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and fold(value) in ("true", "false"):
        return fold(value) == "true"
    raise Invalid("must be 'true' or 'false'")


def _python_bool(value: Any, notes: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid("must be True or False")


def _string(value: Any, notes: list[str]) -> str:
    if not isinstance(value, str):
        raise Invalid("must be a string")
    if not value:
        raise Invalid("must not be empty")
    return value


def _anything(value: Any, notes: list[str]) -> Any:
    return value


def _choice(*names: str) -> Validator:
    by_fold = {fold(name): name for name in names}

    def validate(value: Any, notes: list[str]) -> str:
        if isinstance(value, str) and fold(value) in by_fold:
            return by_fold[fold(value)]
        raise Invalid(f"must be one of {', '.join(names)}")

    return validate


def _appname(value: Any, notes: list[str]) -> str:
    text = _string(value, notes)
    # The handshake spec caps the application name at 128 bytes of UTF-8.
    if len(text.encode("utf-8", "surrogatepass")) > 128:
        raise Invalid("must be at most 128 bytes long in UTF-8")
    return text


MECHANISMS = (
    "DEFAULT",
    "GSSAPI",
    "MONGODB-AWS",
    "MONGODB-OIDC",
    "MONGODB-X509",
    "PLAIN",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
)
_auth_mechanism = _choice(*MECHANISMS)


def _properties(value: Any, notes: list[str]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise Invalid("must have string keys")
        return dict(value)
    if not isinstance(value, str):
        raise Invalid("must be KEY:value pairs separated by commas, or a dict")
    result: dict[str, Any] = {}
    # Split on commas first, then each entry on its first colon: values may hold
    # colons (TOKEN_RESOURCE:mongodb://host) but never commas. Entries are counted,
    # not shown: a value may be a secret such as AWS_SESSION_TOKEN.
    for number, entry in enumerate(value.split(","), start=1):
        key, colon, item = entry.partition(":")
        if not colon or not key:
            raise Invalid(
                f"must be KEY:value pairs separated by commas; entry {number} has no "
                "'KEY:' (a value cannot contain a comma)"
            )
        if key in result:
            raise Invalid(f"must not repeat a key; entry {number} repeats one")
        result[key] = item
    # Booleans only where the auth spec defines them, so a SERVICE_REALM of "true"
    # stays a string.
    flag = result.get("CANONICALIZE_HOST_NAME")
    if isinstance(flag, str) and fold(flag) in ("true", "false"):
        result["CANONICALIZE_HOST_NAME"] = fold(flag) == "true"
    return result


def _auth_source(value: Any, notes: list[str]) -> str:
    if not isinstance(value, str):
        raise Invalid("must be a string")
    if not value:
        raise Invalid("must not be empty (the auth spec makes an empty authSource an error)")
    return value


COMPRESSORS = ("snappy", "zlib", "zstd")


def _compressors(value: Any, notes: list[str]) -> list[str]:
    if isinstance(value, str):
        names = value.split(",")
    elif isinstance(value, Sequence) and all(isinstance(name, str) for name in value):
        names = list(value)
    else:
        raise Invalid("must be a comma-separated string or a list of names")
    result: list[str] = []
    for name in names:
        lowered = fold(name.strip())
        if lowered not in COMPRESSORS:
            notes.append(
                f"Unsupported compressor {name!r} in compressors; it is ignored "
                f"(supported: {', '.join(COMPRESSORS)})"
            )
        elif lowered not in result:
            result.append(lowered)
    return result


def _max_staleness(value: Any, notes: list[str]) -> int:
    # -1 = no maximum. Positive values below 90 are accepted here and refused at
    # server selection, as the max-staleness spec's "no validation" test requires.
    try:
        number = _integer(value)
    except Invalid:
        raise Invalid("must be -1 or a positive integer (seconds)") from None
    if number != -1 and number <= 0:
        raise Invalid("must be -1 or a positive integer (seconds)")
    return int(number)


_read_preference = _choice(
    "primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"
)


def _tag_set(value: Any, number: int) -> dict[str, str]:
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise Invalid(f"tag set {number} must map strings to strings")
        return dict(value)
    if not isinstance(value, str):
        raise Invalid(f"tag set {number} must be a 'key:value,...' string or a dict")
    if value == "":
        return {}
    tags: dict[str, str] = {}
    for entry in value.split(","):
        key, colon, item = entry.partition(":")
        if not colon or not key:
            raise Invalid(f"tag set {number} must be key:value pairs separated by commas")
        if key in tags:
            raise Invalid(f"tag set {number} repeats a tag")
        tags[key] = item
    return tags


def _tag_sets(value: Any, notes: list[str]) -> list[dict[str, str]]:
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, Sequence):
        raise Invalid("must be a list of tag sets")
    return [_tag_set(item, number) for number, item in enumerate(items, start=1)]


_SERVICE_NAME_RE = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*")


def _srv_service_name(value: Any, notes: list[str]) -> str:
    # RFC 6335 section 5.1 (letters, digits, single inner hyphens, at least one
    # letter), but longer than 15 characters is allowed up to the DNS label limit.
    text = _string(value, notes)
    if len(text) > 62 or not _SERVICE_NAME_RE.fullmatch(text) or not any(c.isalpha() for c in text):
        raise Invalid(
            "must be an RFC 6335 service name: letters, digits and single inner hyphens, "
            "at least one letter, at most 62 characters"
        )
    return text


_UUID_NAMES = {
    "unspecified": UuidRepresentation.UNSPECIFIED,
    "standard": UuidRepresentation.STANDARD,
    "pythonlegacy": UuidRepresentation.PYTHON_LEGACY,
    "javalegacy": UuidRepresentation.JAVA_LEGACY,
    "csharplegacy": UuidRepresentation.CSHARP_LEGACY,
}


def _uuid_representation(value: Any, notes: list[str]) -> int:
    if isinstance(value, str) and fold(value) in _UUID_NAMES:
        return _UUID_NAMES[fold(value)]
    if isinstance(value, int) and not isinstance(value, bool) and value in _UUID_NAMES.values():
        return value
    raise Invalid("must be one of unspecified, standard, pythonLegacy, javaLegacy, csharpLegacy")


def _w(value: Any, notes: list[str]) -> int | str:
    if isinstance(value, str) and not _INT_RE.fullmatch(value):
        if not value:
            raise Invalid("must not be empty")
        return value  # a tag set name or "majority": the server decides
    try:
        number = int(_integer(value))
    except Invalid:
        raise Invalid("must be a non-negative integer or a string") from None
    if not 0 <= number <= _INT32_MAX:
        raise Invalid("must be a non-negative integer or a string")
    return number


def _tzinfo(value: Any, notes: list[str]) -> Any:
    if not isinstance(value, datetime.tzinfo):
        raise Invalid("must be a datetime.tzinfo")
    return value


_unicode_handler = _choice("strict", "replace", "backslashreplace", "surrogateescape", "ignore")


def _listeners(value: Any, notes: list[str]) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise Invalid("must be a list of event listeners")
    items = list(value)
    for item in items:
        if not is_listener(item):
            raise Invalid(
                f"holds {type(item).__name__}, which is not an event listener (subclass "
                "one of driver.monitoring's ConnectionPoolListener, ServerListener, "
                "TopologyListener or ServerHeartbeatListener)"
            )
    return items


_UNSET: Any = object()


@dataclass(frozen=True)
class OptionSpec:
    """One client option: canonical ``name``, validator, and where it may appear.

    ``in_uri``: allowed in a connection string (else keyword-only); ``secret``: its
    value is never shown; ``repeatable``: each occurrence in a URI adds to a list;
    ``always_error``: an invalid value is an error even in warn mode; ``keep_empty``:
    an empty value is a value; ``none_value``: what a keyword argument of ``None``
    means (by default, "not given").
    """

    name: str
    validator: Validator
    in_uri: bool = True
    secret: bool = False
    repeatable: bool = False
    always_error: bool = False
    keep_empty: bool = False
    none_value: Any = _UNSET


_TABLE: tuple[OptionSpec, ...] = (
    OptionSpec("appname", _appname),
    OptionSpec("authMechanism", _auth_mechanism),
    OptionSpec("authMechanismProperties", _properties, secret=True),
    OptionSpec("authSource", _auth_source, always_error=True, keep_empty=True),
    OptionSpec("compressors", _compressors),
    OptionSpec("connectTimeoutMS", _ms(0), none_value=0),
    OptionSpec("directConnection", _bool),
    OptionSpec("enableOverloadRetargeting", _bool),
    OptionSpec("fsync", _bool),
    OptionSpec("heartbeatFrequencyMS", _ms(500)),
    OptionSpec("journal", _bool),
    OptionSpec("loadBalanced", _bool),
    OptionSpec("localThresholdMS", _ms(0)),
    OptionSpec("maxAdaptiveRetries", _int_range(0)),
    OptionSpec("maxConnecting", _int_range(1)),
    OptionSpec("maxIdleTimeMS", _ms(0)),
    OptionSpec("maxPoolSize", _int_range(0)),
    OptionSpec("maxStalenessSeconds", _max_staleness),
    OptionSpec("minPoolSize", _int_range(0)),
    OptionSpec("proxyHost", _string),
    OptionSpec("proxyPassword", _string, secret=True),
    OptionSpec("proxyPort", _int_range(1, 65535)),
    OptionSpec("proxyUsername", _string),
    OptionSpec("readConcernLevel", _string),
    OptionSpec("readPreference", _read_preference),
    OptionSpec("readPreferenceTags", _tag_sets, repeatable=True, keep_empty=True),
    OptionSpec("replicaSet", _string),
    OptionSpec("retryReads", _bool),
    OptionSpec("retryWrites", _bool),
    OptionSpec("serverMonitoringMode", _choice("stream", "poll", "auto")),
    OptionSpec("serverSelectionTimeoutMS", _ms(0)),
    OptionSpec("serverSelectionTryOnce", _bool),
    OptionSpec("socketTimeoutMS", _ms(0)),
    OptionSpec("srvMaxHosts", _int_range(0)),
    OptionSpec("srvServiceName", _srv_service_name),
    OptionSpec("timeoutMS", _ms(0)),
    OptionSpec("tls", _bool),
    OptionSpec("tlsAllowInvalidCertificates", _bool),
    OptionSpec("tlsAllowInvalidHostnames", _bool),
    OptionSpec("tlsCAFile", _string),
    OptionSpec("tlsCertificateKeyFile", _string),
    OptionSpec("tlsCertificateKeyFilePassword", _string, secret=True),
    OptionSpec("tlsCRLFile", _string),
    OptionSpec("tlsDisableCertificateRevocationCheck", _bool),
    OptionSpec("tlsDisableOCSPEndpointCheck", _bool),
    OptionSpec("tlsInsecure", _bool),
    OptionSpec("uuidRepresentation", _uuid_representation),
    OptionSpec("w", _w),
    OptionSpec("waitQueueTimeoutMS", _ms(1)),
    OptionSpec("wTimeoutMS", _ms(0, _INT64_MAX)),
    OptionSpec("zlibCompressionLevel", _int_range(-1, 9)),
    # Keyword-only: Python objects a URI cannot carry. CodecOptions and the client
    # validate the opaque ones when they use them.
    OptionSpec("connect", _python_bool, in_uri=False),
    OptionSpec("datetime_conversion", _anything, in_uri=False),
    OptionSpec("document_class", _anything, in_uri=False),
    OptionSpec("driver", _anything, in_uri=False),
    OptionSpec("event_listeners", _listeners, in_uri=False),
    OptionSpec("password", _string, in_uri=False, secret=True),
    OptionSpec("server_api", _anything, in_uri=False),
    OptionSpec("type_registry", _anything, in_uri=False),
    OptionSpec("tz_aware", _python_bool, in_uri=False),
    OptionSpec("tzinfo", _tzinfo, in_uri=False),
    OptionSpec("unicode_decode_error_handler", _unicode_handler, in_uri=False),
    OptionSpec("username", _string, in_uri=False),
)
_BY_FOLD = {fold(spec.name): spec for spec in _TABLE}
# Two spellings of one option; both must agree when both are given.
ALIASES = {"ssl": "tls", "j": "journal"}
# Old spellings that lose to the new one when both are given, with a warning.
DEPRECATED = {"wtimeout": "wTimeoutMS"}


def lookup(name: str) -> OptionSpec | None:
    """The table entry for an option name, alias or deprecated spelling (any case).

    >>> lookup("SSL").name, lookup("wtimeout").name, lookup("nope")
    ('tls', 'wTimeoutMS', None)
    """
    folded = fold(name)
    folded = fold(ALIASES.get(folded, DEPRECATED.get(folded, folded)))
    return _BY_FOLD.get(folded)


def canonical_name(name: str) -> str | None:
    """The canonical spelling of an option name, or ``None`` if it is unknown.

    >>> canonical_name("READPREFERENCETAGS"), canonical_name("j")
    ('readPreferenceTags', 'journal')
    """
    spec = lookup(name)
    return spec.name if spec else None


def normalize_names(options: Mapping[str, Any]) -> URIOptions:
    """A copy of ``options`` with every known name (alias, old spelling) made canonical.

    >>> normalize_names({"SSL": True, "j": False, "custom": 1})
    URIOptions({'tls': True, 'journal': False, 'custom': 1})
    """
    return URIOptions((canonical_name(key) or key, value) for key, value in options.items())


def spelled(name: str) -> str:
    """How messages name an option: an alias keeps its own spelling."""
    folded = fold(name)
    if folded in ALIASES or folded in DEPRECATED:
        return folded
    spec = lookup(name)
    return spec.name if spec else name


def show_value(spec: OptionSpec | None, value: Any) -> str:
    """A value as error messages show it: secrets are never shown."""
    return "<redacted>" if spec is not None and spec.secret else repr(value)


# ------------------------------------------------------------------ combinations

_TLS_RELAXING = (
    "tlsInsecure",
    "tlsAllowInvalidCertificates",
    "tlsAllowInvalidHostnames",
    "tlsDisableOCSPEndpointCheck",
    "tlsDisableCertificateRevocationCheck",
)
# The URI options spec's pairs that must not appear together: each relaxes the same
# check two ways, so which one wins would be a guess.
_TLS_CONFLICTS = (
    ("tlsInsecure", "tlsAllowInvalidCertificates"),
    ("tlsInsecure", "tlsAllowInvalidHostnames"),
    ("tlsInsecure", "tlsDisableOCSPEndpointCheck"),
    ("tlsInsecure", "tlsDisableCertificateRevocationCheck"),
    ("tlsAllowInvalidCertificates", "tlsDisableOCSPEndpointCheck"),
    ("tlsAllowInvalidCertificates", "tlsDisableCertificateRevocationCheck"),
    ("tlsDisableOCSPEndpointCheck", "tlsDisableCertificateRevocationCheck"),
)
_TLS_FILES = ("tlsCAFile", "tlsCertificateKeyFile", "tlsCertificateKeyFilePassword", "tlsCRLFile")


def check_combinations(
    options: Mapping[str, Any],
    *,
    seed_count: int | None = None,
    is_srv: bool | None = None,
) -> None:
    """Raise :class:`~driver.errors.ConfigurationError` for options that contradict.

    ``options`` holds validated values by canonical name (any case). ``seed_count``
    (the number of hosts) and ``is_srv`` are ``None`` when not known yet, which skips
    the checks that need them.

    >>> check_combinations({"tlsInsecure": True, "tlsAllowInvalidHostnames": False})
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: tlsInsecure and tlsAllowInvalidHostnames cannot both be given: both relax the same TLS check, so which one wins would be a guess
    """
    opts = options if isinstance(options, CaseInsensitiveDict) else CaseInsensitiveDict(options)
    for first, second in _TLS_CONFLICTS:
        if first in opts and second in opts:
            raise ConfigurationError(
                f"{first} and {second} cannot both be given: both relax the same TLS "
                "check, so which one wins would be a guess"
            )
    if opts.get("tls") is False:
        extra = [name for name in (*_TLS_RELAXING, *_TLS_FILES) if name in opts]
        if extra:
            raise ConfigurationError(
                f"tls is false but {', '.join(extra)} {'is' if len(extra) == 1 else 'are'} "
                "given; set tls=true or remove them"
            )
    _check_topology(opts, seed_count, is_srv)
    _check_proxy(opts)
    _check_concerns(opts)
    max_pool, min_pool = opts.get("maxPoolSize"), opts.get("minPoolSize")
    if max_pool and min_pool is not None and min_pool > max_pool:
        raise ConfigurationError(
            f"minPoolSize ({min_pool}) must not be larger than maxPoolSize ({max_pool})"
        )


def _check_topology(
    opts: CaseInsensitiveDict[Any], seed_count: int | None, is_srv: bool | None
) -> None:
    direct = opts.get("directConnection") is True
    if direct and seed_count is not None and seed_count > 1:
        raise ConfigurationError(
            f"directConnection=true needs exactly one host, but {seed_count} are given"
        )
    if direct and is_srv:
        raise ConfigurationError(
            "directConnection=true cannot be used with mongodb+srv://, which may resolve to "
            "several hosts"
        )
    if opts.get("loadBalanced") is True:
        if seed_count is not None and seed_count > 1:
            raise ConfigurationError(
                f"loadBalanced=true needs exactly one host, but {seed_count} are given"
            )
        if direct:
            raise ConfigurationError("loadBalanced=true cannot be used with directConnection=true")
        if "replicaSet" in opts:
            raise ConfigurationError("loadBalanced=true cannot be used with replicaSet")
    if is_srv is False:
        for name in ("srvServiceName", "srvMaxHosts"):
            if name in opts:
                raise ConfigurationError(f"{name} can only be used with mongodb+srv://")
    if opts.get("srvMaxHosts"):
        if "replicaSet" in opts:
            raise ConfigurationError("srvMaxHosts > 0 cannot be used with replicaSet")
        if opts.get("loadBalanced") is True:
            raise ConfigurationError("srvMaxHosts > 0 cannot be used with loadBalanced=true")


def _check_proxy(opts: CaseInsensitiveDict[Any]) -> None:
    if "proxyHost" not in opts:
        for name in ("proxyPort", "proxyUsername", "proxyPassword"):
            if name in opts:
                raise ConfigurationError(f"{name} needs proxyHost")
    if ("proxyUsername" in opts) != ("proxyPassword" in opts):
        raise ConfigurationError("proxyUsername and proxyPassword must be given together")


def _check_concerns(opts: CaseInsensitiveDict[Any]) -> None:
    # Imported here: these modules are small, but options is imported by everything.
    from driver.read_preferences import read_preference_from_options
    from driver.write_concern import write_concern_from_options

    try:
        write_concern_from_options(opts)
        read_preference_from_options(opts)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from exc


# ------------------------------------------------------------------ keyword arguments


def validate_client_kwargs(
    uri_options: Mapping[str, Any],
    kwargs: Mapping[str, Any],
    *,
    seed_count: int | None = None,
    is_srv: bool | None = None,
) -> URIOptions:
    """Merge ``MongoClient(uri, **kwargs)`` keyword arguments into the URI's options.

    Keyword names are case-insensitive and go through the same validators as URI
    options (an invalid value is a :class:`~driver.errors.ConfigurationError`; an
    unknown name too, since a typo in code should fail loudly). A keyword argument
    that contradicts the connection string is an error naming both; the same value
    twice is fine. The merged options are then checked as a whole
    (:func:`check_combinations`).

    >>> merged = validate_client_kwargs({"w": 1}, {"w": 1, "ssl": True})
    >>> merged
    URIOptions({'w': 1, 'tls': True})
    """
    # Options parsed with normalize=False may still use alias spellings (ssl, j).
    merged = normalize_names(uri_options)
    given: dict[str, tuple[str, Any]] = {}
    notes: list[str] = []
    deprecations: list[str] = []
    for key, value in kwargs.items():
        spec = lookup(key)
        if spec is None:
            raise ConfigurationError(f"Unknown option {key!r}")
        if fold(key) in DEPRECATED:
            deprecations.append(f"Option {key!r} is deprecated; use {spec.name}")
        if value is None:
            if spec.none_value is _UNSET:
                continue
            value = spec.none_value
        try:
            validated = spec.validator(value, notes)
        except Invalid as exc:
            raise ConfigurationError(
                f"Invalid value {show_value(spec, value)} for keyword argument {key}: {exc.reason}"
            ) from None
        if spec.name in given and given[spec.name][1] != validated:
            first_key, first_value = given[spec.name]
            raise ConfigurationError(
                f"{key}={show_value(spec, validated)} and {first_key}="
                f"{show_value(spec, first_value)} are both given as keyword arguments; "
                "give one"
            )
        given[spec.name] = (key, validated)
        if spec.name in merged and merged[spec.name] != validated:
            raise ConfigurationError(
                f"{key}={show_value(spec, validated)} (keyword argument) contradicts "
                f"{spec.name}={show_value(spec, merged[spec.name])} (connection string); "
                "give it once"
            )
        merged[spec.name] = validated
    check_combinations(merged, seed_count=seed_count, is_srv=is_srv)
    for note in deprecations:
        warnings.warn(note, DeprecationWarning, stacklevel=2)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return merged
