"""The baseline for bench/ingest.py: a FastAPI endpoint that parses the same JSON body and answers."""

from typing import Any

from fastapi import Body, FastAPI

app = FastAPI()


@app.post("/api/v1/events")
def hello(body: Any = Body()) -> dict[str, bool]:  # noqa: B008 - FastAPI's idiom
    return {"ok": isinstance(body, dict)}
