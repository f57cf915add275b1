"""Imports the modules whose jobs the worker runs, so their ``@register`` calls happen."""

from app.worker.runner import REGISTRY, Job


def all_jobs() -> list[Job]:
    """Every registered background job."""
    return list(REGISTRY)
