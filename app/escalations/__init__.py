"""Escalation levels fired exactly once from the clock projection, and write-back to sources.

Importing the package hooks its listener into the projection (``app.models`` and
``app.worker.jobs`` import it, so every API and worker process has it).
"""

from app.escalations import listener as _listener

_listener.register()
