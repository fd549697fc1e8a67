"""The auth spec's legacy connection string tests (tests/specs/auth/tests/legacy).

Each URI is parsed strictly (``parse_uri`` with ``warn=False``, as the auth spec's
errors must be errors) and the credential built with
:func:`driver.auth_options.build_credential`:

- ``valid: false``: parsing or building raises ConfigurationError.
- ``valid: true``: ``credential: null`` means no credential; otherwise username,
  password, source, mechanism (``null`` is our ``"DEFAULT"``, negotiated at connect
  time) and mechanism_properties (``null``: none) match.

GSSAPI, MONGODB-AWS and MONGODB-OIDC are deliberately not built, so their cases are
skipped by name below; a separate test checks that their URIs still parse and that
asking for the credential fails with a clear "not supported" error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driver.auth_options import build_credential
from driver.errors import ConfigurationError
from driver.uri import parse_uri

SPEC_FILE = (
    Path(__file__).resolve().parents[1]
    / "specs"
    / "auth"
    / "tests"
    / "legacy"
    / "connection-string.json"
)

_GSSAPI = "GSSAPI (Kerberos) is deliberately not built"
_MONGODB_AWS = "MONGODB-AWS is deliberately not built"
_MONGODB_OIDC = "MONGODB-OIDC is deliberately not built"

# Every case this runner skips, by description, with the reason (printed at the end).
SPEC_SKIPS: list[tuple[str, str]] = [
    ("should recognise the mechanism (GSSAPI)", _GSSAPI),
    ("should ignore the database (GSSAPI)", _GSSAPI),
    ("should accept valid authSource (GSSAPI)", _GSSAPI),
    ("should accept generic mechanism property (GSSAPI)", _GSSAPI),
    ("should accept forwardAndReverse hostname canonicalization (GSSAPI)", _GSSAPI),
    ("should accept no hostname canonicalization (GSSAPI)", _GSSAPI),
    ("must raise an error when the hostname canonicalization is invalid", _GSSAPI),
    ("should accept the password (GSSAPI)", _GSSAPI),
    ("should throw an exception if authSource is invalid (GSSAPI)", _GSSAPI),
    ("should throw an exception if no username (GSSAPI)", _GSSAPI),
    ("should recognise the mechanism (MONGODB-AWS)", _MONGODB_AWS),
    (
        "should recognise the mechanism when auth source is explicitly specified (MONGODB-AWS)",
        _MONGODB_AWS,
    ),
    ("should throw an exception if username and no password (MONGODB-AWS)", _MONGODB_AWS),
    ("should use username and password if specified (MONGODB-AWS)", _MONGODB_AWS),
    ("should use username, password and session token if specified (MONGODB-AWS)", _MONGODB_AWS),
    ("should throw an exception if username provided (MONGODB-AWS)", _MONGODB_AWS),
    ("should throw an exception if username and password provided (MONGODB-AWS)", _MONGODB_AWS),
    ("should throw an exception if AWS_SESSION_TOKEN provided (MONGODB-AWS)", _MONGODB_AWS),
    ("should recognise the mechanism with test environment (MONGODB-OIDC)", _MONGODB_OIDC),
    (
        "should recognise the mechanism when auth source is explicitly specified and with environment (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
    ("should throw an exception if supplied a password (MONGODB-OIDC)", _MONGODB_OIDC),
    ("should throw an exception if username is specified for test (MONGODB-OIDC)", _MONGODB_OIDC),
    (
        "should throw an exception if specified environment is not supported (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
    (
        "should throw an exception if neither environment nor callbacks specified (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
    (
        "should throw an exception when unsupported auth property is specified (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
    ("should recognise the mechanism with azure provider (MONGODB-OIDC)", _MONGODB_OIDC),
    ("should accept a username with azure provider (MONGODB-OIDC)", _MONGODB_OIDC),
    ("should accept a url-encoded TOKEN_RESOURCE (MONGODB-OIDC)", _MONGODB_OIDC),
    ("should accept an un-encoded TOKEN_RESOURCE (MONGODB-OIDC)", _MONGODB_OIDC),
    ("should handle a complicated url-encoded TOKEN_RESOURCE (MONGODB-OIDC)", _MONGODB_OIDC),
    ("should url-encode a TOKEN_RESOURCE (MONGODB-OIDC)", _MONGODB_OIDC),
    (
        "should accept a username and throw an error for a password with azure provider (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
    (
        "should throw an exception if no token audience is given for azure provider (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
    ("should recognise the mechanism with gcp provider (MONGODB-OIDC)", _MONGODB_OIDC),
    (
        "should throw an error for a username and password with gcp provider (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
    ("should throw an error if not TOKEN_RESOURCE with gcp provider (MONGODB-OIDC)", _MONGODB_OIDC),
    ("should recognise the mechanism with k8s provider (MONGODB-OIDC)", _MONGODB_OIDC),
    (
        "should throw an error for a username and password with k8s provider (MONGODB-OIDC)",
        _MONGODB_OIDC,
    ),
]
_SKIPPED = dict(SPEC_SKIPS)


def _cases() -> list[Any]:
    cases = json.loads(SPEC_FILE.read_text(encoding="utf-8"))["tests"]
    return [pytest.param(case, id=case["description"]) for case in cases]


@pytest.mark.parametrize("case", _cases())
def test_auth_connection_string(case: dict[str, Any]) -> None:
    if case["description"] in _SKIPPED:
        pytest.skip(_SKIPPED[case["description"]])
    if not case["valid"]:
        with pytest.raises(ConfigurationError):
            build_credential(parse_uri(case["uri"]))
        return
    credential = build_credential(parse_uri(case["uri"]))
    expected = case["credential"]
    if expected is None:
        assert credential is None
        return
    assert credential is not None
    assert credential.username == expected["username"]
    assert credential.password == expected["password"]
    assert credential.source == expected["source"]
    assert credential.mechanism == (expected["mechanism"] or "DEFAULT")
    assert dict(credential.mechanism_properties) == (expected["mechanism_properties"] or {})
    if credential.password is not None:
        assert "password='***'" in repr(credential)


def _unbuilt_valid_cases() -> list[Any]:
    return [param for param in _cases() if param.id in _SKIPPED and param.values[0]["valid"]]


@pytest.mark.parametrize("case", _unbuilt_valid_cases())
def test_unbuilt_mechanisms_parse_and_are_refused_clearly(case: dict[str, Any]) -> None:
    parsed = parse_uri(case["uri"])
    with pytest.raises(ConfigurationError, match="not supported by this driver") as caught:
        build_credential(parsed)
    if parsed.password:
        assert parsed.password not in str(caught.value)
