"""Residents, conversations and responses written straight into the database, for the
tests of campaign updates and of staff reading responses (the response flow itself is
tested through its own API)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from server.campaigns.enums import ConsentMethod
from server.campaigns.models import Campaign, Conversation, Resident
from server.core.models import utcnow
from server.core.services import Services
from server.residents.enums import InvitationChannel
from server.residents.models import Invitation, Response, ResponseAnswer


async def add_resident(
    services: Services,
    organisation_id: uuid.UUID,
    *,
    email: str | None = None,
    phone: str | None = None,
    hear_back: bool = True,
    erased: bool = False,
) -> uuid.UUID:
    async with services.db.session() as session:
        resident = Resident(
            organisation_id=organisation_id,
            name=None if erased else "A resident",
            email=None if erased else email,
            phone=None if erased else phone,
            store_details=not erased,
            contact_again=hear_back and not erased,
            hear_back=hear_back and not erased,
            consent_recorded_at=utcnow(),
            erased_at=utcnow() if erased else None,
        )
        session.add(resident)
        await session.commit()
        return resident.id


async def add_conversation(
    services: Services, campaign: Campaign, organiser_id: uuid.UUID, resident_id: uuid.UUID | None
) -> uuid.UUID:
    async with services.db.session() as session:
        conversation = Conversation(
            organisation_id=campaign.organisation_id,
            campaign_id=campaign.id,
            organiser_id=organiser_id,
            resident_id=resident_id,
            content_hash="0" * 64,
            occurred_at=utcnow(),
            question_set_version=campaign.question_set_version,
        )
        session.add(conversation)
        await session.commit()
        return conversation.id


async def add_responses(
    services: Services,
    campaign: Campaign,
    count: int,
    *,
    resident_ids: Sequence[uuid.UUID | None] = (),
    answers: Sequence[dict[str, Any]] = (),
    rating: int | None = 7,
    comment: str | None = "More bins please.",
) -> list[uuid.UUID]:
    """``count`` responses, the i-th from ``resident_ids[i]`` (if given), each with
    ``answers`` (ResponseAnswer values without the ids), a second apart, oldest first."""
    made: list[uuid.UUID] = []
    start = utcnow() - timedelta(hours=1)
    async with services.db.session() as session:
        for i in range(count):
            invitation = Invitation(
                organisation_id=campaign.organisation_id,
                campaign_id=campaign.id,
                channel=InvitationChannel.LINK,
                token_hash=uuid.uuid4().hex,
                expires_at=utcnow() + timedelta(days=30),
                responded_at=utcnow(),
            )
            session.add(invitation)
            await session.flush()
            response = Response(
                organisation_id=campaign.organisation_id,
                campaign_id=campaign.id,
                invitation_id=invitation.id,
                resident_id=resident_ids[i] if i < len(resident_ids) else None,
                method=ConsentMethod.LINK,
                question_set_version=campaign.question_set_version,
                rating=rating,
                comment=comment,
                submitted_at=start + timedelta(seconds=i),
            )
            session.add(response)
            await session.flush()
            session.add_all(
                ResponseAnswer(
                    response_id=response.id,
                    campaign_id=campaign.id,
                    question_set_version=campaign.question_set_version,
                    **answer,
                )
                for answer in answers
            )
            made.append(response.id)
        await session.commit()
    return made
