"""Exception handlers that turn every error into RFC 9457 ``application/problem+json``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import PROBLEM_BASE, AppError, FieldError, ValidationProblem

PROBLEM_JSON = "application/problem+json"

_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON response with the problem media type and the body's status."""
    return JSONResponse(body, status_code=int(body["status"]), media_type=PROBLEM_JSON, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "events", 3, "at")`` → ``events[3].at``: the field as a client wrote it."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-after", "function-before", "tagged-union", "union")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def errors_from_pydantic(errors: list[Any], prefix: str = "") -> list[FieldError]:
    """Pydantic error dicts as ``FieldError`` items naming the field and the reason."""
    result = []
    for err in errors:
        if err.get("type") == "json_invalid":  # FastAPI's parse of the body: its location is a character offset
            reason = (err.get("ctx") or {}).get("error") or err.get("msg", "invalid")
            result.append(FieldError("body", f"not valid JSON: {reason}"))
            continue
        path = field_path(err.get("loc", ()))
        if prefix:
            path = prefix if path == "body" else f"{prefix}{'' if path.startswith('[') else '.'}{path}"
        result.append(FieldError(path, str(err.get("msg", "invalid")).removeprefix("Value error, ")))
    return result


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(exc.to_problem(request.url.path), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if isinstance(exc.body, dict):
        # One object sent to a route that takes one or a list (``EventBatch``): name its fields, not ``[0]``.
        raw = [{**e, "loc": ("body", *e["loc"][2:])} if tuple(e.get("loc", ()))[:2] == ("body", 0) else e for e in raw]
    errors = errors_from_pydantic(raw)
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
    return problem_response(ValidationProblem(detail, errors).to_problem(request.url.path))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {
        "type": PROBLEM_BASE + _HTTP_SLUGS.get(exc.status_code, "http-error"),
        "title": str(exc.detail) if exc.status_code != 404 else "Not found",
        "status": exc.status_code,
        "detail": str(exc.detail),
        "instance": request.url.path,
    }
    return problem_response(body, dict(exc.headers) if exc.headers else None)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
