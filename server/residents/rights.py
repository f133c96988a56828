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

from server.audit.service import audit, audit_anonymous
from server.campaigns import residents
from server.campaigns.enums import ConsentKind, ConsentMethod
from server.campaigns.models import Answer, Campaign, Consent, Conversation, QuestionSet, Resident
from server.core.enums import Role
from server.core.errors import UserError, UserErrorCode
from server.core.models import utcnow
from server.notifications.resident_rights import cancel_pending_for_resident
from server.residents import manage_tokens
from server.residents.models import ManageToken, Response, ResponseAnswer
from server.security.access import Actor


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
    # The question as it was asked (its version's prompt and kind); None if it is gone.
    prompt: str | None = None
    kind: str | None = None


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


def audit_resident(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    resident_id: uuid.UUID,
    action: str,
    actor_id: uuid.UUID | None,
    details: dict[str, Any],
) -> None:
    """An audit entry about a resident: by an admin, or with no actor (the resident by
    their manage token, or the retention job). ``details`` never identify them."""
    target = (Resident, resident_id)
    if actor_id is None:
        audit_anonymous(session, organisation_id, action, target, details)
    else:  # only admins act on a resident's data rights for them
        audit(session, Actor(actor_id, organisation_id, Role.ADMIN), action, target, details)


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
    cancelled = await cancel_pending_for_resident(session, resident.id)
    audit_resident(
        session,
        resident.organisation_id,
        resident.id,
        "resident.stop_contact",
        None,
        {
            "withdrawn": sorted(k.value for k in withdrawn),
            "cancelled": cancelled.deliveries + cancelled.staged,
        },
    )


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


_QUESTIONS = sa.select(
    col(QuestionSet.campaign_id), col(QuestionSet.version), col(QuestionSet.questions)
).where(
    sa.tuple_(col(QuestionSet.campaign_id), col(QuestionSet.version)).in_(
        sa.bindparam("versions", expanding=True)
    )
)

Asked = dict[tuple[uuid.UUID, int], list[dict[str, Any]]]


async def _asked(session: AsyncSession, rows: list[Any]) -> Asked:
    """The questions of every (campaign, version) those answers answered, in one statement."""
    versions = sorted({(row.campaign_id, row.question_set_version) for row in rows})
    if not versions:
        return {}
    result = await session.execute(_QUESTIONS, {"versions": versions})
    return {(r.campaign_id, r.version): list(r.questions or []) for r in result}


def _answers_by(rows: list[Any], owner: str, asked: Asked) -> dict[uuid.UUID, list[MyAnswer]]:
    """Each owner's answers with their questions' prompts, in the order they were asked."""
    found: dict[uuid.UUID, list[tuple[int, MyAnswer]]] = defaultdict(list)
    for row in rows:
        questions = asked.get((row.campaign_id, row.question_set_version), [])
        place = {str(q["id"]): (i, q) for i, q in enumerate(questions)}
        index, question = place.get(str(row.question_id), (len(place), None))
        answer = MyAnswer(
            row.question_id,
            row.text,
            row.number,
            row.choices,
            prompt=question["prompt"] if question else None,
            kind=question["kind"] if question else None,
        )
        found[getattr(row, owner)].append((index, answer))
    return {key: [a for _, a in sorted(pairs, key=lambda p: p[0])] for key, pairs in found.items()}


async def my_data(session: AsyncSession, manage_token: str) -> MyData | None:
    """Everything held about the token's resident, in eight statements whatever they have;
    None for a token that is not live (or a resident since erased)."""
    token = await manage_tokens.find(session, manage_token)
    if token is None:
        return None
    resident = await session.get(Resident, token.resident_id)
    if resident is None or resident.erased_at is not None:
        return None
    params = {"resident_id": resident.id}
    given = list((await session.scalars(_RESPONSE_ANSWERS, params)).all())
    logged = list((await session.scalars(_CONVERSATION_ANSWERS, params)).all())
    asked = await _asked(session, [*given, *logged])
    response_answers = _answers_by(given, "response_id", asked)
    conversation_answers = _answers_by(logged, "conversation_id", asked)
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
