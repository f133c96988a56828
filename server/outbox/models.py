from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from server.core.models import Table, utcnow

ERROR_LENGTH = 500


class OutboxMessage(Table, table=True):
    """A job to hand to the workers; relayed at least once, handled idempotently."""

    __tablename__ = "outbox"

    __table_args__ = (sa.Index("ix_outbox_pending", "dispatched_at", "available_at"),)

    topic: str = Field(max_length=100)
    dedupe_key: str = Field(max_length=200, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    available_at: datetime = Field(default_factory=utcnow)
    dispatched_at: datetime | None = None  # handed to the queue
    processed_at: datetime | None = None  # its job finished
    attempts: int = 0  # times handed to the queue
    # Given up on after too many attempts (or an unknown topic): no longer handed over
    # until an operator requeues it (`doorstep outbox requeue`).
    dead_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=ERROR_LENGTH)
