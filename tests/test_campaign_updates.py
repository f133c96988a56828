"""PublishCampaignUpdate ("you said, we did"): stored once, told through the worker to the
fake SMTP and Twilio servers, to exactly the campaign's residents who asked to hear back,
each once, by email when they gave one, else by SMS."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from server.audit.models import AuditEntry
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.notifications import deliveries
from server.notifications.models import DeliveryStatus, Notification, NotificationKind
from server.outbox.models import OutboxMessage
from server.residents import updates
from server.residents.models import CampaignUpdate
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.contract_ops import op
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.helpers import eventually, running_worker
from tests.resident_rows_updates import add_conversation, add_resident, add_responses

pytest_plugins = ["tests.fakes.fixtures"]

TITLE = "You said, we did: safer crossings"
BODY = "You told us the crossing on Elm Road was dangerous. The council starts work in March."


@pytest.fixture
def settings(settings: Settings, fake_smtp: FakeSmtp, fake_twilio: FakeTwilio) -> Settings:
    return settings.model_copy(
        update={
            "delivery": "live",
            "relay_interval_seconds": 0.05,
            "sweep_interval_seconds": 1,
            **fake_smtp.settings(),
            **fake_twilio.settings(),
        }
    )


async def _publish(
    gql: GraphQLClient, org: Org, campaign_id: Any, role: Role = Role.ADMIN, **input: str
) -> dict[str, Any]:
    variables = {"campaignId": str(campaign_id), "input": {"title": TITLE, "body": BODY, **input}}
    data = await gql.op("PublishCampaignUpdate", variables, token=org.token(role))
    payload: dict[str, Any] = data["publishCampaignUpdate"]
    return payload


def _mail(smtp: FakeSmtp) -> dict[str, str]:
    found = {}
    for mail in smtp.received:
        body = mail.message.get_body(preferencelist=("plain",))
        assert body is not None
        for address in mail.rcpt_tos:
            found[address] = str(mail.message["Subject"]) + "\n" + body.get_content()
    return found


async def _count(services: Services, model: Any) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def test_an_update_reaches_exactly_the_residents_who_asked_to_hear_back(
    gql: GraphQLClient,
    make_org: Any,
    services: Services,
    settings: Settings,
    fake_smtp: FakeSmtp,
    fake_twilio: FakeTwilio,
) -> None:
    smtp, twilio = fake_smtp, fake_twilio
    org = await make_org("Alpha")
    org_id = org.organisation.id
    organiser = org.members[Role.ORGANISER].id
    crossings, parks = await add_campaigns(
        services, org, ["Safer crossings", "Parks"], organisers=[organiser]
    )
    rosa = await add_resident(services, org_id, email="rosa@example.test", phone="+447700900001")
    sam = await add_resident(services, org_id, phone="+447700900002")
    tom = await add_resident(services, org_id, email="tom@example.test")
    quiet = await add_resident(services, org_id, email="quiet@example.test", hear_back=False)
    erased = await add_resident(services, org_id, email="gone@example.test", erased=True)
    unreachable = await add_resident(services, org_id)
    elsewhere = await add_resident(services, org_id, email="parks@example.test")
    for resident in (rosa, rosa, tom, quiet, erased, unreachable, None):
        await add_conversation(services, crossings, organiser, resident)
    await add_conversation(services, parks, organiser, elsewhere)
    await add_responses(services, crossings, 3, resident_ids=[sam, tom, None])
    await add_responses(services, parks, 1, resident_ids=[rosa])

    payload = await _publish(gql, org, crossings.id)
    assert payload["userErrors"] == []
    update = payload["campaignUpdate"]
    assert update["title"] == TITLE and update["recipientCount"] == 3

    async with running_worker(settings, services):

        async def all_sent() -> bool:
            async with services.db.session() as session:
                counts = await deliveries.count_by_status(session)
            return counts[DeliveryStatus.SENT] == 3

        await eventually(all_sent)
    mail = _mail(smtp)
    assert sorted(mail) == ["rosa@example.test", "tom@example.test"]
    assert [s.form["To"] for s in twilio.sent] == ["+447700900002"]
    for text in (*mail.values(), twilio.sent[0].form["Body"]):
        assert text.startswith(TITLE + "\n")
        assert "The council starts work in March." in text and "Safer crossings" in text
    async with services.db.session() as session:
        told = (await session.scalars(sa.select(Notification))).all()
    assert sorted(n.resident_id for n in told if n.resident_id) == sorted([rosa, sam, tom])
    assert {n.kind for n in told} == {NotificationKind.CAMPAIGN_UPDATE}
    assert all(n.user_id is None and not n.in_app for n in told)

    # A retried request: the same update (spaced differently), nobody told twice.
    again = await _publish(gql, org, crossings.id, title=f"  {TITLE} ", body=BODY + "\n")
    assert again == payload
    assert await _count(services, CampaignUpdate) == 1
    assert await _count(services, OutboxMessage) == 1
    assert await _count(services, Notification) == 3
    assert len(smtp.received) == 2 and len(twilio.sent) == 1

    async with services.db.session() as session:
        [entry] = (
            await session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "campaign.update_publish")
            )
        ).all()
    assert (
        entry.entity_id == uuid.UUID(update["id"]) and entry.actor_id == org.members[Role.ADMIN].id
    )
    assert entry.details == {"campaign_id": str(crossings.id), "recipients": 3}
    listed = await gql(
        "query($id: ID!) { campaignUpdates(campaignId: $id) { id title body recipientCount } }",
        {"id": str(crossings.id)},
        token=org.token(Role.ORGANISER),
    )
    assert listed["campaignUpdates"] == [
        {"id": update["id"], "title": TITLE, "body": BODY, "recipientCount": 3}
    ]


async def test_a_different_update_is_a_new_one_and_tells_them_again(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org()
    [campaign] = await add_campaigns(services, org, ["Bins"])
    rosa = await add_resident(services, org.organisation.id, email="rosa@example.test")
    await add_conversation(services, campaign, org.members[Role.ORGANISER].id, rosa)
    first = await _publish(gql, org, campaign.id)
    second = await _publish(gql, org, campaign.id, body="Work has started.")
    assert first["campaignUpdate"]["id"] != second["campaignUpdate"]["id"]
    assert second["campaignUpdate"]["recipientCount"] == 1
    assert await _count(services, OutboxMessage) == 2
    empty = await add_campaigns(services, org, ["Nobody met"])
    none = await _publish(gql, org, empty[0].id)
    assert none["campaignUpdate"]["recipientCount"] == 0
    assert await _count(services, OutboxMessage) == 2


async def test_two_publishes_at_once_make_one_update_and_one_message_each(
    make_org: Any, services: Services
) -> None:
    org = await make_org()
    [campaign] = await add_campaigns(services, org, ["Bins"])
    rosa = await add_resident(services, org.organisation.id, email="rosa@example.test")
    await add_conversation(services, campaign, org.members[Role.ORGANISER].id, rosa)
    actor = org.actor(Role.ADMIN)

    async def publish() -> uuid.UUID:
        async with services.db.session() as session:
            update = await updates.publish_update(session, actor, campaign.id, TITLE, BODY)
            await session.commit()
            return update.id

    first, second = await asyncio.gather(publish(), publish())
    assert first == second
    assert await _count(services, CampaignUpdate) == 1
    assert await _count(services, OutboxMessage) == 1


async def test_title_and_body_are_required_and_capped(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org()
    [campaign] = await add_campaigns(services, org, ["Bins"])
    blank = await _publish(gql, org, campaign.id, title="   ", body="")
    assert blank["campaignUpdate"] is None
    assert [(e["field"], e["code"]) for e in blank["userErrors"]] == [
        ("input.title", "REQUIRED"),
        ("input.body", "REQUIRED"),
    ]
    long = await _publish(gql, org, campaign.id, title="t" * 201, body="b" * 5001)
    assert [(e["field"], e["code"]) for e in long["userErrors"]] == [
        ("input.title", "INVALID"),
        ("input.body", "INVALID"),
    ]
    fits = await _publish(gql, org, campaign.id, title="t" * 200, body="b" * 5000)
    assert fits["userErrors"] == [] and fits["campaignUpdate"]["title"] == "t" * 200
    assert await _count(services, CampaignUpdate) == 1


async def test_only_staff_of_the_campaigns_organisation_publish(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org, other = await make_org("Alpha"), await make_org("Beta")
    [campaign] = await add_campaigns(
        services, org, ["Bins"], organisers=[org.members[Role.ORGANISER].id]
    )
    variables = {"campaignId": str(campaign.id), "input": {"title": TITLE, "body": BODY}}
    for role in (Role.ORGANISER, Role.TRAINER):
        body = await gql.raw(op("PublishCampaignUpdate"), variables, token=org.token(role))
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    for campaign_id in (campaign.id, "not-an-id", uuid.uuid4()):
        refused = await _publish(gql, other, campaign_id)
        assert refused == {
            "campaignUpdate": None,
            "userErrors": [
                {"field": "campaignId", "message": "No such campaign.", "code": "NOT_FOUND"}
            ],
        }
    listed = await gql(
        "query($id: ID!) { campaignUpdates(campaignId: $id) { id } }",
        {"id": str(campaign.id)},
        token=other.token(),
    )
    assert listed["campaignUpdates"] == []
    assert await _count(services, CampaignUpdate) == 0
    senior = await _publish(gql, org, campaign.id, role=Role.SENIOR_ORGANISER)
    assert senior["userErrors"] == [] and senior["campaignUpdate"]["recipientCount"] == 0


async def test_recipients_are_gathered_in_the_same_statements_whatever_their_number(
    make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    counts = []
    for n in (2, 30):
        org = await make_org()
        [campaign] = await add_campaigns(services, org, ["Bins"])
        organiser = org.members[Role.ORGANISER].id
        for i in range(n):
            resident = await add_resident(
                services,
                org.organisation.id,
                email=f"r{i}@example.test" if i % 2 else None,
                phone=f"+4477009{i:05d}",
            )
            if i % 3:
                await add_conversation(services, campaign, organiser, resident)
            else:
                await add_responses(services, campaign, 1, resident_ids=[resident])
        count_queries.statements.clear()
        async with services.db.session() as session:
            update = await updates.publish_update(
                session, org.actor(Role.ADMIN), campaign.id, TITLE, BODY
            )
            await session.commit()
        assert update.recipient_count == n
        counts.append(count_queries.count)
    assert counts[0] == counts[1], "\n".join(count_queries.statements)


def test_a_long_body_is_summed_up_at_a_word() -> None:
    assert updates.summary("short  body\n") == "short body"
    cut = updates.summary("word " * 200, length=50)
    assert len(cut) <= 50 and cut.endswith("word\u2026")
