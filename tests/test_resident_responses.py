"""RespondToCampaign: once per invitation (also when two arrive at once), answers checked
as organisers' are, consent-led resident records with ledger lines and a manage token,
nothing identifying without consent, the response figures of CampaignReport (kept through
a rebuild of the tallies) and the public rate limit."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, col

from server.campaigns import tallies
from server.campaigns.enums import ConsentKind, ConsentMethod
from server.campaigns.models import Consent, QuestionSet, Resident, Theme
from server.core.enums import Role
from server.core.services import Services
from server.outbox.models import OutboxMessage
from server.residents import manage_tokens
from server.residents.models import Invitation, Response, ResponseAnswer, ResponseTheme
from tests.conftest import GraphQLClient, Org
from tests.contract_ops import op
from tests.resident_helpers import (
    Campaign,
    active_campaign,
    add_resident,
    create_invitations,
    link,
    links,
    opened,
    respond,
    response_input,
)

CONTACT = {
    "name": "  Rosa   Parks ",
    "email": "Rosa@Example.TEST",
    "phone": "07911 123456",
    "postcode": "m13 9pl",
}


async def _count(services: Services, model: type[SQLModel]) -> int:
    async with services.db.session() as session:
        n = await session.scalar(sa.select(sa.func.count()).select_from(model))
    return int(n or 0)


async def _responses(services: Services) -> list[Response]:
    async with services.db.session() as session:
        return list((await session.scalars(sa.select(Response))).all())


async def _invited_token(services: Services, resident_id: uuid.UUID) -> str:
    """The token of the staged message to this resident (read before a worker sends it)."""
    async with services.db.session() as session:
        payloads = (await session.scalars(sa.select(col(OutboxMessage.payload)))).all()
    [url] = [
        r["params"]["url"]
        for p in payloads
        for r in p.get("residents", [])
        if r["id"] == str(resident_id)
    ]
    return str(url).rsplit("/", 1)[1]


async def _invite(
    gql: GraphQLClient, org: Org, services: Services, campaign: Campaign, resident_id: uuid.UUID
) -> str:
    created = await create_invitations(
        gql,
        org,
        {"campaignId": campaign.id, "channel": "EMAIL", "residentIds": [str(resident_id)]},
    )
    assert created["userErrors"] == []
    return await _invited_token(services, resident_id)


async def test_an_anonymous_response_is_stored_once(gql: GraphQLClient, make_org, services):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    result = await respond(gql, token, response_input(campaign, rating=8, comment=" Thanks "))
    assert result["userErrors"] == [] and result["manageToken"] is None
    assert result["response"]["submittedAt"].endswith("Z")
    [stored] = await _responses(services)
    assert str(stored.id) == result["response"]["id"]
    assert (stored.rating, stored.comment, stored.method) == (8, "Thanks", ConsentMethod.LINK)
    assert stored.resident_id is None
    async with services.db.session() as session:
        answers = (await session.scalars(sa.select(ResponseAnswer))).all()
        question_set = (await session.scalars(sa.select(QuestionSet))).one()
    assert {(str(a.question_id), a.text, a.number) for a in answers} == {
        (campaign.scale, None, 4),
        (campaign.text, "The bins", None),
    }
    assert question_set.answered_at is not None  # a change of questions now makes version 2
    view = await opened(gql, token)
    assert view is not None and view["alreadyResponded"] is True

    again = await respond(gql, token, response_input(campaign, rating=1, comment="Changed"))
    assert again == {
        "response": None,
        "manageToken": None,
        "userErrors": [
            {"field": "token", "message": "This invitation was answered.", "code": "ALREADY_DONE"}
        ],
    }
    [unchanged] = await _responses(services)
    assert (unchanged.id, unchanged.rating, unchanged.comment) == (stored.id, 8, "Thanks")
    assert await _count(services, ResponseAnswer) == 2


async def test_expired_and_unknown_tokens_are_both_expired(gql: GraphQLClient, make_org, services):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    async with services.db.session() as session:
        await session.execute(sa.update(Invitation).values(expires_at=sa.func.now()))
        await session.commit()
    expired = {
        "response": None,
        "manageToken": None,
        "userErrors": [
            {
                "field": "token",
                "message": "This link has expired or is not a link of ours.",
                "code": "EXPIRED",
            }
        ],
    }
    assert await respond(gql, token, response_input(campaign)) == expired
    assert await respond(gql, "no-such-token", response_input(campaign)) == expired
    assert await _count(services, Response) == 0


async def test_two_responses_at_once_store_exactly_one(gql: GraphQLClient, make_org, services):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    for token in await links(gql, org, campaign, count=3):
        inputs = [
            response_input(campaign, rating=r, store=True, contact={"email": f"p{r}@example.test"})
            for r in (2, 9)
        ]
        results = await asyncio.gather(*(respond(gql, token, i) for i in inputs))
        codes = sorted(str([e["code"] for e in r["userErrors"]]) for r in results)
        assert codes == ["['ALREADY_DONE']", "[]"]
    assert await _count(services, Response) == 3
    assert await _count(services, Resident) == 3  # no resident of a refused response
    data = await gql.op("CampaignReport", {"id": campaign.id}, token=org.token())
    assert data["campaign"]["stats"]["responseCount"] == 3


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"answers": [{"questionId": "SCALE", "number": 6}]},
            [("input.answers.0.number", "INVALID")],
        ),
        (
            {"answers": [{"questionId": "SCALE", "text": "Very"}]},
            [("input.answers.0.number", "INVALID")],
        ),
        ({"answers": []}, [("input.answers", "REQUIRED")]),
        (
            {"answers": [{"questionId": str(uuid.uuid4()), "text": "?"}]},
            [("input.answers.0.questionId", "NOT_FOUND"), ("input.answers", "REQUIRED")],
        ),
        ({"questionSetVersion": 2}, [("input.questionSetVersion", "INVALID")]),
        ({"rating": 11}, [("input.rating", "INVALID")]),
        ({"rating": -1}, [("input.rating", "INVALID")]),
        ({"comment": "x" * 2001}, [("input.comment", "INVALID")]),
    ],
)
async def test_a_response_that_breaks_a_rule_is_refused_and_the_link_still_works(
    gql: GraphQLClient, make_org, services, change: dict[str, Any], errors: list[Any]
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    input = response_input(campaign) | copy.deepcopy(change)
    for answer in input["answers"]:
        if answer["questionId"] == "SCALE":
            answer["questionId"] = campaign.scale
    result = await respond(gql, token, input)
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == errors
    assert result["response"] is None and await _count(services, Response) == 0
    ok = await respond(gql, token, response_input(campaign))
    assert ok["userErrors"] == []


@pytest.mark.parametrize("rating", [0, 10, None])
async def test_ratings_from_0_to_10_or_none_are_taken(
    gql: GraphQLClient, make_org, services, rating
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    assert (await respond(gql, token, response_input(campaign, rating=rating)))["userErrors"] == []
    [stored] = await _responses(services)
    assert stored.rating == rating


async def test_a_closed_campaign_takes_no_response(gql: GraphQLClient, make_org, services):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    await gql.op("SetCampaignStatus", {"id": campaign.id, "status": "CLOSED"}, token=org.token())
    result = await respond(gql, token, response_input(campaign))
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [("token", "CLOSED")]
    assert await _count(services, Response) == 0


async def test_consent_to_store_details_makes_a_resident_with_a_ledger_and_manage_token(
    gql: GraphQLClient, make_org, services
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    result = await respond(
        gql,
        token,
        response_input(campaign, store=True, contact_again=True, hear_back=True, contact=CONTACT),
    )
    assert result["userErrors"] == []
    manage = result["manageToken"]
    assert isinstance(manage, str) and len(manage) >= 43
    async with services.db.session() as session:
        resident = (await session.scalars(sa.select(Resident))).one()
        lines = (await session.scalars(sa.select(Consent))).all()
        found = await manage_tokens.find(session, manage)
    assert (resident.name, resident.email, resident.phone, resident.postcode) == (
        "Rosa Parks",
        "rosa@example.test",
        "+447911123456",
        "M13 9PL",
    )
    assert resident.organisation_id == org.organisation.id
    assert (resident.store_details, resident.contact_again, resident.hear_back) == (True,) * 3
    assert sorted((c.kind, c.granted, c.method, c.recorded_by_id) for c in lines) == [
        (ConsentKind.CONTACT_AGAIN, True, ConsentMethod.LINK, None),
        (ConsentKind.HEAR_BACK, True, ConsentMethod.LINK, None),
        (ConsentKind.STORE_DETAILS, True, ConsentMethod.LINK, None),
    ]
    assert found is not None and found.resident_id == resident.id
    [response] = await _responses(services)
    assert response.resident_id == resident.id


async def test_a_response_attaches_to_the_resident_invited_by_email(
    gql: GraphQLClient, make_org, services
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    rosa = await add_resident(services, org, email="rosa@example.test")
    token = await _invite(gql, org, services, campaign, rosa)
    result = await respond(
        gql,
        token,
        response_input(
            campaign, store=True, contact_again=True, hear_back=True, contact={"postcode": "m1 1aa"}
        ),
    )
    assert result["userErrors"] == [] and result["manageToken"]
    async with services.db.session() as session:
        [resident] = (await session.scalars(sa.select(Resident))).all()
        lines = (await session.scalars(sa.select(Consent))).all()
    assert resident.id == rosa
    assert (resident.name, resident.email, resident.postcode) == (
        "Rosa Parks",
        "rosa@example.test",
        "M1 1AA",
    )
    # Only what changed is a ledger line, by the invitation's channel.
    assert [(c.kind, c.granted, c.method) for c in lines] == [
        (ConsentKind.HEAR_BACK, True, ConsentMethod.EMAIL)
    ]
    assert resident.hear_back is True
    [response] = await _responses(services)
    assert response.resident_id == rosa and response.method is ConsentMethod.EMAIL


async def test_without_consent_nothing_identifying_is_stored(
    gql: GraphQLClient, make_org, services
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    rosa = await add_resident(services, org, email="rosa@example.test", name="Rosa Parks")
    token = await _invite(gql, org, services, campaign, rosa)
    result = await respond(gql, token, response_input(campaign, store=False, contact=CONTACT))
    assert result["userErrors"] == [] and result["manageToken"] is None
    [response] = await _responses(services)
    assert response.resident_id is None  # not linked even to the resident invited
    async with services.db.session() as session:
        [resident] = (await session.scalars(sa.select(Resident))).all()
        assert await session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 0
    assert (resident.postcode, resident.phone) == (None, None)  # untouched
    everything = []
    async with services.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in ("residents", OutboxMessage.__tablename__):
                everything += [repr(tuple(r)) for r in await session.execute(sa.select(table))]
    text = "\n".join(everything).lower()
    assert not [v for v in ("rosa", "123456", "m13") if v in text]


@pytest.mark.parametrize(
    ("consent", "contact", "errors"),
    [
        (
            {"store": False, "contact_again": True, "hear_back": True},
            CONTACT,
            [("input.consent.contactAgain", "INVALID"), ("input.consent.hearBack", "INVALID")],
        ),
        (
            {"store": True, "contact_again": True},
            {"name": "Rosa", "postcode": "M13 9PL"},
            [("input.contact.email", "REQUIRED")],
        ),
        ({"store": True}, None, [("input.contact", "REQUIRED")]),
        ({"store": True}, {"email": "not an email"}, [("input.contact.email", "INVALID")]),
        ({"store": True}, {"phone": "12"}, [("input.contact.phone", "INVALID")]),
    ],
)
async def test_consent_and_contact_must_fit_together(
    gql: GraphQLClient, make_org, services, consent, contact, errors
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    result = await respond(gql, token, response_input(campaign, contact=contact, **consent))
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == errors
    assert await _count(services, Response) == 0 and await _count(services, Resident) == 0


# --- the report ------------------------------------------------------------------------


async def _meet_at_the_door(gql: GraphQLClient, org: Org, campaign: Campaign) -> uuid.UUID:
    """A conversation recording a new resident who agreed to be contacted again."""
    organiser = org.members[Role.ORGANISER]
    data = await gql.op(
        "AssignOrganisers",
        {"campaignId": campaign.id, "userIds": [str(organiser.id)]},
        token=org.token(),
    )
    assert data["assignOrganisers"]["userErrors"] == []
    resident_id = uuid.uuid4()
    item = {
        "id": str(uuid.uuid4()),
        "campaignId": campaign.id,
        "occurredAt": "2026-11-30T10:15:00Z",
        "questionSetVersion": 1,
        "answers": campaign.answers(),
        "themes": [],
        "resident": {
            "id": str(resident_id),
            "name": "Sam",
            "email": "sam@example.test",
            "consent": {
                "storeDetails": True,
                "contactAgain": True,
                "hearBack": False,
                "recordedAt": "2026-11-30T10:14:00Z",
            },
        },
    }
    data = await gql.op(
        "SyncConversations",
        {"input": {"conversations": [item]}},
        token=org.token(Role.ORGANISER),
    )
    [result] = data["syncConversations"]["results"]
    assert result["status"] == "CREATED", result
    return resident_id


async def _report(gql: GraphQLClient, org: Org, campaign: Campaign) -> dict[str, Any]:
    data = await gql.op("CampaignReport", {"id": campaign.id}, token=org.token())
    return dict(data["campaign"])


async def test_responses_count_in_the_report_and_survive_a_rebuild(
    gql: GraphQLClient, make_org, services
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    sam = await _meet_at_the_door(gql, org, campaign)
    sam_token = await _invite(gql, org, services, campaign, sam)
    ok = await respond(gql, sam_token, response_input(campaign, rating=10, store=True))
    assert ok["userErrors"] == [] and ok["manageToken"]
    tokens = await links(gql, org, campaign, count=4)
    for token, rating, store in zip(
        tokens, (9, 3, 7, None), (False, True, False, False), strict=True
    ):
        contact = {"email": "new@example.test"} if store else None
        result = await respond(
            gql, token, response_input(campaign, rating=rating, store=store, contact=contact)
        )
        assert result["userErrors"] == []
    expected = {
        "conversationCount": 1,
        "targetConversations": None,
        # Sam, met at the door and responding, once; the other who stored details.
        "residentsReachedCount": 2,
        "responseCount": 5,
        "ratingAverage": (10 + 9 + 3 + 7) / 4,
        "netPromoterScore": 100 * (2 - 1) / 4,
        "wantsInvolvementCount": 0,
    }
    assert (await _report(gql, org, campaign))["stats"] == expected

    # Staff tag a response with a theme; a rebuild counts it, and keeps every figure.
    [response] = [r for r in await _responses(services) if r.rating == 3]
    async with services.db.session() as session:
        theme = Theme(organisation_id=org.organisation.id, key="bins", name="Bins")
        session.add(theme)
        await session.flush()
        session.add(
            ResponseTheme(
                response_id=response.id, theme_id=theme.id, campaign_id=response.campaign_id
            )
        )
        await session.commit()
        assert await tallies.recount(session) == 1
    report = await _report(gql, org, campaign)
    assert report["stats"] == expected
    assert report["themeCounts"] == [
        {"theme": {"id": str(theme.id), "name": "Bins"}, "conversationCount": 0, "responseCount": 1}
    ]


@pytest.mark.parametrize(
    "settings_update", [{"public_requests_per_token": 2, "public_requests_per_address": 100}]
)
async def test_responding_is_rate_limited(gql: GraphQLClient, make_org, services):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    assert await opened(gql, token) is not None
    assert (await respond(gql, token, response_input(campaign)))["userErrors"] == []
    body = await gql.raw(
        op("RespondToCampaign"), {"token": token, "input": response_input(campaign)}
    )
    assert body["data"]["respondToCampaign"]["userErrors"] == [
        {
            "field": None,
            "message": "Too many requests. Wait a minute and try again.",
            "code": "RATE_LIMITED",
        }
    ]
    assert await _count(services, Response) == 1
