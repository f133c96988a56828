"""Expo push receipts, fetched some minutes after sending (Expo keeps them 24 hours)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from server.core.manifest import Job, JobOptions
from server.core.models import utcnow
from server.notifications.models import ChannelName, Delivery, DeliveryStatus
from workers.channels.base import Result
from workers.dispatch import disable_devices
from workers.runtime import Runtime

PER_CALL = 1000


async def check_expo_receipts(runtime: Runtime, now: datetime | None = None) -> int:
    now = now or utcnow()
    channel = runtime.channels.get(ChannelName.EXPO)
    receipts = getattr(channel, "receipts", None)
    if receipts is None:
        return 0
    delay = timedelta(seconds=runtime.services.settings.expo_receipt_delay_seconds)
    checked = 0
    async with runtime.services.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(Delivery)
                .where(
                    col(Delivery.channel) == ChannelName.EXPO,
                    col(Delivery.status) == DeliveryStatus.SENT,
                    col(Delivery.provider_id).is_not(None),
                    col(Delivery.sent_at) <= now - delay,
                    col(Delivery.sent_at) > now - timedelta(hours=23),
                )
                .limit(PER_CALL * 5)
            )
        ).all()
        for start in range(0, len(rows), PER_CALL):
            batch = {r.provider_id: r for r in rows[start : start + PER_CALL] if r.provider_id}
            answers = await receipts(list(batch))
            gone = set()
            for ticket, outcome in answers.items():
                row = batch.get(ticket)
                if row is None:
                    continue
                checked += 1
                if outcome.result is Result.DELIVERED:
                    row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
                elif outcome.result in (Result.FAILED, Result.UNREGISTERED):
                    row.status, row.last_error = DeliveryStatus.FAILED, outcome.error
                    if outcome.result is Result.UNREGISTERED and row.device_id:
                        gone.add(row.device_id)
            if gone:
                await disable_devices(session, gone, now)
            await session.commit()
    return checked


async def check_receipts(runtime: Runtime) -> int:
    return await check_expo_receipts(runtime)


CHECK_RECEIPTS = Job(check_receipts, JobOptions(timeout=120, retries=2), cron="*/5 * * * *")
