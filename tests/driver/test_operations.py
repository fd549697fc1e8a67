"""Write models, IndexModel and key specs, side by side with PyMongo's pure classes.

PyMongo (a test-only reference) builds the same models; their reprs, equality,
``IndexModel.document`` and error types must agree with ours, apart from the fixes
listed in ``driver/operations.py`` (each has its own test here).
"""

from __future__ import annotations

import string
from typing import Any

import pymongo
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymongo import collation as pymongo_collation
from pymongo import common as pymongo_common
from pymongo import helpers_shared as pymongo_helpers
from pymongo import operations as pymongo_operations
from pymongo.collation import Collation

import driver.operations as ours_module
from driver.bson import SON, RawBSONDocument, encode
from driver.operations import (
    ASCENDING,
    DESCENDING,
    GEO2D,
    GEOSPHERE,
    HASHED,
    TEXT,
    DeleteMany,
    DeleteOne,
    IndexModel,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
    collation_document,
    hint_document,
    index_document,
    index_keys,
    index_name,
    sort_document,
    validate_ok_for_replace,
    validate_ok_for_update,
)


def both(cls_name: str, /, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Build PyMongo's ``cls_name`` and ours with the same arguments."""
    theirs = getattr(pymongo_operations, cls_name)(*args, **kwargs)
    return theirs, getattr(ours_module, cls_name)(*args, **kwargs)


def error_of(call: Any, *args: Any, **kwargs: Any) -> type[BaseException] | None:
    try:
        call(*args, **kwargs)
    except Exception as exc:
        return type(exc)
    return None


# ------------------------------------------------------------------ constants


def test_constants_match_pymongo() -> None:
    assert (ASCENDING, DESCENDING, GEO2D, GEOSPHERE, HASHED, TEXT) == (
        pymongo.ASCENDING,
        pymongo.DESCENDING,
        pymongo.GEO2D,
        pymongo.GEOSPHERE,
        pymongo.HASHED,
        pymongo.TEXT,
    )
    assert (ReturnDocument.BEFORE, ReturnDocument.AFTER) == (
        pymongo.ReturnDocument.BEFORE,
        pymongo.ReturnDocument.AFTER,
    )
    assert ReturnDocument.AFTER is True and ReturnDocument.BEFORE is False


def test_module_exports_its_public_names() -> None:
    for name in ours_module.__all__:
        assert hasattr(ours_module, name), name
    for name in ("InsertOne", "UpdateOne", "UpdateMany", "ReplaceOne", "DeleteOne", "DeleteMany", "IndexModel"):
        assert name in ours_module.__all__


# ------------------------------------------------------------------ key specs

KEY_SPECS: list[Any] = [
    "a",
    "",
    "$**",
    ["a", "b"],
    ("a", "b"),
    [("a", 1), ("b", -1)],
    [("a", ASCENDING), "b", ("c", DESCENDING)],
    {"a": 1, "b": -1},
    SON([("z", 1), ("a", -1)]),
    {"a": 1}.items(),
    [("loc", GEO2D)],
    [("loc", GEOSPHERE), ("n", 1)],
    [("h", HASHED)],
    [("t", TEXT), ("x", 1)],
    [("a.$**", 1)],
    [("s", {"$meta": "textScore"})],
    [("a", True)],
]


@pytest.mark.parametrize("spec", KEY_SPECS, ids=repr)
def test_key_specs_match_pymongo(spec: Any) -> None:
    assert index_keys(spec) == pymongo_helpers._index_list(spec)
    assert index_document(spec) == pymongo_helpers._index_document(pymongo_helpers._index_list(spec))
    assert list(index_document(spec)) == list(pymongo_helpers._index_document(pymongo_helpers._index_list(spec)))
    assert index_name(spec) == pymongo_helpers._gen_index_name(pymongo_helpers._index_list(spec))
    theirs, ours = both("IndexModel", spec)
    assert ours.document == theirs.document
    assert repr(ours) == repr(theirs)


BAD_KEY_SPECS: list[Any] = [[], {}, 5, None, [(1, 1)], [("a", 1.0)], [("a", None)], [("a", 1, 2)], [5]]


@pytest.mark.parametrize("spec", BAD_KEY_SPECS, ids=repr)
def test_bad_key_specs_raise_like_pymongo(spec: Any) -> None:
    theirs = error_of(pymongo_operations.IndexModel, spec)
    assert theirs is not None
    assert error_of(IndexModel, spec) is theirs
    assert error_of(index_keys, spec) is theirs


def test_key_spec_with_direction() -> None:
    assert index_keys("a", DESCENDING) == pymongo_helpers._index_list("a", DESCENDING) == [("a", -1)]
    assert sort_document("a", -1) == {"a": -1}
    bad: Any
    for bad in (5, ["a"]):
        with pytest.raises(TypeError):
            index_keys(bad, 1)
        with pytest.raises(TypeError):
            pymongo_helpers._index_list(bad, 1)
    with pytest.raises(TypeError):
        index_keys("a", 1.5)


def test_key_spec_fixes() -> None:
    # PyMongo keeps the last of a repeated key silently; we refuse it.
    assert pymongo_helpers._index_document([("a", 1), ("a", -1)]) == {"a": -1}
    with pytest.raises(ValueError, match="'a' is given more than once"):
        index_document([("a", 1), ("a", -1)])
    # A lone pair instead of a list of pairs: PyMongo's TypeError is about str.format.
    with pytest.raises(TypeError, match=r"did you mean \[\('a', 1\)\]"):
        IndexModel(("a", 1))  # type: ignore[arg-type]


def test_sort_and_hint_documents() -> None:
    assert sort_document([("a", 1), ("b", -1)]) == {"a": 1, "b": -1}
    assert sort_document("a") == {"a": 1}
    assert sort_document({"s": {"$meta": "textScore"}}) == {"s": {"$meta": "textScore"}}
    assert hint_document("a_1") == "a_1"
    assert hint_document([("a", 1)]) == {"a": 1}
    assert hint_document({"a": -1}) == {"a": -1}
    with pytest.raises(ValueError):
        sort_document([])


_names = st.text(string.ascii_lowercase + "._$", min_size=1, max_size=6)
_directions = st.sampled_from([1, -1, GEO2D, GEOSPHERE, HASHED, TEXT, "columnstore"])


@given(st.lists(st.tuples(_names, _directions), min_size=1, max_size=5, unique_by=lambda p: p[0]))
def test_key_specs_property_match_pymongo(pairs: list[tuple[str, Any]]) -> None:
    for spec in (pairs, dict(pairs), SON(pairs)):
        theirs, ours = both("IndexModel", spec)
        assert ours.document == theirs.document
        assert list(ours.document) == list(theirs.document)
        assert repr(ours) == repr(theirs)
        assert index_name(spec) == theirs.document["name"]


# ------------------------------------------------------------------ IndexModel

INDEX_OPTIONS: list[dict[str, Any]] = [
    {},
    {"unique": True},
    {"name": "custom", "sparse": True},
    {"name": None},
    {"unique": True, "partialFilterExpression": {"a": {"$gt": 5}}},
    {"expireAfterSeconds": 3600},
    {"hidden": True, "background": True},
    {"collation": {"locale": "fr", "strength": 2}},
    {"collation": Collation("en_US", strength=1)},
    {"collation": None},
    {"wildcardProjection": {"a": 1, "b": 0}},
    {"weights": {"t": 10}, "default_language": "english", "language_override": "lang", "textIndexVersion": 3},
    {"2dsphereIndexVersion": 3},
    {"bits": 26, "min": -180.0, "max": 180.0},
    {"storageEngine": {"wiredTiger": {}}},
    {"unique": True, "name": "x", "collation": {"locale": "fr"}, "sparse": False},
]


@pytest.mark.parametrize("options", INDEX_OPTIONS, ids=repr)
@pytest.mark.parametrize("keys", ["a", [("a", 1), ("b", -1)], [("loc", GEOSPHERE)]], ids=repr)
def test_index_model_matches_pymongo(keys: Any, options: dict[str, Any]) -> None:
    theirs, ours = both("IndexModel", keys, **options)
    assert ours.document == theirs.document
    assert list(ours.document) == list(theirs.document)  # same field order too
    assert repr(ours) == repr(theirs)


def test_index_model_document_is_a_copy() -> None:
    model = IndexModel("a", unique=True)
    document = model.document
    document["unique"] = False
    assert model.document == {"unique": True, "name": "a_1", "key": {"a": 1}}
    assert model.document is not model.document


def test_index_model_option_errors() -> None:
    with pytest.raises(TypeError, match="name must be a str"):
        IndexModel("a", name=5)
    with pytest.raises(TypeError, match="partialFilterExpression must be a mapping"):
        IndexModel("a", partialFilterExpression=[("a", 1)])
    assert error_of(pymongo_operations.IndexModel, "a", collation=5) is TypeError
    with pytest.raises(TypeError, match="collation"):
        IndexModel("a", collation=5)


def test_index_model_is_slotted_and_compares_by_identity() -> None:
    model = IndexModel("a")
    assert not hasattr(model, "__dict__")
    assert model != IndexModel("a")  # PyMongo's IndexModel has no value equality either
    assert len({model, IndexModel("a")}) == 2


# ------------------------------------------------------------------ write models

MODEL_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("InsertOne", ({"a": 1},), {}),
    ("InsertOne", (SON([("a", 1)]),), {}),
    ("InsertOne", ({},), {"namespace": "db.coll"}),
    ("DeleteOne", ({"a": 1},), {}),
    ("DeleteOne", ({},), {"collation": {"locale": "fr"}, "hint": "a_1"}),
    ("DeleteOne", ({},), {"hint": [("a", 1)], "namespace": "db.c"}),
    ("DeleteOne", ({},), {"hint": ("a",)}),
    ("DeleteMany", ({"x": {"$gt": 1}},), {"hint": {"x": 1}}),
    ("DeleteMany", ({},), {"collation": Collation("fr")}),
    ("UpdateOne", ({"a": 1}, {"$set": {"b": 1}}), {}),
    ("UpdateOne", ({"a": 1}, [{"$set": {"b": 1}}]), {"upsert": True}),
    ("UpdateOne", ({}, {"$inc": {"n": 1}}), {"upsert": False, "collation": {"locale": "fr"},
                                              "array_filters": [{"x.y": 1}], "hint": [("a", 1)],
                                              "sort": {"a": -1}}),
    ("UpdateOne", ({}, {"$set": {}}), {"namespace": "db.c", "sort": [("a", 1)]}),
    ("UpdateMany", ({}, {"$unset": {"t": ""}}), {}),
    ("UpdateMany", ({}, {"$set": {"a": 1}}), {"upsert": True, "array_filters": [], "hint": "a_1"}),
    ("UpdateMany", ({}, {"$set": {"a": 1}}), {"namespace": "db.c"}),
    ("ReplaceOne", ({"_id": 1}, {"name": "x"}), {}),
    ("ReplaceOne", ({}, {}), {"upsert": True, "collation": {"locale": "en"}, "hint": {"a": 1}}),
    ("ReplaceOne", ({}, {"a": 1}), {"namespace": "db.c", "sort": {"a": 1}}),
    ("ReplaceOne", ({}, RawBSONDocument(encode({"$odd": 1}))), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), MODEL_CASES, ids=repr)
def test_write_models_match_pymongo(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if any(isinstance(arg, RawBSONDocument) for arg in args):
        ours = getattr(ours_module, name)(*args, **kwargs)
        assert repr(ours).startswith(f"{name}(")
        return
    theirs, ours = both(name, *args, **kwargs)
    assert repr(ours) == repr(theirs)
    again_theirs, again_ours = both(name, *args, **kwargs)
    assert (ours == again_ours) is (theirs == again_theirs) is True
    assert (ours != again_ours) is (theirs != again_theirs) is False


def test_write_model_equality() -> None:
    assert UpdateOne({}, {"$set": {"a": 1}}) != UpdateMany({}, {"$set": {"a": 1}})
    assert UpdateOne({}, {"$set": {"a": 1}}) != UpdateOne({}, {"$set": {"a": 2}})
    assert UpdateOne({}, {"$set": {}}, namespace="a.b") != UpdateOne({}, {"$set": {}})
    assert DeleteOne({}) != DeleteMany({})
    assert InsertOne({"a": 1}) != {"a": 1}
    assert InsertOne({"a": 1}) == InsertOne(SON([("a", 1)]))
    assert ReplaceOne({}, {"a": 1}) == ReplaceOne({}, {"a": 1})
    for model in (InsertOne({}), DeleteOne({}), UpdateOne({}, {"$set": {}}), ReplaceOne({}, {})):
        with pytest.raises(TypeError):
            hash(model)
        assert not hasattr(model, "__dict__")


@given(
    filter=st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    field=st.text(max_size=3),
    upsert=st.none() | st.booleans(),
)
def test_write_model_reprs_property(filter: dict[str, int], field: str, upsert: bool | None) -> None:
    update = {"$set": {field: 1}}
    for name, args in (
        ("UpdateOne", (filter, update, upsert)),
        ("UpdateMany", (filter, update, upsert)),
        ("ReplaceOne", (filter, {"x" + field: 1}, upsert)),
        ("DeleteOne", (filter,)),
        ("DeleteMany", (filter,)),
        ("InsertOne", (filter,)),
    ):
        theirs, ours = both(name, *args)
        assert repr(ours) == repr(theirs)


# ------------------------------------------------------------------ validation

UPDATES: list[Any] = [
    {"$set": {"a": 1}},
    {"$set": {"a": 1}, "b": 2},  # only the first key is checked, as in PyMongo
    [{"$set": {"a": 1}}],
    [],
    {},
    {"a": 1},
    {"a": 1, "$set": {}},
    5,
    "x",
    None,
    ({"$set": {}},),
    SON([("$inc", {"n": 1})]),
]


@pytest.mark.parametrize("update", UPDATES, ids=repr)
def test_update_validation_matches_pymongo(update: Any) -> None:
    theirs = error_of(pymongo_common.validate_ok_for_update, update)
    assert error_of(validate_ok_for_update, update) is theirs
    assert error_of(UpdateOne, {}, update) is theirs
    assert error_of(UpdateMany, {}, update) is theirs


REPLACEMENTS: list[Any] = [
    {"a": 1},
    {},
    {"$set": {"a": 1}},
    {"a": 1, "$set": {}},
    SON([("$x", 1)]),
    RawBSONDocument(encode({"$x": 1})),
    5,
    None,
    [("a", 1)],
]


@pytest.mark.parametrize("replacement", REPLACEMENTS, ids=repr)
def test_replace_validation_matches_pymongo(replacement: Any) -> None:
    theirs_replacement = replacement
    if isinstance(replacement, RawBSONDocument):  # PyMongo needs its own class to skip the check
        import bson.raw_bson

        theirs_replacement = bson.raw_bson.RawBSONDocument(replacement.raw)
    theirs = error_of(pymongo_common.validate_ok_for_replace, theirs_replacement)
    assert error_of(validate_ok_for_replace, replacement) is theirs
    assert error_of(ReplaceOne, {}, replacement) is theirs


def test_validation_messages() -> None:
    with pytest.raises(ValueError, match="update only works with \\$ operators"):
        UpdateOne({}, {"a": 1})
    with pytest.raises(ValueError, match="update cannot be empty"):
        UpdateMany({}, [])
    with pytest.raises(ValueError, match="replacement can not include \\$ operators"):
        ReplaceOne({}, {"$set": {"a": 1}})
    with pytest.raises(TypeError, match="update must be a mapping"):
        UpdateOne({}, 5)  # type: ignore[arg-type]


def test_checked_when_built_not_when_sent() -> None:
    # PyMongo accepts these models and fails in bulk_write; ours fail at once, with the
    # same error type (so the traceback points at the line that built the model).
    assert error_of(pymongo_operations.UpdateOne, {}, {"a": 1}) is None
    assert error_of(UpdateOne, {}, {"a": 1}) is ValueError
    assert error_of(pymongo_operations.DeleteOne, {}, collation=5) is None
    assert error_of(pymongo_collation.validate_collation_or_none, 5) is TypeError
    assert error_of(DeleteOne, {}, collation=5) is TypeError
    assert error_of(pymongo_operations.InsertOne, 5) is None
    assert error_of(InsertOne, 5) is TypeError
    # A pipeline stage that is not a document: the server would refuse it later.
    assert error_of(UpdateOne, {}, [5]) is TypeError


CONSTRUCTOR_ERRORS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("UpdateOne", (5, {"$set": {}}), {}),
    ("UpdateOne", ({}, {"$set": {}}), {"upsert": "yes"}),
    ("UpdateOne", ({}, {"$set": {}}), {"upsert": 1}),
    ("UpdateOne", ({}, {"$set": {}}), {"array_filters": {"a": 1}}),
    ("UpdateOne", ({}, {"$set": {}}), {"array_filters": ({"a": 1},)}),
    ("UpdateOne", ({}, {"$set": {}}), {"hint": 5}),
    ("UpdateOne", ({}, {"$set": {}}), {"hint": [("a", 1.5)]}),
    ("UpdateMany", ([], {"$set": {}}), {}),
    ("ReplaceOne", ("x", {}), {}),
    ("ReplaceOne", ({}, {}), {"upsert": 0}),
    ("DeleteOne", (5,), {}),
    ("DeleteMany", ({},), {"hint": 5}),
    ("DeleteMany", ({},), {"hint": []}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CONSTRUCTOR_ERRORS, ids=repr)
def test_constructor_errors_match_pymongo(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    theirs = error_of(getattr(pymongo_operations, name), *args, **kwargs)
    assert theirs is not None
    assert error_of(getattr(ours_module, name), *args, **kwargs) is theirs


def test_more_argument_checks() -> None:
    with pytest.raises(TypeError, match="namespace"):
        InsertOne({}, namespace=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="array filter"):
        UpdateOne({}, {"$set": {}}, array_filters=[5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        UpdateOne({}, {"$set": {}}, sort=5)
    with pytest.raises(TypeError, match="document must be"):
        InsertOne([("a", 1)])


def test_collation_document() -> None:
    assert collation_document(None) is None
    assert collation_document({"locale": "fr"}) == {"locale": "fr"}
    collation = Collation("fr", strength=2)
    assert collation_document(collation) == collation.document
    with pytest.raises(TypeError):
        collation_document("fr")


def test_statements_sort_is_normalised() -> None:
    # PyMongo sends sort=[("a", 1)] as a BSON array, which the server refuses; we send
    # the document. The repr still shows what was given, like PyMongo's.
    model = UpdateOne({}, {"$set": {"x": 1}}, sort=[("a", 1), ("b", -1)])
    assert model._statement()["sort"] == {"a": 1, "b": -1}
    assert repr(model).endswith("[('a', 1), ('b', -1)])")
    assert ReplaceOne({}, {}, sort="a")._statement()["sort"] == {"a": 1}
