"""Connect to a server and run ping, buildInfo and hello, sync and async.

`make demo` runs it against its embedded SecantusDB; set MONGODB_URI (with user, password
and TLS options if your server needs them) to point it at your own server.
"""

from __future__ import annotations

import asyncio
import os

from driver import AsyncMongoClient, MongoClient
from driver.errors import OperationFailure

URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")


def sync_part() -> None:
    with MongoClient(URI, appname="feldspar-demo", serverSelectionTimeoutMS=10_000) as client:
        print("ping ok:", client.admin.command("ping")["ok"])
        build = client.admin.command("buildInfo")
        print("server version:", build.get("version"))
        hello = client.admin.command("hello")
        print(
            "hello: wire versions",
            f"[{hello.get('minWireVersion')}, {hello.get('maxWireVersion')}],",
            "replica set" if hello.get("setName") else "standalone",
            hello.get("setName") or "",
        )
        try:
            client.admin.command("noSuchCommand")
        except OperationFailure as exc:
            print(f"an unknown command is refused with code {exc.code}: {type(exc).__name__}")


async def async_part() -> None:
    async with AsyncMongoClient(URI, maxPoolSize=5) as client:
        replies = await asyncio.gather(*(client.admin.command("ping") for _ in range(100)))
        print(f"async: 100 concurrent pings over at most 5 connections, all ok: "
              f"{all(reply['ok'] == 1 for reply in replies)}")


if __name__ == "__main__":
    sync_part()
    asyncio.run(async_part())
