"""Invitation and password-reset emails: staged with a token, built by the worker."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Organisation, User
from server.core.manifest import Topic
from server.notifications.rows import NewNotification
from server.notifications.service import create_notifications
from server.notifications.spec import NotifySpec
from server.notifications.templates import Template
from server.outbox.models import OutboxMessage

if TYPE_CHECKING:
    from server.core.manifest import JobContext

log = logging.getLogger(__name__)

TEMPLATES = {
    "invitation": Template.email(
        "You're invited to {organisation} on Doorstep",
        "You have been added to {organisation} on Doorstep. Choose your password to "
        "sign in: {link}\nThe link works once and expires on {expires}.",
    ),
    "password_reset": Template.email(
        "Reset your Doorstep password",
        "Someone asked to reset the password of this account. To choose a new one, open: "
        "{link}\nThe link works once and expires on {expires}. If it wasn't you, ignore "
        "this email.",
    ),
}


async def account_email_spec(
    session: AsyncSession, payload: dict[str, object], event_key: str
) -> NotifySpec | None:
    """The email a staged account link asks for (None once the link has been used)."""
    link = payload.get("link")
    user = await session.get(User, uuid.UUID(str(payload["user_id"])))
    if user is None or not isinstance(link, str):
        return None
    organisation = await session.get(Organisation, user.organisation_id)
    expires = datetime.fromisoformat(str(payload["expires_at"]))
    return NotifySpec(
        organisation_id=user.organisation_id,
        user_ids=[user.id],
        template=str(payload["template"]),
        event_key=event_key,
        params={
            "organisation": organisation.name if organisation else "your organisation",
            "link": link,
            "expires": expires.strftime("%d %B %Y at %H:%M UTC"),
        },
    )


async def send_account_email(
    ctx: JobContext, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    """The outbox handler; the one-time link is erased from the row once it is in the email."""
    spec = await account_email_spec(session, row.payload, f"outbox:{row.id}")
    if spec is None:
        return []
    created = await create_notifications(session, spec)
    row.payload = {k: v for k, v in row.payload.items() if k != "link"}
    # Never the link itself: a one-time link in a log would be a way into the account.
    log.info("account email %s for user %s", spec.template, spec.user_ids[0])
    return created


ACCOUNT_EMAIL = Topic("email.account", send_account_email)
