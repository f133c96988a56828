"""Who sees which campaign, in one place: every campaign read and write goes through here.

Admins and senior organisers see every campaign of their organisation; organisers and
trainers see the campaigns they are assigned to. Anything else is simply not there
(NOT_FOUND, never FORBIDDEN), so existence is not revealed.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns.models import Campaign, CampaignOrganiser
from server.core.errors import AccessDenied, not_found
from server.security.access import STAFF, Actor


def sees_all(actor: Actor) -> bool:
    return actor.has(*STAFF)


def assigned(actor: Actor) -> sa.ColumnElement[bool]:
    """Campaign.id is one the actor is assigned to."""
    return col(Campaign.id).in_(
        sa.select(col(CampaignOrganiser.campaign_id)).where(
            col(CampaignOrganiser.user_id) == actor.user_id
        )
    )


def visible(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of the campaigns the actor may see."""
    clauses: list[sa.ColumnElement[bool]] = [col(Campaign.organisation_id) == actor.organisation_id]
    if not sees_all(actor):
        clauses.append(assigned(actor))
    return clauses


def scope(stmt: sa.Select[Any], actor: Actor) -> sa.Select[Any]:
    """``stmt`` (which selects from or joins campaigns) narrowed to what the actor sees."""
    return stmt.where(*visible(actor))


async def is_assigned(session: AsyncSession, campaign_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.scalar(
        sa.select(sa.literal(1)).where(
            col(CampaignOrganiser.campaign_id) == campaign_id,
            col(CampaignOrganiser.user_id) == user_id,
        )
    )
    return found is not None


async def get_visible(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, *, for_update: bool = False
) -> Campaign | None:
    """The campaign as an ORM object (for changing it), or None when the actor cannot see it."""
    stmt = scope(sa.select(Campaign).where(col(Campaign.id) == campaign_id), actor)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def require_visible(
    session: AsyncSession,
    actor: Actor,
    campaign_id: uuid.UUID,
    field: str | None = "campaignId",
    *,
    for_update: bool = False,
) -> Campaign:
    campaign = await get_visible(session, actor, campaign_id, for_update=for_update)
    if campaign is None:
        raise not_found("campaign", field)
    return campaign


def require_staff(actor: Actor) -> None:
    """Changing campaigns (create, questions, status, organisers) is for staff only."""
    if not sees_all(actor):
        raise AccessDenied("FORBIDDEN")
