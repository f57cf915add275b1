"""Prometheus metrics: HTTP request counts and latency by route; domains add their own here."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "sla_http_requests_total", "HTTP requests handled", ["method", "route", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "sla_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
EVENTS_INGESTED = Counter(
    "sla_events_ingested_total", "Normalized events stored", ["source", "outcome"], registry=REGISTRY
)
WORKER_RUNS = Counter("sla_worker_runs_total", "Background job passes", ["job", "outcome"], registry=REGISTRY)
PROJECTION_FAILURES = Counter(
    "sla_projection_failures_total", "Ticket projections that failed and were set aside for a retry", registry=REGISTRY
)
FAILED_TICKETS = Gauge(
    "sla_failed_tickets", "Tickets set aside after a failed projection, awaiting a retry", registry=REGISTRY
)
INGEST_BATCH_EVENTS = Histogram(
    "sla_ingest_batch_events",
    "Events written per group-commit transaction of the ingestion writer",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
    registry=REGISTRY,
)
