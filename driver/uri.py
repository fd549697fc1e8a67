"""Connection strings: ``mongodb://`` and ``mongodb+srv://`` parsed into a ParsedURI.

The whole connection string spec, pure (no DNS: a ``mongodb+srv://`` host is kept in
``fqdn`` and :mod:`driver.srv` resolves it). Grammar problems raise
:class:`~driver.errors.InvalidURI`; invalid option values raise
:class:`~driver.errors.ConfigurationError`, or with ``warn=True`` become warnings and
the option is dropped; options that contradict each other always raise. Unknown
options are warned about and dropped.

Passwords never appear in a repr, a warning or an error message. Text that comes
before the last ``@`` of the string is never quoted either: if a password holds an
unescaped ``?`` or ``/``, the split into parts goes wrong and a "host" or "option"
could be a piece of it.

Choices where the spec leaves room: ``+`` is a literal plus (write a space as
``%20``); ``;`` separates options only when there is no ``&`` (mixing them is an
error, as in PyMongo); a malformed ``%`` is an error everywhere, not only in the
user information; the auth database may be a namespace ``db.collection``.

Example::

    >>> from driver.uri import parse_uri
    >>> p = parse_uri("mongodb://ada:s%40cret@db1.example.com,[::1]:27018/shop?w=majority")
    >>> p.nodelist, p.username, p.password, p.database, p.options["W"]
    ([('db1.example.com', 27017), ('::1', 27018)], 'ada', 's@cret', 'shop', 'majority')
    >>> "s@cret" in repr(p)
    False
"""

from __future__ import annotations

import ipaddress
import re
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from driver.errors import ConfigurationError, InvalidURI
from driver.options import (
    DEPRECATED,
    Invalid,
    OptionSpec,
    URIOptions,
    canonical_name,
    check_combinations,
    fold,
    lookup,
    normalize_names,
    show_value,
    spelled,
    validate_client_kwargs,
)

__all__ = [
    "DEFAULT_PORT",
    "SCHEME",
    "SRV_SCHEME",
    "ParsedURI",
    "parse_host",
    "parse_uri",
    "parse_userinfo",
    "split_hosts",
    "split_options",
]

SCHEME = "mongodb://"
SRV_SCHEME = "mongodb+srv://"
DEFAULT_PORT = 27017

# A host and port; a UNIX domain socket has no port, and neither does a host without
# one when default_port is None.
Node = tuple[str, int | None]

_WITHHELD = (
    "<not quoted: it comes before an '@', so it may be part of a password; "
    "percent-encode '@', ':', '/', '?', '#', '[', ']' and '%' in user names and passwords>"
)
_ENCODING_HINT = (
    "percent-encode '@', ':', '/', '?', '#', '[', ']' and '%' in the username, password "
    "and database name (e.g. '@' as %40)"
)


@dataclass(frozen=True, repr=False)
class ParsedURI:
    """A parsed connection string.

    ``nodelist`` is ``(host, port)`` pairs in the given order (hosts lowercased, IPv6
    literals without brackets, UNIX socket paths decoded with port ``None``); it is
    empty for ``mongodb+srv://``, whose host name is ``fqdn`` until
    :mod:`driver.srv` resolves it. ``database`` and ``collection`` come from the
    ``/db.collection`` part. ``options`` holds validated values by canonical name,
    case-insensitively. PyMongo's dict keys also work: ``parsed["nodelist"]``.

    >>> parse_uri("mongodb+srv://u:pw@cluster0.example.com/?authSource=admin")
    ParsedURI(nodelist=[], username='u', password='***', database=None, collection=None, options=URIOptions({'authSource': 'admin'}), fqdn='cluster0.example.com', is_srv=True)
    """

    nodelist: list[Node]
    username: str | None
    password: str | None
    database: str | None
    collection: str | None
    options: URIOptions
    fqdn: str | None = None
    is_srv: bool = False

    def __repr__(self) -> str:
        secret = None if self.password is None else "***"
        return (
            f"ParsedURI(nodelist={self.nodelist!r}, username={self.username!r}, "
            f"password={secret!r}, database={self.database!r}, "
            f"collection={self.collection!r}, options={self.options!r}, "
            f"fqdn={self.fqdn!r}, is_srv={self.is_srv!r})"
        )

    __str__ = __repr__

    # PyMongo's parse_uri returns a dict with these keys; code that indexes it works.
    _KEYS = ("nodelist", "username", "password", "database", "collection", "options", "fqdn")

    def __getitem__(self, key: str) -> Any:
        if key not in self._KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._KEYS

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def keys(self) -> tuple[str, ...]:
        """PyMongo's dict keys."""
        return self._KEYS


# ------------------------------------------------------------------ small pieces


class _Bad(Exception):
    """A piece of the string is malformed; ``reason`` says how, without quoting it."""


class _Redactor:
    """Decides whether a piece of the string may be quoted in a message."""

    def __init__(self, text: str, limit: int | None = None) -> None:
        self._limit = text.rfind("@") if limit is None else limit

    def quote(self, fragment: str, start: int) -> str:
        return repr(fragment) if start > self._limit else _WITHHELD


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _decode(text: str) -> str:
    if "%" not in text:
        return text
    if _BAD_PERCENT.search(text):
        raise _Bad("has a '%' that is not followed by two hex digits (write '%' as %25)")
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise _Bad("has percent-encoded bytes that are not UTF-8") from None


def _scheme(uri: str) -> tuple[bool, int]:
    head = fold(uri[: len(SRV_SCHEME)])
    if head.startswith(SRV_SCHEME):
        return True, len(SRV_SCHEME)
    if head.startswith(SCHEME):
        return False, len(SCHEME)
    scheme, sep, _ = uri.partition("://")
    # Quote the scheme only when it really is one: anything else may be a secret.
    shown = (
        f" (got {scheme!r})"
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,30}", scheme)
        else ""
    )
    raise InvalidURI(f"A connection string must begin with 'mongodb://' or 'mongodb+srv://'{shown}")


def parse_userinfo(userinfo: str) -> tuple[str, str | None]:
    """Split and decode ``user:password`` (the password is ``None`` without ``:``).

    Errors never quote the text: it holds the password.

    >>> parse_userinfo("ada:p%40ss")
    ('ada', 'p@ss')
    >>> parse_userinfo("ada:p@ss")
    Traceback (most recent call last):
    ...
    driver.errors.InvalidURI: The user information contains an unescaped '@': percent-encode '@', ':', '/', '?', '#', '[', ']' and '%' in the username, password and database name (e.g. '@' as %40)
    """
    for char in "@/?#[]":
        if char in userinfo:
            raise InvalidURI(
                f"The user information contains an unescaped {char!r}: {_ENCODING_HINT}"
            )
    user, colon, password = userinfo.partition(":")
    if ":" in password:
        raise InvalidURI(f"The user information contains more than one ':': {_ENCODING_HINT}")
    try:
        username = _decode(user)
        decoded_password = _decode(password) if colon else None
    except _Bad as exc:
        raise InvalidURI(f"The user information {exc}") from None
    if not username:
        raise InvalidURI("The username is empty: a connection string with '@' needs a username")
    return username, decoded_password


def _port(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise _Bad("the port must be an integer from 1 to 65535")
    return int(text)


_HOST_FORBIDDEN = "@?#[]\\,%/"


def _parse_host(entity: str, default_port: int | None) -> Node:
    if not entity:
        raise _Bad("a host is empty (check for a doubled or trailing ',')")
    if entity.startswith("["):
        close = entity.find("]")
        if close < 0:
            raise _Bad("an IPv6 literal needs a closing ']'")
        literal = _decode(entity[1:close])
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise _Bad("the text in brackets is not an IPv6 address") from None
        address, percent, zone = literal.partition("%")
        host = address.lower() + percent + zone  # zone ids are case-sensitive names
        tail = entity[close + 1 :]
        if not tail:
            return host, default_port
        if tail.startswith(":"):
            return host, _port(tail[1:])
        raise _Bad("only ':port' may follow the closing ']'")
    text = _decode(entity)
    if "/" in text:
        if text.endswith(".sock"):
            return text, None
        raise _Bad("a UNIX domain socket path must end in '.sock' and takes no port")
    if text.count(":") > 1:
        raise _Bad("more than one ':' (an IPv6 address goes in brackets, e.g. [::1]:27017)")
    name, colon, port_text = text.partition(":")
    if not name:
        raise _Bad("the host name is empty")
    for char in name:
        if char in _HOST_FORBIDDEN or char.isspace() or not char.isprintable():
            raise _Bad(f"{char!r} is not allowed in a host name")
    return name.lower(), _port(port_text) if colon else default_port


def parse_host(entity: str, default_port: int | None = DEFAULT_PORT) -> Node:
    """One host identifier as ``(host, port)``.

    >>> parse_host("Example.COM:27018"), parse_host("[::1]"), parse_host("%2Ftmp%2Fm.sock")
    (('example.com', 27018), ('::1', 27017), ('/tmp/m.sock', None))
    """
    try:
        return _parse_host(entity, default_port)
    except _Bad as exc:
        raise InvalidURI(f"Invalid host {entity!r}: {exc}") from None


def _split_hosts(
    text: str, start: int, default_port: int | None, redactor: _Redactor
) -> list[Node]:
    nodes: list[Node] = []
    for entity in text.split(","):
        try:
            nodes.append(_parse_host(entity, default_port))
        except _Bad as exc:
            raise InvalidURI(f"Invalid host {redactor.quote(entity, start)}: {exc}") from None
        start += len(entity) + 1
    return nodes


def split_hosts(hosts: str, default_port: int | None = DEFAULT_PORT) -> list[Node]:
    """A comma-separated host list as ``(host, port)`` pairs.

    >>> split_hosts("a.example.com,b.example.com:27018")
    [('a.example.com', 27017), ('b.example.com', 27018)]
    """
    return _split_hosts(hosts, 0, default_port, _Redactor(hosts, limit=-1))


_DATABASE_FORBIDDEN = '/\\ "$\x00'


def _parse_database(text: str, start: int, redactor: _Redactor) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    shown = redactor.quote(text, start)
    try:
        name = _decode(text)
    except _Bad as exc:
        raise InvalidURI(f"The database name {shown} {exc}") from None
    for char in name:
        if char in _DATABASE_FORBIDDEN:
            raise InvalidURI(f"The database name {shown} contains {char!r}, which is not allowed")
    database, dot, collection = name.partition(".")
    if not database or (dot and not collection):
        raise InvalidURI(
            f"The namespace {shown} needs a database name before '.' and a collection after it"
        )
    return database, collection if dot else None


# ------------------------------------------------------------------ options


@dataclass(frozen=True)
class _Pair:
    key: str  # decoded, as written
    value: str  # decoded
    start: int  # where the key begins in the source text, for redaction


def _split_pairs(query: str, start: int, redactor: _Redactor) -> list[_Pair]:
    if not query:
        return []
    if "&" in query and ";" in query:
        raise InvalidURI(
            "Options are separated by '&' (or, in old strings, ';'), not both; "
            "percent-encode a ';' inside a value as %3B"
        )
    delimiter = ";" if "&" not in query and ";" in query else "&"
    pairs: list[_Pair] = []
    for chunk in query.split(delimiter):
        if chunk:  # tolerate empty segments such as a trailing '&'
            key_text, equals, value_text = chunk.partition("=")
            shown = redactor.quote(key_text, start)
            if "@" in key_text:
                # No option name holds an '@': this is the tail of a password with an
                # unescaped '?', and the parse would silently lose the credentials.
                raise InvalidURI(f"An option name contains '@': {_ENCODING_HINT}")
            if not equals:
                raise InvalidURI(f"The option {shown} has no '=': options are key=value pairs")
            try:
                key = _decode(key_text)
            except _Bad as exc:
                raise InvalidURI(f"The option name {shown} {exc}") from None
            try:
                value = _decode(value_text)
            except _Bad as exc:
                raise InvalidURI(f"The value of option {shown} {exc}") from None
            if not key:
                raise InvalidURI("An option has an empty name ('=' with nothing before it)")
            pairs.append(_Pair(key, value, start))
        start += len(chunk) + 1
    return pairs


Notes = list[tuple[type[Warning], str]]


def _collect(
    pairs: list[_Pair],
    *,
    validate: bool,
    warn: bool,
    normalize: bool,
    redactor: _Redactor,
    notes: Notes,
) -> URIOptions:
    options = URIOptions()
    if not validate:
        # Raw strings (a list for repeatable options); the last occurrence wins.
        for pair in pairs:
            spec = lookup(pair.key)
            name = pair.key if spec is None else (spec.name if normalize else spelled(pair.key))
            if spec is not None and spec.repeatable:
                options.setdefault(name, []).append(pair.value)
            else:
                options[name] = pair.value
        return options
    groups: dict[str, list[_Pair]] = {}
    for pair in pairs:
        spec = lookup(pair.key)
        if spec is None or not spec.in_uri:
            notes.append(
                (
                    UserWarning,
                    f"Unsupported option {redactor.quote(pair.key, pair.start)}; it is ignored",
                )
            )
            continue
        groups.setdefault(spec.name, []).append(pair)
    for name, group in groups.items():
        spec = lookup(name)
        assert spec is not None
        _collect_one(
            spec, _drop_deprecated(name, group, notes), options, warn, normalize, redactor, notes
        )
    return options


def _drop_deprecated(name: str, group: list[_Pair], notes: Notes) -> list[_Pair]:
    old = [pair for pair in group if fold(pair.key) in DEPRECATED]
    if not old:
        return group
    spelling = fold(old[0].key)
    new = [pair for pair in group if fold(pair.key) not in DEPRECATED]
    if new:
        notes.append(
            (UserWarning, f"Deprecated option {spelling!r} is ignored because {name} is also given")
        )
        return new
    notes.append((DeprecationWarning, f"Option {spelling!r} is deprecated; use {name}"))
    return group


def _collect_one(
    spec: OptionSpec,
    group: list[_Pair],
    options: URIOptions,
    warn: bool,
    normalize: bool,
    redactor: _Redactor,
    notes: Notes,
) -> None:
    def note(pair: _Pair, found: list[str]) -> None:
        # A validator's notes quote the value; a value that may be part of a password
        # gets a generic note instead.
        if found and redactor.quote(pair.key, pair.start) == _WITHHELD:
            found = [f"Option {_WITHHELD}: part of its value is ignored"]
        notes.extend((UserWarning, text) for text in found)

    def invalid(pair: _Pair, value: Any, reason: str) -> None:
        key = redactor.quote(pair.key, pair.start)
        shown = show_value(spec, value) if key != _WITHHELD else _WITHHELD
        message = f"Invalid value {shown} for option {key}: {reason}"
        if warn and not spec.always_error:
            notes.append((UserWarning, f"{message}; the option is ignored"))
        else:
            raise ConfigurationError(message)

    if spec.repeatable:
        values = [pair.value for pair in group]
        found: list[str] = []
        try:
            options[spec.name] = spec.validator(values, found)
        except Invalid as exc:
            invalid(group[0], values, exc.reason)
        note(group[0], found)
        return
    results: list[tuple[_Pair, Any]] = []
    for pair in group:
        if pair.value == "" and not spec.keep_empty:
            notes.append(
                (
                    UserWarning,
                    f"Option {redactor.quote(pair.key, pair.start)} has an empty value; it is ignored",
                )
            )
            continue
        found = []
        try:
            results.append((pair, spec.validator(pair.value, found)))
        except Invalid as exc:
            invalid(pair, pair.value, exc.reason)
        note(pair, found)
    if not results:
        return
    first, first_value = results[0]
    for pair, value in results[1:]:
        if value != first_value:
            raise ConfigurationError(
                f"Option {spec.name} is given more than once with different values "
                f"({_show_pair(spec, first, redactor)} and {_show_pair(spec, pair, redactor)}); "
                "give it once"
            )
    spellings = [fold(pair.key) for pair, _ in results]
    if len(spellings) != len(set(spellings)):
        notes.append((UserWarning, f"Option {spec.name} is given more than once; it is used once"))
    for pair, value in results:
        options[spec.name if normalize else spelled(pair.key)] = value


def _show_pair(spec: OptionSpec, pair: _Pair, redactor: _Redactor) -> str:
    if redactor.quote(pair.key, pair.start) == _WITHHELD:
        return _WITHHELD
    return repr(f"{pair.key}={'***' if spec.secret else pair.value}")


def _emit(notes: Notes) -> None:
    for category, message in notes:
        # stacklevel 3: this helper, the public parser, then the caller's line.
        warnings.warn(message, category, stacklevel=3)


def split_options(
    opts: str,
    validate: bool = True,
    warn: bool = False,
    normalize: bool = True,
    *,
    allowed: Collection[str] | None = None,
) -> URIOptions:
    """Parse and validate the ``key=value&...`` part of a connection string.

    ``allowed`` (canonical names) turns any other option into an error; the SRV code
    uses it for TXT records, which may set only a few options.

    >>> split_options("readPreference=secondary&readPreferenceTags=dc:ny&readPreferenceTags=")
    URIOptions({'readPreference': 'secondary', 'readPreferenceTags': [{'dc': 'ny'}, {}]})
    """
    redactor = _Redactor(opts, limit=-1)
    pairs = _split_pairs(opts, 0, redactor)
    if allowed is not None:
        for pair in pairs:
            if canonical_name(pair.key) not in allowed:
                raise ConfigurationError(
                    f"Option {pair.key!r} is not allowed here; only {', '.join(allowed)} are"
                )
    notes: Notes = []
    options = _collect(
        pairs, validate=validate, warn=warn, normalize=normalize, redactor=redactor, notes=notes
    )
    if validate:
        check_combinations(normalize_names(options))
    _emit(notes)
    return options


# ------------------------------------------------------------------ the parser


def parse_uri(
    uri: str,
    default_port: int | None = DEFAULT_PORT,
    validate: bool = True,
    warn: bool = False,
    normalize: bool = True,
    srv_service_name: str | None = None,
    srv_max_hosts: int | None = None,
) -> ParsedURI:
    """Parse a ``mongodb://`` or ``mongodb+srv://`` connection string.

    ``default_port`` fills in hosts without a port (``None`` leaves them without);
    ``validate=False`` keeps option values as strings and checks only the grammar;
    ``warn=True`` turns invalid option values into warnings (the option is dropped)
    instead of errors; ``normalize=False`` keeps alias spellings (``ssl``, ``j``) as
    written. ``srv_service_name`` and ``srv_max_hosts`` are PyMongo's keyword forms
    of ``srvServiceName`` and ``srvMaxHosts``; contradicting the string is an error.

    >>> parse_uri("mongodb://%2Ftmp%2Fmongodb-27017.sock/admin.users?tls=true").nodelist
    [('/tmp/mongodb-27017.sock', None)]
    >>> parse_uri("mongodb://a,b/?directConnection=true")
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: directConnection=true needs exactly one host, but 2 are given
    """
    if not isinstance(uri, str):
        raise TypeError(f"a connection string must be a str, not {type(uri).__name__}")
    redactor = _Redactor(uri)
    is_srv, start = _scheme(uri)
    query_at = uri.find("?", start)
    end = query_at if query_at >= 0 else len(uri)
    # The user information ends at the last '@' before the options: an '@' inside an
    # option value (replicaSet=my@rs) is not part of it.
    at = uri.rfind("@", start, end)
    username = password = None
    hosts_start = start
    if at >= 0:
        username, password = parse_userinfo(uri[start:at])
        hosts_start = at + 1
    slash = uri.find("/", hosts_start, end)
    hosts_end = slash if slash >= 0 else end
    hosts_text = uri[hosts_start:hosts_end]
    if not hosts_text:
        if ".sock" in uri[hosts_end:end]:
            raise InvalidURI(
                "UNIX domain socket paths must be percent-encoded: write '/' as %2F, "
                "e.g. mongodb://%2Ftmp%2Fmongodb-27017.sock"
            )
        raise InvalidURI("The connection string names no host")
    fqdn = None
    if is_srv:
        fqdn = _srv_host(hosts_text, hosts_start, redactor)
        nodelist: list[Node] = []
    else:
        nodelist = _split_hosts(hosts_text, hosts_start, default_port, redactor)
    database, collection = _parse_database(
        uri[slash + 1 : end] if slash >= 0 else "", slash + 1, redactor
    )
    pairs = _split_pairs(uri[query_at + 1 :] if query_at >= 0 else "", query_at + 1, redactor)
    notes: Notes = []
    options = _collect(
        pairs, validate=validate, warn=warn, normalize=normalize, redactor=redactor, notes=notes
    )
    extra = {
        name: value
        for name, value in (("srvServiceName", srv_service_name), ("srvMaxHosts", srv_max_hosts))
        if value is not None
    }
    seed_count = None if is_srv else len(nodelist)
    if validate:
        check_combinations(normalize_names(options), seed_count=seed_count, is_srv=is_srv)
        if extra:
            options = validate_client_kwargs(options, extra, seed_count=seed_count, is_srv=is_srv)
    else:
        options.update(extra)
    _emit(notes)
    return ParsedURI(nodelist, username, password, database, collection, options, fqdn, is_srv)


def _srv_host(text: str, start: int, redactor: _Redactor) -> str:
    if "," in text:
        raise InvalidURI("A mongodb+srv:// connection string takes exactly one host name")
    host, port = _split_hosts(text, start, None, redactor)[0]
    if port is not None:
        raise InvalidURI("A mongodb+srv:// host name takes no port (DNS gives the ports)")
    if "/" in host or ":" in host:
        raise InvalidURI("A mongodb+srv:// host must be a DNS name, not an IP literal or a socket")
    return host[:-1] if host.endswith(".") else host
