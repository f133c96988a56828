"""Shared column helpers for every table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Stable constraint names: server.core.conflicts tells races on a unique constraint from
# other integrity errors by these names (migration 0006 gave existing databases them).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Table(SQLModel):
    """Base of every table: a UUID primary key and UTC created/updated timestamps."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, sa_column_kwargs={"onupdate": utcnow})


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Core table, for bulk statements that skip the ORM's unit of work."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table
