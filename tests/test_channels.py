"""Every delivery channel against its fake provider, over real HTTP and SMTP sockets."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.core.logs import redact as redact_personal
from server.notifications.models import ChannelName
from tests.fakes import (
    FakeExpo,
    FakeFcm,
    FakePushService,
    FakeSmtp,
    FakeTwilio,
    closed_port_url,
    fcm_error,
    provider_settings,
    vapid_key_pair,
)
from tests.fakes.tls import tls_contexts
from tests.fakes.twilio import twilio_error
from tests.fakes.webpush import b64url
from workers.channels.base import Message, Outcome, Result
from workers.channels.email import SmtpEmailChannel, parse_smtp_url
from workers.channels.expo import ExpoChannel
from workers.channels.fcm import FcmChannel
from workers.channels.http import parse_retry_after
from workers.channels.log import LogChannel
from workers.channels.registry import build_channels, close_channels
from workers.channels.sms import MAX_SMS_CHARS, TwilioSmsChannel, sms_text
from workers.channels.unavailable import UnavailableChannel
from workers.channels.webpush import WebPushChannel, load_vapid

pytest_plugins = ["tests.fakes.fixtures"]

LINK = "https://doorstep.test/sessions/42"


def message(to: str, **fields: Any) -> Message:
    values: dict[str, Any] = {
        "title": "Session moved",
        "body": "Thursday's door-knocking session now starts at 6pm.",
        "link": LINK,
        "data": {"kind": "SESSION_CHANGED"},
    }
    values.update(fields)
    return Message(delivery_id=uuid.uuid4(), to=to, **values)


def by_id(messages: list[Message], outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes in the order of their messages; exactly one per message."""
    found = {o.delivery_id: o for o in outcomes}
    assert len(outcomes) == len(messages) == len(found)
    return [found[m.delivery_id] for m in messages]


def expo_token(n: int | str) -> str:
    return f"ExponentPushToken[{n}]"


# --- Retry-After -------------------------------------------------------------------------


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 5, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("-4", now=now) == 0.0
    assert parse_retry_after("Thu, 05 Nov 2026 12:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Thu, 05 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("Fri, 05 Nov 2027 12:00:00 GMT", now=now) == 24 * 3600
    assert parse_retry_after("99999999999", now=now) == 24 * 3600
    assert parse_retry_after("inf", now=now) is None
    assert parse_retry_after("nan", now=now) is None
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None


# --- Expo ----------------------------------------------------------------------------------


@pytest.fixture
async def expo(fake_expo: FakeExpo) -> AsyncIterator[ExpoChannel]:
    channel = ExpoChannel(provider_settings(**fake_expo.settings()))
    yield channel
    await channel.aclose()


async def test_expo_sends_the_message_and_maps_each_ticket() -> None:
    async with FakeExpo(access_token="expo-access-token") as fake:
        fake.unregistered.add(expo_token("gone"))
        fake.ticket_errors[expo_token("big")] = "MessageTooBig"
        fake.ticket_errors[expo_token("creds")] = "InvalidCredentials"
        fake.ticket_errors[expo_token("fast")] = "MessageRateExceeded"
        channel = ExpoChannel(provider_settings(**fake.settings()))
        messages = [message(expo_token(t)) for t in ("ok", "gone", "big", "creds", "fast")]
        try:
            outcomes = by_id(messages, await channel.send(messages))
        finally:
            await channel.aclose()

    assert [o.result for o in outcomes] == [
        Result.SENT,
        Result.UNREGISTERED,
        Result.FAILED,
        Result.FAILED,
        Result.RETRY,
    ]
    assert str(outcomes[0].provider_id) in fake.tickets
    assert outcomes[1].error is not None and outcomes[1].error.startswith("DeviceNotRegistered")
    assert outcomes[2].error is not None and outcomes[2].error.startswith("MessageTooBig")
    assert fake.send_requests[0].headers["authorization"] == "Bearer expo-access-token"
    assert fake.messages == [
        {
            "to": expo_token("ok"),
            "title": "Session moved",
            "body": "Thursday's door-knocking session now starts at 6pm.",
            "data": {
                "kind": "SESSION_CHANGED",
                "delivery_id": str(messages[0].delivery_id),
                "link": LINK,
            },
            "sound": "default",
        }
    ]


async def test_expo_sends_at_most_100_messages_per_request(
    fake_expo: FakeExpo, expo: ExpoChannel
) -> None:
    messages = [message(expo_token(i)) for i in range(250)]

    outcomes = by_id(messages, await expo.send(messages))

    assert [r.count for r in fake_expo.send_requests] == [100, 100, 50]
    assert all(o.result is Result.SENT for o in outcomes)
    assert len({o.provider_id for o in outcomes}) == 250
    counts = fake_expo.delivery_counts()
    assert set(counts) == {str(m.delivery_id) for m in messages}
    assert set(counts.values()) == {1}


async def test_expo_429_retries_the_batch_with_its_retry_after(
    fake_expo: FakeExpo, expo: ExpoChannel
) -> None:
    fake_expo.script.fail_next(2, 429, retry_after=3)
    messages = [message(expo_token(i)) for i in range(3)]

    first = await expo.send(messages)
    second = await expo.send(messages)
    third = by_id(messages, await expo.send(messages))

    for outcomes in (first, second):
        assert [(o.result, o.retry_after) for o in outcomes] == [(Result.RETRY, 3.0)] * 3
    assert all(o.result is Result.SENT for o in third)
    assert len(fake_expo.messages) == 3


async def test_expo_5xx_retry_after_as_an_http_date(fake_expo: FakeExpo, expo: ExpoChannel) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    fake_expo.script.fail_next(1, 503, retry_after=format_datetime(later, usegmt=True))

    outcomes = await expo.send([message(expo_token(1))])

    assert outcomes[0].result is Result.RETRY
    assert outcomes[0].retry_after is not None and 60 < outcomes[0].retry_after <= 120
    assert outcomes[0].error is not None and outcomes[0].error.startswith("HTTP 503")


async def test_expo_other_4xx_fails_the_batch(fake_expo: FakeExpo, expo: ExpoChannel) -> None:
    errors = {"errors": [{"code": "PUSH_TOO_MANY_EXPERIENCE_IDS", "message": "mixed"}]}
    fake_expo.script.fail_next(1, 400, json=errors)

    outcomes = await expo.send([message(expo_token(1)), message(expo_token(2))])

    assert [o.result for o in outcomes] == [Result.FAILED, Result.FAILED]
    assert all(o.retry_after is None for o in outcomes)
    assert outcomes[0].error is not None and "PUSH_TOO_MANY_EXPERIENCE_IDS" in outcomes[0].error


async def test_expo_network_error_retries() -> None:
    url = closed_port_url()
    channel = ExpoChannel(provider_settings(expo_push_url=f"{url}/--/api/v2/push/send"))
    try:
        outcomes = await channel.send([message(expo_token(1))])
    finally:
        await channel.aclose()
    assert outcomes[0].result is Result.RETRY
    assert outcomes[0].error is not None and outcomes[0].error.startswith("network error")


async def test_expo_timeout_retries(fake_expo: FakeExpo) -> None:
    fake_expo.script.slow_next(1, 2.0)
    channel = ExpoChannel(provider_settings(**fake_expo.settings()), timeout=0.2)
    try:
        outcomes = await channel.send([message(expo_token(1))])
    finally:
        await channel.aclose()
    assert outcomes[0].result is Result.RETRY
    assert outcomes[0].error is not None and "Timeout" in outcomes[0].error


async def test_expo_receipts_map_delivered_unregistered_and_failed(
    fake_expo: FakeExpo, expo: ExpoChannel
) -> None:
    fake_expo.receipt_errors[expo_token("gone")] = "DeviceNotRegistered"
    fake_expo.receipt_errors[expo_token("big")] = "MessageTooBig"
    messages = [message(expo_token(t)) for t in ("ok", "gone", "big")]
    tickets = [o.provider_id for o in by_id(messages, await expo.send(messages))]
    assert all(tickets)
    ids = [str(t) for t in tickets]

    fake_expo.receipts_ready = False
    assert await expo.receipts(ids) == {}

    fake_expo.receipts_ready = True
    receipts = await expo.receipts([*ids, "unknown-ticket"])

    assert set(receipts) == set(ids)
    assert receipts[ids[0]].result is Result.DELIVERED
    assert receipts[ids[1]].result is Result.UNREGISTERED
    assert receipts[ids[2]].result is Result.FAILED
    assert "MessageTooBig" in str(receipts[ids[2]].error)


async def test_expo_receipts_ask_for_at_most_1000_ids_a_call(
    fake_expo: FakeExpo, expo: ExpoChannel
) -> None:
    ids = [f"ticket-{i}" for i in range(2500)]

    assert await expo.receipts(ids) == {}

    assert [len(r) for r in fake_expo.receipt_requests] == [1000, 1000, 500]


async def test_expo_receipts_call_that_fails_leaves_its_ids_for_later(
    fake_expo: FakeExpo, expo: ExpoChannel
) -> None:
    outcome = (await expo.send([message(expo_token(1))]))[0]
    assert outcome.provider_id is not None
    fake_expo.receipts_script.fail_next(1, 503, retry_after=10)

    assert await expo.receipts([outcome.provider_id]) == {}
    again = await expo.receipts([outcome.provider_id])
    assert again[outcome.provider_id].result is Result.DELIVERED


async def test_expo_fake_can_be_scripted_and_read_over_http(
    fake_expo: FakeExpo, expo: ExpoChannel
) -> None:
    """What a benchmark or fault test in another process uses."""
    async with httpx.AsyncClient(base_url=fake_expo.base_url) as http:
        script = {"fail_next": {"count": 1, "status": 503, "retry_after": 2}}
        assert (await http.post("/_fake/script", json=script)).json()["pending"] == 1
        messages = [message(expo_token(1)), message(expo_token(2))]
        assert {o.result for o in await expo.send(messages)} == {Result.RETRY}
        await expo.send(messages)
        await expo.send(messages[:1])  # a duplicate, as after a lost answer
        stats = (await http.get("/_fake/stats")).json()
    assert stats == {
        "requests": 2,
        "messages": 3,
        "deliveries": 2,
        "duplicates": {str(messages[0].delivery_id): 2},
    }


# --- FCM -----------------------------------------------------------------------------------


def fcm_settings(fake: FakeFcm, tmp_path: Path) -> Any:
    return provider_settings(**fake.settings(tmp_path / "service-account.json"))


async def test_fcm_mints_an_oauth_token_from_the_service_account_and_caches_it(
    fake_fcm: FakeFcm, tmp_path: Path
) -> None:
    channel = FcmChannel(fcm_settings(fake_fcm, tmp_path))
    first = [message(f"fcm-token-{i}") for i in range(3)]
    second = [message("fcm-token-x")]
    try:
        outcomes = by_id(first, await channel.send(first)) + await channel.send(second)
    finally:
        await channel.aclose()

    assert all(o.result is Result.SENT for o in outcomes)
    assert all(str(o.provider_id).startswith("projects/doorstep-test/messages/") for o in outcomes)
    assert len(fake_fcm.token_requests) == 1
    minted = fake_fcm.token_requests[0]
    assert minted.key_id == fake_fcm.key_id
    assert minted.claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert minted.claims["aud"] == fake_fcm.token_url
    assert minted.claims["iss"] == fake_fcm.client_email
    assert set(fake_fcm.authorizations) == {f"Bearer {minted.access_token}"}
    sent = {m["token"]: m for m in fake_fcm.messages}
    assert sent["fcm-token-0"]["notification"] == {
        "title": "Session moved",
        "body": "Thursday's door-knocking session now starts at 6pm.",
    }
    assert sent["fcm-token-0"]["data"] == {
        "kind": "SESSION_CHANGED",
        "delivery_id": str(first[0].delivery_id),
        "link": LINK,
    }


async def test_fcm_mints_a_new_token_when_the_cached_one_is_about_to_expire(
    tmp_path: Path,
) -> None:
    async with FakeFcm(token_lifetime=30) as fake:  # inside the one-minute safety margin
        channel = FcmChannel(fcm_settings(fake, tmp_path))
        try:
            await channel.send([message("a")])
            await channel.send([message("b")])
        finally:
            await channel.aclose()
    assert len(fake.token_requests) == 2
    assert len(fake.messages) == 2


async def test_fcm_401_retries_and_the_next_attempt_uses_a_fresh_token(
    fake_fcm: FakeFcm, tmp_path: Path
) -> None:
    channel = FcmChannel(fcm_settings(fake_fcm, tmp_path))
    try:
        assert (await channel.send([message("a")]))[0].result is Result.SENT
        fake_fcm.revoke_tokens()
        refused = (await channel.send([message("b")]))[0]
        again = (await channel.send([message("b")]))[0]
    finally:
        await channel.aclose()

    assert refused.result is Result.RETRY
    assert refused.error is not None and "credentials" in refused.error
    assert again.result is Result.SENT
    assert len(fake_fcm.token_requests) == 2


async def test_fcm_token_endpoint_failure_retries_the_batch(
    fake_fcm: FakeFcm, tmp_path: Path
) -> None:
    fake_fcm.token_script.fail_next(1, 503)
    channel = FcmChannel(fcm_settings(fake_fcm, tmp_path))
    try:
        outcomes = await channel.send([message("a"), message("b")])
    finally:
        await channel.aclose()
    assert [o.result for o in outcomes] == [Result.RETRY, Result.RETRY]
    assert outcomes[0].error is not None and "access token" in outcomes[0].error
    assert fake_fcm.messages == []


async def test_fcm_maps_unregistered_and_invalid_tokens(fake_fcm: FakeFcm) -> None:
    fake_fcm.unregistered.add("gone")
    fake_fcm.invalid.add("bad")
    channel = FcmChannel(provider_settings(**fake_fcm.settings()))
    messages = [message("gone"), message("bad"), message("good")]
    try:
        outcomes = by_id(messages, await channel.send(messages))
    finally:
        await channel.aclose()
    assert [o.result for o in outcomes] == [Result.UNREGISTERED, Result.FAILED, Result.SENT]
    assert outcomes[1].error is not None and "INVALID_ARGUMENT" in outcomes[1].error


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "result", "expected_wait"),
    [
        (429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), "5", Result.RETRY, 60.0),
        (429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), "90", Result.RETRY, 90.0),
        (429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), None, Result.RETRY, 60.0),
        (503, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"), "7", Result.RETRY, 7.0),
        (500, fcm_error(500, "INTERNAL", "INTERNAL"), None, Result.RETRY, None),
        (404, fcm_error(404, "NOT_FOUND", "UNREGISTERED"), None, Result.UNREGISTERED, None),
        (400, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), "3", Result.FAILED, None),
        (403, fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), None, Result.FAILED, None),
        (403, fcm_error(403, "PERMISSION_DENIED"), None, Result.RETRY, None),
    ],
)
async def test_fcm_answers(
    fake_fcm: FakeFcm,
    status: int,
    body: dict[str, Any],
    retry_after: str | None,
    result: Result,
    expected_wait: float | None,
) -> None:
    fake_fcm.script.fail_next(1, status, json=body, retry_after=retry_after)
    channel = FcmChannel(provider_settings(**fake_fcm.settings()))
    try:
        outcome = (await channel.send([message("token")]))[0]
    finally:
        await channel.aclose()
    assert (outcome.result, outcome.retry_after) == (result, expected_wait)
    assert outcome.error is not None and f"HTTP {status}" in outcome.error


async def test_fcm_truncates_a_body_over_4096_bytes_and_says_so(fake_fcm: FakeFcm) -> None:
    channel = FcmChannel(provider_settings(**fake_fcm.settings()))
    long = message("token", body="Ward meeting notes. " * 500)
    try:
        outcome = (await channel.send([long]))[0]
    finally:
        await channel.aclose()

    assert outcome.result is Result.SENT
    assert outcome.error is not None and "truncated" in outcome.error
    sent = fake_fcm.messages[0]
    assert sent["notification"]["body"].endswith("…")
    assert sent["notification"]["body"].startswith("Ward meeting notes.")
    content = {k: v for k, v in sent.items() if k != "token"}
    assert len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()) <= 4096


async def test_fcm_network_error_retries(tmp_path: Path) -> None:
    settings = provider_settings(
        fcm_url=closed_port_url() + "/v1/projects/{project_id}/messages:send",
        fcm_project_id="p",
        fcm_access_token="token",
    )
    channel = FcmChannel(settings)
    try:
        outcome = (await channel.send([message("token")]))[0]
    finally:
        await channel.aclose()
    assert outcome.result is Result.RETRY


# --- Web push ------------------------------------------------------------------------------


@pytest.fixture
async def vapid_push() -> AsyncIterator[tuple[FakePushService, WebPushChannel]]:
    private, public = vapid_key_pair()
    async with FakePushService(vapid_public_key=public) as fake:
        channel = WebPushChannel(provider_settings(webpush_vapid_private_key=private))
        yield fake, channel
        await channel.aclose()


async def test_webpush_sends_an_encrypted_vapid_signed_payload(
    vapid_push: tuple[FakePushService, WebPushChannel],
) -> None:
    fake, channel = vapid_push
    subscription = fake.subscribe()
    sent = message(subscription.json())

    outcome = (await channel.send([sent]))[0]

    assert outcome.result is Result.SENT, outcome.error
    assert outcome.provider_id is not None and "/message/" in outcome.provider_id
    assert fake.refusals == []
    (push,) = fake.received
    assert push.headers["content-encoding"] == "aes128gcm"
    assert int(push.headers["ttl"]) > 0
    assert push.vapid_claims["aud"] == fake.base_url
    assert push.vapid_claims["sub"] == "mailto:ops@doorstep.local"
    assert push.payload == {
        "title": "Session moved",
        "body": "Thursday's door-knocking session now starts at 6pm.",
        "link": LINK,
        "data": {"kind": "SESSION_CHANGED", "delivery_id": str(sent.delivery_id)},
    }


async def test_webpush_concurrent_batch_to_many_subscriptions(
    vapid_push: tuple[FakePushService, WebPushChannel],
) -> None:
    fake, channel = vapid_push
    messages = [message(fake.subscribe().json()) for _ in range(15)]

    outcomes = by_id(messages, await channel.send(messages))

    assert all(o.result is Result.SENT for o in outcomes)
    assert len(fake.received) == 15


async def test_webpush_gone_and_unknown_subscriptions_are_unregistered(
    vapid_push: tuple[FakePushService, WebPushChannel],
) -> None:
    fake, channel = vapid_push
    gone = fake.subscribe()
    fake.gone.add(gone.id)
    unknown = fake.subscribe()
    del fake.subscriptions[unknown.id]
    messages = [message(gone.json()), message(unknown.json())]

    outcomes = by_id(messages, await channel.send(messages))

    assert [o.result for o in outcomes] == [Result.UNREGISTERED, Result.UNREGISTERED]
    assert outcomes[0].error is not None and "HTTP 410" in outcomes[0].error
    assert outcomes[1].error is not None and "HTTP 404" in outcomes[1].error


@pytest.mark.parametrize(
    ("status", "retry_after", "result", "expected_wait"),
    [
        (429, "30", Result.RETRY, 30.0),
        (503, None, Result.RETRY, None),
        (500, "2", Result.RETRY, 2.0),
        (400, None, Result.FAILED, None),
        (403, None, Result.FAILED, None),
        (413, "5", Result.FAILED, None),
    ],
)
async def test_webpush_answers(
    vapid_push: tuple[FakePushService, WebPushChannel],
    status: int,
    retry_after: str | None,
    result: Result,
    expected_wait: float | None,
) -> None:
    fake, channel = vapid_push
    fake.script.fail_next(1, status, retry_after=retry_after)

    outcome = (await channel.send([message(fake.subscribe().json())]))[0]

    assert (outcome.result, outcome.retry_after) == (result, expected_wait)


@pytest.mark.parametrize(
    "to",
    [
        "not json",
        json.dumps({"keys": {"p256dh": "x", "auth": "y"}}),
        json.dumps({"endpoint": "http://127.0.0.1:9/push/x"}),
        json.dumps({"endpoint": "file:///etc/passwd", "keys": {"p256dh": "x", "auth": "y"}}),
    ],
)
async def test_webpush_unusable_subscription_is_unregistered_without_a_request(
    vapid_push: tuple[FakePushService, WebPushChannel], to: str
) -> None:
    fake, channel = vapid_push
    outcome = (await channel.send([message(to)]))[0]
    assert outcome.result is Result.UNREGISTERED
    assert outcome.error is not None and "subscription" in outcome.error
    assert fake.received == []


async def test_webpush_network_error_retries(
    vapid_push: tuple[FakePushService, WebPushChannel],
) -> None:
    fake, channel = vapid_push
    info = fake.subscribe().info()
    info["endpoint"] = closed_port_url() + "/push/x"
    outcome = (await channel.send([message(json.dumps(info))]))[0]
    assert outcome.result is Result.RETRY


def test_vapid_key_loads_from_pem_and_base64url(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    (tmp_path / "vapid.pem").write_text(pem)
    raw, public = vapid_key_pair()
    expected = key.public_key().public_numbers()
    assert load_vapid(pem).public_key.public_numbers() == expected
    assert load_vapid(str(tmp_path / "vapid.pem")).public_key.public_numbers() == expected
    from_raw = load_vapid(raw).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert b64url(from_raw) == public


# --- SMS (Twilio) --------------------------------------------------------------------------


@pytest.fixture
async def sms(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioSmsChannel]:
    channel = TwilioSmsChannel(provider_settings(**fake_twilio.settings()))
    yield channel
    await channel.aclose()


async def test_sms_posts_the_form_with_basic_auth(
    fake_twilio: FakeTwilio, sms: TwilioSmsChannel
) -> None:
    sent = message("+447700900123")

    outcome = (await sms.send([sent]))[0]

    assert outcome.result is Result.SENT
    (received,) = fake_twilio.sent
    assert outcome.provider_id == received.sid
    assert received.authorization.startswith("Basic ")
    assert received.form == {
        "From": "+15005550006",
        "To": "+447700900123",
        "Body": f"Session moved\nThursday's door-knocking session now starts at 6pm.\n{LINK}",
        "StatusCallback": "http://doorstep.test/hooks/twilio/status",
    }


@pytest.mark.parametrize("kind", ["invalid_numbers", "not_mobile", "unsubscribed"])
async def test_sms_unusable_numbers_are_unregistered(
    fake_twilio: FakeTwilio, sms: TwilioSmsChannel, kind: str
) -> None:
    getattr(fake_twilio, kind).add("+447700900999")
    outcome = (await sms.send([message("+447700900999")]))[0]
    assert outcome.result is Result.UNREGISTERED
    assert outcome.error is not None and outcome.error.startswith("Twilio error 21")


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "result", "expected_wait"),
    [
        (429, twilio_error(20429, 429, "Too Many Requests"), "4", Result.RETRY, 4.0),
        (503, None, None, Result.RETRY, None),
        (500, None, "12", Result.RETRY, 12.0),
        (400, twilio_error(21602, 400, "Message body is required."), None, Result.FAILED, None),
        (400, twilio_error(21408, 400, "No permission for region"), None, Result.FAILED, None),
    ],
)
async def test_sms_answers(
    fake_twilio: FakeTwilio,
    sms: TwilioSmsChannel,
    status: int,
    body: dict[str, Any] | None,
    retry_after: str | None,
    result: Result,
    expected_wait: float | None,
) -> None:
    fake_twilio.script.fail_next(1, status, json=body, retry_after=retry_after)
    outcome = (await sms.send([message("+447700900123")]))[0]
    assert (outcome.result, outcome.retry_after) == (result, expected_wait)
    if body:
        assert outcome.error is not None and str(body["code"]) in outcome.error


async def test_sms_wrong_credentials_retry_and_say_so(fake_twilio: FakeTwilio) -> None:
    settings = provider_settings(**{**fake_twilio.settings(), "twilio_auth_token": "wrong"})
    channel = TwilioSmsChannel(settings)
    try:
        outcome = (await channel.send([message("+447700900123")]))[0]
    finally:
        await channel.aclose()
    assert outcome.result is Result.RETRY
    assert outcome.error is not None and "credentials" in outcome.error
    assert fake_twilio.sent == []


def test_sms_text_is_kept_short_and_keeps_the_link() -> None:
    text = sms_text(message("+447700900123", body="Bring leaflets. " * 100))
    assert len(text) <= MAX_SMS_CHARS
    assert text.startswith("Session moved\nBring leaflets.")
    assert text.endswith(f"…\n{LINK}")
    assert sms_text(message("+44", body="", link=None)) == "Session moved"


# --- Email (SMTP) --------------------------------------------------------------------------


@pytest.fixture
def email(fake_smtp: FakeSmtp) -> SmtpEmailChannel:
    return SmtpEmailChannel(provider_settings(**fake_smtp.settings()))


async def test_email_sends_plain_text_with_a_stable_message_id(
    fake_smtp: FakeSmtp, email: SmtpEmailChannel
) -> None:
    messages = [message(f"resident{i}@example.org") for i in range(3)]

    outcomes = by_id(messages, await email.send(messages))

    assert all(o.result is Result.SENT for o in outcomes)
    assert fake_smtp.connections == 1
    assert len(fake_smtp.received) == 3
    mail = fake_smtp.received[0]
    assert mail.username == "mailer"
    assert mail.mail_from == "no-reply@doorstep.local"
    assert mail.rcpt_tos == ["resident0@example.org"]
    parsed = mail.message
    expected_id = f"<{messages[0].delivery_id}@doorstep.local>"
    assert parsed["Message-ID"] == expected_id == outcomes[0].provider_id
    assert parsed["From"] == "Doorstep <no-reply@doorstep.local>"
    assert parsed["To"] == "resident0@example.org"
    assert parsed["Subject"] == "Session moved"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().replace("\r\n", "\n") == (
        f"Session moved\n\nThursday's door-knocking session now starts at 6pm.\n\n{LINK}\n"
    )


async def test_email_recipient_refusals(fake_smtp: FakeSmtp, email: SmtpEmailChannel) -> None:
    fake_smtp.rcpt_replies["nobody@example.org"] = "550 5.1.1 User unknown"
    fake_smtp.rcpt_replies["bad@example.org"] = "553 5.1.3 Bad recipient address syntax"
    fake_smtp.rcpt_replies["full@example.org"] = "452 4.2.2 Mailbox full"
    messages = [
        message("nobody@example.org"),
        message("bad@example.org"),
        message("full@example.org"),
        message("resident@example.org"),
    ]

    outcomes = by_id(messages, await email.send(messages))

    assert [o.result for o in outcomes] == [
        Result.UNREGISTERED,
        Result.FAILED,
        Result.RETRY,
        Result.SENT,
    ]
    assert outcomes[0].error is not None and outcomes[0].error.startswith("SMTP 550")
    assert [m.rcpt_tos for m in fake_smtp.received] == [["resident@example.org"]]


async def test_email_data_refusals(fake_smtp: FakeSmtp, email: SmtpEmailChannel) -> None:
    fake_smtp.data_replies.extend(["451 4.3.0 Try again later", "554 5.6.0 Rejected content"])
    messages = [message("a@example.org"), message("b@example.org"), message("c@example.org")]

    outcomes = by_id(messages, await email.send(messages))

    assert [o.result for o in outcomes] == [Result.RETRY, Result.FAILED, Result.SENT]


async def test_email_dropped_connection_retries_the_rest(
    fake_smtp: FakeSmtp, email: SmtpEmailChannel
) -> None:
    fake_smtp.disconnect_on_data = 1
    messages = [message("a@example.org"), message("b@example.org")]

    outcomes = by_id(messages, await email.send(messages))

    assert [o.result for o in outcomes] == [Result.RETRY, Result.RETRY]
    assert fake_smtp.received == []
    assert all(o.result is Result.SENT for o in await email.send(messages))


async def test_email_wrong_password_retries_and_says_so(fake_smtp: FakeSmtp) -> None:
    url = f"smtp://mailer:wrong@127.0.0.1:{fake_smtp.port}"
    channel = SmtpEmailChannel(provider_settings(smtp_url=url))
    outcomes = await channel.send([message("a@example.org")])
    assert outcomes[0].result is Result.RETRY
    assert outcomes[0].error is not None and "login refused" in outcomes[0].error
    assert fake_smtp.auth_failures >= 1  # aiosmtplib tries each mechanism offered
    assert fake_smtp.received == []


async def test_email_unreachable_server_retries() -> None:
    url = closed_port_url("smtp")
    channel = SmtpEmailChannel(provider_settings(smtp_url=url))
    outcomes = await channel.send([message("a@example.org"), message("b@example.org")])
    assert [o.result for o in outcomes] == [Result.RETRY, Result.RETRY]


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtps"])
async def test_email_over_tls(implicit: bool) -> None:
    server_tls, client_tls = tls_contexts()
    async with FakeSmtp(
        username="mailer", password="secret", tls=server_tls, implicit_tls=implicit
    ) as fake:
        channel = SmtpEmailChannel(provider_settings(**fake.settings()), tls_context=client_tls)
        outcomes = await channel.send([message("a@example.org")])
    assert outcomes[0].result is Result.SENT, outcomes[0].error
    assert fake.received[0].username == "mailer"


def test_smtp_url_parsing() -> None:
    server = parse_smtp_url("smtps://user%40x:p%3Ass@mail.example.org")
    assert (server.hostname, server.port, server.use_tls, server.start_tls) == (
        "mail.example.org",
        465,
        True,
        False,
    )
    assert (server.username, server.password) == ("user@x", "p:ss")
    plain = parse_smtp_url("smtp://mail.example.org", starttls=True)
    assert (plain.port, plain.use_tls, plain.start_tls, plain.username) == (587, False, True, None)
    with pytest.raises(ValueError, match="smtp://"):
        parse_smtp_url("http://mail.example.org")


# --- Log channel and registry --------------------------------------------------------------


async def test_log_channel_logs_what_it_would_send(caplog: pytest.LogCaptureFixture) -> None:
    channel = LogChannel("SMS")
    sent = message("+447700900123")
    with caplog.at_level(logging.INFO, logger="workers.channels.log"):
        outcomes = await channel.send([sent])
    assert outcomes == [Outcome(sent.delivery_id, Result.SENT)]
    (record,) = caplog.records
    text = record.getMessage()
    for part in ("SMS", "+447700900123", "Session moved", "6pm", LINK):
        assert part in text


SECRET_TOKEN = "Zq3xV9mK2pL7wR4tY8uN1bC6dF0gH5jA_-kE2sW9qQ0"


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("link", f"https://doorstep.test/set-password?token={SECRET_TOKEN}", "set-password?token="),
        ("link", f"https://doorstep.test/invite/{SECRET_TOKEN}", "https://doorstep.test/invite/"),
        ("link", f"https://doorstep.test/a#{SECRET_TOKEN}", "https://doorstep.test/a#"),
        ("body", f"Open http://x.test/set-password?token={SECRET_TOKEN}&next=/ now", "Open"),
        ("body", f"Your sign-in token: {SECRET_TOKEN}", "Your sign-in token: [redacted]"),
        ("body", "Your code is 482913.", "Your code is [redacted]."),
        ("title", f"Code {SECRET_TOKEN}", "Code [redacted]"),
    ],
)
async def test_log_channel_never_logs_a_token_link_or_code(
    caplog: pytest.LogCaptureFixture, field: str, value: str, kept: str
) -> None:
    sent = message("someone@alpha.test", **{field: value})
    with caplog.at_level(logging.INFO, logger="workers.channels.log"):
        await LogChannel("EMAIL").send([sent])
    (record,) = caplog.records
    text = record.getMessage()
    assert SECRET_TOKEN not in text and "482913" not in text
    assert kept in text and "someone@alpha.test" in text


@pytest.mark.parametrize("channel", ["EXPO", "FCM", "WEBPUSH"])
async def test_log_channel_never_logs_a_push_token(
    caplog: pytest.LogCaptureFixture, channel: str
) -> None:
    push_token = f"ExponentPushToken[{SECRET_TOKEN}]"
    with caplog.at_level(logging.INFO, logger="workers.channels.log"):
        await LogChannel(channel).send([message(push_token)])
    (record,) = caplog.records
    assert SECRET_TOKEN not in record.getMessage()
    assert "to=push token #" in record.getMessage()


@pytest.mark.parametrize("delivery", [None, "live"])
async def test_channels_left_out_of_doorstep_channels_are_refused(delivery: str | None) -> None:
    settings = provider_settings(delivery=delivery, smtp_url="smtp://127.0.0.1:25")
    settings = settings.model_copy(update={"channels": [ChannelName.EMAIL]})
    channels = build_channels(settings)
    try:
        assert isinstance(channels[ChannelName.EMAIL], SmtpEmailChannel if delivery else LogChannel)
        for name in set(ChannelName) - {ChannelName.EMAIL}:
            channel = channels[name]
            assert isinstance(channel, UnavailableChannel)
            assert channel.reason == f"{name} is not enabled on this deployment (DOORSTEP_CHANNELS)"
    finally:
        await close_channels(channels)


async def test_registry_logs_everything_in_development() -> None:
    settings = provider_settings(delivery=None, smtp_url="smtp://127.0.0.1:25")
    assert not settings.live_delivery
    channels = build_channels(settings)
    try:
        assert set(channels) == set(ChannelName)
        for name, channel in channels.items():
            assert isinstance(channel, LogChannel)
            assert channel.name == name
    finally:
        await close_channels(channels)


async def test_registry_goes_live_only_where_configured(tmp_path: Path) -> None:
    """Live delivery never falls back to a log: an unconfigured channel is refused."""
    bare = build_channels(provider_settings(smtp_url="smtp://127.0.0.1:25"))
    try:
        assert isinstance(bare[ChannelName.EXPO], ExpoChannel)
        assert isinstance(bare[ChannelName.EMAIL], SmtpEmailChannel)
        needs = {
            ChannelName.FCM: "DOORSTEP_FCM_PROJECT_ID",
            ChannelName.WEBPUSH: "DOORSTEP_WEBPUSH_VAPID_PRIVATE_KEY",
            ChannelName.SMS: "DOORSTEP_TWILIO_ACCOUNT_SID",
        }
        for name, setting in needs.items():
            channel = bare[name]
            assert isinstance(channel, UnavailableChannel)
            assert channel.name == name
            sent = message("someone")
            [outcome] = await channel.send([sent])
            assert outcome.result is Result.UNAVAILABLE
            assert f"{name} is not configured" in str(outcome.error)
            assert setting in str(outcome.error)
    finally:
        await close_channels(bare)

    private, _ = vapid_key_pair()
    full = build_channels(
        provider_settings(
            smtp_url="smtp://127.0.0.1:25",
            fcm_project_id="p",
            fcm_access_token="t",
            webpush_vapid_private_key=private,
            twilio_account_sid="AC1",
            twilio_auth_token="secret",
            twilio_from_number="+15005550006",
        )
    )
    try:
        assert {name: type(c) for name, c in full.items()} == {
            ChannelName.EXPO: ExpoChannel,
            ChannelName.FCM: FcmChannel,
            ChannelName.WEBPUSH: WebPushChannel,
            ChannelName.SMS: TwilioSmsChannel,
            ChannelName.EMAIL: SmtpEmailChannel,
        }
        for name, channel in full.items():
            assert channel.name == name
            assert channel.max_batch >= 1
    finally:
        await close_channels(full)


async def test_an_address_with_a_random_looking_domain_is_still_redacted_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = "rosa@org-3f9a8b7c6d5e4f3a2b1c0d9e.test"
    with caplog.at_level(logging.INFO, logger="workers.channels.log"):
        await LogChannel("EMAIL").send([message(address)])
    (record,) = caplog.records
    line = redact_personal(record.getMessage())
    assert "to=[email]" in line
    assert "rosa" not in line and "3f9a8b7c" not in line
