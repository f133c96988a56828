"""Push devices through the API: RegisterDevice and UnregisterDevice."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import Device
from server.audit.models import AuditEntry
from server.enums import Role
from server.models import utcnow
from server.services import Services
from tests.conftest import GraphQLClient, Org
from tests.contract_ops import op

EXPO_TOKEN = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"


def device_input(
    push_token: str = EXPO_TOKEN, platform: str = "IOS", provider: str = "EXPO", **more: Any
) -> dict[str, Any]:
    return {"input": {"platform": platform, "provider": provider, "token": push_token, **more}}


async def register(gql: GraphQLClient, token: str, **kwargs: Any) -> dict[str, Any]:
    data = await gql.op("RegisterDevice", device_input(**kwargs), token=token)
    result: dict[str, Any] = data["registerDevice"]
    return result


async def unregister(gql: GraphQLClient, token: str, device_id: str) -> dict[str, Any]:
    data = await gql.op("UnregisterDevice", {"id": device_id}, token=token)
    result: dict[str, Any] = data["unregisterDevice"]
    return result


async def devices(services: Services) -> list[Device]:
    async with services.db.session() as session:
        return list(await session.scalars(sa.select(Device).order_by(col(Device.created_at))))


async def test_registering_the_same_token_twice_gives_one_device_updated(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)

    first = await register(gql, token, platform="IOS", locale="en-GB")
    assert first["userErrors"] == []
    assert first["device"]["platform"] == "IOS"
    assert first["device"]["provider"] == "EXPO"
    second = await register(gql, token, platform="ANDROID", locale="cy-GB")

    assert second["userErrors"] == []
    assert second["device"] == {"id": first["device"]["id"], "platform": "ANDROID"} | {
        "provider": "EXPO"
    }
    [device] = await devices(services)
    assert str(device.id) == first["device"]["id"]
    assert device.user_id == org.members[Role.ORGANISER].id
    assert (device.platform.value, device.locale) == ("ANDROID", "cy-GB")
    assert device.token == EXPO_TOKEN


async def test_same_token_with_another_provider_is_another_device(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)
    expo = await register(gql, token, provider="EXPO")
    fcm = await register(gql, token, provider="FCM", platform="ANDROID")
    assert expo["device"]["id"] != fcm["device"]["id"]
    assert len(await devices(services)) == 2


async def test_registering_again_re_enables_a_disabled_device(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)
    device_id = (await register(gql, token))["device"]["id"]
    async with services.db.session() as session:
        device = await session.get(Device, uuid.UUID(device_id))
        assert device is not None
        device.disabled_at = utcnow()
        device.disabled_reason = "DeviceNotRegistered"
        await session.commit()

    assert (await register(gql, token))["device"]["id"] == device_id
    [device] = await devices(services)
    assert device.disabled_at is None
    assert device.disabled_reason is None


async def test_a_token_registered_by_another_user_moves_to_the_new_user(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """A shared phone: whoever signed in last gets its notifications."""
    org: Org = await make_org("Alpha")
    other: Org = await make_org("Beta")
    before = (await register(gql, org.token(Role.ORGANISER)))["device"]["id"]

    after = (await register(gql, other.token(Role.TRAINER)))["device"]["id"]

    assert after == before
    [device] = await devices(services)
    assert device.user_id == other.members[Role.TRAINER].id
    # The previous owner no longer sees it as theirs.
    gone = await unregister(gql, org.token(Role.ORGANISER), before)
    assert gone["ok"] is False
    assert [e["code"] for e in gone["userErrors"]] == ["NOT_FOUND"]
    assert len(await devices(services)) == 1


async def test_concurrent_registrations_of_one_token_give_one_device(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """The app registers at start and again when the token arrives: they may overlap."""
    org: Org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)
    results = await asyncio.gather(
        *(gql.raw(op("RegisterDevice"), device_input(), token=token) for _ in range(4))
    )
    for body in results:
        assert "errors" not in body, body
        assert body["data"]["registerDevice"]["userErrors"] == []
    ids = {body["data"]["registerDevice"]["device"]["id"] for body in results}
    [device] = await devices(services)
    assert ids == {str(device.id)}


async def test_unregister_own_device(gql: GraphQLClient, make_org: Any, services: Services) -> None:
    org: Org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)
    device_id = (await register(gql, token))["device"]["id"]

    assert await unregister(gql, token, device_id) == {"ok": True, "userErrors": []}
    assert await devices(services) == []
    again = await unregister(gql, token, device_id)
    assert again["ok"] is False
    assert [e["code"] for e in again["userErrors"]] == ["NOT_FOUND"]
    # A malformed id is just an unknown device.
    bad = await unregister(gql, token, "not-an-id")
    assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [("NOT_FOUND", "id")]


async def test_unregistering_someone_elses_device_is_not_found_and_keeps_it(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    device_id = (await register(gql, org.token(Role.ORGANISER)))["device"]["id"]

    # Not even an admin of the same organisation removes a member's phone.
    for role in (Role.TRAINER, Role.ADMIN):
        result = await unregister(gql, org.token(role), device_id)
        assert result["ok"] is False
        [error] = result["userErrors"]
        assert (error["code"], error["field"]) == ("NOT_FOUND", "id")

    [device] = await devices(services)
    assert str(device.id) == device_id
    assert device.user_id == org.members[Role.ORGANISER].id


async def test_devices_need_sign_in(gql: GraphQLClient, make_org: Any, services: Services) -> None:
    org: Org = await make_org("Alpha")
    device_id = (await register(gql, org.token(Role.ORGANISER)))["device"]["id"]

    body = await gql.raw(op("RegisterDevice"), device_input("ExponentPushToken[anon]"))
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["data"] is None
    body = await gql.raw(op("UnregisterDevice"), {"id": device_id})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert [str(d.id) for d in await devices(services)] == [device_id]


async def test_blank_or_oversized_token_is_refused(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)
    blank = await register(gql, token, push_token="   ")
    assert blank["device"] is None
    assert [(e["code"], e["field"]) for e in blank["userErrors"]] == [("REQUIRED", "input.token")]
    huge = await register(gql, token, push_token="x" * 4097)
    assert [(e["code"], e["field"]) for e in huge["userErrors"]] == [("INVALID", "input.token")]
    assert await devices(services) == []


async def test_register_and_unregister_are_audited(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    user = org.members[Role.ORGANISER]
    device_id = (await register(gql, org.token(Role.ORGANISER)))["device"]["id"]
    await unregister(gql, org.token(Role.ORGANISER), device_id)

    async with services.db.session() as session:
        entries = list(
            await session.scalars(
                sa.select(AuditEntry)
                .where(col(AuditEntry.entity_type) == "Device")
                .order_by(col(AuditEntry.occurred_at))
            )
        )
    assert [e.action for e in entries] == ["device.register", "device.unregister"]
    for entry in entries:
        assert entry.actor_id == user.id
        assert entry.organisation_id == org.organisation.id
        assert str(entry.entity_id) == device_id
