"""Telling residents (people without an account): one notification and one email or SMS
delivery per resident and event, created in bulk.

The caller names each resident with the channel and address to use, having checked their
consent; this domain never reads the residents' table. A resident's notification is never
in-app and has no push delivery; its deliveries go through the same queue, retries, dead
letters and status callbacks as members' (server/notifications/deliveries.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.notifications.models import Delivery, Notification
from server.notifications.rows import FRESH_DELIVERY, NewNotification, chunks, new_row
from server.notifications.spec import NotifySpec, ResidentRecipient
from server.notifications.templates import Template, render


def resident_key(event_key: str, resident_id: uuid.UUID) -> str:
    """The dedupe key of an event's notification to one resident: told once, however often
    the event is handled."""
    return f"{event_key}:resident:{resident_id}"


def unique_residents(recipients: list[ResidentRecipient]) -> list[ResidentRecipient]:
    """Each resident once (the first channel given), in the order given."""
    seen: dict[uuid.UUID, ResidentRecipient] = {}
    for recipient in recipients:
        seen.setdefault(recipient.resident_id, recipient)
    return list(seen.values())


async def create_resident_notifications(
    session: AsyncSession, spec: NotifySpec, chosen: Template, now: datetime
) -> list[NewNotification]:
    """The spec's residents not yet told of this event: bulk inserts, CHUNK at a time."""
    if not spec.residents:
        return []
    if not chosen.residents:
        raise ValueError(f"template {spec.template!r} is not one for residents")
    shared = render(spec.template, spec.params)
    created: list[NewNotification] = []
    for batch in chunks(unique_residents(spec.residents)):
        keys = {r.resident_id: resident_key(spec.event_key, r.resident_id) for r in batch}
        existing = set(
            (
                await session.scalars(
                    sa.select(col(Notification.dedupe_key)).where(
                        col(Notification.dedupe_key).in_(list(keys.values()))
                    )
                )
            ).all()
        )
        notifications: list[dict[str, object]] = []
        deliveries: list[dict[str, object]] = []
        for recipient in batch:
            key = keys[recipient.resident_id]
            if key in existing:
                continue
            title, body = (
                render(spec.template, {**spec.params, **recipient.params})
                if recipient.params
                else shared
            )
            notification_id = uuid.uuid4()
            notifications.append(
                {
                    **new_row(notification_id, now),
                    "organisation_id": spec.organisation_id,
                    "user_id": None,
                    "resident_id": recipient.resident_id,
                    "dedupe_key": key,
                    "kind": chosen.kind,
                    "title": title,
                    "body": body,
                    "link": recipient.link,
                    "read_at": None,
                    "in_app": False,
                    "sensitive": chosen.sensitive,
                }
            )
            deliveries.append(
                {
                    **new_row(uuid.uuid4(), now),
                    **FRESH_DELIVERY,
                    "notification_id": notification_id,
                    "channel": recipient.channel,
                    "device_id": None,
                    "address": recipient.address,
                    "next_attempt_at": now,
                }
            )
            created.append(
                NewNotification(
                    id=notification_id,
                    user_id=None,
                    kind=chosen.kind,
                    title=title,
                    body=body,
                    link=recipient.link,
                    created_at=now,
                    in_app=False,
                    due_now=frozenset({recipient.channel}),
                )
            )
        if notifications:
            await session.execute(sa.insert(Notification), notifications)
            await session.execute(sa.insert(Delivery), deliveries)
    return created
