"""Follow-ups: what an organiser must do by a time, with reminders and escalation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.campaigns.models import FollowUp


async def schedule_follow_up_reminders(session: AsyncSession, follow_up: FollowUp) -> None:
    """Schedule the new follow-up's FOLLOW_UP_DUE reminder and its escalation, in the
    caller's transaction (sync calls this for the follow-ups conversations carry)."""
    raise NotImplementedError
