"""driver.uri beyond the spec files: hosts, sockets, encoding, options, secrecy.

The spec runners (test_connection_string_spec, test_uri_options_spec) cover the
spec's cases; these pin the choices the spec leaves open and the promise that a
password never shows in a repr, a warning or an error message, even when the string
is malformed around it (property tests).
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from driver.errors import ConfigurationError, InvalidURI
from driver.uri import ParsedURI, parse_host, parse_uri, parse_userinfo, split_hosts, split_options


def parse_quietly(uri: str, **kwargs: Any) -> tuple[ParsedURI, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = parse_uri(uri, **kwargs)
    return parsed, [str(w.message) for w in caught]


# ------------------------------------------------------------------ hosts


@pytest.mark.parametrize(
    ("uri", "nodes"),
    [
        ("mongodb://[::1]", [("::1", 27017)]),
        ("mongodb://[::1]:27018", [("::1", 27018)]),
        ("mongodb://[FE80::1%25eth0]:5", [("fe80::1%eth0", 5)]),
        (
            "mongodb://[2001:DB8::1],[::ffff:127.0.0.1]",
            [("2001:db8::1", 27017), ("::ffff:127.0.0.1", 27017)],
        ),
        (
            "mongodb://EXAMPLE.com:27018,Other.Example.COM",
            [("example.com", 27018), ("other.example.com", 27017)],
        ),
        ("mongodb://a,a", [("a", 27017), ("a", 27017)]),  # order and duplicates kept
        ("mongodb://b%C3%BCcher.example.com", [("bücher.example.com", 27017)]),
    ],
)
def test_hosts(uri: str, nodes: list[tuple[str, int]]) -> None:
    assert parse_uri(uri).nodelist == nodes


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://::1",  # an IPv6 address needs brackets
        "mongodb://[::1",
        "mongodb://[::1]x",
        "mongodb://[not-ipv6]",
        "mongodb://[127.0.0.1]",
        "mongodb://a,,b",
        "mongodb://a,",
        "mongodb://:27017",
        "mongodb://host:",
        "mongodb://host:+5",
        "mongodb://host: 5",
        "mongodb://host:99999",
        "mongodb://ho st",
        "mongodb://ho%20st",
        "mongodb://host%2Fpath",  # a '/' that is not a .sock path
        "mongodb://%2Ftmp%2Fm.sock:27017",  # a socket takes no port
    ],
)
def test_invalid_hosts(uri: str) -> None:
    with pytest.raises(InvalidURI):
        parse_uri(uri)


def test_default_port_none_leaves_ports_unset() -> None:
    assert parse_uri("mongodb://a,b:2", default_port=None).nodelist == [("a", None), ("b", 2)]
    assert parse_uri("mongodb://a", default_port=1).nodelist == [("a", 1)]


def test_unix_sockets() -> None:
    parsed = parse_uri("mongodb://%2Fvar%2Frun%2Fmongo%20db.sock,rel%2Fm.sock/admin")
    assert parsed.nodelist == [("/var/run/mongo db.sock", None), ("rel/m.sock", None)]
    assert parsed.database == "admin"
    with pytest.raises(InvalidURI, match="percent-encoded"):
        parse_uri("mongodb:///tmp/mongodb-27017.sock")


def test_public_host_helpers() -> None:
    assert parse_host("[::1]:1") == ("::1", 1)
    assert split_hosts("x,Y:2", default_port=None) == [("x", None), ("y", 2)]
    with pytest.raises(InvalidURI, match="'x:0'"):
        parse_host("x:0")


# ------------------------------------------------------------------ user info and database


@pytest.mark.parametrize(
    ("userinfo", "expected"),
    [
        ("ada", ("ada", None)),
        ("ada:", ("ada", "")),
        ("a%3Ab:c%3Ad", ("a:b", "c:d")),
        ("a+b:c+d", ("a+b", "c+d")),  # '+' is a literal plus, not a space
        ("a%2Bb:p%20w", ("a+b", "p w")),
        ("%E2%82%AC:%F0%9F%94%91", ("\u20ac", "\U0001f511")),
    ],
)
def test_userinfo_decoding(userinfo: str, expected: tuple[str, str | None]) -> None:
    assert parse_userinfo(userinfo) == expected


@pytest.mark.parametrize(
    "userinfo",
    ["", ":pw", "a:b:c", "a@b", "a/b", "a#b", "a[b", "a]b", "a%zz", "a%4", "%FF:x", "x:%C3"],
)
def test_invalid_userinfo(userinfo: str) -> None:
    with pytest.raises(InvalidURI):
        parse_userinfo(userinfo)


@pytest.mark.parametrize(
    ("uri", "database", "collection"),
    [
        ("mongodb://h/", None, None),
        ("mongodb://h/db", "db", None),
        ("mongodb://h/db.coll.sub", "db", "coll.sub"),
        ("mongodb://h/admin%3F?w=1", "admin?", None),
        ("mongodb://h/some,db", "some,db", None),
        ("mongodb://h?w=1", None, None),
    ],
)
def test_database(uri: str, database: str | None, collection: str | None) -> None:
    parsed = parse_uri(uri)
    assert (parsed.database, parsed.collection) == (database, collection)


@pytest.mark.parametrize(
    "path", ["a%2Fb", "a%5Cb", "a%20b", 'a"b', "a$b", "a%00b", ".coll", "db.", "a%zz"]
)
def test_invalid_database(path: str) -> None:
    with pytest.raises(InvalidURI):
        parse_uri(f"mongodb://h/{path}")


def test_scheme() -> None:
    assert parse_uri("MongoDB://h").nodelist == [("h", 27017)]
    with pytest.raises(InvalidURI, match="'http'"):
        parse_uri("http://h")
    with pytest.raises(InvalidURI):
        parse_uri("mongodb:/h")
    with pytest.raises(TypeError):
        parse_uri(b"mongodb://h")  # type: ignore[arg-type]


# ------------------------------------------------------------------ SRV


def test_srv_uri_keeps_the_name_for_dns() -> None:
    parsed = parse_uri("mongodb+srv://u:p@Cluster0.Example.COM./db?retryWrites=false")
    assert parsed.is_srv and parsed.fqdn == "cluster0.example.com" and parsed.nodelist == []
    assert (parsed.username, parsed.password, parsed.database) == ("u", "p", "db")
    assert "tls" not in parsed.options  # implied at resolution, so keyword args can turn it off


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb+srv://a.example.com,b.example.com",
        "mongodb+srv://a.example.com:27017",
        "mongodb+srv://[::1]",
        "mongodb+srv://%2Ftmp%2Fm.sock",
        "mongodb+srv://a.example.com/?directConnection=true",
    ],
)
def test_invalid_srv_uris(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_uri(uri)


def test_srv_keyword_parameters() -> None:
    parsed = parse_uri("mongodb+srv://a.example.com", srv_service_name="svc", srv_max_hosts=2)
    assert parsed.options == {"srvServiceName": "svc", "srvMaxHosts": 2}
    assert parse_uri("mongodb+srv://a.example.com/?srvMaxHosts=2", srv_max_hosts=2)
    with pytest.raises(ConfigurationError, match="contradicts"):
        parse_uri("mongodb+srv://a.example.com/?srvMaxHosts=2", srv_max_hosts=3)
    with pytest.raises(ConfigurationError, match="mongodb\\+srv"):
        parse_uri("mongodb://a.example.com", srv_service_name="svc")


# ------------------------------------------------------------------ options


def test_option_names_are_case_insensitive_and_canonical() -> None:
    parsed = parse_uri("mongodb://h/?REPLICASET=rs&retrywrites=FALSE&SSL=true&J=true&WTIMEOUTMS=5")
    assert list(parsed.options) == ["replicaSet", "retryWrites", "tls", "journal", "wTimeoutMS"]
    assert parsed.options["replicaset"] == "rs" and parsed.options["retryWrites"] is False


def test_validated_values() -> None:
    parsed = parse_uri(
        "mongodb://h/?w=2&readPreference=SECONDARY&readPreferenceTags=dc:ny,rack:1"
        "&readPreferenceTags=&maxStalenessSeconds=120&compressors=zstd,ZLIB,zlib"
        "&authMechanismProperties=SERVICE_NAME:mongodb,CANONICALIZE_HOST_NAME:true"
        "&uuidRepresentation=javaLegacy&zlibCompressionLevel=-1&appname=%E2%82%AC"
    )
    assert parsed.options == {
        "w": 2,
        "readPreference": "secondary",
        "readPreferenceTags": [{"dc": "ny", "rack": "1"}, {}],
        "maxStalenessSeconds": 120,
        "compressors": ["zstd", "zlib"],
        "authMechanismProperties": {"SERVICE_NAME": "mongodb", "CANONICALIZE_HOST_NAME": True},
        "uuidRepresentation": 5,
        "zlibCompressionLevel": -1,
        "appname": "\u20ac",
    }


@pytest.mark.parametrize(
    "query",
    [
        "retryWrites=1",  # only true/false
        "retryWrites=yes",
        "maxPoolSize=+5",
        "maxPoolSize=5.0",
        "maxPoolSize=1_000",
        "maxPoolSize=2147483648",  # 32-bit
        "heartbeatFrequencyMS=499",
        "maxStalenessSeconds=0",
        "w=-1",
        "appname=" + "x" * 129,
        "appname=" + "%E2%82%AC" * 43,  # 129 bytes
        "srvServiceName=a_b",
        "readPreference=primaryish",
        "uuidRepresentation=3",
        "authMechanism=MONGODB-CR",
        "authMechanismProperties=A:1,A:2",
        "readPreference=secondary&readPreferenceTags=dc:ny,dc:la",
        "proxyPort=65536",
        "serverMonitoringMode=sometimes",
    ],
)
def test_invalid_values_error_in_strict_mode_and_warn_in_warn_mode(query: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_uri(f"mongodb://h/?{query}")
    parsed, messages = parse_quietly(f"mongodb://h/?{query}", warn=True)
    assert messages
    assert "readPreferenceTags" not in parsed.options


def test_64_bit_wtimeout() -> None:
    assert parse_uri("mongodb://h/?wTimeoutMS=4294967296").options["wTimeoutMS"] == 2**32


def test_unknown_and_empty_options_warn_in_both_modes() -> None:
    for warn in (False, True):
        parsed, messages = parse_quietly(
            "mongodb://h/?foo=bar&maxPoolSize=&tz_aware=true", warn=warn
        )
        assert parsed.options == {}
        assert len(messages) == 3
        text = "\n".join(messages)
        assert (
            "'foo'" in text and "'maxPoolSize' has an empty value" in text and "'tz_aware'" in text
        )


def test_empty_auth_source_is_always_an_error() -> None:
    with pytest.raises(ConfigurationError, match="authSource"):
        parse_uri("mongodb://h/?authSource=", warn=True)


def test_unknown_compressors_are_dropped_with_a_warning() -> None:
    parsed, messages = parse_quietly("mongodb://h/?compressors=lz4,zlib")
    assert parsed.options["compressors"] == ["zlib"]
    assert messages == [
        "Unsupported compressor 'lz4' in compressors; it is ignored (supported: snappy, zlib, zstd)"
    ]


def test_repeated_options() -> None:
    parsed, messages = parse_quietly("mongodb://h/?w=1&W=1")
    assert parsed.options == {"w": 1} and len(messages) == 1
    with pytest.raises(ConfigurationError, match="more than once"):
        parse_uri("mongodb://h/?retryWrites=true&retryWrites=false", warn=True)
    with pytest.raises(ConfigurationError, match="'j=true' and 'journal=false'"):
        parse_uri("mongodb://h/?j=true&journal=false")
    # Aliases that agree are silent; an invalid repeat is dropped in warn mode.
    assert parse_quietly("mongodb://h/?tls=true&ssl=TRUE") == (
        parse_uri("mongodb://h/?tls=true"),
        [],
    )
    parsed, messages = parse_quietly("mongodb://h/?w=-2&w=1", warn=True)
    assert parsed.options == {"w": 1} and len(messages) == 1


def test_deprecated_wtimeout() -> None:
    with pytest.warns(DeprecationWarning, match="wtimeout"):
        parsed = parse_uri("mongodb://h/?wtimeout=5")
    assert parsed.options == {"wTimeoutMS": 5}
    with pytest.warns(UserWarning, match="ignored"):
        parsed = parse_uri("mongodb://h/?wtimeout=5&wTimeoutMS=10")
    assert parsed.options == {"wTimeoutMS": 10}


def test_option_delimiters() -> None:
    assert parse_uri("mongodb://h/?w=1;journal=true").options == {"w": 1, "journal": True}
    assert parse_uri("mongodb://h/?w=1&&journal=true&").options == {"w": 1, "journal": True}
    assert parse_uri("mongodb://h/?").options == {}
    with pytest.raises(InvalidURI, match="not both"):
        parse_uri("mongodb://h/?w=1;journal=true&appname=x")
    with pytest.raises(InvalidURI, match="empty name"):
        parse_uri("mongodb://h/?=1")
    with pytest.raises(InvalidURI, match="'%'"):
        parse_uri("mongodb://h/?appname=100%")
    assert parse_uri("mongodb://h/?appname=a%3Bb%26c%3Dd+e").options["appname"] == "a;b&c=d+e"


def test_a_password_with_an_unescaped_question_mark_is_caught() -> None:
    # "user:12345?x" looks like host "user", port 12345, then options "x@host/db?w=1".
    with pytest.raises(InvalidURI, match="option name contains '@'"):
        parse_uri("mongodb://user:12345?x@host/db?w=1")


def test_option_combinations() -> None:
    for query, match in [
        ("tls=false&tlsCAFile=ca.pem", "tls is false"),
        ("minPoolSize=5&maxPoolSize=2", "minPoolSize"),
        ("maxStalenessSeconds=120", "primary"),
        ("readPreferenceTags=dc:ny", "primary"),
        ("readPreference=primary&readPreferenceTags=dc:ny", "primary"),
        ("w=0&journal=true", "w to 0"),
        ("journal=true&fsync=true", "fsync"),
    ]:
        with pytest.raises(ConfigurationError, match=match):
            parse_uri(f"mongodb://h/?{query}", warn=True)
    # These are fine.
    parse_uri("mongodb://h/?readPreferenceTags=&maxStalenessSeconds=-1&minPoolSize=5&maxPoolSize=0")
    parse_uri("mongodb://h/?readPreference=nearest&maxStalenessSeconds=1")  # checked at selection


def test_validate_false_keeps_raw_strings() -> None:
    parsed = parse_uri(
        "mongodb://h,i/?w=1&readPreferenceTags=a:b&readPreferenceTags=&bogus=x&directConnection=true",
        validate=False,
    )
    assert parsed.options == {
        "w": "1",
        "readPreferenceTags": ["a:b", ""],
        "bogus": "x",
        "directConnection": "true",
    }


def test_normalize_false_keeps_alias_spellings() -> None:
    parsed = parse_uri("mongodb://h/?SSL=true&j=false", normalize=False)
    assert list(parsed.options) == ["ssl", "j"]
    with pytest.raises(ConfigurationError):
        parse_uri("mongodb://h/?ssl=false&tlsCAFile=x", normalize=False)


def test_split_options() -> None:
    assert split_options("w=majority&tls=true") == {"w": "majority", "tls": True}
    with pytest.raises(ConfigurationError, match="not allowed"):
        split_options("w=1", allowed=("replicaSet",))


def test_dict_style_access_like_pymongo() -> None:
    parsed = parse_uri("mongodb://u:p@h/db.c")
    assert parsed["nodelist"] == [("h", 27017)] and parsed["collection"] == "c"
    assert "fqdn" in parsed and "nope" not in parsed
    assert (
        set(parsed)
        == set(parsed.keys())
        == {"nodelist", "username", "password", "database", "collection", "options", "fqdn"}
    )
    with pytest.raises(KeyError):
        parsed["is_srv"]


# ------------------------------------------------------------------ secrets

SECRET_PREFIX = "Zq9"
_password_text = st.text(st.characters(codec="utf-8"), min_size=0, max_size=20).map(
    lambda tail: SECRET_PREFIX + tail
)

BAD_QUERIES = [
    "connectTimeoutMS=abc",
    "w=-1",
    "tlsInsecure=true&tlsAllowInvalidCertificates=true",
    "proxyPort=1",
    "retryWrites=true&retryWrites=false",
    "maxStalenessSeconds=30",
    "authSource=",
    "directConnection=true&replicaSet=x&loadBalanced=true",
    "nonsense=1&compressors=brotli",
    "x",
    "a=%zz",
    "proxyHost=p&proxyUsername=u&proxyPassword=" + SECRET_PREFIX + "proxy&proxyPassword=other",
]


def _messages(uri: str, **kwargs: Any) -> list[str]:
    """Every error and warning text (and repr) that parsing ``uri`` produces."""
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = parse_uri(uri, **kwargs)
        except (ConfigurationError, TypeError) as exc:
            out += [str(exc), repr(exc)]
        else:
            out += [repr(parsed), str(parsed), repr(parsed.options)]
    return out + [str(w.message) for w in caught]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(password=_password_text, query=st.sampled_from(BAD_QUERIES), warn=st.booleans())
@example(password=SECRET_PREFIX + "p@ss", query="w=-1", warn=False)
def test_encoded_passwords_never_show(password: str, query: str, warn: bool) -> None:
    uri = f"mongodb://user:{quote(password, safe='')}@host/db?{query}"
    for text in _messages(uri, warn=warn):
        assert SECRET_PREFIX not in text, text


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(password=_password_text, query=st.sampled_from(BAD_QUERIES), warn=st.booleans())
@example(password=SECRET_PREFIX + "a?b", query="w=-1", warn=False)
@example(password=SECRET_PREFIX + "a?b=c", query="w=1", warn=True)
@example(password=SECRET_PREFIX + ":27", query="w=1", warn=True)
@example(password=SECRET_PREFIX + "/x", query="w=1", warn=True)
@example(password=SECRET_PREFIX + "?x=1&y=2", query="replicaSet=my@rs", warn=True)
@example(password="x?compressors=" + SECRET_PREFIX, query="w=1", warn=True)
@example(
    password="x?readPreference=secondary&readPreferenceTags=a:Zq9,a:Zq9", query="w=1", warn=False
)
@example(password="x?appname=" + SECRET_PREFIX * 50, query="w=1", warn=False)
def test_unencoded_passwords_never_show_even_when_the_split_goes_wrong(
    password: str, query: str, warn: bool
) -> None:
    # A password with unescaped '?', '/', ':' or '@' breaks the string apart in odd
    # places; whatever the parser makes of it, the pieces must not be quoted.
    uri = f"mongodb://user:{password}@host/db?{query}"
    for text in _messages(uri, warn=warn):
        assert SECRET_PREFIX not in text, text


@pytest.mark.parametrize(
    "uri",
    [
        # "u:1" parses as host u, port 1; the rest of the "password" becomes options.
        "mongodb://u:1?compressors=Zq9x@host/db",
        "mongodb://u:1?readPreference=secondary&readPreferenceTags=Zq9:a,Zq9:b@host",
        "mongodb://u:1?appname=" + "Zq9" * 50 + "@host",
        "mongodb://u:1?maxPoolSize=Zq9@host",
        "mongodb://u:1?Zq9=1@host",
    ],
)
def test_options_cut_from_a_password_are_never_quoted(uri: str) -> None:
    for warn in (False, True):
        for text in _messages(uri, warn=warn):
            if not text.startswith(("ParsedURI", "URIOptions")):
                assert SECRET_PREFIX not in text, text


def test_secret_option_values_never_show() -> None:
    parsed = parse_uri(
        "mongodb://h/?proxyHost=p&proxyUsername=u&proxyPassword=Zq9a&tlsCertificateKeyFilePassword=Zq9b"
        "&authMechanism=PLAIN&authMechanismProperties=AWS_SESSION_TOKEN:Zq9c"
    )
    assert SECRET_PREFIX not in repr(parsed)
    with pytest.raises(ConfigurationError) as caught:
        parse_uri("mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN:Zq9,d")
    assert SECRET_PREFIX not in str(caught.value)


def test_parsed_uri_repr_hides_the_password() -> None:
    parsed = parse_uri("mongodb://ada:Zq9%40secret@h")
    assert parsed.password == "Zq9@secret"
    for text in (repr(parsed), str(parsed), f"{parsed}", f"{parsed!r}"):
        assert "Zq9" not in text and "password='***'" in text
    assert "password=None" in repr(parse_uri("mongodb://ada@h"))
