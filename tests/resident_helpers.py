"""Helpers of the invitation and response tests: a campaign with questions, links, known
residents, and responses, all through the contract's operations where one exists."""

from __future__ import annotations

import uuid
from typing import Any

from server.campaigns.models import Resident
from server.core.enums import Role
from server.core.services import Services
from tests.conftest import GraphQLClient, Org

QUESTIONS = [
    {"kind": "TEXT", "prompt": "What matters most here?", "required": False},
    {"kind": "SCALE", "prompt": "How safe do you feel?", "required": True},
    {"kind": "YES_NO", "prompt": "Would you come to a meeting?", "required": False},
]


async def active_campaign(gql: GraphQLClient, org: Org, title: str = "Safer streets") -> Any:
    """An ACTIVE listening campaign of ``org`` with QUESTIONS; its id and question ids."""
    data = await gql.op(
        "CreateCampaign",
        {"input": {"kind": "LISTENING", "title": title, "questions": QUESTIONS}},
        token=org.token(),
    )
    created = data["createCampaign"]
    assert created["userErrors"] == []
    campaign = created["campaign"]
    data = await gql.op(
        "SetCampaignStatus", {"id": campaign["id"], "status": "ACTIVE"}, token=org.token()
    )
    assert data["setCampaignStatus"]["userErrors"] == []
    return Campaign(campaign["id"], [q["id"] for q in campaign["questionSet"]["questions"]])


class Campaign:
    def __init__(self, id: str, question_ids: list[str]) -> None:
        self.id = id
        self.text, self.scale, self.yes_no = question_ids

    def answers(self, safe: int = 4, matters: str | None = "The bins") -> list[dict[str, Any]]:
        given: list[dict[str, Any]] = [{"questionId": self.scale, "number": safe}]
        if matters is not None:
            given.append({"questionId": self.text, "text": matters})
        return given


async def create_invitations(
    gql: GraphQLClient, org: Org, input: dict[str, Any], role: Role = Role.ADMIN
) -> dict[str, Any]:
    data = await gql.op("CreateInvitations", {"input": input}, token=org.token(role))
    created: dict[str, Any] = data["createInvitations"]
    return created


async def links(
    gql: GraphQLClient, org: Org, campaign: Campaign, count: int = 1, **more: Any
) -> list[str]:
    """The tokens of ``count`` new LINK invitations."""
    created = await create_invitations(
        gql, org, {"campaignId": campaign.id, "channel": "LINK", "count": count, **more}
    )
    assert created["userErrors"] == []
    prefix = "http://doorstep.test/r/"
    urls = [i["url"] for i in created["invitations"]]
    assert all(u.startswith(prefix) for u in urls)
    return [u.removeprefix(prefix) for u in urls]


async def link(gql: GraphQLClient, org: Org, campaign: Campaign, **more: Any) -> str:
    [token] = await links(gql, org, campaign, **more)
    return token


async def add_resident(
    services: Services,
    org: Org,
    *,
    name: str | None = "Rosa Parks",
    email: str | None = None,
    phone: str | None = None,
    contact_again: bool = True,
) -> uuid.UUID:
    """A resident met before (at the door), with consent to store details."""
    async with services.db.session() as session:
        resident = Resident(
            organisation_id=org.organisation.id,
            name=name,
            email=email,
            phone=phone,
            store_details=True,
            contact_again=contact_again,
        )
        session.add(resident)
        await session.commit()
    return resident.id


def response_input(
    campaign: Campaign,
    *,
    version: int = 1,
    rating: int | None = 8,
    store: bool = False,
    contact_again: bool = False,
    hear_back: bool = False,
    contact: dict[str, Any] | None = None,
    answers: list[dict[str, Any]] | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    return {
        "questionSetVersion": version,
        "answers": campaign.answers() if answers is None else answers,
        "rating": rating,
        "comment": comment,
        "consent": {"storeDetails": store, "contactAgain": contact_again, "hearBack": hear_back},
        "contact": contact,
    }


async def respond(gql: GraphQLClient, token: str, input: dict[str, Any]) -> dict[str, Any]:
    data = await gql.op("RespondToCampaign", {"token": token, "input": input})
    result: dict[str, Any] = data["respondToCampaign"]
    return result


async def opened(gql: GraphQLClient, token: str) -> dict[str, Any] | None:
    data = await gql.op("Invitation", {"token": token})
    found: dict[str, Any] | None = data["invitation"]
    return found
