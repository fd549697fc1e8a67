"""Rich test models and Hypothesis strategies that build any instance of them.

Shared by the codec's round-trip properties (``tests/odm/test_codec.py``) and the
engine's database round trip: every instance these strategies produce must come back
equal after ``to_document`` -> BSON -> ``from_document``, in validating and trusted
mode. So the values stay inside what the stored form keeps exactly:

- datetimes are aware, in UTC, with whole milliseconds (BSON keeps milliseconds);
- floats are not NaN (NaN != NaN);
- decimals have at most 34 digits and an exponent decimal128 can hold;
- strings have no lone surrogates (BSON strings are UTF-8); dict keys are plain
  identifiers (servers refuse some keys, e.g. ``$``-prefixed ones at the top level);
- ``Binary`` avoids subtypes 2-4 and 9 (old binary, UUIDs and vectors have their own
  decoding), and ``Any`` fields hold JSON-like values (a Decimal in an ``Any`` field
  is read back as the Decimal128 that was stored: there is no annotation to say
  otherwise).

Excluded fields keep their defaults (they are not stored, so they read back as the
default).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import re
import string
import uuid
from typing import Annotated, Any, Literal

from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field
from pydantic.alias_generators import to_camel

from driver.bson import Binary, Int64, ObjectId, Regex
from odm.model import BaseDocument, Document

__all__ = [
    "DOCUMENT_MODELS",
    "MODELS",
    "Address",
    "Cat",
    "Color",
    "Dog",
    "Hamster",
    "Kitchen",
    "Level",
    "Profile",
    "RichDocument",
    "Shape",
    "Tree",
    "UuidDocument",
    "StrIdDocument",
    "documents",
    "instances",
    "strategy_for",
]


# -- models ---------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shape(str, enum.Enum):
    CIRCLE = "circle"
    SQUARE = "square"


class Address(BaseModel):
    street: str
    city: str
    zip_code: str = Field(alias="zip")
    geo: tuple[float, float] | None = None


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: Annotated[int, Field(ge=0, le=9)] = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True
    tricks: list[str] = []


class Hamster(BaseModel):
    kind: Literal["hamster"] = "hamster"
    wheel_rpm: float = 0.0


Pet = Annotated[Cat | Dog | Hamster, Field(discriminator="kind")]


class Profile(BaseModel):
    """camelCase stored names from an alias generator."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    display_name: str
    favourite_color: Color = Color.RED
    shape_count: dict[Shape, int] = {}


class Tree(BaseModel):
    """A recursive model."""

    value: int
    children: list[Tree] = []


class Kitchen(BaseModel):
    """Not a Document: a plain model holding a field named ``id`` (stored as ``id``)."""

    id: int
    appliances: frozenset[str] = frozenset()
    sizes: tuple[float, ...] = ()


class RichDocument(Document, collection="rich"):
    name: Annotated[str, StringConstraints(max_length=40)]
    age: Annotated[int, Field(ge=0, le=150)] = 0
    score: float = 0.0
    big: Int64 = Int64(0)
    plain_int: int = 0
    price: decimal.Decimal = decimal.Decimal("0")
    balance: decimal.Decimal | None = None
    ref: ObjectId | None = None
    token: uuid.UUID = Field(default_factory=uuid.uuid4)
    created: datetime.datetime = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    birthday: datetime.date | None = None
    blob: bytes = b""
    tagged_blob: Binary = Binary(b"", 128)
    regex: Regex[str] = Regex("^a", "i")
    pattern: re.Pattern[str] = re.compile("x+")
    color: Color = Color.GREEN
    level: Level = Level.LOW
    shape: Shape = Shape.CIRCLE
    status: Literal["new", "active", "gone"] = "new"
    either: int | str = 0
    address: Address
    previous: list[Address] = Field(default_factory=list)
    maybe_address: Address | None = None
    pet: Pet = Field(default_factory=Cat)
    pets: list[Pet] = Field(default_factory=list)
    profile: Profile | None = None
    tree: Tree | None = None
    kitchen: Kitchen | None = None
    tags: set[str] = Field(default_factory=set)
    pair: tuple[int, str] = (0, "")
    ratings: dict[str, decimal.Decimal] = Field(default_factory=dict)
    counts_by_id: dict[int, int] = Field(default_factory=dict)
    matrix: list[list[int]] = Field(default_factory=list)
    stored_as: str = Field(default="", serialization_alias="storedAs", validation_alias="storedAs")
    extra_info: dict[str, Any] = Field(default_factory=dict)
    note: str = Field(default="not stored", exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name_length(self) -> int:
        return len(self.name)


class UuidDocument(BaseDocument, collection="uuid_documents"):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    when: datetime.datetime


class StrIdDocument(BaseDocument, collection="str_id_documents"):
    id: str
    count: int = 0


MODELS: tuple[type[BaseModel], ...] = (
    RichDocument,
    UuidDocument,
    StrIdDocument,
    Address,
    Profile,
    Tree,
    Kitchen,
)
DOCUMENT_MODELS: tuple[type[BaseDocument], ...] = (RichDocument, UuidDocument, StrIdDocument)

# -- value strategies -----------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
short_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
keys = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=10)
int64s = st.integers(-(2**63), 2**63 - 1)
floats = st.floats(allow_nan=False)
object_ids = st.binary(min_size=12, max_size=12).map(ObjectId)


def _utc_ms(value: datetime.datetime) -> datetime.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000, tzinfo=datetime.timezone.utc)


datetimes = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31, 23, 59, 59)
).map(_utc_ms)
decimals = st.builds(
    lambda sign, digits, exponent: decimal.Decimal((sign, tuple(int(d) for d in digits), exponent)),
    st.integers(0, 1),
    st.text("0123456789", min_size=1, max_size=34),
    st.integers(-6176, 6111),
)
binaries = st.builds(Binary, st.binary(max_size=32), st.sampled_from([0, 1, 5, 6, 7, 8, 128, 255]))
regexes = st.builds(
    Regex,
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10),
    st.sampled_from(["", "i", "im", "msx", "u", "ilmsux"]),
)
patterns = st.builds(
    re.compile,
    st.sampled_from(["x+", "^a.*b$", r"\d{3}", "[a-z]+", ""]),
    st.sampled_from([0, re.IGNORECASE, re.MULTILINE | re.DOTALL]),
)
json_like = st.recursive(
    st.none() | st.booleans() | int64s | floats | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)

addresses = st.builds(
    Address,
    street=text,
    city=text,
    zip=text,
    geo=st.none() | st.tuples(floats, floats),
)
pets = st.one_of(
    st.builds(Cat, lives=st.integers(0, 9)),
    st.builds(Dog, good=st.booleans(), tricks=st.lists(text, max_size=3)),
    st.builds(Hamster, wheel_rpm=floats),
)
profiles = st.builds(
    Profile,
    display_name=text,
    favourite_color=st.sampled_from(Color),
    shape_count=st.dictionaries(st.sampled_from(Shape), st.integers(0, 100), max_size=2),
)
trees: st.SearchStrategy[Tree] = st.deferred(
    lambda: st.builds(Tree, value=int64s, children=st.lists(trees, max_size=2))
)
kitchens = st.builds(
    Kitchen,
    id=int64s,
    appliances=st.frozensets(text, max_size=3),
    sizes=st.lists(floats, max_size=3).map(tuple),
)

rich_documents = st.builds(
    RichDocument,
    id=object_ids,
    name=short_text,
    age=st.integers(0, 150),
    score=floats,
    big=int64s.map(Int64),
    plain_int=int64s,
    price=decimals,
    balance=st.none() | decimals,
    ref=st.none() | object_ids,
    token=st.uuids(),
    created=datetimes,
    birthday=st.none() | st.dates(),
    blob=st.binary(max_size=32),
    tagged_blob=binaries,
    regex=regexes,
    pattern=patterns,
    color=st.sampled_from(Color),
    level=st.sampled_from(Level),
    shape=st.sampled_from(Shape),
    status=st.sampled_from(["new", "active", "gone"]),
    either=int64s | text,
    address=addresses,
    previous=st.lists(addresses, max_size=2),
    maybe_address=st.none() | addresses,
    pet=pets,
    pets=st.lists(pets, max_size=3),
    profile=st.none() | profiles,
    tree=st.none() | trees,
    kitchen=st.none() | kitchens,
    tags=st.sets(text, max_size=4),
    pair=st.tuples(int64s, text),
    ratings=st.dictionaries(keys, decimals, max_size=3),
    counts_by_id=st.dictionaries(int64s, int64s, max_size=3),
    matrix=st.lists(st.lists(int64s, max_size=3), max_size=3),
    storedAs=text,
    extra_info=st.dictionaries(keys, json_like, max_size=3),
)
uuid_documents = st.builds(UuidDocument, id=st.uuids(), when=datetimes)
str_id_documents = st.builds(StrIdDocument, id=short_text, count=int64s)

_STRATEGIES: dict[type[BaseModel], st.SearchStrategy[Any]] = {
    RichDocument: rich_documents,
    UuidDocument: uuid_documents,
    StrIdDocument: str_id_documents,
    Address: addresses,
    Profile: profiles,
    Tree: trees,
    Kitchen: kitchens,
}


def strategy_for(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """The strategy that builds instances of one of :data:`MODELS`."""
    return _STRATEGIES[model]


def instances() -> st.SearchStrategy[BaseModel]:
    """Any instance of any of :data:`MODELS`."""
    return st.one_of([_STRATEGIES[m] for m in MODELS])


def documents() -> st.SearchStrategy[BaseDocument]:
    """Any instance of the stored models (:class:`odm.Document`, :class:`odm.BaseDocument`;
    for database round trips)."""
    return st.one_of([_STRATEGIES[m] for m in DOCUMENT_MODELS])
