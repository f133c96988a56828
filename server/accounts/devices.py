"""Push devices of the signed-in person."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Device
from server.audit.service import audit
from server.core.enums import Platform, PushProvider
from server.core.errors import UserError, UserErrorCode, not_found
from server.core.models import utcnow
from server.core.validation import optional_text, required_text
from server.notifications.models import Delivery, DeliveryStatus
from server.security.access import Actor

MAX_TOKEN_CHARS = 4096
_EXPO = re.compile(r"^Expo(nent)?PushToken\[[^\[\]\s]+\]$")
_FCM = re.compile(r"^[\x21-\x7e]{8,1024}$")  # printable ASCII, no whitespace
_APNS = re.compile(r"^(?:[0-9a-fA-F]{2}){32,100}$")


@dataclass(frozen=True)
class NewDevice:
    platform: Platform
    provider: PushProvider
    token: str
    locale: str | None = None


def _b64url_bytes(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


class _PushKeys(BaseModel):
    p256dh: str
    auth: str

    @field_validator("p256dh")
    @classmethod
    def _p256dh(cls, value: str) -> str:
        point = _b64url_bytes(value)
        if len(point) != 65 or point[0] != 4:
            raise ValueError("p256dh is not an uncompressed P-256 public key")
        return value

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        if len(_b64url_bytes(value)) != 16:
            raise ValueError("auth is not a 16-byte secret")
        return value


class _WebPushSubscription(BaseModel):
    """What a browser's ``PushSubscription.toJSON()`` gives; other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str
    keys: _PushKeys

    @field_validator("endpoint")
    @classmethod
    def _https_endpoint(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("the endpoint is not an https URL")
        return value


_TOKEN_FORMS = {
    PushProvider.EXPO: "an Expo push token, such as ExponentPushToken[...]",
    PushProvider.FCM: "an FCM registration token (no spaces, at most 1024 characters)",
    PushProvider.APNS: "an APNs device token in hexadecimal",
    PushProvider.WEBPUSH: "the browser's push subscription as JSON, with an https endpoint "
    "and keys p256dh and auth",
}


def check_push_token(provider: PushProvider, token: str | None) -> str:
    """The token in the form its provider gives it (web push: compact JSON), or INVALID."""
    text = required_text(token, "input.token", "the push token", MAX_TOKEN_CHARS)
    checked: str | None = None
    if provider is PushProvider.EXPO:
        checked = text if _EXPO.match(text) else None
    elif provider is PushProvider.FCM:
        checked = text if _FCM.match(text) else None
    elif provider is PushProvider.APNS:
        checked = text.lower() if _APNS.match(text) else None
    elif provider is PushProvider.WEBPUSH:
        try:
            subscription = _WebPushSubscription.model_validate_json(text)
        except ValidationError:
            checked = None
        else:
            checked = json.dumps(subscription.model_dump(), separators=(",", ":"))
    if checked is None:
        raise UserError.of(UserErrorCode.INVALID, f"Send {_TOKEN_FORMS[provider]}.", "input.token")
    return checked


async def register_device(session: AsyncSession, actor: Actor, data: NewDevice) -> Device:
    """One device per (provider, token): registering again updates it, and re-enables it.

    A token registered by someone else (a shared phone) moves to whoever signed in last:
    the previous owner's device is removed with what still waits for it, and the new owner
    gets a device of their own, so nothing tells either that the phone was someone else's.
    Then one upsert, so registrations of the same token that overlap (the app registers at
    start and again when the token arrives) give one device, not a unique-key violation.
    """
    token = check_push_token(data.provider, data.token)
    locale = optional_text(data.locale, "input.locale", "a locale", 35)
    now = utcnow()
    await _release_from_others(session, actor, data.provider, token)
    insert = _insert_for(session)(Device).values(
        id=uuid.uuid4(),
        user_id=actor.user_id,
        provider=data.provider,
        platform=data.platform,
        token=token,
        locale=locale,
        created_at=now,
        updated_at=now,
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[col(Device.provider), col(Device.token)],
        set_={
            "user_id": insert.excluded.user_id,
            "platform": insert.excluded.platform,
            "locale": insert.excluded.locale,
            "disabled_at": None,
            "disabled_reason": None,
            "updated_at": now,
        },
    ).returning(col(Device.id))
    device_id = await session.scalar(upsert)
    assert device_id is not None
    audit(session, actor, "device.register", (Device, device_id))
    await session.commit()
    device = await session.get(Device, device_id, populate_existing=True)
    assert device is not None
    return device


async def _release_from_others(
    session: AsyncSession, actor: Actor, provider: PushProvider, token: str
) -> None:
    others = sa.select(col(Device.id)).where(
        col(Device.provider) == provider,
        col(Device.token) == token,
        col(Device.user_id) != actor.user_id,
    )
    ids = list((await session.scalars(others)).all())
    if not ids:
        return
    await session.execute(
        sa.update(Delivery)
        .where(col(Delivery.device_id).in_(ids), col(Delivery.status) == DeliveryStatus.PENDING)
        .values(
            status=DeliveryStatus.SKIPPED, last_error="the device was signed in to another account"
        )
    )
    await session.execute(sa.delete(Device).where(col(Device.id).in_(ids)))


def _insert_for(session: AsyncSession) -> Any:
    """INSERT with ON CONFLICT: the same API on both databases, from different modules."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert for {dialect}")


async def unregister_device(session: AsyncSession, actor: Actor, device_id: uuid.UUID) -> None:
    device = await session.get(Device, device_id)
    if device is None or device.user_id != actor.user_id:
        raise not_found("device")
    await session.delete(device)
    audit(session, actor, "device.unregister", (Device, device_id))
    await session.commit()
