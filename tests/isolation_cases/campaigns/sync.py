"""Isolation cases of the campaigns domain: synced conversations and residents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col

from server.campaigns.models import Campaign, Conversation, Resident
from server.core.enums import Role
from server.core.models import utcnow
from tests.campaign_rows import add_campaigns
from tests.isolation_cases import Case, World


@dataclass(frozen=True)
class Theirs:
    campaign: Campaign
    conversation: Conversation
    resident: Resident


async def _theirs(w: World) -> Theirs:
    organiser = w.theirs.members[Role.ORGANISER].id
    (campaign,) = await add_campaigns(w.services, w.theirs, ["Theirs sync"], organisers=[organiser])
    resident = Resident(
        organisation_id=w.theirs.organisation.id,
        name="Theirs Resident",
        email="resident@theirs.test",
        store_details=True,
    )
    conversation = Conversation(
        organisation_id=w.theirs.organisation.id,
        campaign_id=campaign.id,
        organiser_id=organiser,
        resident_id=resident.id,
        content_hash="theirs",
        occurred_at=utcnow(),
        question_set_version=1,
        notes="Theirs secret note",
    )
    async with w.services.db.session() as session:
        session.add(resident)
        await session.flush()
        session.add(conversation)
        await session.commit()
    return Theirs(campaign, conversation, resident)


async def _unchanged(w: World, t: Theirs) -> None:
    async with w.services.db.session() as session:
        row = await session.get(Conversation, t.conversation.id)
        assert row is not None and (row.version, row.notes) == (1, "Theirs secret note")
        count = await session.scalar(
            sa.select(sa.func.count()).where(col(Conversation.campaign_id) == t.campaign.id)
        )
        assert count == 1


async def conversation(w: World) -> None:
    t = await _theirs(w)
    for role in Role:
        data = await w.data("Conversation", {"id": str(t.conversation.id)}, role=role)
        assert data["conversation"] is None


async def conversations(w: World) -> None:
    t = await _theirs(w)
    for role in Role:
        data = await w.data("ConversationChanges", {"campaignId": str(t.campaign.id)}, role=role)
        assert data["conversations"]["edges"] == []


async def residents(w: World) -> None:
    await _theirs(w)
    for role in (Role.ADMIN, Role.SENIOR_ORGANISER):
        for search in (None, "Theirs", "resident@theirs.test"):
            data = await w.data("Residents", {"search": search}, role=role)
            names = [e["node"]["name"] for e in data["residents"]["edges"]]
            assert "Theirs Resident" not in names


async def sync_conversations(w: World) -> None:
    t = await _theirs(w)
    ours = w.ours.members[Role.ORGANISER].id
    (our_campaign,) = await add_campaigns(w.services, w.ours, ["Ours sync"], organisers=[ours])

    def item(
        conversation_id: uuid.UUID,
        campaign_id: uuid.UUID,
        resident: dict[str, object] | None = None,
    ) -> dict[str, object]:
        return {
            "id": str(conversation_id),
            "campaignId": str(campaign_id),
            "baseVersion": 1,
            "occurredAt": utcnow().isoformat(),
            "questionSetVersion": 1,
            "answers": [],
            "themes": [],
            "notes": "Planted",
            "resident": resident,
        }

    consent = {
        "storeDetails": True,
        "contactAgain": True,
        "hearBack": True,
        "recordedAt": utcnow().isoformat(),
    }
    batch = [
        item(t.conversation.id, t.campaign.id),  # their conversation in their campaign
        item(t.conversation.id, our_campaign.id),  # their conversation id in ours
        item(uuid.uuid4(), t.campaign.id) | {"baseVersion": None},  # new, in their campaign
        item(
            uuid.uuid4(),
            our_campaign.id,
            {"id": str(t.resident.id), "name": "Planted", "consent": consent},
        )
        | {"baseVersion": None},  # their resident attached to ours
    ]
    for role in (Role.ORGANISER, Role.ADMIN):
        data = await w.data("SyncConversations", {"input": {"conversations": batch}}, role=role)
        results = data["syncConversations"]["results"]
        assert [
            (r["status"], r["conversation"], [e["code"] for e in r["userErrors"]]) for r in results
        ] == [("REJECTED", None, ["NOT_FOUND"])] * 4
    await _unchanged(w, t)
    async with w.services.db.session() as session:
        resident = await session.get(Resident, t.resident.id)
        assert resident is not None and resident.name == "Theirs Resident"


CASES: dict[str, Case] = {
    "conversation": conversation,
    "conversations": conversations,
    "residents": residents,
    "syncConversations": sync_conversations,
}
