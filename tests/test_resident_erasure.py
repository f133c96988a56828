"""Erasure (EraseMyData by the resident, EraseResident by an admin): nothing identifying
left anywhere, every report count unchanged, the redaction delivered to offline clients
through ConversationChanges, and never undone by a stale upload."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.audit.models import AuditEntry
from server.campaigns.models import Answer, Consent, Conversation, FollowUp, Resident
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.models import Delivery, DeliveryStatus, Notification
from server.notifications.service import create_notifications
from server.residents import erasure
from server.residents.models import Invitation, ManageToken, Response, ResponseAnswer
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.resident_rows import (
    TEXT,
    add_response,
    conversation_item,
    issue_manage_token,
    listening_campaign,
    resident_input,
    sms_invitation,
    sms_to,
    sync,
)

PHONE = "+447911123456"
PERSONAL = ("Rosa", "rosa@example.test", "7911123456", "M13", "stairwell", "lift", "no. 4")


async def _report(gql: GraphQLClient, org: Org, campaign_id: uuid.UUID) -> dict[str, Any]:
    data = await gql.op("CampaignReport", {"id": str(campaign_id)}, token=org.token(Role.ADMIN))
    report: dict[str, Any] = data["campaign"]
    return report


async def _changes(
    gql: GraphQLClient, org: Org, campaign_id: uuid.UUID, since: str
) -> dict[str, dict[str, Any]]:
    data = await gql.op(
        "ConversationChanges",
        {"campaignId": str(campaign_id), "since": since},
        token=org.token(Role.ORGANISER),
    )
    return {e["node"]["id"]: e["node"] for e in data["conversations"]["edges"]}


async def _sms_pending(services: Services, org: Org, resident_id: uuid.UUID) -> None:
    async with services.db.session() as session:
        await create_notifications(session, sms_to(org, resident_id, PHONE, f"u-{resident_id}"))
        await session.commit()


async def _met(
    gql: GraphQLClient, org: Org, campaign: Any, **resident: Any
) -> tuple[dict[str, Any], uuid.UUID, str]:
    """A conversation with a resident and a follow-up: the item sent, the resident's id,
    and the sync's serverTime (a ConversationChanges token from before anything after)."""
    person = resident_input(**resident)
    item = conversation_item(
        campaign,
        person,
        followUp={
            "id": str(uuid.uuid4()),
            "dueAt": (utcnow() + timedelta(days=2)).isoformat(),
            "note": "Call Rosa about the stairwell",
        },
    )
    data = await gql.op(
        "SyncConversations",
        {"input": {"conversations": [item]}},
        token=org.token(Role.ORGANISER),
    )
    [result] = data["syncConversations"]["results"]
    assert result["status"] == "CREATED", result
    return item, uuid.UUID(person["id"]), data["syncConversations"]["serverTime"]


async def _unanswered_invitation(
    services: Services, campaign: Any, resident_id: uuid.UUID
) -> uuid.UUID:
    async with services.db.session() as session:
        invitation = sms_invitation(campaign, resident_id, responded=False)
        session.add(invitation)
        await session.commit()
        return invitation.id


async def test_erase_my_data_leaves_nothing_identifying_and_every_count_unchanged(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await listening_campaign(services, org)
    rosa_item, rosa, since = await _met(gql, org, campaign)
    sam_item, sam, _ = await _met(gql, org, campaign, name="Sam", email="sam@example.test")
    await add_response(services, campaign, rosa, rating=9)
    await add_response(services, campaign, None, rating=3, comment="Anonymous words")
    await _sms_pending(services, org, rosa)
    invitation_id = await _unanswered_invitation(services, campaign, rosa)
    token = await issue_manage_token(services, org, rosa)
    before = await _report(gql, org, campaign.id)
    assert before["stats"]["responseCount"] == 2
    assert before["stats"]["residentsReachedCount"] == 2

    data = await gql.op("EraseMyData", {"manageToken": token})
    assert data["eraseMyData"] == {"ok": True, "userErrors": []}

    assert await _report(gql, org, campaign.id) == before
    # Offline clients download the redaction: a new version, no notes, no location.
    changed = await _changes(gql, org, campaign.id, since)
    redacted = changed[rosa_item["id"]]
    assert redacted["version"] == 2 and redacted["redactedAt"] is not None
    assert redacted["notes"] is None
    assert redacted["resident"] == {"id": str(rosa), "name": None, "postcode": None}
    answers = {a["questionId"]: a for a in redacted["answers"]}
    assert answers[TEXT["id"]]["text"] is None
    assert sorted(a["number"] for a in answers.values() if a["number"] is not None) == [4]
    assert [t["name"] for t in redacted["themes"]] == ["Bins"]  # anonymous: kept
    assert json.dumps(redacted).count("Rosa") == 0

    async with services.db.session() as session:
        person = await session.get(Resident, rosa)
        assert person is not None and person.erased_at is not None
        assert (person.name, person.email, person.phone, person.postcode) == (None,) * 4
        assert (person.store_details, person.contact_again, person.hear_back) == (False,) * 3
        for model, column in (
            (Consent, Consent.resident_id),
            (ManageToken, ManageToken.resident_id),
        ):
            assert not (await session.scalars(sa.select(model).where(col(column) == rosa))).all()
        conversation = await session.get(Conversation, uuid.UUID(rosa_item["id"]))
        assert conversation is not None
        assert (conversation.latitude, conversation.longitude) == (None, None)
        follow_ups = {f.resident_id: f for f in (await session.scalars(sa.select(FollowUp))).all()}
        assert follow_ups[rosa].note is None
        assert follow_ups[sam].note == "Call Rosa about the stairwell"  # someone else's
        responses = {r.resident_id: r for r in (await session.scalars(sa.select(Response))).all()}
        assert responses[rosa].comment is None and responses[rosa].redacted_at is not None
        assert responses[rosa].rating == 9
        assert responses[None].comment == "Anonymous words"
        texts = (
            await session.scalars(
                sa.select(ResponseAnswer.text).where(
                    col(ResponseAnswer.response_id) == responses[rosa].id
                )
            )
        ).all()
        assert list(texts) == [None, None]
        [delivery] = (await session.scalars(sa.select(Delivery))).all()
        assert (delivery.status, delivery.address) == (DeliveryStatus.SKIPPED, "(erased)")
        [notification] = (await session.scalars(sa.select(Notification))).all()
        assert (notification.resident_id, notification.body) == (None, "(erased)")
        invitation = await session.get(Invitation, invitation_id)
        assert invitation is not None and invitation.expires_at <= utcnow()
        [entry] = (
            await session.scalars(
                sa.select(AuditEntry).where(col(AuditEntry.action) == "resident.erase")
            )
        ).all()
        assert entry.entity_id == rosa and entry.actor_id is None
        assert entry.details["reason"] == "resident request"
        everything = json.dumps([entry.details, entry.entity_type, entry.action])
        assert not [p for p in PERSONAL if p in everything]
        sam_row = await session.get(Conversation, uuid.UUID(sam_item["id"]))
        assert sam_row is not None and sam_row.notes and sam_row.redacted_at is None
        rosa_texts = (
            await session.scalars(
                sa.select(Answer.text).where(
                    col(Answer.conversation_id) == uuid.UUID(rosa_item["id"])
                )
            )
        ).all()
        assert [t for t in rosa_texts if t] == []

    # The manage token is gone.
    assert (await gql.op("MyData", {"manageToken": token}))["myData"] is None
    for name in ("StopContact", "EraseMyData"):
        payload = next(iter((await gql.op(name, {"manageToken": token})).values()))
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            ("manageToken", "EXPIRED")
        ]


async def test_a_stale_upload_never_brings_erased_notes_back(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await listening_campaign(services, org)
    item, rosa, _ = await _met(gql, org, campaign)
    async with services.db.session() as session:
        await erasure.erase_and_commit(
            services, session, org.organisation.id, rosa, actor_id=None, reason="test"
        )

    replay = dict(item)  # the phone that logged it, offline since
    edited = dict(item, baseVersion=2, notes="Rosa again")  # one that downloaded version 2
    for batch in ([replay], [edited], [edited, edited]):  # the last goes item by item
        results = await sync(gql, org, batch)
        assert {r["status"] for r in results} == {"REJECTED"}
        assert {(e["field"], e["code"]) for r in results for e in r["userErrors"]} == {
            ("id", "CLOSED")
        }
    async with services.db.session() as session:
        conversation = await session.get(Conversation, uuid.UUID(item["id"]))
        person = await session.get(Resident, rosa)
    assert conversation is not None and conversation.notes is None
    assert conversation.version == 2
    assert person is not None and person.name is None and person.email is None


async def _erase(gql: GraphQLClient, org: Org, resident_id: Any, role: Role) -> dict[str, Any]:
    return await gql.raw(
        "mutation($id: ID!) { eraseResident(id: $id) { ok userErrors { field code } } }",
        {"id": str(resident_id)},
        token=org.token(role),
    )


async def test_erase_resident_is_for_admins_of_the_residents_organisation(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    campaign = await listening_campaign(services, org)
    _, rosa, _ = await _met(gql, org, campaign)

    refused = await _erase(gql, org, rosa, Role.ORGANISER)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    elsewhere = await _erase(gql, other, rosa, Role.ADMIN)
    assert elsewhere["data"]["eraseResident"] == {
        "ok": False,
        "userErrors": [{"field": "id", "code": "NOT_FOUND"}],
    }
    nonsense = await _erase(gql, org, "not-an-id", Role.ADMIN)
    assert nonsense["data"]["eraseResident"]["userErrors"] == [{"field": "id", "code": "NOT_FOUND"}]
    async with services.db.session() as session:
        person = await session.get(Resident, rosa)
    assert person is not None and person.name == "Rosa Parks"

    data = await gql.op("EraseResident", {"id": str(rosa)}, token=org.token(Role.ADMIN))
    assert data["eraseResident"] == {"ok": True, "userErrors": []}
    again = await _erase(gql, org, rosa, Role.ADMIN)
    assert again["data"]["eraseResident"] == {
        "ok": False,
        "userErrors": [{"field": "id", "code": "ALREADY_DONE"}],
    }
    async with services.db.session() as session:
        person = await session.get(Resident, rosa)
        entries = (
            await session.scalars(
                sa.select(AuditEntry).where(col(AuditEntry.action) == "resident.erase")
            )
        ).all()
    assert person is not None and person.name is None
    assert [(e.actor_id, e.details["reason"]) for e in entries] == [
        (org.members[Role.ADMIN].id, "admin request")
    ]
    # The residents list no longer shows them.
    listed = await gql(
        "{ residents(first: 50) { edges { node { id } } } }", token=org.token(Role.ADMIN)
    )
    assert listed["residents"]["edges"] == []


async def test_erasure_runs_a_fixed_number_of_statements(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    org: Org = await make_org()
    campaign = await listening_campaign(services, org)
    _, little, _ = await _met(gql, org, campaign, name="Little")
    _, much, _ = await _met(gql, org, campaign, name="Much")
    items = [conversation_item(campaign, resident_input(name="Much")) for _ in range(4)]
    for i in items:
        i["resident"]["id"] = str(much)
    assert {r["status"] for r in await sync(gql, org, items)} == {"CREATED"}
    for resident_id, n in ((little, 1), (much, 4)):
        for _ in range(n):
            await add_response(services, campaign, resident_id)
            await _sms_pending(services, org, resident_id)
        await issue_manage_token(services, org, resident_id)

    async def statements(resident_id: uuid.UUID) -> int:
        before = count_queries.count
        async with services.db.session() as session:
            await erasure.erase_resident(
                session, org.organisation.id, resident_id, actor_id=None, reason="test"
            )
            await session.commit()
        return count_queries.count - before

    assert await statements(much) == await statements(little)
