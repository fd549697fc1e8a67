"""``odm.Document``: collection names, ``id`` types, and building instances.

(The class-statement and config machinery is ``odm/model.py``; these tests pin what
users see, including through the codec.)
"""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest
from pydantic import ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from driver.bson import ObjectId
from odm.codec import from_document, stored_name, to_document
from odm.model import BaseDocument, Document, DocumentConfig, collection_name, document_config

OID = "5f43a1b2c3d4e5f6a7b8c9d0"


# -- collection names -------------------------------------------------------------------


def test_collection_from_the_class_statement() -> None:
    class User(Document, collection="people"):
        name: str = ""

    assert collection_name(User) == "people"
    assert document_config(User) == {"collection": "people"}


def test_collection_from_the_config() -> None:
    class User(Document):
        model_config = DocumentConfig(collection="members", trusted=True)
        name: str = ""

    assert collection_name(User) == "members"
    assert document_config(User) == {"collection": "members", "trusted": True}


def test_collection_kwarg_keeps_the_rest_of_the_config() -> None:
    class User(Document, collection="people"):
        model_config = ConfigDict(str_strip_whitespace=True)
        name: str = ""

    assert collection_name(User) == "people"
    assert User(name="  a ").name == "a"


@pytest.mark.parametrize(
    ("class_name", "expected"),
    [
        ("User", "user"),
        ("UserProfile", "user_profile"),
        ("HTTPServerLog", "http_server_log"),
        ("Order2Item", "order2_item"),
        ("already_snake", "already_snake"),
    ],
)
def test_default_collection_is_the_class_name_in_snake_case(class_name: str, expected: str) -> None:
    model = type(class_name, (Document,), {"__module__": __name__})
    assert collection_name(model) == expected


def test_subclasses_inherit_the_collection_unless_they_name_one() -> None:
    class Animal(Document, collection="animals"):
        name: str = ""

    class Dog(Animal):
        good: bool = True

    class Robot(Animal, collection="robots"):
        pass

    class Plain(Document):
        pass

    class SubPlain(Plain):
        pass

    assert collection_name(Dog) == "animals"
    assert collection_name(Robot) == "robots"
    assert collection_name(Animal) == "animals"
    assert collection_name(SubPlain) == "sub_plain"


@pytest.mark.parametrize("bad", ["", 5])
def test_collection_must_be_a_non_empty_string(bad: Any) -> None:
    with pytest.raises(TypeError, match="collection"):

        class Broken(Document, collection=bad):
            pass


# -- ids --------------------------------------------------------------------------------


class Note(Document, collection="notes"):
    text: str = ""


def test_default_id_is_a_new_objectid_stored_as_underscore_id() -> None:
    a, b = Note(), Note()
    assert isinstance(a.id, ObjectId) and a.id != b.id
    assert stored_name(Note, "id") == "_id"
    assert to_document(a) == {"_id": a.id, "text": ""}


def test_build_by_field_name_or_by_stored_name() -> None:
    by_name = Note(id=OID, text="x")
    by_alias = Note(_id=OID, text="x")  # type: ignore[call-arg]
    by_validate = Note.model_validate({"_id": ObjectId(OID), "text": "x"})
    assert by_name == by_alias == by_validate
    assert by_name.id == ObjectId(OID)


def test_id_is_id_in_python_and_json_and_underscore_id_when_stored() -> None:
    note = Note(id=OID)
    assert note.model_dump(by_alias=True) == {"id": ObjectId(OID), "text": ""}
    assert note.model_dump_json() == f'{{"id":"{OID}","text":""}}'  # FastAPI's view
    assert to_document(note) == {"_id": ObjectId(OID), "text": ""}
    assert Note.model_validate_json(f'{{"_id":"{OID}"}}').id == ObjectId(OID)
    assert Note.model_validate_json(f'{{"id":"{OID}"}}').id == ObjectId(OID)


def test_bad_id_is_refused() -> None:
    with pytest.raises(PydanticValidationError):
        Note(id="nothex")


# Custom id types: BaseDocument, whose subclasses declare ``id`` themselves (no alias
# needed: it is stored as _id whatever its alias).
class StrId(BaseDocument, collection="str_ids"):
    id: str


class IntId(BaseDocument, collection="int_ids"):
    id: int


class UuidId(BaseDocument, collection="uuid_ids"):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)


class AliasedStrId(Document, collection="aliased_str_ids"):
    # The older spelling: Document's id redeclared with an alias; still works.
    id: str = Field(alias="_id")  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("model", "given", "stored"),
    [
        (StrId, "alice", "alice"),
        (IntId, 42, 42),
        (UuidId, uuid.UUID(int=7), uuid.UUID(int=7)),
        (AliasedStrId, "bob", "bob"),
    ],
)
def test_custom_id_types(model: type[BaseDocument], given: Any, stored: Any) -> None:
    instance = model(id=given)
    document = to_document(instance)
    assert list(document) == ["_id"]
    assert stored_name(model, "id") == "_id"
    for trusted in (False, True):
        back = from_document(model, {"_id": document["_id"]}, trusted=trusted)
        assert back == instance and back.id == stored


def test_custom_ids_are_built_by_field_name_and_read_from_underscore_id() -> None:
    assert StrId(id="a").model_dump() == {"id": "a"}  # no alias: "id" in Python and JSON
    assert StrId.model_validate({"id": "a"}) == StrId(id="a")
    assert from_document(StrId, {"_id": "a"}) == StrId(id="a")
    assert AliasedStrId(_id="b") == AliasedStrId(id="b")  # type: ignore[call-arg]


def test_custom_id_without_default_is_required() -> None:
    with pytest.raises(PydanticValidationError):
        StrId()  # type: ignore[call-arg]


def test_uuid_id_default_factory() -> None:
    assert UuidId().id != UuidId().id


def test_redeclaring_a_parent_field_does_not_warn() -> None:
    # Pydantic warns when a field "shadows an attribute in parent"; the field proxies
    # on Document classes must not make every redeclared field look like one.
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Custom(Document):
            id: str  # type: ignore[assignment]

    assert Custom(id="x").id == "x"


# -- instances ----------------------------------------------------------------------------


def test_documents_are_ordinary_pydantic_models() -> None:
    note = Note(text="hi")
    assert note.model_copy(update={"text": "bye"}).text == "bye"
    assert Note.model_json_schema()["properties"]["id"]["type"] == "string"
    assert Note.model_fields["id"].alias is None


def test_class_attribute_access_gives_a_field_proxy_with_the_stored_path() -> None:
    assert Note.text.path == "text"  # type: ignore[attr-defined]
    assert Note.id.path == "_id"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        Note.nope  # type: ignore[attr-defined]  # noqa: B018
