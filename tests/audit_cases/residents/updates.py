"""Audit cases of the residents domain: campaign updates and response themes."""

from __future__ import annotations

from server.core.enums import Role
from server.core.services import Services
from tests.audit_cases import Expected
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org
from tests.resident_rows_updates import add_responses


async def publish_campaign_update(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    [campaign] = await add_campaigns(services, org, ["Crossings"])
    data = await gql.op(
        "PublishCampaignUpdate",
        {"campaignId": str(campaign.id), "input": {"title": "You said", "body": "We did."}},
        token=org.token(Role.SENIOR_ORGANISER),
    )
    payload = data["publishCampaignUpdate"]
    assert payload["userErrors"] == []
    return Expected(
        "campaign.update_publish",
        "CampaignUpdate",
        payload["campaignUpdate"]["id"],
        org.members[Role.SENIOR_ORGANISER].id,
    )


async def set_response_themes(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    [campaign] = await add_campaigns(services, org, ["Crossings"])
    [response] = await add_responses(services, campaign, 1)
    data = await gql(
        'mutation($id: ID!) { setResponseThemes(responseId: $id, themes: ["Bins"]) '
        "{ userErrors { code } } }",
        {"id": str(response)},
        token=org.token(),
    )
    assert data["setResponseThemes"]["userErrors"] == []
    return Expected("response.themes_set", "Response", response, org.members[Role.ADMIN].id)


CASES = {
    "publishCampaignUpdate": publish_campaign_update,
    "setResponseThemes": set_response_themes,
}
