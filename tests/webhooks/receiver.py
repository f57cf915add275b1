"""A webhook receiver for tests: verifies Standard Webhooks signatures independently, dedupes by
``webhook-id``, and answers with a scripted sequence of status codes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver side of the scheme, written from the spec (not with the app's signing module)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in headers["webhook-signature"].split(" ") if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


@dataclass
class Receiver:
    """State of the fake receiver; ``script`` holds the status codes to answer with, then ``default``."""

    secret: str
    script: list[int] = field(default_factory=list)
    default: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A dead receiver: accept the connection, then never answer until ``release`` is set.
    hang: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    hung: int = 0

    def app(self) -> Starlette:
        async def hook(request: Request) -> JSONResponse:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            if self.hang:
                with self.lock:
                    self.hung += 1
                while not self.release.is_set():
                    await asyncio.sleep(0.05)
            with self.lock:
                if not verify(self.secret, headers, body):
                    self.bad_signatures += 1
                    return JSONResponse({"error": "bad signature"}, status_code=400)
                status = self.script.pop(0) if self.script else self.default
                self.requests.append({"headers": headers, "body": body, "status": status})
                if 200 <= status < 300:
                    self.seen[headers["webhook-id"]] += 1
            return JSONResponse({"ok": status < 300}, status_code=status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    @property
    def distinct_delivered(self) -> set[str]:
        return set(self.seen)
