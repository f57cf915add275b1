"""Imports every domain's models so ``Base.metadata`` knows all tables (Alembic and tests use it)."""

from app.audit import models as audit_models
from app.auth import models as auth_models
from app.board import models as board_models
from app.calendars import models as calendar_models
from app.clocks import models as clock_models
from app.connections import models as connection_models
from app.core.db import Base
from app.escalations import models as escalation_models
from app.exclusions import models as exclusion_models
from app.policies import models as policy_models
from app.tickets import models as ticket_models
from app.webhooks import models as webhook_models

metadata = Base.metadata

__all__ = [
    "audit_models",
    "auth_models",
    "board_models",
    "calendar_models",
    "clock_models",
    "connection_models",
    "escalation_models",
    "exclusion_models",
    "metadata",
    "policy_models",
    "ticket_models",
    "webhook_models",
]
