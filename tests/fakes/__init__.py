"""Local fake providers (Expo, FCM, web push, Twilio, SMTP) on real sockets, for tests and
benchmarks. Fixtures: ``tests.fakes.fixtures``; settings: ``provider_settings``."""

from __future__ import annotations

from typing import Any

from server.core.settings import Settings
from tests.fakes.expo import FakeExpo
from tests.fakes.fcm import FakeFcm, fcm_error
from tests.fakes.server import Script, closed_port_url
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.fakes.webpush import FakePushService, Subscription, vapid_key_pair

__all__ = [
    "FakeExpo",
    "FakeFcm",
    "FakePushService",
    "FakeSmtp",
    "FakeTwilio",
    "Script",
    "Subscription",
    "closed_port_url",
    "fcm_error",
    "provider_settings",
    "vapid_key_pair",
]


def provider_settings(**overrides: Any) -> Settings:
    """Live-delivery Settings that read no environment or .env, with the given fields
    (typically ``**fake.settings()``)."""
    values: dict[str, Any] = {
        "delivery": "live",
        "public_url": "http://doorstep.test",
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)
