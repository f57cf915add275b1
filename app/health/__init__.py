"""Liveness, readiness and Prometheus metrics endpoints (unauthenticated by design)."""
