"""Campaigns: creating them, their question sets, status, organisers; reading them."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns import access
from server.campaigns.columns import CAMPAIGN_COLUMNS
from server.campaigns.models import Campaign
from server.security.access import Actor

_CAMPAIGN = sa.select(*CAMPAIGN_COLUMNS).where(col(Campaign.id) == sa.bindparam("campaign_id"))


async def get_campaign(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID
) -> sa.Row[Any] | None:
    """The campaign (a row of CAMPAIGN_COLUMNS), or None when the actor cannot see it."""
    stmt = access.scope(_CAMPAIGN, actor)
    return (await session.execute(stmt, {"campaign_id": campaign_id})).one_or_none()
