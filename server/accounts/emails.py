"""Invitation and password-reset emails: what to send for an ``email.account`` outbox row.

The row's payload carries the one-time link until the email is built; the caller erases it
from the row (``without_link``) in the same transaction. Never log the link: in a log it
would be a way into the account.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Organisation, User
from server.notifications.spec import NotifySpec

ACCOUNT_EMAIL_TOPIC = "email.account"


async def account_email_spec(
    session: AsyncSession, payload: dict[str, Any], event_key: str
) -> NotifySpec | None:
    """The email to send for this payload, or None (the user is gone, or it was sent)."""
    user = await session.get(User, uuid.UUID(payload["user_id"]))
    if user is None or "link" not in payload:
        return None
    organisation = await session.get(Organisation, user.organisation_id)
    expires = datetime.fromisoformat(payload["expires_at"])
    return NotifySpec(
        organisation_id=user.organisation_id,
        user_ids=[user.id],
        template=payload["template"],
        event_key=event_key,
        params={
            "organisation": organisation.name if organisation else "your organisation",
            "link": payload["link"],
            "expires": expires.strftime("%d %B %Y at %H:%M UTC"),
        },
    )


def without_link(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as it may stay in the outbox once the email exists."""
    return {k: v for k, v in payload.items() if k != "link"}
