"""Staff reading a campaign's responses (campaignResponses), page by page with no query per
response, and tagging a response with themes (setResponseThemes), which the campaign's
report counts (themeCounts responseCount)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa

from server.audit.models import AuditEntry
from server.campaigns.models import CampaignTally, Theme
from server.core.enums import Role
from server.core.services import Services
from server.residents import staff_responses
from server.residents.models import ResponseTheme
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.resident_rows_updates import add_responses

RESPONSES = """
query($id: ID!, $first: Int, $after: String) {
  campaignResponses(campaignId: $id, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id submittedAt rating comment questionSetVersion
      answers { questionId text number choices }
      themes { id name }
    } }
  }
}
"""
SET_THEMES = """
mutation($id: ID!, $themes: [String!]!) {
  setResponseThemes(responseId: $id, themes: $themes) {
    response { id themes { name } }
    userErrors { field message code }
  }
}
"""
THEME_COUNTS = """
query($id: ID!) {
  campaign(id: $id) { themeCounts { theme { name } conversationCount responseCount } }
}
"""


def _answers(question_id: uuid.UUID) -> list[dict[str, Any]]:
    return [{"question_id": question_id, "text": "The crossing", "number": None, "choices": None}]


async def _set(
    gql: GraphQLClient, org: Org, response_id: Any, themes: list[str], role: Role = Role.ADMIN
) -> dict[str, Any]:
    data = await gql(SET_THEMES, {"id": str(response_id), "themes": themes}, token=org.token(role))
    payload: dict[str, Any] = data["setResponseThemes"]
    return payload


async def _theme_counts(gql: GraphQLClient, org: Org, campaign_id: uuid.UUID) -> dict[str, int]:
    data = await gql(THEME_COUNTS, {"id": str(campaign_id)}, token=org.token())
    return {t["theme"]["name"]: t["responseCount"] for t in data["campaign"]["themeCounts"]}


async def test_staff_read_a_campaigns_responses_newest_first_page_by_page(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org, other = await make_org("Alpha"), await make_org("Beta")
    organiser = org.members[Role.ORGANISER].id
    [mine] = await add_campaigns(services, org, ["Crossings"], organisers=[organiser])
    [unassigned] = await add_campaigns(services, org, ["Parks"])
    question = uuid.uuid4()
    made = await add_responses(services, mine, 3, answers=_answers(question), rating=9)
    await add_responses(services, unassigned, 1)

    first = await gql(RESPONSES, {"id": str(mine.id), "first": 2}, token=org.token(Role.ORGANISER))
    page = first["campaignResponses"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    nodes = [e["node"] for e in page["edges"]]
    assert [n["id"] for n in nodes] == [str(made[2]), str(made[1])]
    assert nodes[0]["rating"] == 9 and nodes[0]["comment"] == "More bins please."
    assert nodes[0]["answers"] == [
        {"questionId": str(question), "text": "The crossing", "number": None, "choices": None}
    ]
    assert nodes[0]["themes"] == [] and nodes[0]["questionSetVersion"] == 1
    after = page["pageInfo"]["endCursor"]
    rest = await gql(
        RESPONSES, {"id": str(mine.id), "after": after}, token=org.token(Role.ORGANISER)
    )
    assert [e["node"]["id"] for e in rest["campaignResponses"]["edges"]] == [str(made[0])]
    assert rest["campaignResponses"]["pageInfo"]["hasNextPage"] is False

    # A campaign the caller cannot see (not assigned, another organisation's, no such id):
    # no responses, as for a campaign that does not exist.
    for caller, campaign_id in (
        (org.token(Role.ORGANISER), unassigned.id),
        (other.token(), mine.id),
        (org.token(), "not-an-id"),
    ):
        data = await gql(RESPONSES, {"id": str(campaign_id)}, token=caller)
        assert data["campaignResponses"]["edges"] == []
        assert data["campaignResponses"]["totalCount"] == 0
    seen = await gql(RESPONSES, {"id": str(unassigned.id)}, token=org.token(Role.SENIOR_ORGANISER))
    assert len(seen["campaignResponses"]["edges"]) == 1


async def test_a_page_of_responses_costs_the_same_statements_for_3_or_40(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    counts = []
    for n in (3, 40):
        org = await make_org()
        [campaign] = await add_campaigns(services, org, ["Crossings"])
        made = await add_responses(services, campaign, n, answers=_answers(uuid.uuid4()))
        for response_id in made[:2]:
            assert (await _set(gql, org, response_id, ["Bins", "Roads"]))["userErrors"] == []
        await gql(RESPONSES, {"id": str(campaign.id), "first": 50}, token=org.token())  # warm
        count_queries.statements.clear()
        data = await gql(RESPONSES, {"id": str(campaign.id), "first": 50}, token=org.token())
        edges = data["campaignResponses"]["edges"]
        assert len(edges) == n and all(len(e["node"]["answers"]) == 1 for e in edges)
        assert sum(len(e["node"]["themes"]) for e in edges) == 4
        counts.append(count_queries.count)
    assert counts[0] == counts[1], "\n".join(count_queries.statements)
    # The page, its count, the answers and the themes.
    assert counts[1] == 4, "\n".join(count_queries.statements)


async def test_tagging_a_response_moves_the_reports_theme_counts(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org()
    [campaign] = await add_campaigns(services, org, ["Crossings"])
    first, second = await add_responses(services, campaign, 2)

    tagged = await _set(gql, org, first, ["Bins", "  bins! ", "Road safety"])
    assert tagged["userErrors"] == []
    assert tagged["response"] == {
        "id": str(first),
        "themes": [{"name": "Bins"}, {"name": "Road safety"}],
    }
    await _set(gql, org, second, ["BINS"], role=Role.SENIOR_ORGANISER)
    assert await _theme_counts(gql, org, campaign.id) == {"Bins": 2, "Road safety": 1}

    # Setting them again: only what changed moves; the same list again moves nothing.
    moved = await _set(gql, org, first, ["road safety", "Parking"])
    assert [t["name"] for t in moved["response"]["themes"]] == ["Parking", "Road safety"]
    await _set(gql, org, first, ["road safety", "Parking"])
    assert await _theme_counts(gql, org, campaign.id) == {"Bins": 1, "Parking": 1, "Road safety": 1}
    cleared = await _set(gql, org, second, [])
    assert cleared["response"]["themes"] == []
    assert await _theme_counts(gql, org, campaign.id) == {"Parking": 1, "Road safety": 1}
    async with services.db.session() as session:
        keys = (
            await session.scalars(
                sa.select(Theme.key).where(Theme.organisation_id == org.organisation.id)
            )
        ).all()
        tallies = (
            await session.scalars(
                sa.select(CampaignTally.n).where(CampaignTally.kind == "RESPONSE_THEME")
            )
        ).all()
        audited = (
            await session.scalars(
                sa.select(AuditEntry.details).where(AuditEntry.action == "response.themes_set")
            )
        ).all()
    assert sorted(keys) == ["bins", "parking", "road safety"]  # one theme per key
    assert sorted(tallies) == [0, 1, 1]
    assert len(audited) == 4  # the unchanged call wrote none
    # The campaign's themes list them, as it does conversations' themes.
    data = await gql(
        "query($id: ID!) { campaign(id: $id) { themes { name } } }",
        {"id": str(campaign.id)},
        token=org.token(),
    )
    assert [t["name"] for t in data["campaign"]["themes"]] == ["Bins", "Parking", "Road safety"]


async def test_only_staff_of_the_organisation_tag_responses(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org, other = await make_org("Alpha"), await make_org("Beta")
    [campaign] = await add_campaigns(
        services, org, ["Crossings"], organisers=[org.members[Role.ORGANISER].id]
    )
    [response] = await add_responses(services, campaign, 1)
    for role in (Role.ORGANISER, Role.TRAINER):
        body = await gql.raw(
            SET_THEMES, {"id": str(response), "themes": ["Bins"]}, token=org.token(role)
        )
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    for response_id in (response, uuid.uuid4(), "not-an-id"):
        refused = await _set(gql, other, response_id, ["Bins"])
        assert refused == {
            "response": None,
            "userErrors": [
                {"field": "responseId", "message": "No such response.", "code": "NOT_FOUND"}
            ],
        }
    too_many = await _set(gql, org, response, [f"Theme {i}" for i in range(21)])
    assert [(e["field"], e["code"]) for e in too_many["userErrors"]] == [("themes", "INVALID")]
    assert await _theme_counts(gql, org, campaign.id) == {}
    async with services.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Theme)) == 0


async def test_two_taggings_at_once_count_each_theme_once(
    make_org: Any, services: Services
) -> None:
    org = await make_org()
    [campaign] = await add_campaigns(services, org, ["Crossings"])
    [response] = await add_responses(services, campaign, 1)

    async def tag() -> None:
        async with services.db.session() as session:
            await staff_responses.set_response_themes(
                session, org.actor(Role.ADMIN), response, ["Bins", "Roads"]
            )
            await session.commit()

    await asyncio.gather(tag(), tag())
    async with services.db.session() as session:
        tallies = (
            await session.scalars(
                sa.select(CampaignTally.n).where(CampaignTally.kind == "RESPONSE_THEME")
            )
        ).all()
        tagged = await session.scalar(sa.select(sa.func.count()).select_from(ResponseTheme))
    assert sorted(tallies) == [1, 1] and tagged == 2
