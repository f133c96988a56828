"""Audit cases of the residents domain: invitations and responses."""

from __future__ import annotations

from typing import Any

from server.core.enums import Role
from server.core.services import Services
from tests.audit_cases import Expected
from tests.conftest import GraphQLClient, Org
from tests.resident_helpers import (
    active_campaign,
    create_invitations,
    link,
    respond,
    response_input,
)


async def create_invitations_case(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    campaign = await active_campaign(gql, org)
    created = await create_invitations(
        gql, org, {"campaignId": campaign.id, "channel": "LINK", "count": 2}, Role.SENIOR_ORGANISER
    )
    assert created["userErrors"] == []
    return Expected(
        "invitations.create", "Campaign", campaign.id, org.members[Role.SENIOR_ORGANISER].id
    )


async def respond_to_campaign(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    """A resident has no account: the entry names no actor."""
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    result = await respond(gql, token, response_input(campaign))
    assert result["userErrors"] == []
    return Expected("response.submit", "Response", result["response"]["id"], None)


CASES: dict[str, Any] = {
    "createInvitations": create_invitations_case,
    "respondToCampaign": respond_to_campaign,
}
