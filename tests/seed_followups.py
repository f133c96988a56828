"""Rows the follow-up and event tests start from, written straight to the database."""

from __future__ import annotations

import uuid
from datetime import datetime

from server.accounts.models import User
from server.campaigns.enums import CampaignKind, CampaignStatus, FollowUpStatus
from server.campaigns.models import (
    Campaign,
    CampaignOrganiser,
    Conversation,
    FollowUp,
    Resident,
)
from server.core.models import utcnow
from server.core.services import Services
from tests.conftest import Org


async def campaign(
    services: Services,
    org: Org,
    *organisers: User,
    title: str = "Bins",
    status: CampaignStatus = CampaignStatus.ACTIVE,
    area_id: uuid.UUID | None = None,
) -> Campaign:
    async with services.db.session() as session:
        row = Campaign(
            organisation_id=org.organisation.id,
            kind=CampaignKind.LISTENING,
            title=title,
            status=status,
            area_id=area_id,
        )
        session.add(row)
        await session.flush()
        for user in organisers:
            session.add(CampaignOrganiser(campaign_id=row.id, user_id=user.id))
        await session.commit()
    return row


async def conversation(
    services: Services, org: Org, campaign: Campaign, organiser: User, resident_name: str | None
) -> Conversation:
    """A conversation of the campaign, with a resident of that name when one is given."""
    async with services.db.session() as session:
        resident = None
        if resident_name is not None:
            resident = Resident(
                organisation_id=org.organisation.id, name=resident_name, store_details=True
            )
            session.add(resident)
            await session.flush()
        row = Conversation(
            organisation_id=org.organisation.id,
            campaign_id=campaign.id,
            organiser_id=organiser.id,
            resident_id=resident.id if resident else None,
            content_hash="x" * 64,
            occurred_at=utcnow(),
            question_set_version=1,
        )
        session.add(row)
        await session.commit()
    return row


async def follow_up(
    services: Services,
    campaign: Campaign,
    assignee: User,
    due_at: datetime,
    *,
    note: str | None = None,
    status: FollowUpStatus = FollowUpStatus.OPEN,
    conversation: Conversation | None = None,
) -> FollowUp:
    async with services.db.session() as session:
        row = FollowUp(
            organisation_id=campaign.organisation_id,
            campaign_id=campaign.id,
            conversation_id=conversation.id if conversation else None,
            resident_id=conversation.resident_id if conversation else None,
            assignee_id=assignee.id,
            created_by_id=assignee.id,
            due_at=due_at,
            note=note,
            status=status,
        )
        session.add(row)
        await session.commit()
    return row
