"""Isolation cases of the residents domain: campaign updates, staff reading responses and
tagging them with themes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.core.enums import Role
from server.residents.models import CampaignUpdate, ResponseTheme
from tests.campaign_rows import add_campaigns
from tests.isolation_cases import World
from tests.resident_rows_updates import add_conversation, add_resident, add_responses


@dataclass
class Theirs:
    campaign_id: uuid.UUID
    response_id: uuid.UUID


async def _theirs(w: World) -> Theirs:
    """A campaign of Theirs with a resident who asked to hear back, a response and an
    update, all secrets to Ours."""
    [campaign] = await add_campaigns(w.services, w.theirs, ["Theirs Crossings"])
    resident = await add_resident(
        w.services, w.theirs.organisation.id, email="hidden-resident@example.test"
    )
    await add_conversation(w.services, campaign, w.theirs.members[Role.ORGANISER].id, resident)
    [response] = await add_responses(
        w.services, campaign, 1, resident_ids=[resident], comment="Theirs comment"
    )
    async with w.services.db.session() as session:  # written directly: Theirs' log stays
        update = CampaignUpdate(
            organisation_id=w.theirs.organisation.id,
            campaign_id=campaign.id,
            title="Theirs update",
            body="Done.",
            content_hash=uuid.uuid4().hex,
            recipient_count=1,
        )
        session.add(update)
        await session.commit()
    update_id = str(update.id)
    w.secrets |= {str(campaign.id), str(response), str(resident), update_id}
    w.secrets |= {"Theirs comment", "Theirs update", "hidden-resident@example.test"}
    return Theirs(campaign.id, response)


async def _raw(w: World, query: str, variables: dict[str, Any], role: Role) -> dict[str, Any]:
    body = await w.gql.raw(query, variables, token=w.ours.token(role))
    w.responses.append(body)
    return body


async def _unchanged(w: World, theirs: Theirs) -> None:
    async with w.services.db.session() as session:
        updates = await session.scalar(
            sa.select(sa.func.count()).where(col(CampaignUpdate.campaign_id) == theirs.campaign_id)
        )
        themes = await session.scalar(
            sa.select(sa.func.count()).where(col(ResponseTheme.response_id) == theirs.response_id)
        )
    assert updates == 1 and themes == 0


def _not_found(payload: dict[str, Any], field: str) -> None:
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, "NOT_FOUND")]


async def publish_campaign_update(w: World) -> None:
    theirs = await _theirs(w)
    for role in (Role.ADMIN, Role.SENIOR_ORGANISER):
        data = await w.data(
            "PublishCampaignUpdate",
            {"campaignId": str(theirs.campaign_id), "input": {"title": "Sneaky", "body": "x"}},
            role=role,
        )
        assert data["publishCampaignUpdate"]["campaignUpdate"] is None
        _not_found(data["publishCampaignUpdate"], "campaignId")
    await _unchanged(w, theirs)


async def campaign_updates(w: World) -> None:
    theirs = await _theirs(w)
    for role in Role:
        body = await _raw(
            w,
            "query($id: ID!) { campaignUpdates(campaignId: $id) { id title } }",
            {"id": str(theirs.campaign_id)},
            role,
        )
        assert body["data"]["campaignUpdates"] == []


async def campaign_responses(w: World) -> None:
    theirs = await _theirs(w)
    for role in Role:
        body = await _raw(
            w,
            "query($id: ID!) { campaignResponses(campaignId: $id) "
            "{ totalCount edges { node { id comment themes { name } } } } }",
            {"id": str(theirs.campaign_id)},
            role,
        )
        assert body["data"]["campaignResponses"] == {"totalCount": 0, "edges": []}


async def set_response_themes(w: World) -> None:
    theirs = await _theirs(w)
    for role in (Role.ADMIN, Role.SENIOR_ORGANISER):
        body = await _raw(
            w,
            'mutation($id: ID!) { setResponseThemes(responseId: $id, themes: ["Sneaky"]) '
            "{ response { id } userErrors { field message code } } }",
            {"id": str(theirs.response_id)},
            role,
        )
        payload = body["data"]["setResponseThemes"]
        assert payload["response"] is None
        _not_found(payload, "responseId")
    await _unchanged(w, theirs)


CASES = {
    "publishCampaignUpdate": publish_campaign_update,
    "campaignUpdates": campaign_updates,
    "campaignResponses": campaign_responses,
    "setResponseThemes": set_response_themes,
}
