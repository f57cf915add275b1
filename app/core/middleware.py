"""Request id, access log, metrics and body-size limit as one plain ASGI middleware (cheap per request)."""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_BASE, PayloadTooLarge
from app.core.logging import request_id_var
from app.core.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("sla_tracker.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# Request ids: random per process, then a counter (a uuid4 per request reads the OS's random source each time).
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


class RequestContextMiddleware:
    """Tags each request with an id (``X-Request-ID``), logs it, counts it, caps its body size."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, access_log: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, length = _request_headers(scope)
        request_id = incoming if _SAFE_ID.match(incoming) else f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"
        token = request_id_var.set(request_id)
        if length is not None and not (length.isdigit() and int(length) <= self.max_body_bytes):
            too_large = PayloadTooLarge(f"request body exceeds {self.max_body_bytes} bytes").to_problem()
            await _send_problem(send, too_large, request_id)
            request_id_var.reset(token)
            return
        started = time.perf_counter()
        status = 500
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge(f"request body exceeds {self.max_body_bytes} bytes")
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except ClientDisconnect:
            # The caller went away before its body arrived: nobody to answer, nothing went wrong here.
            status = 499
            log.debug("client disconnected during %s %s", scope["method"], scope["path"])
        except Exception:
            # Handled here, not by Starlette's outermost error middleware, so the
            # answer still carries the request id; the client never sees internals.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if status == 500 and not response_started:
                await _send_problem(send, _INTERNAL_ERROR, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope, status)
            _count(scope["method"], route, status, elapsed)
            if self.access_log:
                log.info(
                    "%s %s %s",
                    scope["method"],
                    route,
                    status,
                    extra={"status": status, "duration_ms": round(elapsed * 1000, 2), "route": route},
                )
            request_id_var.reset(token)


def route_template(scope: Scope, status: int) -> str:
    """The matched route's template, never the raw path: bounded label cardinality, no ids or tokens in metrics.

    Routing writes what it matched into the request's scope: FastAPI's nested routers keep the full
    template on the effective route context, plain routes (docs, static files) on ``route``.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    route = context if context is not None else scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    return scope["path"] if status != 404 else "unmatched"


def _request_headers(scope: Scope) -> tuple[str, bytes | None]:
    """The request's ``X-Request-ID`` (or "") and ``Content-Length`` (or None), in one pass over its headers."""
    incoming, length = b"", None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming = value
        elif name == b"content-length":
            length = value
    return incoming.decode("latin-1"), length


# Each (method, route, status)'s counter and histogram children: looking them up by their labels takes a
# lock and builds tuples on every request. Bounded like the labels themselves (templates, statuses).
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _count(method: str, route: str, status: int, elapsed: float) -> None:
    series = _SERIES.get((method, route, status))
    if series is None:
        series = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
        _SERIES[(method, route, status)] = series
    series[0].inc()
    series[1].observe(elapsed)


_INTERNAL_ERROR = {
    "type": PROBLEM_BASE + "internal-error",
    "title": "Internal server error",
    "status": 500,
    "detail": "An unexpected error occurred; the X-Request-ID response header identifies it in the logs.",
}


async def _send_problem(send: Send, problem: dict[str, object], request_id: str) -> None:
    body = json.dumps(problem).encode()
    await send(
        {
            "type": "http.response.start",
            "status": int(str(problem["status"])),
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
