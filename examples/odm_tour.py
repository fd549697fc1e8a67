"""A tour of the ODM: Pydantic models stored in MongoDB, queried and updated with typed
field proxies, aggregated into typed results, with declared indexes and the errors you
can catch. The last part does the same kind of work with the async engine.

`make demo` runs it against its embedded SecantusDB; set MONGODB_URI to point it at your
own server. It works in a database of its own (`feldspar_odm_tour_<random>`) and drops
it at the end, whatever happens. docs/odm.md is the tutorial behind it.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import enum
import os
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from odm import (
    AsyncEngine,
    Document,
    DocumentConfig,
    DocumentNotFound,
    DuplicateKeyError,
    Engine,
    Index,
    Indexed,
    Pipeline,
    ValidationError,
    bulk,
    to_document,
    update,
)
from odm.types import UTCDateTime

URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
DB = f"feldspar_odm_tour_{uuid.uuid4().hex[:8]}"


class Genre(enum.Enum):
    SF = "sf"
    NOVEL = "novel"


class Review(BaseModel):
    reader: str
    stars: int = Field(ge=1, le=5)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Book(Document):
    model_config = DocumentConfig(
        collection="books",
        # A compound index; the class's own proxies exist only after its body: a function.
        indexes=lambda: [Index(Book.author, -Book.year)],
    )

    isbn: Annotated[str, Indexed(unique=True)]
    title: str
    author: str
    year: int
    genre: Genre
    price: decimal.Decimal  # stored as Decimal128: exact
    stock: int = Field(0, ge=0)
    tags: list[str] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)
    # UTCDateTime keeps milliseconds, as stored, so the instance equals what is read.
    added: UTCDateTime = Field(default_factory=utc_now)


class Shelf(BaseModel):
    """A smaller view of a book: find(..., projection=Shelf) reads only these fields."""

    title: str
    year: int


class GenreStats(BaseModel):
    """One row of the aggregation below."""

    genre: Genre = Field(alias="_id")
    titles: int
    copies: int


BOOKS = [
    Book(
        isbn="978-0441013593",
        title="Dune",
        author="Herbert",
        year=1965,
        genre=Genre.SF,
        price="9.99",
        stock=4,
        tags=["classic"],
    ),
    Book(
        isbn="978-0141439587",
        title="Emma",
        author="Austen",
        year=1815,
        genre=Genre.NOVEL,
        price="7.50",
        stock=0,
    ),
    Book(
        isbn="978-0156027601",
        title="Solaris",
        author="Lem",
        year=1961,
        genre=Genre.SF,
        price="12.00",
        stock=7,
    ),
    Book(
        isbn="978-0141439686",
        title="Persuasion",
        author="Austen",
        year=1817,
        genre=Genre.NOVEL,
        price="6.99",
        stock=2,
        tags=["classic"],
    ),
    Book(
        isbn="978-0553283686",
        title="Hyperion",
        author="Simmons",
        year=1989,
        genre=Genre.SF,
        price="10.50",
        stock=1,
    ),
]


def section(title: str) -> None:
    print(f"\n-- {title}")


def show(label: str, value: object) -> None:
    print(f"{label:<24} {value}")


def sync_tour(engine: Engine) -> None:
    section("models")
    dune = BOOKS[0]
    stored = to_document(dune)
    show("Book is stored in", f"'{engine.collection(Book).name}'")
    show("id before insert", f"{dune.id!r}")
    show("stored types", {k: type(v).__name__ for k, v in stored.items() if k != "reviews"})

    section("indexes (nothing is created until asked)")
    show("declared, missing", [spec.name for spec in engine.index_diff(Book).missing])
    show("create_indexes", engine.create_indexes(Book))
    show("diff now", engine.index_diff(Book))

    section("insert and get")
    engine.insert_many(BOOKS)
    show("count", engine.count(Book))
    again = engine.get(Book, dune.id)
    show(
        "get(Book, id)", f"{again.title} ({again.year}), {again.price} {type(again.price).__name__}"
    )
    show("same as inserted", again == dune)

    section("find")
    sf = engine.find(Book, Book.genre == Genre.SF).sort(Book.year)
    show("sf, oldest first", [book.title for book in sf])
    show("the filter sent", sf.to_filter())
    cheap_classics = engine.find(Book, Book.tags == "classic", Book.price < decimal.Decimal("8"))
    show("classics under 8", [book.title for book in cheap_classics])
    page = engine.find(Book, sort=-Book.year, skip=1, limit=2, projection=Shelf).to_list()
    show("newest, page 2 (Shelf)", page)
    austen = engine.find(Book, Book.author.regex("^aus", "i") & (Book.stock > 0))
    show("Austen in stock", [book.title for book in austen])
    show("exists(stock == 0)", engine.exists(Book, Book.stock == 0))
    show("distinct authors", sorted(engine.distinct(Book, Book.author)))
    show("find_one(Lem)", engine.find_one(Book, Book.author == "Lem", required=True).title)

    section("update")
    result = engine.update_one(
        Book,
        Book.title == "Solaris",
        update.inc(Book.stock, -1).push(Book.reviews, Review(reader="ann", stars=5)),
    )
    solaris = engine.find_one(Book, Book.title == "Solaris", required=True)
    show(
        "sold one Solaris",
        f"modified {result.modified_count}, stock {solaris.stock}, "
        f"reviews {[(r.reader, r.stars) for r in solaris.reviews]}",
    )
    result = engine.update_many(Book, Book.stock == 0, update.add_to_set(Book.tags, "reorder"))
    show("flagged to reorder", result.modified_count)
    raise_prices = update.mul(Book.price, decimal.Decimal("1.10"))
    show("update document", raise_prices.to_update())
    engine.update_many(Book, Book.genre == Genre.NOVEL, raise_prices)
    show("Emma now costs", engine.get(Book, BOOKS[1].id).price)

    section("save, replace, delete")
    kindred = Book(
        isbn="978-0807083697",
        title="Kindred",
        author="Butler",
        year=1979,
        genre=Genre.SF,
        price="8.00",
        stock=5,
    )
    engine.save(kindred)  # not stored yet: inserted
    kindred.stock = 6
    engine.replace(kindred)
    show("Kindred stock", engine.get(Book, kindred.id).stock)
    engine.delete(kindred)
    show("deleted, exists?", engine.exists(Book, Book.id == kindred.id))

    section("bulk")
    beloved = Book(
        isbn="978-1400033416",
        title="Beloved",
        author="Morrison",
        year=1987,
        genre=Genre.NOVEL,
        price="11.00",
        stock=2,
    )
    written = engine.bulk(
        Book,
        [
            bulk.Insert(beloved),
            bulk.UpdateOne(Book.title == "Dune", update.inc(Book.stock, 10)),
            bulk.UpdateMany(Book.year < 1900, update.set(Book.tags, ["classic", "public domain"])),
        ],
    )
    show("one bulk_write", f"inserted {written.inserted_count}, modified {written.modified_count}")

    section("aggregate into a typed model")
    pipeline = (
        Pipeline()
        .group(Book.genre, titles={"$sum": 1}, copies={"$sum": Book.stock})
        .sort(("copies", -1))
    )
    for row in engine.aggregate(Book, pipeline, output=GenreStats):
        print(f"  {row.genre.name:<6} {row.titles} titles, {row.copies} copies")

    section("errors")
    try:
        engine.insert(
            Book(
                isbn=dune.isbn,
                title="Dune (again)",
                author="Herbert",
                year=1965,
                genre=Genre.SF,
                price="9.99",
            )
        )
    except DuplicateKeyError as exc:
        show(
            "DuplicateKeyError",
            f"index {exc.index!r}, key {exc.key}, cause {type(exc.__cause__).__name__}",
        )
    try:
        engine.get(Book, "000000000000000000000000")
    except DocumentNotFound as exc:
        show("DocumentNotFound", exc)
    try:
        update.set(Book.stock, -3)
    except ValidationError as exc:
        show("ValidationError", f"field {exc.field!r}: {exc.errors[0]['msg']}")
    engine.collection(Book).insert_one(
        {
            "isbn": "x",
            "title": "Broken",
            "author": "?",
            "year": "unknown",
            "genre": "sf",
            "price": "1",
        }
    )
    try:
        engine.find(Book, Book.isbn == "x").to_list()
    except ValidationError as exc:
        show("stored doc invalid", str(exc).splitlines()[0])
        show("", str(exc).splitlines()[1].strip())
    engine.delete_many(Book, Book.isbn == "x")


async def async_tour() -> None:
    async with AsyncEngine(URI, database=DB) as engine:
        # Independent operations run concurrently over the client's pool.
        sf, novels, newest = await asyncio.gather(
            engine.count(Book, Book.genre == Genre.SF),
            engine.count(Book, Book.genre == Genre.NOVEL),
            engine.find(Book).sort(-Book.year).first(),
        )
        assert newest is not None
        in_stock = [book.title async for book in engine.find(Book, Book.stock > 3)]
        await engine.update_one(Book, Book.id == newest.id, update.set(Book.stock, 0))
        print(
            f"async: {sf} sf and {novels} novels, newest {newest.title!r}; "
            f"well stocked {sorted(in_stock)}"
        )


def main() -> None:
    with Engine(URI, database=DB) as engine:
        try:
            sync_tour(engine)
            section("async")
            asyncio.run(async_tour())
        finally:
            engine.client.drop_database(DB)
        print("\ndropped", DB, "| left behind:", DB in engine.client.list_database_names())


if __name__ == "__main__":
    main()
