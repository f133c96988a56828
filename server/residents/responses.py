"""A resident's response to an invitation: once per invitation, without an account.

The answers are checked exactly as organisers' are (server/campaigns/answers.py). Only
with consent to store details is anything identifying kept: then the response creates a
resident record, or attaches to (and updates) the resident the invitation was sent to,
with the consent in the ledger by the invitation's channel, and a manage token is issued.
Without it the response is anonymous, and asking to be contacted or to hear back is a
userError (we could not do either without keeping the details). A resident's record is
never changed by a response without that consent: withdrawing is the manage link's job.

Two submissions on one token race to one conditional UPDATE of the invitation: exactly
one claims it, the other is ALREADY_DONE (the unique ``responses.invitation_id`` backs it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit_anonymous
from server.campaigns import residents
from server.campaigns.answers import AnswerData, CleanAnswer, check_answers
from server.campaigns.enums import CampaignStatus, ConsentMethod
from server.campaigns.models import Campaign, QuestionSet, Resident
from server.campaigns.questions import mark_answered
from server.campaigns.sync_rules import answer_values
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.models import utcnow
from server.core.validation import collect
from server.residents import manage_tokens
from server.residents.enums import InvitationChannel
from server.residents.invitations import live_invitation
from server.residents.models import Invitation, Response, ResponseAnswer
from server.residents.response_tallies import count_response

MAX_COMMENT = 2000
RATINGS = range(0, 11)
DETAILS = ("name", "email", "phone", "postcode")

METHOD = {
    InvitationChannel.LINK: ConsentMethod.LINK,
    InvitationChannel.SMS: ConsentMethod.SMS,
    InvitationChannel.EMAIL: ConsentMethod.EMAIL,
}


@dataclass(frozen=True)
class ResponseData:
    question_set_version: int
    answers: Sequence[AnswerData]
    rating: int | None
    comment: str | None
    store_details: bool
    contact_again: bool
    hear_back: bool
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class Responded:
    response: Response
    # Set only when a resident record was created or attached.
    manage_token: str | None


def _expired() -> UserError:
    return UserError.of(
        UserErrorCode.EXPIRED, "This link has expired or is not a link of ours.", "token"
    )


def _already_done() -> UserError:
    return UserError.of(UserErrorCode.ALREADY_DONE, "This invitation was answered.", "token")


def _consent_problems(data: ResponseData) -> list[Problem]:
    if data.store_details:
        return []
    return [
        Problem(
            UserErrorCode.INVALID,
            "To contact you we must keep your details: also agree to store them.",
            f"input.consent.{field}",
        )
        for field, wanted in (("contactAgain", data.contact_again), ("hearBack", data.hear_back))
        if wanted
    ]


def _comment(data: ResponseData, problems: list[Problem]) -> str | None:
    text = (data.comment or "").strip()
    if len(text) > MAX_COMMENT:
        problems.append(
            Problem(UserErrorCode.INVALID, f"At most {MAX_COMMENT} characters.", "input.comment")
        )
    return text or None


def _resident_data(
    data: ResponseData, resident_id: uuid.UUID, now: datetime
) -> residents.ResidentData:
    return residents.ResidentData(
        id=str(resident_id),
        consent=residents.ConsentData(
            store_details=True,
            contact_again=data.contact_again,
            hear_back=data.hear_back,
            recorded_at=now,
        ),
        name=data.name,
        postcode=data.postcode,
        email=data.email,
        phone=data.phone,
    )


async def _invited(session: AsyncSession, invitation: Invitation) -> Resident | None:
    """The resident the invitation was sent to, unless erased since."""
    if invitation.resident_id is None:
        return None
    found = await session.get(Resident, invitation.resident_id)
    if found is None or found.erased_at is not None:
        return None
    return found


def _reachability(
    data: ResponseData, stored: Resident | None, meeting: residents.Meeting
) -> list[Problem]:
    """A resident who wants to be contacted or to hear back needs an email or a phone."""
    if not (data.contact_again or data.hear_back):
        return []
    values = meeting.values
    has = values.get("email") or values.get("phone")
    if stored is not None:
        has = has or stored.email or stored.phone
    if has:
        return []
    return [
        Problem(
            UserErrorCode.REQUIRED,
            "Give an email address or a phone number so we can reach you.",
            "input.contact.email",
        )
    ]


async def _question_set(
    session: AsyncSession, campaign_id: uuid.UUID, version: int
) -> QuestionSet | None:
    found: QuestionSet | None = (
        await session.scalars(
            sa.select(QuestionSet).where(
                col(QuestionSet.campaign_id) == campaign_id, col(QuestionSet.version) == version
            )
        )
    ).one_or_none()
    return found


async def _claim(session: AsyncSession, invitation: Invitation, now: datetime) -> None:
    """Mark the invitation answered, unless another submission did first."""
    claimed = await session.execute(
        sa.update(Invitation)
        .where(col(Invitation.id) == invitation.id, col(Invitation.responded_at).is_(None))
        .values(responded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _already_done()


def _store_answers(session: AsyncSession, response: Response, clean: list[CleanAnswer]) -> None:
    session.add_all(
        ResponseAnswer(
            response_id=response.id,
            campaign_id=response.campaign_id,
            question_set_version=response.question_set_version,
            **answer_values(answer),
        )
        for answer in clean
    )


async def respond(
    session: AsyncSession, token: str, data: ResponseData, now: datetime | None = None
) -> Responded:
    """Store a response to the token's invitation (the caller commits)."""
    now = now or utcnow()
    invitation = await live_invitation(session, token, now)
    if invitation is None:
        raise _expired()
    if invitation.responded_at is not None:
        raise _already_done()
    campaign = await session.get(Campaign, invitation.campaign_id)
    assert campaign is not None
    if campaign.status is CampaignStatus.CLOSED:
        raise UserError.of(UserErrorCode.CLOSED, "This campaign has closed.", "token")
    question_set = await _question_set(session, campaign.id, data.question_set_version)
    if question_set is None:
        raise UserError.of(
            UserErrorCode.INVALID, "No such version of the questions.", "input.questionSetVersion"
        )
    clean, problems = check_answers(question_set.questions, data.answers, prefix="input.")
    if data.rating is not None and data.rating not in RATINGS:
        problems.append(Problem(UserErrorCode.INVALID, "Rate from 0 to 10.", "input.rating"))
    comment = _comment(data, problems)
    problems += _consent_problems(data)
    stored = await _invited(session, invitation) if data.store_details else None
    meeting = None
    if data.store_details:
        resident_id = stored.id if stored is not None else uuid.uuid4()
        meeting = residents.meeting(
            invitation.organisation_id,
            _resident_data(data, resident_id, now),
            stored,
            "input.contact",
            problems,
        )
        assert meeting is not None
        problems += _reachability(data, stored, meeting)
        if stored is None and not any((getattr(data, k) or "").strip() for k in DETAILS):
            problems.append(
                Problem(
                    UserErrorCode.REQUIRED,
                    "Give the details to keep, or do not ask us to keep them.",
                    "input.contact",
                )
            )
    collect(*problems)
    await _claim(session, invitation, now)
    resident = None
    if meeting is not None:
        method = METHOD[invitation.channel]
        resident = await residents.apply_meeting(
            session, invitation.organisation_id, meeting, stored, now, method, None
        )
    response = Response(
        organisation_id=invitation.organisation_id,
        campaign_id=campaign.id,
        invitation_id=invitation.id,
        resident_id=resident.id if resident is not None else None,
        method=METHOD[invitation.channel],
        question_set_version=question_set.version,
        rating=data.rating,
        comment=comment,
        submitted_at=now,
    )
    session.add(response)
    await session.flush()
    _store_answers(session, response, clean)
    await mark_answered(session, question_set)
    await count_response(session, response)
    token_out = None
    if resident is not None:
        token_out = await manage_tokens.issue(session, invitation.organisation_id, resident.id)
    audit_anonymous(
        session,
        invitation.organisation_id,
        "response.submit",
        response,
        {"method": response.method.value, "stored_details": resident is not None},
    )
    await session.flush()
    return Responded(response=response, manage_token=token_out)
