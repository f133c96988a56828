"""Erasing a resident: everything that identifies them, in one transaction, while every
count of every report stays as it was.

The residents row stays as an anonymous tombstone (every identifying column NULL, consent
flags false, ``erased_at`` set), so conversations and responses keep their resident and
the residents-reached counts hold. Gone: the consent ledger's lines and the manage
tokens; the free text they wrote (response comments, text answers) or that was written
about them (conversation notes and text answers, follow-up notes, outcomes and reasons);
where they were met (a conversation's location is their door); the addresses and words
of what was sent to them. Their conversations are redacted (``redacted_at``, version + 1,
``updated_at`` now) so that offline clients download the redaction; sync refuses any later
change to a redacted conversation (server/campaigns/sync_rules.decide). Invitations sent
to them and not answered expire: nobody can answer as them. Numbers, choices, ratings and
themes stay: they are anonymous and the reports count them.

The plain functions write in the caller's transaction; ``*_and_commit`` also hold the
conversations' change watermark (server/campaigns/watermark.py) until the commit, which a
change feed reader needs (every caller that commits should use those).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.models import AuditEntry
from server.campaigns import watermark
from server.campaigns.models import Answer, Consent, Conversation, FollowUp, Resident
from server.core.enums import Role
from server.core.errors import UserError, UserErrorCode, not_found
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.resident_rights import erase_resident_addresses
from server.residents import manage_tokens
from server.residents.models import Invitation, Response, ResponseAnswer
from server.residents.rights import holder
from server.security.access import Actor

RESIDENT_REQUEST = "resident request"
ADMIN_REQUEST = "admin request"
RETENTION = "retention"
# What a redacted conversation's content hash becomes: no upload hashes to it.
REDACTED_HASH = "redacted"

_IDENTIFYING = {"name": None, "postcode": None, "email": None, "phone": None}
_NO_CONSENT = {"store_details": False, "contact_again": False, "hear_back": False}


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def erase_resident(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    resident_id: uuid.UUID,
    *,
    actor_id: uuid.UUID | None,
    reason: str,
) -> None:
    """Erase the resident (of this organisation, else NOT_FOUND; ALREADY_DONE when erased
    before) in a fixed number of statements, and audit it with counts only."""
    resident = await session.get(Resident, resident_id, with_for_update=True)
    if resident is None or resident.organisation_id != organisation_id:
        raise not_found("resident")
    if resident.erased_at is not None:
        raise UserError.of(
            UserErrorCode.ALREADY_DONE, "This resident's details were erased already.", "id"
        )
    now = utcnow()
    await session.execute(
        sa.update(Resident)
        .where(col(Resident.id) == resident_id)
        .values(**_IDENTIFYING, **_NO_CONSENT, consent_recorded_at=None, erased_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(resident)
    await session.execute(sa.delete(Consent).where(col(Consent.resident_id) == resident_id))
    await manage_tokens.revoke_all(session, resident_id)
    responses = await _responses(session, resident_id, now)
    conversations = await _conversations(session, resident_id, now)
    await session.execute(
        sa.update(Invitation)
        .where(
            col(Invitation.resident_id) == resident_id,
            col(Invitation.responded_at).is_(None),
            col(Invitation.expires_at) > now,
        )
        .values(expires_at=now)
    )
    notifications = await erase_resident_addresses(session, resident_id)
    session.add(
        AuditEntry(
            organisation_id=organisation_id,
            actor_id=actor_id,
            action="resident.erase",
            entity_type=Resident.__name__,
            entity_id=resident_id,
            details={
                "reason": reason,
                "conversations": conversations,
                "responses": responses,
                "notifications": notifications,
            },
        )
    )


async def _responses(session: AsyncSession, resident_id: uuid.UUID, now: Any) -> int:
    theirs = sa.select(col(Response.id)).where(col(Response.resident_id) == resident_id)
    await session.execute(
        sa.update(ResponseAnswer)
        .where(col(ResponseAnswer.response_id).in_(theirs), col(ResponseAnswer.text).is_not(None))
        .values(text=None)
    )
    result = await session.execute(
        sa.update(Response)
        .where(col(Response.resident_id) == resident_id)
        .values(comment=None, redacted_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def _conversations(session: AsyncSession, resident_id: uuid.UUID, now: Any) -> int:
    """Their conversations redacted, and the follow-ups about them or those conversations
    cleared of words."""
    theirs = sa.select(col(Conversation.id)).where(col(Conversation.resident_id) == resident_id)
    await session.execute(
        sa.update(Answer)
        .where(col(Answer.conversation_id).in_(theirs), col(Answer.text).is_not(None))
        .values(text=None)
    )
    await session.execute(
        sa.update(FollowUp)
        .where(
            sa.or_(
                col(FollowUp.resident_id) == resident_id,
                col(FollowUp.conversation_id).in_(theirs),
            )
        )
        .values(note=None, outcome=None, cancel_reason=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        sa.update(Conversation)
        .where(col(Conversation.resident_id) == resident_id)
        .values(
            notes=None,
            latitude=None,
            longitude=None,
            accuracy_meters=None,
            content_hash=REDACTED_HASH,
            redacted_at=sa.func.coalesce(col(Conversation.redacted_at), now),
            version=col(Conversation.version) + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def erase_my_data(session: AsyncSession, manage_token: str) -> None:
    """The resident's own erasure, by their manage token (EXPIRED when not live)."""
    token = await holder(session, manage_token)
    await erase_resident(
        session, token.organisation_id, token.resident_id, actor_id=None, reason=RESIDENT_REQUEST
    )


async def erase_and_commit(
    services: Services,
    session: AsyncSession,
    organisation_id: uuid.UUID,
    resident_id: uuid.UUID,
    *,
    actor_id: uuid.UUID | None,
    reason: str,
) -> None:
    """``erase_resident`` committed, the change watermark held from before the redacted
    conversations are stamped until they are committed."""
    prefix = services.settings.redis_prefix
    async with watermark.writing(services.redis, prefix, organisation_id):
        await erase_resident(
            session, organisation_id, resident_id, actor_id=actor_id, reason=reason
        )
        await session.commit()


async def erase_my_data_and_commit(
    services: Services, session: AsyncSession, manage_token: str
) -> None:
    """``erase_my_data`` committed, as ``erase_and_commit``."""
    token = await holder(session, manage_token)
    await erase_and_commit(
        services,
        session,
        token.organisation_id,
        token.resident_id,
        actor_id=None,
        reason=RESIDENT_REQUEST,
    )


async def erase_resident_by_admin(
    services: Services, session: AsyncSession, actor: Actor, resident_id: uuid.UUID
) -> None:
    """An admin's erasure of a resident of their organisation, committed."""
    actor.require(Role.ADMIN)
    await erase_and_commit(
        services,
        session,
        actor.organisation_id,
        resident_id,
        actor_id=actor.user_id,
        reason=ADMIN_REQUEST,
    )
