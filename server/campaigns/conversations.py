"""Reading conversations: one by id, and a campaign's changes since a time.

An organiser reads the conversations of campaigns assigned to them (other organisers'
included); admins and senior organisers read all of their organisation's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns import access
from server.campaigns.columns import CONVERSATION_COLUMNS
from server.campaigns.models import Campaign, Conversation
from server.core.pagination import Page, PageRequest, paginate
from server.security.access import Actor

_VISIBLE = sa.select(*CONVERSATION_COLUMNS).join(
    Campaign, col(Campaign.id) == Conversation.campaign_id
)


async def get_conversation(
    session: AsyncSession, actor: Actor, conversation_id: uuid.UUID
) -> sa.Row[Any] | None:
    stmt = access.scope(_VISIBLE.where(col(Conversation.id) == conversation_id), actor)
    return (await session.execute(stmt)).one_or_none()


async def list_changes(
    session: AsyncSession,
    actor: Actor,
    campaign_id: uuid.UUID,
    since: datetime | None,
    page: PageRequest,
) -> Page[sa.Row[Any]]:
    """Conversations of the campaign changed at or after ``since`` (all when None), by
    (updated_at, id): a row changed while a client pages moves to the end and comes
    again with its new version. Empty for a campaign the actor cannot see."""
    stmt = access.scope(
        _VISIBLE.where(
            col(Conversation.campaign_id) == campaign_id,
            col(Conversation.organisation_id) == actor.organisation_id,
        ),
        actor,
    )
    if since is not None:
        stmt = stmt.where(col(Conversation.updated_at) >= since)
    return await paginate(session, stmt, [col(Conversation.updated_at), col(Conversation.id)], page)
