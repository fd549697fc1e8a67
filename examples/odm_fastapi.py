"""A small FastAPI app on the ODM's async engine: CRUD on customers.

- The engine is opened in the app's lifespan (and the declared indexes created there,
  explicitly: the ODM never creates one behind your back) and closed at shutdown.
- A customer's id is an ObjectId, shown in JSON as its 24-hex string; an id that is not
  one is refused with 422 before any handler runs.
- `DocumentNotFound` becomes 404 and `DuplicateKeyError` 409, in two exception handlers;
  a body that does not validate is FastAPI's 422.

Serve it with `MONGODB_URI=... uvicorn examples.odm_fastapi:app` (uvicorn is not one of
the project's dependencies). Run as a script (`make demo` does), it exercises itself
with FastAPI's `TestClient` against MONGODB_URI in a database of its own, dropped at the
end, prints each request and response, and exits non-zero on any unexpected status.
Needs the `examples` extra: `pip install 'feldspar[examples]'` (FastAPI and httpx).
"""

import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

try:
    from fastapi import Depends, FastAPI, Query, Request, Response, status
    from fastapi.responses import JSONResponse
except ImportError:  # pragma: no cover - only without the `examples` extra
    sys.exit("this example needs FastAPI and httpx: pip install 'feldspar[examples]'")
from pydantic import BaseModel, Field

from odm import (
    AsyncEngine,
    Document,
    DocumentNotFound,
    DuplicateKeyError,
    Indexed,
    ObjectId,
    update,
)

URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
DATABASE = os.environ.get("ODM_FASTAPI_DATABASE", "feldspar_fastapi")

Plan = Literal["free", "pro"]


EMAIL = r"^[^@\s]+@[^@\s]+$"


class CustomerIn(BaseModel):
    """What a client sends to create or replace a customer: no id."""

    email: str = Field(pattern=EMAIL)
    name: str = Field(min_length=1, max_length=100)
    plan: Plan = "free"
    tags: list[str] = Field(default_factory=list)


class Customer(Document, CustomerIn, collection="customers"):
    """What is stored: the same fields, an ObjectId id stored as `_id`, a unique email."""

    email: Annotated[str, Indexed(unique=True)] = Field(pattern=EMAIL)


class CustomerOut(CustomerIn):
    """What the API returns: the fields and the id, as "id" (24 hex digits in JSON)."""

    id: ObjectId

    @classmethod
    def of(cls, customer: Customer) -> "CustomerOut":
        return cls.model_validate(customer.model_dump())  # Document's id dumps as "id"


class CustomerPatch(BaseModel):
    """A partial update: only the fields sent are changed."""

    name: str | None = Field(None, min_length=1, max_length=100)
    plan: Plan | None = None
    add_tag: str | None = None


def get_engine(request: Request) -> AsyncEngine:
    """The engine the lifespan opened (a dependency of every route)."""
    engine: AsyncEngine = request.app.state.engine
    return engine


# No `from __future__ import annotations` in this module: FastAPI reads these
# annotations at run time.
Engine = Annotated[AsyncEngine, Depends(get_engine)]


def create_app(uri: str = URI, database: str = DATABASE) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncEngine(uri, database=database) as engine:
            await engine.create_indexes(Customer)
            app.state.engine = engine
            yield

    app = FastAPI(title="Customers (Feldspar ODM)", lifespan=lifespan)

    @app.exception_handler(DocumentNotFound)
    async def not_found(request: Request, exc: DocumentNotFound) -> JSONResponse:
        name = exc.model.__name__.lower() if exc.model is not None else "document"
        return JSONResponse({"detail": f"{name} not found"}, status_code=404)

    @app.exception_handler(DuplicateKeyError)
    async def duplicate(request: Request, exc: DuplicateKeyError) -> JSONResponse:
        return JSONResponse(
            {"detail": "already exists", "key": exc.key}, status_code=status.HTTP_409_CONFLICT
        )

    @app.post("/customers", status_code=status.HTTP_201_CREATED)
    async def create_customer(body: CustomerIn, engine: Engine) -> CustomerOut:
        return CustomerOut.of(await engine.insert(Customer(**body.model_dump())))

    @app.get("/customers")
    async def list_customers(
        engine: Engine, plan: Plan | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> list[CustomerOut]:
        filters = [] if plan is None else [Customer.plan == plan]
        query = engine.find(Customer, *filters).sort(Customer.email).limit(limit)
        return [CustomerOut.of(customer) async for customer in query]

    @app.get("/customers/{customer_id}")
    async def get_customer(customer_id: ObjectId, engine: Engine) -> CustomerOut:
        return CustomerOut.of(await engine.get(Customer, customer_id))

    @app.put("/customers/{customer_id}")
    async def replace_customer(
        customer_id: ObjectId, body: CustomerIn, engine: Engine
    ) -> CustomerOut:
        customer = Customer(id=customer_id, **body.model_dump())
        await engine.replace(customer)  # DocumentNotFound if there is no such customer
        return CustomerOut.of(customer)

    @app.patch("/customers/{customer_id}")
    async def patch_customer(
        customer_id: ObjectId, body: CustomerPatch, engine: Engine
    ) -> CustomerOut:
        change = update.Update()
        if body.name is not None:
            change = change.set(Customer.name, body.name)
        if body.plan is not None:
            change = change.set(Customer.plan, body.plan)
        if body.add_tag is not None:
            change = change.add_to_set(Customer.tags, body.add_tag)
        if change:
            result = await engine.update_one(Customer, Customer.id == customer_id, change)
            if result.matched_count == 0:
                raise DocumentNotFound(Customer, {"_id": customer_id})
        return CustomerOut.of(await engine.get(Customer, customer_id))

    @app.delete("/customers/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_customer(customer_id: ObjectId, engine: Engine) -> Response:
        # By id, without reading the customer first: delete_many returns how many went.
        if not await engine.delete_many(Customer, Customer.id == customer_id):
            raise DocumentNotFound(Customer, {"_id": customer_id})
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return app


app = create_app()


def exercise() -> int:
    """Drive the app through its HTTP API; 0 if every status was the expected one."""
    import warnings

    from driver import MongoClient

    # Starlette 1.x prefers the `httpx2` package for its TestClient and warns about httpx.
    warnings.filterwarnings("ignore", message=".*httpx.* with .starlette.testclient")
    from fastapi.testclient import TestClient

    database = f"feldspar_fastapi_{uuid.uuid4().hex[:8]}"
    unexpected = 0

    def check(client: TestClient, method: str, path: str, expected: int, body: Any = None) -> Any:
        nonlocal unexpected
        response = client.request(method, path, json=body)
        answer = response.json() if response.content else None
        if isinstance(answer, dict) and isinstance(answer.get("detail"), list):  # a 422
            errors = answer["detail"]
            answer = {"detail": [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors]}
        mark = ""
        if response.status_code != expected:
            unexpected += 1
            mark = f"   <-- expected {expected}"
        print(f"{method:<6} {path:<40} {response.status_code} {answer}{mark}")
        return answer

    try:
        with TestClient(create_app(URI, database)) as client:  # runs the lifespan
            ada = {"email": "ada@example.com", "name": "Ada", "plan": "pro"}
            created = check(client, "POST", "/customers", 201, ada)
            assert ObjectId.is_valid(created["id"]), created  # the id as 24 hex digits
            bob = {"email": "bob@example.com", "name": "Bob", "tags": ["art"]}
            check(client, "POST", "/customers", 201, bob)
            path = f"/customers/{created['id']}"
            check(client, "GET", path, 200)
            check(client, "GET", "/customers?plan=pro", 200)
            check(client, "PATCH", path, 200, {"add_tag": "math", "name": "Ada L."})
            check(client, "PUT", path, 200, {**ada, "name": "Ada Lovelace"})
            check(client, "POST", "/customers", 409, {**ada, "name": "Another Ada"})
            check(client, "POST", "/customers", 422, {"email": "not an email", "name": ""})
            check(client, "GET", "/customers/not-an-object-id", 422)
            missing = f"/customers/{ObjectId()}"
            check(client, "GET", missing, 404)
            check(client, "PATCH", missing, 404, {"plan": "free"})
            check(client, "PUT", missing, 404, {"email": "x@example.com", "name": "X"})
            check(client, "DELETE", path, 204)
            check(client, "DELETE", path, 404)
            check(client, "GET", "/customers", 200)
    finally:
        with MongoClient(URI) as mongo:
            mongo.drop_database(database)
    outcome = f"{unexpected} unexpected statuses" if unexpected else "every status as expected"
    print(f"\n{outcome}; dropped {database}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(exercise())
