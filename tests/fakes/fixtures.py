"""pytest fixtures for the fake providers, each started fresh on a free port per test.

Use them from a test module with ``pytest_plugins = ["tests.fakes.fixtures"]`` (or from
the root conftest.py with the same line).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.expo import FakeExpo
from tests.fakes.fcm import FakeFcm
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.fakes.webpush import FakePushService


@pytest.fixture
async def fake_expo() -> AsyncIterator[FakeExpo]:
    async with FakeExpo() as fake:
        yield fake


@pytest.fixture
async def fake_fcm() -> AsyncIterator[FakeFcm]:
    async with FakeFcm() as fake:
        yield fake


@pytest.fixture
async def fake_push_service() -> AsyncIterator[FakePushService]:
    async with FakePushService() as fake:
        yield fake


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


@pytest.fixture
async def fake_smtp() -> AsyncIterator[FakeSmtp]:
    async with FakeSmtp(username="mailer", password="p@ss word") as fake:
        yield fake
