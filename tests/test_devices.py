"""Push devices through the API: RegisterDevice and UnregisterDevice."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import Device
from server.audit.models import AuditEntry
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import Delivery, DeliveryStatus, Notification
from server.notifications.notify import stage_notification
from server.notifications.service import create_notifications
from server.notifications.spec import NotifySpec
from tests.conftest import GraphQLClient, Org
from tests.contract_ops import op
from tests.fakes.expo import FakeExpo
from tests.fakes.webpush import b64url
from tests.helpers import eventually, running_worker

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
    """A shared phone: whoever signed in last gets its notifications.

    The new owner gets a device of their own: the payload does not show the old device.
    """
    org: Org = await make_org("Alpha")
    other: Org = await make_org("Beta")
    before = await register(gql, org.token(Role.ORGANISER), locale="en-GB")

    after = await register(gql, other.token(Role.TRAINER), platform="ANDROID")

    assert after["userErrors"] == []
    assert after["device"]["id"] != before["device"]["id"]
    assert after["device"] == {"id": after["device"]["id"], "platform": "ANDROID"} | {
        "provider": "EXPO"
    }
    [device] = await devices(services)
    assert str(device.id) == after["device"]["id"]
    assert device.user_id == other.members[Role.TRAINER].id
    assert device.locale is None  # nothing of the previous registration carries over
    # The previous owner no longer has it.
    gone = await unregister(gql, org.token(Role.ORGANISER), before["device"]["id"])
    assert gone["ok"] is False
    assert [e["code"] for e in gone["userErrors"]] == ["NOT_FOUND"]
    gone = await unregister(gql, org.token(Role.ORGANISER), after["device"]["id"])
    assert [e["code"] for e in gone["userErrors"]] == ["NOT_FOUND"]
    assert len(await devices(services)) == 1


async def _notify(services: Services, org: Org, role: Role, key: str, *, now: bool) -> None:
    """Tell one member something: through the outbox (the worker), or at once (``now``)."""
    spec = NotifySpec(
        organisation_id=org.organisation.id,
        user_ids=[org.members[role].id],
        template="system",
        event_key=f"{org.organisation.name}-{key}",
        params={"title": f"{org.organisation.name} {key}", "body": "Tonight 7pm"},
    )
    async with services.db.session() as session:
        if now:
            await create_notifications(session, spec)
        else:
            stage_notification(session, spec)
        await session.commit()


async def test_after_the_move_the_previous_owner_gets_nothing_on_that_phone(
    gql: GraphQLClient, make_org: Any, services: Services, settings: Settings
) -> None:
    org: Org = await make_org("Alpha")
    other: Org = await make_org("Beta")
    await register(gql, org.token(Role.ORGANISER))
    # Alpha's organiser has a push waiting for the phone when Beta's trainer signs in on it.
    await _notify(services, org, Role.ORGANISER, "waiting", now=True)
    await register(gql, other.token(Role.TRAINER))

    async with FakeExpo() as expo:
        live = settings.model_copy(
            update={"delivery": "live", "relay_interval_seconds": 0.05, **expo.settings()}
        )
        async with running_worker(live, services):
            await _notify(services, org, Role.ORGANISER, "after", now=False)
            await _notify(services, other, Role.TRAINER, "after", now=False)

            async def both_handled() -> bool:
                async with services.db.session() as session:
                    alpha = await session.scalar(
                        sa.select(col(Notification.id)).where(
                            col(Notification.title) == "Alpha after"
                        )
                    )
                    beta = await session.scalar(
                        sa.select(col(Delivery.status))
                        .join(Notification, col(Delivery.notification_id) == col(Notification.id))
                        .where(col(Notification.title) == "Beta after")
                    )
                return alpha is not None and beta is DeliveryStatus.SENT

            await eventually(both_handled)
    assert [(m["to"], m["title"]) for m in expo.messages] == [(EXPO_TOKEN, "Beta after")]
    async with services.db.session() as session:
        rows = (
            await session.execute(
                sa.select(col(Notification.title), col(Delivery.status), col(Delivery.address))
                .join(Delivery, col(Delivery.notification_id) == col(Notification.id))
                .order_by(col(Notification.title))
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Alpha waiting", DeliveryStatus.SKIPPED, EXPO_TOKEN),
        ("Beta after", DeliveryStatus.SENT, EXPO_TOKEN),
    ]


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


def web_push_subscription(endpoint: str = "https://push.example.net/send/abc", **keys: Any) -> str:
    point = b"\x04" + bytes(range(64))
    values = {"p256dh": b64url(point), "auth": b64url(bytes(16))} | keys
    return json.dumps({"endpoint": endpoint, "expirationTime": None, "keys": values})


APNS_TOKEN = "a1" * 32
VALID_TOKENS = {
    "EXPO": ["ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]", "ExpoPushToken[AbC-123_x]"],
    "FCM": ["dGVzdA:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ-hQMRKRrZuJAEcl7B338q"],
    "APNS": [APNS_TOKEN, APNS_TOKEN.upper()],
    "WEBPUSH": [web_push_subscription()],
}
INVALID_TOKENS = {
    "EXPO": [
        "tok-123",
        "ExponentPushToken[]",
        "ExponentPushToken[abc",
        "ExponentPushToken[a b]",
        "xExponentPushToken[abc]",
        "ExponentPushToken[abc]x",
    ],
    "FCM": ["short", "has a space in it", "tab\tinside-a-token", "x" * 1025, "ünïcødé-token"],
    "APNS": ["a1" * 31, "zz" * 32, "a1" * 32 + "a", "a1 " * 32],
    "WEBPUSH": [
        "not json",
        "[]",
        json.dumps({"endpoint": "https://push.example.net/send/abc"}),
        web_push_subscription("http://push.example.net/send/abc"),
        web_push_subscription("javascript:alert(1)"),
        web_push_subscription("https://"),
        web_push_subscription(p256dh="not base64!"),
        web_push_subscription(p256dh=b64url(b"\x04" + bytes(10))),
        web_push_subscription(auth=b64url(bytes(8))),
        json.dumps({"endpoint": "https://push.example.net/x", "keys": {"p256dh": 1, "auth": 2}}),
    ],
}


@pytest.mark.parametrize(
    ("provider", "push_token"),
    [(p, t) for p, tokens in VALID_TOKENS.items() for t in tokens],
)
async def test_each_providers_token_form_is_accepted(
    gql: GraphQLClient, make_org: Any, services: Services, provider: str, push_token: str
) -> None:
    org: Org = await make_org("Alpha")
    result = await register(
        gql, org.token(Role.ORGANISER), push_token=push_token, provider=provider
    )
    assert result["userErrors"] == []
    assert result["device"]["provider"] == provider
    [device] = await devices(services)
    assert device.provider.value == provider


@pytest.mark.parametrize(
    ("provider", "push_token"),
    [(p, t) for p, tokens in INVALID_TOKENS.items() for t in tokens],
)
async def test_a_token_not_in_its_providers_form_is_invalid(
    gql: GraphQLClient, make_org: Any, services: Services, provider: str, push_token: str
) -> None:
    org: Org = await make_org("Alpha")
    result = await register(
        gql, org.token(Role.ORGANISER), push_token=push_token, provider=provider
    )
    assert result["device"] is None
    [error] = result["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID", "input.token")
    assert await devices(services) == []


async def test_a_web_push_subscription_is_one_device_however_its_json_is_written(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)
    sent = json.loads(web_push_subscription())
    first = await register(gql, token, push_token=json.dumps(sent), provider="WEBPUSH")
    reordered = json.dumps(dict(reversed(list(sent.items()))), indent=2)
    second = await register(gql, token, push_token=reordered, provider="WEBPUSH")
    assert first["device"]["id"] == second["device"]["id"]
    [device] = await devices(services)
    assert json.loads(device.token) == {"endpoint": sent["endpoint"], "keys": sent["keys"]}
