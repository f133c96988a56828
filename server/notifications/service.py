"""Turning a NotifySpec into notifications and their deliveries (called by the workers)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Device, User
from server.core.enums import PushProvider
from server.core.models import utcnow
from server.notifications.models import (
    ChannelName,
    Delivery,
    Notification,
    NotificationPreference,
    defaults_for,
)
from server.notifications.preferences import quiet_until
from server.notifications.residents import create_resident_notifications
from server.notifications.rows import FRESH_DELIVERY, NewNotification, chunks, new_row
from server.notifications.spec import NotifySpec
from server.notifications.templates import PUSH, render, template

_PUSH_CHANNEL = {
    PushProvider.EXPO: ChannelName.EXPO,
    PushProvider.FCM: ChannelName.FCM,
    PushProvider.WEBPUSH: ChannelName.WEBPUSH,
}
# Channels that wait for the end of quiet hours (email and in-app never wake anyone).
QUIET_CHANNELS = (*PUSH, ChannelName.SMS)


# Read-only stand-in for everyone who never changed their preferences.
DEFAULT_PREFERENCES = defaults_for(uuid.UUID(int=0))


async def create_notifications(
    session: AsyncSession, spec: NotifySpec, now: datetime | None = None
) -> list[NewNotification]:
    """Create what is missing for this event; already-created notifications are left alone.

    Members outside the spec's organisation or deactivated are skipped; residents are told
    by the channel and address the spec gives (server/notifications/residents.py). Returns
    the new notifications (the caller commits, then publishes them live and kicks the dispatchers).
    """
    now = now or utcnow()
    chosen = template(spec.template)
    created: list[NewNotification] = []
    for ids in chunks(list(dict.fromkeys(spec.user_ids))):
        keys = {u: f"{spec.event_key}:{u}" for u in ids}
        existing = set(
            (
                await session.scalars(
                    sa.select(col(Notification.dedupe_key)).where(
                        col(Notification.dedupe_key).in_(list(keys.values()))
                    )
                )
            ).all()
        )
        todo = [u for u in ids if keys[u] not in existing]
        if not todo:
            continue
        users = (
            await session.scalars(
                sa.select(User).where(
                    col(User.id).in_(todo),
                    col(User.organisation_id) == spec.organisation_id,
                    col(User.is_active).is_(True),
                )
            )
        ).all()
        prefs = {
            p.user_id: p
            for p in (
                await session.scalars(
                    sa.select(NotificationPreference).where(
                        col(NotificationPreference.user_id).in_(todo)
                    )
                )
            ).all()
        }
        devices: dict[uuid.UUID, list[Device]] = defaultdict(list)
        if any(c in PUSH for c in chosen.channels):
            for device in (
                await session.scalars(
                    sa.select(Device).where(
                        col(Device.user_id).in_(todo), col(Device.disabled_at).is_(None)
                    )
                )
            ).all():
                devices[device.user_id].append(device)
        notifications: list[dict[str, object]] = []
        deliveries: list[dict[str, object]] = []
        for user in users:
            pref = prefs.get(user.id) or DEFAULT_PREFERENCES
            title, body = render(spec.template, spec.params, user.locale)
            notification_id = uuid.uuid4()
            deferred = quiet_until(pref, now)
            due_now: set[ChannelName] = set()
            for channel, device_id, address in _addresses(
                chosen.channels, pref, user, devices, force_email=chosen.sensitive
            ):
                held = deferred is not None and channel in QUIET_CHANNELS
                if not held:
                    due_now.add(channel)
                deliveries.append(
                    {
                        **new_row(uuid.uuid4(), now),
                        **FRESH_DELIVERY,
                        "notification_id": notification_id,
                        "channel": channel,
                        "device_id": device_id,
                        "address": address,
                        "next_attempt_at": deferred if held else now,
                    }
                )
            created.append(
                NewNotification(
                    id=notification_id,
                    user_id=user.id,
                    kind=chosen.kind,
                    title=title,
                    body=body,
                    link=spec.link,
                    created_at=now,
                    in_app=chosen.in_app,
                    due_now=frozenset(due_now),
                )
            )
            notifications.append(
                {
                    **new_row(notification_id, now),
                    "organisation_id": spec.organisation_id,
                    "user_id": user.id,
                    "dedupe_key": keys[user.id],
                    "kind": chosen.kind,
                    "title": title,
                    "body": body,
                    "link": spec.link,
                    "read_at": None,
                    "in_app": chosen.in_app,
                    "sensitive": chosen.sensitive,
                }
            )
        # Bulk inserts (one statement per table and chunk): notifications first, as the
        # deliveries reference them.
        if notifications:
            await session.execute(sa.insert(Notification), notifications)
        if deliveries:
            await session.execute(sa.insert(Delivery), deliveries)
    created.extend(await create_resident_notifications(session, spec, chosen, now))
    return created


def _addresses(
    channels: Iterable[ChannelName],
    pref: NotificationPreference,
    user: User,
    devices: dict[uuid.UUID, list[Device]],
    *,
    force_email: bool,
) -> Iterable[tuple[ChannelName, uuid.UUID | None, str]]:
    """Where to send, by the person's preferences (account emails go whatever they chose)."""
    for channel in channels:
        if channel in PUSH and pref.push_enabled:
            for device in devices.get(user.id, []):
                if _PUSH_CHANNEL.get(device.provider) is channel:
                    yield channel, device.id, device.token
        elif channel is ChannelName.EMAIL and (pref.email_enabled or force_email):
            yield channel, None, user.email
