"""Expo push receipts, fetched some minutes after sending (Expo keeps them 24 hours)."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.core.manifest import Job, JobOptions
from server.core.models import utcnow
from server.notifications import deliveries
from server.notifications.models import ChannelName
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
        rows = await deliveries.awaiting_receipts(
            session, ChannelName.EXPO, now - delay, now - timedelta(hours=23), PER_CALL * 5
        )
        for start in range(0, len(rows), PER_CALL):
            batch = {r.provider_id: r for r in rows[start : start + PER_CALL] if r.provider_id}
            answers = await receipts(list(batch))
            checked += await deliveries.apply_receipts(session, batch, answers, now)
            await session.commit()
    return checked


async def check_receipts(runtime: Runtime) -> int:
    return await check_expo_receipts(runtime)


CHECK_RECEIPTS = Job(check_receipts, JobOptions(timeout=120, retries=2), cron="*/5 * * * *")
