"""Push devices of the signed-in person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Device
from server.audit.service import record
from server.enums import Platform, PushProvider
from server.errors import not_found
from server.models import utcnow
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
    One upsert, so registrations of the same token that overlap (the app registers at start
    and again when the token arrives) give one device instead of a unique-key violation.
    """
    token = required_text(data.token, "input.token", "the push token", 4096)
    locale = optional_text(data.locale, "input.locale", "a locale", 35)
    now = utcnow()
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
    _audit(session, actor, "device.register", device_id)
    await session.commit()
    device = await session.get(Device, device_id, populate_existing=True)
    assert device is not None
    return device


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
    _audit(session, actor, "device.unregister", device_id)
    await session.commit()
