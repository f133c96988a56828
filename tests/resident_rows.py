"""Residents' data made straight in the tests: a resident met through the organiser's
SyncConversations, and responses, invitations and manage tokens written with the models
(counted in the tallies as a response through the page would be)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.campaigns import tallies
from server.campaigns.enums import CampaignStatus, ConsentMethod, QuestionKind
from server.campaigns.models import Campaign, QuestionSet
from server.campaigns.tallies import TallyKind
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.models import ChannelName
from server.notifications.spec import NotifySpec, ResidentRecipient
from server.residents import manage_tokens
from server.residents.enums import InvitationChannel
from server.residents.models import Invitation, Response, ResponseAnswer
from server.residents.tokens import new_token
from tests.campaign_rows import add_campaigns, question
from tests.conftest import GraphQLClient, Org

TEXT = question("What matters to you here?", QuestionKind.TEXT)
SCALE = question("How safe do you feel?", QuestionKind.SCALE)
CHOICE = question("What first?", QuestionKind.SINGLE_CHOICE, choices=["Bins", "Parking"])


async def listening_campaign(services: Services, org: Org, title: str = "Listening") -> Campaign:
    (campaign,) = await add_campaigns(
        services,
        org,
        [title],
        organisers=[org.members[Role.ORGANISER].id],
        status=CampaignStatus.ACTIVE,
    )
    async with services.db.session() as session:
        await session.execute(
            sa.update(QuestionSet)
            .where(col(QuestionSet.campaign_id) == campaign.id)
            .values(questions=[TEXT, SCALE, CHOICE])
        )
        await session.commit()
    return campaign


def conversation_item(
    campaign: Campaign, resident: dict[str, Any] | None = None, **more: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "campaignId": str(campaign.id),
        "baseVersion": None,
        "occurredAt": "2026-11-30T10:15:00Z",
        "questionSetVersion": 1,
        "answers": [
            {"questionId": TEXT["id"], "text": "My neighbour at no. 4 dumps bins"},
            {"questionId": SCALE["id"], "number": 4},
            {"questionId": CHOICE["id"], "choices": ["Bins"]},
        ],
        "themes": ["Bins"],
        "interestLevel": 3,
        "wantsInvolvement": True,
        "notes": "Rosa, lives alone, worried about the stairwell",
        "location": {"latitude": 53.47, "longitude": -2.23, "accuracyMeters": 5.0},
    }
    if resident is not None:
        item["resident"] = resident
    item.update(more)
    return item


def resident_input(
    name: str = "Rosa Parks",
    email: str | None = "rosa@example.test",
    phone: str | None = "07911 123456",
    *,
    contact_again: bool = True,
    hear_back: bool = True,
    recorded_at: str = "2026-11-30T10:14:00Z",
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "postcode": "m13 9pl",
        "email": email,
        "phone": phone,
        "consent": {
            "storeDetails": True,
            "contactAgain": contact_again,
            "hearBack": hear_back,
            "recordedAt": recorded_at,
        },
    }


async def sync(gql: GraphQLClient, org: Org, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    data = await gql.op(
        "SyncConversations",
        {"input": {"conversations": items}},
        token=org.token(Role.ORGANISER),
    )
    results: list[dict[str, Any]] = data["syncConversations"]["results"]
    return results


async def meet(
    gql: GraphQLClient, org: Org, campaign: Campaign, **resident: Any
) -> tuple[uuid.UUID, uuid.UUID]:
    """A resident met on the doorstep (with consent to store details): the conversation's
    id and the resident's."""
    person = resident_input(**resident)
    item = conversation_item(campaign, person)
    [result] = await sync(gql, org, [item])
    assert result["status"] == "CREATED", result
    return uuid.UUID(item["id"]), uuid.UUID(person["id"])


def sms_invitation(
    campaign: Campaign, resident_id: uuid.UUID | None, *, responded: bool
) -> Invitation:
    now = utcnow()
    return Invitation(
        organisation_id=campaign.organisation_id,
        campaign_id=campaign.id,
        channel=InvitationChannel.SMS,
        token_hash=new_token()[1],
        resident_id=resident_id,
        expires_at=now + timedelta(days=30),
        responded_at=now if responded else None,
    )


def sms_to(org: Org, resident_id: uuid.UUID, phone: str, key: str = "update") -> NotifySpec:
    """A message to one resident by SMS, as a campaign update sends it."""
    return NotifySpec(
        organisation_id=org.organisation.id,
        user_ids=[],
        template="resident_message",
        event_key=key,
        params={"title": "You said, we did", "body": "The bins are now collected weekly."},
        residents=[ResidentRecipient(resident_id, ChannelName.SMS, phone)],
    )


async def add_response(
    services: Services,
    campaign: Campaign,
    resident_id: uuid.UUID | None,
    *,
    rating: int | None = 9,
    comment: str | None = "Please fix the lift, Rosa from flat 3",
    text: str | None = "The lift in my block",
    number: int | None = 2,
) -> uuid.UUID:
    """A response to an SMS invitation, with its answers, counted as the response page
    counts one."""
    now = utcnow()
    async with services.db.session() as session:
        invitation = sms_invitation(campaign, resident_id, responded=True)
        session.add(invitation)
        await session.flush()
        response = Response(
            organisation_id=campaign.organisation_id,
            campaign_id=campaign.id,
            invitation_id=invitation.id,
            resident_id=resident_id,
            method=ConsentMethod.SMS,
            question_set_version=1,
            rating=rating,
            comment=comment,
            submitted_at=now,
        )
        session.add(response)
        await session.flush()
        answers = [
            ResponseAnswer(
                response_id=response.id,
                question_id=uuid.UUID(TEXT["id"]),
                campaign_id=campaign.id,
                question_set_version=1,
                text=text,
            ),
            ResponseAnswer(
                response_id=response.id,
                question_id=uuid.UUID(SCALE["id"]),
                campaign_id=campaign.id,
                question_set_version=1,
                number=number,
            ),
        ]
        session.add_all(answers)
        await tallies.add_counts(session, _counts(campaign.id, resident_id, rating))
        await session.commit()
        return response.id


def _counts(
    campaign_id: uuid.UUID, resident_id: uuid.UUID | None, rating: int | None
) -> Counter[tallies.Key]:
    net: Counter[tallies.Key] = Counter({tallies.key(campaign_id, TallyKind.RESPONSES): 1})
    if rating is not None:
        net[tallies.key(campaign_id, TallyKind.RATED)] += 1
        net[tallies.key(campaign_id, TallyKind.RATING_SUM)] += rating
        if rating >= 9:
            net[tallies.key(campaign_id, TallyKind.PROMOTERS)] += 1
        if rating <= 6:
            net[tallies.key(campaign_id, TallyKind.DETRACTORS)] += 1
    if resident_id is not None:
        net[tallies.key(campaign_id, TallyKind.MET, ref=resident_id)] += 1
    return net


async def issue_manage_token(services: Services, org: Org, resident_id: uuid.UUID) -> str:
    async with services.db.session() as session:
        token = await manage_tokens.issue(session, org.organisation.id, resident_id)
        await session.commit()
    return token
