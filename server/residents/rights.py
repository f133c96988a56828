"""A resident's rights through their manage token: stop all contact, and see everything
held about them (details, consent, their responses, the conversations they were met in).
Erasure is ``server/residents/erasure.py``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns import residents
from server.campaigns.enums import ConsentKind, ConsentMethod
from server.campaigns.models import Answer, Campaign, Consent, Conversation, Resident
from server.core.errors import UserError, UserErrorCode
from server.core.models import utcnow
from server.notifications.resident_rights import cancel_pending_for_resident
from server.residents import manage_tokens
from server.residents.models import ManageToken, Response, ResponseAnswer


@dataclass(frozen=True)
class MyConsent:
    store_details: bool
    contact_again: bool
    hear_back: bool
    recorded_at: datetime | None


@dataclass(frozen=True)
class MyAnswer:
    question_id: uuid.UUID
    text: str | None
    number: int | None
    choices: list[str] | None


@dataclass(frozen=True)
class MyResponse:
    campaign_title: str
    submitted_at: datetime
    answers: list[MyAnswer]
    rating: int | None = None
    comment: str | None = None


@dataclass(frozen=True)
class MyConversation:
    """A conversation an organiser logged with them: what was written about them too."""

    campaign_title: str
    occurred_at: datetime
    notes: str | None = None
    answers: list[MyAnswer] = field(default_factory=list)


@dataclass(frozen=True)
class MyData:
    name: str | None
    email: str | None
    phone: str | None
    postcode: str | None
    consent: MyConsent
    responses: list[MyResponse]
    conversations: list[MyConversation]


def expired() -> UserError:
    return UserError.of(
        UserErrorCode.EXPIRED, "This link no longer works: nothing is held under it.", "manageToken"
    )


async def holder(session: AsyncSession, manage_token: str) -> ManageToken:
    """The live manage token's row (its resident and organisation), else EXPIRED."""
    found = await manage_tokens.find(session, manage_token)
    if found is None:
        raise expired()
    return found


async def stop_contact(session: AsyncSession, manage_token: str) -> None:
    """Withdraw consent to be contacted again and to hear back (a ledger line of each
    kind still granted, by the manage link) and cancel what is pending to them. Stopping
    twice changes nothing more."""
    token = await holder(session, manage_token)
    resident = await session.get(Resident, token.resident_id, with_for_update=True)
    if resident is None or resident.erased_at is not None:
        raise expired()
    withdrawn = {
        kind: False
        for kind, granted in (
            (ConsentKind.CONTACT_AGAIN, resident.contact_again),
            (ConsentKind.HEAR_BACK, resident.hear_back),
        )
        if granted
    }
    if withdrawn:
        now = utcnow()
        change = residents.Meeting(resident.id, False, {}, withdrawn, linked=False)
        rows = residents.ledger_rows(
            resident.organisation_id, change, now, ConsentMethod.LINK, None
        )
        session.add_all(Consent(**row) for row in rows)
        resident.contact_again = resident.hear_back = False
        resident.consent_recorded_at = now
    await cancel_pending_for_resident(session, resident.id)


_RESPONSES = (
    sa.select(
        col(Response.id),
        col(Response.submitted_at),
        col(Response.rating),
        col(Response.comment),
        col(Campaign.title),
    )
    .join(Campaign, col(Campaign.id) == col(Response.campaign_id))
    .where(col(Response.resident_id) == sa.bindparam("resident_id"))
    .order_by(col(Response.submitted_at), col(Response.id))
)
_RESPONSE_ANSWERS = (
    sa.select(ResponseAnswer)
    .join(Response, col(Response.id) == col(ResponseAnswer.response_id))
    .where(col(Response.resident_id) == sa.bindparam("resident_id"))
    .order_by(col(ResponseAnswer.question_id))
)
_CONVERSATIONS = (
    sa.select(
        col(Conversation.id),
        col(Conversation.occurred_at),
        col(Conversation.notes),
        col(Campaign.title),
    )
    .join(Campaign, col(Campaign.id) == col(Conversation.campaign_id))
    .where(col(Conversation.resident_id) == sa.bindparam("resident_id"))
    .order_by(col(Conversation.occurred_at), col(Conversation.id))
)
_CONVERSATION_ANSWERS = (
    sa.select(Answer)
    .join(Conversation, col(Conversation.id) == col(Answer.conversation_id))
    .where(col(Conversation.resident_id) == sa.bindparam("resident_id"))
    .order_by(col(Answer.question_id))
)


def _answer(row: Any) -> MyAnswer:
    return MyAnswer(row.question_id, row.text, row.number, row.choices)


async def _answers_by(
    session: AsyncSession, stmt: Any, owner: str, resident_id: uuid.UUID
) -> dict[uuid.UUID, list[MyAnswer]]:
    found: dict[uuid.UUID, list[MyAnswer]] = defaultdict(list)
    for row in (await session.scalars(stmt, {"resident_id": resident_id})).all():
        found[getattr(row, owner)].append(_answer(row))
    return found


async def my_data(session: AsyncSession, manage_token: str) -> MyData | None:
    """Everything held about the token's resident, in six statements whatever they have;
    None for a token that is not live (or a resident since erased)."""
    token = await manage_tokens.find(session, manage_token)
    if token is None:
        return None
    resident = await session.get(Resident, token.resident_id)
    if resident is None or resident.erased_at is not None:
        return None
    params = {"resident_id": resident.id}
    response_answers = await _answers_by(session, _RESPONSE_ANSWERS, "response_id", resident.id)
    conversation_answers = await _answers_by(
        session, _CONVERSATION_ANSWERS, "conversation_id", resident.id
    )
    responses = [
        MyResponse(r.title, r.submitted_at, response_answers.get(r.id, []), r.rating, r.comment)
        for r in await session.execute(_RESPONSES, params)
    ]
    conversations = [
        MyConversation(c.title, c.occurred_at, c.notes, conversation_answers.get(c.id, []))
        for c in await session.execute(_CONVERSATIONS, params)
    ]
    return MyData(
        name=resident.name,
        email=resident.email,
        phone=resident.phone,
        postcode=resident.postcode,
        consent=MyConsent(
            resident.store_details,
            resident.contact_again,
            resident.hear_back,
            resident.consent_recorded_at,
        ),
        responses=responses,
        conversations=conversations,
    )
