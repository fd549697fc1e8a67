"""A tour of CRUD with the raw driver: inserts, queries, updates, deletes, aggregation,
bulk writes and indexes, then the same kind of work with the async client.

`make demo` runs it against its embedded SecantusDB; set MONGODB_URI to point it at your
own server. It works in a database of its own (`feldspar_crud_tour`) and drops it at
the end, whatever happens.
"""

from __future__ import annotations

import asyncio
import os

from driver import (
    ASCENDING,
    DESCENDING,
    AsyncMongoClient,
    DeleteMany,
    IndexModel,
    InsertOne,
    MongoClient,
    ReturnDocument,
    UpdateOne,
)
from driver.errors import BulkWriteError, DuplicateKeyError

URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
DB = "feldspar_crud_tour"

BOOKS = [
    {"_id": 1, "title": "Dune", "author": "Herbert", "year": 1965, "genre": "sf", "stock": 4},
    {"_id": 2, "title": "Emma", "author": "Austen", "year": 1815, "genre": "novel", "stock": 0},
    {"_id": 3, "title": "Solaris", "author": "Lem", "year": 1961, "genre": "sf", "stock": 7},
    {
        "_id": 4,
        "title": "Persuasion",
        "author": "Austen",
        "year": 1817,
        "genre": "novel",
        "stock": 2,
    },
    {"_id": 5, "title": "Hyperion", "author": "Simmons", "year": 1989, "genre": "sf", "stock": 1},
    {
        "_id": 6,
        "title": "Middlemarch",
        "author": "Eliot",
        "year": 1871,
        "genre": "novel",
        "stock": 3,
    },
]


def section(title: str) -> None:
    print(f"\n-- {title}")


def sync_tour(client: MongoClient) -> None:
    books = client[DB].books

    section("insert")
    print(
        "insert_many:", len(books.insert_many([dict(book) for book in BOOKS]).inserted_ids), "books"
    )
    extra = {"title": "Kindred", "author": "Butler", "year": 1979, "genre": "sf", "stock": 5}
    result = books.insert_one(extra)
    print(
        f"insert_one: a new {type(result.inserted_id).__name__} _id, "
        f"also set in our dict: {extra['_id'] == result.inserted_id}"
    )

    section("indexes")
    print("create_index:", books.create_index([("author", ASCENDING), ("year", DESCENDING)]))
    print("create_indexes:", books.create_indexes([IndexModel("title", unique=True)]))
    print("indexes now:", sorted(books.index_information()))
    try:
        books.insert_one({"title": "Dune"})
    except DuplicateKeyError as exc:
        print("a second 'Dune' is refused:", type(exc).__name__, exc.code)

    section("find")
    print("find_one(3):", books.find_one(3, {"_id": 0, "title": 1}))
    sf = books.find({"genre": "sf"}, {"_id": 0, "title": 1, "year": 1}).sort("year").limit(3)
    print("oldest sf:", [f"{book['title']} ({book['year']})" for book in sf])
    print(
        "Austen, newest first:",
        [book["title"] for book in books.find({"author": "Austen"}).sort("year", DESCENDING)],
    )
    print(
        "in stock:",
        books.count_documents({"stock": {"$gt": 0}}),
        "of",
        books.estimated_document_count(),
        "| genres:",
        sorted(books.distinct("genre")),
    )

    section("update")
    sold = books.find_one_and_update(
        {"title": "Solaris"}, {"$inc": {"stock": -1}}, return_document=ReturnDocument.AFTER
    )
    print("sold one Solaris, left:", sold["stock"])
    result = books.update_many({"stock": 0}, {"$set": {"reorder": True}})
    print("update_many: flagged", result.modified_count, "to reorder")
    result = books.update_one(
        {"title": "Frankenstein"}, {"$set": {"author": "Shelley", "stock": 2}}, upsert=True
    )
    print("upsert: new book", type(result.upserted_id).__name__)
    books.replace_one(
        {"_id": 2},
        {"title": "Emma", "author": "Austen", "year": 1815, "genre": "novel", "stock": 6},
    )
    print("replace_one: Emma restocked to", books.find_one(2)["stock"])

    section("aggregate")
    pipeline = [
        {"$group": {"_id": "$genre", "titles": {"$sum": 1}, "stock": {"$sum": "$stock"}}},
        {"$sort": {"_id": 1}},
    ]
    for row in books.aggregate(pipeline):
        print(f"  {row['_id'] or '(none)':<6} {row['titles']} titles, {row['stock']} in stock")
    books.aggregate([{"$match": {"genre": "sf"}}, {"$project": {"title": 1}}, {"$out": "sf"}])
    print("$out wrote", client[DB].sf.count_documents({}), "documents to 'sf'")

    section("bulk write")
    result = books.bulk_write(
        [
            InsertOne({"title": "Beloved", "author": "Morrison", "genre": "novel", "stock": 2}),
            UpdateOne({"title": "Dune"}, {"$inc": {"stock": 10}}),
            DeleteMany({"stock": {"$lte": 1}}),
        ]
    )
    print(
        f"inserted {result.inserted_count}, modified {result.modified_count}, "
        f"deleted {result.deleted_count}"
    )
    try:
        books.insert_many(
            [{"title": "New 1"}, {"title": "Dune"}, {"title": "New 2"}], ordered=False
        )
    except BulkWriteError as exc:
        errors = exc.details["writeErrors"]
        print(
            f"unordered insert_many: {exc.details['nInserted']} inserted, "
            f"{len(errors)} refused at index {[error['index'] for error in errors]}"
        )

    section("delete")
    print(
        "delete_one:",
        books.delete_one({"title": "New 1"}).deleted_count,
        "| delete_many:",
        books.delete_many({"title": {"$regex": "^New"}}).deleted_count,
    )
    books.drop_index("author_1_year_-1")
    print("left:", books.count_documents({}), "books; indexes", sorted(books.index_information()))


async def async_tour() -> None:
    async with AsyncMongoClient(URI) as client:
        events = client[DB].events
        await events.insert_many({"_id": n, "kind": ["view", "buy"][n % 2]} for n in range(20))
        # Independent operations run concurrently over the pool.
        counts = await asyncio.gather(
            events.count_documents({"kind": "view"}), events.count_documents({"kind": "buy"})
        )
        latest = [
            event["_id"] async for event in events.find({"kind": "buy"}).sort("_id", -1).limit(3)
        ]
        cursor = await events.aggregate([{"$group": {"_id": "$kind", "n": {"$sum": 1}}}])
        totals = {row["_id"]: row["n"] for row in await cursor.to_list()}
        print(
            f"async: views/buys {counts[0]}/{counts[1]}, latest buys {latest}, "
            f"grouped {dict(sorted(totals.items()))}"
        )


def main() -> None:
    with MongoClient(URI, appname="feldspar-crud-tour", serverSelectionTimeoutMS=10_000) as client:
        client.drop_database(DB)
        try:
            sync_tour(client)
            section("async")
            asyncio.run(async_tour())
        finally:
            client.drop_database(DB)
        print("\ndropped", DB, "| left behind:", DB in client.list_database_names())


if __name__ == "__main__":
    main()
