"""Twilio status callbacks: X-Twilio-Signature, and SMS deliveries that only move forward."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from server.accounts.models import Organisation
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.models import (
    ChannelName,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationKind,
)
from server.notifications.twilio import (
    apply_status_callback,
    compute_signature,
    twilio_status,
    valid_signature,
)
from tests.fakes import FakeTwilio, provider_settings
from workers.channels.base import Message, Result
from workers.channels.sms import TwilioSmsChannel

pytest_plugins = ["tests.fakes.fixtures"]

# The example request of twilio-python's own tests (tests/unit/test_request_validator.py).
DOCS_TOKEN = "12345"
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


# --- Signatures ----------------------------------------------------------------------------


def test_signature_of_the_reference_request() -> None:
    assert compute_signature(DOCS_TOKEN, DOCS_URL, DOCS_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert valid_signature(DOCS_TOKEN, DOCS_URL, DOCS_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_signature_with_repeated_parameters() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert compute_signature(DOCS_TOKEN, DOCS_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # Twilio may sign with or without the port: both forms are accepted.
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("https://mycompany.com/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_signature_with_and_without_the_port(url: str, signature: str) -> None:
    assert valid_signature(DOCS_TOKEN, url, DOCS_PARAMS, signature)


def test_signature_refuses_tampering() -> None:
    good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert not valid_signature(DOCS_TOKEN, DOCS_URL, {**DOCS_PARAMS, "Digits": "9999"}, good)
    assert not valid_signature(DOCS_TOKEN, DOCS_URL + "&baz=3", DOCS_PARAMS, good)
    assert not valid_signature("54321", DOCS_URL, DOCS_PARAMS, good)
    assert not valid_signature(DOCS_TOKEN, DOCS_URL, DOCS_PARAMS, "")
    assert not valid_signature("", DOCS_URL, DOCS_PARAMS, good)
    assert not valid_signature(DOCS_TOKEN, DOCS_URL, DOCS_PARAMS, "ünïcode")


def test_signature_round_trip() -> None:
    token = uuid.uuid4().hex
    url = "https://doorstep.example.org/hooks/twilio/status"
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "Body": "ça va ✓"}
    signature = compute_signature(token, url, form)
    assert valid_signature(token, url, form, signature)
    assert valid_signature(token, url, list(reversed(form.items())), signature)


# --- Status callbacks ----------------------------------------------------------------------


async def sms_delivery(
    services: Services,
    status: DeliveryStatus,
    provider_id: str | None = None,
) -> Delivery:
    async with services.db.session() as session:
        org = Organisation(name=f"Org {uuid.uuid4().hex[:8]}")
        session.add(org)
        await session.flush()
        notification = Notification(
            organisation_id=org.id,
            dedupe_key=uuid.uuid4().hex,
            kind=NotificationKind.SESSION_CHANGED,
            title="Session moved",
            body="Thursday's session now starts at 6pm.",
        )
        session.add(notification)
        await session.flush()
        delivery = Delivery(
            notification_id=notification.id,
            channel=ChannelName.SMS,
            address="+447700900123",
            status=status,
            provider_id=provider_id or "SM" + uuid.uuid4().hex,
            sent_at=utcnow() - timedelta(minutes=1) if status is DeliveryStatus.SENT else None,
        )
        session.add(delivery)
        await session.commit()
        return delivery


async def reload(services: Services, delivery: Delivery) -> Delivery:
    async with services.db.session() as session:
        found = await session.get(Delivery, delivery.id)
        assert found is not None
        return found


async def callback(services: Services, sid: str | None, status: str, **extra: str) -> bool:
    form = {"MessageSid": sid or "", "MessageStatus": status, **extra}
    async with services.db.session() as session:
        return await apply_status_callback(session, form)


async def test_callbacks_move_forward_and_never_back(services: Services) -> None:
    delivery = await sms_delivery(services, DeliveryStatus.SENDING)
    sid = delivery.provider_id

    assert await callback(services, sid, "queued")
    sent = await reload(services, delivery)
    assert sent.status is DeliveryStatus.SENT
    assert sent.sent_at is not None

    assert not await callback(services, sid, "sent")  # already SENT
    assert await callback(services, sid, "delivered")
    delivered = await reload(services, delivery)
    assert delivered.status is DeliveryStatus.DELIVERED
    assert delivered.delivered_at is not None
    assert delivered.sent_at == sent.sent_at

    for late in ("sending", "sent", "failed", "undelivered", "delivered"):
        assert not await callback(services, sid, late, ErrorCode="30003")
    final = await reload(services, delivery)
    assert final.status is DeliveryStatus.DELIVERED
    assert final.delivered_at == delivered.delivered_at
    assert final.last_error is None


async def test_failure_callback_records_the_error_code(services: Services) -> None:
    delivery = await sms_delivery(services, DeliveryStatus.SENT)

    assert await callback(
        services, delivery.provider_id, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable"
    )
    failed = await reload(services, delivery)
    assert failed.status is DeliveryStatus.FAILED
    assert failed.last_error is not None and "30003" in failed.last_error
    assert "undelivered" in failed.last_error

    assert not await callback(services, delivery.provider_id, "delivered")
    assert (await reload(services, delivery)).status is DeliveryStatus.FAILED


@pytest.mark.parametrize(
    "final", [DeliveryStatus.DEAD, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED]
)
async def test_final_deliveries_stay_final(services: Services, final: DeliveryStatus) -> None:
    delivery = await sms_delivery(services, final)
    for status in ("queued", "sent", "delivered", "failed"):
        assert not await callback(services, delivery.provider_id, status)
    assert (await reload(services, delivery)).status is final


async def test_unknown_sids_and_statuses_change_nothing(services: Services) -> None:
    delivery = await sms_delivery(services, DeliveryStatus.SENT)
    assert not await callback(services, "SM" + "0" * 32, "delivered")
    assert not await callback(services, None, "delivered")
    assert not await callback(services, delivery.provider_id, "receiving")
    assert (await reload(services, delivery)).status is DeliveryStatus.SENT


# --- The endpoint, end to end with the SMS channel -----------------------------------------


@pytest.fixture
async def hooks(services: Services, fake_twilio: FakeTwilio) -> AsyncIterator[httpx.AsyncClient]:
    """A tiny app with the endpoint mounted where the API mounts it."""
    app = Starlette(routes=[Route("/hooks/twilio/status", twilio_status, methods=["POST"])])
    settings = services.settings.model_copy(update={"twilio_auth_token": fake_twilio.auth_token})
    app.state.services = SimpleNamespace(settings=settings, db=services.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as http:
        yield http


async def send_sms(fake: FakeTwilio, services: Services) -> Delivery:
    """Send one SMS through the real channel and record it as the dispatcher would."""
    public_url = services.settings.public_url
    channel = TwilioSmsChannel(provider_settings(**fake.settings(), public_url=public_url))
    try:
        (outcome,) = await channel.send([Message(uuid.uuid4(), "+447700900123", "Hi", "Body")])
    finally:
        await channel.aclose()
    assert outcome.result is Result.SENT and outcome.provider_id
    return await sms_delivery(services, DeliveryStatus.SENT, outcome.provider_id)


async def post(http: httpx.AsyncClient, url: str, form: dict[str, str], headers: Any) -> int:
    assert url.startswith("http://doorstep.test/")
    response = await http.post(url.removeprefix("http://doorstep.test"), data=form, headers=headers)
    return response.status_code


async def test_signed_callbacks_from_twilio_update_the_delivery(
    services: Services, fake_twilio: FakeTwilio, hooks: httpx.AsyncClient
) -> None:
    delivery = await send_sms(fake_twilio, services)
    sid = str(delivery.provider_id)

    assert await post(hooks, *fake_twilio.status_callback(sid, "delivered")) == 204
    assert (await reload(services, delivery)).status is DeliveryStatus.DELIVERED

    # A late "sent" is accepted (Twilio must not retry it) but changes nothing.
    assert await post(hooks, *fake_twilio.status_callback(sid, "sent")) == 204
    assert (await reload(services, delivery)).status is DeliveryStatus.DELIVERED


async def test_failed_callback_through_the_endpoint(
    services: Services, fake_twilio: FakeTwilio, hooks: httpx.AsyncClient
) -> None:
    delivery = await send_sms(fake_twilio, services)
    url, form, headers = fake_twilio.status_callback(
        str(delivery.provider_id), "failed", error_code="30006"
    )
    assert await post(hooks, url, form, headers) == 204
    failed = await reload(services, delivery)
    assert failed.status is DeliveryStatus.FAILED
    assert failed.last_error is not None and "30006" in failed.last_error


async def test_bad_or_missing_signatures_are_refused(
    services: Services, fake_twilio: FakeTwilio, hooks: httpx.AsyncClient
) -> None:
    delivery = await send_sms(fake_twilio, services)
    url, form, headers = fake_twilio.status_callback(str(delivery.provider_id), "delivered")

    assert await post(hooks, url, {**form, "MessageStatus": "failed"}, headers) == 403
    assert await post(hooks, url, form, {}) == 403
    assert await post(hooks, url, form, {"X-Twilio-Signature": "AAAA"}) == 403
    forged = {"X-Twilio-Signature": compute_signature("not-the-token", url, form)}
    assert await post(hooks, url, form, forged) == 403
    assert (await reload(services, delivery)).status is DeliveryStatus.SENT
