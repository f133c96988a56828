"""A member's notification preferences and quiet hours."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.audit.service import audit
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.validation import collect
from server.notifications.models import DigestFrequency, NotificationPreference, defaults_for
from server.security.access import Actor

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class PreferencesChange:
    """None leaves a value as it is; "" clears quiet hours."""

    push_enabled: bool | None = None
    email_enabled: bool | None = None
    sms_enabled: bool | None = None
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    timezone: str | None = None
    digest: DigestFrequency | None = None


async def get_preferences(session: AsyncSession, user_id: uuid.UUID) -> NotificationPreference:
    found = await session.scalar(
        sa.select(NotificationPreference).where(col(NotificationPreference.user_id) == user_id)
    )
    return found or defaults_for(user_id)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


async def update_preferences(
    session: AsyncSession, actor: Actor, change: PreferencesChange
) -> NotificationPreference:
    problems: list[Problem | None] = []
    for field, value in (
        ("quietHoursStart", change.quiet_hours_start),
        ("quietHoursEnd", change.quiet_hours_end),
    ):
        if value and not _HHMM.match(value):
            problems.append(
                Problem(UserErrorCode.INVALID, "Use 24-hour time, such as 21:30.", f"input.{field}")
            )
    if change.timezone is not None and _zone(change.timezone) is None:
        problems.append(
            Problem(
                UserErrorCode.INVALID,
                "Use a time zone name such as Europe/London.",
                "input.timezone",
            )
        )
    collect(*problems)
    prefs = await session.scalar(
        sa.select(NotificationPreference).where(
            col(NotificationPreference.user_id) == actor.user_id
        )
    )
    if prefs is None:
        prefs = defaults_for(actor.user_id)
        session.add(prefs)
    for name in ("push_enabled", "email_enabled", "sms_enabled", "timezone", "digest"):
        value = getattr(change, name)
        if value is not None:
            setattr(prefs, name, value)
    for name in ("quiet_hours_start", "quiet_hours_end"):
        value = getattr(change, name)
        if value is not None:
            setattr(prefs, name, value or None)
    if (prefs.quiet_hours_start is None) != (prefs.quiet_hours_end is None):
        missing = (
            "input.quietHoursEnd" if prefs.quiet_hours_end is None else "input.quietHoursStart"
        )
        raise UserError.of(
            UserErrorCode.REQUIRED, "Quiet hours need both a start and an end.", missing
        )
    audit(session, actor, "notification_preferences.update", (User, actor.user_id))
    await session.commit()
    return prefs


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def quiet_until(prefs: NotificationPreference, now: datetime) -> datetime | None:
    """When quiet hours end, if ``now`` falls inside them in the person's time zone."""
    if not prefs.quiet_hours_start or not prefs.quiet_hours_end:
        return None
    zone = _zone(prefs.timezone) or ZoneInfo("UTC")
    local = now.astimezone(zone)
    start, end = _parse(prefs.quiet_hours_start), _parse(prefs.quiet_hours_end)
    t = local.time()
    if start == end:
        return None
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone)
