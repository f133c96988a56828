from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from server.core.models import Table, utcnow


class AuditEntry(Table, table=True):
    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_org_time", "organisation_id", "occurred_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id")
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: str = Field(max_length=100)
    entity_type: str = Field(max_length=50, index=True)
    entity_id: uuid.UUID | None = None
    occurred_at: datetime = Field(default_factory=utcnow)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
