"""Manage tokens: a resident's long-lived key to see, stop or erase what is held about them.

One is issued with each response that stores details; each works until the resident's data
is erased (which deletes them all)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.models import utcnow
from server.residents.models import ManageToken
from server.residents.tokens import hash_token, new_token, plausible


async def issue(session: AsyncSession, organisation_id: uuid.UUID, resident_id: uuid.UUID) -> str:
    """A new manage token for the resident (shown once; only its hash is kept)."""
    token, digest = new_token()
    session.add(
        ManageToken(organisation_id=organisation_id, resident_id=resident_id, token_hash=digest)
    )
    return token


async def find(session: AsyncSession, token: str) -> ManageToken | None:
    """The manage token's row, or None for anything that is not a live token."""
    if not plausible(token):
        return None
    found: ManageToken | None = await session.scalar(
        sa.select(ManageToken).where(col(ManageToken.token_hash) == hash_token(token))
    )
    if found is not None:
        # An UPDATE now, not a change flushed later: a flush meeting the row deleted by a
        # concurrent erasure would fail the request.
        await session.execute(
            sa.update(ManageToken)
            .where(col(ManageToken.id) == found.id)
            .values(last_used_at=utcnow())
        )
    return found


async def revoke_all(session: AsyncSession, resident_id: uuid.UUID) -> None:
    await session.execute(sa.delete(ManageToken).where(col(ManageToken.resident_id) == resident_id))
