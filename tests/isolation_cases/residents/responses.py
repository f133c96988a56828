"""Isolation cases of the residents domain: invitations and responses."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from server.campaigns.models import Campaign, Resident
from server.core.enums import Role
from server.outbox.models import OutboxMessage
from server.residents.models import Invitation, Response
from tests.campaign_rows import add_campaigns
from tests.isolation_cases import World
from tests.resident_helpers import Campaign as Questions
from tests.resident_helpers import response_input

THEIR_EMAIL = "theirs-resident@theirs.test"


async def _theirs(w: World) -> tuple[Campaign, uuid.UUID]:
    """A campaign of Theirs, and a resident of Theirs who agreed to be contacted."""
    (campaign,) = await add_campaigns(w.services, w.theirs, ["Theirs Listening"])
    async with w.services.db.session() as session:
        resident = Resident(
            organisation_id=w.theirs.organisation.id,
            name="Theirs Resident",
            email=THEIR_EMAIL,
            store_details=True,
            contact_again=True,
        )
        session.add(resident)
        await session.commit()
    w.secrets.update({str(campaign.id), str(resident.id), THEIR_EMAIL})
    return campaign, resident.id


async def _count(w: World, model: Any) -> int:
    async with w.services.db.session() as session:
        n = await session.scalar(sa.select(sa.func.count()).select_from(model))
    return int(n or 0)


async def create_invitations(w: World) -> None:
    campaign, resident_id = await _theirs(w)
    (ours,) = await add_campaigns(w.services, w.ours, ["Ours Listening"])
    before = await _count(w, Invitation), await _count(w, OutboxMessage)
    for role in (Role.ADMIN, Role.SENIOR_ORGANISER):
        data = await w.data(
            "CreateInvitations",
            {"input": {"campaignId": str(campaign.id), "channel": "LINK"}},
            role=role,
        )
        assert data["createInvitations"] == {
            "invitations": [],
            "userErrors": [
                {"field": "input.campaignId", "message": "No such campaign.", "code": "NOT_FOUND"}
            ],
        }
        data = await w.data(
            "CreateInvitations",
            {
                "input": {
                    "campaignId": str(ours.id),
                    "channel": "EMAIL",
                    "residentIds": [str(resident_id)],
                }
            },
            role=role,
        )
        assert data["createInvitations"] == {
            "invitations": [],
            "userErrors": [
                {
                    "field": "input.residentIds.0",
                    "message": "No such resident.",
                    "code": "NOT_FOUND",
                }
            ],
        }
    assert (await _count(w, Invitation), await _count(w, OutboxMessage)) == before


async def invitation(w: World) -> None:
    """The token is the only key: a guessed one opens nothing, signed in or not."""
    await _theirs(w)
    for role in Role:
        data = await w.data("Invitation", {"token": "guessed-token-of-theirs"}, role=role)
        assert data == {"invitation": None}


async def respond_to_campaign(w: World) -> None:
    campaign, _ = await _theirs(w)
    asked = Questions(str(campaign.id), [str(uuid.uuid4()) for _ in range(3)])
    before = await _count(w, Response)
    data = await w.data(
        "RespondToCampaign", {"token": "guessed-token-of-theirs", "input": response_input(asked)}
    )
    assert [e["code"] for e in data["respondToCampaign"]["userErrors"]] == ["EXPIRED"]
    assert await _count(w, Response) == before


CASES: dict[str, Any] = {
    "createInvitations": create_invitations,
    "invitation": invitation,
    "respondToCampaign": respond_to_campaign,
}
