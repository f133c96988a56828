"""Isolation cases of the campaigns domain: campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.campaigns.enums import CampaignStatus
from server.campaigns.models import Campaign, CampaignOrganiser, QuestionSet
from server.core.enums import Role
from tests.campaign_rows import add_campaigns, question
from tests.isolation_cases import Case, World


@dataclass(frozen=True)
class Campaigns:
    theirs: Campaign
    ours: Campaign
    their_questions: list[dict[str, Any]]


async def _setup(w: World) -> Campaigns:
    """A campaign of Theirs, and one of Ours with rows pointing across that should never
    exist: one of Theirs assigned to it, and its area one of Theirs."""
    their_organiser = w.theirs.members[Role.ORGANISER].id
    (theirs,) = await add_campaigns(
        w.services, w.theirs, ["Theirs Campaign"], organisers=[their_organiser]
    )
    (ours,) = await add_campaigns(
        w.services, w.ours, ["Ours Campaign"], organisers=[w.ours.members[Role.ORGANISER].id]
    )
    their_questions = [question("Theirs secret question")]
    async with w.services.db.session() as session:
        await session.execute(
            sa.update(QuestionSet)
            .where(col(QuestionSet.campaign_id) == theirs.id)
            .values(questions=their_questions)
        )
        await session.execute(
            sa.update(Campaign).where(col(Campaign.id) == ours.id).values(area_id=w.theirs.area.id)
        )
        session.add(CampaignOrganiser(campaign_id=ours.id, user_id=their_organiser))
        await session.commit()
    w.secrets.update({str(theirs.id), their_questions[0]["id"]})
    return Campaigns(theirs, ours, their_questions)


async def _theirs_unchanged(w: World, c: Campaigns) -> None:
    async with w.services.db.session() as session:
        campaigns = (
            await session.execute(
                sa.select(
                    col(Campaign.id), col(Campaign.status), col(Campaign.question_set_version)
                ).where(col(Campaign.organisation_id) == w.theirs.organisation.id)
            )
        ).all()
        organisers = (
            await session.scalars(
                sa.select(col(CampaignOrganiser.user_id)).where(
                    col(CampaignOrganiser.campaign_id) == c.theirs.id
                )
            )
        ).all()
        sets = (
            await session.scalars(
                sa.select(col(QuestionSet.questions)).where(
                    col(QuestionSet.campaign_id) == c.theirs.id
                )
            )
        ).all()
    # Only what the set-ups made (the cases all run in one world in one of the tests).
    assert c.theirs.id in {row.id for row in campaigns}
    assert {(row.status, row.question_set_version) for row in campaigns} == {
        (CampaignStatus.ACTIVE, 1)
    }
    assert organisers == [w.theirs.members[Role.ORGANISER].id]
    assert sets == [c.their_questions]


MINE = """
{
  campaigns(filter: { mine: true, status: [ACTIVE] }) {
    edges { node { id title area { id } organisers { displayName } } }
  }
}
"""


def _codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def campaign(w: World) -> None:
    c = await _setup(w)
    for role in Role:
        data = await w.data("CampaignReport", {"id": str(c.theirs.id)}, role=role)
        assert data["campaign"] is None
    query = "query ($id: ID!) { campaign(id: $id) { id area { id } organisers { id } } }"
    body = await w.gql.raw(query, {"id": str(c.ours.id)}, token=w.ours.token())
    w.responses.append(body)
    # Campaign.area and Campaign.organisers never cross, even for rows pointing across.
    assert body["data"]["campaign"] == {
        "id": str(c.ours.id),
        "area": None,
        "organisers": [{"id": str(w.ours.members[Role.ORGANISER].id)}],
    }
    await _theirs_unchanged(w, c)


async def campaigns(w: World) -> None:
    c = await _setup(w)
    organiser = {"id": str(w.ours.members[Role.ORGANISER].id), "displayName": "Organiser of Ours"}
    # (The cases also run one after another in one world: other campaigns of Ours may show.)
    for role in Role:
        data = await w.data("Campaigns", {}, role=role)
        nodes = {e["node"]["id"]: e["node"] for e in data["campaigns"]["edges"]}
        assert all(n["title"].startswith("Ours") for n in nodes.values())
        if role is Role.TRAINER:
            assert nodes == {}
            continue
        # Campaign.area and Campaign.organisers never cross, even for rows pointing across.
        assert nodes[str(c.ours.id)]["area"] is None
        assert nodes[str(c.ours.id)]["organisers"] == [organiser]
    # MyCampaigns without its stats (the report's part, with its own case).
    body = await w.gql.raw(MINE, token=w.ours.token(Role.ORGANISER))
    w.responses.append(body)
    nodes = {e["node"]["id"]: e["node"] for e in body["data"]["campaigns"]["edges"]}
    assert all(n["title"].startswith("Ours") for n in nodes.values())
    assert nodes[str(c.ours.id)] == {
        "id": str(c.ours.id),
        "title": "Ours Campaign",
        "area": None,
        "organisers": [{"displayName": "Organiser of Ours"}],
    }
    await _theirs_unchanged(w, c)


async def create_campaign(w: World) -> None:
    c = await _setup(w)
    data = await w.data(
        "CreateCampaign",
        {
            "input": {
                "kind": "LISTENING",
                "title": "Ours new",
                "areaId": str(w.theirs.area.id),
                "organiserIds": [str(w.theirs.members[Role.ORGANISER].id)],
            }
        },
    )
    assert _codes(data["createCampaign"]) == [
        ("input.areaId", "NOT_FOUND"),
        ("input.organiserIds.0", "NOT_FOUND"),
    ]
    data = await w.data("CreateCampaign", {"input": {"kind": "ACTION", "title": "Ours own"}})
    assert data["createCampaign"]["userErrors"] == []
    await _theirs_unchanged(w, c)


async def update_question_set(w: World) -> None:
    c = await _setup(w)
    for role in (Role.ADMIN, Role.SENIOR_ORGANISER):
        data = await w.data(
            "UpdateQuestionSet",
            {
                "campaignId": str(c.theirs.id),
                "questions": [
                    {
                        "id": c.their_questions[0]["id"],
                        "kind": "TEXT",
                        "prompt": "Ours",
                        "required": True,
                    }
                ],
            },
            role=role,
        )
        assert _codes(data["updateQuestionSet"]) == [("campaignId", "NOT_FOUND")]
    # Theirs' question id is no question of Ours' campaign: it gets a new id.
    data = await w.data(
        "UpdateQuestionSet",
        {
            "campaignId": str(c.ours.id),
            "questions": [
                {
                    "id": c.their_questions[0]["id"],
                    "kind": "TEXT",
                    "prompt": "Ours",
                    "required": True,
                }
            ],
        },
    )
    [kept] = data["updateQuestionSet"]["questionSet"]["questions"]
    assert kept["id"] != c.their_questions[0]["id"]
    await _theirs_unchanged(w, c)


async def set_campaign_status(w: World) -> None:
    c = await _setup(w)
    for status in CampaignStatus:
        data = await w.data("SetCampaignStatus", {"id": str(c.theirs.id), "status": status.value})
        assert _codes(data["setCampaignStatus"]) == [("id", "NOT_FOUND")]
    await _theirs_unchanged(w, c)


async def assign_organisers(w: World) -> None:
    c = await _setup(w)
    ours_organiser = str(w.ours.members[Role.ORGANISER].id)
    data = await w.data(
        "AssignOrganisers", {"campaignId": str(c.theirs.id), "userIds": [ours_organiser]}
    )
    assert _codes(data["assignOrganisers"]) == [("campaignId", "NOT_FOUND")]
    their_member = str(w.theirs.members[Role.ADMIN].id)
    data = await w.data(
        "AssignOrganisers",
        {"campaignId": str(c.ours.id), "userIds": [ours_organiser, their_member]},
    )
    assert _codes(data["assignOrganisers"]) == [("userIds.1", "NOT_FOUND")]
    await _theirs_unchanged(w, c)


CASES: dict[str, Case] = {
    "campaign": campaign,
    "campaigns": campaigns,
    "createCampaign": create_campaign,
    "updateQuestionSet": update_question_set,
    "setCampaignStatus": set_campaign_status,
    "assignOrganisers": assign_organisers,
}
