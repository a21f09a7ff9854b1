"""The HQ HTTP API, /v1: the app factory. Every endpoint authenticates; bodies are validated
with reasons. The routes live in fieldtech.hq.routers, one module per area."""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse

from fieldtech import __version__
from fieldtech.domain.errors import FieldtechError
from fieldtech.hq.api_models import STATUS_FOR, Problem, TemplateIn
from fieldtech.hq.db import HQ
from fieldtech.hq.deps import BodyLimit, refusals
from fieldtech.hq.routers import (
    bundles,
    catalogue,
    enrollment,
    files,
    jobs,
    meta,
    parts,
    people,
    planning,
    reports,
    sync,
    wait,
)

__all__ = ["TemplateIn", "create_app", "tidy_openapi"]  # TemplateIn: older imports


def tidy_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """Make the generated document say what HQ really does.

    Models documented by hand (the sync and upload bodies) bring their own `$defs`: they move
    to components/schemas, where their references point. Every refusal names one error
    schema, Problem; FastAPI's default 422 body (a list of errors) is replaced by it, as
    `invalid` below answers: one line of detail."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})

    def hoist(node: Any) -> None:
        if isinstance(node, dict):
            for name, definition in node.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
                hoist(definition)
            for value in node.values():
                hoist(value)
        elif isinstance(node, list):
            for value in node:
                hoist(value)

    hoist(doc["paths"])
    schemas["Problem"] = Problem.model_json_schema()
    for methods in doc["paths"].values():
        for operation in methods.values():
            answers = operation.get("responses", {})
            if "422" in answers and "HTTPValidationError" in json.dumps(answers["422"]):
                answers["422"] = refusals(422)[422]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return doc


async def domain_error(_request: Request, exc: FieldtechError) -> JSONResponse:
    status = next((s for t, s in STATUS_FOR.items() if isinstance(exc, t)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": exc.message}, status_code=status, headers=headers)


async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
    what = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    msg = f"{where}: {what}" if where else what
    return JSONResponse({"detail": f"request refused: {msg}"}, status_code=422)


def create_app(hq: HQ) -> FastAPI:
    app = FastAPI(
        title="fieldtech HQ", version=__version__, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.add_middleware(GZipMiddleware, minimum_size=512)
    app.add_middleware(BodyLimit)  # outermost of ours: before anything reads a body
    app.state.hq = hq

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = tidy_openapi(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.exception_handler(FieldtechError)(domain_error)
    app.exception_handler(RequestValidationError)(invalid)
    areas = (
        *(meta, enrollment, sync, wait, people, jobs, catalogue, parts, planning, reports),
        *(files, bundles),
    )
    for area in areas:
        app.include_router(area.router)
    return app
