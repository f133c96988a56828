"""The demo's resident link: `make run` prints a fresh one each start, so a newcomer can
open the response page at once (tokens are kept only as hashes, so an old one cannot be
shown again)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from server.core.models import utcnow
from server.core.settings import Settings
from server.residents.enums import InvitationChannel
from server.residents.invitations import invitation_url
from server.residents.models import DEFAULT_INVITATION_DAYS, Invitation
from server.residents.tokens import new_token


async def demo_invitation_link(
    session: AsyncSession, settings: Settings, organisation_id: uuid.UUID, campaign_id: uuid.UUID
) -> str:
    """A new LINK invitation to the demo campaign and its URL (the caller commits)."""
    token, digest = new_token()
    session.add(
        Invitation(
            organisation_id=organisation_id,
            campaign_id=campaign_id,
            channel=InvitationChannel.LINK,
            token_hash=digest,
            expires_at=utcnow() + timedelta(days=DEFAULT_INVITATION_DAYS),
        )
    )
    return invitation_url(settings, token)
