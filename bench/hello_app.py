"""The baselines for bench/ingest.py: a FastAPI endpoint that parses the same JSON body and answers.

``app`` is the hello-world as FastAPI's README writes it (a plain ``def``, which FastAPI runs in its
thread pool): the issue's ratio is measured against it. ``async_app`` is the same endpoint as an
``async def`` (no thread hop), about twice as fast; the benchmark reports the ratio to it as well.
"""

from typing import Any

from fastapi import Body, FastAPI

app = FastAPI()


@app.post("/api/v1/events")
def hello(body: Any = Body()) -> dict[str, bool]:  # noqa: B008 - FastAPI's idiom
    return {"ok": isinstance(body, dict)}


async_app = FastAPI()


@async_app.post("/api/v1/events")
async def hello_async(body: Any = Body()) -> dict[str, bool]:  # noqa: B008 - FastAPI's idiom
    return {"ok": isinstance(body, dict)}
