"""Push devices of the signed-in person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Device
from server.audit.service import record
from server.enums import Platform, PushProvider
from server.errors import not_found
from server.security.access import Actor
from server.validation import optional_text, required_text


@dataclass(frozen=True)
class NewDevice:
    platform: Platform
    provider: PushProvider
    token: str
    locale: str | None = None


def _audit(session: AsyncSession, actor: Actor, action: str, device_id: uuid.UUID) -> None:
    record(
        session,
        organisation_id=actor.organisation_id,
        actor_id=actor.user_id,
        action=action,
        entity_type="Device",
        entity_id=device_id,
    )


async def register_device(session: AsyncSession, actor: Actor, data: NewDevice) -> Device:
    """One device per (provider, token): registering again updates it, and re-enables it.

    A token that moves to another account (a shared phone) follows the new sign-in.
    """
    token = required_text(data.token, "input.token", "the push token", 4096)
    locale = optional_text(data.locale, "input.locale", "a locale", 35)
    device = await session.scalar(
        sa.select(Device).where(col(Device.provider) == data.provider, col(Device.token) == token)
    )
    if device is None:
        device = Device(
            user_id=actor.user_id, provider=data.provider, platform=data.platform, token=token
        )
        session.add(device)
    device.user_id = actor.user_id
    device.platform = data.platform
    device.locale = locale
    device.disabled_at = None
    device.disabled_reason = None
    _audit(session, actor, "device.register", device.id)
    await session.commit()
    return device


async def unregister_device(session: AsyncSession, actor: Actor, device_id: uuid.UUID) -> None:
    device = await session.get(Device, device_id)
    if device is None or device.user_id != actor.user_id:
        raise not_found("device")
    await session.delete(device)
    _audit(session, actor, "device.unregister", device_id)
    await session.commit()
