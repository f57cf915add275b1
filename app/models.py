"""Imports every domain's models so ``Base.metadata`` knows all tables (Alembic and tests use it)."""

from app.audit import models as audit_models
from app.auth import models as auth_models
from app.core.db import Base

metadata = Base.metadata

__all__ = ["audit_models", "auth_models", "metadata"]
