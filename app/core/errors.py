"""Typed application errors rendered as RFC 9457 problem+json documents.

Every error a client can see is an ``AppError`` subclass: it carries the HTTP
status, a stable problem ``type`` slug, a human title and, for bad input, the
list of offending fields with the reason each was refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

PROBLEM_BASE = "https://sla-tracker.dev/problems/"


@dataclass(frozen=True)
class FieldError:
    """One refused input field: a dotted/JSON-pointer-like location and why."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass
class AppError(Exception):
    """Base for every error shown to clients (and to the CLI, as exit code 2)."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def __str__(self) -> str:
        if not self.errors:
            return self.detail
        parts = "; ".join(f"{e.field}: {e.reason}" for e in self.errors)
        return f"{self.detail} ({parts})"

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body for this error."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class ValidationProblem(AppError):
    """Input that is well-formed JSON/YAML but breaks a rule (422)."""

    status = 422
    slug = "validation-error"
    title = "Invalid input"

    @classmethod
    def single(cls, field_name: str, reason: str) -> ValidationProblem:
        """An error about exactly one field; the detail repeats it for humans."""
        return cls(f"{field_name}: {reason}", [FieldError(field_name, reason)])


class NotFound(AppError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Unauthorized(AppError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(AppError):
    status = 403
    slug = "forbidden"
    title = "Insufficient scope"


class PayloadTooLarge(AppError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class ServiceUnavailable(AppError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"
