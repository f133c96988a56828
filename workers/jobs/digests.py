"""Digests, hourly by cron: each person gets theirs at DIGEST_HOUR local time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.core.models import utcnow
from server.notifications.digests import digest_lines
from server.notifications.models import (
    DigestFrequency,
    NotificationPreference,
    defaults_for,
)
from server.notifications.service import NewNotification, create_notifications
from server.notifications.spec import NotifySpec
from workers.outbox import after_commit
from workers.runtime import Runtime

DIGEST_HOUR = 7
CHUNK = 500


def due(frequency: DigestFrequency, local: datetime) -> bool:
    if frequency is DigestFrequency.NEVER or local.hour != DIGEST_HOUR:
        return False
    return frequency is DigestFrequency.DAILY or local.weekday() == 0


async def send_due_digests(runtime: Runtime, now: datetime | None = None) -> int:
    now = now or utcnow()
    created: list[NewNotification] = []
    async with runtime.services.db.session() as session:
        after: uuid.UUID | None = None
        while True:
            stmt = (
                sa.select(User, NotificationPreference)
                .outerjoin(
                    NotificationPreference, col(NotificationPreference.user_id) == col(User.id)
                )
                .where(col(User.is_active).is_(True))
                .order_by(col(User.id))
                .limit(CHUNK)
            )
            if after is not None:
                stmt = stmt.where(col(User.id) > after)
            rows = (await session.execute(stmt)).all()
            if not rows:
                break
            after = rows[-1][0].id
            for user, prefs in rows:
                created.extend(await _digest_for(session, user, prefs, now))
        await session.commit()
    await after_commit(runtime, created)
    return len(created)


async def _digest_for(
    session: AsyncSession, user: User, prefs: NotificationPreference | None, now: datetime
) -> list[NewNotification]:
    prefs = prefs or defaults_for(user.id)
    local = now.astimezone(ZoneInfo(prefs.timezone))
    if not due(prefs.digest, local):
        return []
    lines = await digest_lines(session, user, local.date())
    if not lines:
        return []
    spec = NotifySpec(
        organisation_id=user.organisation_id,
        user_ids=[user.id],
        template="digest",
        event_key=f"digest:{prefs.digest.value}:{local.date().isoformat()}",
        params={"frequency": prefs.digest.value.lower(), "lines": "\n".join(lines)},
    )
    return await create_notifications(session, spec, now)


async def send_digests(ctx: dict[str, Any]) -> int:
    return await send_due_digests(Runtime.of(ctx))
