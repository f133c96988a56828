"""A member's in-app notifications: listing and marking read."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.core.errors import Problem, UserErrorCode
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.core.validation import collect
from server.notifications.models import Notification
from server.security.access import Actor

# What the API shows of a notification: the inbox lists these, as plain rows.
NOTIFICATION_COLUMNS: tuple[Any, ...] = (
    col(Notification.id),
    col(Notification.kind),
    col(Notification.title),
    col(Notification.body),
    col(Notification.link),
    col(Notification.created_at),
    col(Notification.read_at),
)


def _mine(actor: Actor, *columns: Any) -> sa.Select[*tuple[Any, ...]]:
    return sa.select(*columns).where(
        col(Notification.user_id) == actor.user_id,
        col(Notification.organisation_id) == actor.organisation_id,
        col(Notification.in_app).is_(True),
    )


async def list_notifications(
    session: AsyncSession, actor: Actor, page: PageRequest, unread_only: bool = False
) -> Page[sa.Row[Any]]:
    stmt = _mine(actor, *NOTIFICATION_COLUMNS)
    if unread_only:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    return await paginate(
        session, stmt, [col(Notification.created_at), col(Notification.id)], page, descending=True
    )


async def unread_count(session: AsyncSession, actor: Actor) -> int:
    stmt = sa.select(sa.func.count()).select_from(
        _mine(actor, col(Notification.id)).where(col(Notification.read_at).is_(None)).subquery()
    )
    return int((await session.execute(stmt)).scalar_one())


async def mark_read(session: AsyncSession, actor: Actor, ids: list[uuid.UUID]) -> int:
    """Mark these read (all or none: an id that is not the caller's is NOT_FOUND)."""
    wanted = list(dict.fromkeys(ids))
    found = set(
        (
            await session.scalars(
                sa.select(col(Notification.id)).where(
                    col(Notification.id).in_(wanted),
                    col(Notification.user_id) == actor.user_id,
                    col(Notification.in_app).is_(True),
                )
            )
        ).all()
    )
    collect(
        *(
            Problem(UserErrorCode.NOT_FOUND, "No such notification.", f"ids.{i}")
            for i, n in enumerate(ids)
            if n not in found
        )
    )
    if found:
        await session.execute(
            sa.update(Notification)
            .where(col(Notification.id).in_(found), col(Notification.read_at).is_(None))
            .values(read_at=utcnow())
        )
    audit(
        session,
        actor,
        "notification.mark_read",
        (Notification, wanted[0] if len(wanted) == 1 else None),
        {"count": len(found)},
    )
    await session.commit()
    return await unread_count(session, actor)
