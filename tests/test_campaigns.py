"""Campaigns: creating them, question set versions, status steps, organisers, who sees
which campaign, and what the lists cost."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import User
from server.campaigns.enums import CampaignStatus
from server.campaigns.models import Campaign, QuestionSet
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.models import Notification, NotificationKind
from server.notifications.service import create_notifications
from server.notifications.spec import NotifySpec
from server.outbox.models import OutboxMessage
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.contract_ops import op

CAMPAIGN = """
query ($id: ID!, $version: Int!) {
  campaign(id: $id) {
    id title status organisers { id }
    questionSet { version questions { id kind prompt choices required } }
    questionSetVersion(version: $version) { version questions { id prompt } }
  }
}
"""

# The organisers' MyCampaigns without its stats (the report's part, counted on its own).
MY_CAMPAIGNS = """
query ($first: Int = 20, $after: String) {
  campaigns(filter: { mine: true, status: [ACTIVE] }, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id kind title description status startsOn endsOn
        area { id name }
        organisers { id displayName }
        questionSet { version questions { id kind prompt choices required } }
        themes { id name }
      }
    }
  }
}
"""


async def _member(services: Services, org: Org, name: str, *, active: bool = True) -> User:
    async with services.db.session() as session:
        user = User(
            organisation_id=org.organisation.id,
            email=f"{name}@{org.organisation.id.hex[:8]}.test",
            display_name=name,
            role=Role.ORGANISER,
            is_active=active,
        )
        session.add(user)
        await session.commit()
    return user


async def _create(gql: GraphQLClient, org: Org, **fields: Any) -> dict[str, Any]:
    data = await gql.op(
        "CreateCampaign",
        {"input": {"kind": "LISTENING", "title": "Bins and buses", **fields}},
        token=org.token(),
    )
    payload: dict[str, Any] = data["createCampaign"]
    return payload


def _errors(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((e["field"], e["code"]) for e in payload["userErrors"])


async def _notify_rows(services: Services) -> list[OutboxMessage]:
    async with services.db.session() as session:
        rows = await session.scalars(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.topic) == "notify")
            .order_by(col(OutboxMessage.created_at))
        )
        return list(rows.all())


async def test_create_campaign_checks_what_it_is_sent(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    gone = await _member(services, org, "Gone", active=False)
    organiser = org.members[Role.ORGANISER]
    payload = await _create(
        gql,
        org,
        title="  ",
        startsOn="2026-05-10",
        endsOn="2026-05-01",
        targetConversations=-1,
        areaId=str(other.area.id),
        organiserIds=[
            str(organiser.id),
            str(other.members[Role.ORGANISER].id),
            str(gone.id),
        ],
        questions=[
            {"kind": "TEXT", "prompt": "What matters here?", "required": True},
            {"kind": "SCALE", "prompt": "", "required": False},
            {"kind": "SINGLE_CHOICE", "prompt": "Which?", "required": False},
            {
                "kind": "MULTI_CHOICE",
                "prompt": "Which ones?",
                "choices": ["Bins", "bins "],
                "required": False,
            },
            {"kind": "YES_NO", "prompt": "Yes?", "choices": ["Yes", "No"], "required": False},
        ],
    )
    assert payload["campaign"] is None
    assert _errors(payload) == [
        ("input.areaId", "NOT_FOUND"),
        ("input.endsOn", "INVALID"),
        ("input.organiserIds.1", "NOT_FOUND"),  # another organisation's
        ("input.organiserIds.2", "NOT_FOUND"),  # deactivated
        ("input.questions.1.prompt", "REQUIRED"),
        ("input.questions.2.choices", "REQUIRED"),
        ("input.questions.3.choices.1", "INVALID"),
        ("input.questions.4.choices", "INVALID"),
        ("input.targetConversations", "INVALID"),
        ("input.title", "REQUIRED"),
    ]
    malformed = await _create(gql, org, organiserIds=[str(organiser.id), "not-an-id"])
    assert _errors(malformed) == [("input.organiserIds.1", "NOT_FOUND")]
    too_many = [{"kind": "TEXT", "prompt": f"Q{i}", "required": False} for i in range(51)]
    assert _errors(await _create(gql, org, questions=too_many)) == [("input.questions", "INVALID")]
    async with services.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0

    for role in (Role.ORGANISER, Role.TRAINER):
        body = await gql.raw(
            op("CreateCampaign"),
            {"input": {"kind": "ACTION", "title": "Mine"}},
            token=org.token(role),
        )
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]

    payload = await _create(
        gql,
        org,
        areaId=str(org.area.id),
        startsOn="2026-05-01",
        endsOn="2026-05-01",
        targetConversations=0,
        organiserIds=[str(organiser.id), str(organiser.id)],
        questions=[
            {"kind": "TEXT", "prompt": " What matters here? ", "required": True},
            {
                "kind": "SINGLE_CHOICE",
                "prompt": "Which?",
                "choices": ["Bins", "Buses"],
                "required": False,
            },
        ],
    )
    assert payload["userErrors"] == []
    campaign = payload["campaign"]
    assert campaign["status"] == "DRAFT"
    assert campaign["questionSet"]["version"] == 1
    assert [(q["kind"], q["prompt"]) for q in campaign["questionSet"]["questions"]] == [
        ("TEXT", "What matters here?"),
        ("SINGLE_CHOICE", "Which?"),
    ]
    data = await gql(CAMPAIGN, {"id": campaign["id"], "version": 1}, token=org.token())
    assert data["campaign"]["organisers"] == [{"id": str(organiser.id)}]
    # No questions at all is a version 1 with none; a senior organiser may create too.
    data = await gql.op(
        "CreateCampaign",
        {"input": {"kind": "ACTION", "title": "Street stall"}},
        token=org.token(Role.SENIOR_ORGANISER),
    )
    assert data["createCampaign"]["campaign"]["questionSet"] == {"version": 1, "questions": []}


async def _answered(services: Services, campaign_id: str, version: int) -> None:
    """What sync does when a conversation answers that version (another part's code)."""
    async with services.db.session() as session:
        await session.execute(
            sa.update(QuestionSet)
            .where(
                col(QuestionSet.campaign_id) == uuid.UUID(campaign_id),
                col(QuestionSet.version) == version,
            )
            .values(answered_at=utcnow())
        )
        await session.commit()


async def _update(
    gql: GraphQLClient, org: Org, campaign_id: str, questions: list[dict[str, Any]]
) -> dict[str, Any]:
    data = await gql.op(
        "UpdateQuestionSet", {"campaignId": campaign_id, "questions": questions}, token=org.token()
    )
    payload: dict[str, Any] = data["updateQuestionSet"]
    return payload


async def test_question_sets_change_in_place_until_answered_then_make_versions(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    created = await _create(
        gql,
        org,
        questions=[
            {"kind": "TEXT", "prompt": "What matters?", "required": True},
            {"kind": "SCALE", "prompt": "How safe?", "required": False},
        ],
    )
    campaign_id = created["campaign"]["id"]
    first, second = (q["id"] for q in created["campaign"]["questionSet"]["questions"])

    # Unanswered: the same version changes; a kept id stays, an unknown one is replaced.
    stranger = str(uuid.uuid4())
    payload = await _update(
        gql,
        org,
        campaign_id,
        [
            {"id": first, "kind": "TEXT", "prompt": "What matters most?", "required": True},
            {"id": stranger, "kind": "YES_NO", "prompt": "Come to a meeting?", "required": False},
        ],
    )
    assert payload["userErrors"] == []
    v1 = payload["questionSet"]
    assert v1["version"] == 1
    assert v1["questions"][0] == {
        "id": first,
        "kind": "TEXT",
        "prompt": "What matters most?",
        "choices": [],
        "required": True,
    }
    assert v1["questions"][1]["id"] not in (stranger, second)

    # Answered: a change is version 2; version 1 stays as it was answered.
    await _answered(services, campaign_id, 1)
    v2_questions = [
        {"id": first, "kind": "TEXT", "prompt": "What matters most?", "required": True},
        {
            "kind": "MULTI_CHOICE",
            "prompt": "Which?",
            "choices": ["Bins", "Buses"],
            "required": False,
        },
    ]
    payload = await _update(gql, org, campaign_id, v2_questions)
    assert payload["userErrors"] == []
    assert payload["questionSet"]["version"] == 2
    assert payload["questionSet"]["questions"][0]["id"] == first
    data = await gql(CAMPAIGN, {"id": campaign_id, "version": 1}, token=org.token())
    assert data["campaign"]["questionSet"]["version"] == 2
    assert data["campaign"]["questionSetVersion"] == {
        "version": 1,
        "questions": [
            {"id": first, "prompt": "What matters most?"},
            {"id": v1["questions"][1]["id"], "prompt": "Come to a meeting?"},
        ],
    }
    # Version 2 answered too: the same questions again make no version 3.
    await _answered(services, campaign_id, 2)
    same = [
        {**q, "id": p["id"]}
        for q, p in zip(v2_questions, payload["questionSet"]["questions"], strict=True)
    ]
    payload = await _update(gql, org, campaign_id, same)
    assert payload["questionSet"]["version"] == 2

    # Every problem at its path, and nothing changes.
    payload = await _update(
        gql,
        org,
        campaign_id,
        [
            {"kind": "TEXT", "prompt": "Fine", "required": False},
            {"kind": "SINGLE_CHOICE", "prompt": "Pick", "choices": ["Only"], "required": False},
            {"id": first, "kind": "TEXT", "prompt": "One", "required": False},
            {"id": first, "kind": "TEXT", "prompt": "Two", "required": False},
            {"kind": "MULTI_CHOICE", "prompt": "Pick", "choices": ["A", " "], "required": False},
        ],
    )
    assert payload["questionSet"] is None
    assert _errors(payload) == [
        ("questions.1.choices", "REQUIRED"),
        ("questions.3.id", "INVALID"),
        ("questions.4.choices.1", "REQUIRED"),
    ]
    # Another organisation's campaign, or a malformed id, is not there.
    their = (await _create(gql, other))["campaign"]["id"]
    for missing in (their, "nope"):
        payload = await _update(gql, org, missing, [])
        assert _errors(payload) == [("campaignId", "NOT_FOUND")]
    # A closed campaign keeps its questions.
    for status in ("ACTIVE", "CLOSED"):
        await gql.op("SetCampaignStatus", {"id": campaign_id, "status": status}, token=org.token())
    assert _errors(await _update(gql, org, campaign_id, [])) == [("campaignId", "CLOSED")]
    data = await gql(CAMPAIGN, {"id": campaign_id, "version": 2}, token=org.token())
    assert data["campaign"]["questionSet"]["version"] == 2
    assert len(data["campaign"]["questionSet"]["questions"]) == 2
    async with services.db.session() as session:
        versions = await session.scalar(
            sa.select(sa.func.count())
            .select_from(QuestionSet)
            .where(col(QuestionSet.campaign_id) == uuid.UUID(campaign_id))
        )
    assert versions == 2


async def _status(gql: GraphQLClient, org: Org, campaign_id: str, status: str) -> list[str]:
    data = await gql.op(
        "SetCampaignStatus", {"id": campaign_id, "status": status}, token=org.token()
    )
    payload = data["setCampaignStatus"]
    if not payload["userErrors"]:
        assert payload["campaign"] == {"id": campaign_id, "status": status}
    return [e["code"] for e in payload["userErrors"]]


async def test_status_moves_only_forward_and_activation_tells_the_organisers_once(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    organiser, trainer = org.members[Role.ORGANISER], org.members[Role.TRAINER]
    created = await _create(
        gql, org, title="Spring listening", organiserIds=[str(organiser.id), str(trainer.id)]
    )
    campaign_id = created["campaign"]["id"]

    async def current() -> str:
        data = await gql(CAMPAIGN, {"id": campaign_id, "version": 1}, token=org.token())
        status: str = data["campaign"]["status"]
        return status

    assert await _status(gql, org, campaign_id, "CLOSED") == ["INVALID"]
    assert await _status(gql, org, campaign_id, "DRAFT") == ["ALREADY_DONE"]
    assert await current() == "DRAFT"
    assert await _notify_rows(services) == []

    assert await _status(gql, org, campaign_id, "ACTIVE") == []
    assert await _status(gql, org, campaign_id, "ACTIVE") == ["ALREADY_DONE"]
    assert await _status(gql, org, campaign_id, "DRAFT") == ["INVALID"]
    assert await current() == "ACTIVE"
    assert await _status(gql, org, campaign_id, "CLOSED") == []
    for status in ("DRAFT", "ACTIVE"):
        assert await _status(gql, org, campaign_id, status) == ["INVALID"]
    assert await _status(gql, org, campaign_id, "CLOSED") == ["ALREADY_DONE"]
    assert await current() == "CLOSED"
    async with services.db.session() as session:
        campaign = await session.get(Campaign, uuid.UUID(campaign_id))
    assert campaign is not None and campaign.activated_at and campaign.closed_at

    # One message, for exactly the assigned organisers; it makes their notifications.
    staged = await _notify_rows(services)
    assert len(staged) == 1
    spec = NotifySpec.from_payload(staged[0].payload)
    assert sorted(spec.user_ids) == sorted([organiser.id, trainer.id])
    async with services.db.session() as session:
        await create_notifications(session, spec)
        await create_notifications(session, spec)  # handled twice: still told once
        await session.commit()
        told = (
            await session.execute(
                sa.select(
                    col(Notification.user_id), col(Notification.kind), col(Notification.title)
                )
            )
        ).all()
    assert sorted(told) == sorted(
        (u.id, NotificationKind.CAMPAIGN_ACTIVATED, "Campaign started: Spring listening")
        for u in (organiser, trainer)
    )

    # Only staff move campaigns; another organisation's is not there.
    body = await gql.raw(
        op("SetCampaignStatus"),
        {"id": campaign_id, "status": "CLOSED"},
        token=org.token(Role.ORGANISER),
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    other: Org = await make_org()
    data = await gql.op(
        "SetCampaignStatus", {"id": campaign_id, "status": "CLOSED"}, token=other.token()
    )
    assert _errors(data["setCampaignStatus"]) == [("id", "NOT_FOUND")]


async def _assign(
    gql: GraphQLClient, org: Org, campaign_id: str, users: list[Any]
) -> dict[str, Any]:
    data = await gql.op(
        "AssignOrganisers",
        {"campaignId": campaign_id, "userIds": [str(u.id) for u in users]},
        token=org.token(Role.SENIOR_ORGANISER),
    )
    payload: dict[str, Any] = data["assignOrganisers"]
    return payload


async def test_organisers_assigned_later_are_told_once(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    a, b, c = [await _member(services, org, n) for n in ("Ann", "Bea", "Cal")]
    gone = await _member(services, org, "Gone", active=False)
    draft = (await _create(gql, org))["campaign"]["id"]
    # Assigned while DRAFT: nobody is told yet; activation tells them.
    payload = await _assign(gql, org, draft, [a])
    assert payload["campaign"]["organisers"] == [{"id": str(a.id), "displayName": "Ann"}]
    assert await _notify_rows(services) == []
    assert await _status(gql, org, draft, "ACTIVE") == []

    async def told() -> list[list[uuid.UUID]]:
        return [NotifySpec.from_payload(m.payload).user_ids for m in await _notify_rows(services)]

    assert await told() == [[a.id]]
    payload = await _assign(gql, org, draft, [b, a])
    assert sorted(o["displayName"] for o in payload["campaign"]["organisers"]) == ["Ann", "Bea"]
    assert await told() == [[a.id], [b.id]]
    await _assign(gql, org, draft, [a, b])  # a retry tells nobody
    await _assign(gql, org, draft, [b])  # Ann leaves...
    await _assign(gql, org, draft, [a, b])  # ...and comes back: she knows already
    await _assign(gql, org, draft, [a, b, c])
    assert await told() == [[a.id], [b.id], [c.id]]

    # Members of another organisation and deactivated ones are not there; nothing changes.
    payload = await _assign(gql, org, draft, [a, other.members[Role.ORGANISER], gone])
    assert _errors(payload) == [("userIds.1", "NOT_FOUND"), ("userIds.2", "NOT_FOUND")]
    data = await gql(CAMPAIGN, {"id": draft, "version": 1}, token=org.token())
    assert sorted(o["id"] for o in data["campaign"]["organisers"]) == sorted(
        str(u.id) for u in (a, b, c)
    )
    payload = await _assign(gql, org, draft, [])
    assert payload["campaign"]["organisers"] == []
    body = await gql.raw(
        op("AssignOrganisers"), {"campaignId": draft, "userIds": []}, token=org.token(Role.TRAINER)
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


def _titles(data: dict[str, Any]) -> list[str]:
    return [e["node"]["title"] for e in data["campaigns"]["edges"]]


async def test_who_sees_which_campaign(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    organiser, trainer = org.members[Role.ORGANISER], org.members[Role.TRAINER]
    admin = org.members[Role.ADMIN]
    mine, shared = await add_campaigns(
        services, org, ["B mine", "C shared"], organisers=[organiser.id]
    )
    await add_campaigns(
        services, org, ["D shared"], organisers=[organiser.id, trainer.id, admin.id]
    )
    await add_campaigns(
        services, org, ["E draft"], status=CampaignStatus.DRAFT, organisers=[organiser.id]
    )
    (unassigned,) = await add_campaigns(services, org, ["A nobody's"])
    (theirs,) = await add_campaigns(
        services, other, ["Z theirs"], organisers=[other.members[Role.ORGANISER].id]
    )

    everything = ["A nobody's", "B mine", "C shared", "D shared", "E draft"]
    for role in (Role.ADMIN, Role.SENIOR_ORGANISER):
        data = await gql.op("Campaigns", {}, token=org.token(role))
        assert _titles(data) == everything
        assert data["campaigns"]["totalCount"] == 5
    data = await gql.op("Campaigns", {"status": ["ACTIVE"]}, token=org.token())
    assert _titles(data) == ["A nobody's", "B mine", "C shared", "D shared"]
    data = await gql.op("Campaigns", {"status": ["DRAFT", "CLOSED"]}, token=org.token())
    assert _titles(data) == ["E draft"]
    data = await gql.op("Campaigns", {}, token=org.token(Role.ORGANISER))
    assert _titles(data) == ["B mine", "C shared", "D shared", "E draft"]
    data = await gql.op("Campaigns", {}, token=org.token(Role.TRAINER))
    assert _titles(data) == ["D shared"]
    # MyCampaigns: the active ones assigned to the caller, whoever they are.
    for role, titles in (
        (Role.ORGANISER, ["B mine", "C shared", "D shared"]),
        (Role.ADMIN, ["D shared"]),
        (Role.SENIOR_ORGANISER, []),
    ):
        data = await gql(MY_CAMPAIGNS, {}, token=org.token(role))
        assert _titles(data) == titles
        assert data["campaigns"]["totalCount"] == len(titles)

    # Pages never skip or repeat a campaign.
    seen: list[str] = []
    after = None
    while True:
        data = await gql.op("Campaigns", {"first": 2, "after": after}, token=org.token())
        seen += _titles(data)
        if not data["campaigns"]["pageInfo"]["hasNextPage"]:
            break
        after = data["campaigns"]["pageInfo"]["endCursor"]
    assert seen == everything

    # One campaign: what the list shows, and null for the rest.
    for role, campaign, visible in (
        (Role.ORGANISER, mine, True),
        (Role.ORGANISER, unassigned, False),
        (Role.TRAINER, shared, False),
        (Role.SENIOR_ORGANISER, unassigned, True),
        (Role.ADMIN, theirs, False),
    ):
        data = await gql(CAMPAIGN, {"id": str(campaign.id), "version": 1}, token=org.token(role))
        assert (data["campaign"] is not None) is visible, (role, campaign.title)
    data = await gql(CAMPAIGN, {"id": "not-an-id", "version": 1}, token=org.token())
    assert data["campaign"] is None


async def _statements(
    gql: GraphQLClient, counter: QueryCounter, query: str, org: Org, role: Role
) -> tuple[int, list[dict[str, Any]]]:
    await gql(query, {"first": 50}, token=org.token(role))  # pool and caches warm
    counter.statements.clear()
    data = await gql(query, {"first": 50}, token=org.token(role))
    return counter.count, [e["node"] for e in data["campaigns"]["edges"]]


async def test_campaign_lists_cost_the_same_for_5_or_50_campaigns(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    """Each campaign with an area, 3 organisers, 5 questions and 10 themes: the page and
    each relation are one statement for the whole page, however long it is."""
    counts: dict[tuple[str, int], int] = {}
    for size in (5, 50):
        org: Org = await make_org()
        organisers = [
            org.members[r].id for r in (Role.ORGANISER, Role.TRAINER, Role.SENIOR_ORGANISER)
        ]
        await add_campaigns(
            services,
            org,
            [f"Campaign {i:02}" for i in range(size)],
            organisers=organisers,
            questions=5,
            themes=10,
            area=True,
        )
        for name, query, role in (
            ("MyCampaigns", MY_CAMPAIGNS, Role.ORGANISER),
            ("Campaigns", op("Campaigns"), Role.ADMIN),
        ):
            counts[name, size], nodes = await _statements(gql, count_queries, query, org, role)
            assert len(nodes) == size
            for node in nodes:  # every campaign got its own relations
                assert node["area"]["name"] == org.area.name
                assert sorted(o["id"] for o in node["organisers"]) == sorted(map(str, organisers))
                assert [q["prompt"] for q in node["questionSet"]["questions"]] == [
                    f"Question {i}" for i in range(5)
                ]
                if name == "MyCampaigns":
                    assert len(node["themes"]) == 10
    statements = "\n".join(count_queries.statements)
    # The page, its count, areas, organisers, question sets (and themes).
    assert counts["MyCampaigns", 5] == counts["MyCampaigns", 50] == 6, statements
    assert counts["Campaigns", 5] == counts["Campaigns", 50] == 5, statements
