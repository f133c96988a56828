"""A resident's rights by their manage token: StopContact (consent withdrawn by the link,
pending messages cancelled before they are sent), MyData (everything held, in a fixed
number of statements) and the rate limit of both."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.campaigns.models import Consent, Resident
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import Delivery, DeliveryStatus
from server.notifications.notify import stage_notification_once
from server.notifications.service import create_notifications
from server.residents import rights
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.fakes.twilio import FakeTwilio
from tests.helpers import eventually, running_worker
from tests.resident_rows import (
    CHOICE,
    SCALE,
    TEXT,
    add_response,
    conversation_item,
    issue_manage_token,
    listening_campaign,
    meet,
    resident_input,
    sms_to,
    sync,
)

PHONE = "+447911123456"
OTHER_PHONE = "+447911654321"

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture
def settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return settings.model_copy(
        update={
            "delivery": "live",
            "relay_interval_seconds": 0.05,
            "sweep_interval_seconds": 1,
            "delivery_backoff_seconds": 0.2,
            "delivery_max_attempts": 3,
            **fake_twilio.settings(),
        }
    )


async def _my_data(gql: GraphQLClient, token: str) -> dict[str, Any] | None:
    data = await gql.op("MyData", {"manageToken": token})
    found: dict[str, Any] | None = data["myData"]
    return found


async def _stop(gql: GraphQLClient, token: str) -> dict[str, Any]:
    data = await gql.op("StopContact", {"manageToken": token})
    result: dict[str, Any] = data["stopContact"]
    return result


async def _stage_sms(
    services: Services, org: Org, resident_id: uuid.UUID, phone: str, *, expanded: bool = False
) -> None:
    """An SMS to the resident: staged in the outbox, or already a pending delivery."""
    spec = sms_to(org, resident_id, phone, f"update-{resident_id}-{expanded}")
    async with services.db.session() as session:
        if expanded:
            await create_notifications(session, spec)
        else:
            assert await stage_notification_once(session, spec)
        await session.commit()


async def test_my_data_shows_details_consent_responses_and_conversations(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await listening_campaign(services, org, "Safer stairwells")
    _, resident_id = await meet(gql, org, campaign)
    await add_response(services, campaign, resident_id, rating=9)
    token = await issue_manage_token(services, org, resident_id)

    mine = await _my_data(gql, token)
    assert mine is not None
    assert (mine["name"], mine["email"], mine["phone"], mine["postcode"]) == (
        "Rosa Parks",
        "rosa@example.test",
        PHONE,
        "M13 9PL",
    )
    assert mine["consent"] == {
        "storeDetails": True,
        "contactAgain": True,
        "hearBack": True,
        "recordedAt": "2026-11-30T10:14:00Z",
    }
    [response] = mine["responses"]
    assert response["campaign"] == {"title": "Safer stairwells"}
    assert sorted(
        (a["questionId"], a["text"], a["number"], a["choices"]) for a in response["answers"]
    ) == sorted([(TEXT["id"], "The lift in my block", None, None), (SCALE["id"], None, 2, None)])

    # What organisers wrote about them is held about them too.
    query = """query($t: String!) { myData(manageToken: $t) {
        conversations { campaign { title } occurredAt notes answers { questionId text } } } }"""
    [conversation] = (await gql(query, {"t": token}))["myData"]["conversations"]
    assert conversation["campaign"] == {"title": "Safer stairwells"}
    assert conversation["notes"] == "Rosa, lives alone, worried about the stairwell"
    assert {a["questionId"]: a["text"] for a in conversation["answers"]}[TEXT["id"]] == (
        "My neighbour at no. 4 dumps bins"
    )
    assert CHOICE["id"] in {a["questionId"] for a in conversation["answers"]}

    # Someone else's data is not theirs; an unknown token shows nothing.
    other_campaign = await listening_campaign(services, org, "Parks")
    _, sam = await meet(gql, org, other_campaign, name="Sam", email="sam@example.test")
    await add_response(services, other_campaign, sam)
    again = await _my_data(gql, token)
    assert again is not None and len(again["responses"]) == 1
    assert len((await gql(query, {"t": token}))["myData"]["conversations"]) == 1
    assert await _my_data(gql, "not-a-token") is None


async def test_my_data_reads_a_fixed_number_of_statements(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    org: Org = await make_org()
    campaign = await listening_campaign(services, org)
    _, resident_id = await meet(gql, org, campaign)
    token = await issue_manage_token(services, org, resident_id)

    async def statements() -> int:
        before = count_queries.count
        async with services.db.session() as session:
            data = await rights.my_data(session, token)
        assert data is not None
        return count_queries.count - before

    one = await statements()
    for n in range(4):
        other = await listening_campaign(services, org, f"Campaign {n}")
        again = resident_input()
        again["id"] = str(resident_id)
        [met] = await sync(gql, org, [conversation_item(other, again)])
        assert met["conversation"]["resident"]["id"] == str(resident_id)
        await add_response(services, other, resident_id)
    data = await statements()
    assert data == one
    async with services.db.session() as session:
        mine = await rights.my_data(session, token)
    assert mine is not None and (len(mine.responses), len(mine.conversations)) == (4, 5)


async def test_stop_contact_withdraws_consent_by_link_and_cancels_a_pending_sms(
    gql: GraphQLClient,
    make_org: Any,
    services: Services,
    settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:
    org: Org = await make_org()
    campaign = await listening_campaign(services, org)
    _, rosa = await meet(gql, org, campaign)
    _, sam = await meet(gql, org, campaign, name="Sam", email=None, phone=OTHER_PHONE)
    token = await issue_manage_token(services, org, rosa)
    await _stage_sms(services, org, rosa, PHONE, expanded=True)
    await _stage_sms(services, org, rosa, PHONE)

    assert await _stop(gql, token) == {"ok": True, "userErrors": []}

    await _stage_sms(services, org, sam, OTHER_PHONE)
    async with running_worker(settings, services):

        async def sam_sent() -> bool:
            async with services.db.session() as session:
                status = await session.scalar(
                    sa.select(Delivery.status).where(col(Delivery.address) == OTHER_PHONE)
                )
            return status == DeliveryStatus.SENT

        await eventually(sam_sent)
    assert [s.form["To"] for s in fake_twilio.sent] == [OTHER_PHONE]
    async with services.db.session() as session:
        statuses = {
            (d.address, d.status) for d in (await session.scalars(sa.select(Delivery))).all()
        }
        # The pending one skipped, the staged one never expanded for her.
        assert statuses == {
            (PHONE, DeliveryStatus.SKIPPED),
            (OTHER_PHONE, DeliveryStatus.SENT),
        }
        resident = await session.get(Resident, rosa)
        assert resident is not None
        assert (resident.store_details, resident.contact_again, resident.hear_back) == (
            True,
            False,
            False,
        )
        lines = (
            await session.scalars(
                sa.select(Consent).where(
                    col(Consent.resident_id) == rosa, col(Consent.granted).is_(False)
                )
            )
        ).all()
        assert sorted((c.kind.value, c.method.value) for c in lines) == [
            ("CONTACT_AGAIN", "LINK"),
            ("HEAR_BACK", "LINK"),
        ]

    mine = await _my_data(gql, token)
    assert mine is not None
    assert (mine["consent"]["contactAgain"], mine["consent"]["hearBack"]) == (False, False)
    # Stopping again is fine and adds nothing to the ledger.
    assert await _stop(gql, token) == {"ok": True, "userErrors": []}
    async with services.db.session() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).where(col(Consent.resident_id) == rosa)
        )
    assert count == 5  # three from the doorstep, two withdrawals


async def test_an_unknown_manage_token_is_expired(gql: GraphQLClient) -> None:
    assert await _stop(gql, "x" * 43) == {
        "ok": False,
        "userErrors": [
            {
                "field": "manageToken",
                "message": "This link no longer works: nothing is held under it.",
                "code": "EXPIRED",
            }
        ],
    }


@pytest.mark.parametrize("settings_update", [{"public_requests_per_token": 2}])
async def test_manage_token_operations_are_rate_limited(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await listening_campaign(services, org)
    _, resident_id = await meet(gql, org, campaign)
    token = await issue_manage_token(services, org, resident_id)
    assert await _my_data(gql, token) is not None
    assert (await _stop(gql, token))["ok"] is True

    body = await gql.raw("query($t: String!) { myData(manageToken: $t) { name } }", {"t": token})
    assert body["data"] == {"myData": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
    for name in ("StopContact", "EraseMyData"):
        data = await gql.op(name, {"manageToken": token})
        payload = next(iter(data.values()))
        assert payload["ok"] is False
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(None, "RATE_LIMITED")]
    # Nothing was erased by the refused call.
    async with services.db.session() as session:
        resident = await session.get(Resident, resident_id)
    assert resident is not None and resident.erased_at is None
    # Another token is limited on its own.
    other = await issue_manage_token(services, org, resident_id)
    assert await _my_data(gql, other) is not None
