"""Tests for driver.bson.json_util beyond the BSON corpus (see test_corpus.py).

Options and their validation, the legacy output forms, UUIDs, datetimes, parse errors,
document classes, and a differential test against PyMongo's ``bson.json_util``.
"""

from __future__ import annotations

import datetime
import json
import pickle
import re
import uuid
from typing import Any

import pytest

from driver.bson import SON, decode, encode
from driver.bson.binary import Binary, UuidRepresentation
from driver.bson.code import Code
from driver.bson.codec_options import CodecOptions, DatetimeConversion, TypeRegistry
from driver.bson.datetime_ms import DatetimeMS
from driver.bson.dbref import DBRef
from driver.bson.decimal128 import Decimal128
from driver.bson.int64 import Int64
from driver.bson.json_util import (
    CANONICAL_JSON_OPTIONS,
    DEFAULT_JSON_OPTIONS,
    LEGACY_JSON_OPTIONS,
    RELAXED_JSON_OPTIONS,
    DatetimeRepresentation,
    JSONMode,
    JSONOptions,
    default,
    dumps,
    loads,
    object_hook,
    object_pairs_hook,
)
from driver.bson.max_key import MaxKey
from driver.bson.min_key import MinKey
from driver.bson.objectid import ObjectId
from driver.bson.raw_bson import RawBSONDocument
from driver.bson.regex import Regex
from driver.bson.timestamp import Timestamp
from driver.errors import InvalidBSON

OID = ObjectId("5f43a1b2c3d4e5f6a7b8c9d0")
UUID = uuid.UUID("73ffd264-44b3-4c69-90e8-e7d1dfc035d4")
UTC = datetime.timezone.utc


def _pairs(text: str) -> Any:
    # Ordered pairs, exact ints, floats by value and sign: see test_corpus.py.
    return json.loads(
        text,
        object_pairs_hook=list,
        parse_float=lambda t: ("double", repr(float(t))),
        parse_int=lambda t: ("int", int(t)),
    )


# ----------------------------------------------------------------------------- options


def test_modes_and_constants() -> None:
    assert DEFAULT_JSON_OPTIONS is RELAXED_JSON_OPTIONS
    assert isinstance(RELAXED_JSON_OPTIONS, CodecOptions)
    assert [int(mode) for mode in JSONMode] == [0, 1, 2]
    assert [mode.name for mode in JSONMode] == ["LEGACY", "RELAXED", "CANONICAL"]
    assert [int(rep) for rep in DatetimeRepresentation] == [0, 1, 2]
    assert [rep.name for rep in DatetimeRepresentation] == ["LEGACY", "NUMBERLONG", "ISO8601"]
    expected = {
        LEGACY_JSON_OPTIONS: (False, 0, False, 0),
        RELAXED_JSON_OPTIONS: (False, 2, True, 1),
        CANONICAL_JSON_OPTIONS: (True, 1, True, 2),
    }
    for opts, values in expected.items():
        got = (
            opts.strict_number_long,
            opts.datetime_representation,
            opts.strict_uuid,
            opts.json_mode,
        )
        assert got == values
    assert JSONOptions().json_mode == JSONMode.RELAXED
    assert RELAXED_JSON_OPTIONS.uuid_representation == UuidRepresentation.UNSPECIFIED
    assert RELAXED_JSON_OPTIONS.tz_aware is False


def test_legacy_mode_options_are_free() -> None:
    opts = JSONOptions(
        json_mode=JSONMode.LEGACY,
        strict_number_long=True,
        datetime_representation=DatetimeRepresentation.ISO8601,
        strict_uuid=True,
    )
    assert (opts.strict_number_long, opts.datetime_representation, opts.strict_uuid) == (
        True,
        2,
        True,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json_mode": 3},
        {"json_mode": "relaxed"},
        {"json_mode": JSONMode.LEGACY, "datetime_representation": 7},
        {"strict_number_long": True},
        {"datetime_representation": DatetimeRepresentation.LEGACY},
        {"strict_uuid": False},
        {"json_mode": JSONMode.CANONICAL, "strict_number_long": False},
        {"json_mode": JSONMode.CANONICAL, "datetime_representation": 2},
        {"tzinfo": UTC},  # CodecOptions' own rule: tzinfo needs tz_aware=True
        {"uuid_representation": 99},
    ],
)
def test_invalid_options_raise_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        JSONOptions(**kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"strict_uuid": 1}, {"strict_number_long": "yes"}, {"tz_aware": 1}]
)
def test_invalid_option_types_raise_type_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        JSONOptions(json_mode=JSONMode.LEGACY, **kwargs)


def test_with_options() -> None:
    aware = RELAXED_JSON_OPTIONS.with_options(tz_aware=True, tzinfo=UTC)
    assert isinstance(aware, JSONOptions)
    assert aware.tz_aware and aware.tzinfo is UTC and aware.json_mode == JSONMode.RELAXED
    # Changing the mode resets the options that depend on it (PyMongo raises here).
    canonical = RELAXED_JSON_OPTIONS.with_options(json_mode=JSONMode.CANONICAL)
    assert canonical == CANONICAL_JSON_OPTIONS
    legacy = CANONICAL_JSON_OPTIONS.with_options(json_mode=JSONMode.LEGACY, strict_uuid=True)
    assert (legacy.strict_number_long, legacy.strict_uuid) == (False, True)
    kept = legacy.with_options(tz_aware=True)
    assert kept.strict_uuid is True
    with pytest.raises(TypeError, match="bogus"):
        RELAXED_JSON_OPTIONS.with_options(bogus=1)
    with pytest.raises(ValueError):
        RELAXED_JSON_OPTIONS.with_options(strict_number_long=True)


def test_options_value_semantics() -> None:
    assert JSONOptions() == RELAXED_JSON_OPTIONS
    # (Equal options with distinct TypeRegistry objects hash differently: TypeRegistry
    # hashes by identity, a codec_options matter; the same registry hashes the same.)
    assert hash(RELAXED_JSON_OPTIONS.with_options()) == hash(RELAXED_JSON_OPTIONS)
    assert RELAXED_JSON_OPTIONS != CANONICAL_JSON_OPTIONS
    assert CodecOptions() != RELAXED_JSON_OPTIONS
    restored = pickle.loads(pickle.dumps(CANONICAL_JSON_OPTIONS.with_options(tz_aware=True)))
    assert restored == CANONICAL_JSON_OPTIONS.with_options(tz_aware=True)
    text = repr(LEGACY_JSON_OPTIONS)
    assert text.startswith("JSONOptions(strict_number_long=False, ")
    assert "json_mode=<JSONMode.LEGACY: 0>" in text and "tz_aware=False" in text
    with pytest.raises(AttributeError):
        RELAXED_JSON_OPTIONS.json_mode = JSONMode.LEGACY


def test_json_options_must_be_json_options() -> None:
    with pytest.raises(TypeError):
        dumps({}, json_options=CodecOptions())
    with pytest.raises(TypeError):
        loads("{}", json_options=CodecOptions())


# ----------------------------------------------------------------------------- output


def test_legacy_output_forms() -> None:
    doc = {
        "re": Regex("^a", "mi"),
        "bin": Binary(b"\x01\x02", 0x80),
        "raw": b"ab",
        "when": datetime.datetime(2020, 1, 2, 3, 4, 5, 678000),
        "long": Int64(5),
        "nan": float("nan"),
        "u": UUID,
    }
    text = dumps(doc, json_options=LEGACY_JSON_OPTIONS)
    assert text == (
        '{"re": {"$regex": "^a", "$options": "im"}, '
        '"bin": {"$binary": "AQI=", "$type": "80"}, '
        '"raw": {"$binary": "YWI=", "$type": "00"}, '
        '"when": {"$date": 1577934245678}, "long": 5, "nan": NaN, '
        '"u": {"$uuid": "73ffd264-44b3-4c69-90e8-e7d1dfc035d4"}}'
    )
    back = loads(text, json_options=LEGACY_JSON_OPTIONS.with_options(uuid_representation=4))
    assert back["re"] == Regex("^a", "im") and back["bin"] == Binary(b"\x01\x02", 0x80)
    assert back["raw"] == b"ab" and back["when"] == doc["when"] and back["u"] == UUID


def test_legacy_datetime_and_number_long_choices() -> None:
    when = datetime.datetime(2020, 1, 2, 3, 4, 5)
    before = datetime.datetime(1960, 1, 1)
    iso = LEGACY_JSON_OPTIONS.with_options(datetime_representation=DatetimeRepresentation.ISO8601)
    assert dumps({"a": when, "b": before}, json_options=iso) == (
        '{"a": {"$date": "2020-01-02T03:04:05Z"}, "b": {"$date": {"$numberLong": "-315619200000"}}}'
    )
    numberlong = LEGACY_JSON_OPTIONS.with_options(
        datetime_representation=DatetimeRepresentation.NUMBERLONG, strict_number_long=True
    )
    assert dumps({"a": when, "n": Int64(7)}, json_options=numberlong) == (
        '{"a": {"$date": {"$numberLong": "1577934245000"}}, "n": {"$numberLong": "7"}}'
    )


def test_canonical_and_relaxed_output() -> None:
    doc = {
        "_id": OID,
        "i": 1,
        "big": 2**40,
        "l": Int64(3),
        "f": 1.5,
        "whole": 2.0,
        "exp": 1.5e20,
        "tiny": 1.5e-7,
        "inf": float("-inf"),
        "dec": Decimal128("1.50"),
        "code": Code("f()", {"x": 1}),
        "ts": Timestamp(1, 2),
        "min": MinKey(),
        "max": MaxKey(),
        "re": re.compile("a", re.I),
        "list": (1, [True, None]),
    }
    assert dumps(doc, json_options=CANONICAL_JSON_OPTIONS) == (
        '{"_id": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}, "i": {"$numberInt": "1"}, '
        '"big": {"$numberLong": "1099511627776"}, "l": {"$numberLong": "3"}, '
        '"f": {"$numberDouble": "1.5"}, "whole": {"$numberDouble": "2.0"}, '
        '"exp": {"$numberDouble": "1.5E+20"}, "tiny": {"$numberDouble": "1.5E-7"}, '
        '"inf": {"$numberDouble": "-Infinity"}, "dec": {"$numberDecimal": "1.50"}, '
        '"code": {"$code": "f()", "$scope": {"x": {"$numberInt": "1"}}}, '
        '"ts": {"$timestamp": {"t": 1, "i": 2}}, "min": {"$minKey": 1}, "max": {"$maxKey": 1}, '
        '"re": {"$regularExpression": {"pattern": "a", "options": "iu"}}, '
        '"list": [{"$numberInt": "1"}, [true, null]]}'
    )
    assert dumps(doc) == (
        '{"_id": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}, "i": 1, "big": 1099511627776, "l": 3, '
        '"f": 1.5, "whole": 2.0, "exp": 1.5e+20, "tiny": 1.5e-07, '
        '"inf": {"$numberDouble": "-Infinity"}, "dec": {"$numberDecimal": "1.50"}, '
        '"code": {"$code": "f()", "$scope": {"x": 1}}, "ts": {"$timestamp": {"t": 1, "i": 2}}, '
        '"min": {"$minKey": 1}, "max": {"$maxKey": 1}, '
        '"re": {"$regularExpression": {"pattern": "a", "options": "iu"}}, "list": [1, [true, null]]}'
    )
    back = loads(dumps(doc, json_options=CANONICAL_JSON_OPTIONS))
    assert back["exp"] == 1.5e20 and back["tiny"] == 1.5e-7 and type(back["l"]) is Int64
    assert back["code"] == doc["code"] and back["re"] == Regex("a", "iu")


def test_lists_nested_docs_and_json_kwargs() -> None:
    doc = [{"a": [{"b": {"c": Int64(1)}}], "d": SON([("z", 1), ("y", 2)])}, 3]
    text = dumps(doc, json_options=CANONICAL_JSON_OPTIONS, indent=1, sort_keys=True)
    assert "\n" in text
    back = loads(text)
    assert back == [{"a": [{"b": {"c": Int64(1)}}], "d": {"y": 2, "z": 1}}, 3]
    assert loads("[]") == [] and loads("5") == 5 and loads('"s"') == "s"
    assert dumps(OID) == '{"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}'
    assert loads(b'{"a": 1}') == {"a": 1}


def test_dbref() -> None:
    ref = DBRef("coll", OID, "db", extra=Int64(2))
    text = dumps({"r": ref}, json_options=CANONICAL_JSON_OPTIONS)
    assert text == (
        '{"r": {"$ref": "coll", "$id": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}, "$db": "db", '
        '"extra": {"$numberLong": "2"}}}'
    )
    assert loads(text) == {"r": ref}
    assert loads('{"r": {"$ref": "c", "$id": 1, "$db": null}}') == {"r": DBRef("c", 1)}
    # Not DBRefs (left as documents, no error): missing $id, $ref not a string.
    assert loads('{"r": {"$ref": "c"}}') == {"r": {"$ref": "c"}}
    assert loads('{"r": {"$ref": 1, "$id": 2}}') == {"r": {"$ref": 1, "$id": 2}}
    # The top level is a document, as when decoding BSON.
    top = loads('{"$id": 1, "$ref": "c"}')
    assert top == {"$id": 1, "$ref": "c"} and list(top) == ["$id", "$ref"]
    assert isinstance(object_pairs_hook([("$ref", "c"), ("$id", 1)]), DBRef)


def test_unknown_dollar_keys_and_query_operators_stay_documents() -> None:
    text = (
        '{"a": {"$foo": 1}, "b": {"$type": "string"}, "c": {"$type": 2},'
        ' "d": {"$regex": {"$regularExpression": {"pattern": "p", "options": ""}}, "$options": "i"},'
        ' "e": {"$regex": "^x", "$options": "i", "$nin": ["y"]}, "f": {"$options": "i"}}'
    )
    assert loads(text) == {
        "a": {"$foo": 1},
        "b": {"$type": "string"},
        "c": {"$type": 2},
        "d": {"$regex": Regex("p"), "$options": "i"},
        "e": {"$regex": "^x", "$options": "i", "$nin": ["y"]},
        "f": {"$options": "i"},
    }
    assert loads('{"r": {"$regex": "^x", "$options": "mi"}}') == {"r": Regex("^x", "im")}
    assert loads('{"r": {"$regex": "^x"}}') == {"r": Regex("^x")}


def test_duplicate_keys_last_one_wins() -> None:
    # bson-corpus prose test 2.4: the implementation's choice is last-one-wins.
    assert loads('{"foo": 1, "foo": 2}') == {"foo": 2}
    assert encode(loads('{"foo": 1, "foo": 2}')) == encode({"foo": 2})


def test_default_and_errors() -> None:
    assert default(OID) == {"$oid": str(OID)}
    assert default(5, CANONICAL_JSON_OPTIONS) == {"$numberInt": "5"}
    assert json.dumps({"a": OID}, default=default) == '{"a": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}}'
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"s": {1, 2}})
    with pytest.raises(OverflowError):
        dumps({"n": 2**64}, json_options=CANONICAL_JSON_OPTIONS)
    assert dumps({"n": 2**64}) == '{"n": 18446744073709551616}'
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(ValueError):
        dumps(cyclic)


def test_type_registry_fallback_encoder_is_used() -> None:
    opts = RELAXED_JSON_OPTIONS.with_options(
        type_registry=TypeRegistry(fallback_encoder=lambda value: sorted(value))
    )
    assert dumps({"s": {3, 1}}, json_options=opts) == '{"s": [1, 3]}'


def test_document_classes() -> None:
    text = '{"b": 1, "a": {"d": 2, "c": {"$numberLong": "3"}}}'
    son = loads(text, json_options=RELAXED_JSON_OPTIONS.with_options(document_class=SON))
    assert isinstance(son, SON) and isinstance(son["a"], SON)
    assert list(son) == ["b", "a"] and son["a"]["c"] == Int64(3)
    raw_opts = RELAXED_JSON_OPTIONS.with_options(document_class=RawBSONDocument)
    raw = loads(text, json_options=raw_opts)
    assert isinstance(raw, RawBSONDocument)
    assert raw.raw == encode({"b": 1, "a": {"d": 2, "c": Int64(3)}})
    assert dumps(raw) == '{"b": 1, "a": {"d": 2, "c": 3}}'


def test_object_hook() -> None:
    assert object_hook({"$numberLong": "9"}) == Int64(9)
    assert object_hook({"a": 1}) == {"a": 1}
    with pytest.raises(InvalidBSON):
        object_hook({"$numberLong": 9})


# ----------------------------------------------------------------------------- UUIDs


def test_strict_uuid_and_representations() -> None:
    standard = RELAXED_JSON_OPTIONS.with_options(uuid_representation=UuidRepresentation.STANDARD)
    assert dumps({"u": UUID}, json_options=standard) == (
        '{"u": {"$binary": {"base64": "c//SZESzTGmQ6OfR38A11A==", "subType": "04"}}}'
    )
    python_legacy = CANONICAL_JSON_OPTIONS.with_options(
        uuid_representation=UuidRepresentation.PYTHON_LEGACY
    )
    assert '"subType": "03"' in dumps({"u": UUID}, json_options=python_legacy)
    csharp = CANONICAL_JSON_OPTIONS.with_options(
        uuid_representation=UuidRepresentation.CSHARP_LEGACY
    )
    assert loads(dumps({"u": UUID}, json_options=csharp), json_options=csharp) == {"u": UUID}
    # UNSPECIFIED refuses to pick a representation, as when encoding BSON.
    with pytest.raises(ValueError, match="UNSPECIFIED"):
        dumps({"u": UUID})
    lenient = LEGACY_JSON_OPTIONS.with_options(strict_uuid=False)
    assert dumps({"u": UUID}, json_options=lenient) == (
        '{"u": {"$uuid": "73ffd264-44b3-4c69-90e8-e7d1dfc035d4"}}'
    )


def test_uuid_parsing_follows_the_bson_decoder() -> None:
    text = '{"u": {"$uuid": "73ffd264-44b3-4c69-90e8-e7d1dfc035d4"}}'
    assert loads(text) == {"u": Binary(UUID.bytes, 4)}
    standard = RELAXED_JSON_OPTIONS.with_options(uuid_representation=UuidRepresentation.STANDARD)
    assert loads(text, json_options=standard) == {"u": UUID}
    assert loads('{"u": {"$uuid": "73ffd26444b34c6990e8e7d1dfc035d4"}}', json_options=standard) == {
        "u": UUID
    }
    binary = dumps({"u": Binary(UUID.bytes, 4)})
    assert loads(binary, json_options=standard) == decode(
        encode({"u": UUID}, codec_options=standard), standard
    )
    for bad in (
        "urn:uuid:73ffd264-44b3-4c69-90e8-e7d1dfc035d4",
        "{73ffd264-44b3-4c69-90e8-e7d1dfc035d4}",
        "73ffd264",
    ):
        with pytest.raises(InvalidBSON, match=r"\$uuid"):
            loads(json.dumps({"u": {"$uuid": bad}}))


# ----------------------------------------------------------------------------- datetimes


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime.datetime(1970, 1, 1), "1970-01-01T00:00:00Z"),
        (datetime.datetime(2012, 12, 24, 12, 15, 30, 501000), "2012-12-24T12:15:30.501Z"),
        (datetime.datetime(2012, 12, 24, 12, 15, 30, 1999), "2012-12-24T12:15:30.001Z"),
        (datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), "9999-12-31T23:59:59.999Z"),
        (
            datetime.datetime(
                2020, 6, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
            ),
            "2020-06-01T10:00:00Z",
        ),
    ],
)
def test_relaxed_dates_are_iso_utc(when: datetime.datetime, text: str) -> None:
    assert dumps({"d": when}) == json.dumps({"d": {"$date": text}})


def test_dates_outside_iso_range_use_number_long() -> None:
    assert dumps({"d": datetime.datetime(1969, 12, 31, 23, 59, 59)}) == (
        '{"d": {"$date": {"$numberLong": "-1000"}}}'
    )
    assert (
        dumps({"d": DatetimeMS(2**62)})
        == '{"d": {"$date": {"$numberLong": "4611686018427387904"}}}'
    )
    assert dumps({"d": DatetimeMS(1000)}) == '{"d": {"$date": "1970-01-01T00:00:01Z"}}'
    assert (
        dumps({"d": DatetimeMS(1000)}, json_options=LEGACY_JSON_OPTIONS) == '{"d": {"$date": 1000}}'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2012-12-24T12:15:30.501Z", datetime.datetime(2012, 12, 24, 12, 15, 30, 501000)),
        ("2012-12-24t12:15:30.501z", datetime.datetime(2012, 12, 24, 12, 15, 30, 501000)),
        ("2012-12-24T12:15:30Z", datetime.datetime(2012, 12, 24, 12, 15, 30)),
        ("2012-12-24T12:15:30.5Z", datetime.datetime(2012, 12, 24, 12, 15, 30, 500000)),
        ("2012-12-24T12:15:30.123456789Z", datetime.datetime(2012, 12, 24, 12, 15, 30, 123000)),
        ("2012-12-24T12:15:30+01:00", datetime.datetime(2012, 12, 24, 11, 15, 30)),
        ("2012-12-24T12:15:30.250+0100", datetime.datetime(2012, 12, 24, 11, 15, 30, 250000)),
        ("2012-12-24T12:15:30-01:30", datetime.datetime(2012, 12, 24, 13, 45, 30)),
        ("2012-12-24T12:15:30+01", datetime.datetime(2012, 12, 24, 11, 15, 30)),
        ("2012-12-24T12:15:30", datetime.datetime(2012, 12, 24, 12, 15, 30)),
        ("2012-12-24T12:15", datetime.datetime(2012, 12, 24, 12, 15)),
        ("2012-12-24", datetime.datetime(2012, 12, 24)),
        ("1960-01-01T00:00:00.5Z", datetime.datetime(1960, 1, 1, 0, 0, 0, 500000)),
    ],
)
def test_parse_iso_dates(text: str, expected: datetime.datetime) -> None:
    assert loads(json.dumps({"d": {"$date": text}})) == {"d": expected}


@pytest.mark.parametrize(
    "text",
    [
        "2012-13-01T00:00:00Z",
        "2012-02-30",
        "2012-12-24T25:00:00Z",
        "2012-12-24T12:15:30+24:00",
        "12/24/2012",
        "2012-12-24T12:15:30.Z",
        "",
        "2012-12-24T12:15:30 Z",
    ],
)
def test_bad_iso_dates_raise(text: str) -> None:
    with pytest.raises(InvalidBSON, match=r"\$date"):
        loads(json.dumps({"d": {"$date": text}}))


def test_tz_aware_round_trip() -> None:
    tokyo = datetime.timezone(datetime.timedelta(hours=9), "JST")
    when = datetime.datetime(2021, 3, 4, 5, 6, 7, 8000, tzinfo=tokyo)
    aware = RELAXED_JSON_OPTIONS.with_options(tz_aware=True)
    back = loads(dumps({"d": when}), json_options=aware)["d"]
    assert back == when and back.utcoffset() == datetime.timedelta(0)
    local = RELAXED_JSON_OPTIONS.with_options(tz_aware=True, tzinfo=tokyo)
    back = loads(dumps({"d": when}, json_options=CANONICAL_JSON_OPTIONS), json_options=local)["d"]
    assert back == when and back.tzinfo == tokyo and back.hour == 5


def test_datetime_conversion_options() -> None:
    y10k = '{"d": {"$date": {"$numberLong": "253402300800000"}}}'
    with pytest.raises(InvalidBSON, match="DATETIME_AUTO"):
        loads(y10k)
    auto = RELAXED_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_AUTO)
    assert loads(y10k, json_options=auto) == {"d": DatetimeMS(253402300800000)}
    assert loads('{"d": {"$date": "2000-01-01T00:00:00Z"}}', json_options=auto) == {
        "d": datetime.datetime(2000, 1, 1)
    }
    as_ms = RELAXED_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_MS)
    assert loads('{"d": {"$date": "1970-01-01T00:00:01Z"}}', json_options=as_ms) == {
        "d": DatetimeMS(1000)
    }
    clamp = RELAXED_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_CLAMP)
    assert loads(y10k, json_options=clamp) == {
        "d": datetime.datetime.max.replace(microsecond=999000)
    }


def test_legacy_date_number_only_in_legacy_mode() -> None:
    assert loads('{"d": {"$date": 1000}}', json_options=LEGACY_JSON_OPTIONS) == {
        "d": datetime.datetime(1970, 1, 1, 0, 0, 1)
    }
    with pytest.raises(InvalidBSON, match=r"\$date"):
        loads('{"d": {"$date": 1000}}')


# ----------------------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"a": {"$numberInt": "2147483648"}}', "$numberInt"),
        ('{"a": {"$numberInt": "1.0"}}', "$numberInt"),
        ('{"a": {"$numberInt": " 1"}}', "$numberInt"),
        ('{"a": {"$numberLong": "9223372036854775808"}}', "$numberLong"),
        ('{"a": {"$numberDouble": "inf"}}', "$numberDouble"),
        ('{"a": {"$numberDouble": "1_0"}}', "$numberDouble"),
        ('{"a": {"$numberDouble": "-NaN"}}', "$numberDouble"),
        ('{"a": {"$numberDecimal": "1.2.3"}}', "$numberDecimal"),
        ('{"a": {"$oid": "5f43a1b2c3d4e5f6a7b8c9dz"}}', "$oid"),
        ('{"a": {"$binary": {"base64": "//8", "subType": "00"}}}', "$binary"),
        ('{"a": {"$binary": {"base64": "//8=", "subType": "0x1"}}}', "$binary"),
        ('{"a": {"$binary": {"base64": "//8=", "subType": "100"}}}', "$binary"),
        ('{"a": {"$binary": "//8="}}', "$binary"),
        ('{"a": {"$binary": "//8=", "$type": 0}}', "$binary"),
        ('{"a": {"$binary": 5}}', "$binary"),
        ('{"a": {"$timestamp": {"t": -1, "i": 0}}}', "$timestamp"),
        ('{"a": {"$timestamp": {"t": 4294967296, "i": 0}}}', "$timestamp"),
        ('{"a": {"$timestamp": {"t": true, "i": 0}}}', "$timestamp"),
        ('{"a": {"$regularExpression": {"pattern": "a", "options": "q"}}}', "$regularExpression"),
        ('{"a": {"$regex": "a", "$options": "iq"}}', "$regex"),
        ('{"a": {"$regex": "a\\u0000"}}', "$regex"),
        ('{"a": {"$scope": {}}}', "$scope"),
        ('{"a": {"$code": "x", "$scope": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}}}', "$code"),
        ('{"a": {"$dbPointer": {"$ref": "b", "$id": 1}}}', "$dbPointer"),
        ('{"a": {"$dbPointer": {"$ref": "b"}}}', "$dbPointer"),
        ('{"a": {"$undefined": false}}', "$undefined"),
        ('{"a": {"$minKey": 1.0}}', "$minKey"),
        ('{"a": {"$date": {"$numberLong": "1"}, "$numberLong": "1"}}', "$date"),
        ('{"a": {"$symbol": 1}}', "$symbol"),
        ('{"a": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0", "$numberInt": "1"}}', "$oid"),
        ('{"a": {"b\\u0000": 1}}', "b\x00"),
    ],
)
def test_parse_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(InvalidBSON) as info:
        loads(text)
    assert repr(key) in str(info.value)


def test_json_syntax_errors_are_invalid_bson() -> None:
    with pytest.raises(InvalidBSON, match="invalid JSON") as info:
        loads('{"a": ')
    assert isinstance(info.value.__cause__, json.JSONDecodeError)
    with pytest.raises(InvalidBSON, match="nested too deeply"):
        loads("[" * 100_000 + "]" * 100_000)


def test_deep_nesting_within_spec_limits() -> None:
    # The spec asks parsers for at least 200 levels and generators for 100.
    text = '{"a": ' * 200 + "1" + "}" * 200
    assert dumps(loads(text)) == text


# ----------------------------------------------------------------------------- PyMongo


def _documents(ns: Any) -> list[Any]:
    """The same documents built from PyMongo's types or ours (``ns`` gives the classes)."""
    return [
        {
            "_id": ns.ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"),
            "s": "héllo\u2606\x00",
            "n": None,
            "t": True,
        },
        {
            "i": 42,
            "neg": -(2**31),
            "l": ns.Int64(2**40),
            "small": ns.Int64(7),
            "f": 42.42,
            "z": -0.0,
            "inf": float("inf"),
            "nan": float("nan"),
            "whole": 3.0,
            "d": ns.Decimal128("-1.23E-40"),
        },
        {
            "b": b"\x00\xff",
            "b5": ns.Binary(b"123", 0x80),
            "old": ns.Binary(b"xy", 2),
            "u": ns.Binary(UUID.bytes, 4),
            "code": ns.Code("function() {}"),
            "scope": ns.Code("f()", {"x": 1, "y": [ns.Int64(1)]}),
            "ts": ns.Timestamp(42, 1),
        },
        {
            "re": ns.Regex("foo*", "xi"),
            "min": ns.MinKey(),
            "max": ns.MaxKey(),
            "ref": ns.DBRef("coll", ns.ObjectId("57e193d7a9cc81b4027498b1"), "db"),
            "ref2": ns.DBRef("coll", 5, extra="x"),
            "nested": {"a": [1, {"b": [2.5, "c"]}]},
        },
        {
            "epoch": datetime.datetime(1970, 1, 1),
            "ms": datetime.datetime(2012, 12, 24, 12, 15, 30, 501000),
            "old": datetime.datetime(1960, 6, 1, 1, 2, 3),
            "max": datetime.datetime(9999, 12, 31, 23, 59, 59, 999000),
            "aware": datetime.datetime(2020, 1, 1, tzinfo=UTC),
        },
    ]


class _Ours:
    ObjectId, Int64, Decimal128, Binary, Code = ObjectId, Int64, Decimal128, Binary, Code
    Timestamp, Regex, MinKey, MaxKey, DBRef = Timestamp, Regex, MinKey, MaxKey, DBRef


@pytest.fixture(scope="module")
def pymongo_json() -> Any:
    # PyMongo is a dev dependency, used here as a reference only.
    pytest.importorskip("bson.json_util")
    import bson

    return bson


@pytest.mark.parametrize("mode", ["relaxed", "canonical"])
@pytest.mark.parametrize("index", range(5))
def test_dumps_matches_pymongo(pymongo_json: Any, mode: str, index: int) -> None:
    theirs_opts = getattr(pymongo_json.json_util, f"{mode.upper()}_JSON_OPTIONS")
    ours_opts = {"relaxed": RELAXED_JSON_OPTIONS, "canonical": CANONICAL_JSON_OPTIONS}[mode]
    theirs = pymongo_json.json_util.dumps(_documents(pymongo_json)[index], json_options=theirs_opts)
    ours = dumps(_documents(_Ours)[index], json_options=ours_opts)
    assert _pairs(ours) == _pairs(theirs), f"\nours:   {ours}\ntheirs: {theirs}"


@pytest.mark.parametrize("index", range(5))
def test_loads_matches_pymongo(pymongo_json: Any, index: int) -> None:
    # Both libraries read each other's canonical output to the same BSON bytes.
    theirs_util = pymongo_json.json_util
    text = dumps(_documents(_Ours)[index], json_options=CANONICAL_JSON_OPTIONS)
    ours = encode(loads(text))
    theirs = pymongo_json.encode(theirs_util.loads(text))
    assert ours == theirs
    their_text = theirs_util.dumps(
        _documents(pymongo_json)[index], json_options=theirs_util.CANONICAL_JSON_OPTIONS
    )
    assert encode(loads(their_text)) == ours


def test_double_exponent_format_differs_from_pymongo(pymongo_json: Any) -> None:
    # The corpus writes "1.2345678921232E+18"; PyMongo writes Python's repr ("e+18").
    theirs = pymongo_json.json_util.dumps(
        1.5e20, json_options=pymongo_json.json_util.CANONICAL_JSON_OPTIONS
    )
    assert theirs == '{"$numberDouble": "1.5e+20"}'
    assert dumps(1.5e20, json_options=CANONICAL_JSON_OPTIONS) == '{"$numberDouble": "1.5E+20"}'
    assert loads(theirs) == pymongo_json.json_util.loads(
        dumps(1.5e20, json_options=CANONICAL_JSON_OPTIONS)
    )
