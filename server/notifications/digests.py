"""Digests, hourly by cron: each person gets theirs at DIGEST_HOUR local time.

Domains contribute sections (server.core.manifest.DigestSection) in their manifests:
training's "trainees who are behind" for trainers, campaigns' "follow-ups due today" for
organisers. A person whose sections are all empty gets no digest.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.core.manifest import Job, JobOptions
from server.core.models import utcnow
from server.notifications.models import (
    DigestFrequency,
    NotificationPreference,
    defaults_for,
)
from server.notifications.rows import NewNotification
from server.notifications.service import create_notifications
from server.notifications.spec import NotifySpec
from server.notifications.wake import after_commit

if TYPE_CHECKING:
    from server.core.manifest import JobContext, Registry


async def digest_lines(
    registry: Registry, session: AsyncSession, user: User, day: date
) -> list[str]:
    lines: list[str] = []
    for section in registry.digest_sections.values():
        lines.extend(await section.lines(session, user, day))
    return lines


DIGEST_HOUR = 7
CHUNK = 500


def due(frequency: DigestFrequency, local: datetime) -> bool:
    if frequency is DigestFrequency.NEVER or local.hour != DIGEST_HOUR:
        return False
    return frequency is DigestFrequency.DAILY or local.weekday() == 0


async def send_due_digests(ctx: JobContext, now: datetime | None = None) -> int:
    now = now or utcnow()
    created: list[NewNotification] = []
    async with ctx.services.db.session() as session:
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
                created.extend(await _digest_for(ctx, session, user, prefs, now))
        await session.commit()
    await after_commit(ctx, created)
    return len(created)


async def _digest_for(
    ctx: JobContext,
    session: AsyncSession,
    user: User,
    prefs: NotificationPreference | None,
    now: datetime,
) -> list[NewNotification]:
    prefs = prefs or defaults_for(user.id)
    local = now.astimezone(ZoneInfo(prefs.timezone))
    if not due(prefs.digest, local):
        return []
    lines = await digest_lines(ctx.registry, session, user, local.date())
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


async def send_digests(ctx: JobContext) -> int:
    return await send_due_digests(ctx)


SEND_DIGESTS = Job(send_digests, JobOptions(timeout=600, heartbeat=60, retries=2), cron="0 * * * *")
