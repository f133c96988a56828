"""Audit cases of the campaigns domain: campaigns."""

from __future__ import annotations

import uuid
from typing import Any

from server.core.enums import Role
from server.core.services import Services
from tests.audit_cases import Expected, Run
from tests.conftest import GraphQLClient, Org


async def _campaign(gql: GraphQLClient, org: Org) -> str:
    data = await gql.op(
        "CreateCampaign", {"input": {"kind": "LISTENING", "title": "Audited"}}, token=org.token()
    )
    assert data["createCampaign"]["userErrors"] == []
    campaign_id: str = data["createCampaign"]["campaign"]["id"]
    return campaign_id


def _ok(data: dict[str, Any]) -> None:
    [payload] = data.values()
    assert payload["userErrors"] == []


async def create_campaign(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    data = await gql.op(
        "CreateCampaign",
        {"input": {"kind": "ACTION", "title": "By senior"}},
        token=org.token(Role.SENIOR_ORGANISER),
    )
    _ok(data)
    campaign_id = data["createCampaign"]["campaign"]["id"]
    return Expected(
        "campaign.create", "Campaign", campaign_id, org.members[Role.SENIOR_ORGANISER].id
    )


async def update_question_set(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    campaign_id = await _campaign(gql, org)
    questions = [{"kind": "YES_NO", "prompt": "Would you come?", "required": True}]
    _ok(
        await gql.op(
            "UpdateQuestionSet",
            {"campaignId": campaign_id, "questions": questions},
            token=org.token(),
        )
    )
    return Expected(
        "campaign.questions_update", "Campaign", campaign_id, org.members[Role.ADMIN].id
    )


async def set_campaign_status(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    campaign_id = await _campaign(gql, org)
    _ok(
        await gql.op(
            "SetCampaignStatus", {"id": campaign_id, "status": "ACTIVE"}, token=org.token()
        )
    )
    return Expected("campaign.status_change", "Campaign", campaign_id, org.members[Role.ADMIN].id)


async def assign_organisers(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    campaign_id = await _campaign(gql, org)
    users = [str(org.members[Role.ORGANISER].id)]
    _ok(
        await gql.op(
            "AssignOrganisers",
            {"campaignId": campaign_id, "userIds": users},
            token=org.token(Role.SENIOR_ORGANISER),
        )
    )
    actor = org.members[Role.SENIOR_ORGANISER].id
    return Expected("campaign.organisers_assign", "Campaign", uuid.UUID(campaign_id), actor)


CASES: dict[str, Run] = {
    "createCampaign": create_campaign,
    "updateQuestionSet": update_question_set,
    "setCampaignStatus": set_campaign_status,
    "assignOrganisers": assign_organisers,
}
