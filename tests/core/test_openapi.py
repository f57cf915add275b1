"""The published API description is whole: every schema it refers to is in it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for key, value in node.items() if key != "$ref"))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def test_every_schema_reference_resolves(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    refs = _refs(document)
    assert "#/components/schemas/NormalizedEvent" in refs  # the events body, written by hand
    assert sorted(ref for ref in refs if ref.removeprefix("#/components/schemas/") not in schemas) == []
    assert client.get("/openapi.json").json() == document  # extending it twice adds nothing


def test_the_ingestion_route_declares_the_same_bearer_scheme_as_the_others(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert list(document["components"]["securitySchemes"]) == ["HTTPBearer"]
    assert document["paths"]["/api/v1/events"]["post"]["security"] == [{"HTTPBearer": []}]
    assert document["paths"]["/api/v1/tickets/{source}/{key}"]["get"]["security"] == [{"HTTPBearer": []}]


def test_the_events_route_documents_how_it_refuses_a_body(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/api/v1/events"]["post"]["responses"]
    assert {"200", "415", "422"} <= set(responses)
    assert "application/problem+json" in responses["415"]["content"]
