"""Imports the modules whose jobs the worker runs, so their ``@register`` calls happen."""

from app.clocks import jobs as clock_jobs
from app.connections import jobs as connection_jobs
from app.escalations import jobs as escalation_jobs
from app.webhooks import jobs as webhook_jobs
from app.worker.runner import REGISTRY, Job

__all__ = ["all_jobs", "clock_jobs", "connection_jobs", "escalation_jobs", "webhook_jobs"]


def all_jobs() -> list[Job]:
    """Every registered background job."""
    return list(REGISTRY)
