"""driver.options (the table, validators, keyword-argument merging) and the value
objects it builds on: WriteConcern, ReadConcern and the read preferences.
"""

from __future__ import annotations

import datetime
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.errors import ConfigurationError
from driver.options import (
    CaseInsensitiveDict,
    Invalid,
    URIOptions,
    canonical_name,
    check_combinations,
    lookup,
    validate_client_kwargs,
)
from driver.read_concern import ReadConcern, read_concern_from_options
from driver.read_preferences import (
    Nearest,
    Primary,
    PrimaryPreferred,
    ReadPreference,
    Secondary,
    SecondaryPreferred,
    make_read_preference,
    read_pref_mode_from_name,
    read_preference_from_options,
)
from driver.uri import parse_uri
from driver.write_concern import WriteConcern, write_concern_from_options

# ------------------------------------------------------------------ the mapping


def test_case_insensitive_dict() -> None:
    d: CaseInsensitiveDict[int] = CaseInsensitiveDict([("maxPoolSize", 1)])
    d["MAXPOOLSIZE"] = 2
    assert d["maxpoolsize"] == 2 and len(d) == 1 and list(d) == ["MAXPOOLSIZE"]
    assert "MaxPoolSize" in d and 5 not in d  # type: ignore[comparison-overlap]
    assert d == {"maxPoolSize": 2} and d != {"maxPoolSize": 3} and d != [1]
    copy = d.copy()
    del d["maxPOOLsize"]
    assert not d and copy.cased_key("maxpoolsize") == "MAXPOOLSIZE"
    with pytest.raises(KeyError):
        d["nope"]
    # Only ASCII letters fold, as the spec says: these two keys differ.
    d["\u0130x"] = 1
    d["i\u0307x"] = 2
    assert len(d) == 2


def test_uri_options_repr_hides_secrets() -> None:
    options = URIOptions(
        {
            "proxyPassword": "s1",
            "tlsCertificateKeyFilePassword": "s2",
            "password": "s3",
            "authMechanismProperties": {"AWS_SESSION_TOKEN": "s4", "SERVICE_NAME": "svc"},
            "appname": "app",
        }
    )
    text = repr(options)
    assert not any(secret in text for secret in ("s1", "s2", "s3", "s4"))
    assert "'svc'" in text and "'app'" in text


def test_lookup_and_aliases() -> None:
    assert canonical_name("ssl") == "tls" and canonical_name("J") == "journal"
    assert (
        canonical_name("WTIMEOUT") == "wTimeoutMS" and canonical_name("wtimeoutms") == "wTimeoutMS"
    )
    assert canonical_name("slaveOk") is None  # dropped, as in PyMongo 4
    assert canonical_name("waitQueueMultiple") is None
    spec = lookup("tz_aware")
    assert spec is not None and not spec.in_uri


# ------------------------------------------------------------------ validators


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("retryWrites", "TRUE", True),
        ("retryWrites", False, False),
        ("maxPoolSize", "0", 0),
        ("maxPoolSize", 7, 7),
        ("connectTimeoutMS", 1500.5, 1500.5),  # keyword arguments may use floats
        ("wTimeoutMS", 2**40, 2**40),
        ("zlibCompressionLevel", "-1", -1),
        ("w", "majority", "majority"),
        ("w", "3", 3),
        ("compressors", ["ZSTD", "zlib"], ["zstd", "zlib"]),
        ("readPreferenceTags", [{"dc": "ny"}, "rack:1", ""], [{"dc": "ny"}, {"rack": "1"}, {}]),
        (
            "authMechanismProperties",
            "TOKEN_RESOURCE:mongodb://x:1",
            {"TOKEN_RESOURCE": "mongodb://x:1"},
        ),
        ("authMechanism", "scram-sha-256", "SCRAM-SHA-256"),
        ("uuidRepresentation", "STANDARD", 4),
        ("serverMonitoringMode", "POLL", "poll"),
        ("srvServiceName", "my-service-name-longer-than-15", "my-service-name-longer-than-15"),
        ("maxStalenessSeconds", -1, -1),
        ("tzinfo", datetime.timezone.utc, datetime.timezone.utc),
    ],
)
def test_valid_values(name: str, value: object, expected: object) -> None:
    spec = lookup(name)
    assert spec is not None
    assert spec.validator(value, []) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("retryWrites", 1),
        ("retryWrites", "t"),
        ("maxPoolSize", True),
        ("maxPoolSize", 1.5),  # counts are whole numbers
        ("maxPoolSize", "-1"),
        ("maxPoolSize", " 5"),
        ("connectTimeoutMS", float("inf")),
        ("connectTimeoutMS", "1.5"),  # a URI takes integers only
        ("w", -1),
        ("w", 1.0),
        ("w", ""),
        ("maxConnecting", 0),
        ("waitQueueTimeoutMS", 0),
        ("localThresholdMS", -1),
        ("srvServiceName", "-bad"),
        ("srvServiceName", "a--b"),
        ("srvServiceName", "123"),
        ("compressors", 5),
        ("readPreferenceTags", [{"dc": 1}]),
        ("readPreferenceTags", "dc"),
        ("authMechanismProperties", "NOCOLON"),
        ("authMechanismProperties", ":value"),
        ("uuidRepresentation", 99),
        ("tz_aware", "true"),  # a Python-only option wants a real bool
        ("unicode_decode_error_handler", "explode"),
        ("event_listeners", "not a list"),
    ],
)
def test_invalid_values(name: str, value: object) -> None:
    spec = lookup(name)
    assert spec is not None
    with pytest.raises(Invalid, match="must"):
        spec.validator(value, [])


# ------------------------------------------------------------------ keyword arguments


def test_kwargs_merge_case_insensitively() -> None:
    merged = validate_client_kwargs(
        parse_uri("mongodb://h/?retryWrites=false&w=1").options,
        {"MAXPOOLSIZE": 5, "w": 1, "tlsCAFile": "ca.pem", "readPreference": "secondary"},
    )
    assert merged == {
        "retryWrites": False,
        "w": 1,
        "maxPoolSize": 5,
        "tlsCAFile": "ca.pem",
        "readPreference": "secondary",
    }
    assert list(merged) == ["retryWrites", "w", "maxPoolSize", "tlsCAFile", "readPreference"]


def test_a_kwarg_that_contradicts_the_uri_is_an_error_naming_both() -> None:
    options = parse_uri("mongodb://h/?retryWrites=false").options
    with pytest.raises(ConfigurationError) as caught:
        validate_client_kwargs(options, {"retryWrites": True})
    message = str(caught.value)
    assert "retryWrites=True (keyword argument)" in message
    assert "retryWrites=False (connection string)" in message
    # The string form of the same value is the same value.
    assert validate_client_kwargs(options, {"retrywrites": "false"})["retryWrites"] is False


@pytest.mark.parametrize(
    ("uri", "kwargs"),
    [
        ("mongodb://h/?tls=true", {"ssl": False}),
        ("mongodb://h/?j=true", {"journal": False}),
        ("mongodb://h/?wtimeoutMS=5", {"wTimeoutMS": 6}),
        ("mongodb://h/?w=majority", {"w": 1}),
        ("mongodb://h/?readPreference=secondary", {"readPreference": "nearest"}),
        ("mongodb://h/", {"j": True, "journal": False}),
        ("mongodb://h/?compressors=zlib", {"compressors": ["zstd"]}),
    ],
)
def test_contradictions(uri: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="give"):
        validate_client_kwargs(parse_uri(uri).options, kwargs)


def test_kwargs_are_checked_with_the_uri_as_a_whole() -> None:
    cases: list[tuple[str, dict[str, object], str]] = [
        ("mongodb://h/?tlsAllowInvalidCertificates=true", {"tlsInsecure": True}, "tlsInsecure"),
        ("mongodb://h/?w=0", {"journal": True}, "w to 0"),
        ("mongodb://h/", {"readPreferenceTags": [{"dc": "ny"}]}, "primary"),
        ("mongodb://h/?maxStalenessSeconds=-1", {"maxStalenessSeconds": 90}, "contradicts"),
        ("mongodb://h/?maxPoolSize=2", {"minPoolSize": 3}, "minPoolSize"),
        ("mongodb://h/?tls=false", {"tlsCAFile": "ca.pem"}, "tls is false"),
        ("mongodb://h/?proxyHost=p", {"proxyUsername": "u"}, "together"),
    ]
    for uri, kwargs, match in cases:
        with pytest.raises(ConfigurationError, match=match):
            validate_client_kwargs(parse_uri(uri).options, kwargs)
    with pytest.raises(ConfigurationError, match="exactly one host"):
        validate_client_kwargs({}, {"directConnection": True}, seed_count=2)
    with pytest.raises(ConfigurationError, match="mongodb\\+srv"):
        validate_client_kwargs({}, {"srvMaxHosts": 1}, is_srv=False)
    with pytest.raises(ConfigurationError, match="mongodb\\+srv"):
        validate_client_kwargs({}, {"directConnection": True}, is_srv=True)


def test_unknown_and_invalid_kwargs_are_errors() -> None:
    with pytest.raises(ConfigurationError, match="Unknown option 'maxPoolSise'"):
        validate_client_kwargs({}, {"maxPoolSise": 5})
    with pytest.raises(ConfigurationError, match="maxPoolSize: must be an integer >= 0"):
        validate_client_kwargs({}, {"maxPoolSize": "lots"})


def test_none_means_not_given() -> None:
    merged = validate_client_kwargs({"replicaSet": "rs"}, {"replicaSet": None, "w": None})
    assert merged == {"replicaSet": "rs"}
    # Except where PyMongo gives None a meaning: no connect timeout.
    assert validate_client_kwargs({}, {"connectTimeoutMS": None}) == {"connectTimeoutMS": 0}


def test_alias_options_from_normalize_false_still_conflict() -> None:
    options = parse_uri("mongodb://h/?ssl=true", normalize=False).options
    with pytest.raises(ConfigurationError, match="contradicts"):
        validate_client_kwargs(options, {"tls": False})


def test_deprecated_kwarg_warns() -> None:
    with pytest.warns(DeprecationWarning, match="wtimeout"):
        merged = validate_client_kwargs({}, {"wtimeout": 10})
    assert merged == {"wTimeoutMS": 10}


def test_python_only_kwargs() -> None:
    merged = validate_client_kwargs(
        {},
        {
            "tz_aware": True,
            "connect": False,
            "document_class": dict,
            "username": "ada",
            "password": "Zq9",
        },
    )
    assert merged["document_class"] is dict and merged["tz_aware"] is True
    assert "Zq9" not in repr(merged)


@given(secret=st.text(max_size=12).map(lambda s: "Zq9" + s))
def test_secret_kwargs_never_show_in_errors(secret: str) -> None:
    options = parse_uri("mongodb://h/?proxyHost=p&proxyUsername=u&proxyPassword=Zq9uri").options
    cases: list[dict[str, object]] = [
        {"proxyPassword": secret},  # contradicts the URI
        {"password": 5, "proxyPassword": secret},  # invalid type
        {"tls": False, "tlsCertificateKeyFilePassword": secret},  # combination
        {"ssl": True, "tls": False, "password": secret},
    ]
    for kwargs in cases:
        with pytest.raises(ConfigurationError) as caught:
            validate_client_kwargs(options, kwargs)
        assert "Zq9" not in str(caught.value), caught.value


def test_warnings_from_kwargs_point_at_the_caller() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validate_client_kwargs({}, {"compressors": "lz4"})
    assert caught and caught[0].filename == __file__


def test_check_combinations_accepts_the_reasonable() -> None:
    check_combinations({"srvMaxHosts": 0, "replicaSet": "rs"}, is_srv=True)
    check_combinations({"loadBalanced": True, "directConnection": False}, seed_count=1)
    check_combinations({"readPreferenceTags": [{}], "maxStalenessSeconds": -1})
    check_combinations({"minPoolSize": 10, "maxPoolSize": 0})


# ------------------------------------------------------------------ write and read concern


def test_write_concern() -> None:
    wc = WriteConcern(w=2, wtimeout=100, j=True)
    assert wc.document == {"w": 2, "wtimeout": 100, "j": True}
    assert wc.acknowledged and not wc.is_server_default
    assert wc == WriteConcern(j=True, wtimeout=100, w=2) and hash(wc) == hash(
        WriteConcern(w=2, wtimeout=100, j=True)
    )
    assert wc != WriteConcern(w=2)
    wc.document["w"] = 99  # a copy
    assert wc.document["w"] == 2
    assert repr(WriteConcern()) == "WriteConcern()" and WriteConcern().acknowledged
    assert WriteConcern(w=0, fsync=False).document == {"w": 0, "fsync": False}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"w": -1}, ValueError),
        ({"w": 1.5}, TypeError),
        ({"w": True}, TypeError),
        ({"wtimeout": -1}, ValueError),
        ({"wtimeout": "5"}, TypeError),
        ({"j": 1}, TypeError),
        ({"fsync": "yes"}, TypeError),
        ({"w": 0, "j": True}, ConfigurationError),
        ({"j": True, "fsync": True}, ConfigurationError),
    ],
)
def test_invalid_write_concerns(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        WriteConcern(**kwargs)  # type: ignore[arg-type]


def test_concerns_from_options() -> None:
    options = parse_uri(
        "mongodb://h/?w=majority&wTimeoutMS=5&journal=true&readConcernLevel=local"
    ).options
    assert write_concern_from_options(options) == WriteConcern("majority", 5, True)
    assert read_concern_from_options(options) == ReadConcern("local")
    assert write_concern_from_options({"wTimeoutMS": 5.0}).document == {"wtimeout": 5}


def test_read_concern() -> None:
    assert ReadConcern().ok_for_legacy and ReadConcern("local").ok_for_legacy
    assert not ReadConcern("majority").ok_for_legacy
    assert ReadConcern("x") == ReadConcern("x") != ReadConcern()
    assert repr(ReadConcern()) == "ReadConcern()" and ReadConcern().is_server_default


# ------------------------------------------------------------------ read preferences


def test_read_preference_constants() -> None:
    modes = [
        (ReadPreference.PRIMARY, Primary, 0, "primary"),
        (ReadPreference.PRIMARY_PREFERRED, PrimaryPreferred, 1, "primaryPreferred"),
        (ReadPreference.SECONDARY, Secondary, 2, "secondary"),
        (ReadPreference.SECONDARY_PREFERRED, SecondaryPreferred, 3, "secondaryPreferred"),
        (ReadPreference.NEAREST, Nearest, 4, "nearest"),
    ]
    for pref, cls, mode, name in modes:
        assert isinstance(pref, cls) and pref.mode == mode and pref.mongos_mode == name
        assert pref.name == cls.__name__ and pref.document == {"mode": name}
        assert pref.tag_sets == [{}] and pref.max_staleness == -1 and pref.min_wire_version == 0
        assert read_pref_mode_from_name(name) == mode
        assert pref.secondary_ok == (mode != 0)


def test_read_preference_values() -> None:
    pref = SecondaryPreferred([{"dc": "ny"}, {}], max_staleness=90)
    assert pref.document == {
        "mode": "secondaryPreferred",
        "tags": [{"dc": "ny"}, {}],
        "maxStalenessSeconds": 90,
    }
    assert pref.min_wire_version == 5
    assert pref == SecondaryPreferred([{"dc": "ny"}, {}], 90) != SecondaryPreferred()
    assert hash(pref) == hash(SecondaryPreferred([{"dc": "ny"}, {}], 90))
    assert Secondary([{}]) == Secondary() and Secondary([{}]).document == {"mode": "secondary"}
    with pytest.raises(TypeError):
        Nearest(hedge={"enabled": True})  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("tag_sets", "max_staleness", "error"),
    [
        ({"dc": "ny"}, -1, TypeError),  # a dict, not a list of dicts
        ([], -1, ValueError),
        (["dc:ny"], -1, TypeError),
        ([{"dc": 1}], -1, TypeError),
        (None, 0, ValueError),
        (None, -2, ValueError),
        (None, 1.5, TypeError),
        (None, True, TypeError),
    ],
)
def test_invalid_read_preferences(
    tag_sets: object, max_staleness: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Secondary(tag_sets, max_staleness)  # type: ignore[arg-type]


def test_make_read_preference() -> None:
    assert make_read_preference(0, None) == Primary()
    assert make_read_preference(0, [{}], -1) == Primary()
    assert make_read_preference(4, [{"a": "b"}], 100) == Nearest([{"a": "b"}], 100)
    with pytest.raises(ConfigurationError, match="tags"):
        make_read_preference(0, [{"a": "b"}])
    with pytest.raises(ConfigurationError, match="maxStalenessSeconds"):
        make_read_preference(0, None, 90)
    with pytest.raises(ValueError):
        make_read_preference(7, None)
    with pytest.raises(ValueError):
        read_pref_mode_from_name("Secondary")
    options = parse_uri(
        "mongodb://h/?readPreference=nearest&readPreferenceTags=dc:ny&maxStalenessSeconds=100"
    ).options
    assert read_preference_from_options(options) == Nearest([{"dc": "ny"}], 100)
    assert read_preference_from_options({}) == Primary()
